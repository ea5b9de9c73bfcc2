#!/bin/bash
# Pre-dumps and incremental dumps (docs/predump.md): chains of image sets
# with "parent" links and PE_PARENT pagemap entries, decoded by Debian's crit
# and by stasis image; a process restored from a 3-level chain verifies all
# its memory; --iterative; --cancel and the end of a migration leave nothing
# in the task (no fd, no VMA registered with a userfaultfd); the holder goes
# with the tracked processes; a task with a userfaultfd of its own is refused.
# The same chain tracked with soft-dirty bits (STASIS_TRACK_WITH=soft-dirty)
# where the kernel has them; without tracking (=none, or soft-dirty forced
# on a kernel without it): a warning, every page saved, a chain that restores.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$SRC/tests/zoo/harness.sh"

PY=/usr/bin/python3
T=predump
ZOO_PIDS=()
_zoo_wrapper='' _zoo_restored='' _zoo_restored_start='' _zoo_dir=''
HOLDERS=() # holder pids stasis reported in DIR/stasis-track.pid

# Holders are stasis's children gone to a session of their own: kill those
# still running (by their recorded pid, only if still a stasis) at exit.
pd_cleanup() {
	local h
	_zoo_cleanup
	for h in "${HOLDERS[@]}"; do
		if [ "$(readlink "/proc/$h/exe" 2>/dev/null)" = "$(readlink -f "$STASIS")" ]; then
			kill -KILL "$h" 2>/dev/null
		fi
	done
}
trap 'pd_cleanup; rm -rf "$_SUITE_TMP"' EXIT
trap 'exit 130' INT TERM

# pd_start LABEL NAME DIR: a zoo program in its own session, fds 0-2 only,
# and its first pre-dump into DIR/i1 (FAIL LABEL if either fails).
pd_start() {
	ZOO_RESULT='' ZOO_STEP='' ZOO_WHY='' ZOO_STATUS='' ZOO_PID=''
	_zoo_wrapper='' _zoo_restored='' _zoo_restored_start='' _zoo_dir=$3
	mkdir -p "$3/i1"
	if ! _zoo_start "$ZOO_BIN/$2" "$3"; then
		fail "$1" "start: $ZOO_WHY"
		return 1
	fi
}

pd_start_predump() { # LABEL NAME DIR
	pd_start "$@" || return 1
	pd_run "$1" "$3/pd1" pre-dump -t "$ZOO_PID" -D "$3/i1" -o pd.log -v4 || return 1
	pd_record_holder "$3/i1"
}

# pd_run LABEL OUT ARGS...: stasis ARGS, under a time limit; 0 if it worked.
pd_run() {
	local label=$1 out=$2
	shift 2
	if ! timeout -k 5 60 "$STASIS" "$@" >"$out.out" 2>"$out.err"; then
		fail "$label" "stasis $* failed: $(grep -m1 -E 'Error|stasis' "$out.err")"
		return 1
	fi
	return 0
}

pd_record_holder() { # DIR
	[ -s "$1/stasis-track.pid" ] && HOLDERS+=("$(<"$1/stasis-track.pid")")
	return 0
}

# What the task shows of the tracking: fds other than the ones it had, VMAs
# registered with a userfaultfd (VmFlags um/uw/ui).
pd_fds() { ls -l "/proc/$1/fd" 2>/dev/null | awk 'NR > 1 {print $9, $10, $11}'; }
pd_uffd_vmas() { grep -cE '^VmFlags:.* u[mwi]( |$)' "/proc/$1/smaps" 2>/dev/null; }

pd_holder_alive() { # DIR
	local h
	[ -s "$1/stasis-track.pid" ] || return 1
	h=$(<"$1/stasis-track.pid")
	[ "$(readlink "/proc/$h/exe" 2>/dev/null)" = "$(readlink -f "$STASIS")" ]
}

