#!/usr/bin/env bash
# The command line: criu-style options, refusals by name, help, version, and
# `stasis log decode` on logs the binary itself wrote.
source "$(dirname "$0")/../lib.sh"
dir=$(scratch_dir)

# expect NAME EXIT_WANTED REGEX -- command...: checks status and stderr+stdout
expect() {
	local name=$1 want=$2 re=$3 out rc
	shift 4
	out=$("$@" 2>&1)
	rc=$?
	if [ "$want" = 0 ] && [ $rc -ne 0 ]; then
		fail "$name" "exit $rc, wanted 0: $out"
	elif [ "$want" != 0 ] && [ $rc -eq 0 ]; then
		fail "$name" "exit 0, wanted failure: $out"
	elif ! grep -Eq -- "$re" <<<"$out"; then
		fail "$name" "output does not match /$re/: $out"
	else
		pass "$name"
	fi
}

expect cli/version 0 '^Version: [0-9]+\.[0-9]+$' -- "$STASIS" --version
expect cli/help 0 'stasis check' -- "$STASIS" --help
expect cli/no-command 1 'Usage' -- "$STASIS"
expect cli/unknown-command 1 "unknown command 'frobnicate'" -- "$STASIS" frobnicate
expect cli/unknown-long-option 1 "unknown option '--no-such-thing'" -- "$STASIS" check --no-such-thing
expect cli/unknown-short-option 1 'unknown option -Q' -- "$STASIS" check -Q
expect cli/unsupported-option-by-name 1 'option --lazy-pages is not supported' -- "$STASIS" check --lazy-pages
expect cli/option-wrong-command 1 "option --feature does not apply to 'dump'|not implemented" -- "$STASIS" dump --feature x
expect cli/bad-verbosity 1 '-v takes a level from 0 to 4' -- "$STASIS" check -v9
expect cli/bad-log-format 1 'text or binary' -- "$STASIS" check --log-format=xml
expect cli/page-server-not-built 1 "command 'page-server' is not implemented yet" -- "$STASIS" page-server
expect cli/pre-dump-needs-pid 1 'stasis pre-dump: -t PID and -D DIR are required' -- "$STASIS" pre-dump -D /tmp
expect cli/track-mem-needs-prev 1 '--track-mem needs --prev-images-dir' -- "$STASIS" dump -t 1 -D /tmp --track-mem
expect cli/iterative-bad-count 1 '--max-iterations takes a number from 1 to 100' -- "$STASIS" dump --iterative --max-iterations 0
expect cli/cancel-takes-dir-only 1 '--cancel takes -D DIR only' -- "$STASIS" pre-dump --cancel -t 1 -D /tmp
expect cli/dump-needs-pid 1 'stasis dump: -t PID and -D DIR are required' -- "$STASIS" dump -D /tmp
expect cli/dump-bad-pid 1 '-t takes a process id' -- "$STASIS" dump -t abc -D /tmp
expect cli/dump-missing-pid 1 'pid 999999999 does not exist|-t takes a process id' -- "$STASIS" dump -t 999999999 -D "$dir"
expect cli/dump-help 0 'Usage: stasis dump -t PID' -- "$STASIS" dump --help
expect cli/restore-help 0 'Usage: stasis restore -D DIR' -- "$STASIS" restore --help
expect cli/restore-empty-dir 1 'cannot open the image directory' -- "$STASIS" restore -D "$dir/none"
expect cli/options-after-command 0 'present|supported' -- "$STASIS" check -v0
expect cli/options-before-command 0 'present|supported' -- "$STASIS" -v0 check

# A binary log written by the real binary decodes to text with its records.
if "$STASIS" check -o "$dir/check.log" -v4 >/dev/null 2>&1 &&
	"$STASIS" log decode "$dir/check.log" >"$dir/check.txt" 2>&1 &&
	grep -Eq '^\([0-9]{2}\.[0-9]{6}\) stasis [0-9.]+: check$' "$dir/check.txt"; then
	pass cli/log-decode
else
	fail cli/log-decode "$(head -5 "$dir/check.txt" 2>/dev/null)"
fi

# The same run in text mode gives the same lines, but for timestamps and the
# numbers that differ between two runs (pids of probe children).
if "$STASIS" check -o "$dir/check-text.log" --log-format=text -v4 >/dev/null 2>&1 &&
	diff <(sed 's/[0-9a-f]*[0-9][0-9a-f]*/N/g' "$dir/check.txt") \
		<(sed 's/[0-9a-f]*[0-9][0-9a-f]*/N/g' "$dir/check-text.log") >"$dir/diff" &&
	[ "$(wc -l <"$dir/check.txt")" -gt 1 ]; then
	pass cli/log-text-equals-decoded
else
	fail cli/log-text-equals-decoded "$(head -5 "$dir/diff")"
fi

# A cut log decodes what it has and says it is truncated.
size=$(stat -c %s "$dir/check.log")
head -c $((size - 3)) "$dir/check.log" >"$dir/cut.log"
expect cli/log-decode-truncated 1 'truncated at offset' -- "$STASIS" log decode "$dir/cut.log"
expect cli/log-decode-not-a-log 1 'not a stasis binary log' -- "$STASIS" log decode /etc/hostname
expect cli/log-decode-missing 1 'cannot open' -- "$STASIS" log decode "$dir/nonexistent"

# --display-stats prints criu's summary after a dump and a restore.
(
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	exec setsid sleep 600
) </dev/null >/dev/null 2>&1 &
sleeper=$!
disown "$sleeper"
sleep 0.3
mkdir -p "$dir/stats"
expect cli/dump-display-stats 0 'Memory pages written: [1-9]' -- "$STASIS" dump -t "$sleeper" -D "$dir/stats" --display-stats
while [ -e /proc/$sleeper ]; do sleep 0.1; done
expect cli/restore-display-stats 0 'Pages restored: [1-9]' -- "$STASIS" restore -D "$dir/stats" -d --display-stats
kill -9 "$sleeper" 2>/dev/null
