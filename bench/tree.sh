#!/usr/bin/env bash
# Trees and threads (issue "Core engine II"), images on tmpfs:
#   tree   100 processes with 8 threads each and 16 MiB each: dump and restore
#          wall time, freezing and frozen time, kcmp calls
#   spin   one process with 16 spinning threads: freezing time (CRIU 4.2 on
#          this kind of machine: 114 ms, 67-194; target under 10 ms)
# ROUNDS rounds of each (default 3); the table gives the best and the worst.
# CRIU's column is the issue's figures: Debian's criu does not run here.
#
# Usage: bench/tree.sh   (BUILD=DIR, default build/; ROUNDS=N)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
STASIS=${STASIS:-$BUILD/stasis}
ROUNDS=${ROUNDS:-3}
WORKLOAD=$BUILD/bench/workload-tree RUSAGE=$BUILD/bench/rusage

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null || exit 1
ninja -C "$BUILD" stasis bench/workload-tree bench/rusage >/dev/null || exit 1

dir=$(mktemp -d /dev/shm/stasis-tree.XXXXXX) || exit 1
root=
cleanup() {
	[ -n "$root" ] && grep -qs workload-tree "/proc/$root/cmdline" && kill -KILL "$root"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAILED: $*"
	exit 1
}
wait_file() { # FILE SECONDS
	local i
	for ((i = 0; i < $2 * 100; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	return 1
}
wait_gone() { # PID SECONDS
	local i
	for ((i = 0; i < $2 * 100; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.01
	done
	return 1
}
field() { tr ' ' '\n' <"$2" | sed -n "s/^$1=//p"; } # KEY FILE
stat_field() { # KEY IMAGE
	"$STASIS" image decode --pretty -i "$2" | sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p"
}

# one_round NAME PROCS THREADS MIB [spin]: dump (killing), restore, verdict.
one_round() {
	local name=$1 st=$dir/img/stats-dump kcmp
	rm -rf "$dir/img" "$dir/pid" "$dir/verdict" && mkdir "$dir/img"
	(
		exec 251>&-
		setsid "$WORKLOAD" "$2" "$3" "$4" "$dir/pid" "$dir/verdict" ${5:-} </dev/null >/dev/null 2>&1 &
	)
	wait_file "$dir/pid" 120 || fail "the workload did not start"
	root=$(<"$dir/pid")
	sleep 0.2 # the spinners spin
	"$RUSAGE" "$dir/ru-dump" "$STASIS" dump -t "$root" -D "$dir/img" -o dump.log -v4 \
		2>"$dir/err" || fail "stasis dump: $(cat "$dir/err")"
	wait_gone "$root" 30 || fail "pid $root still there after the dump"
	"$RUSAGE" "$dir/ru-restore" "$STASIS" restore -D "$dir/img" -d 2>"$dir/err" ||
		fail "stasis restore: $(cat "$dir/err")"
	kill -TERM "$root"
	wait_file "$dir/verdict" 300 ||
		fail "no verdict from the restored tree: $(ps -o pid,stat,wchan:20 -p "$root" --ppid "$root" | head -5 | tr '\n' ' ')"
	[ "$(<"$dir/verdict")" = ok ] || fail "the restored tree says: $(<"$dir/verdict")"
	wait_gone "$root" 30
	root=
	kcmp=$("$STASIS" log decode "$dir/img/dump.log" | sed -n 's/.*kcmp: \([0-9]*\) calls.*/\1/p')
	echo "$name d_wall=$(field wall_s "$dir/ru-dump") r_wall=$(field wall_s "$dir/ru-restore")" \
		"freezing_us=$(stat_field freezing_time "$st") frozen_us=$(stat_field frozen_time "$st")" \
		"kcmp=$kcmp" >>"$dir/rounds"
}

# summary NAME KEY UNIT SCALE: best and worst of KEY over the rounds of NAME.
summary() {
	grep "^$1 " "$dir/rounds" | tr ' ' '\n' | sed -n "s/^$2=//p" | sort -g |
		awk -v s="$4" -v u="$3" 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f %s (worst %.1f)", lo * s, u, hi * s }'
}

row() { printf "%-34s %-28s %-22s %s\n" "$@"; }

echo "stasis $("$STASIS" --version 2>/dev/null | head -1), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CRIU: not run here (Debian's criu does not work on this kernel); its column is the issue's figures."
for ((i = 1; i <= ROUNDS; i++)); do
	one_round tree 100 8 16
	one_round spin 1 16 0 spin
	echo "  round $i done"
done
echo
row "figure" "stasis (best of $ROUNDS)" "CRIU 4.2" "target"
row "tree: dump wall" "$(summary tree d_wall ms 1000)" "-" "faster than CRIU"
row "tree: restore wall" "$(summary tree r_wall ms 1000)" "-" "faster than CRIU"
row "tree: freezing" "$(summary tree freezing_us ms 0.001)" "-" ""
row "tree: frozen" "$(summary tree frozen_us ms 0.001)" "-" ""
row "tree: kcmp calls (100 processes)" "$(summary tree kcmp calls 1)" "-" "~ n log n, not n²"
row "16 spinning threads: freezing" "$(summary spin freezing_us ms 0.001)" "114 ms (67-194)" "under 10 ms"
row "16 spinning threads: dump wall" "$(summary spin d_wall ms 1000)" "-" ""
