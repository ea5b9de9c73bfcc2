#!/usr/bin/env bash
# stasis image core: ELF core files from images.
#  - tests/zoo/secrets (built with -g) is dumped with -R while it waits in
#    hold_secrets(); gdb on the core file shows the backtrace gdb showed on
#    the live process, and the registers are those of core-PID.img;
#  - readelf -a accepts every core file, with the notes the kernel writes;
#  - the CRIU fixtures: every process, every thread (threads: 5 threads, 4
#    of them in spin()).
source "$(dirname "$0")/../lib.sh"
T=$(scratch_dir)
ZOO=${ZOO_BIN:-$BUILD/tests/zoo}
pid=

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$_SUITE_TMP"
}
trap cleanup EXIT

if ! command -v gdb >/dev/null || ! command -v readelf >/dev/null; then
	skip image-core "gdb or readelf is not installed"
	exit 0
fi

# The function names of the last gdb backtrace of one thread, one per line (gdb
# also prints frame #0 alone when it loads a core).
frames() {
	sed -nE 's/^#([0-9]+) +(0x[0-9a-f]+ in )?([^ ]+) .*/\1 \3/p' |
		awk '$1 == 0 { n = 0 } { f[n++] = $2 } END { for (i = 0; i < n; i++) print f[i] }'
}
# Every frame of every thread (thread apply all bt).
all_frames() { sed -nE 's/^#([0-9]+) +(0x[0-9a-f]+ in )?([^ ]+) .*/\3/p'; }

check_readelf() { # NAME CORE THREADS
	local notes
	if ! readelf -a "$2" >"$T/readelf" 2>"$T/readelf.err" || [ -s "$T/readelf.err" ]; then
		fail "$1" "readelf: $(head -1 "$T/readelf.err")"
		return
	fi
	notes=$(readelf -n "$2" | grep -oE 'NT_[A-Z0-9_]+' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
	for want in "$3 NT_PRSTATUS" "1 NT_PRPSINFO" "1 NT_SIGINFO" "1 NT_AUXV" "1 NT_FILE" \
		"$3 NT_FPREGSET" "$3 NT_X86_XSTATE"; do
		case " $notes" in *" $want "*) ;; *)
			fail "$1" "notes are '$notes', no '$want'"
			return
			;;
		esac
	done
	pass "$1"
}

# ---- a zoo program blocked in a known function ----
run_zoo() {
	local d=$T/zoo img core ip sp
	mkdir -p "$d/images"
	img=$d/images
	setsid "$ZOO/secrets" --pidfile "$d/pid" --verdict "$d/verdict" \
		</dev/null >>"$d/program.log" 2>&1 3>&- 4>&- 5>&- 251>&- &
	for _ in $(seq 100); do [ -s "$d/pid" ] && break; sleep 0.05; done
	pid=$(cat "$d/pid" 2>/dev/null)
	[ -n "$pid" ] || { fail image-core/zoo-start "no pid file"; return; }
	sleep 0.1
	# the live backtrace (gdb detaches before the dump)
	gdb -batch -p "$pid" -ex bt "$ZOO/secrets" 2>/dev/null | frames >"$T/live"
	if ! "$STASIS" dump -t "$pid" -D "$img" -R -o dump.log 2>"$T/err"; then
		fail image-core/zoo-dump "$(head -1 "$T/err")"
		return
	fi
	kill -TERM "$pid"
	if ! "$STASIS" image core -D "$img" -p "$pid" -o "$d/cores" 2>"$T/err"; then
		fail image-core/zoo "$(head -1 "$T/err")"
		return
	fi
	core=$d/cores/core.$pid
	check_readelf image-core/zoo-readelf "$core" 1
	gdb -batch -ex bt -ex 'info registers' "$ZOO/secrets" "$core" >"$T/gdb" 2>&1
	frames <"$T/gdb" >"$T/dead"
	if grep -qx hold_secrets "$T/dead" && grep -qx main "$T/dead" &&
		cmp -s "$T/live" "$T/dead"; then
		pass image-core/zoo-backtrace
	else
		fail image-core/zoo-backtrace "live: $(tr '\n' ' ' <"$T/live") core: $(tr '\n' ' ' <"$T/dead")"
	fi
	ip=$("$STASIS" image decode --pretty -i "$img/core-$pid.img" | sed -nE 's/.*"ip": "(0x[0-9a-f]+)".*/\1/p')
	sp=$("$STASIS" image decode --pretty -i "$img/core-$pid.img" | sed -nE 's/.*"sp": "(0x[0-9a-f]+)".*/\1/p')
	if [ -n "$ip" ] && grep -qE "^rip +$ip " "$T/gdb" && grep -qE "^rsp +$sp " "$T/gdb"; then
		pass image-core/zoo-registers
	else
		fail image-core/zoo-registers "image ip $ip sp $sp, gdb: $(grep -E '^r[is]p' "$T/gdb" | tr -s ' ' | tr '\n' ' ')"
	fi
}
run_zoo

