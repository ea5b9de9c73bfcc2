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