# Wait up to 3 s for no VMA of pid to be registered with a userfaultfd.
pd_wait_untracked() { # PID
	local i
	for ((i = 0; i < 30; i++)); do
		[ "$(pd_uffd_vmas "$1")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# Every image of DIR (pages aside) decodes with Debian's crit and stasis image.
pd_decode_all() { # LABEL DIR
	local f bad=''
	for f in "$2"/*.img; do
		case $f in */pages-*.img) continue ;; esac
		$PY -c 'import sys, pycriu; pycriu.images.load(open(sys.argv[1], "rb"))' "$f" \
			>/dev/null 2>&1 || bad="$bad crit:$(basename "$f")"
		"$STASIS" image decode -i "$f" >/dev/null 2>&1 || bad="$bad stasis:$(basename "$f")"
	done
	if [ -n "$bad" ]; then
		fail "$1" "images that do not decode:$bad"
		return 1
	fi
	pass "$1"
}

# Entries of pagemap-PID.img in DIR with flags FLAGS (1 PARENT, 4 PRESENT), per crit.
pd_entries() { # DIR PID FLAGS
	$PY - "$1/pagemap-$2.img" "$3" <<'EOF'
import sys, pycriu
img = pycriu.images.load(open(sys.argv[1], "rb"))
print(sum(1 for e in img["entries"][1:] if e.get("flags") == int(sys.argv[2])))
EOF
}

# Restore DIR, SIGTERM, and the program's own verdict on every byte it holds.
pd_restore_verdict() { # LABEL DIR IMAGES
	local label=$1 dir=$2
	if ! _zoo_wait_gone "$ZOO_PID" "$ZOO_KILL_TIMEOUT"; then
		fail "$label" "pid $ZOO_PID still there after the dump"
		return 1
	fi
	_zoo_reap_wrapper
	ZOO_STATUS=
	rm -f "$dir/verdict"
	if ! timeout -k 5 60 "$STASIS" restore -D "$3" -d --pidfile "$dir/restored.pid" \
		-o restore.log -v4 >"$dir/restore.out" 2>&1; then
		fail "$label" "restore failed: $(grep -m1 Error "$dir/restore.out")"
		return 1
	fi
	_zoo_restored=$(<"$dir/restored.pid")
	_zoo_restored_start=$(_zoo_starttime "$_zoo_restored")
	sleep 0.3
	_zoo_sigterm && _zoo_verdict "$dir"
	if [ "$ZOO_RESULT" = PASS ]; then
		pass "$label"
	else
		fail "$label" "at $ZOO_STEP: $ZOO_WHY"
	fi
}

# --- a 3-level chain: pre-dump, pre-dump, dump --track-mem; then restore -----
# MODE auto: userfaultfd WP_ASYNC (VMAs registered while tracked); soft-dirty:
# forced with STASIS_TRACK_WITH (nothing registered, nothing in the task).
test_chain() { # PROG [MODE]
	local prog=$1 mode=${2:-auto} d c=$T/chain/$1 uffd_vmas
	[ "$mode" = auto ] || c=$T/chain-$mode/$prog
	local -x STASIS_TRACK_WITH=$mode
	d=$(scratch_dir)
	pd_start "$c" "$prog" "$d" || return
	local pid=$ZOO_PID fds_before
	fds_before=$(pd_fds "$pid")
	mkdir -p "$d/i2" "$d/i3"
	pd_run "$c/pre-dump" "$d/pd1" pre-dump -t "$pid" -D "$d/i1" -o pd.log -v4 || return
	pd_record_holder "$d/i1"
	uffd_vmas=$(pd_uffd_vmas "$pid")
	if [ "$(pd_fds "$pid")" != "$fds_before" ]; then
		fail "$c/fds" "the task's fds changed: $(pd_fds "$pid" | tr '\n' ' ')"
	elif ! pd_holder_alive "$d/i1"; then
		fail "$c/armed" "no holder for i1"
	elif [ "$mode" = auto ] && [ "$uffd_vmas" = 0 ]; then
		fail "$c/armed" "no VMA tracked"
	elif [ "$mode" != auto ] && [ "$uffd_vmas" != 0 ]; then
		fail "$c/armed" "$uffd_vmas VMAs registered with a userfaultfd"
	else
		pass "$c/armed"
	fi
	[[ $prog == mem-dirty-* ]] && kill -USR1 "$pid"
	sleep 0.3
	pd_run "$c/pre-dump-2" "$d/pd2" pre-dump -t "$pid" -D "$d/i2" \
		--prev-images-dir ../i1 -o pd.log -v4 || return
	pd_record_holder "$d/i2"
	if pd_holder_alive "$d/i1" || ! pd_holder_alive "$d/i2"; then
		fail "$c/handover" "the holder of i1 still runs, or i2 has none"
	elif [ "$(readlink "$d/i2/parent")" != ../i1 ]; then
		fail "$c/handover" "i2/parent is '$(readlink "$d/i2/parent")'"
	else
		pass "$c/handover"
	fi
	local parents w1 w2
	parents=$(pd_entries "$d/i2" "$pid" 1)
	if [ "${parents:-0}" -gt 0 ]; then
		pass "$c/parent-entries"
	else
		fail "$c/parent-entries" "pagemap of i2 has no PE_PARENT entry"
	fi
	# anon-mem writes nothing after its setup: i2 saves next to nothing (the vDSO).
	w1=$(pd_stat "$d/i1" pages_written) w2=$(pd_stat "$d/i2" pages_written)
	echo "# $c: pages written by i1 $w1, by i2 $w2"
	if [ "$prog" = anon-mem ]; then
		if [ "${w1:-0}" -gt 0 ] && [ "$((${w2:-$w1} * 10))" -lt "$w1" ]; then
			pass "$c/few-written"
		else
			fail "$c/few-written" "i2 wrote ${w2:-?} pages, i1 ${w1:-?}"
		fi
	fi
	[[ $prog == mem-dirty-* ]] && kill -USR1 "$pid"
	sleep 0.3
	pd_run "$c/dump" "$d/d3" dump -t "$pid" -D "$d/i3" --track-mem \
		--prev-images-dir ../i2 -o dump.log -v4 || return
	if pd_holder_alive "$d/i2"; then
		fail "$c/holder-gone" "the holder of i2 still runs after the dump"
	else
		pass "$c/holder-gone"
	fi
	pd_decode_all "$c/crit" "$d/i3"
	pd_restore_verdict "$c/restore" "$d" "$d/i3"
	_zoo_cleanup
}

# --- no tracking: STASIS_TRACK_WITH=none (as a kernel with neither userfaultfd
# WP_ASYNC nor soft-dirty bits), or =soft-dirty on a kernel without them. Each
# command warns why, saves every page (no PE_PARENT entry), and the chain
# restores a program that verifies every byte.
test_untracked() { # MODE WHY
	local mode=$1 why=$2 c=$T/untracked-$1 d pid k bad='' w1 w3
	local -x STASIS_TRACK_WITH=$mode
	d=$(scratch_dir)
	pd_start "$c" mem-dirty-random "$d" || return
	pid=$ZOO_PID
	mkdir -p "$d/i2" "$d/i3"
	pd_run "$c" "$d/pd1" pre-dump -t "$pid" -D "$d/i1" -o pd.log -v4 || { _zoo_cleanup; return; }
	pd_record_holder "$d/i1"
	kill -USR1 "$pid"
	sleep 0.3
	pd_run "$c" "$d/pd2" pre-dump -t "$pid" -D "$d/i2" --prev-images-dir ../i1 \
		-o pd.log -v4 || { _zoo_cleanup; return; }
	pd_record_holder "$d/i2"
	kill -USR1 "$pid"
	sleep 0.3
	pd_run "$c" "$d/d3" dump -t "$pid" -D "$d/i3" --track-mem --prev-images-dir ../i2 \
		-o dump.log -v4 || { _zoo_cleanup; return; }
	for k in i1/pd.log i2/pd.log; do
		"$STASIS" log decode "$d/$k" 2>/dev/null |
			grep -q "pid $pid: $why.*: its memory is saved whole in every round" ||
			bad="$bad no warning in $k;"
	done
	for k in i1 i2; do
		[ -s "$d/$k/stasis-track.pid" ] && bad="$bad a holder for $k;"
	done
	for k in i2 i3; do
		[ "$(pd_entries "$d/$k" "$pid" 1)" = 0 ] || bad="$bad PE_PARENT entries in $k;"
	done
	w1=$(pd_stat "$d/i1" pages_written) w3=$(pd_stat "$d/i3" pages_written)
	[ "${w3:-0}" -ge "${w1:-1}" ] || bad="$bad i3 wrote ${w3:-?} pages, i1 ${w1:-?};"
	if [ -n "$bad" ]; then
		fail "$c/saved-whole" "$bad"
	else
		pass "$c/saved-whole"
	fi
	pd_restore_verdict "$c/restore" "$d" "$d/i3"
	_zoo_cleanup
}

# --- shared anonymous memory across rounds ----------------------------------
# Entries of DIR's pagemap-shmem-*.img with flags FLAGS (1 PARENT, 4 PRESENT),
# and a field of its stats-dump, per crit.
pd_shmem_entries() { # DIR FLAGS
	$PY - "$1" "$2" <<'EOF'
import glob, sys, pycriu
n = 0
for f in glob.glob(sys.argv[1] + "/pagemap-shmem-*.img"):
    img = pycriu.images.load(open(f, "rb"))
    n += sum(1 for e in img["entries"][1:] if e.get("flags") == int(sys.argv[2]))
print(n)
EOF
}
pd_stat() { # DIR FIELD
	$PY -c 'import sys, pycriu
print(pycriu.images.load(open(sys.argv[1] + "/stats-dump", "rb"))["entries"][0]["dump"].get(sys.argv[2], 0))' \
		"$1" "$2"
}
# 512-byte blocks allocated to the pages files of DIR's shared memory objects.
pd_shmem_blocks() { # DIR
	$PY - "$1" <<'EOF'
import glob, os, sys, pycriu
n = 0
for f in glob.glob(sys.argv[1] + "/pagemap-shmem-*.img"):
    pid = pycriu.images.load(open(f, "rb"))["entries"][0]["pages_id"]
    n += os.stat("%s/pages-%d.img" % (sys.argv[1], pid)).st_blocks
print(n)
EOF
}

# A parent and a child write one MAP_SHARED|MAP_ANONYMOUS object (and zap
# pages they wrote in their own mapping); a child forked between rounds maps
# it unregistered (saved whole), then writes and exits (its mapping is gone:
# saved whole). pre-dump x4, dump --track-mem --auto-dedup (the pages written
# since i4 are punched out of i4's object), restore: every byte checked.
test_shmem() {
	local d pid t=$T/shmem n w before after
	d=$(scratch_dir)
	pd_start "$t" mem-shared-dirty "$d" || return
	pid=$ZOO_PID
	mkdir -p "$d/i2" "$d/i3" "$d/i4" "$d/i5"
	pd_run "$t" "$d/pd1" pre-dump -t "$pid" -D "$d/i1" -o pd.log -v4 || { _zoo_cleanup; return; }
	pd_record_holder "$d/i1"
	sleep 0.3
	pd_run "$t" "$d/pd2" pre-dump -t "$pid" -D "$d/i2" --prev-images-dir ../i1 -o pd.log -v4 ||
		{ _zoo_cleanup; return; }
	pd_record_holder "$d/i2"
	n=$(pd_shmem_entries "$d/i1" 4)
	if [ "${n:-0}" -gt 0 ] && [ "$(pd_shmem_entries "$d/i2" 1)" -gt 0 ]; then
		pass "$t/incremental"
	else
		fail "$t/incremental" "i1 has $n PE_PRESENT shmem entries, i2 $(pd_shmem_entries "$d/i2" 1) PE_PARENT"
	fi
	kill -USR1 "$pid" # a late child maps the object, unregistered
	sleep 0.3
	pd_run "$t" "$d/pd3" pre-dump -t "$pid" -D "$d/i3" --prev-images-dir ../i2 -o pd.log -v4 ||
		{ _zoo_cleanup; return; }
	pd_record_holder "$d/i3"
	n=$(pd_shmem_entries "$d/i3" 1)
	if [ "$(ls "$d"/i3/pagemap-*.img | wc -l)" -lt 4 ]; then
		fail "$t/forked-whole" "no late child in i3: $(ls "$d/i3" | tr '\n' ' ')"
	elif [ "$n" != 0 ]; then
		fail "$t/forked-whole" "i3 has $n PE_PARENT shmem entries with a late child mapping it"
	else
		pass "$t/forked-whole"
	fi
	kill -USR2 "$pid" # the late child writes, hands its model over and exits
	for ((n = 0; n < 50; n++)); do
		[ "$(pgrep -c -P "$pid")" = 1 ] && break
		sleep 0.1
	done
	pd_run "$t" "$d/pd4" pre-dump -t "$pid" -D "$d/i4" --prev-images-dir ../i3 -o pd.log -v4 ||
		{ _zoo_cleanup; return; }
	pd_record_holder "$d/i4"
	n=$(pd_shmem_entries "$d/i4" 1)
	if [ "$(ls "$d"/i4/pagemap-*.img | wc -l)" != 3 ]; then
		fail "$t/exited-whole" "the late child is still in i4: $(ls "$d/i4" | tr '\n' ' ')"
	elif [ "$n" != 0 ]; then
		fail "$t/exited-whole" "i4 has $n PE_PARENT shmem entries after a mapping went"
	else
		pass "$t/exited-whole"
	fi
	sleep 0.3
	before=$(pd_shmem_blocks "$d/i4")
	pd_run "$t" "$d/d5" dump -t "$pid" -D "$d/i5" --track-mem --prev-images-dir ../i4 \
		--auto-dedup -o dump.log -v4 || { _zoo_cleanup; return; }
	n=$(pd_shmem_entries "$d/i5" 1) w=$(pd_stat "$d/i5" shpages_written)
	if [ "${n:-0}" -gt 0 ] && [ "${w:-4096}" -lt 1024 ]; then
		pass "$t/final-incremental"
	else
		fail "$t/final-incremental" "$n PE_PARENT shmem entries, $w of 4096 shared pages written"
	fi
	after=$(pd_shmem_blocks "$d/i4")
	if [ "${after:-0}" -gt 0 ] && [ "$after" -lt "${before:-0}" ]; then
		pass "$t/dedup"
	else
		fail "$t/dedup" "i4's shared memory pages use $after blocks after --auto-dedup, $before before"
	fi
	pd_decode_all "$t/crit" "$d/i5"
	pd_restore_verdict "$t/restore" "$d" "$d/i5"
	_zoo_cleanup
}

# --- pre-dump --cancel: the task keeps nothing, runs on unharmed ------------
test_cancel() { # [MODE]
	local d pid fds_before c=$T/cancel
	local -x STASIS_TRACK_WITH=${1:-auto}
	[ -z "${1:-}" ] || c=$T/cancel-$1
	d=$(scratch_dir)
	pd_start "$c" mem-dirty-random "$d" || return
	pid=$ZOO_PID
	fds_before=$(pd_fds "$pid")
	pd_run "$c" "$d/pd1" pre-dump -t "$pid" -D "$d/i1" -o pd.log -v4 || return
	pd_record_holder "$d/i1"
	if ! pd_holder_alive "$d/i1"; then
		fail "$c" "no holder for i1"
		_zoo_cleanup
		return
	fi
	pd_run "$c" "$d/c" pre-dump --cancel -D "$d/i1" || return
	if pd_holder_alive "$d/i1"; then
		fail "$c" "the holder still runs"
	elif ! pd_wait_untracked "$pid"; then
		fail "$c" "$(pd_uffd_vmas "$pid") VMAs still registered with a userfaultfd"
	elif [ "$(pd_fds "$pid")" != "$fds_before" ]; then
		fail "$c" "the task's fds changed"
	else
		_zoo_sigterm && _zoo_verdict "$d"
		if [ "$ZOO_RESULT" = PASS ]; then
			pass "$c"
		else
			fail "$c" "the program after the cancel: $ZOO_WHY"
		fi
	fi
	_zoo_cleanup
}

# --- the holder goes when the tracked process does ---------------------------
test_holder_exit() {
	local d i
	d=$(scratch_dir)
	pd_start_predump "$T/holder-exit" mem-dirty-random "$d" || return
	_zoo_cleanup
	for ((i = 0; i < 50; i++)); do
		pd_holder_alive "$d/i1" || break
		sleep 0.1
	done
	if pd_holder_alive "$d/i1"; then
		fail "$T/holder-exit" "the holder still runs 5 s after its process was killed"
	else
		pass "$T/holder-exit"
	fi
}

# --- dump --iterative: rounds and the final dump in one process --------------
test_iterative() { # [MODE]
	local d pid n c=$T/iterative
	local -x STASIS_TRACK_WITH=${1:-auto}
	[ -z "${1:-}" ] || c=$T/iterative-$1
	d=$(scratch_dir)
	pd_start "$c" mem-dirty-random "$d" || return
	pid=$ZOO_PID
	mkdir -p "$d/img"
	pd_run "$c" "$d/it" dump -t "$pid" -D "$d/img" --iterative --max-iterations 3 \
		-o dump.log -v4 || return
	n=$(ls -d "$d/img"/pre-* 2>/dev/null | wc -l)
	if [ "$n" -lt 1 ] || [ "$n" -gt 3 ] || [ ! -L "$d/img/parent" ]; then
		fail "$c/rounds" "$n rounds, parent '$(readlink "$d/img/parent")'"
	else
		pass "$c/rounds"
	fi
	pd_restore_verdict "$c/restore" "$d" "$d/img"
	_zoo_cleanup
}

# --- a program with a userfaultfd of its own is refused -----------------------
test_refuse_uffd() {
	local d pid
	d=$(scratch_dir)
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done 2>/dev/null
		exec setsid $PY -c '
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.syscall(323, os.O_CLOEXEC) < 0: sys.exit(3)
open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
signal.pause()' "$d/pid"
	) </dev/null >/dev/null 2>&1 &
	local wrapper=$! i
	for ((i = 0; i < 100; i++)); do
		[ -s "$d/pid" ] && break
		sleep 0.05
	done
	pid=$(<"$d/pid")
	mkdir -p "$d/i1"
	if timeout -k 5 60 "$STASIS" pre-dump -t "$pid" -D "$d/i1" >"$d/out" 2>&1; then
		fail "$T/refuse-uffd" "pre-dump of a task holding a userfaultfd succeeded"
	elif ! grep -qE "pid $pid fd [0-9]+ is a userfaultfd" "$d/out"; then
		fail "$T/refuse-uffd" "not refused by name: $(head -c 300 "$d/out")"
	elif [ -s "$d/i1/stasis-track.pid" ]; then
		fail "$T/refuse-uffd" "a holder was left"
	else
		pass "$T/refuse-uffd"
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$wrapper" 2>/dev/null || true
}

