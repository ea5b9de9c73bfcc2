#!/usr/bin/env bash
# stasis image core and stasis image anonymize on the images of one process
# with SIZE MiB of non-zero anonymous memory (bench/workload-mem, dumped by
# `stasis dump`): wall time and peak memory, which must stay bounded
# (stasis streams the pages in 1 MiB chunks; it never holds a whole file).
#
# ROUNDS times each command runs under bench/rusage; the best wall time and
# the largest peak RSS (ru_maxrss) and peak anonymous memory (RssAnon) are
# printed. The core file must hold the dumped memory (its size at least
# SIZE), the anonymised pages file the same size as the original.
#
# Usage: bench/image-tool.sh [SIZE_MIB]   (default 1024)
#   BUILD=DIR (default build/), ROUNDS=N (default 3), DIR=PARENT (default
#   /dev/shm: images, core and copy need about 2 x SIZE there)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
STASIS=${STASIS:-$BUILD/stasis}
ROUNDS=${ROUNDS:-3}
SIZE=${1:-1024}
RSS_BOUND_MIB=64 # "bounded": stasis's own memory under this, whatever the size

case $SIZE in *[!0-9]* | 0*) echo "SIZE_MIB is a whole number: $SIZE" >&2 && exit 2 ;; esac
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null || exit 1
ninja -C "$BUILD" stasis bench/workload-mem bench/rusage >/dev/null || exit 1
dir=$(mktemp -d "${DIR:-/dev/shm}/stasis-imagebench.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ] && grep -qs workload-mem "/proc/$pid/cmdline"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
	echo "FAILED: $*"
	exit 1
}
field() { tr ' ' '\n' <"$2" | sed -n "s/^$1=//p"; } # KEY FILE

# ---- the image set ----
"$BUILD/bench/workload-mem" "$SIZE" "$dir/pid" "$dir/verdict" </dev/null >/dev/null 2>&1 &
pid=$!
disown "$pid"
for _ in $(seq 2400); do [ -s "$dir/pid" ] && break; sleep 0.05; done
[ -s "$dir/pid" ] || fail "the workload did not start"
mkdir "$dir/img"
"$STASIS" dump -t "$pid" -D "$dir/img" -o dump.log || fail "stasis dump: $(tail -1 "$dir/img/dump.log" 2>/dev/null)"
pid=
pages=$(du -cb "$dir"/img/pages-*.img | tail -1 | cut -f1)
echo "image-tool bench: $SIZE MiB workload, pages $((pages >> 20)) MiB in $dir, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME COMMAND...: ROUNDS runs; best wall, largest peaks into $dir/NAME.best
run() {
	local name=$1 i best= rss=0 anon=0 w
	shift
	for ((i = 0; i < ROUNDS; i++)); do
		rm -rf "$dir/out"
		"$BUILD/bench/rusage" "$dir/$name.r" "$@" >/dev/null 2>"$dir/$name.err" ||
			fail "$name: $(head -1 "$dir/$name.err")"
		w=$(field wall_s "$dir/$name.r")
		[ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$w
		rss=$(awk -v a="$rss" -v b="$(field maxrss_kib "$dir/$name.r")" 'BEGIN { print (b > a ? b : a) }')
		anon=$(awk -v a="$anon" -v b="$(field anon_kib "$dir/$name.r")" 'BEGIN { print (b > a ? b : a) }')
	done
	echo "wall_s=$best maxrss_kib=$rss anon_kib=$anon" >"$dir/$name.best"
}
row() { printf "%-12s %-10s %-12s %-14s %s\n" "$@"; }
report() { # NAME BYTES
	local f=$dir/$1.best w
	w=$(field wall_s "$f")
	row "$1" "$(awk -v w="$w" 'BEGIN { printf "%.0f ms", 1000 * w }')" \
		"$(awk -v b="$2" -v w="$w" 'BEGIN { printf "%.2f GB/s", b / w / 1e9 }')" \
		"$(($(field maxrss_kib "$f") / 1024)) MiB" "$(($(field anon_kib "$f") / 1024)) MiB"
	[ "$(field maxrss_kib "$f")" -lt $((RSS_BOUND_MIB << 10)) ] ||
		fail "$1: peak RSS $(($(field maxrss_kib "$f") / 1024)) MiB, over $RSS_BOUND_MIB MiB"
}

run core "$STASIS" image core -D "$dir/img" -o "$dir/out"
core=$(stat -c %s "$dir"/out/core.*)
[ "$core" -ge $((SIZE << 20)) ] || fail "the core file has $core bytes, less than the memory"
run anonymize "$STASIS" image anonymize "$dir/img" "$dir/out"
[ "$(du -cb "$dir"/out/pages-*.img | tail -1 | cut -f1)" = "$pages" ] ||
	fail "the anonymised pages are not the size of the original"

row command wall "pages/wall" "peak RSS" "peak anon"
report core "$pages"
report anonymize "$pages"
echo "peak RSS under $RSS_BOUND_MIB MiB: bounded"
