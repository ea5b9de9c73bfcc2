#!/usr/bin/env bash
# Tests of the zoo and of its harness that need no checkpoint engine
# (docs/testing.md):
#   run/NAME       every program passes its own check when nothing touched it
#   break/NAME/N   every program fails its check after STASIS_ZOO_BREAK=N broke
#                  its state, for each of its breaks
#   harness/...    the harness itself, against fake stasis binaries and fake
#                  programs: timeouts, failing and missing steps, skips, and
#                  no process left behind
source "$(dirname "$0")/../lib.sh"
source "$SRC/tests/zoo/harness.sh"

T=zoo-harness
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stasis-zoo-harness.XXXXXX")

# --- the programs, without checkpoint --------------------------------------

zoo_suite no-checkpoint "$T/run"

# A broken program must fail at the verdict step with a non-zero status.
check_break() { # NAME N WHAT
	local label="$T/break/$1/$2"
	STASIS_ZOO_BREAK=$2 zoo_cycle "$1" no-checkpoint "$WORK/break-$1-$2"
	case $ZOO_RESULT in
	SKIP) skip "$label" "$ZOO_WHY" ;;
	PASS) fail "$label" "$3: not detected, the program passed" ;;
	*)
		if [ "$ZOO_STEP" != verdict ]; then
			fail "$label" "$3: expected a failed verdict, got a failure at step $ZOO_STEP: $ZOO_WHY"
		elif [ -z "$ZOO_STATUS" ] || [ "$ZOO_STATUS" = 0 ]; then
			fail "$label" "$3: verdict FAIL but exit status '${ZOO_STATUS}'"
		else
			pass "$label"
		fi ;;
	esac
}

for name in $(zoo_programs); do
	if ! breaks=$("$ZOO_BIN/$name" --breaks 2>&1); then
		fail "$T/break/$name" "--breaks failed: $breaks"
		continue
	fi
	if [ -z "$breaks" ]; then
		fail "$T/break/$name" "declares no break: nothing shows that its check can fail"
		continue
	fi
	while read -r n what; do
		check_break "$name" "$n" "$what"
	done <<<"$breaks"
done

# A break number the program does not have must be refused, not ignored.
STASIS_ZOO_BREAK=99 zoo_cycle cwd-umask no-checkpoint "$WORK/break-99"
if [ "$ZOO_STEP" = start ] && [ "$ZOO_STATUS" = 2 ]; then
	pass "$T/break/out-of-range"
else
	fail "$T/break/out-of-range" "STASIS_ZOO_BREAK=99 gave $ZOO_RESULT at step '$ZOO_STEP' (status '$ZOO_STATUS')"
fi

# --- the harness against fakes ------------------------------------------------

# A fake stasis: FAKE_MODE says how it behaves; it appends its pid, and the
# pid of any process it starts, to $WORK/fake.pids.
FAKE=$WORK/fake-stasis
cat >"$FAKE" <<'SH'
#!/bin/bash
echo $$ >>"$FAKE_PIDS"
cmd=$1
shift
pid= dir= pidfile=
while [ $# -gt 0 ]; do
	case $1 in
	-t) pid=$2; shift ;;
	-D) dir=$2; shift ;;
	--pidfile) pidfile=$2; shift ;;
	--feature) feature=$2; shift ;;
	esac
	shift
