#!/usr/bin/env bash
# stasis dump and restore of processes with many fds (issue 6, "Files and
# IPC"), side by side with CRIU 4.2's figures quoted by the issue:
#
#   files-pipes  1,000 regular files and 1,000 pipes holding 64 bytes each
#                (CRIU 4.2: dump 74 ms, frozen 45 ms, restore 58 ms; the
#                target is half of those)
#   mixed        MIXED_FDS fds (10,000 by default): regular files, pipes and
#                unix socket pairs with 64 bytes queued, eventfds with a count
#
# The restore's controller puts each description of the task at the task's
# own fd number (docs/restore.md): 10,000 fds restore under this machine's
# hard limit of 20,000 open files (no CAP_SYS_RESOURCE to raise it).
#
# Each round: bench/workload-fds is started, dumped (`stasis dump`, killed),
# restored (`stasis restore -d`) and sent SIGTERM: it checks every fd and
# writes its verdict, which must be "ok". Wall times are measured around
# the commands; frozen time is stats-dump's frozen_time (from the freeze to
# the end of the dump), restore_time stats-restore's. The table gives the
# best round of each, and the load average before and after (the machine is
# shared: figures move by a third from one run to the next). Images on
# /dev/shm.
#
# Usage: bench/fds.sh [files-pipes|mixed...]   (default: both)
#   BUILD=DIR (default build/), ROUNDS=N (default 5), MIXED_FDS=N (default 10000)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
STASIS=${STASIS:-$BUILD/stasis}
ROUNDS=${ROUNDS:-5}
MIXED_FDS=${MIXED_FDS:-10000}
MODES=${*:-files-pipes mixed}
CRIU_DUMP_MS=74 CRIU_FROZEN_MS=45 CRIU_RESTORE_MS=58 # files-pipes only

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null || exit 1
ninja -C "$BUILD" stasis bench/workload-fds >/dev/null || exit 1
WORKLOAD=$BUILD/bench/workload-fds

dir=$(mktemp -d /dev/shm/stasis-fds.XXXXXX) || exit 1
workload_pid=
kill_workload() {
	[ -n "$workload_pid" ] || return 0
	grep -qs workload-fds "/proc/$workload_pid/cmdline" && kill -KILL "$workload_pid" 2>/dev/null
	wait_gone "$workload_pid" 10
	workload_pid=
}
cleanup() {
	kill_workload
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_file() { # FILE SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
wait_gone() { # PID SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.05
	done
	return 1
}
fail() {
	echo "FAILED: $*" >&2
	exit 1
}
now_us() { echo $(($(date +%s%N) / 1000)); }
stat_us() { # KEY IMAGE
	"$STASIS" image decode --pretty -i "$2" | sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p"
}

# Started with only fds 0-2 (the caller's others would be dumped with it).
start_workload() { # MODE
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			((fd > 2)) && eval "exec $fd>&-"
		done
		exec setsid "$WORKLOAD" "$1$([ "$1" = mixed ] && echo ":$MIXED_FDS")" "$dir/files" "$dir/pid" "$dir/verdict" </dev/null >/dev/null 2>&1
	) &
	workload_pid=$!
	disown "$workload_pid"
}

one_round() { # MODE
	local pid t0 t1 t2 t3 verdict
	rm -rf "$dir/img" "$dir/files" "$dir/pid" "$dir/rpid" "$dir/verdict"
	mkdir -p "$dir/img" "$dir/files"
	start_workload "$1"
	wait_file "$dir/pid" 60 || fail "the workload did not start"
	pid=$(<"$dir/pid")
	t0=$(now_us)
	"$STASIS" dump -t "$pid" -D "$dir/img" 2>"$dir/dump.err" || fail "stasis dump: $(cat "$dir/dump.err")"
	t1=$(now_us)
	wait_gone "$pid" 10 || fail "pid $pid is still taken after the dump"
	workload_pid=
	t2=$(now_us)
	"$STASIS" restore -D "$dir/img" -d --pidfile "$dir/rpid" 2>"$dir/restore.err" ||
		fail "stasis restore: $(cat "$dir/restore.err")"
	t3=$(now_us)
	workload_pid=$(<"$dir/rpid")
	kill -TERM "$workload_pid"
	wait_file "$dir/verdict" 60 || fail "no verdict from the restored workload"
	wait_gone "$workload_pid" 10
	workload_pid=
	verdict=$(<"$dir/verdict")
	[ "$verdict" = ok ] || fail "$1: the restored workload says: $verdict"
	echo "dump_us=$((t1 - t0)) frozen_us=$(stat_us frozen_time "$dir/img/stats-dump")" \
		"restore_us=$((t3 - t2)) rtime_us=$(stat_us restore_time "$dir/img/stats-restore")"
}

best() { # KEY: the smallest value of KEY over the rounds, in ms
	tr ' ' '\n' <"$dir/rounds" | sed -n "s/^$1=//p" | sort -n | head -1 |
		awk '{ printf "%.1f ms", $1 / 1000 }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-12s %-6s %-12s %-12s %-12s %-12s\n" mode fds dump frozen restore "restore_time"
for mode in $MODES; do
	case $mode in files-pipes | mixed) ;; *) fail "unknown mode $mode" ;; esac
	: >"$dir/rounds"
	for ((r = 1; r <= ROUNDS; r++)); do
		one_round "$mode" >>"$dir/rounds" || exit 1
	done
	nfds=$([ "$mode" = mixed ] && echo "$MIXED_FDS" || echo 3000)
	printf "%-12s %-6s %-12s %-12s %-12s %-12s\n" "$mode" "$nfds" "$(best dump_us)" \
		"$(best frozen_us)" "$(best restore_us)" "$(best rtime_us)"
	if [ "$mode" = files-pipes ]; then
		printf "%-12s %-6s %-12s %-12s %-12s\n" "CRIU 4.2" "" "$CRIU_DUMP_MS ms" \
			"$CRIU_FROZEN_MS ms" "$CRIU_RESTORE_MS ms"
		printf "%-12s %-6s %-12s %-12s %-12s\n" "target" "" "$((CRIU_DUMP_MS / 2)) ms" \
			"$((CRIU_FROZEN_MS / 2)) ms" "$((CRIU_RESTORE_MS / 2)) ms"
	fi
done
echo "best of $ROUNDS rounds; wall times around the commands, frozen and restore_time from stats-dump/-restore"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
