#!/bin/bash
# stasis dump from the outside: a failed or refused dump leaves the task as it
# was; -R leaves it running, the default kills it; what it writes decodes with
# Debian's crit and means what /proc said. See docs/testing.md ("dump suite").
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$SRC/tests/zoo/harness.sh"

: "${DUMP_TIMEOUT:=5}"
# Debian's python: it has pycriu, the library behind /usr/bin/crit.
PY=/usr/bin/python3
CRIT=/usr/bin/crit

# The programs every part of the suite runs: a counter, signal state,
# registers held across the dump, patterned memory, open files, pipes with
# data queued (a failed dump must leave it there: it is copied with tee).
dt_fpu() {
	if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo; then
		echo fpu-avx512
	else
		echo fpu-avx
	fi
}
PROGRAMS=(counter signals "$(dt_fpu)" anon-mem regfile pipe pipe-ends seccomp threads)
# Dumped with -R and checked (images, crit), but not failed at every step.
FD_PROGRAMS=(fd-eventfd fd-timerfd fd-signalfd fd-epoll fd-inotify fd-fanotify fd-fown fd-unix fd-inet fd-fifo fd-fifo-ghost fd-paths fd-ghost fd-pty fd-memfd mem-memfd mem-deleted)

# What the suite started, killed at exit: the harness's program, and the
# tracer and the plain command started outside its cycle.
_zoo_wrapper='' _zoo_restored='' _zoo_restored_start='' _zoo_dir=''
DT_TRACER=''
DT_SPAWN_WRAPPER=''
dt_cleanup_all() {
	dt_stop_tracer
	dt_spawn_stop
	_zoo_cleanup
}
trap 'dt_cleanup_all; rm -rf "$_SUITE_TMP"' EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Running stasis and zoo programs

# dt_dump FAIL_STEP OUT ARGS...: stasis dump ARGS under the time limit, with
# STASIS_FAIL_STEP=FAIL_STEP (none if empty); stdout/stderr in OUT.out/.err,
# the status in DT_RC.
dt_dump() {
	local step=$1 out=$2
	shift 2
	# (The outer redirection silences bash's notice of a crash: DT_RC says it.)
	{ timeout -k 5 "$DUMP_TIMEOUT" env -u STASIS_FAIL_STEP ${step:+STASIS_FAIL_STEP=$step} \
		"$STASIS" dump "$@" >"$out.out" 2>"$out.err"; } 2>/dev/null
	DT_RC=$?
}

# What went wrong with the last dt_dump.
dt_rc_text() { # OUT
	case $DT_RC in
	124 | 137) echo "hung: killed after ${DUMP_TIMEOUT}s" ;;
	*) echo "$(_zoo_status_text "$DT_RC"): $(dt_last_err "$1")" ;;
	esac
}

dt_last_err() { # OUT
	grep -v '^[[:space:]]*$' "$1.err" 2>/dev/null | tail -1
}

# Start a zoo program (or tool) with the harness: own session, fds 0-2 only.
# Its requirements are asked once per program. Sets ZOO_PID, or ZOO_RESULT.
declare -A DT_REQ
dt_start() { # NAME DIR [STASIS_ZOO_FAMILY]
	local bin=$ZOO_BIN/$1 r
	ZOO_RESULT='' ZOO_STEP='' ZOO_WHY='' ZOO_STATUS='' ZOO_PID='' ZOO_PIDS=()
	_zoo_wrapper='' _zoo_restored='' _zoo_restored_start='' _zoo_dir=$2
	mkdir -p "$2"
	if [ ! -x "$bin" ]; then
		_zoo_set FAIL build "$bin is not built (tests/zoo/meson.build)"
		return 1
	fi
	if [ -z "${DT_REQ[$1]:-}" ]; then
		if _zoo_requirements "$bin" "$2"; then
			DT_REQ[$1]=ok
		else
			DT_REQ[$1]="$ZOO_RESULT $ZOO_STEP $ZOO_WHY"
		fi
	fi
	if [ "${DT_REQ[$1]}" != ok ]; then
		read -r r ZOO_STEP ZOO_WHY <<<"${DT_REQ[$1]}"
		ZOO_RESULT=$r
		return 1
	fi
	export STASIS_ZOO_FAMILY=${3:-}
	_zoo_start "$bin" "$2"
	r=$?
	unset STASIS_ZOO_FAMILY
	return $r
}

# SIGTERM, the program's own verdict, and nothing of it left running.
dt_finish() {
	[ -n "$ZOO_PID" ] && _zoo_sigterm && _zoo_verdict "$_zoo_dir"
	_zoo_cleanup
}

# One line: the suite's own finding (WHY) first, else the program's verdict.
dt_result() { # NAME WHY [CONTEXT_FILE]
	if [ -n "$2" ]; then
		if [ -n "$ZOO_RESULT" ] && [ "$ZOO_RESULT" != PASS ]; then
			fail "$1" "$2 (and the program: ${ZOO_STEP:+at step $ZOO_STEP: }$ZOO_WHY)"
		else
			fail "$1" "$2"
		fi
		dt_context "${3:-}"
	elif [ "$ZOO_RESULT" = PASS ]; then
		pass "$1"
	elif [ "$ZOO_RESULT" = SKIP ]; then
		skip "$1" "$ZOO_WHY"
	else
		fail "$1" "at step $ZOO_STEP: $ZOO_WHY"
		dt_context "${3:-}"
	fi
}

# After a failure, stasis's stderr and the end of its log, indented.
dt_context() { # OUT (OUT.err, and the log in the images directory next to it)
	local log
	[ -n "$1" ] || return 0
	if [ -s "$1.err" ]; then
		echo "  stderr:"
		tail -n 4 "$1.err" | sed 's/^/    /'
	fi
	log=$(dirname "$1")/images/dump.log
	if [ -s "$log" ]; then
		echo "  dump.log:"
		"$STASIS" log decode "$log" 2>&1 | tail -n 6 | sed 's/^/    /'
	fi
	if [ -s "$_zoo_dir/program.log" ]; then
		echo "  program.log:"
		tail -n 3 "$_zoo_dir/program.log" | sed 's/^/    /'
	fi
}

# ---------------------------------------------------------------------------
# The task before and after

dt_state() { # PID: the state letter of /proc/PID/stat
	local stat
	IFS= read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	echo "${stat%% *}"
}

# What a dump must not change (maps, signal state, fds), and what the image
# checks compare the images with.
dt_snapshot() { # PID PREFIX
	local pid=$1 p=$2 fd
	cat "/proc/$pid/maps" >"$p.maps" 2>/dev/null || return 1
	grep -E '^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|NoNewPrivs|Seccomp):' \
		"/proc/$pid/status" >"$p.sig" 2>/dev/null || return 1
	for fd in $(ls "/proc/$pid/fd" 2>/dev/null | sort -n); do
		printf '%s -> %s | ' "$fd" "$(readlink "/proc/$pid/fd/$fd")"
		grep -E '^(pos|flags|mnt_id|ino|eventfd-count|eventfd-semaphore|sigmask|clockid|tty-index):' \
			"/proc/$pid/fdinfo/$fd" | tr '\n' ' '
		echo
	done >"$p.fds"
	cat "/proc/$pid/stat" >"$p.stat" && cat "/proc/$pid/status" >"$p.status" &&
		cat "/proc/$pid/comm" >"$p.comm" && cat "/proc/$pid/auxv" >"$p.auxv" &&
		readlink "/proc/$pid/exe" >"$p.exe" && readlink "/proc/$pid/cwd" >"$p.cwd" &&
		readlink "/proc/$pid/root" >"$p.root" && ls "/proc/$pid/task" | sort -n >"$p.tids"
}

# Is PID running as before the dump? Prints why not.
dt_left_alone() { # PID BEFORE [TRACER_PID]
	local pid=$1 before=$2 tracer=${3:-0} state i what t
	if ! _zoo_running "$pid"; then
		echo "the process is gone"
		return 1
	fi
	# A detached task runs at once; give a loaded machine a moment.
	for ((i = 0; i < 20; i++)); do
		state=$(dt_state "$pid")
		case $state in t | T) sleep 0.05 ;; *) break ;; esac
	done
	case $state in t | T)
		echo "the process is left stopped (state $state)"
		return 1
		;;
	esac
	t=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")
	if [ "$t" != "$tracer" ]; then
		echo "TracerPid is $t, not $tracer"
		return 1
	fi
	if ! dt_snapshot "$pid" "$before.after"; then
		echo "cannot read /proc/$pid"
		return 1
	fi
	for what in maps sig fds; do
		cmp -s "$before.$what" "$before.after.$what" && continue
		echo "/proc/$pid/$(dt_what "$what") changed:" \
			"$(diff "$before.$what" "$before.after.$what" | grep '^[<>]' | head -4 | tr '\n\t' '  ')"
		return 1
	done
}

dt_what() { # SNAPSHOT_PART: the /proc file it comes from
	case $1 in sig) echo status ;; fds) echo fd ;; *) echo "$1" ;; esac
}

# A dump that succeeded reports no error: one line for it.
dt_quiet_line() { # NAME OUT
	if [ "$DT_RC" != 0 ]; then
		fail "$1" "the dump failed"
	elif grep -q 'Error' "$2.err"; then
		fail "$1" "a dump that succeeded printed: $(grep -m1 'Error' "$2.err")"
	else
		pass "$1"
	fi
}

# A refused dump: a status that says so (not a crash, not a timeout) and
# stderr matching each extended regular expression.
dt_refused() { # OUT ERE...
	local out=$1 re
	shift
	case $DT_RC in
	0) echo "stasis dump succeeded" && return 1 ;;
	124 | 137) echo "stasis dump hung: killed after ${DUMP_TIMEOUT}s" && return 1 ;;
	esac
	if ((DT_RC > 128)); then
		echo "stasis dump $(_zoo_status_text "$DT_RC")"
		return 1
	fi
	for re in "$@"; do
		if ! grep -qE -- "$re" "$out.err"; then
			echo "stderr does not match /$re/: '$(head -c 300 "$out.err" | tr '\n' ' ')'"
			return 1
		fi
	done
}

# ---------------------------------------------------------------------------
# The image checks (python: Debian's, for pycriu)