done
hang() { sleep 1000 & echo $! >>"$FAKE_PIDS"; wait; }
# A restore that starts the program afresh, detached, under its old pid
# (or, for respawn-wrong-pid, any pid), and waits until it is ready.
respawn() {
	local argv want=$(<"$dir/pid") new
	mapfile -d '' -t argv <"$dir/cmdline"
	[ "$FAKE_MODE" = respawn-wrong-pid ] && want=0
	[ "$FAKE_MODE" = respawn-broken ] && export STASIS_ZOO_BREAK=1
	rm -f "${argv[2]}" # the program's pid file: its return says it is ready
	"$ZOO_RESPAWN" "$want" "${argv[@]}" </dev/null >"$dir/respawn.out" \
		2>>"$dir/respawn.err" || exit 1
	new=$(<"$dir/respawn.out")
	echo "$new" >>"$FAKE_PIDS"
	for ((i = 0; i < 100; i++)); do
		[ -s "${argv[2]}" ] && break
		sleep 0.05
	done
	echo "$new" >"$pidfile"
}
case $cmd:$FAKE_MODE in
check:missing-feature) echo "$feature is not supported"; exit 1 ;;
check:unknown-feature) echo "stasis: unknown feature '$feature'. Valid names: a, b" >&2; exit 1 ;;
check:*) echo "$feature is supported" ;;
*:not-implemented) echo "stasis: command '$cmd' is not implemented yet" >&2; exit 1 ;;
dump:hang-dump) hang ;;
dump:dump-fails) echo "stasis: cannot seize $pid: Operation not permitted" >&2; exit 1 ;;
dump:dump-crashes) kill -SEGV $$ ;;
dump:*)
	# Dump kills the tree; a respawning restore needs the command line.
	[ -n "$pid" ] || exit 1
	cp "/proc/$pid/cmdline" "$dir/cmdline" && echo "$pid" >"$dir/pid"
	kill -KILL "$pid" ;;
restore:hang-restore) hang ;;
restore:respawn*) respawn ;;
restore:*) exit 0 ;; # claims success but writes no pid file
esac
SH
chmod +x "$FAKE"