# --- dump -R --snapshot: frozen only for registers and files; the images are --
# the instant of the freeze (the restored program checks its memory against
# its model before it writes again), the program that ran on lost no write,
# and nothing of the tracking is left in it.
pd_stat() { # DIR FIELD
	"$STASIS" image stats "$1" --json 2>/dev/null | tr ',{}' '\n\n\n' |
		sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" | head -1
}

# pd_snapshot LABEL PROG DIR: PROG started, its fds in PD_FDS_BEFORE, and a
# snapshot of it into DIR/img, the log decoded into DIR/log. 300 ms between
# arming and the freeze, and again before the background copy: pages are
# written in both, and must be in the images as they were at the freeze.
pd_snapshot() {
	pd_start "$1" "$2" "$3" || return 1
	PD_FDS_BEFORE=$(pd_fds "$ZOO_PID")
	mkdir -p "$3/img"
	sleep 0.3
	STASIS_SNAPSHOT_PAUSE_MS=300 pd_run "$1" "$3/s" dump -R --snapshot -t "$ZOO_PID" \
		-D "$3/img" -o dump.log -v4 || { _zoo_cleanup; return 1; }
	"$STASIS" log decode "$3/img/dump.log" >"$3/log"
}

test_snapshot() {
	local d pid fds_before faulted armed
	d=$(scratch_dir)
	# (the restored program checks every byte)
	pd_snapshot "$T/snapshot" mem-snapshot "$d" || return
	pid=$ZOO_PID fds_before=$PD_FDS_BEFORE
	faulted=$(sed -n 's/.*pages, \([0-9]*\) of them copied ahead of a write.*/\1/p' "$d/log")
	armed=$(sed -n 's/.* \([0-9]*\) writes served while armed.*/\1/p' "$d/log")
	if [ "${armed:-0}" -gt 0 ]; then
		pass "$T/snapshot/written-while-armed"
	else
		fail "$T/snapshot/written-while-armed" "no write between arming and freeze ('$armed')"
	fi
	if [ "$(pd_uffd_vmas "$pid")" != 0 ] || [ "$(pd_fds "$pid")" != "$fds_before" ]; then
		fail "$T/snapshot/untracked" "after the snapshot: $(pd_uffd_vmas "$pid") VMAs" \
			"registered, fds $(pd_fds "$pid" | tr '\n' ' ')"
	else
		pass "$T/snapshot/untracked"
	fi
	if [ "${faulted:-0}" -gt 0 ]; then
		pass "$T/snapshot/writes-served"
	else
		fail "$T/snapshot/writes-served" "no page was copied ahead of a write ('$faulted')"
	fi
	echo "# $T/snapshot: frozen $(pd_stat "$d/img" frozen_time_us) us," \
		"$faulted pages copied ahead of a write"
	pd_snapshot_verdicts "$T/snapshot" "$d"
}