DT_PY=$(
	cat <<'EOF'
import base64, json, mmap, os, struct, subprocess, sys

STASIS = os.environ["STASIS"]
PAGE = 4096
O_CLOEXEC = 0o2000000


class Bad(Exception):
    pass


def bad(msg):
    raise Bad(msg)


def num(v):
    return int(v, 0) if isinstance(v, str) else v


def words(v):
    """'PROT_READ | PROT_EXEC' -> set; a bare number (0x0) -> its bits as hex."""
    if isinstance(v, int) or v.startswith("0x"):
        return set() if num(v) == 0 else {hex(num(v))}
    return set(v.split(" | ")) if v else set()


def decode(path, pretty=True):
    args = [STASIS, "image", "decode", "-i", path] + (["--pretty"] if pretty else [])
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode:
        bad(f"stasis image decode {os.path.basename(path)}: {r.stderr.strip()[-200:]}")
    return json.loads(r.stdout)


def entries(path):
    return decode(path)["entries"]


def read_maps(path):
    vmas = []
    for line in open(path):
        f = line.split(None, 5)
        start, end = (int(x, 16) for x in f[0].split("-"))
        name = f[5].strip() if len(f) > 5 else ""
        v = dict(start=start, end=end, perms=f[1], off=int(f[2], 16), name=name)
        # CRIU 4.2 keeps [vvar] and [vvar_vclock] as one VMA_AREA_VVAR (the
        # fixture's counter: one 6-page vvar, as /proc shows 4 + 2 pages).
        if name == "[vvar_vclock]" and vmas and vmas[-1]["name"] == "[vvar]" \
                and vmas[-1]["end"] == start:
            vmas[-1]["end"] = end
            continue
        vmas.append(v)
    return vmas


def read_stat(path):
    s = open(path).read()
    # fields[0] is field 3 of proc(5)
    return s[s.rindex(")") + 2:].split()


def stat_field(fields, n):
    return int(fields[n - 3])


def read_status(path):
    st = {}
    for line in open(path):
        k, _, v = line.partition(":")
        st[k] = v.strip()
    return st


def snap_text(snap, what):
    return open(f"{snap}.{what}").read().rstrip("\n")


def files_by_id(d):
    return {num(e["id"]): e for e in entries(f"{d}/files.img")}


def reg_name(files, fid, what):
    e = files.get(fid)
    if not e or "reg" not in e:
        bad(f"{what}: file id {fid} is not a regular file entry of files.img")
    return e["reg"]["name"]


def memfd_name(d, files, fid, what):
    """The /proc name of the memfd of MEMFD entry fid: its inode's name in memfd.img."""
    e = files.get(fid, {}).get("memfd")
    if not e:
        bad(f"{what}: file id {fid} is not a MEMFD entry of files.img")
    for i in entries(f"{d}/memfd.img"):
        if num(i["inode_id"]) == num(e["inode_id"]):
            return f"/memfd:{i['name']} (deleted)"
    bad(f"{what}: memfd inode {num(e['inode_id'])} is not in memfd.img")


def check_mm(d, pid, snap):
    mm = entries(f"{d}/mm-{pid}.img")[0]
    files = files_by_id(d)
    maps = read_maps(f"{snap}.maps")
    vmas = mm.get("vmas", [])
    for i, (m, v) in enumerate(zip(maps, vmas)):
        where = f"VMA {m['start']:x}-{m['end']:x} {m['perms']} {m['name']}"
        if (num(v["start"]), num(v["end"])) != (m["start"], m["end"]):
            bad(f"{where}: mm-{pid}.img has {num(v['start']):x}-{num(v['end']):x} there")
        prot = {p for c, p in zip("rwx", ("PROT_READ", "PROT_WRITE", "PROT_EXEC"))
                if c in m["perms"][:3]}
        if words(v["prot"]) != prot:
            bad(f"{where}: prot {v['prot']}")
        flags, status, name = words(v["flags"]), words(v["status"]), m["name"]
        shared = m["perms"][3] == "s"
        if ("MAP_SHARED" if shared else "MAP_PRIVATE") not in flags:
            bad(f"{where}: flags {v['flags']}")
        if name.startswith("/"):
            kind = "VMA_FILE_SHARED" if shared else "VMA_FILE_PRIVATE"
            if kind not in status or "MAP_ANON" in flags:
                bad(f"{where}: flags {v['flags']}, status {v['status']} (a file mapping)")
            memfd = name.startswith("/memfd:")
            if memfd != ("VMA_AREA_MEMFD" in status):
                bad(f"{where}: status {v['status']}")
            if memfd:
                got = memfd_name(d, files, num(v.get("shmid", 0)), where)
            else:
                got = reg_name(files, num(v.get("shmid", 0)), where)
                if name.endswith(DELETED):  # a ghost file: a GHOST remap of its REG entry
                    got += DELETED if ghost_of(d, num(v.get("shmid", 0))) else ""
            if got != name:
                bad(f"{where}: shmid names {got}")
            if num(v.get("pgoff", 0)) != m["off"]:
                bad(f"{where}: pgoff {num(v.get('pgoff', 0)):#x}, maps says {m['off']:#x}")
        else:
            kind = "VMA_ANON_SHARED" if shared else "VMA_ANON_PRIVATE"
            if kind not in status or "MAP_ANON" not in flags:
                bad(f"{where}: flags {v['flags']}, status {v['status']} (anonymous)")
        for special, bit in (("[heap]", "VMA_AREA_HEAP"), ("[vdso]", "VMA_AREA_VDSO"),
                             ("[vvar]", "VMA_AREA_VVAR"), ("[vsyscall]", "VMA_AREA_VSYSCALL")):
            if (name == special) != (bit in status):
                bad(f"{where}: status {v['status']}")
        # As CRIU: the vsyscall page is listed but is not a regular area.
        if ("VMA_AREA_REGULAR" in status) == (name == "[vsyscall]"):
            bad(f"{where}: status {v['status']}")
        if (name == "[stack]") != ("MAP_GROWSDOWN" in flags):
            bad(f"{where}: flags {v['flags']}")
    if len(vmas) != len(maps):
        bad(f"mm-{pid}.img has {len(vmas)} VMAs, /proc/{pid}/maps {len(maps)}")

    st = read_stat(f"{snap}.stat")
    for key, field in (("mm_start_code", 26), ("mm_end_code", 27), ("mm_start_stack", 28),
                       ("mm_start_data", 45), ("mm_end_data", 46), ("mm_start_brk", 47),
                       ("mm_arg_start", 48), ("mm_arg_end", 49), ("mm_env_start", 50),
                       ("mm_env_end", 51)):
        if num(mm.get(key, 0)) != stat_field(st, field):
            bad(f"{key} is {num(mm.get(key, 0)):#x}, /proc/{pid}/stat field {field} "
                f"{stat_field(st, field):#x}")
    brk, start_brk = num(mm.get("mm_brk", 0)), num(mm.get("mm_start_brk", 0))
    heap = [m for m in maps if m["name"] == "[heap]"]
    if heap and (heap[0]["start"] != start_brk or heap[0]["end"] != (brk + PAGE - 1) // PAGE * PAGE):
        bad(f"mm_start_brk {start_brk:#x}, mm_brk {brk:#x}, but [heap] is "
            f"{heap[0]['start']:#x}-{heap[0]['end']:#x}")
    if not heap and brk != start_brk:
        bad(f"mm_brk {brk:#x} differs from mm_start_brk {start_brk:#x} with no [heap]")
    exe = reg_name(files, num(mm.get("exe_file_id", 0)), "exe_file_id")
    if exe != snap_text(snap, "exe"):
        bad(f"exe_file_id names {exe}, /proc/{pid}/exe is {snap_text(snap, 'exe')}")
    raw = open(f"{snap}.auxv", "rb").read()
    auxv = list(struct.unpack(f"{len(raw) // 8}Q", raw[: len(raw) // 8 * 8]))
    saved = [num(x) for x in mm.get("mm_saved_auxv", [])]
    while auxv and auxv[-1] == 0:
        auxv.pop()
    while saved and saved[-1] == 0:
        saved.pop()
    if saved != auxv:
        bad(f"mm_saved_auxv ({len(saved)} words) differs from /proc/{pid}/auxv ({len(auxv)})")


def pagemap_words(pid, start, end):
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(start // PAGE * 8)
        raw = f.read((end - start) // PAGE * 8)
    return struct.unpack(f"{len(raw) // 8}Q", raw)


def vma_of(maps, addr):
    for m in maps:
        if m["start"] <= addr < m["end"]:
            return m
    return None


def check_pages(d, pid, snap, live, content):
    pm = entries(f"{d}/pagemap-{pid}.img")
    if not pm or "pages_id" not in pm[0]:
        bad(f"pagemap-{pid}.img does not start with its pages_id")
    img = f"{d}/pages-{num(pm[0]['pages_id'])}.img"
    ents = [(num(e["vaddr"]), num(e["nr_pages"]), e) for e in pm[1:]]
    total = sum(n for _, n, _ in ents)
    size = os.path.getsize(img)
    if size != total * PAGE:
        bad(f"{os.path.basename(img)} has {size} bytes, pagemap says {total} pages "
            f"({total * PAGE} bytes)")
    maps = read_maps(f"{snap}.maps")
    dumped, end = set(), 0
    for va, n, e in ents:
        if va % PAGE or n <= 0 or va < end:
            bad(f"pagemap entry {va:#x} ({n} pages) is unaligned, empty or out of order")
        end = va + n * PAGE
        if "PE_PRESENT" not in words(e.get("flags", "0x0")):
            bad(f"pagemap entry {va:#x} is not PE_PRESENT in a dump without a parent")
        for a in range(va, end, PAGE):
            m = vma_of(maps, a)
            if not m or m["name"] in ("[vvar]", "[vsyscall]"):
                bad(f"page {a:#x} of the pagemap is in {m['name'] if m else 'no VMA'}")
            dumped.add(a)
    if not live:
        return
    # What CRIU's should_dump_page() selects: present or swapped pages that
    # are not the zero page, and of private file mappings only the copied
    # (anonymous) ones; the whole vDSO; never vvar; nothing of shared
    # mappings (their object's content is saved apart: shmem, memfd, file).
    zpfn = zero_page_pfn()
    want = set()
    for m in maps:
        if m["name"] in ("[vvar]", "[vsyscall]"):
            continue
        if m["name"] == "[vdso]":
            want.update(range(m["start"], m["end"], PAGE))
            continue
        if m["perms"][3] == "s":
            continue
        for i, w in enumerate(pagemap_words(pid, m["start"], m["end"])):
            present, swapped, filepage = w >> 63 & 1, w >> 62 & 1, w >> 61 & 1
            if not (present or swapped):
                continue
            if present and w & ((1 << 55) - 1) == zpfn:
                continue
            if m["name"].startswith("/") and m["perms"][3] == "p" and filepage:
                continue
            want.add(m["start"] + i * PAGE)
    for a in sorted(want - dumped)[:1]:
        bad(f"page {a:#x} ({vma_of(maps, a)['name'] or 'anonymous'}) holds data "
            f"but is not in the pagemap ({len(want - dumped)} such pages)")
    for a in sorted(dumped - want)[:1]:
        bad(f"page {a:#x} ({vma_of(maps, a)['name'] or 'anonymous'}) is dumped but not "
            f"present, or a page-cache page ({len(dumped - want)} such pages)")
    if not content:
        return
    # The bytes, against the live task (its memory does not change while it
    # waits; the stack does: nanosleep writes its remaining time there).
    # The kernel writes the rseq area (cpu_id ...) whenever the task runs:
    # those bytes are not compared.
    rs = entries(f"{d}/core-{pid}.img")[0].get("thread_core", {}).get("rseq_entry", {})
    rseq = (num(rs.get("rseq_abi_pointer", 0)), num(rs.get("rseq_abi_size", 0)))

    def masked(a, page):
        lo, hi = max(rseq[0], a), min(rseq[0] + rseq[1], a + PAGE)
        if lo >= hi:
            return page
        return page[:lo - a] + bytes(hi - lo) + page[hi - a:]

    with open(img, "rb") as f, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for va, n, _ in ents:
            data = f.read(n * PAGE)
            for i in range(n):
                a = va + i * PAGE
                if vma_of(maps, a)["name"] == "[stack]":
                    continue
                mem.seek(a)
                if masked(a, mem.read(PAGE)) != masked(a, data[i * PAGE:(i + 1) * PAGE]):
                    bad(f"page {a:#x} ({vma_of(maps, a)['name'] or 'anonymous'}) differs "
                        f"between {os.path.basename(img)} and the live memory")


def zero_page_pfn():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    addr = libc.mmap(None, PAGE, mmap.PROT_READ, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    ctypes.c_char.from_address(addr).value  # a read fault maps the zero page
    (w,) = pagemap_words("self", addr, addr + PAGE)
    return w & ((1 << 55) - 1)


def check_core(d, pid, snap):
    st = read_stat(f"{snap}.stat")
    status = read_status(f"{snap}.status")
    ps = entries(f"{d}/pstree.img")
    if len(ps) != 1:
        bad(f"pstree.img has {len(ps)} entries, not 1")
    p = ps[0]
    got = (num(p["pid"]), num(p.get("ppid", 0)), num(p.get("pgid", 0)), num(p.get("sid", 0)),
           sorted(num(t) for t in p.get("threads", [])))
    tids = sorted(int(t) for t in snap_text(snap, "tids").split())
    want = (pid, 0, stat_field(st, 5), stat_field(st, 6), tids)
    if got != want:
        bad(f"pstree (pid, ppid, pgid, sid, threads) is {got}, /proc says {want}")
    core = entries(f"{d}/core-{pid}.img")[0]
    tc, th = core.get("tc", {}), core.get("thread_core", {})
    comm = snap_text(snap, "comm")
    if core.get("mtype") != "X86_64" or tc.get("comm") != comm or th.get("comm") != comm:
        bad(f"core mtype {core.get('mtype')}, comm {tc.get('comm')}/{th.get('comm')}, "
            f"/proc says {comm}")
    if tc.get("task_state") != "Alive":
        bad(f"core task_state {tc.get('task_state')}")
    blk = int(status["SigBlk"], 16)
    if num(tc.get("blk_sigset", 0)) != blk or num(th.get("blk_sigset", 0)) != blk:
        bad(f"blk_sigset {num(tc.get('blk_sigset', 0)):#x}/{num(th.get('blk_sigset', 0)):#x}, "
            f"SigBlk {blk:#x}")
    ign, cgt = int(status["SigIgn"], 16), int(status["SigCgt"], 16)
    acts = tc.get("sigactions", [])
    sigs = [s for s in range(1, 65) if s not in (9, 19)]  # CRIU skips SIGKILL, SIGSTOP
    if len(acts) != len(sigs):
        bad(f"{len(acts)} sigactions, CRIU writes {len(sigs)}")
    for s, a in zip(sigs, acts):
        h, bit = num(a["sigaction"]), 1 << (s - 1)
        ok = h == 1 if ign & bit else h > 1 if cgt & bit else h == 0
        if not ok:
            bad(f"signal {s}: handler {h:#x}, but SigIgn {ign:#x} SigCgt {cgt:#x}")
    cr = th.get("creds", {})
    uids, gids = [int(x) for x in status["Uid"].split()], [int(x) for x in status["Gid"].split()]
    got = [num(cr.get(k, 0)) for k in ("uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid")]
    if got != uids + gids:
        bad(f"creds uids/gids {got}, /proc says {uids + gids}")
    for key, line in (("cap_inh", "CapInh"), ("cap_prm", "CapPrm"), ("cap_eff", "CapEff"),
                      ("cap_bnd", "CapBnd"), ("cap_amb", "CapAmb")):
        v = int(status[line], 16)
        if [num(x) for x in cr.get(key, [])] != [v & 0xFFFFFFFF, v >> 32]:
            bad(f"creds {key} {cr.get(key)}, {line} {v:#x}")


DELETED = " (deleted)"


def ghost_of(d, fid):
    """The GHOST remaps of file fid in remap-fpath.img."""
    if not os.path.exists(f"{d}/remap-fpath.img"):
        return []
    return [r for r in entries(f"{d}/remap-fpath.img")
            if num(r["orig_id"]) == fid and r.get("remap_type") == "GHOST"]


def check_ghost(d, fd, reg):
    """A file deleted while open: a GHOST remap of its REG entry, its content in the ghost."""
    remaps = [r for r in entries(f"{d}/remap-fpath.img") if num(r["orig_id"]) == num(reg["id"])]
    if len(remaps) != 1 or remaps[0].get("remap_type") != "GHOST":
        bad(f"fd {fd}: deleted, but remap-fpath.img has {remaps} for file {num(reg['id'])}")
        return
    g = decode(f"{d}/ghost-file-{num(remaps[0]['remap_id']):x}.img", pretty=False)["entries"][0]
    n = len(base64.b64decode(g.get("extra", "")))
    # (a FIFO's REG entry has no size; its ghost has no content)
    size = num(reg.get("size", 0))
    if num(g["mode"]) != num(reg["mode"]) or not num(g.get("size", -1)) == size == n:
        bad(f"fd {fd}: ghost mode {num(g['mode']):o} size {g.get('size')} with {n} bytes, "
            f"the REG entry says mode {num(reg['mode']):o} size {size}")


def check_fds(d, pid, snap):
    live = {}
    for line in open(f"{snap}.fds"):
        head, _, info = line.partition(" | ")
        fd, _, target = head.partition(" -> ")
        kv = dict(zip(info.split()[0::2], info.split()[1::2]))
        live[int(fd)] = (target, int(kv.get("pos:", 0)), int(kv.get("flags:", "0"), 8), kv)
    ids = entries(f"{d}/ids-{pid}.img")[0]
    # Plain decode: --pretty spells the open flags out (O_LARGEFILE | O_WRONLY).
    fdinfo = decode(f"{d}/fdinfo-{num(ids['files_id'])}.img", pretty=False)["entries"]
    files = {e["id"]: e for e in decode(f"{d}/files.img", pretty=False)["entries"]}
    dumped = {num(e["fd"]): e for e in fdinfo}
    if sorted(dumped) != sorted(live):
        bad(f"fdinfo has fds {sorted(dumped)}, /proc/{pid}/fd {sorted(live)}")
    for fd, e in sorted(dumped.items()):
        target, pos, flags, kv = live[fd]
        f = files.get(num(e["id"]))
        if f and f.get("type") == "PIPE" and "pipe" in f:
            check_pipe_fd(fd, e, f["pipe"], target, flags)
            continue
        if target in ANON_KINDS:
            check_anon_fd(fd, e, f, target, flags, kv)
            continue
        if (f or {}).get("type") == "FIFO":
            check_fifo_fd(d, fd, e, f, target, flags, files, kv)
            continue
        if (f or {}).get("type") == "TTY":
            check_tty_fd(d, fd, e, f, target, flags, kv)
            continue
        if (f or {}).get("type") == "MEMFD":
            check_memfd_fd(d, pid, fd, e, f, target, pos, flags)
            continue
        if target.startswith("socket:") and (f or {}).get("type") == "INETSK":
            check_inet_fd(fd, e, f, target, flags)
            continue
        if target.startswith("socket:"):
            check_unix_fd(fd, e, f, target, flags, files)
            continue
        if not f or f.get("type") != "REG" or "reg" not in f:
            bad(f"fd {fd}: file id {num(e['id'])} is not a REG entry of files.img")
        reg = f["reg"]
        if target.endswith(DELETED):
            target = target[:-len(DELETED)]
            check_ghost(d, fd, reg)
        got = (reg["name"], num(reg.get("pos", 0)), num(reg.get("flags", 0)),
               num(e.get("flags", 0)))
        want = (target, pos, flags & ~O_CLOEXEC, 1 if flags & O_CLOEXEC else 0)
        if got != want:
            bad(f"fd {fd}: (name, pos, flags, fd flags) is {got}, /proc says {want}")
    check_pipes_data(d, files)
    fs = entries(f"{d}/fs-{pid}.img")[0]
    cwd = reg_name(files, num(fs.get("cwd_id", 0)), "cwd_id")
    root = reg_name(files, num(fs.get("root_id", 0)), "root_id")
    umask = int(read_status(f"{snap}.status")["Umask"], 8)
    if (cwd, root, num(fs.get("umask", -1))) != (snap_text(snap, "cwd"), snap_text(snap, "root"), umask):
        bad(f"fs (cwd, root, umask) is {(cwd, root, num(fs.get('umask', -1)))}, /proc says "
            f"{(snap_text(snap, 'cwd'), snap_text(snap, 'root'), umask)}")


def check_memfd_fd(d, pid, fd, e, f, target, pos, flags):
    """A memfd: flags and position, its inode in memfd.img by name and size, its content in
    pagemap-shmem-SHMID.img."""
    mfe = f.get("memfd", {})
    inodes = {num(i["inode_id"]): i for i in entries(f"{d}/memfd.img")}
    ino = inodes.get(num(mfe.get("inode_id", -1)))
    got = (e.get("type"), num(mfe.get("pos", 0)), num(mfe.get("flags", 0)), num(e.get("flags", 0)))
    want = ("MEMFD", pos, flags & ~O_CLOEXEC, 1 if flags & O_CLOEXEC else 0)
    if got != want or not ino:
        bad(f"fd {fd} ({target}): (fd type, pos, flags, fd flags) is {got}, /proc says {want}"
            f"{'' if ino else ', and memfd.img lacks its inode'}")
        return
    name = target[len("/memfd:"):-len(DELETED)] if target.endswith(DELETED) else None
    size = os.stat(f"/proc/{pid}/fd/{fd}").st_size
    if (ino["name"], num(ino["size"])) != (name, size):
        bad(f"fd {fd} ({target}): memfd.img says name {ino['name']!r} size {num(ino['size'])}, "
            f"/proc says {name!r} size {size}")
    if size and not os.path.exists(f"{d}/pagemap-shmem-{num(ino['shmid'])}.img"):
        bad(f"fd {fd} ({target}): no pagemap-shmem-{num(ino['shmid'])}.img for its content")


def check_tty_fd(d, fd, e, f, target, flags, kv):
    """A pty end: its terminal in tty-info.img, CRIU's id (index * 2, + 1 for the master)."""
    tfe = f.get("tty", {})
    infos = {num(i["id"]): i for i in entries(f"{d}/tty-info.img")}
    tid = num(tfe.get("tty_info_id", -1))
    if target == "/dev/ptmx":
        index, master = int(kv.get("tty-index:", -1)), 1
    else:
        index, master = int(target.rpartition("/")[2]), 0
    got = (tid, num(tfe.get("flags", 0)), num(e.get("flags", 0)))
    want = (index * 2 + master, flags & ~O_CLOEXEC, 1 if flags & O_CLOEXEC else 0)
    if got != want or tid not in infos:
        bad(f"fd {fd} ({target}): (tty id, flags, fd flags) is {got}, /proc says {want}"
            f"{'' if tid in infos else ', and tty-info.img lacks it'}")


def check_unix_fd(fd, e, f, target, flags, files):
    """A unix socket: its inode, flags, and a peer that files.img holds too."""
    usk = (f or {}).get("usk")
    if not usk or f.get("type") != "UNIXSK" or e.get("type") != "UNIXSK":
        bad(f"fd {fd} ({target}): file id {num(e['id'])} is not a UNIXSK entry")
        return
    got = (f"socket:[{num(usk['ino'])}]", num(usk.get("flags", 0)), num(e.get("flags", 0)))
    want = (target, flags & ~O_CLOEXEC, 1 if flags & O_CLOEXEC else 0)
    if got != want:
        bad(f"fd {fd}: (socket, flags, fd flags) is {got}, /proc says {want}")
    peer = num(usk.get("peer", 0))
    if peer and not any(num(o.get("usk", {}).get("ino", -1)) == peer for o in files.values()):
        bad(f"fd {fd} ({target}): its peer socket:[{peer}] is not in files.img")


def check_fifo_fd(d, fd, e, f, target, flags, files, kv):
    """A FIFO: its REG entry holds the path and flags, pipe_id is its inode, fifo-data.img
    has its data once."""
    fifo = f.get("fifo", {})
    reg = files.get(num(fifo.get("regf_id", -1)), {}).get("reg")
    if e.get("type") != "FIFO" or not reg:
        bad(f"fd {fd} ({target}): not a FIFO entry with the REG entry of its path")
        return
    if target.endswith(DELETED):
        target = target[:-len(DELETED)]
        check_ghost(d, fd, reg)
    got = (reg["name"], num(fifo["pipe_id"]), num(reg.get("flags", 0)), num(e.get("flags", 0)))
    want = (target, int(kv.get("ino:", "-1")), flags & ~O_CLOEXEC, 1 if flags & O_CLOEXEC else 0)
    if got != want:
        bad(f"fd {fd}: (path, pipe_id, flags, fd flags) is {got}, /proc says {want}")
    data = [x for x in decode(f"{d}/fifo-data.img", pretty=False)["entries"]
            if num(x["pipe_id"]) == got[1]]
    if len(data) != 1:
        bad(f"fd {fd}: fifo-data.img has {len(data)} entries for FIFO {got[1]}, not 1")


def check_inet_fd(fd, e, f, target, flags):
    """An internet socket: its inode, flags, and a family, type and state stasis dumps."""
    isk = f.get("isk")
    if not isk or e.get("type") != "INETSK":
        bad(f"fd {fd} ({target}): file id {num(e['id'])} is not an INETSK entry")
        return
    got = (f"socket:[{num(isk['ino'])}]", num(isk.get("flags", 0)), num(e.get("flags", 0)))
    want = (target, flags & ~O_CLOEXEC, 1 if flags & O_CLOEXEC else 0)
    if got != want:
        bad(f"fd {fd}: (socket, flags, fd flags) is {got}, /proc says {want}")
    # AF_INET(6); SOCK_STREAM with TCP, SOCK_DGRAM with UDP; ESTABLISHED (UDP), CLOSE, LISTEN.
    kind = tuple(num(isk.get(k, -1)) for k in ("family", "type", "proto", "state"))
    if kind[0] not in (2, 10) or kind[1:3] not in ((1, 6), (2, 17)) or \
            kind[3] not in (1, 7, 10) or (kind[3] == 1 and kind[1] != 2):
        bad(f"fd {fd} ({target}): (family, type, proto, state) is {kind}")


def check_pipe_fd(fd, e, pipe, target, flags):
    got = (e.get("type"), f"pipe:[{num(pipe['pipe_id'])}]", num(pipe.get("flags", 0)),
           num(e.get("flags", 0)))
    want = ("PIPE", target, flags & ~O_CLOEXEC, 1 if flags & O_CLOEXEC else 0)
    if got != want:
        bad(f"fd {fd}: (fd type, pipe, flags, fd flags) is {got}, /proc says {want}")


# /proc/PID/fd's name of a kind -> (its fd type, its field in a FileEntry).
ANON_KINDS = {
    "anon_inode:[eventfd]": ("EVENTFD", "efd"),
    "anon_inode:[timerfd]": ("TIMERFD", "tfd"),
    "anon_inode:[signalfd]": ("SIGNALFD", "sgfd"),
    "anon_inode:[eventpoll]": ("EVENTPOLL", "epfd"),
    "anon_inode:inotify": ("INOTIFY", "ify"),
    "anon_inode:[fanotify]": ("FANOTIFY", "ffy"),
}


def check_anon_fd(fd, e, f, target, flags, kv):
    """The entry of its kind, its flags (EFD_SEMAPHORE in bit 0 of an eventfd's), and what
    fdinfo says of its state: the counter, the signal mask, the clock."""
    kind, field = ANON_KINDS[target]
    if not f or f.get("type") != kind or field not in f or e.get("type") != kind:
        bad(f"fd {fd} ({target}): not a {kind} entry in fdinfo and files.img")
        return
    x = f[field]
    sem = 1 if kv.get("eventfd-semaphore:") == "1" else 0
    got = (num(x.get("flags", 0)), num(e.get("flags", 0)))
    want = (flags & ~O_CLOEXEC | sem, 1 if flags & O_CLOEXEC else 0)
    if got != want:
        bad(f"fd {fd} ({target}): (flags, fd flags) is {got}, /proc says {want}")
    state = {"EVENTFD": ("counter", "eventfd-count:", 16), "SIGNALFD": ("sigmask", "sigmask:", 16),
             "TIMERFD": ("clockid", "clockid:", 10)}.get(kind)
    if state and num(x.get(state[0], -1)) != int(kv.get(state[1], "-1"), state[2]):
        bad(f"fd {fd} ({target}): {state[0]} is {x.get(state[0])}, fdinfo says {kv.get(state[1])}")


def check_pipes_data(d, files):
    """pipes-data.img: one entry per pipe, with its buffer size, as CRIU writes it."""
    pipes = sorted({num(f["pipe"]["pipe_id"]) for f in files.values() if f.get("type") == "PIPE"})
    if not pipes:
        return
    data = decode(f"{d}/pipes-data.img", pretty=False)["entries"]
    if sorted(num(x["pipe_id"]) for x in data) != pipes:
        bad(f"pipes-data.img has pipes {[num(x['pipe_id']) for x in data]}, files.img {pipes}")
    for x in data:
        n = len(base64.b64decode(x.get("extra", "")))
        if num(x.get("size", 0)) < PAGE or n != num(x["bytes"]):
            bad(f"pipes-data.img: pipe {num(x['pipe_id'])}: size {x.get('size')}, "
                f"{num(x['bytes'])} bytes announced, {n} follow")


def check_stats(d, pid):
    s = entries(f"{d}/stats-dump")[0].get("dump")
    if s is None:
        bad("stats-dump has no dump entry")
    missing = [k for k in ("freezing_time", "frozen_time", "memdump_time", "pages_scanned",
                           "pages_written") if k not in s]
    if missing:
        bad(f"stats-dump lacks {', '.join(missing)}")
    total = sum(num(e["nr_pages"]) for e in entries(f"{d}/pagemap-{pid}.img")[1:])
    if not 0 < num(s["pages_written"]) == total <= num(s["pages_scanned"]):
        bad(f"pages_written {s['pages_written']}, pages in the pagemap {total}, "
            f"pages_scanned {s['pages_scanned']}")
    if num(s["memdump_time"]) > num(s["frozen_time"]):
        bad(f"memdump_time {s['memdump_time']} > frozen_time {s['frozen_time']}")


def check_lazy(d):
    # CRIU counts pages_lazy only with --lazy-pages (pages not written then).
    s = entries(f"{d}/stats-dump")[0]["dump"]
    if num(s.get("pages_lazy", 0)) != 0:
        bad(f"pages_lazy is {s['pages_lazy']} in a dump without --lazy-pages "
            f"(CRIU: 0; its pages are all counted in pages_written)")


def crit_compare(d):
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import pycriu
    names = sorted(f for f in os.listdir(d)
                   if (f.endswith(".img") and not f.startswith("pages-")) or f == "stats-dump")
    if not names:
        bad("no images")
    for name in names:
        try:
            with open(f"{d}/{name}", "rb") as f:
                theirs = json.loads(json.dumps(pycriu.images.load(f)))
        except Exception as e:
            bad(f"crit cannot decode {name}: {type(e).__name__}: {e}")
        ours = decode(f"{d}/{name}", pretty=False)
        where = diff(theirs, ours, name)
        if where:
            bad(f"crit and stasis image decode differ: {where}")


def diff(a, b, path):
    """Where crit's JSON differs from ours, but for what crit 3.17 cannot know:
    fields CRIU added since (only in ours), and pagemap's nr_pages, which
    crit 3.17 reads from the field that is now compat_nr_pages."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                return f"{path}.{k} only in crit's"
            if k == "nr_pages" and "compat_nr_pages" in b:
                if a[k] != b["compat_nr_pages"]:
                    return f"{path}.nr_pages {a[k]} vs compat_nr_pages {b['compat_nr_pages']}"
                continue
            w = diff(a[k], b[k], f"{path}.{k}")
            if w:
                return w
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            w = diff(x, y, f"{path}[{i}]")
            if w:
                return w
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:60]} vs {json.dumps(b)[:60]}"


def check_regs(d, pid, syscall_line, restart):
    nr, *args = syscall_line.split()
    sp, pc = int(args[-2], 16), int(args[-1], 16)
    g = entries(f"{d}/core-{pid}.img")[0]["thread_info"]["gpregs"]
    ip, rsp, ax, orig = (num(g[k]) for k in ("ip", "sp", "ax", "orig_ax"))
    if orig != int(nr) or rsp != sp or ip not in (pc, pc - 2):
        bad(f"core has orig_ax {orig}, sp {rsp:#x}, ip {ip:#x}; /proc/{pid}/syscall said "
            f"{nr}, sp {sp:#x}, pc {pc:#x}")
    if restart:
        # CRIU (compel's get_task_regs): -ERESTARTSYS/NOINTR/NOHAND restart the
        # call (ax = orig_ax, ip back over the syscall insn); -ERESTART_RESTARTBLOCK
        # becomes -EINTR. No -ERESTART* code reaches an image.
        want_ip, want_ax = (pc, -4 & (2**64 - 1)) if restart == "eintr" else (pc - 2, int(nr))
        if (ip, ax) != (want_ip, want_ax):
            bad(f"core has ip {ip:#x} ax {ax:#x} ({ax - 2**64 if ax >> 63 else ax}); CRIU "
                f"writes ip {want_ip:#x} ax {want_ax:#x} for a task caught in syscall {nr} "
                f"(pc {pc:#x})")


def main():
    what, args = sys.argv[1], sys.argv[2:]
    try:
        if what == "mm":
            check_mm(args[0], int(args[1]), args[2])
        elif what == "pages":
            check_pages(args[0], int(args[1]), args[2], args[3] != "dead", args[3] == "content")
        elif what == "core":
            check_core(args[0], int(args[1]), args[2])
        elif what == "fds":
            check_fds(args[0], int(args[1]), args[2])
        elif what == "stats":
            check_stats(args[0], int(args[1]))
        elif what == "lazy":
            check_lazy(args[0])
        elif what == "crit":
            crit_compare(args[0])
        elif what == "regs":
            check_regs(args[0], int(args[1]), args[2], args[3] if len(args) > 3 else "")
        else:
            bad(f"unknown check {what}")
    except Bad as e:
        print(e)
        sys.exit(1)
    except Exception as e:
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)


main()
EOF
)

# The checks read images, not tasks: a time limit of their own.
: "${CHECK_TIMEOUT:=60}"

dt_py() { # CHECK ARGS... → prints why on failure
	timeout -k 5 "$CHECK_TIMEOUT" "$PY" -c "$DT_PY" "$@" 2>&1
}

# `stasis image x` and `crit x` on the same directory: the same text.
dt_x() { # DIR PID
	local x out
	for x in ps fds mems; do
		if ! out=$(timeout -k 5 "$CHECK_TIMEOUT" "$STASIS" image x "$1" "$x" 2>&1); then
			echo "stasis image x $x failed: ${out##*$'\n'}"
			return 1
		fi
		if [ "$x" = ps ] && ! grep -qE "^ +$2 " <<<"$out"; then
			echo "stasis image x ps does not list pid $2"
			return 1
		fi
		[ -x "$CRIT" ] || continue
		if ! diff -q <(timeout -k 5 "$CHECK_TIMEOUT" "$CRIT" x "$1" "$x" 2>&1) - <<<"$out" >/dev/null; then
			echo "crit x $x and stasis image x $x differ"
			return 1
		fi
	done
}

# The checks of one dump's images. LIVE: the task still runs as it was
# dumped ("content": and its memory holds still), or "dead".
dt_image_checks() { # LABEL OK DIR PID SNAP LIVE
	local label=$1 ok=$2 d=$3 pid=$4 snap=$5 live=$6 why check
	local -a checks=(crit x mm core fds pages stats)
	for check in "${checks[@]}"; do
		if [ "$ok" != yes ]; then
			fail "$label/$check" "no images to check: the dump failed"
			continue
		fi
		case $check in
		crit)
			if [ ! -x "$CRIT" ] || ! "$PY" -c 'import sys; sys.path.insert(0, "/usr/lib/python3/dist-packages"); import pycriu' 2>/dev/null; then
				skip "$label/$check" "Debian's crit (package criu) is not installed"
				continue
			fi
			why=$(dt_py crit "$d") ;;
		x) why=$(dt_x "$d" "$pid") ;;
		pages) why=$(dt_py pages "$d" "$pid" "$snap" "$live") ;;
		stats) why=$(dt_py stats "$d" "$pid") ;;
		*) why=$(dt_py "$check" "$d" "$pid" "$snap") ;;
		esac
		if [ -z "$why" ]; then pass "$label/$check"; else fail "$label/$check" "$why"; fi
	done
}

# ---------------------------------------------------------------------------
# 1. Fault injection: a dump failing at any step leaves the task as it was

STEP_NAMES=()

# How many steps are there? Fail at N = 1, 2 ... until the dump succeeds
# (with -R: the task goes on). One counter goes through all of them: the
# failures must not add up either.
dt_discover_steps() {
	local dir n name why=
	dir=$(scratch_dir)
	if ! dt_start counter "$dir"; then
		dt_result dump/fault/steps ""
		_zoo_cleanup
		return 1
	fi
	dt_snapshot "$ZOO_PID" "$dir/before"
	for ((n = 1; n <= 64; n++)); do
		mkdir -p "$dir/img$n"
		dt_dump "$n" "$dir/dump$n" -R -t "$ZOO_PID" -D "$dir/img$n"
		name=$(sed -n "s/.*failing at step $n (\([^)]*\)).*/\1/p" "$dir/dump$n.err" | head -1)
		if [ "$DT_RC" = 0 ] && [ -z "$name" ]; then
			break
		fi
		if [ -z "$name" ] || [ "$DT_RC" = 0 ]; then
			why="STASIS_FAIL_STEP=$n: status $DT_RC and stderr '$(dt_last_err "$dir/dump$n")'"
			break
		fi
		STEP_NAMES+=("$name")
		if ! _zoo_running "$ZOO_PID"; then
			why="the program died at STASIS_FAIL_STEP=$n ($name)"
			break
		fi
	done
	((n > 64)) && why="STASIS_FAIL_STEP=64 still fails"
	[ -n "$why" ] || [ ${#STEP_NAMES[@]} -gt 0 ] || why="no step could be failed"
	[ -n "$why" ] || why=$(dt_left_alone "$ZOO_PID" "$dir/before")
	dt_finish
	dt_result dump/fault/steps "$why" "$dir/dump$n"
	echo "  ${#STEP_NAMES[@]} steps: ${STEP_NAMES[*]}"
	[ -z "$why" ]
}

dt_fault() { # PROGRAM STEP NAME
	local prog=$1 n=$2 name=$3 dir why=
	dir=$(scratch_dir)
	if ! dt_start "$prog" "$dir"; then
		dt_result "dump/fault/$prog/$n-$name" ""
		_zoo_cleanup
		return
	fi
	dt_snapshot "$ZOO_PID" "$dir/before"
	mkdir -p "$dir/images"
	dt_dump "$n" "$dir/dump" -t "$ZOO_PID" -D "$dir/images" -o dump.log -v4
	why=$(dt_refused "$dir/dump" "failing at step $n \\($name\\)") &&
		why=$(dt_left_alone "$ZOO_PID" "$dir/before")
	dt_finish
	dt_result "dump/fault/$prog/$n-$name" "$why" "$dir/dump"
}

# ---------------------------------------------------------------------------
# 2. Refusals for a real reason: a clear message, the task left as it was

# dt_refusal LABEL PROGRAM FAMILY TARGET ERE...: start PROGRAM (with
# STASIS_ZOO_FAMILY=FAMILY) and dump TARGET: "self" (the program), "child"
# (its child), "traced" (the program, traced by zoo-tracer first). Each ERE
# must match stderr; @PID@ stands for the pid dumped, @TRACER@ the tracer's.
dt_refusal() {
	local label=$1 prog=$2 family=$3 target=$4 dir why="" pid tracer=0 re
	local -a res=()
	shift 4
	dir=$(scratch_dir)
	if ! dt_start "$prog" "$dir" "$family"; then
		dt_result "dump/refuse/$label" ""
		_zoo_cleanup
		return
	fi
	pid=$ZOO_PID
	local dump_pid='' root_tracer=0
	case $target in
	child) read -r pid _ <"/proc/$ZOO_PID/task/$ZOO_PID/children" ;;
	tree-child) # the refusal names the child, the dump is of the whole tree
		read -r pid _ <"/proc/$ZOO_PID/task/$ZOO_PID/children"
		dump_pid=$ZOO_PID ;;
	grandchild) # the refusal names it, the dump is of the whole tree
		# (read fails at the end of a line without a newline, as these files are)
		read -r pid _ <"/proc/$ZOO_PID/task/$ZOO_PID/children"
		read -r pid _ <"/proc/$pid/task/$pid/children"
		dump_pid=$ZOO_PID ;;
	traced-child) # the whole tree is dumped; someone else traces the child
		read -r pid _ <"/proc/$ZOO_PID/task/$ZOO_PID/children"
		dt_start_tracer "$pid" "$dir" >"$dir/tracer.why" || why=$(<"$dir/tracer.why")
		tracer=$DT_TRACER dump_pid=$ZOO_PID ;;
	traced)
		# Not in $(...): the tracer is a child of this shell, and dies with its parent.
		dt_start_tracer "$ZOO_PID" "$dir" >"$dir/tracer.why" || why=$(<"$dir/tracer.why")
		tracer=$DT_TRACER root_tracer=$DT_TRACER ;;
	esac
	for re in "$@"; do
		re=${re//@PID@/$pid}
		res+=("${re//@TRACER@/$tracer}")
	done
	if [ -z "$why" ]; then
		# The program is what must be left alone (a zombie child cannot run).
		dt_snapshot "$ZOO_PID" "$dir/before"
		mkdir -p "$dir/images"
		dt_dump "" "$dir/dump" -t "${dump_pid:-$pid}" -D "$dir/images" -o dump.log -v4
		why=$(dt_refused "$dir/dump" "${res[@]}") &&
			why=$(dt_left_alone "$ZOO_PID" "$dir/before" "$root_tracer")
	fi
	if [ -n "$DT_TRACER" ]; then
		dt_stop_tracer
		# Once the tracer is gone, nobody traces it: stasis did not either.
		[ -n "$why" ] || why=$(dt_wait_untraced "$ZOO_PID")
	fi
	dt_finish
	dt_result "dump/refuse/$label" "$why" "$dir/dump"
}

dt_start_tracer() { # PID DIR
	local i
	"$ZOO_BIN/zoo-tracer" "$1" "$2/tracer.ready" </dev/null >"$2/tracer.log" 2>&1 &
	DT_TRACER=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$2/tracer.ready" ] && return 0
		kill -0 "$DT_TRACER" 2>/dev/null || break
		sleep 0.05
	done
	echo "zoo-tracer did not start: $(cat "$2/tracer.log")"
	return 1
}

dt_stop_tracer() {
	[ -n "$DT_TRACER" ] || return 0
	kill -TERM "$DT_TRACER" 2>/dev/null
	wait "$DT_TRACER" 2>/dev/null
	DT_TRACER=
}

dt_wait_untraced() { # PID
	local i t
	for ((i = 0; i < 40; i++)); do
		t=$(awk '/^TracerPid:/ {print $2}' "/proc/$1/status" 2>/dev/null)
		[ "$t" = 0 ] && return 0
		sleep 0.05
	done
	echo "TracerPid is still $t after the tracer exited"
}

# A pid no process has.
dt_free_pid() {
	local p max
	max=$(cat /proc/sys/kernel/pid_max)
	for ((p = max - 1; p > 300; p--)); do
		[ -e "/proc/$p" ] || { echo "$p"; return; }
	done
}

dt_refuse_no_such_pid() {
	local dir pid why
	dir=$(scratch_dir)
	pid=$(dt_free_pid)
	mkdir -p "$dir/images"
	dt_dump "" "$dir/dump" -t "$pid" -D "$dir/images"
	why=$(dt_refused "$dir/dump" "pid $pid does not exist")
	if [ -z "$why" ]; then pass dump/refuse/no-such-pid; else fail dump/refuse/no-such-pid "$why"; fi
}

# An images directory that cannot be opened: refused before the task is touched.
dt_refuse_no_dir() {
	local dir why
	dir=$(scratch_dir)
	if ! dt_start counter "$dir"; then
		dt_result dump/refuse/no-images-dir ""
		_zoo_cleanup
		return
	fi
	dt_snapshot "$ZOO_PID" "$dir/before"
	dt_dump "" "$dir/dump" -t "$ZOO_PID" -D "$dir/missing/images"
	why=$(dt_refused "$dir/dump" "$dir/missing/images") &&
		why=$(dt_left_alone "$ZOO_PID" "$dir/before")
	dt_finish
	dt_result dump/refuse/no-images-dir "$why" "$dir/dump"
}

# ---------------------------------------------------------------------------
# 3, 4, 5, 6. Successful dumps: -R and the default, and their images

dt_leave_running() { # PROGRAM
	local prog=$1 dir why="" checks live=dead
	dir=$(scratch_dir)
	if ! dt_start "$prog" "$dir"; then
		dt_result "dump/leave-running/$prog" ""
		_zoo_cleanup
		return
	fi
	dt_snapshot "$ZOO_PID" "$dir/before"
	mkdir -p "$dir/images"
	dt_dump "" "$dir/dump" -R -t "$ZOO_PID" -D "$dir/images" -o dump.log -v4
	if [ "$DT_RC" != 0 ]; then
		why="stasis dump -R: $(dt_rc_text "$dir/dump")"
	else
		why=$(dt_left_alone "$ZOO_PID" "$dir/before")
	fi
	# The counter and the threads write their memory all the time; the others hold still.
	if [ -z "$why" ]; then
		live=content
		case $prog in counter | threads) live=present ;; esac
	fi
	# Checked while the task runs: its memory is the reference for the pages.
	checks=$(dt_image_checks "dump/leave-running/$prog" "$([ "$DT_RC" = 0 ] && echo yes)" \
		"$dir/images" "$ZOO_PID" "$dir/before" "$live")
	dt_finish
	dt_result "dump/leave-running/$prog" "$why" "$dir/dump"
	dt_quiet_line "dump/leave-running/$prog/stderr" "$dir/dump"
	echo "$checks"
	[ "$prog" = counter ] && [ "$DT_RC" = 0 ] && DT_COUNTER_IMAGES=$dir/images
}

# Whether the dump log shows the killed program's last remote call
# (madvise): started, or refused for the program that runs under seccomp
# (or for all, on one CPU).
dt_last_call() { # PROGRAM LOG
	local want='last remote syscall 28 started'
	[ "$1" = seccomp ] && want='killed without a last call'
	# On one CPU there is no other to free the memory on.
	[ "$(nproc)" -lt 2 ] && want='killed without a last call: it can run on no other CPU'
	if ! "$STASIS" log decode "$2" | grep -q "$want"; then
		echo "no '$want' in dump.log"
		return 1
	fi
}

dt_kill() { # PROGRAM
	local prog=$1 dir why="" pid ok=""
	dir=$(scratch_dir)
	if ! dt_start "$prog" "$dir"; then
		dt_result "dump/kill/$prog" ""
		_zoo_cleanup
		return
	fi
	pid=$ZOO_PID
	dt_snapshot "$pid" "$dir/before"
	mkdir -p "$dir/images"
	# Every program, however small, killed as a big one is (dump/kill.c).
	STASIS_REAP_MIN_KIB=1 dt_dump "" "$dir/dump" -t "$pid" -D "$dir/images" -o dump.log -v4
	if [ "$DT_RC" != 0 ]; then
		why="stasis dump: $(dt_rc_text "$dir/dump")"
	elif ! why=$(dt_last_call "$prog" "$dir/images/dump.log"); then
		:
	elif ! _zoo_wait_stopped "$pid" 5; then
		why="still running 5 s after the dump"
	else
		ok=yes
		_zoo_reap_wrapper
		if [ "$ZOO_STATUS" != 137 ]; then
			why="it ended with $(_zoo_status_text "${ZOO_STATUS:-0}"), not killed by SIGKILL"
		elif [ -e "$dir/verdict" ]; then
			why="it wrote a verdict: it was not killed at once"
		elif ! _zoo_wait_gone "$pid" 5; then
			why="pid $pid still taken 5 s after the dump"
		fi
	fi
	_zoo_cleanup
	if [ -n "$why" ]; then
		fail "dump/kill/$prog" "$why"
		dt_context "$dir/dump"
	else
		pass "dump/kill/$prog"
	fi
	dt_quiet_line "dump/kill/$prog/stderr" "$dir/dump"
	dt_image_checks "dump/kill/$prog" "$ok" "$dir/images" "$pid" "$dir/before" dead
}

# A process that holds a robust futex (zoo robust-mutex), killed after its
# dump: the kernel must still find its robust list at the exit and mark the
# mutex in the shared file FUTEX_OWNER_DIED, for the others waiting on it.
# So it gets no last call and no process_mrelease() (src/dump/kill.c): the
# reaper would free the list head first.
dt_kill_robust() {
	local dir why="" word
	dir=$(scratch_dir)
	if ! dt_start robust-mutex "$dir"; then
		dt_result dump/kill/robust-mutex/owner-died ""
		_zoo_cleanup
		return
	fi
	mkdir -p "$dir/images"
	STASIS_REAP_MIN_KIB=1 dt_dump "" "$dir/dump" -t "$ZOO_PID" -D "$dir/images" -o dump.log -v4
	if [ "$DT_RC" != 0 ]; then
		why="stasis dump: $(dt_rc_text "$dir/dump")"
	elif ! _zoo_wait_stopped "$ZOO_PID" 5; then
		why="still running 5 s after the dump"
	else
		_zoo_reap_wrapper
		word=$(od -An -tx4 -N4 "$dir/robust-mutex.shm" | tr -d ' ')
		if [ -z "$word" ] || (((16#$word & 0x40000000) == 0)); then
			why="the mutex's futex word is ${word:-unreadable} after the kill: not FUTEX_OWNER_DIED"
		elif ! "$STASIS" log decode "$dir/images/dump.log" |
			grep -q 'killed without a last call: a thread may hold a robust futex'; then
			why="the dump log does not say it was killed without a last call for the robust futex"
		fi
	fi
	_zoo_cleanup
	if [ -n "$why" ]; then
		fail dump/kill/robust-mutex/owner-died "$why"
		dt_context "$dir/dump"
	else
		pass dump/kill/robust-mutex/owner-died
	fi
}

# The same task dumped again and again with -R: every dump finishes (in
# DUMP_TIMEOUT), and the task goes on as before.
dt_repeat() { # PROGRAM COUNT
	local prog=$1 count=$2 dir why="" k
	dir=$(scratch_dir)
	if ! dt_start "$prog" "$dir"; then
		dt_result "dump/repeat/$prog" ""
		_zoo_cleanup
		return
	fi
	dt_snapshot "$ZOO_PID" "$dir/before"
	for ((k = 1; k <= count; k++)); do
		mkdir -p "$dir/img$k"
		dt_dump "" "$dir/dump$k" -R -t "$ZOO_PID" -D "$dir/img$k"
		if [ "$DT_RC" != 0 ]; then
			why="dump $k of $count: $(dt_rc_text "$dir/dump$k")"
			break
		fi
		why=$(dt_left_alone "$ZOO_PID" "$dir/before") || { why="after dump $k: $why"; break; }
	done
	dt_finish
	dt_result "dump/repeat/$prog" "$why" "$dir/dump$k"
}

# Pages vmspliced by the task (docs/mem.md, "Copying"), forced for a small
# task with STASIS_SPLICE_MIN_KIB=1: with -R the task keeps no pipe and no
# scratch page, and the pages are its memory; a dump whose pages file cannot
# be written (a 512 KiB tmpfs fills up in the middle of the pages) fails and
# leaves the task as it was.
dt_splice() { # PROGRAM
	local prog=$1 dir why="" full_why="" checks mnt
	dir=$(scratch_dir)
	if ! dt_start "$prog" "$dir"; then
		dt_result "dump/splice/$prog" ""
		_zoo_cleanup
		return
	fi
	dt_snapshot "$ZOO_PID" "$dir/before"
	mkdir -p "$dir/images" "$dir/full"
	STASIS_SPLICE_MIN_KIB=1 dt_dump "" "$dir/dump" -R -t "$ZOO_PID" -D "$dir/images" -o dump.log -v4
	if [ "$DT_RC" != 0 ]; then
		why="stasis dump -R: $(dt_rc_text "$dir/dump")"
	elif ! "$STASIS" log decode "$dir/images/dump.log" | grep -q 'vmspliced by itself'; then
		why="the pages were not vmspliced (no such line in dump.log)"
	else
		why=$(dt_left_alone "$ZOO_PID" "$dir/before")
	fi
	checks=$(dt_image_checks "dump/splice/$prog" "$([ "$DT_RC" = 0 ] && echo yes)" \
		"$dir/images" "$ZOO_PID" "$dir/before" content)
	mnt=$dir/full
	if ! mount -t tmpfs -o size=512k stasis-full "$mnt" 2>"$dir/mount.err"; then
		full_why="cannot mount a small tmpfs: $(cat "$dir/mount.err")"
	else
		STASIS_SPLICE_MIN_KIB=1 dt_dump "" "$dir/full-dump" -R -t "$ZOO_PID" -D "$mnt"
		if [ "$DT_RC" = 0 ]; then
			full_why="the dump into a full tmpfs succeeded"
		elif ! grep -q 'cannot write the pages' "$dir/full-dump.err"; then
			full_why="it did not fail on the pages: $(dt_last_err "$dir/full-dump")"
		else
			full_why=$(dt_left_alone "$ZOO_PID" "$dir/before")
		fi
		umount "$mnt"
	fi
	dt_finish
	dt_result "dump/splice/$prog" "$why" "$dir/dump"
	echo "$checks"
	dt_result "dump/splice/$prog/disk-full" "$full_why" "$dir/full-dump"
}

# stasis itself killed (a time limit, the OOM killer) while it copies the
# pages, when no remote call is under way: the task must not pay for it.
dt_dumper_killed() {
	local dir why=
	if ! command -v gdb >/dev/null; then
		skip dump/dumper-killed/at-pages "gdb is not installed (it stops stasis at dump_pages)"
		return
	fi
	dir=$(scratch_dir)
	if ! dt_start counter "$dir"; then
		dt_result dump/dumper-killed/at-pages ""
		_zoo_cleanup
		return
	fi
	dt_snapshot "$ZOO_PID" "$dir/before"
	mkdir -p "$dir/images"
	timeout -k 5 60 gdb -nx -batch -iex 'set debuginfod enabled off' \
		-ex 'set breakpoint pending on' -ex 'break dump_pages' -ex run -ex kill \
		--args "$STASIS" dump -t "$ZOO_PID" -D "$dir/images" </dev/null >"$dir/gdb.out" 2>&1
	if ! grep -q '^Breakpoint 1, ' "$dir/gdb.out"; then
		why="gdb did not stop stasis at dump_pages: $(tail -1 "$dir/gdb.out")"
	else
		# The kernel lets the task go when its tracer dies.
		sleep 0.2
		why=$(dt_left_alone "$ZOO_PID" "$dir/before")
	fi
	dt_finish
	dt_result dump/dumper-killed/at-pages "$why"
}

# ---------------------------------------------------------------------------
# Registers of a task caught in a syscall

# Start CMD with fds 0-2 only, in its own session, under a wrapper subshell
# (so that its death is no job notice of ours). Sets DT_SPAWN_PID.
dt_spawn() { # CMD...
	local i
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done 2>/dev/null
		setsid "$@"
		true
	) </dev/null >/dev/null 2>&1 &
	DT_SPAWN_WRAPPER=$!
	DT_SPAWN_PID=
	for ((i = 0; i < 100; i++)); do
		read -r DT_SPAWN_PID _ 2>/dev/null <"/proc/$DT_SPAWN_WRAPPER/task/$DT_SPAWN_WRAPPER/children"
		[ -n "$DT_SPAWN_PID" ] && return 0
		sleep 0.05
	done
	return 1
}

dt_spawn_stop() {
	[ -n "$DT_SPAWN_WRAPPER" ] || return 0
	local pid=
	read -r pid _ 2>/dev/null <"/proc/$DT_SPAWN_WRAPPER/task/$DT_SPAWN_WRAPPER/children"
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	wait "$DT_SPAWN_WRAPPER" 2>/dev/null
	DT_SPAWN_WRAPPER=
}

# dt_regs LABEL NR RESTART CMD...: CMD blocks in syscall NR; the core written
# must hold its sp and ip, and, as CRIU writes it, the restart (RESTART:
# "eintr" for -ERESTART_RESTARTBLOCK, "restart" for the others).
dt_regs() {
	local label=$1 nr=$2 restart=$3 dir line="" i why="" ok=""
	shift 3
	dir=$(scratch_dir)
	if dt_spawn "$@"; then
		for ((i = 0; i < 100; i++)); do
			IFS= read -r line 2>/dev/null <"/proc/$DT_SPAWN_PID/syscall"
			[ "${line%% *}" = "$nr" ] && break
			sleep 0.05
		done
		if [ "${line%% *}" != "$nr" ]; then
			why="$* is not blocked in syscall $nr: /proc/PID/syscall says '$line'"
		else
			mkdir -p "$dir/images"
			dt_dump "" "$dir/dump" -t "$DT_SPAWN_PID" -D "$dir/images" -o dump.log -v4
			if [ "$DT_RC" = 0 ]; then
				ok=yes
			else
				why="stasis dump: $(dt_rc_text "$dir/dump")"
			fi
		fi
	else
		why="could not start $*"
	fi
	local pid=$DT_SPAWN_PID
	dt_spawn_stop
	if [ -n "$why" ]; then
		fail "dump/regs/$label" "$why"
		fail "dump/regs/$label/criu-restart" "$why"
		return
	fi
	why=$(dt_py regs "$dir/images" "$pid" "$line")
	if [ -z "$why" ]; then pass "dump/regs/$label"; else fail "dump/regs/$label" "$why"; fi
	why=$(dt_py regs "$dir/images" "$pid" "$line" "$restart")
	if [ -z "$why" ]; then
		pass "dump/regs/$label/criu-restart"
	else
		fail "dump/regs/$label/criu-restart" "$why"
	fi
}

# ---------------------------------------------------------------------------
# Pipes (the pipe programs are in PROGRAMS: faults, -R, kill, image checks)

# dt_refuse_py LABEL FD_RE ERE CODE: a python program (CODE, ending in
# signal.pause()) holds a file stasis refuses, one that /proc/PID/fd names
# with FD_RE; the dump must be refused with ERE on stderr (@PID@: its pid)
# and leave the program as it was.
dt_refuse_py() {
	local label=$1 fd_re=$2 re=$3 code=$4 dir why= pid i
	dir=$(scratch_dir)
	_zoo_dir=$dir
	mkdir -p "$dir/images"
	if ! dt_spawn "$PY" -c "$code"; then
		fail "dump/refuse/$label" "the python program did not start"
		dt_spawn_stop
		return
	fi
	pid=$DT_SPAWN_PID
	# Ready once its file is there and it sleeps in pause().
	for ((i = 0; i < 100; i++)); do
		ls -l "/proc/$pid/fd" 2>/dev/null | grep -qE "$fd_re" && [ "$(dt_state "$pid")" = S ] && break
		sleep 0.05
	done
	dt_snapshot "$pid" "$dir/before"
	dt_dump "" "$dir/dump" -t "$pid" -D "$dir/images" -o dump.log -v4
	why=$(dt_refused "$dir/dump" "${re//@PID@/$pid}") &&
		why=$(dt_left_alone "$pid" "$dir/before")
	dt_spawn_stop
	if [ -z "$why" ]; then
		pass "dump/refuse/$label"
	else
		fail "dump/refuse/$label" "$why"
		dt_context "$dir/dump"
	fi
}

# What stasis cannot checkpoint, each held by a python program (ctypes for the
# system calls python lacks).
# A child whose main thread has exited while another thread runs: its leader
# shows as a zombie (Z), but the process lives. Refused by name; before the
# fix the child was taken for a zombie, left out, and ran on after its
# parent's "successful" dump. Both are left as they were.
dt_refuse_dead_leader() {
	local dir why="" pid child="" i
	dir=$(scratch_dir)
	_zoo_dir=$dir
	mkdir -p "$dir/images"
	if ! dt_spawn "$PY" -c '
import ctypes, os, signal, threading, time
if os.fork() == 0:
    threading.Thread(target=lambda: time.sleep(1000), daemon=True).start()
    time.sleep(0.1)
    ctypes.CDLL(None).pthread_exit(None)
signal.pause()
'; then
		fail dump/refuse/dead-leader "the python program did not start"
		dt_spawn_stop
		return
	fi
	pid=$DT_SPAWN_PID
	for ((i = 0; i < 100; i++)); do
		read -r child _ 2>/dev/null <"/proc/$pid/task/$pid/children"
		[ -n "$child" ] && [ "$(dt_state "$child")" = Z ] &&
			[ "$(ls "/proc/$child/task" 2>/dev/null | wc -l)" = 2 ] && break
		sleep 0.05
	done
	dt_snapshot "$pid" "$dir/before"
	dt_dump "" "$dir/dump" -t "$pid" -D "$dir/images" -o dump.log -v4
	if [ -z "$child" ]; then
		why="no child with an exited main thread after 5 s"
	elif why=$(dt_refused "$dir/dump" "pid $child: its main thread has exited while 1 other threads still run"); then
		why=$(dt_left_alone "$pid" "$dir/before")
		[ -z "$why" ] && [ "$(ls "/proc/$child/task" 2>/dev/null | wc -l)" != 2 ] &&
			why="the child's other thread is gone after the refusal"
	fi
	[ -n "$child" ] && kill -KILL "$child" 2>/dev/null
	dt_spawn_stop
	if [ -z "$why" ]; then
		pass dump/refuse/dead-leader
	else
		fail dump/refuse/dead-leader "$why"
		dt_context "$dir/dump"
	fi
}

dt_refuse_kinds() {
	local sys='import ctypes, os, signal, struct
libc = ctypes.CDLL(None, use_errno=True)
def must(fd):
    if fd < 0:
        raise OSError(ctypes.get_errno(), "system call failed")
'
	# A pipe in packet mode (O_DIRECT): tee() would lose the boundaries of its packets.
	dt_refuse_py packet-pipe 'pipe:' 'pid @PID@ fd [0-9]+ is a pipe in packet mode' \
		'import os, signal
r, w = os.pipe2(os.O_DIRECT)
os.write(w, b"packet")
signal.pause()'
	# File descriptors in flight in a unix socket's queue (SCM_RIGHTS).
	dt_refuse_py unix-scm-rights 'socket:' \
		'pid @PID@ fd [0-9]+ .*file descriptors are in flight in its queue \(SCM_RIGHTS\)' \
		'import os, signal, socket
a, b = socket.socketpair()
socket.send_fds(a, [b"fd"], [0])
signal.pause()'
	# A unix socket whose peer is held by a process outside the tree (a grandchild
	# that left it, and ends when its end reads end of file).
	dt_refuse_py unix-external-peer 'socket:' \
		'pid @PID@ fd [0-9]+: its unix socket is connected to socket:\[[0-9]+\], which no process of the dumped tree holds.*--ext-unix-sk' \
		'import os, signal, socket
a, b = socket.socketpair()
if os.fork() == 0:
    if os.fork() == 0:
        a.close()
        b.recv(1)
    os._exit(0)
b.close()
os.wait()
signal.pause()'
	# An established TCP connection (over the loopback, both ends in the program).
	dt_refuse_py tcp-established 'socket:' \
		'pid @PID@ fd [0-9]+ \(socket:\[[0-9]+\], inet\): a TCP connection .*--tcp-established' \
		'import signal, socket
l = socket.create_server(("127.0.0.1", 0))
c = socket.create_connection(l.getsockname())
a, _ = l.accept()
signal.pause()'
	# UDP_CORK set with data held back: the kernel gives no way to read it.
	dt_refuse_py udp-cork 'socket:' \
		'pid @PID@ fd [0-9]+ \(socket:\[[0-9]+\], inet\): UDP_CORK is set and [0-9]+ bytes are held back' \
		'import signal, socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_UDP, 1, 1)  # UDP_CORK
u.sendto(b"held back", ("127.0.0.1", 9))
signal.pause()'
	# A memfd of huge pages (MFD_HUGETLB): not done (plain memfds are, fd-memfd).
	dt_refuse_py memfd-hugetlb 'memfd:' \
		'pid @PID@ fd [0-9]+ is /memfd:zoo \(deleted\), a memfd of huge pages \(MFD_HUGETLB\): stasis cannot checkpoint it; close \(or unmap\) it' \
		'import os, signal
fd = os.memfd_create("zoo", os.MFD_HUGETLB)
signal.pause()'
	# Files deleted while open: one bigger than --ghost-limit (1 MiB by default), one
	# still linked under another name (CRIU's link remap, not done).
	dt_refuse_py deleted-file-too-big 'deleted' \
		'pid @PID@ fd [0-9]+ is a file deleted while open .*more than --ghost-limit \(1048576 bytes\); raise --ghost-limit' \
		'import os, signal, tempfile
fd, name = tempfile.mkstemp()
os.ftruncate(fd, 1048577)
os.unlink(name)
signal.pause()'
	dt_refuse_py deleted-file-linked 'deleted' \
		'pid @PID@ fd [0-9]+ is a file deleted while open .*still linked under another name' \
		"import os, signal
name = '$_SUITE_TMP/linked'
fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
os.link(name, name + '.other')  # (removed with the suite's directory)
os.unlink(name)
signal.pause()"
	dt_refuse_py io-uring 'io_uring' \
		'pid @PID@ fd [0-9]+ is an io_uring instance .*close it in the program' \
		"${sys}params = ctypes.create_string_buffer(120)
must(libc.syscall(425, 4, params))
signal.pause()"
	dt_refuse_py userfaultfd 'userfaultfd' \
		'pid @PID@ fd [0-9]+ is a userfaultfd .*close it in the program' \
		"${sys}must(libc.syscall(323, os.O_CLOEXEC))
signal.pause()"
	dt_refuse_py pidfd 'pidfd' \
		'pid @PID@ fd [0-9]+ is a pidfd .*close it in the program' \
		'import os, signal
fd = os.pidfd_open(os.getpid())
signal.pause()'
	# fanotify groups are dumped, but a filesystem mark has no place in CRIU's image.
	dt_refuse_py fanotify-filesystem-mark 'fanotify' \
		'pid @PID@ fd [0-9]+ \(FANOTIFY\): a filesystem mark \(FAN_MARK_FILESYSTEM, .*remove the mark before the checkpoint' \
		"${sys}libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
fd = libc.fanotify_init(0, os.O_RDONLY)
must(fd)
must(libc.fanotify_mark(fd, 0x101, 0x20, -100, b'/'))  # FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN
signal.pause()"
	# PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, on this process, any CPU.
	dt_refuse_py perf-event 'perf_event' \
		'pid @PID@ fd [0-9]+ is a perf event .*close it in the program' \
		"${sys}attr = ctypes.create_string_buffer(struct.pack('IIQ', 1, 128, 0).ljust(128, b'\\0'))
must(libc.syscall(298, attr, 0, -1, -1, 0))
signal.pause()"
}

# ---------------------------------------------------------------------------

# A process with N epolls (one key for them all: no id in their fdinfo) and a
# dup of every fourth, dumped with -R: prints "CALLS" (the kcmp() calls the
# log counts for its fds), or "FAIL why" when an fd is not shared as it was.
dt_kcmp_fds_for() { # N
	local dir n=$1 out calls i
	dir=$(scratch_dir)
	dt_spawn "$PY" -c '
import os, select, signal, sys
eps = [select.epoll() for _ in range(int(sys.argv[1]))]
pairs = ["%d %d" % (e.fileno(), os.dup(e.fileno())) for e in eps[::4]]
open(sys.argv[2] + ".tmp", "w").write("\n".join(pairs) + "\n")
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
signal.pause()' "$n" "$dir/pairs" || { echo "FAIL the program did not start"; return; }
	for ((i = 0; i < 100; i++)); do [ -s "$dir/pairs" ] && break; sleep 0.05; done
	[ -s "$dir/pairs" ] || { dt_spawn_stop; echo "FAIL the program wrote no pairs"; return; }
	mkdir "$dir/img"
	out=$("$STASIS" dump -t "$DT_SPAWN_PID" -D "$dir/img" -R -o dump.log -v4 2>&1)
	dt_spawn_stop
	[ -n "$(ls "$dir"/img/fdinfo-*.img 2>/dev/null)" ] || { echo "FAIL the dump failed: ${out##*$'\n'}"; return; }
	calls=$("$STASIS" log decode "$dir/img/dump.log" | sed -n 's/.*fds, kcmp: \([0-9]*\) calls.*/\1/p')
	out=$("$STASIS" image decode -i "$dir"/img/fdinfo-*.img | "$PY" -c '
import json, sys
fds = {e["fd"]: e["id"] for e in json.load(sys.stdin)["entries"] if e["type"] == "EVENTPOLL"}
pairs = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
dups = {d for _, d in pairs}
if any(fds.get(a) != fds.get(d) for a, d in pairs):
    print("a dup has another description than its original")
elif len({i for fd, i in fds.items() if fd not in dups}) != int(sys.argv[2]):
    print("the epolls do not have one description each")' "$dir/pairs" "$n" 2>&1)
	if [ -n "$out" ]; then echo "FAIL $out"; else echo "${calls:-none}"; fi
}

# The descriptions of many fds of one key are found with kcmp() calls that
# grow as n log n, not n² (docs/files.md, src/dump/desc-index.c).
dt_kcmp_fds() {
	local few many
	few=$(dt_kcmp_fds_for 64)
	many=$(dt_kcmp_fds_for 512)
	if [[ $few == FAIL* || $many == FAIL* ]]; then
		fail dump/kcmp-fds "${few#FAIL } ${many#FAIL }"
	elif ! [[ $few =~ ^[0-9]+$ && $many =~ ^[0-9]+$ ]] || ((few == 0)); then
		fail dump/kcmp-fds "no kcmp count for the fds in the logs ('$few', '$many')"
	elif ((many > few * 24)); then
		# 8x the fds: about 12x the calls for n log n, 64x for n².
		fail dump/kcmp-fds "$few kcmp calls for 64 epolls, $many for 512: more than n log n"
	else
		pass "dump/kcmp-fds ($few calls for 64 epolls, $many for 512)"
	fi
}

dt_main() {
	local prog n
	if [ ! -x "$STASIS" ]; then
		fail dump/build "$STASIS is not built"
		return
	fi
	if [ ! -x "$PY" ]; then
		fail dump/python "$PY is missing (Debian's python3)"
		return
	fi
	zoo_probe_engine "$(scratch_dir)"
	if [ -n "$ZOO_ENGINE_MISSING" ] && [[ $ZOO_ENGINE_MISSING == *dump* ]]; then
		skip dump "$ZOO_ENGINE_MISSING"
		return
	fi

	# 1. Every step failed on purpose, for every program.
	if dt_discover_steps; then
		for prog in "${PROGRAMS[@]}"; do
			for ((n = 1; n <= ${#STEP_NAMES[@]}; n++)); do
				dt_fault "$prog" "$n" "${STEP_NAMES[n - 1]}"
			done
		done
	fi

	# 2. Refused for a real reason.
	dt_refuse_kinds
	dt_refuse_dead_leader
	dt_refusal zombie zoo-family zombie child 'pid @PID@ is a zombie'
	dt_refusal traced-child zoo-family child traced-child 'pid @PID@ is traced by pid @TRACER@'
	dt_refusal lost-session zoo-family lost-session tree-child 'pid @PID@ is in session [0-9]+, which its parent [0-9]+ is not in'
	dt_refusal vfork zoo-family vfork grandchild 'pid @PID@ shares its memory with pid [0-9]+ \(vfork\(\) or CLONE_VM\)'
	dt_refusal traced counter "" traced 'pid @PID@ is traced by pid @TRACER@'
	dt_refuse_no_such_pid
	dt_refuse_no_dir

	# 3-6. Dumps that succeed, and what they wrote.
	DT_COUNTER_IMAGES=
	for prog in "${PROGRAMS[@]}"; do
		dt_leave_running "$prog"
		dt_kill "$prog"
	done
	dt_kill_robust
	for prog in "${FD_PROGRAMS[@]}"; do
		dt_leave_running "$prog"
	done
	dt_repeat anon-mem 10
	dt_splice anon-mem
	dt_dumper_killed
	if [ -n "$DT_COUNTER_IMAGES" ]; then
		n=$(dt_py lazy "$DT_COUNTER_IMAGES")
		if [ -z "$n" ]; then pass dump/stats/pages-lazy; else fail dump/stats/pages-lazy "$n"; fi
	else
		fail dump/stats/pages-lazy "no dump of counter to look at"
	fi

	# Registers of a task inside a syscall, as CRIU writes them.
	dt_regs nanosleep 230 eintr sleep 600
	dt_regs pause 34 restart "$PY" -c 'import signal; signal.pause()'

	dt_kcmp_fds
}

# Sourced (to try one function by hand), it runs nothing.
[ "${BASH_SOURCE[0]}" != "$0" ] || dt_main
