#!/usr/bin/env bash
# Install what stasis needs on Debian 12 (as root), then build it in ./build.
# Safe to run again: packages already present are not fetched twice.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}

PACKAGES=(
	meson ninja-build pkg-config gcc libc6-dev python3
	protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev
	libzstd-dev liblz4-dev libmnl-dev libcmocka-dev libjson-c-dev
	criu          # Debian's crit 3.17: an oracle for the image format in the tests
	clang libclang-rt-14-dev # libFuzzer for the image decoder's fuzz test
	procps gdb    # tests look at processes and core files
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: run as root to install: ${missing[*]}" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/stasis-apt.log 2>&1 ||
		{ cat /tmp/stasis-apt.log; exit 1; }
fi

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" >/dev/null || meson setup "$BUILD" "$SRC"
fi
ninja -C "$BUILD" >/dev/null || ninja -C "$BUILD"
echo "setup: built $BUILD/stasis"