# After pd_snapshot: the program that ran on lost nothing, the images decode,
# and the restored program finds every byte.
pd_snapshot_verdicts() { # LABEL DIR
	sleep 0.3
	_zoo_sigterm && _zoo_verdict "$2"
	if [ "$ZOO_RESULT" = PASS ]; then
		pass "$1/live"
	else
		fail "$1/live" "the program that ran on: $ZOO_WHY"
	fi
	pd_decode_all "$1/crit" "$2/img"
	pd_restore_verdict "$1/restore" "$2" "$2/img"
	_zoo_cleanup
}

# --- a snapshot of a program whose mappings change between arming and the ---
# freeze (SIGUSR1 during the pause: a slot unmapped, one mapped anew, one
# grown with mremap, one shrunk, one mprotected, a file page dropped): those
# VMAs are looked at whole, frozen, and the images are still one instant.
test_snapshot_changes() {
	local d pid spid changed
	d=$(scratch_dir)
	pd_start "$T/snapshot-changes" mem-dirty-maps "$d" || return
	pid=$ZOO_PID
	mkdir -p "$d/img"
	STASIS_SNAPSHOT_PAUSE_MS=600 timeout -k 5 60 "$STASIS" dump -R --snapshot -t "$pid" \
		-D "$d/img" -o dump.log -v4 >"$d/out" 2>&1 &
	spid=$!
	sleep 0.3
	kill -USR1 "$pid"
	if ! wait "$spid"; then
		fail "$T/snapshot-changes" "the snapshot failed: $(grep -m1 Error "$d/out")"
		_zoo_cleanup
		return
	fi
	changed=$("$STASIS" log decode "$d/img/dump.log" |
		sed -n 's/.* \([0-9]*\) new or changed since.*/\1/p')
	if [ "${changed:-0}" -gt 0 ]; then
		pass "$T/snapshot-changes/seen"
	else
		fail "$T/snapshot-changes/seen" "no VMA new or changed since the arming ('$changed')"
	fi
	if ! pd_wait_untracked "$pid"; then
		fail "$T/snapshot-changes/live" "VMAs still registered with a userfaultfd"
	else
		_zoo_sigterm && _zoo_verdict "$d"
		if [ "$ZOO_RESULT" = PASS ]; then
			pass "$T/snapshot-changes/live"
		else
			fail "$T/snapshot-changes/live" "the program that ran on: $ZOO_WHY"
		fi
	fi
	pd_restore_verdict "$T/snapshot-changes/restore" "$d" "$d/img"
	_zoo_cleanup
}

