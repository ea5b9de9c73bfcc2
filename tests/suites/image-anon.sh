#!/usr/bin/env bash
# stasis image anonymize:
#  - a zoo program holding secrets (tests/zoo/secrets.c: a string in memory,
#    a file name, a process name, pipe data) is dumped with -R; every secret
#    is in the images, none of its bytes is anywhere in the anonymised copy;
#  - every anonymised image still decodes (stasis, and Debian's crit where it
#    reads the original), x ps and x fds show the same structure;
#  - synthetic sockets, TCP queues, ghost files and host names (images the
#    dump cannot make yet): addresses, names and contents replaced, the same
#    address always by the same pseudonym;
#  - every CRIU fixture image set.
source "$(dirname "$0")/../lib.sh"
T=$(scratch_dir)
CRIT=$(command -v crit || true)
ZOO=${ZOO_BIN:-$BUILD/tests/zoo}
# the secrets of tests/zoo/secrets.c
SECRETS=(stasis-secret-in-memory-9f2d stasis-secret-file-7q3x secret-comm-k4z
	stasis-secret-in-a-pipe-m2v8)
pid=

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -rf "$_SUITE_TMP"
}
trap cleanup EXIT

# Everything of DIR decodes (raw pages aside), with stasis and with Debian's crit
# (for the images whose original ORIG_DIR it reads).
check_decodes() { # NAME OUT_DIR ORIG_DIR
	local name=$1 out=$2 orig=$3 f bad=
	for f in "$out"/*; do
		case $(basename "$f") in pages-*) continue ;; esac
		if ! "$STASIS" image decode -i "$f" -o /dev/null 2>"$T/err"; then
			bad="stasis cannot decode $(basename "$f"): $(head -1 "$T/err")"
			break
		fi
		if [ -n "$CRIT" ] && "$CRIT" decode -i "$orig/$(basename "$f")" >/dev/null 2>&1 &&
			! "$CRIT" decode -i "$f" >/dev/null 2>"$T/err"; then
			bad="crit cannot decode $(basename "$f"): $(tail -1 "$T/err")"
			break
		fi
	done
	if [ -z "$bad" ]; then pass "$name"; else fail "$name" "$bad"; fi
}

# x ps and x fds: the same lines once names are blanked out.
check_structure() { # NAME ORIG_DIR OUT_DIR
	local name=$1 orig=$2 out=$3 what
	for what in ps fds; do
		"$STASIS" image x "$orig" $what 2>&1 | sed -E 's#/[^ ]*#PATH#g; s/[^ ]+$/X/' >"$T/a"
		"$STASIS" image x "$out" $what 2>&1 | sed -E 's#/[^ ]*#PATH#g; s/[^ ]+$/X/' >"$T/b"
		if [ ! -s "$T/a" ] || ! cmp -s "$T/a" "$T/b"; then
			fail "$name/x-$what" "$(diff "$T/a" "$T/b" | head -3 | tr '\n' ' ')"
		else
			pass "$name/x-$what"
		fi
	done
}

# ---- a dumped zoo program holding secrets ----
run_secrets() {
	local d=$T/zoo img out found s
	mkdir -p "$d/images"
	img=$d/images out=$d/anon
	setsid "$ZOO/secrets" --pidfile "$d/pid" --verdict "$d/verdict" \
		</dev/null >>"$d/program.log" 2>&1 3>&- 4>&- 5>&- 251>&- &
	for _ in $(seq 100); do [ -s "$d/pid" ] && break; sleep 0.05; done
	pid=$(cat "$d/pid" 2>/dev/null)
	if [ -z "$pid" ]; then
		fail image-anon/zoo-start "no pid file: $(tail -1 "$d/program.log")"
		return
	fi
	if ! "$STASIS" dump -t "$pid" -D "$img" -R -o dump.log 2>"$T/err"; then
		fail image-anon/zoo-dump "$(head -1 "$T/err")"
		return
	fi
	kill -TERM "$pid"
	for _ in $(seq 100); do [ -s "$d/verdict" ] && break; sleep 0.05; done
	[ "$(cat "$d/verdict" 2>/dev/null)" = PASS ] ||
		fail image-anon/zoo-verdict "$(cat "$d/verdict" 2>/dev/null)"
	rm -f "$img/dump.log"
	# the test could not fail if the secrets were not in the images at all
	for s in "${SECRETS[@]}"; do
		if grep -rqaF -- "$s" "$img"; then
			pass "image-anon/zoo-secret-in-images/$s"
		else
			fail "image-anon/zoo-secret-in-images/$s" "not found in the dump"
		fi
	done
	if ! "$STASIS" image anonymize "$img" "$out" 2>"$T/err"; then
		fail image-anon/zoo-anonymize "$(head -1 "$T/err")"
		return
	fi
	pass image-anon/zoo-anonymize
	for s in "${SECRETS[@]}"; do
		found=$(grep -rlaF -- "$s" "$out")
		if [ -z "$found" ]; then
			pass "image-anon/zoo-secret-gone/$s"
		else
			fail "image-anon/zoo-secret-gone/$s" "still in $found"
		fi
	done
	# memory keeps its shape: same pagemaps, pages files of the same size, all zeros
	if cmp -s "$img/pagemap-$pid.img" "$out/pagemap-$pid.img" &&
		[ "$(stat -c %s "$img"/pages-1.img)" = "$(stat -c %s "$out"/pages-1.img)" ] &&
		[ -z "$(tr -d '\0' <"$out/pages-1.img" | head -c1)" ]; then
		pass image-anon/zoo-memory-shape
	else
		fail image-anon/zoo-memory-shape "pagemap differs, or pages not the same size of zeros"
	fi
	check_decodes image-anon/zoo-decodes "$out" "$img"
	check_structure image-anon/zoo "$img" "$out"
}
run_secrets

# ---- synthetic images: sockets, streams, ghost files, host names ----
syn=$T/syn
mkdir -p "$syn/in"
fown='"fown": {"uid": 0, "euid": 0, "signum": 0, "pid_type": 0, "pid": 0}'
skopts='"opts": {"so_sndbuf": 1, "so_rcvbuf": 2, "so_snd_tmo_sec": 3, "so_snd_tmo_usec": 4, "so_rcv_tmo_sec": 5, "so_rcv_tmo_usec": 6}'
isk() { # ID SRC DST FAMILY
	echo "{\"id\": $1, \"ino\": $((100 + $1)), \"family\": $4, \"type\": 2, \"proto\": 17, \"state\": 7, \"src_port\": 53, \"dst_port\": 99, \"flags\": 0, \"backlog\": 0, \"src_addr\": [\"$2\"], \"dst_addr\": [\"$3\"], $fown, $skopts}"
}
cat >"$syn/inetsk.json" <<EOF
{"magic": "INETSK", "entries": [
$(isk 1 192.0.2.77 127.0.0.1 2),
$(isk 2 0.0.0.0 192.0.2.77 2),
$(isk 3 2001:db8::beef ::ffff:192.0.2.77 10),
$(isk 4 ::1 2001:db8::beef 10)
]}
EOF
cat >"$syn/unixsk.json" <<EOF
{"magic": "UNIXSK", "entries": [
{"id": 1, "ino": 5, "type": 1, "state": 10, "flags": 0, "uflags": 0, "backlog": 0, "peer": 0, $fown, $skopts, "name": "=00secret-abstract-name"},
{"id": 2, "ino": 6, "type": 2, "state": 7, "flags": 0, "uflags": 0, "backlog": 0, "peer": 5, $fown, $skopts, "name": "/home/secret-user/sock", "name_dir": "/home/secret-user"}
]}
EOF
# base64 of "secret-" "tcp-data" and "secret-ghost"
cat >"$syn/tcp.json" <<'EOF'
{"magic": "TCP_STREAM", "entries": [{"inq_len": 7, "inq_seq": 1, "outq_len": 8, "outq_seq": 2, "opt_mask": 15, "snd_wscale": 7, "mss_clamp": 1460, "extra": {"inq": "c2VjcmV0LQ==\n", "outq": "dGNwLWRhdGE=\n"}}]}
EOF
cat >"$syn/ghost.json" <<'EOF'
{"magic": "GHOST_FILE", "entries": [{"uid": 0, "gid": 0, "mode": 33188, "dev": 2097154, "ino": 12, "rdev": 2049, "size": 12, "extra": "c2VjcmV0LWdob3N0\n"}]}
EOF
cat >"$syn/utsns.json" <<'EOF'
{"magic": "UTSNS", "entries": [{"nodename": "secret-host", "domainname": "secret.example"}]}
EOF
syn_ok=1
for f in inetsk:inetsk.img unixsk:unixsk.img tcp:tcp-stream-1.img ghost:ghost-file-1.img utsns:utsns-1.img; do
	"$STASIS" image encode -i "$syn/${f%%:*}.json" -o "$syn/in/${f#*:}" 2>"$T/err" || {
		fail image-anon/synthetic-encode "${f%%:*}: $(head -1 "$T/err")"
		syn_ok=
	}
done
if [ -n "$syn_ok" ] && "$STASIS" image anonymize "$syn/in" "$syn/out" 2>"$T/err"; then
	found=
	for s in secret 192.0.2.77 2001:db8 beef tcp-data; do
		for f in "$syn/out"/*; do
			"$STASIS" image decode --pretty -i "$f" | grep -qF -- "$s" && found="$found $s in $(basename "$f")"
			grep -qaF -- "$s" "$f" && found="$found $s in $(basename "$f") (bytes)"
		done
	done
	if [ -z "$found" ]; then pass image-anon/synthetic-secrets-gone; else
		fail image-anon/synthetic-secrets-gone "$found"; fi
	# the same address gets the same pseudonym, v4 inside v4-mapped v6 too; loopback kept
	addrs=$("$STASIS" image decode --pretty -i "$syn/out/inetsk.img" | /usr/bin/python3 -c '
import json, sys, ipaddress
e = json.load(sys.stdin)["entries"]
a = lambda i, k: e[i][k][0]
m = ipaddress.ip_address(a(2, "dst_addr")).ipv4_mapped
print(a(0, "src_addr"), a(1, "dst_addr"), a(3, "dst_addr"), a(2, "src_addr"), m,
      a(0, "dst_addr"), a(3, "src_addr"))')
	read -r a b c d m lo lo6 <<<"$addrs"
	if [ "$a" = "$b" ] && [ "$c" = "$d" ] && [ "$m" = "$a" ] && [ "$lo" = 127.0.0.1 ] &&
		[ "$lo6" = ::1 ] && [ "$a" != 192.0.2.77 ]; then
		pass image-anon/synthetic-addresses-consistent
	else
		fail image-anon/synthetic-addresses-consistent "got: $addrs"
	fi
	# unix sockets: the name's directory is the pseudonym of name_dir; abstract stays abstract
	names=$("$STASIS" image decode -i "$syn/out/unixsk.img" | /usr/bin/python3 -c '
import json, sys, quopri
e = json.load(sys.stdin)["entries"]
print(quopri.decodestring(e[1]["name"]).decode(), e[1]["name_dir"],
      quopri.decodestring(e[0]["name"])[0])')
	read -r uname udir ufirst <<<"$names"
	if [ "${uname%/*}" = "$udir" ] && [ "$ufirst" = 0 ]; then
		pass image-anon/synthetic-unix-names
	else
		fail image-anon/synthetic-unix-names "got: $names"
	fi
	check_decodes image-anon/synthetic-decodes "$syn/out" "$syn/in"
elif [ -n "$syn_ok" ]; then
	fail image-anon/synthetic "$(head -1 "$T/err")"
fi

# ---- the CRIU fixtures ----
for dir in "$FIXTURES"/images/*/; do
	set_name=$(basename "$dir")
	out=$T/fixture-$set_name
	if ! "$STASIS" image anonymize "$dir" "$out" 2>"$T/err"; then
		fail "image-anon/fixture/$set_name" "$(grep -v Warn "$T/err" | head -1)"
		continue
	fi
	if grep -rqaF -e stasis-fixtures "$out"; then
		fail "image-anon/fixture/$set_name" "original paths left in $(grep -rlaF stasis-fixtures "$out")"
	else
		pass "image-anon/fixture/$set_name"
	fi
	check_decodes "image-anon/fixture-decodes/$set_name" "$out" "$dir"
	check_structure "image-anon/fixture/$set_name" "$dir" "$out"
done

# ---- refusals ----
mkdir -p "$T/full" && touch "$T/full/x"
if ! "$STASIS" image anonymize "$FIXTURES/images/counter" "$T/full" 2>"$T/err" &&
	grep -q "not empty" "$T/err"; then
	pass image-anon/refuses-non-empty-output
else
	fail image-anon/refuses-non-empty-output "$(head -1 "$T/err")"
fi
