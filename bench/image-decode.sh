#!/usr/bin/env bash
# stasis image decode against Debian's crit decode, side by side.
#
# Generates a large image set with `stasis image encode`: a pagemap of
# 65,000 entries (as a process with 65,000 separate runs of dirty pages
# would have) and core images (copies of the CRIU 4.2 fixture's, which is
# full of registers and signal handlers). Each decode is run REPEAT times
# (default 5) writing to /dev/null; the best time of each is shown, with the
# ratio crit / stasis.
#
# Usage: bench/image-decode.sh   (BUILD=DIR for another build, REPEAT=N)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
STASIS=${STASIS:-$BUILD/stasis}
FIXTURES=${FIXTURES:-$SRC/../shared/fixtures/criu-4.2}
REPEAT=${REPEAT:-5}
ENTRIES=${ENTRIES:-65000}
CORES=${CORES:-100}
CRIT=$(command -v crit) || { echo "Debian's crit is not installed (apt-get install criu)"; exit 1; }
[ -x "$STASIS" ] || { echo "no stasis binary at $STASIS (build first, or set BUILD)"; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/stasis-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# The pagemap: a head, then entries two pages apart (so none merge).
awk -v n="$ENTRIES" 'BEGIN {
	printf "{\"magic\": \"PAGEMAP\", \"entries\": [{\"pages_id\": 1}"
	base = 94000000000000
	for (i = 0; i < n; i++)
		printf ", {\"vaddr\": %d, \"compat_nr_pages\": 0, \"flags\": 4, \"nr_pages\": %d}", base + i * 3 * 4096, 1 + i % 2
	printf "]}\n"
}' >"$dir/pagemap.json"
"$STASIS" image encode -i "$dir/pagemap.json" -o "$dir/pagemap-1.img" || exit 1

core=$FIXTURES/images/counter/core-21002.img
"$STASIS" image decode -i "$core" -o "$dir/core.json" || exit 1
for i in $(seq 1 "$CORES"); do
	"$STASIS" image encode -i "$dir/core.json" -o "$dir/core-$i.img" || exit 1
done

# Times come from bash 5's EPOCHREALTIME (microseconds), without forking.
# best_ms CMD...: the best wall time of REPEAT runs, in ms with one decimal.
best_ms() {
	local best='' t0 t1 i
	for ((i = 0; i < REPEAT; i++)); do
		t0=${EPOCHREALTIME/[.,]/}
		"$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; echo 0; return; }
		t1=${EPOCHREALTIME/[.,]/}
		t1=$((10#$t1 - 10#$t0))
		if [ -z "$best" ] || [ "$t1" -lt "$best" ]; then best=$t1; fi
	done
	awk -v us="$best" 'BEGIN { printf "%.1f", us / 1e3 }'
}

decode_all_cores() { # tool
	local i
	for ((i = 1; i <= CORES; i++)); do
		if [ "$1" = crit ]; then
			"$CRIT" decode -i "$dir/core-$i.img" -o /dev/null || return 1
		else
			"$STASIS" image decode -i "$dir/core-$i.img" -o /dev/null || return 1
		fi
	done
}

row() { # label, crit ms, stasis ms
	awk -v l="$1" -v c="$2" -v s="$3" 'BEGIN {
		printf "%-34s %10.1f %10.1f %8.1fx\n", l, c, s, (s > 0 ? c / s : 0)
	}'
}

printf "%-34s %10s %10s %9s\n" "decode" "crit ms" "stasis ms" "ratio"
for mode in plain pretty; do
	opt=
	[ $mode = pretty ] && opt=--pretty
	c=$(best_ms "$CRIT" decode $opt -i "$dir/pagemap-1.img" -o /dev/null)
	s=$(best_ms "$STASIS" image decode $opt -i "$dir/pagemap-1.img" -o /dev/null)
	row "pagemap, $ENTRIES entries ($mode)" "$c" "$s"
	per_c=$(awk -v t="$c" -v n="$ENTRIES" 'BEGIN { printf "%.2f", t * 1000 / n }')
	per_s=$(awk -v t="$s" -v n="$ENTRIES" 'BEGIN { printf "%.3f", t * 1000 / n }')
	echo "    per entry: crit ${per_c} us, stasis ${per_s} us (start-up included)"
done
c=$(best_ms "$CRIT" decode -i "$dir/core-1.img" -o /dev/null)
s=$(best_ms "$STASIS" image decode -i "$dir/core-1.img" -o /dev/null)
row "one core image" "$c" "$s"
c=$(best_ms decode_all_cores crit)
s=$(best_ms decode_all_cores stasis)
row "$CORES core images, one run each" "$c" "$s"
c=$(best_ms "$CRIT" x "$FIXTURES/images/pipes" rss)
s=$(best_ms "$STASIS" image x "$FIXTURES/images/pipes" rss)
row "x pipes rss" "$c" "$s"