# --- a snapshot of a program that drops pages (MADV_DONTNEED) as it runs: ---
# consistent images, or a refusal that names the cause; the program is
# unharmed either way.
test_snapshot_drops() {
	local d pid
	d=$(scratch_dir)
	pd_start "$T/snapshot-drops" mem-dirty-random "$d" || return
	pid=$ZOO_PID
	mkdir -p "$d/img"
	if timeout -k 5 60 "$STASIS" dump -R --snapshot -t "$pid" -D "$d/img" >"$d/out" 2>&1; then
		echo "# $T/snapshot-drops: the snapshot was made"
	elif ! grep -q "dropped, unmapped or moved by the task" "$d/out"; then
		fail "$T/snapshot-drops" "failed without naming the cause: $(head -c 300 "$d/out")"
		_zoo_cleanup
		return
	else
		echo "# $T/snapshot-drops: refused (a page dropped before it was saved)"
	fi
	if ! pd_wait_untracked "$pid"; then
		fail "$T/snapshot-drops" "VMAs still registered with a userfaultfd"
	else
		_zoo_sigterm && _zoo_verdict "$d"
		if [ "$ZOO_RESULT" = PASS ]; then
			pass "$T/snapshot-drops"
		else
			fail "$T/snapshot-drops" "the program after the snapshot: $ZOO_WHY"
		fi
	fi
	_zoo_cleanup
}

