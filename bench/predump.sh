#!/usr/bin/env bash
# Pre-dump and incremental dumps (docs/predump.md) of a process of SIZE GiB
# that writes PERMILLE thousandths of its pages per second (default 10: 1 %).
# Reports, from stats-dump: the frozen time of a plain dump, of a pre-dump,
# and of the final dump after 1, 2 and 3 pre-dump rounds (a round a second),
# the pages written per round, and stasis's peak memory (bench/rusage,
# anonymous RSS) during a pre-dump. Images on tmpfs; the target is killed by
# pid at the end. Issue 7's target: final frozen time <= 5 % of the plain
# dump's; stasis's peak memory during a pre-dump under 64 MiB.
#
# Usage: bench/predump.sh [SIZE_GIB [PERMILLE]]   BUILD=DIR (default build/)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
STASIS=${STASIS:-$BUILD/stasis}
SIZE=${1:-4} PERMILLE=${2:-10}
ninja -C "$BUILD" stasis bench/workload-dirty bench/rusage >/dev/null || exit 1
WORKLOAD=$BUILD/bench/workload-dirty RUSAGE=$BUILD/bench/rusage
dir=$(mktemp -d /dev/shm/stasis-predump.XXXXXX) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && grep -qs workload-dirty "/proc/$pid/cmdline" && kill -KILL "$pid"
	rm -rf "$dir"
}
trap cleanup EXIT

start() {
	rm -f "$dir/pid"
	setsid "$WORKLOAD" $((SIZE * 1024)) "$PERMILLE" "$dir/pid" </dev/null >/dev/null 2>&1 &
	while [ ! -s "$dir/pid" ]; do sleep 0.1; done
	pid=$(<"$dir/pid")
}
stat_of() { # DIR FIELD
	"$STASIS" image stats "$1" --json 2>/dev/null | tr ',{}' '\n\n\n' |
		sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" | head -1
}
ms() { awk -v us="${1:-0}" 'BEGIN { printf "%.1f", us / 1000 }'; }

start
mkdir -p "$dir/plain"
"$STASIS" dump -R -t "$pid" -D "$dir/plain" || exit 1
plain=$(stat_of "$dir/plain" frozen_time_us)
printf '%-34s %10s ms\n' "plain dump, frozen" "$(ms "$plain")"
rm -rf "$dir/plain"

for rounds in 1 2 3; do
	prev=
	for ((k = 1; k <= rounds; k++)); do
		mkdir -p "$dir/r$rounds-$k"
		if [ "$k" = 1 ]; then
			"$RUSAGE" "$dir/rusage" "$STASIS" pre-dump -t "$pid" -D "$dir/r$rounds-$k" || exit 1
			peak=$(sed -n 's/.*anon_kib=\([0-9]*\).*/\1/p' "$dir/rusage")
		else
			"$STASIS" pre-dump -t "$pid" -D "$dir/r$rounds-$k" --prev-images-dir "../$prev" || exit 1
		fi
		printf '%-34s %10s ms, %s pages written\n' "  round $k of $rounds: pre-dump frozen" \
			"$(ms "$(stat_of "$dir/r$rounds-$k" frozen_time_us)")" \
			"$(stat_of "$dir/r$rounds-$k" pages_written)"
		prev=r$rounds-$k
		sleep 1
	done
	mkdir -p "$dir/f$rounds"
	"$STASIS" dump -R -t "$pid" -D "$dir/f$rounds" --track-mem --prev-images-dir "../$prev" || exit 1
	f=$(stat_of "$dir/f$rounds" frozen_time_us)
	printf '%-34s %10s ms (%s %% of plain), %s pages written\n' \
		"final dump after $rounds round(s), frozen" "$(ms "$f")" \
		"$(awk -v f="$f" -v p="$plain" 'BEGIN { printf "%.1f", 100 * f / p }')" \
		"$(stat_of "$dir/f$rounds" pages_written)"
	printf '%-34s %10s MiB\n' "  stasis anon peak, first pre-dump" \
		"$(awk -v k="${peak:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
	rm -rf "$dir"/r$rounds-* "$dir/f$rounds"
done
