#!/usr/bin/env bash
# stasis image stats: every field of stats-dump (CRIU fixtures, and a dump by
# stasis) in the text and in the JSON, with the values decode shows; no
# statistics is an error.
source "$(dirname "$0")/../lib.sh"
T=$(scratch_dir)
PY=/usr/bin/python3

compare() { # NAME DIR
	if ! "$STASIS" image stats --json "$2" >"$T/json" 2>"$T/err" ||
		! "$STASIS" image stats "$2" >"$T/text" 2>>"$T/err"; then
		fail "$1" "$(head -1 "$T/err")"
		return
	fi
	"$STASIS" image decode -i "$2/stats-dump" -o "$T/decoded" 2>/dev/null
	if "$PY" - "$T/json" "$T/text" "$T/decoded" <<'EOF'; then pass "$1"; else fail "$1" "differs from decode"; fi
import json, sys
got = json.load(open(sys.argv[1]))["dump"]
text = open(sys.argv[2]).read().split("\n")
want = json.load(open(sys.argv[3]))["entries"][0]["dump"]
ok = len(got) == len(want) and len(want) > 5
for k, v in want.items():
    key = k + "_us" if k.endswith("_time") else k
    ok = ok and got.get(key) == v
    ok = ok and any(line.split()[:2] == [k, str(v)] for line in text if line.strip())
sys.exit(0 if ok else 1)
EOF
}

for dir in "$FIXTURES"/images/*/; do
	compare "image-stats/fixture/$(basename "$dir")" "$dir"
done

# a dump by stasis (the process stays: -R)
sleep 100 </dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 251>&- &
pid=$!
mkdir -p "$T/img"
if "$STASIS" dump -t "$pid" -D "$T/img" -R -o dump.log 2>"$T/err"; then
	compare image-stats/stasis-dump "$T/img"
else
	fail image-stats/stasis-dump "dump: $(head -1 "$T/err")"
fi
{
	kill -KILL "$pid"
	wait "$pid"
} 2>/dev/null

if ! "$STASIS" image stats "$T" >/dev/null 2>"$T/err" && grep -q "no statistics" "$T/err"; then
	pass image-stats/none
else
	fail image-stats/none "no error for a directory without statistics"
fi
