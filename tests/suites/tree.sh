#!/usr/bin/env bash
# Trees of processes with threads (docs/dump.md "Trees", docs/restore.md):
#   tree/kcmp/*    what processes share is found with kcmp() calls that grow
#                  with the number of processes, not with its square (the
#                  dump log counts them)
#   tree/big/*     64 processes with 2 threads each: dumped, restored with
#                  their pids, and every process checks its memory
#   tree/race/*    a tree that forks and makes threads while it is frozen:
#                  caught whole (restored, it checks itself) or the dump
#                  fails and leaves it running
#   tree/restart/* a thread restored inside pause() while 8 threads spin,
#                  sent SIGTERM the moment the restore returns: the kernel
#                  must still see it inside pause() (EINTR, not a new wait)
# Workloads: bench/workload-tree (see its header). Each is killed by pid.
source "$(dirname "$0")/../lib.sh"

T=tree
WORKLOAD=$BUILD/bench/workload-tree
ROOT_PID=

starttime() { # PID
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}
ROOT_START=

wait_gone() { # PID [TENTHS]
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.1
	done
	return 1
}

wait_file() { # FILE [HUNDREDTHS]
	local i
	for ((i = 0; i < ${2:-3000}; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	return 1
}

# Kill the workload's root if it is still ours; its children die with it.
kill_root() {
	if [ -n "$ROOT_PID" ] && [ "$(starttime "$ROOT_PID")" = "$ROOT_START" ]; then
		kill -KILL "$ROOT_PID" 2>/dev/null
		wait_gone "$ROOT_PID"
	fi
	ROOT_PID= ROOT_START=
}
trap 'kill_root; rm -rf "$_SUITE_TMP"' EXIT

start() { # DIR PROCS THREADS MIB [MODE]
	local dir=$1
	shift
	(
		exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- 251>&- 2>/dev/null
		setsid "$WORKLOAD" "$1" "$2" "$3" "$dir/pid" "$dir/verdict" ${4:-} </dev/null >/dev/null &
	)
	wait_file "$dir/pid" || return 1
	ROOT_PID=$(<"$dir/pid") ROOT_START=$(starttime "$(<"$dir/pid")")
}

# The processes of the tree below PID, as /proc shows them.
count_tree() { # PID
	local n=1 c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		n=$((n + $(count_tree "$c")))
	done
	echo "$n"
}

kcmp_calls() { # LOG
	"$STASIS" log decode "$1" 2>/dev/null | sed -n 's/.*kcmp: \([0-9]*\) calls to find.*/\1/p'
}

# Dump PROCS processes with -R; prints the kcmp calls the log counted.
kcmp_for() { # PROCS
	local dir n
	dir=$(scratch_dir)
	start "$dir" "$1" 1 0 || return 1
	mkdir "$dir/img"
	if ! "$STASIS" dump -t "$ROOT_PID" -D "$dir/img" -R -o "$dir/dump.log" -v4 2>"$dir/err"; then
		kill_root
		return 1
	fi
	n=$("$STASIS" image x "$dir/img" ps | tail -n +2 | wc -l)
	kill_root
	[ "$n" = "$1" ] || return 1
	kcmp_calls "$dir/dump.log"
}

test_kcmp() {
	local few many
	few=$(kcmp_for 8) || { fail $T/kcmp "the dump of 8 processes failed"; return; }
	many=$(kcmp_for 64) || { fail $T/kcmp "the dump of 64 processes failed"; return; }
	# n log n: 8x the processes, about 16x the calls; n²: 64x.
	if [ -z "$few" ] || [ -z "$many" ] || [ "$few" -eq 0 ]; then
		fail $T/kcmp "no kcmp count in the logs ('$few', '$many')"
	elif ((many > few * 24)); then
		fail $T/kcmp "$few kcmp calls for 8 processes, $many for 64: more than n log n"
	else
		pass "$T/kcmp ($few calls for 8 processes, $many for 64)"
	fi
}

# Restore DIR/img detached (at least PROCS processes); SIGTERM the root; its verdict.
restore_and_check() { # DIR LABEL PROCS
	local dir=$1 label=$2 n
	rm -f "$dir/verdict"
	if ! "$STASIS" restore -D "$dir/img" -d -o restore.log -v4 2>"$dir/rerr"; then
		fail "$label/restore" "$(head -c 400 "$dir/rerr")"
		return
	fi
	ROOT_START=$(starttime "$ROOT_PID")
	n=$(count_tree "$ROOT_PID")
	if [ "$n" -lt "$3" ]; then
		fail "$label/restore" "$n processes restored, not $3"
	else
		pass "$label/restore"
	fi
	kill -TERM "$ROOT_PID"
	if ! wait_file "$dir/verdict" 6000; then
		fail "$label/verdict" "no verdict from the restored tree"
	elif [ "$(<"$dir/verdict")" != ok ]; then
		fail "$label/verdict" "$(<"$dir/verdict")"
	else
		pass "$label/verdict"
	fi
	wait_gone "$ROOT_PID" 50
	kill_root
}

test_big() {
	local dir pid
	dir=$(scratch_dir)
	if ! start "$dir" 64 2 1; then
		fail $T/big "the workload did not start"
		return
	fi
	mkdir "$dir/img"
	pid=$ROOT_PID
	if ! "$STASIS" dump -t "$pid" -D "$dir/img" -o dump.log -v4 2>"$dir/err"; then
		fail $T/big/dump "$(head -c 400 "$dir/err")"
		kill_root
		return
	fi
	pass $T/big/dump
	wait_gone "$pid" 100 || { fail $T/big/dump "pid $pid still there after the dump"; return; }
	restore_and_check "$dir" $T/big 64
}

# Every task of the tree below PID runs: not stopped, not traced.
all_running() { # PID
	local p st tr
	for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		st=$(awk '{print $3}' /proc/"$p"/stat 2>/dev/null)
		tr=$(awk '/^TracerPid:/ {print $2}' /proc/"$p"/status 2>/dev/null)
		case $st in t | T) echo "pid $p is stopped" && return 1 ;; esac
		[ "${tr:-0}" = 0 ] || { echo "pid $p is traced by $tr" && return 1; }
	done
}

test_race() {
	local dir pid why i
	for i in 1 2 3; do
		dir=$(scratch_dir)
		if ! start "$dir" 24 4 1 bomb; then
			fail $T/race/$i "the workload did not start"
			continue
		fi
		pid=$ROOT_PID
		sleep 0.0$((i * 2 - 2))
		mkdir "$dir/img"
		if "$STASIS" dump -t "$pid" -D "$dir/img" -o dump.log -v4 2>"$dir/err"; then
			wait_gone "$pid" 100
			# Caught whole: what was frozen comes back and checks itself.
			n=$("$STASIS" image x "$dir/img" ps | tail -n +2 | wc -l)
			pass "$T/race/$i/dump ($n processes caught)"
			restore_and_check "$dir" $T/race/$i "$n"
		else
			why=$(all_running "$pid") || { fail "$T/race/$i" "$why"; kill_root; continue; }
			pass "$T/race/$i/dump (refused, left running: $(tail -1 "$dir/err"))"
			kill_root
		fi
	done
}

test_restart() {
	local dir pid i
	for i in 1 2 3; do
		dir=$(scratch_dir)
		(
			exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- 251>&- 2>/dev/null
			setsid "$BUILD/tests/zoo/sys-pause" --pidfile "$dir/pid" --verdict "$dir/verdict" \
				</dev/null >/dev/null &
		)
		wait_file "$dir/pid" || { fail $T/restart/$i "sys-pause did not start"; continue; }
		pid=$(<"$dir/pid") ROOT_PID=$(<"$dir/pid") ROOT_START=$(starttime "$pid")
		sleep 0.2
		mkdir "$dir/img"
		if ! "$STASIS" dump -t "$pid" -D "$dir/img" 2>"$dir/err"; then
			fail $T/restart/$i "dump: $(tail -1 "$dir/err")"
			kill_root
			continue
		fi
		wait_gone "$pid"
		if ! "$STASIS" restore -D "$dir/img" -d 2>"$dir/err"; then
			fail $T/restart/$i "restore: $(tail -1 "$dir/err")"
			continue
		fi
		kill -TERM "$pid"
		ROOT_START=$(starttime "$pid")
		if wait_file "$dir/verdict" 1000 && [ "$(<"$dir/verdict")" = PASS ]; then
			pass $T/restart/$i
		else
			fail $T/restart/$i "no PASS 10 s after SIGTERM: '$(cat "$dir/verdict" 2>/dev/null)'"
		fi
		kill_root
	done
}

if [ ! -x "$WORKLOAD" ]; then
	fail $T "$WORKLOAD is not built"
	exit 0
fi
test_kcmp
test_big
test_race
test_restart
