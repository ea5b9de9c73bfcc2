# The zoo harness, sourced by tests/suites/zoo.sh and tests/suites/zoo-harness.sh
# after tests/lib.sh. See docs/testing.md for the contract of a zoo program.
#
#   zoo_cycle NAME MODE DIR   run one program through its steps, in DIR:
#       MODE=checkpoint:     start, dump, restore, sigterm, verdict
#       MODE=no-checkpoint:  start, sigterm, verdict
#     and set ZOO_RESULT (PASS, FAIL or SKIP), ZOO_STEP (the failing step),
#     ZOO_WHY, ZOO_STATUS (the program's exit status when it is known) and
#     ZOO_PIDS (every pid the cycle started or was handed, for checks).
#   zoo_report LABEL          print the result of the last cycle as one line
#   zoo_programs              the names of the zoo programs, one per line
#   zoo_suite MODE PREFIX [NAME...]
#                             a cycle per program (all, or those named) and a
#                             line "RESULT PREFIX/NAME" for each
#
# Every step has a time limit (ZOO_STEP_TIMEOUT seconds). The cycle kills
# what it started, by pid, and returns only when none of it is running, even
# when a step fails. Not `set -e` safe on purpose: every status is looked at.

: "${ZOO_BIN:=$BUILD/tests/zoo}"
: "${ZOO_STEP_TIMEOUT:=60}"
# How long a killed process may take to disappear before the harness gives up.
: "${ZOO_KILL_TIMEOUT:=10}"

# Compare /proc/PID/maps and status before the dump and after the restore
# (0: off, for the harness's own tests with a fake restore).
: "${ZOO_CHECK_OUTSIDE:=1}"

# Set once the engine was found missing: the tests skip without running.
ZOO_ENGINE_MISSING=

# Ask stasis once whether dump and restore exist: with no pid and an empty
# directory, a missing command says "command 'dump' is not implemented yet",
# an existing one complains about its arguments (and touches no process).
zoo_probe_engine() { # DIR
	local cmd
	mkdir -p "$1"
	for cmd in dump restore; do
		if timeout -k 5 "$ZOO_STEP_TIMEOUT" "$STASIS" "$cmd" -D "$1" </dev/null 2>&1 |
			grep -q "command '$cmd' is not implemented"; then
			ZOO_ENGINE_MISSING="stasis $cmd not implemented yet"
			return
		fi
	done
}

