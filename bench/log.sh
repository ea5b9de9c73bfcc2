#!/usr/bin/env bash
# Cost per log call: stasis binary records vs text (snprintf + write per call).
# Usage: bench/log.sh [CALLS] — builds if needed, logs to a tmpfs directory.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" >/dev/null
ninja -C "$BUILD" bench/log-bench >/dev/null
dir=$(mktemp -d /dev/shm/stasis-logbench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "log bench: ${1:-1000000} calls per logger, files in $dir"
"$BUILD/bench/log-bench" "$dir" "${1:-1000000}"