# --- a snapshot of shared anonymous memory: copied in the background too ----
# mem-shared-dirty's parent and child write their object through their own
# mappings while it is copied: each write waits until its block is copied
# (then released in both mappings). The restored program checks every byte
# against its model (private memory, of the instant of the freeze).
test_snapshot_shmem() {
	local d pid t=$T/snapshot-shmem faulted
	d=$(scratch_dir)
	pd_snapshot "$t" mem-shared-dirty "$d" || return
	pid=$ZOO_PID
	faulted=$(sed -n 's/.*shmem [0-9]*: snapshot of [0-9]* pages, \([0-9]*\) of them copied ahead.*/\1/p' "$d/log")
	if [ -z "$faulted" ]; then
		fail "$t/background" "no shared object copied in the background"
	elif [ "$faulted" = 0 ]; then
		fail "$t/background" "no write to the shared object served during the copy"
	elif [ "$(pd_uffd_vmas "$pid")" != 0 ]; then
		fail "$t/background" "$(pd_uffd_vmas "$pid") VMAs still registered after the snapshot"
	else
		pass "$t/background"
	fi
	echo "# $t: frozen $(pd_stat "$d/img" frozen_time_us) us, $faulted shared pages" \
		"copied ahead of a write"
	pd_snapshot_verdicts "$t" "$d"
}

