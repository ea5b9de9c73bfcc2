# Shared helpers for tests/suites/*.sh. A suite prints one line per test:
#   PASS name | FAIL name: why | SKIP name: why
# and tests/run counts them. Source this file; it sets STASIS, BUILD, SRC.
set -u
: "${SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${BUILD:=$SRC/build}"
: "${STASIS:=$BUILD/stasis}"
: "${FIXTURES:=$SRC/../shared/fixtures/criu-4.2}"
export SRC BUILD STASIS FIXTURES

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: ${2:-}"; }
skip() { echo "SKIP $1: ${2:-}"; }

# Scratch directories live under one per-suite directory, removed when the
# suite exits (scratch_dir is called in $(...), a subshell, so it cannot keep a
# list of its own).
_SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/stasis-test.XXXXXX")
trap 'rm -rf "$_SUITE_TMP"' EXIT
scratch_dir() {
	mktemp -d "$_SUITE_TMP/d.XXXXXX"
}

# Polling helpers (some suites keep their own, with other units).
wait_file() { # FILE [SECONDS]: until FILE is not empty (default 30 s)
	local i
	for ((i = 0; i < ${2:-30} * 20; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
wait_gone() { # PID [SECONDS]: until /proc/PID is gone, reaped (default 10 s)
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.05
	done
	return 1
}
