#!/usr/bin/env bash
# File locks (docs/files.md, "File locks"); the full cycle with --file-locks
# is zoo/fd-locks. Here: a task holding locks is refused without
# --file-locks, naming the option, and is left running with its locks.
source "$(dirname "$0")/../lib.sh"

T=locks
PROG=$BUILD/tests/zoo/fd-locks
PID=

wait_file() { # FILE
	local i
	for ((i = 0; i < 500; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	return 1
}
wait_gone() { # PID
	local i
	for ((i = 0; i < 500; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.01
	done
	return 1
}
kill_prog() {
	if [ -n "$PID" ] && grep -qs fd-locks "/proc/$PID/cmdline"; then
		kill -KILL "$PID" 2>/dev/null
		wait_gone "$PID"
	fi
	PID=
}
trap 'kill_prog; rm -rf "$_SUITE_TMP"' EXIT

dir=$(scratch_dir)
(
	exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- 251>&- 2>/dev/null
	setsid "$PROG" --pidfile "$dir/pid" --verdict "$dir/verdict" </dev/null >/dev/null &
)
if ! wait_file "$dir/pid"; then
	fail "$T/refused" "fd-locks did not start"
	exit 0
fi
PID=$(<"$dir/pid")
mkdir "$dir/img"
if "$STASIS" dump -t "$PID" -D "$dir/img" 2>"$dir/err"; then
	fail "$T/refused" "dumped without --file-locks"
elif ! grep -q -- "--file-locks" "$dir/err" || ! grep -q "pid $PID fd 3 .*POSIX" "$dir/err"; then
	fail "$T/refused" "the message does not name the lock and --file-locks: $(tail -1 "$dir/err")"
elif ! kill -TERM "$PID" || ! wait_file "$dir/verdict" || [ "$(<"$dir/verdict")" != PASS ]; then
	fail "$T/refused" "the program after the refused dump: $(cat "$dir/verdict" 2>/dev/null)"
else
	pass "$T/refused"
fi
kill_prog
