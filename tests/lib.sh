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

# A scratch directory removed when the suite exits.
scratch_dir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/stasis-test.XXXXXX")
	_SCRATCH_DIRS+=("$d")
	echo "$d"
}
_SCRATCH_DIRS=()
_cleanup_scratch() {
	local d
	for d in "${_SCRATCH_DIRS[@]}"; do rm -rf "$d"; done
}
trap _cleanup_scratch EXIT
