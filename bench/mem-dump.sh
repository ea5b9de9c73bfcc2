#!/usr/bin/env bash
# Dumping memory: mem_dump_pages() on 1 GiB of non-zero anonymous memory,
# side by side with what the machine does alone (process_vm_readv into a
# reused buffer, write() to tmpfs), and stasis's peak RSS, which must not
# grow with the target's size. Target: 2.8 GB/s (1.4x CRIU 4.2's 2.0).
# Usage: bench/mem-dump.sh [SIZE_MIB [BUF_MIB [ROUNDS]]]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null
ninja -C "$BUILD" bench/mem-dump-bench >/dev/null
dir=$(mktemp -d /dev/shm/stasis-membench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "mem-dump bench: images in $dir (tmpfs), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/mem-dump-bench" "${1:-1024}" "$dir" "${2:-8}" "${3:-3}"
