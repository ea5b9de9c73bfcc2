#!/usr/bin/env bash
# stasis image x DIR sk and x --json:
#  - sk on a synthetic image set (made with `image encode`: unix, inet, inet6,
#    netlink and packet sockets, in files.img and in the older inetsk.img, a
#    socket missing from the images, non-socket fds): the text and the JSON
#    against what Python builds from Debian's crit decoding the same images
#    (names of families, types and states from crit's own tables, addresses
#    as crit's ipaddress forms them, unix names as crit's quoted-printable);
#  - --json of ps, fds, mems, rss on the CRIU fixtures, on the synthetic set
#    and on a dump by stasis: parsed with Python's json, it says what the text
#    says and what the images hold;
#  - the checks fail on a planted difference.
source "$(dirname "$0")/../lib.sh"
T=$(scratch_dir)
PY=/usr/bin/python3
CRIT=$(command -v crit || true)
CHECK=$(dirname "$0")/image-explore-check.py

# ---- synthetic sockets ----
d=$T/sk
mkdir -p "$d"
enc() { "$STASIS" image encode -o "$d/$1" 2>>"$T/gen.err" || echo "$1" >>"$T/gen.failed"; }
fown='"fown": {"uid": 0, "euid": 0, "signum": 0, "pid_type": 0, "pid": 0}'
skopts='"opts": {"so_sndbuf": 1, "so_rcvbuf": 2, "so_snd_tmo_sec": 3, "so_snd_tmo_usec": 4, "so_rcv_tmo_sec": 5, "so_rcv_tmo_usec": 6}'
usk() { # ID INO TYPE STATE PEER NAME [MORE]
	echo "{\"id\": $1, \"ino\": $2, \"type\": $3, \"state\": $4, \"flags\": 0, \"uflags\": 0, \"backlog\": 0, \"peer\": $5, $fown, $skopts, \"name\": \"$6\"${7:-}}"
}
isk() { # ID FAMILY TYPE PROTO STATE SRC SPORT DST DPORT [MORE]
	echo "{\"id\": $1, \"ino\": $((200 + $1)), \"family\": $2, \"type\": $3, \"proto\": $4, \"state\": $5, \"src_port\": $7, \"dst_port\": $9, \"flags\": 0, \"backlog\": 0, \"src_addr\": [\"$6\"], \"dst_addr\": [\"$8\"], $fown, $skopts${10:-}}"
}
fd() { echo "{\"id\": $1, \"flags\": 0, \"type\": \"$2\", \"fd\": $3}"; }
echo '{"magic": "PSTREE", "entries": [{"pid": 100, "ppid": 0, "pgid": 100, "sid": 100, "threads": [100]}, {"pid": 101, "ppid": 100, "pgid": 100, "sid": 100, "threads": [101]}]}' | enc pstree.img
for p in 100 101; do
	echo "{\"magic\": \"IDS\", \"entries\": [{\"vm_id\": 1, \"files_id\": $((p - 99)), \"fs_id\": 1, \"sighand_id\": 1}]}" | enc "ids-$p.img"
	echo '{"magic": "FS", "entries": [{"cwd_id": 1, "root_id": 1}]}' | enc "fs-$p.img"
done
cat <<EOF | enc files.img
{"magic": "FILES", "entries": [
{"type": "REG", "id": 1, "reg": {"id": 1, "flags": 0, "pos": 0, $fown, "name": "/dev/null"}},
{"type": "UNIXSK", "id": 2, "usk": $(usk 2 50 1 10 0 "=00listen=3Dhere")},
{"type": "UNIXSK", "id": 3, "usk": $(usk 3 51 1 1 52 "/run/app/sock" ', "name_dir": "/run/app", "shutdown": "WRITE"')},
{"type": "UNIXSK", "id": 4, "usk": $(usk 4 52 2 7 0 "")},
{"type": "INETSK", "id": 5, "isk": $(isk 5 2 1 6 10 127.0.0.1 80 0.0.0.0 0 ', "ifname": "lo"')},
{"type": "INETSK", "id": 6, "isk": $(isk 6 2 1 6 1 10.1.2.3 5555 192.0.2.7 443)},
{"type": "INETSK", "id": 7, "isk": $(isk 7 10 2 17 7 ::1 53 fe80::1 1234 ', "shutdown": "BOTH"')},
{"type": "INETSK", "id": 8, "isk": $(isk 8 10 3 0 7 2001:db8::5 0 :: 0)},
{"type": "NETLINKSK", "id": 9, "nlsk": {"id": 9, "ino": 300, "protocol": 0, "state": 0, "flags": 0, "portid": 4242, "groups": [17, 2], "dst_portid": 0, "dst_group": 0, $fown, $skopts}},
{"type": "NETLINKSK", "id": 10, "nlsk": {"id": 10, "ino": 301, "protocol": 16, "state": 1, "flags": 0, "portid": 0, "dst_portid": 7, "dst_group": 3, $fown, $skopts}},
{"type": "PACKETSK", "id": 11, "psk": {"id": 11, "type": 3, "protocol": 3, "flags": 0, "ifindex": 2, $fown, $skopts, "version": 0, "reserve": 0, "aux_data": false, "orig_dev": false, "vnet_hdr": false, "loss": false, "timestamp": 0, "copy_thresh": 0}},
{"type": "UNIXSK", "id": 12}
]}
EOF
# a socket only in the older per-kind image
echo "{\"magic\": \"INETSK\", \"entries\": [$(isk 20 2 2 17 7 0.0.0.0 68 0.0.0.0 0)]}" | enc inetsk.img
echo "{\"magic\": \"FDINFO\", \"entries\": [$(fd 1 REG 0), $(fd 2 UNIXSK 3), $(fd 3 UNIXSK 4), $(fd 4 UNIXSK 5), $(fd 5 INETSK 6), $(fd 6 INETSK 7), $(fd 7 INETSK 8), $(fd 8 INETSK 9), $(fd 9 NETLINKSK 10), $(fd 10 NETLINKSK 11), $(fd 11 PACKETSK 12), $(fd 12 UNIXSK 13), $(fd 20 INETSK 14), $(fd 1 REG 15)]}" | enc fdinfo-1.img
echo "{\"magic\": \"FDINFO\", \"entries\": [$(fd 1 REG 0), $(fd 6 INETSK 3)]}" | enc fdinfo-2.img