# A fork while the object is copied: the child's mapping of it would not be
# protected (its writes unseen), so the snapshot fails, and the tree runs on
# unharmed. The object's pagemap is laid out (a temporary file) at the
# freeze: a signal sent once it is there is handled after the freeze, in the
# 300 ms before the background copy. (A fork while armed is fine: the child
# is armed at the freeze.)

test_snapshot_fork() {
	local d pid t=$T/snapshot-shmem/fork spid i
	d=$(scratch_dir)
	pd_start "$t" mem-shared-dirty "$d" || return
	pid=$ZOO_PID
	mkdir -p "$d/img"
	sleep 0.3
	STASIS_SNAPSHOT_PAUSE_MS=300 timeout -k 5 60 "$STASIS" dump -R --snapshot -t "$pid" \
		-D "$d/img" -o dump.log -v4 >"$d/s.out" 2>"$d/s.err" &
	spid=$!
	for ((i = 0; i < 500; i++)); do
		compgen -G "$d/img/.pagemap-shmem-*.tmp" >/dev/null && break
		sleep 0.01
	done
	kill -USR1 "$pid" # forks the late child, mapping the object
	if wait "$spid"; then
		fail "$t" "the snapshot succeeded (laid out after $i polls)"
	elif ! grep -q "forked while its shared memory" "$d/s.err"; then
		fail "$t" "the snapshot failed otherwise: $(grep -m1 Error "$d/s.err")"
	elif [ "$(pd_uffd_vmas "$pid")" != 0 ]; then
		fail "$t" "$(pd_uffd_vmas "$pid") VMAs still registered after the failed snapshot"
	else
		sleep 0.3
		_zoo_sigterm && _zoo_verdict "$d"
		if [ "$ZOO_RESULT" = PASS ]; then
			pass "$t"
		else
			fail "$t" "the program after the failed snapshot: $ZOO_WHY"
		fi
	fi
	_zoo_cleanup
}