# ---- a private file mapping with one page written (tests/zoo/mem-filepriv) ----
# The core holds the whole mapping as the kernel's would: the written page from
# the images, the others from the file; with the file changed, zeros and a warning.
# vma_bytes CORE VADDR LEN: the bytes of the core at a virtual address, from its PT_LOADs
vma_bytes() {
	/usr/bin/python3 - "$@" <<'EOF'
import struct, sys
core, vaddr, length = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3])
f = open(core, "rb")
h = f.read(64)
phoff, phnum = struct.unpack_from("<Q", h, 32)[0], struct.unpack_from("<H", h, 56)[0]
f.seek(phoff)
for _ in range(phnum):
    t, fl, off, va, pa, fsz, msz, al = struct.unpack("<IIQQQQQQ", f.read(56))
    if t == 1 and va <= vaddr < va + msz:
        f.seek(off + vaddr - va)
        data = f.read(min(length, max(0, fsz - (vaddr - va))))
        sys.stdout.buffer.write(data + bytes(length - len(data)))
EOF
}
run_filepriv() {
	local d=$T/filepriv img start file
	mkdir -p "$d/images"
	img=$d/images
	setsid "$ZOO/mem-filepriv" --pidfile "$d/pid" --verdict "$d/verdict" \
		</dev/null >>"$d/program.log" 2>&1 3>&- 4>&- 5>&- 251>&- &
	for _ in $(seq 100); do [ -s "$d/pid" ] && break; sleep 0.05; done
	pid=$(cat "$d/pid" 2>/dev/null)
	[ -n "$pid" ] || { fail image-core/filepriv-start "no pid file"; return; }
	if ! "$STASIS" dump -t "$pid" -D "$img" -R -o dump.log 2>"$T/err"; then
		fail image-core/filepriv-dump "$(head -1 "$T/err")"
		return
	fi
	kill -TERM "$pid"
	file=$d/filepriv.data
	start=$("$STASIS" image x "$img" mems --json | /usr/bin/python3 -c '
import json, sys
print([v["start"] for v in json.load(sys.stdin)[0]["vmas"] if v.get("file", "").endswith("/filepriv.data")][0])')
	cp "$file" "$d/file.copy"
	"$STASIS" image core -D "$img" -o "$d/cores" 2>"$T/err"
	vma_bytes "$d/cores/core.$pid" "$start" 16384 >"$d/mapping"
	if cmp -s <(head -c 4096 "$d/mapping") <(head -c 4096 "$d/file.copy") &&
		cmp -s <(tail -c 8192 "$d/mapping") <(tail -c 8192 "$d/file.copy") &&
		! cmp -s <(head -c 8192 "$d/mapping" | tail -c 4096) <(head -c 8192 "$d/file.copy" | tail -c 4096) &&
		[ -n "$(head -c 8192 "$d/mapping" | tail -c 4096 | tr -d '\0' | head -c1)" ]; then
		pass image-core/filepriv-pages-from-file
	else
		fail image-core/filepriv-pages-from-file "the mapping in the core is not the file with the written page"
	fi
	# a file of another size does not stand for the dumped one
	truncate -s 20000 "$file"
	"$STASIS" image core -D "$img" -o "$d/cores2" 2>"$T/err"
	vma_bytes "$d/cores2/core.$pid" "$start" 4096 >"$d/page0"
	if [ -z "$(tr -d '\0' <"$d/page0" | head -c1)" ] && grep -q "not the dumped one" "$T/err"; then
		pass image-core/filepriv-changed-file-zeros
	else
		fail image-core/filepriv-changed-file-zeros "page 0 not zeros, or no warning: $(head -1 "$T/err")"
	fi
}
run_filepriv

# ---- an image from another CPU: its own XSAVE features, not this machine's ----
# The fixture's thread gets AVX and PKRU but no AVX-512 (an AMD Zen 3, say):
# the note has XCR0 0x207 and the standard size 2696; gdb reads pkru and ymm0
# from it and has no zmm0.
run_foreign_xsave() {
	local d=$T/xsave
	mkdir -p "$d/images"
	cp "$FIXTURES"/images/counter/* "$d/images/" 2>/dev/null
	"$STASIS" image decode -i "$FIXTURES/images/counter/core-21002.img" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
x = d["entries"][0]["thread_info"]["fpregs"]["xsave"]
for k in ("opmask_reg", "zmm_upper", "hi16_zmm"):
    x.pop(k, None)
x["pkru"], x["xstate_bv"] = [0x55555554, 0], 0x206
x["ymmh_space"][0:4] = [0x11111111, 0x22222222, 0x33333333, 0x44444444]
json.dump(d, sys.stdout)' | "$STASIS" image encode -o "$d/images/core-21002.img"
	if ! "$STASIS" image core -D "$d/images" -o "$d/cores" 2>"$T/err"; then
		fail image-core/foreign-xsave "$(head -1 "$T/err")"
		return
	fi
	gdb -batch -ex 'info registers pkru' -ex 'p/x $ymm0.v4_int64[3]' -ex 'p $zmm0' \
		"$FIXTURES/bin/counter" "$d/cores/core.21002" >"$T/gdb" 2>&1
	if readelf -n "$d/cores/core.21002" | grep -q '0x00000a88.*NT_X86_XSTATE' &&
		grep -qE '^pkru +0x55555554' "$T/gdb" && grep -q '= 0x4444444433333333' "$T/gdb" &&
		grep -q '= void' "$T/gdb"; then
		pass image-core/foreign-xsave
	else
		fail image-core/foreign-xsave "$(readelf -n "$d/cores/core.21002" | grep XSTATE | head -1) gdb: $(tail -3 "$T/gdb" | tr '\n' ' ')"
	fi
}
run_foreign_xsave

# ---- the CRIU fixtures ----
for dir in "$FIXTURES"/images/*/; do
	set_name=$(basename "$dir")
	out=$T/cores-$set_name
	if ! "$STASIS" image core -D "$dir" -o "$out" 2>"$T/err"; then
		fail "image-core/fixture/$set_name" "$(head -1 "$T/err")"
		continue
	fi
	n=$("$STASIS" image x "$dir" ps | tail -n +2 | wc -l)
	if [ "$(ls "$out" | wc -l)" != "$n" ]; then
		fail "image-core/fixture/$set_name" "$(ls "$out" | wc -l) core files for $n processes"
		continue
	fi
	pass "image-core/fixture/$set_name"
	for core in "$out"/core.*; do
		p=${core##*.}
		threads=$(ls "$dir" | grep -c '^core-') # the fixtures' threads are all in one process
		[ "$set_name" = threads ] || threads=1
		check_readelf "image-core/fixture-readelf/$set_name/$p" "$core" "$threads"
		gdb -batch -ex 'info threads' -ex 'thread apply all bt' "$FIXTURES/bin/$set_name" "$core" \
			>"$T/gdb" 2>&1
		nthreads=$(grep -cE '^\*? +[0-9]+ +Thread' "$T/gdb")
		all_frames <"$T/gdb" >"$T/dead"
		want=main
		[ "$set_name" = threads ] && want=spin
		if [ "$nthreads" = "$threads" ] && grep -qx "$want" "$T/dead" && grep -qx main "$T/dead" &&
			{ [ "$set_name" != threads ] || [ "$(grep -cx spin "$T/dead")" = 4 ]; }; then
			pass "image-core/fixture-gdb/$set_name/$p"
		else
			fail "image-core/fixture-gdb/$set_name/$p" "$nthreads threads; frames: $(sort "$T/dead" | uniq -c | tr -s ' \n' ' ')"
		fi
	done
done

# ---- refusals ----
if ! "$STASIS" image core -D "$FIXTURES/images/counter" -p 1 -o "$T/none" 2>"$T/err" &&
	grep -q "no process 1" "$T/err"; then
	pass image-core/unknown-pid
else
	fail image-core/unknown-pid "$(head -1 "$T/err")"
fi
