#!/usr/bin/env bash
# Pre-dump and incremental dumps (docs/predump.md) of a process of SIZE GiB
# that writes PERMILLE thousandths of its pages per second (default 10: 1 %).
# Reports, from stats-dump: the frozen time of a plain dump, of a pre-dump,
# and of the final dump after 1, 2 and 3 pre-dump rounds (a round a second),
# the pages written per round, and stasis's peak memory (bench/rusage,
# anonymous RSS) during a pre-dump. Images on tmpfs; the target is killed by
# pid at the end. Issue 7's target: final frozen time <= 5 % of the plain
# dump's; stasis's peak memory during a pre-dump under 64 MiB. Then `dump -R
# --snapshot`: frozen time, wall time of the whole command (the background
# copy), pages copied ahead of a write, stasis's peak memory, and how long
# the tree was stopped before, to make its userfaultfds. The plain dump and
# the snapshot are repeated ROUNDS times (default 3), the best kept. Last,
# the slowdown a snapshot causes: a target of the same size writing random
# pages as fast as it can counts its writes (workload-dirty max); its writes
# per second in the 1.5 s before the snapshot, during the whole command
# (arming, freeze, background copy) and from 0.5 to 2 s after it.
#
# Usage: bench/predump.sh [SIZE_GIB [PERMILLE]]   BUILD=DIR (default build/) ROUNDS=N
# WORKLOAD_SHARED=1: the targets' memory is shared anonymous (workload-dirty).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
STASIS=${STASIS:-$BUILD/stasis}
SIZE=${1:-4} PERMILLE=${2:-10} ROUNDS=${ROUNDS:-3}
ninja -C "$BUILD" stasis bench/workload-dirty bench/rusage >/dev/null || exit 1
WORKLOAD=$BUILD/bench/workload-dirty RUSAGE=$BUILD/bench/rusage
dir=$(mktemp -d /dev/shm/stasis-predump.XXXXXX) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && grep -qs workload-dirty "/proc/$pid/cmdline" &&
		{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

start() { # [RATE [PROGRESS]]
	rm -f "$dir/pid"
	setsid "$WORKLOAD" $((SIZE * 1024)) "${1:-$PERMILLE}" "$dir/pid" ${2:+"$2"} </dev/null >/dev/null 2>&1 &
	while [ ! -s "$dir/pid" ]; do sleep 0.1; done
	pid=$(<"$dir/pid")
}
stat_of() { # DIR FIELD
	"$STASIS" image stats "$1" --json 2>/dev/null | tr ',{}' '\n\n\n' |
		sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" | head -1
}
ms() { awk -v us="${1:-0}" 'BEGIN { printf "%.1f", us / 1000 }'; }

best() { sort -n | head -1; }

start
echo "uptime: $(uptime)"
plain=$(for ((i = 0; i < ROUNDS; i++)); do
	mkdir -p "$dir/plain"
	"$STASIS" dump -R -t "$pid" -D "$dir/plain" || exit 1
	stat_of "$dir/plain" frozen_time_us
	rm -rf "$dir/plain"
done | best)
printf '%-34s %10s ms (best of %s)\n' "plain dump, frozen" "$(ms "$plain")" "$ROUNDS"

for ((i = 0; i < ROUNDS; i++)); do
	mkdir -p "$dir/snap"
	t0=$(date +%s%N)
	"$RUSAGE" "$dir/rusage" "$STASIS" dump -R --snapshot -t "$pid" -D "$dir/snap" -o dump.log -v4 ||
		exit 1
	t1=$(date +%s%N)
	"$STASIS" log decode "$dir/snap/dump.log" >"$dir/snap.log"
	echo "$(stat_of "$dir/snap" frozen_time_us) $(((t1 - t0) / 1000000))" \
		"$(sed -n 's/.*pages, \([0-9]*\) of them copied ahead.*/\1/p' "$dir/snap.log")" \
		"$(sed -n 's/.*anon_kib=\([0-9]*\).*/\1/p' "$dir/rusage")" \
		"$(sed -n 's/.*stopped \([0-9]*\) us to make.*/\1/p' "$dir/snap.log")" >>"$dir/snaps"
	rm -rf "$dir/snap"
done
read -r sf swall sfault speak sstop < <(sort -n "$dir/snaps" | head -1)
printf '%-34s %10s ms (best of %s; %s %% of plain), whole command %s ms,\n' \
	"snapshot (dump -R --snapshot), frozen" "$(ms "$sf")" "$ROUNDS" \
	"$(awk -v f="$sf" -v p="$plain" 'BEGIN { printf "%.1f", 100 * f / p }')" "$swall"
printf '%-34s %10s pages copied ahead of a write, stasis anon peak %s MiB\n' "" "$sfault" \
	"$(awk -v k="${speak:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
printf '%-34s %10s ms stopped before, to make the userfaultfds\n' "" "$(ms "$sstop")"

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
	own=$(for r in "$dir/f$rounds"/pre-*; do stat_of "$r" pages_written; done | paste -sd/)
	printf '%-34s %10s pages written by its own rounds while the tree ran\n' "" "${own:--}"
	printf '%-34s %10s MiB\n' "  stasis anon peak, first pre-dump" \
		"$(awk -v k="${peak:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
	rm -rf "$dir"/r$rounds-* "$dir/f$rounds"
done

# The slowdown: writes per second of a busy writer before, during and after a snapshot.
{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null
while [ -e "/proc/$pid" ]; do sleep 0.1; done
start max "$dir/progress"
sleep 2
mkdir -p "$dir/snap"
t0=$(date +%s%N)
"$STASIS" dump -R --snapshot -t "$pid" -D "$dir/snap" || exit 1
t1=$(date +%s%N)
sleep 2
rate() { # FROM_NS TO_NS: writes per second in the progress lines between them
	awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b { if (!n++) { t0 = $1; w0 = $2 } t = $1; w = $2 }
		END { if (t > t0) printf "%.0f", (w - w0) / ((t - t0) / 1e9); else print "?" }' "$dir/progress"
}
before=$(rate $((t0 - 1500000000)) "$t0") during=$(rate "$t0" "$t1")
after=$(rate $((t1 + 500000000)) $((t1 + 2000000000)))
printf '%-34s %s writes/s before, %s during (%s ms, %s %%), %s after; frozen %s ms\n' \
	"busy writer, snapshot" "$before" "$during" "$(((t1 - t0) / 1000000))" \
	"$(awk -v d="$during" -v b="$before" 'BEGIN { printf "%.0f", 100 * d / b }')" "$after" \
	"$(ms "$(stat_of "$dir/snap" frozen_time_us)")"
