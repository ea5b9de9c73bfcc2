#!/usr/bin/env bash
# The zoo through the real cycle: start, stasis dump, stasis restore, SIGTERM,
# verdict (docs/testing.md). One line per program: PASS/FAIL/SKIP zoo/NAME.
#
#   tests/suites/zoo.sh [NAME...]      all programs, or only those named
#
# While `stasis dump` answers "not implemented", the first dump says so and
# every test is skipped with that reason; the cycle switches on by itself
# once the engine exists. ZOO_KEEP=1 keeps each test's directory (pid file,
# verdict, program.log, images/, dump.log, restore.log) and names it.
source "$(dirname "$0")/../lib.sh"
source "$SRC/tests/zoo/harness.sh"

# Every program is killed after its dump as a big one is: with a last remote
# call, its memory freed from stasis's side too (src/dump/kill.c). The
# restored program's own verdict then shows the kill came after the images.
export STASIS_REAP_MIN_KIB=1

zoo_suite checkpoint zoo "$@"