if [ -s "$T/gen.failed" ]; then
	fail image-explore/sk-synthetic "cannot encode $(tr '\n' ' ' <"$T/gen.failed"): $(head -1 "$T/gen.err")"
elif [ -z "$CRIT" ]; then
	skip image-explore/sk-synthetic "Debian's crit is not installed"
else
	"$STASIS" image x "$d" sk >"$T/sk.txt" 2>"$T/err" &&
		"$STASIS" image x "$d" sk --json >"$T/sk.json" 2>>"$T/err"
	if out=$("$PY" "$CHECK" sk "$CRIT" "$d" "$T/sk.txt" "$T/sk.json" 2>&1); then
		pass image-explore/sk-synthetic
	else
		fail image-explore/sk-synthetic "$out $(head -1 "$T/err")"
	fi
	# the check notices a wrong address, a wrong state, a socket too many
	for plant in 's/192.0.2.7/192.0.2.8/' 's/LISTEN /CLOSE  /' '$s/$/\n\t     99: UNIX    STREAM    CLOSE       ino 1/'; do
		sed "$plant" "$T/sk.txt" >"$T/sk-bad.txt"
		if "$PY" "$CHECK" sk "$CRIT" "$d" "$T/sk-bad.txt" "$T/sk.json" >/dev/null 2>&1; then
			fail image-explore/sk-check-fails "a text changed by '$plant' passed"
		else
			pass "image-explore/sk-check-fails/$plant"
		fi
	done
	sed 's/"portid": 4242/"portid": 4243/' "$T/sk.json" >"$T/sk-bad.json"
	if "$PY" "$CHECK" sk "$CRIT" "$d" "$T/sk.txt" "$T/sk-bad.json" >/dev/null 2>&1; then
		fail image-explore/sk-check-fails-json "a changed portid passed"
	else
		pass image-explore/sk-check-fails-json
	fi
fi

# ---- --json of every explorer: the same as the text, and as the images ----
check_json() { # NAME DIR WHAT...
	local name=$1 dir=$2 what out
	shift 2
	for what in "$@"; do
		if ! "$STASIS" image x "$dir" "$what" >"$T/x.txt" 2>"$T/err" ||
			! "$STASIS" image x "$dir" "$what" --json >"$T/x.json" 2>>"$T/err"; then
			fail "$name/$what" "$(head -1 "$T/err")"
		elif out=$("$PY" "$CHECK" "$what" "$STASIS" "$dir" "$T/x.txt" "$T/x.json" 2>&1); then
			pass "$name/$what"
		else
			fail "$name/$what" "$out"
		fi
	done
}
for dir in "$FIXTURES"/images/*/; do
	check_json "image-explore/json/$(basename "$dir")" "$dir" ps fds mems rss
done
check_json image-explore/json/synthetic "$d" fds

# the JSON check fails on a planted difference
"$STASIS" image x "$FIXTURES/images/pipes" mems --json >"$T/m.json"
"$STASIS" image x "$FIXTURES/images/pipes" mems >"$T/m.txt"
sed '0,/"prot": "r--"/s//"prot": "rw-"/' "$T/m.json" >"$T/m-bad.json"
if "$PY" "$CHECK" mems "$STASIS" "$FIXTURES/images/pipes" "$T/m.txt" "$T/m-bad.json" >/dev/null 2>&1; then
	fail image-explore/json-check-fails "a changed protection passed"
else
	pass image-explore/json-check-fails
fi

# ---- usage ----
if ! "$STASIS" image x "$d" sockets 2>"$T/err" && grep -q "sk" "$T/err"; then
	pass image-explore/unknown-explorer
else
	fail image-explore/unknown-explorer "$(head -1 "$T/err")"
fi
if ! "$STASIS" image decode --json -i "$d/pstree.img" 2>/dev/null; then
	pass image-explore/json-only-for-x-and-stats
else
	fail image-explore/json-only-for-x-and-stats "decode took --json"
fi
