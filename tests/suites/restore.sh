#!/usr/bin/env bash
# stasis restore (docs/restore.md) of images made by CRIU 4.2
# (../shared/fixtures/criu-4.2, see its README.md):
#   counter/*  restore with -d and --pidfile; the program checks its own
#              memory on SIGUSR1 and SIGTERM; its mappings, fds, cwd and the
#              stats file are compared with the images
#   wait/*     restore without -d: stasis waits and exits with the task's
#              status, which is 1 when a byte of its memory was changed in
#              the images (so the memory check can fail)
#   fail/*     refusals and failures say why and leave no process behind
# The fixture's pid is 21002: the suite skips if another process has it.
source "$(dirname "$0")/../lib.sh"

T=restore
PID=21002
FIX=$FIXTURES/images/counter
ROOT=/tmp/stasis-fixtures
REPORT=$ROOT/counter.report
WORK=$(scratch_dir)

# The process restored while it is ours: its pid, and its start time to tell it apart.
OURS_PID= OURS_START=

starttime() { # PID: field 22 of /proc/PID/stat (after the command name)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}

wait_gone() { # PID [TENTHS]: until /proc/PID is gone (a dead task keeps it until reaped)
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.1
	done
	return 1
}

claim() { # [PID]: after a restore that said it succeeded, the task at PID is ours
	OURS_PID=${1:-$PID}
	OURS_START=$(starttime "$OURS_PID")
}

kill_ours() {
	if [ -n "$OURS_START" ] && [ "$(starttime "$OURS_PID")" = "$OURS_START" ]; then
		kill -KILL "$OURS_PID" 2>/dev/null
		wait_gone "$OURS_PID"
	fi
	OURS_PID= OURS_START=
}
trap 'kill_ours; rm -rf "$_SUITE_TMP"' EXIT

report_lines() { [ -f "$REPORT" ] && wc -l <"$REPORT" || echo 0; }

# Wait until REPORT has more than N lines; print the last one.
wait_report() { # N
	local i
	for ((i = 0; i < 50; i++)); do
		if [ "$(report_lines)" -gt "$1" ]; then
			tail -n 1 "$REPORT"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

copy_images() { # NAME: a fresh copy of the fixture's images (restore may write into it)
	rm -rf "$WORK/$1"
	cp -r "$FIX" "$WORK/$1"
	echo "$WORK/$1"
}

if [ -e /proc/$PID ]; then
	skip "$T" "pid $PID is in use by '$(cat /proc/$PID/comm 2>/dev/null)', not started by this suite"
	exit 0
fi
if [ ! -d "$FIX" ]; then
	fail "$T" "no fixture at $FIX"
	exit 0
fi

# The images name these absolute paths (the fixture's README). A binary in use
# by another restore cannot be overwritten (ETXTBSY): copy only what differs.
mkdir -p "$ROOT/bin"
for f in "$FIXTURES"/bin/* "$FIXTURES/data.txt"; do
	dst=$ROOT/$(basename "$f")
	[ "$(basename "$(dirname "$f")")" = bin ] && dst=$ROOT/bin/$(basename "$f")
	cmp -s "$f" "$dst" || cp "$f" "$dst"
done

# --- counter: restore detached ------------------------------------------------

DIR=$(copy_images counter)
before=$(report_lines)
if ! "$STASIS" restore -D "$DIR" -d --pidfile "$DIR/restored.pid" -o restore.log -v4 \
	>"$DIR/out" 2>&1; then
	fail "$T/counter/restore" "exit status $?: $(head -c 600 "$DIR/out")"
elif claim && [ "$(cat "$DIR/restored.pid" 2>/dev/null)" != $PID ]; then
	fail "$T/counter/restore" "pid file says '$(cat "$DIR/restored.pid" 2>/dev/null)'"
elif [ "$(readlink /proc/$PID/exe)" != "$ROOT/bin/counter" ]; then
	fail "$T/counter/restore" "pid $PID runs '$(readlink /proc/$PID/exe)'"
else
	pass "$T/counter/restore"
fi

if [ -n "$OURS_START" ]; then
	# Mappings: start-end, permissions and names as in the image (vvar may come in
	# pieces on newer kernels: [vvar] and [vvar_vclock] are one VMA in the image).
	if out=$(python3 - "$FIXTURES/images/counter/crit-json" /proc/$PID/maps <<'PY' 2>&1
import json, sys
cj, maps = sys.argv[1], sys.argv[2]
mm = json.load(open(cj + "/mm-21002.img.pretty.json"))["entries"][0]
files = {f["id"]: f["reg"]["name"] for f in json.load(open(cj + "/files.img.pretty.json"))["entries"]}
stack = int(mm["mm_start_stack"], 16)
want = []
for v in mm["vmas"]:
    s, e, st, prot = int(v["start"], 16), int(v["end"], 16), v["status"], v["prot"]
    perms = "".join(c if "PROT_" + n in prot else "-" for c, n in (("r", "READ"), ("w", "WRITE"), ("x", "EXEC")))
    perms += "s" if "MAP_SHARED" in v["flags"] else "p"
    if "VMA_AREA_VDSO" in st: name = "[vdso]"
    elif "VMA_AREA_VVAR" in st: name = "[vvar]"
    elif "VMA_AREA_VSYSCALL" in st: name = "[vsyscall]"
    elif "VMA_FILE" in st: name = files[v["shmid"]]
    elif "VMA_AREA_HEAP" in st: name = "[heap]"
    elif s <= stack < e: name = "[stack]"
    else: name = ""
    want.append((s, e, perms, name))
have = []
for line in open(maps):
    f = line.split(None, 5)
    s, e = (int(x, 16) for x in f[0].split("-"))
    name = f[5].strip() if len(f) > 5 else ""
    if name == "[vvar_vclock]" and have and have[-1][3] == "[vvar]" and have[-1][1] == s:
        have[-1] = (have[-1][0], e, have[-1][2], "[vvar]")
        continue
    have.append((s, e, f[1], name))
fmt = lambda v: "%x-%x %s %s" % v
if want != have:
    print("image:  " + " | ".join(map(fmt, want)))
    print("/proc:  " + " | ".join(map(fmt, have)))
    sys.exit(1)
PY
	); then
		pass "$T/counter/maps"
	else
		fail "$T/counter/maps" "$out"
	fi

	# fds 0-2 on /dev/null and nothing else (no fd of stasis leaked), cwd, umask.
	fds=$(cd /proc/$PID/fd && for f in *; do echo "$f:$(readlink "$f")"; done | tr '\n' ' ')
	umask=$(awk '/^Umask:/ {print $2}' /proc/$PID/status)
	if [ "$fds" != "0:/dev/null 1:/dev/null 2:/dev/null " ]; then
		fail "$T/counter/files" "fds: $fds"
	elif [ "$(readlink /proc/$PID/cwd)" != /tmp ] || [ "$umask" != 0022 ]; then
		fail "$T/counter/files" "cwd $(readlink /proc/$PID/cwd), umask $umask"
	else
		pass "$T/counter/files"
	fi

	# The userfaultfd that filled its anonymous memory is gone: no VMA is still registered
	# (VmFlags um/uw/ui: missing, write-protect, minor); its fd was checked just above.
	uffd=$(grep -E '^VmFlags:.* (um|uw|ui)( |$)' /proc/$PID/smaps)
	if [ -n "$uffd" ]; then
		fail "$T/counter/no-userfaultfd" "VMAs still registered: $uffd"
	else
		pass "$T/counter/no-userfaultfd"
	fi

	# The program's own check of its 4 MiB buffer, twice, while it counts on.
	kill -USR1 $PID
	l1=$(wait_report "$before")
	kill -USR1 $PID
	l2=$(wait_report "$((before + 1))")
	n1=${l1#count=}; n1=${n1%% *}
	n2=${l2#count=}; n2=${n2%% *}
	if [[ "$l1" != count=*" sum=ok" || "$l2" != count=*" sum=ok" ]]; then
		fail "$T/counter/sigusr1" "report lines '$l1', '$l2'"
	elif ! [ "$n2" -gt "$n1" ] 2>/dev/null; then
		fail "$T/counter/sigusr1" "the count does not grow: '$l1', '$l2'"
	else
		pass "$T/counter/sigusr1"
	fi

	# stats-restore, as CRIU writes it.
	stats=$("$STASIS" image decode -i "$DIR/stats-restore" 2>&1)
	pages=$(echo "$stats" | grep -o '"pages_restored": *[0-9]*' | grep -o '[0-9]*$')
	if ! echo "$stats" | grep -q '"restore_time"' || ! [ "${pages:-0}" -gt 1000 ]; then
		fail "$T/counter/stats" "stats-restore: $stats"
	else
		pass "$T/counter/stats"
	fi

	# SIGTERM: a last report, then the program exits by itself.
	n=$(report_lines)
	kill -TERM $PID
	last=$(wait_report "$n")
	if ! wait_gone $PID; then
		fail "$T/counter/sigterm" "still running after SIGTERM"
	elif [[ "$last" != count=*" sum=ok" ]]; then
		fail "$T/counter/sigterm" "last report line '$last'"
	else
		OURS_START=
		pass "$T/counter/sigterm"
	fi
	kill_ours
fi

# --- creds, limits: what the controller cannot give, and what it gives up ---

# The image's credentials changed to uid/gid 1000, groups 1000 and 24, no
# capabilities: the task must come back with them (creds.c).
DIR=$(copy_images creds)
"$STASIS" image decode -i "$DIR/core-21002.img" -o "$DIR/core.json" &&
	python3 - "$DIR/core.json" <<'PY' &&
import json, sys
d = json.load(open(sys.argv[1]))
cr = d["entries"][0]["thread_core"]["creds"]
for k in ("uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid"):
    cr[k] = 1000
cr["cap_eff"] = cr["cap_prm"] = [0, 0]
cr["groups"] = [1000, 24]
json.dump(d, open(sys.argv[1], "w"))
PY
	"$STASIS" image encode -i "$DIR/core.json" -o "$DIR/core-21002.img" ||
	fail "$T/creds" "could not edit core-21002.img"
if ! "$STASIS" restore -D "$DIR" -d -o restore.log -v4 >"$DIR/out" 2>&1; then
	fail "$T/creds" "exit status $?: $(head -c 600 "$DIR/out")"
else
	claim
	st=$(grep -E '^(Uid|Gid|Groups|CapEff):' /proc/$PID/status | tr -s '\t ' ' ' | tr '\n' '|')
	if [ "$st" != "Uid: 1000 1000 1000 1000|Gid: 1000 1000 1000 1000|Groups: 24 1000 |CapEff: 0000000000000000|" ]; then
		fail "$T/creds" "$st"
	else
		pass "$T/creds"
	fi
fi
kill_ours

# A hard limit above the caller's cannot be raised without CAP_SYS_RESOURCE:
# the task keeps the caller's (RLIMIT_CORE 0 here, unlimited in the image),
# with a warning, and runs.
DIR=$(copy_images rlimit)
if ! prlimit --core=0:0 -- "$STASIS" restore -D "$DIR" -d -o restore.log >"$DIR/out" 2>&1; then
	fail "$T/rlimit-kept" "exit status $?: $(head -c 600 "$DIR/out")"
else
	claim
	core=$(grep '^Max core file size' /proc/$PID/limits | tr -s ' ')
	n=$(report_lines)
	kill -USR1 $PID
	last=$(wait_report "$n")
	if ! grep -q "RLIMIT_CORE: the hard limit 18446744073709551615 is above this one's 0" "$DIR/out"; then
		fail "$T/rlimit-kept" "no warning: $(head -c 600 "$DIR/out")"
	elif [ "$core" != "Max core file size 0 0 bytes " ]; then
		fail "$T/rlimit-kept" "limits: '$core'"
	elif [[ "$last" != *"sum=ok" ]]; then
		fail "$T/rlimit-kept" "report '$last'"
	else
		pass "$T/rlimit-kept"
	fi
fi
kill_ours

# --- the vDSO moved through a free place -------------------------------------

# Under `setarch -R` the new task's vDSO block sits at a known address; the
# image's vvar and vDSO are moved one page above it, so that the old and the
# new places overlap and mremap() cannot go straight (vdso.c). The image's
# copy of the vDSO pages goes with its pagemap entry. The program does not
# call into the vDSO, so it runs on.
block=$(setarch -R cat /proc/self/maps | awk '$6 == "[vvar]" {split($1, a, "-"); print a[1]; exit}')
DIR=$(copy_images vdso-overlap)
if [ -z "$block" ]; then
	skip "$T/vdso-overlap" "no [vvar] in the maps of this kernel"
elif ! "$STASIS" image decode -i "$DIR/mm-21002.img" -o "$DIR/mm.json" ||
	! "$STASIS" image decode -i "$DIR/pagemap-21002.img" -o "$DIR/pm.json" ||
	! python3 - "$DIR" "$block" <<'PY' ||
import json, sys
d, block = sys.argv[1], int(sys.argv[2], 16) + 4096
mm = json.load(open(d + "/mm.json"))
vmas = mm["entries"][0]["vmas"]
vvar = next(v for v in vmas if v["status"] & (1 << 12))
vdso = next(v for v in vmas if v["status"] & (1 << 3))
old_vdso = vdso["start"]
gap = vdso["start"] - vvar["start"]
for v, start in ((vvar, block), (vdso, block + gap)):
    v["end"], v["start"] = start + v["end"] - v["start"], start
vmas.sort(key=lambda v: v["start"])
json.dump(mm, open(d + "/mm.json", "w"))
pm = json.load(open(d + "/pm.json"))
off = 0
for i, e in enumerate(pm["entries"][1:], 1):
    if e["vaddr"] == old_vdso:
        pages = open(d + "/pages-1.img", "rb").read()
        size = e["nr_pages"] * 4096
        open(d + "/pages-1.img", "wb").write(pages[:off] + pages[off + size:])
        del pm["entries"][i]
        break
    if e["flags"] & 4:
        off += e["nr_pages"] * 4096
else:
    sys.exit("no pagemap entry for the vDSO")
json.dump(pm, open(d + "/pm.json", "w"))
PY
	! "$STASIS" image encode -i "$DIR/mm.json" -o "$DIR/mm-21002.img" ||
	! "$STASIS" image encode -i "$DIR/pm.json" -o "$DIR/pagemap-21002.img"; then
	fail "$T/vdso-overlap" "could not edit the images"
elif ! setarch -R "$STASIS" restore -D "$DIR" -d -o restore.log -v4 >"$DIR/out" 2>&1; then
	fail "$T/vdso-overlap" "exit status $?: $(head -c 600 "$DIR/out")"
else
	claim
	have=$(awk '$6 ~ /^\[(vvar|vvar_vclock|vdso)\]$/ {printf "%s %s|", $1, $6}' /proc/$PID/maps)
	n=$(report_lines)
	kill -USR1 $PID
	last=$(wait_report "$n")
	want_vdso=$(printf '%x' $((0x$block + 4096 + 0x6000)))
	if [[ "$have" != *"-$want_vdso [vvar_vclock]|$want_vdso-"*" [vdso]|" ]]; then
		fail "$T/vdso-overlap" "maps: $have (vdso expected at $want_vdso)"
	elif [[ "$last" != *"sum=ok" ]]; then
		fail "$T/vdso-overlap" "report '$last'"
	else
		pass "$T/vdso-overlap"
	fi
fi
kill_ours

# --- wait: restore without -d ---------------------------------------------

# Restore in the background; print stasis's exit status once the task ended.
restore_and_wait() { # DIR: SIGTERM the task once it runs
	local dir=$1 i
	"$STASIS" restore -D "$dir" --pidfile "$dir/restored.pid" -o restore.log -v4 \
		>"$dir/out" 2>&1 &
	local job=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/restored.pid" ] && break
		kill -0 $job 2>/dev/null || break
		sleep 0.1
	done
	if [ -s "$dir/restored.pid" ]; then
		claim
		sleep 0.2
		kill -TERM $PID
	fi
	# stasis exits when the task does; give both 10 s.
	for ((i = 0; i < 100; i++)); do
		kill -0 $job 2>/dev/null || break
		sleep 0.1
	done
	kill_ours
	wait $job
	echo $?
}

DIR=$(copy_images wait-ok)
n=$(report_lines)
status=$(restore_and_wait "$DIR")
last=$(tail -n 1 "$REPORT" 2>/dev/null)
if [ "$status" != 0 ]; then
	fail "$T/wait/exit-status" "stasis exited $status: $(head -c 600 "$DIR/out")"
elif [ "$(report_lines)" -le "$n" ] || [[ "$last" != *"sum=ok" ]]; then
	fail "$T/wait/exit-status" "last report line '$last'"
else
	pass "$T/wait/exit-status"
fi

# One byte of the 4 MiB buffer changed in pages-1.img (its 11th page; the
# buffer starts at the 5th page of the file): the program must see it.
DIR=$(copy_images wait-bad)
printf '\x5a' | dd of="$DIR/pages-1.img" bs=1 seek=$((14 * 4096 + 100)) conv=notrunc status=none
n=$(report_lines)
status=$(restore_and_wait "$DIR")
last=$(tail -n 1 "$REPORT" 2>/dev/null)
if [ "$status" != 1 ]; then
	fail "$T/wait/changed-memory" "stasis exited $status, the program's status 1 was expected: $(head -c 600 "$DIR/out")"
elif [[ "$last" != *"sum=bad" ]]; then
	fail "$T/wait/changed-memory" "last report line '$last'"
else
	pass "$T/wait/changed-memory"
fi

# --- fail: refused or failed restores leave nothing behind --------------------

# expect_failure NAME DIR PATTERN PID: stasis fails, says PATTERN, and no task has PID.
expect_failure() {
	local name=$1 dir=$2 pattern=$3 pid=$4 rc=0
	"$STASIS" restore -D "$dir" -d -o restore.log -v4 >"$dir/out" 2>&1 || rc=$?
	if [ $rc = 0 ]; then
		claim "$pid"
		kill_ours
		fail "$T/fail/$name" "restore succeeded"
	elif ! grep -q -- "$pattern" "$dir/out"; then
		fail "$T/fail/$name" "no '$pattern' in: $(head -c 600 "$dir/out")"
	elif [ -e "/proc/$pid" ]; then
		fail "$T/fail/$name" "a process with pid $pid is left: $(cat /proc/$pid/status | head -3 | tr '\n' ' ')"
	else
		pass "$T/fail/$name"
	fi
}

# A truncated pages file is found before anything is created.
DIR=$(copy_images truncated)
truncate -s $((100 * 4096)) "$DIR/pages-1.img"
expect_failure truncated-pages "$DIR" "pages-1.img has only" $PID

# Pages outside every VMA are found once the task exists: it must be killed and reaped.
DIR=$(copy_images bad-pagemap)
# (0x56210ebd2000, the first extent, moved to 0x1000000: the order stays valid.)
"$STASIS" image decode -i "$DIR/pagemap-21002.img" -o "$DIR/pm.json" &&
	sed -i 's/"vaddr": 94699981185024,/"vaddr": 16777216,/' "$DIR/pm.json" &&
	grep -q '"vaddr": 16777216,' "$DIR/pm.json" &&
	"$STASIS" image encode -i "$DIR/pm.json" -o "$DIR/pagemap-21002.img" ||
	fail "$T/fail/pages-outside-vmas" "could not edit the pagemap"
expect_failure pages-outside-vmas "$DIR" "pages at 1000000 are not in any private VMA" $PID

# A file that changed since the dump (the fixture's binary, grown by a byte).
DIR=$(copy_images changed-file)
cp "$ROOT/bin/counter" "$WORK/counter-grown" && echo >>"$WORK/counter-grown"
"$STASIS" image decode -i "$DIR/files.img" -o "$DIR/files.json" &&
	sed -i "s|\"$ROOT/bin/counter\"|\"$WORK/counter-grown\"|" "$DIR/files.json" &&
	grep -q counter-grown "$DIR/files.json" &&
	"$STASIS" image encode -i "$DIR/files.json" -o "$DIR/files.img" ||
	fail "$T/fail/changed-file" "could not edit files.img"
expect_failure changed-file "$DIR" "counter-grown has changed since the dump" $PID

# The pid in use by a restored task: the second restore fails, the first runs on.
DIR=$(copy_images first)
if "$STASIS" restore -D "$DIR" -d -o restore.log >"$DIR/out" 2>&1; then
	claim
	first=$OURS_START
	DIR2=$(copy_images second)
	if "$STASIS" restore -D "$DIR2" -d -o restore.log >"$DIR2/out" 2>&1; then
		fail "$T/fail/pid-in-use" "the second restore succeeded"
	elif ! grep -q "pid is in use by 'counter'" "$DIR2/out"; then
		fail "$T/fail/pid-in-use" "$(head -c 600 "$DIR2/out")"
	elif [ "$(starttime $PID)" != "$first" ]; then
		fail "$T/fail/pid-in-use" "the first restored task is gone"
	else
		pass "$T/fail/pid-in-use"
	fi
	kill_ours
else
	fail "$T/fail/pid-in-use" "the first restore failed: $(head -c 600 "$DIR/out")"
fi

# --- pipes and threads: trees and threads made by CRIU 4.2 --------------------
# pipes: a parent and its child joined by a pipe holding 23 unread bytes, both
# holding data.txt open at offset 7 (one description); threads: four threads
# each advancing a counter. Restored with their pids and thread ids; SIGTERM
# to the root makes the program check its state and append PASS or FAIL.
restore_fixture() { # NAME ROOT_PID "PID:TIDS..." WANT
	local name=$1 pid=$2 tasks=$3 want=$4 dir=$WORK/$1-fx report=$ROOT/$1.report got t
	if [ -e /proc/$pid ]; then
		skip "$T/$name" "pid $pid is in use"
		return
	fi
	rm -rf "$dir" && cp -r "$FIXTURES/images/$name" "$dir"
	rm -f "$report"
	if ! "$STASIS" restore -D "$dir" -d -o restore.log -v4 >"$dir/out" 2>&1; then
		fail "$T/$name/restore" "$(head -c 600 "$dir/out")"
		return
	fi
	claim $pid
	got=
	for t in $tasks; do
		got+="${t%%:*}($(awk '{print $4}' /proc/${t%%:*}/stat 2>/dev/null)):"
		got+="$(ls /proc/${t%%:*}/task 2>/dev/null | sort -n | tr '\n' ',') "
	done
	if [ "$got" != "$want" ]; then
		fail "$T/$name/restore" "pid(ppid):threads are '$got', not '$want'"
	else
		pass "$T/$name/restore"
	fi
	kill -TERM $pid
	wait_gone $pid 50
	case $(cat "$report" 2>/dev/null) in
	PASS*) pass "$T/$name/report" ;;
	*) fail "$T/$name/report" "the program reported '$(cat "$report" 2>/dev/null)'" ;;
	esac
	kill_ours
}
restore_fixture pipes 21102 "21102 21103" "21102(1):21102, 21103(21102):21103, "
restore_fixture threads 21202 21202 "21202(1):21202,21203,21204,21205,21206, "