# --- --auto-dedup: pages saved again are punched out of the pre-dumps; a ----
# restorable set (a dump) is left whole, and every set restores.
pd_kib() { du -k "$1"/pages-*.img | awk '{ s += $1 } END { print s + 0 }'; }

test_dedup() {
	local d pid before after
	d=$(scratch_dir)
	pd_start_predump "$T/dedup" mem-dirty-random "$d" || return
	pid=$ZOO_PID
	mkdir -p "$d/i2" "$d/i3"
	before=$(pd_kib "$d/i1")
	sleep 0.3
	pd_run "$T/dedup" "$d/d2" dump -R -t "$pid" -D "$d/i2" --track-mem --prev-images-dir ../i1 \
		--auto-dedup -o dump.log -v4 || { _zoo_cleanup; return; }
	after=$(pd_kib "$d/i1")
	if [ "$after" -lt "$before" ]; then
		pass "$T/dedup/punched"
	else
		fail "$T/dedup/punched" "i1's pages use $after KiB after the dedup, $before before"
	fi
	before=$(pd_kib "$d/i2")
	sleep 0.3
	# No tracking is held any more: i3 saves everything again; i2 (restorable) is kept.
	pd_run "$T/dedup" "$d/d3" dump -t "$pid" -D "$d/i3" --track-mem --prev-images-dir ../i2 \
		--auto-dedup -o dump.log -v4 || { _zoo_cleanup; return; }
	after=$(pd_kib "$d/i2")
	if [ "$after" = "$before" ]; then
		pass "$T/dedup/restorable-kept"
	else
		fail "$T/dedup/restorable-kept" "the dump i2 went from $before to $after KiB"
	fi
	pd_restore_verdict "$T/dedup/restore-i3" "$d" "$d/i3"
	if [ "$ZOO_RESULT" = PASS ]; then
		kill -KILL "$_zoo_restored"
		_zoo_wait_gone "$_zoo_restored" "$ZOO_KILL_TIMEOUT"
		ZOO_PID=$_zoo_restored
		pd_restore_verdict "$T/dedup/restore-i2" "$d" "$d/i2"
	fi
	_zoo_cleanup
}

test_untracked none "tracking disabled by STASIS_TRACK_WITH=none"
if "$STASIS" check --feature soft_dirty >/dev/null 2>&1; then
	test_chain mem-dirty-random soft-dirty
	test_chain mem-dirty-maps soft-dirty
	test_chain anon-mem soft-dirty
	test_cancel soft-dirty
	test_iterative soft-dirty
else
	skip "$T/chain-soft-dirty" \
		"the kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY; stasis check)"
	test_untracked soft-dirty "soft-dirty forced by STASIS_TRACK_WITH, and the kernel has no"
	# The soft-dirty plumbing (frozen scan, clear_refs, the holder of fd-less
	# entries, the final dump's scan) with bits that never come up here: right
	# only for a program that writes nothing between rounds, as anon-mem.
	test_chain anon-mem soft-dirty-unchecked
	test_cancel soft-dirty-unchecked
fi

if ! "$STASIS" check --feature uffd_wp_async >/dev/null 2>&1 ||
	! "$STASIS" check --feature pagemap_scan >/dev/null 2>&1; then
	skip "$T" "the kernel lacks userfaultfd WP_ASYNC or PAGEMAP_SCAN (stasis check)"
	exit 0
fi
test_shmem
test_chain mem-dirty-random
test_chain mem-dirty-maps
test_chain anon-mem
test_cancel
test_holder_exit
test_iterative
test_refuse_uffd
test_snapshot
test_snapshot_changes
test_snapshot_drops
test_snapshot_shmem
test_snapshot_fork
test_dedup
