#!/usr/bin/env bash
# Terminals (docs/files.md, "Terminals"): a shell job on a pty dumped with -j
# and restored with -j from another pty. The scenario is in tty-job.py
# (python3's pty module stands in for the shells and terminals).
source "$(dirname "$0")/../lib.sh"
python3 "$SRC/tests/suites/tty-job.py" "$_SUITE_TMP"
