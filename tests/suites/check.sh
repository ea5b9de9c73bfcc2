#!/usr/bin/env bash
# `stasis check` on this machine (see docs/check.md): every feature present
# except soft-dirty (CONFIG_MEM_SOFT_DIRTY is off here), exit 0; --feature in
# criu's style; unknown names refused; and no probe process left behind.
source "$(dirname "$0")/../lib.sh"

tmp=$(scratch_dir)
present=(ptrace_seize ptrace_xstate get_rseq_conf process_vm pidfd_store clone3_set_tid
	pagemap_scan kcmp memfd prctl_mm_map uffd uffd-noncoop uffd_wp_async
	uffd_wp_unpopulated mem_dirty_track tcp_repair timens io_uring)

# Every process started by the command under test carries this variable; a
# process still holding it afterwards is a stray probe child.
MARK="STASIS_CHECK_MARK=$$.$RANDOM"

# Processes whose environment holds $MARK, one pid per line.
marked_processes() {
	local env pid
	for env in /proc/[0-9]*/environ; do
		pid=${env#/proc/}
		pid=${pid%/environ}
		[ "$pid" = "$BASHPID" ] && continue
		tr '\0' '\n' 2>/dev/null <"$env" | grep -qxF "$MARK" && echo "$pid"
	done
	return 0
}

run() { # out-file, args...: runs stasis with the mark, records the exit status in $rc
	local out=$1
	shift
	env "$MARK" "$STASIS" "$@" >"$out" 2>"$out.err"
	rc=$?
}

# The stray detector must see a marked process, or its silence proves nothing.
env "$MARK" sleep 300 &
sleeper=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -n "$(marked_processes)" ] && break
	sleep 0.1
done
if [ "$(marked_processes)" = "$sleeper" ]; then
	pass "stray detector sees a marked process"
else
	fail "stray detector sees a marked process" "found '$(marked_processes)', expected $sleeper"
fi
kill "$sleeper" 2>/dev/null
wait "$sleeper" 2>/dev/null

run "$tmp/all" check
if [ "$rc" -eq 0 ]; then
	pass "check exits 0"
else
	fail "check exits 0" "exit $rc: $(tail -1 "$tmp/all") $(cat "$tmp/all.err")"
fi

for f in "${present[@]}"; do
	line=$(grep -E "^$f +" "$tmp/all")
	if [[ "$line" =~ ^$f\ +present\  ]]; then
		pass "check reports $f present"
	else
		fail "check reports $f present" "got '${line:-no line}'"
	fi
done

line=$(grep -E "^soft_dirty +" "$tmp/all")
if [[ "$line" =~ ^soft_dirty\ +missing\ +optional ]]; then
	pass "check reports soft_dirty missing (optional)"
else
	fail "check reports soft_dirty missing (optional)" "got '${line:-no line}'"
fi

n=$(grep -cE '^[a-z0-9_-]+ +(present|missing|error) +(required|optional) ' "$tmp/all")
if [ "$n" -eq $((${#present[@]} + 1)) ]; then
	pass "check prints one line per feature"
else
	fail "check prints one line per feature" "$n feature lines, expected $((${#present[@]} + 1))"
fi

if tail -1 "$tmp/all" | grep -q '^Looks good\. Optional features missing: soft_dirty '; then
	pass "check verdict names the missing optional feature"
else
	fail "check verdict names the missing optional feature" "got '$(tail -1 "$tmp/all")'"
fi

for opt in --all --extra; do
	run "$tmp/opt" check "$opt"
	if [ "$rc" -eq 0 ] && [ "$(cut -c1-30 "$tmp/opt")" = "$(cut -c1-30 "$tmp/all")" ]; then
		pass "check $opt shows every check"
	else
		fail "check $opt shows every check" "exit $rc, output differs from plain check"
	fi
done

# --feature NAME: expected exit status, expected output
feature_case() { # name, expected-rc, expected-line, args...
	local name=$1 want_rc=$2 want=$3
	shift 3
	run "$tmp/feat" check "$@"
	if [ "$rc" -eq "$want_rc" ] && grep -qxF "$want" "$tmp/feat"; then
		pass "$name"
	else
		fail "$name" "exit $rc (want $want_rc), output '$(cat "$tmp/feat" "$tmp/feat.err")'"
	fi
}
feature_case "--feature pagemap_scan is supported" 0 "pagemap_scan is supported" \
	--feature pagemap_scan
feature_case "--feature mem_dirty_track is supported (criu's name)" 0 \
	"mem_dirty_track is supported" --feature mem_dirty_track
feature_case "--feature uffd_noncoop matches uffd-noncoop" 0 "uffd-noncoop is supported" \
	--feature uffd_noncoop
feature_case "--feature soft_dirty is not supported" 1 "soft_dirty is not supported" \
	--feature soft_dirty
feature_case "--feature soft-dirty is not supported" 1 "soft_dirty is not supported" \
	--feature soft-dirty
feature_case "--feature repeated: all supported" 0 "clone3_set_tid is supported" \
	--feature pagemap_scan --feature clone3_set_tid --feature pidfd_store
feature_case "--feature repeated: one not supported" 1 "soft_dirty is not supported" \
	--feature pagemap_scan --feature soft_dirty

run "$tmp/unknown" check --feature no_such_feature
if [ "$rc" -ne 0 ] && grep -q "unknown feature 'no_such_feature'" "$tmp/unknown.err" &&
	grep -q "pagemap_scan" "$tmp/unknown.err" && [ ! -s "$tmp/unknown" ]; then
	pass "unknown feature is refused with the valid names"
else
	fail "unknown feature is refused with the valid names" \
		"exit $rc, stderr '$(cat "$tmp/unknown.err")', stdout '$(cat "$tmp/unknown")'"
fi

# Nothing probed when one of several names is unknown.
run "$tmp/unknown2" check --feature pagemap_scan --feature nope
if [ "$rc" -ne 0 ] && [ ! -s "$tmp/unknown2" ]; then
	pass "unknown feature among known ones: nothing probed"
else
	fail "unknown feature among known ones: nothing probed" "exit $rc, '$(cat "$tmp/unknown2")'"
fi

# The library itself: every probe, and every error path of the probe-child
# helpers, leaves this process without any child, not even a zombie.
probes="$BUILD/tests/unit/kerndat/test-probes"
if [ ! -x "$probes" ]; then
	fail "probes reap their children" "$probes not built (meson -Dtests=true)"
elif env "$MARK" "$probes" >"$tmp/probes" 2>&1; then
	pass "probes reap their children"
else
	fail "probes reap their children" "$(grep -E 'ERROR|FAILED|Failure|fail' "$tmp/probes" | head -5)"
fi

# Nothing started by stasis (or the probe test) outlives it.
strays=$(marked_processes)
if [ -z "$strays" ]; then
	pass "no probe process left behind"
else
	fail "no probe process left behind" "pids: $(echo $strays)"
	for p in $strays; do kill -9 "$p" 2>/dev/null; done
fi