# Fake programs, for what the real ones never do.
FAKE_BIN=$WORK/bin
mkdir -p "$FAKE_BIN"
cat >"$FAKE_BIN/deaf" <<'SH'
#!/bin/bash
# Ready, but ignores SIGTERM: sleep inherits the ignored signal.
trap '' TERM
echo $$ >"$2.tmp" && mv "$2.tmp" "$2"
exec sleep 1000
SH
cat >"$FAKE_BIN/unsupported" <<'SH'
#!/bin/bash
echo "SKIP: no such CPU feature" >"$4"
exit 77
SH
cat >"$FAKE_BIN/crashes" <<'SH'
#!/bin/bash
exit 3
SH
cat >"$FAKE_BIN/segv" <<'SH'
#!/bin/bash
# Dies of SIGSEGV when terminated, without a verdict.
trap 'trap - SEGV; kill -SEGV $$' TERM
echo $$ >"$2.tmp" && mv "$2.tmp" "$2"
while :; do sleep 0.05; done
SH
cat >"$FAKE_BIN/liar" <<'SH'
#!/bin/bash
# Writes PASS but exits 1 when terminated.
trap 'echo PASS >"$4"; exit 1' TERM
echo $$ >"$2.tmp" && mv "$2.tmp" "$2"
while :; do sleep 0.05; done
SH
chmod +x "$FAKE_BIN"/*

# None of the pids the cycle started or the fake recorded may still run.
leftovers() {
	local pid left=
	for pid in "${ZOO_PIDS[@]}" $(cat "$WORK/fake.pids" 2>/dev/null); do
		_zoo_running "$pid" && left+=" $pid"
	done
	echo "$left"
}

# Run one cycle with a fake; expect RESULT at STEP with WHY matching a glob.
expect_cycle() { # LABEL MODE PROGRAM RESULT STEP WHY-GLOB
	local label="$T/harness/$1" left
	: >"$WORK/fake.pids"
	zoo_cycle "$3" "$2" "$WORK/$1"
	left=$(leftovers)
	# shellcheck disable=SC2053 # $6 is a glob on purpose
	if [ "$ZOO_RESULT" != "$4" ] || [ "$ZOO_STEP" != "$5" ] || [[ $ZOO_WHY != $6 ]]; then
		fail "$label" "expected $4 at step '$5' ($6), got $ZOO_RESULT at step '$ZOO_STEP': $ZOO_WHY"
	elif [ -n "$left" ]; then
		fail "$label" "processes left running:$left"
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL $left 2>/dev/null
	else
		pass "$label"
	fi
}

export FAKE_PIDS=$WORK/fake.pids ZOO_RESPAWN=$ZOO_BIN/zoo-respawn
(
	# Short steps: these tests wait for timeouts on purpose.
	ZOO_STEP_TIMEOUT=2 STASIS=$FAKE
	FAKE_MODE=hang-dump expect_cycle hang-dump checkpoint heap FAIL dump "timed out after 2s"
	FAKE_MODE=hang-restore expect_cycle hang-restore checkpoint heap FAIL restore "timed out after 2s"
	FAKE_MODE=dump-fails expect_cycle dump-fails checkpoint heap FAIL dump \
		"exit status 1: stasis: cannot seize *: Operation not permitted"
	FAKE_MODE=dump-crashes expect_cycle dump-crashes checkpoint heap FAIL dump "killed by SIGSEGV"
	FAKE_MODE=no-pidfile expect_cycle restore-no-pidfile checkpoint heap FAIL restore \
		"no --pidfile written"
	FAKE_MODE=missing-feature expect_cycle missing-feature checkpoint heap SKIP requires \
		"kernel feature prctl_mm_map missing*"
	FAKE_MODE=unknown-feature expect_cycle unknown-feature checkpoint heap FAIL requires \
		"*unknown feature 'prctl_mm_map'*"
	FAKE_MODE=not-implemented expect_cycle not-implemented checkpoint heap SKIP dump \
		"stasis dump not implemented yet"
	# Once the engine was found missing, the next test skips without starting anything.
	FAKE_MODE=not-implemented expect_cycle not-implemented-again checkpoint pipe SKIP dump \
		"stasis dump not implemented yet"
	if [ ${#ZOO_PIDS[@]} -eq 0 ]; then
		pass "$T/harness/not-implemented-starts-nothing"
	else
		fail "$T/harness/not-implemented-starts-nothing" "started ${ZOO_PIDS[*]}"
	fi

	ZOO_ENGINE_MISSING=

	# A restore that starts the program afresh maps it elsewhere: the check
	# from outside (maps and status before and after) must catch it.
	FAKE_MODE=respawn expect_cycle respawn-outside checkpoint heap FAIL outside \
		"/proc/*/maps differs after the restore: *"

	# The whole cycle with that restore, the outside check off: proves the
	# path of a detached program (verdict from the file, no status).
	ZOO_CHECK_OUTSIDE=0
	FAKE_MODE=respawn expect_cycle respawn checkpoint heap PASS "" ""
	FAKE_MODE=respawn-broken expect_cycle respawn-broken checkpoint heap FAIL verdict \
		"heap differs at offset *"
	FAKE_MODE=respawn-wrong-pid expect_cycle respawn-wrong-pid checkpoint heap FAIL restore \
		"restored as pid '*', dumped as *"
	ZOO_CHECK_OUTSIDE=1

	# The probe: finds the engine missing, or not, without running a program.
	FAKE_MODE=not-implemented zoo_probe_engine "$WORK/probe"
	if [ "$ZOO_ENGINE_MISSING" = "stasis dump not implemented yet" ]; then
		pass "$T/harness/probe-missing"
	else
		fail "$T/harness/probe-missing" "probe said '$ZOO_ENGINE_MISSING'"
	fi
	ZOO_ENGINE_MISSING=
	FAKE_MODE=no-pidfile zoo_probe_engine "$WORK/probe"
	if [ -z "$ZOO_ENGINE_MISSING" ]; then
		pass "$T/harness/probe-present"
	else
		fail "$T/harness/probe-present" "probe said '$ZOO_ENGINE_MISSING'"
	fi

	ZOO_BIN=$FAKE_BIN
	expect_cycle deaf no-checkpoint deaf FAIL verdict "still running 2s after SIGTERM"
	expect_cycle unsupported no-checkpoint unsupported SKIP start "no such CPU feature"
	expect_cycle crashes no-checkpoint crashes FAIL start "exit status 3 before it was ready"
	expect_cycle segv no-checkpoint segv FAIL verdict "no verdict written (killed by SIGSEGV)"
	expect_cycle liar no-checkpoint liar FAIL verdict "verdict PASS but exit status 1"
	expect_cycle not-built no-checkpoint no-such-program FAIL build "*is not built*"
)

rm -rf "$WORK"