zoo_programs() {
	local f name
	for f in "$SRC"/tests/zoo/*.c; do
		name=$(basename "$f" .c)
		[ "$name" = zoo ] || echo "$name"
	done
}

zoo_report() { # LABEL
	case $ZOO_RESULT in
	PASS) pass "$1" ;;
	SKIP) skip "$1" "$ZOO_WHY" ;;
	*) fail "$1" "at step $ZOO_STEP: $ZOO_WHY" ;;
	esac
}

_zoo_set() { # RESULT STEP WHY
	ZOO_RESULT=$1 ZOO_STEP=$2 ZOO_WHY=$3
}

# Is PID running? A zombie is not: it only waits to be reaped.
_zoo_running() {
	local stat state
	IFS= read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	state=${stat##*) }
	state=${state%% *}
	[ "$state" != Z ] && [ "$state" != X ]
}

# Wait up to SECONDS for PID to stop running; 1 if it still runs.
_zoo_wait_stopped() { # PID SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		_zoo_running "$1" || return 0
		sleep 0.05
	done
	! _zoo_running "$1"
}

# Wait up to SECONDS for /proc/PID to disappear (a zombie keeps its pid).
_zoo_wait_gone() { # PID SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.05
	done
	[ ! -e "/proc/$1" ]
}

# The program runs under a wrapper, a subshell of the harness that waits for
# it and writes its exit status to DIR/status. The wrapper, not the program,
# is this shell's child: bash would print a "Killed" notice for a child that
# dump kills, and the program must not be in a job table anyway.

# Wait for the wrapper (once the program stopped) and read the status.
_zoo_reap_wrapper() {
	[ -n "$_zoo_wrapper" ] || return 0
	wait "$_zoo_wrapper" 2>/dev/null
	_zoo_wrapper=
	[ -s "$_zoo_dir/status" ] && ZOO_STATUS=$(<"$_zoo_dir/status")
}

# The children of the wrapper: the program, or nothing once it is gone.
_zoo_wrapped() {
	local children=
	[ -n "$_zoo_wrapper" ] &&
		read -r children 2>/dev/null <"/proc/$_zoo_wrapper/task/$_zoo_wrapper/children"
	echo "$children"
}

# Is PID running this zoo binary? A restored program must be.
_zoo_runs_bin() { # PID BIN
	_zoo_running "$1" && [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$2")" ]
}

# The start time of PID (field 22 of its stat), which tells it from a later
# process that took the same pid over.
_zoo_starttime() { # PID
	local stat fields
	IFS= read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	read -r -a fields <<<"${stat##*) }"
	echo "${fields[19]}"
}

# Start the program in a session of its own, with only fds 0-2 (a checkpoint
# must not meet the harness's own pipes), and wait for its pid file.
_zoo_start() { # BIN DIR
	local bin=$1 dir=$2 i pid
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done 2>/dev/null
		setsid "$bin" --pidfile "$dir/pid" --verdict "$dir/verdict"
		echo $? >"$dir/status"
	) </dev/null >>"$dir/program.log" 2>&1 &
	_zoo_wrapper=$!
	ZOO_PIDS+=("$_zoo_wrapper")
	for ((i = 0; i < ZOO_STEP_TIMEOUT * 20; i++)); do
		[ -s "$dir/pid" ] && break
		if ! _zoo_running "$_zoo_wrapper"; then
			_zoo_reap_wrapper
			_zoo_early_exit "$dir"
			return 1
		fi
		sleep 0.05
	done
	if [ ! -s "$dir/pid" ]; then
		_zoo_set FAIL start "no pid file after ${ZOO_STEP_TIMEOUT}s"
		return 1
	fi
	pid=$(<"$dir/pid")
	ZOO_PIDS+=("$pid")
	if [ "$pid" != "$(_zoo_wrapped)" ]; then
		_zoo_set FAIL start "pid file says '$pid', the program started is '$(_zoo_wrapped)'"
		return 1
	fi
	ZOO_PID=$pid
}

# The program exited before it was ready: a skip (status 77) or a failure.
_zoo_early_exit() { # DIR
	local verdict=
	[ -r "$1/verdict" ] && IFS= read -r verdict <"$1/verdict"
	if [ "$ZOO_STATUS" = 77 ]; then
		_zoo_set SKIP start "${verdict#SKIP: }"
	else
		_zoo_set FAIL start "$(_zoo_status_text "${ZOO_STATUS:-0}") before it was ready${verdict:+: $verdict}"
	fi
}

# Does the host offer what the program needs? Asks `stasis check --feature`.
_zoo_requirements() { # BIN DIR
	local feature features out rc
	if ! features=$(timeout -k 5 "$ZOO_STEP_TIMEOUT" "$1" --requires 2>"$2/requires.err"); then
		_zoo_set FAIL requires "$1 --requires failed: $(tail -1 "$2/requires.err")"
		return 1
	fi
	for feature in $features; do
		out=$(timeout -k 5 "$ZOO_STEP_TIMEOUT" "$STASIS" check --feature "$feature" 2>&1)
		rc=$?
		[ $rc -eq 0 ] && continue
		case $out in
		*"is not supported"*)
			_zoo_set SKIP requires "kernel feature $feature missing (stasis check --feature $feature)" ;;
		*)
			_zoo_set FAIL requires "stasis check --feature $feature: status $rc: ${out##*$'\n'}" ;;
		esac
		return 1
	done
}

_zoo_status_text() { # STATUS
	if (($1 > 128 && $1 <= 128 + 64)); then
		echo "killed by SIG$(kill -l $(($1 - 128)))"
	else
		echo "exit status $1"
	fi
}

# Run a stasis step under the time limit. timeout(1) runs it in a process group
# of its own and kills the whole group when time is up.
_zoo_step() { # STEP DIR COMMAND...
	local step=$1 dir=$2 rc last
	shift 2
	# (The outer redirection silences bash's notice of a crash: the status says it.)
	{ timeout -k 5 "$ZOO_STEP_TIMEOUT" "$@" >"$dir/$step.out" 2>"$dir/$step.err"; } 2>/dev/null
	rc=$?
	[ $rc -eq 0 ] && return 0
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		_zoo_set FAIL "$step" "timed out after ${ZOO_STEP_TIMEOUT}s"
		return 1
	fi
	# In case the probe missed it.
	if grep -q "command '$step' is not implemented" "$dir/$step.err"; then
		ZOO_ENGINE_MISSING="stasis $step not implemented yet"
		_zoo_set SKIP "$step" "$ZOO_ENGINE_MISSING"
		return 1
	fi
	last=$(grep -v '^[[:space:]]*$' "$dir/$step.err" | tail -1)
	_zoo_set FAIL "$step" "$(_zoo_status_text $rc)${last:+: $last}"
	return 1
}

_zoo_dump() { # DIR BIN
	local dir=$1 opts
	mkdir -p "$dir/images"
	# The dump options the program's state needs (--file-locks ...), if it says.
	opts=$("$2" --dump-options 2>/dev/null) || opts=
	_zoo_step dump "$dir" "$STASIS" dump -t "$ZOO_PID" -D "$dir/images" -o dump.log -v4 $opts || return 1
	# Dump kills the tree, as criu does. Reap it so that its pid is free again.
	if ! _zoo_wait_stopped "$ZOO_PID" "$ZOO_KILL_TIMEOUT"; then
		_zoo_set FAIL dump "the program still runs ${ZOO_KILL_TIMEOUT}s after the dump"
		return 1
	fi
	_zoo_reap_wrapper
	ZOO_STATUS= # the status of the killed program; the restored one has none
	if ! _zoo_wait_gone "$ZOO_PID" "$ZOO_KILL_TIMEOUT"; then
		_zoo_set FAIL dump "pid $ZOO_PID still taken ${ZOO_KILL_TIMEOUT}s after the dump"
		return 1
	fi
}

_zoo_restore() { # BIN DIR
	local bin=$1 dir=$2 pid
	_zoo_step restore "$dir" "$STASIS" restore -D "$dir/images" -d \
		--pidfile "$dir/restored.pid" -o restore.log -v4 || return 1
	if [ ! -s "$dir/restored.pid" ]; then
		_zoo_set FAIL restore "no --pidfile written"
		return 1
	fi
	pid=$(<"$dir/restored.pid")
	ZOO_PIDS+=("$pid")
	# What restore started is ours to kill, as long as it is the same process.
	_zoo_restored=$pid
	_zoo_restored_start=$(_zoo_starttime "$pid")
	if [ "$pid" != "$ZOO_PID" ]; then
		_zoo_set FAIL restore "restored as pid '$pid', dumped as $ZOO_PID"
		return 1
	fi
	if ! _zoo_runs_bin "$pid" "$bin"; then
		_zoo_set FAIL restore "pid $pid is not a running $(basename "$bin")"
		return 1
	fi
}

# The tree below PID, one line per process: pid ppid pgid sid, T if it is
# stopped (- if not: running and sleeping are the same here), then its
# thread ids (the root's ppid is left out: it is the harness's before,
# init's after a detached restore).
_zoo_tree() { # PID [PPID]
	local pid=$1 s c
	s=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
	s=${s##*) }
	set -- $s
	echo "$pid ${2:+$([ -n "${ZOO_TREE_ROOT:-}" ] && [ "$pid" = "$ZOO_TREE_ROOT" ] && echo - || echo "$2")} $3 $4 $(case $1 in T | t) echo T ;; *) echo - ;; esac) threads $(ls "/proc/$pid/task" 2>/dev/null | sort -n | tr '\n' ' ')"
	for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		_zoo_tree "$c"
	done
}

# What the program looks like from outside: its mappings, its signal masks,
# creds and umask, and its tree of processes and threads. A restore must
# give back the same (checked in checkpoint mode, next to the program's own
# check from inside).
_zoo_outside() { # DIR NAME
	local pid=$ZOO_PID
	ZOO_TREE_ROOT=$pid _zoo_tree "$pid" | sort -n >"$1/$2.tree" || return 1
	# A shared anonymous mapping, a memfd or a file deleted while mapped is a
	# new object after a restore (as with criu): its inode number is the one
	# field that may differ.
	sed -E 's@^([^ ]+ [^ ]+ [^ ]+ [^ ]+) [0-9]+( +.* \(deleted\))$@\1 INODE\2@' \
		"/proc/$pid/maps" >"$1/$2.maps" 2>/dev/null || return 1
	grep -E '^(Umask|Uid|Gid|Groups|SigBlk|SigIgn|SigCgt|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters|Speculation_Store_Bypass):' \
		"/proc/$pid/status" >"$1/$2.status" 2>/dev/null
}

_zoo_compare_outside() { # DIR
	local what first
	_zoo_outside "$1" after || { _zoo_set FAIL outside "cannot read /proc/$ZOO_PID after the restore"; return 1; }
	for what in maps status tree; do
		if ! first=$(diff "$1/before.$what" "$1/after.$what" | grep '^[<>]' | head -2 | tr '\n' ' '); then
			:
		fi
		if [ -n "$first" ]; then
			_zoo_set FAIL outside "/proc/$ZOO_PID/$what differs after the restore: $first"
			return 1
		fi
	done
}

_zoo_sigterm() {
	if ! _zoo_running "$ZOO_PID"; then
		_zoo_reap_wrapper
		_zoo_set FAIL sigterm "the program was gone before SIGTERM${ZOO_STATUS:+ (exit status $ZOO_STATUS)}"
		return 1
	fi
	kill -TERM "$ZOO_PID"
}

# The verdict: the line the program wrote, and its exit status when the
# wrapper saw it exit (a restored program was detached: no status).
#
# Without a checkpoint, SIGTERM comes just after the program said it was
# ready, and may fall between its `while (!term)` test and the pause() it
# then calls, the classic lost wake-up (sys-pause, under load): SIGTERM is
# sent once more after a second. Nothing was restored, so the second one
# cannot hide a restore that went wrong; after a restore it is never resent.
_zoo_verdict() { # DIR MODE
	local verdict= wait=$ZOO_STEP_TIMEOUT
	if [ "${2:-}" = no-checkpoint ] && ! _zoo_wait_stopped "$ZOO_PID" 1; then
		kill -TERM "$ZOO_PID" 2>/dev/null
		wait=$((wait > 1 ? wait - 1 : 1))
	fi
	if ! _zoo_wait_stopped "$ZOO_PID" "$wait"; then
		_zoo_set FAIL verdict "still running ${ZOO_STEP_TIMEOUT}s after SIGTERM"
		return 1
	fi
	_zoo_reap_wrapper
	[ -r "$1/verdict" ] && IFS= read -r verdict <"$1/verdict"
	case $verdict in
	PASS)
		if [ -n "$ZOO_STATUS" ] && [ "$ZOO_STATUS" != 0 ]; then
			_zoo_set FAIL verdict "verdict PASS but exit status $ZOO_STATUS"
		else
			_zoo_set PASS "" ""
		fi ;;
	"FAIL: "*) _zoo_set FAIL verdict "${verdict#FAIL: }" ;;
	"") _zoo_set FAIL verdict "no verdict written${ZOO_STATUS:+ ($(_zoo_status_text "$ZOO_STATUS"))}" ;;
	*) _zoo_set FAIL verdict "unexpected verdict '$verdict'" ;;
	esac
	[ "$ZOO_RESULT" = PASS ]
}

# Kill what is left, by pid: the program under the wrapper (then the wrapper
# ends), and the process restore reported, if it is still that process.
_zoo_cleanup() {
	local pid
	if [ -n "$_zoo_wrapper" ]; then
		for pid in $(_zoo_wrapped); do
			kill -KILL "$pid" 2>/dev/null
		done
		_zoo_reap_wrapper
	fi
	if [ -n "$_zoo_restored" ] && _zoo_running "$_zoo_restored" &&
		[ "$(_zoo_starttime "$_zoo_restored")" = "$_zoo_restored_start" ]; then
		kill -KILL "$_zoo_restored"
		_zoo_wait_stopped "$_zoo_restored" "$ZOO_KILL_TIMEOUT" ||
			echo "zoo: pid $_zoo_restored survived SIGKILL" >&2
	fi
	_zoo_restored=
}

_zoo_steps() { # BIN DIR MODE
	local bin=$1 dir=$2 mode=$3
	if [ ! -x "$bin" ]; then
		_zoo_set FAIL build "$bin is not built (is it in tests/zoo/meson.build?)"
		return
	fi
	if [ "$mode" = checkpoint ]; then
		if [ -n "$ZOO_ENGINE_MISSING" ]; then
			_zoo_set SKIP dump "$ZOO_ENGINE_MISSING"
			return
		fi
		_zoo_requirements "$bin" "$dir" || return
	fi
	_zoo_start "$bin" "$dir" || return
	if [ "$mode" = checkpoint ]; then
		_zoo_outside "$dir" before
		_zoo_dump "$dir" "$bin" || return
		_zoo_restore "$bin" "$dir" || return
		if [ "$ZOO_CHECK_OUTSIDE" = 1 ]; then
			_zoo_compare_outside "$dir" || return
		fi
	fi
	_zoo_sigterm || return
	_zoo_verdict "$dir" "$mode"
}

# After a failure, a few lines of context, indented so that no one counts them.
_zoo_show_context() { # DIR
	local f
	for f in "$1/$ZOO_STEP.err" "$1/program.log"; do
		[ -s "$f" ] || continue
		echo "  $(basename "$f"):"
		tail -n 5 "$f" | sed 's/^/    /'
	done
	# dump.log and restore.log are binary logs (stasis log decode).
	f=$1/images/$ZOO_STEP.log
	if [ -s "$f" ]; then
		echo "  $ZOO_STEP.log:"
		"$STASIS" log decode "$f" 2>&1 | tail -n 10 | sed 's/^/    /'
	fi
}

zoo_suite() { # MODE PREFIX [NAME...]
	local mode=$1 prefix=$2 base name
	local -a names
	shift 2
	names=("$@")
	[ ${#names[@]} -gt 0 ] || mapfile -t names < <(zoo_programs)
	base=$(mktemp -d "${TMPDIR:-/tmp}/stasis-zoo.XXXXXX")
	[ "$mode" = checkpoint ] && zoo_probe_engine "$base/probe"
	for name in "${names[@]}"; do
		zoo_cycle "$name" "$mode" "$base/$name"
		zoo_report "$prefix/$name"
		[ "$ZOO_RESULT" = FAIL ] && _zoo_show_context "$base/$name"
	done
	if [ -n "${ZOO_KEEP:-}" ]; then
		echo "zoo: test directories kept in $base"
	else
		rm -rf "$base"
	fi
}

zoo_cycle() { # NAME MODE DIR
	local bin=$ZOO_BIN/$1
	ZOO_RESULT='' ZOO_STEP='' ZOO_WHY='' ZOO_STATUS='' ZOO_PID='' ZOO_PIDS=()
	_zoo_wrapper='' _zoo_restored='' _zoo_restored_start='' _zoo_dir=$3
	case $2 in
	checkpoint | no-checkpoint) ;;
	*) echo "zoo_cycle: unknown mode '$2'" >&2; return 2 ;;
	esac
	mkdir -p "$3"
	_zoo_steps "$bin" "$3" "$2"
	_zoo_cleanup
	[ "$ZOO_RESULT" = PASS ]
}
