#!/usr/bin/env bash
# Processes with many fds (docs/restore.md "Trees and threads", docs/files.md
# "Reading many fds"):
#   fds/limit/*  a process of 2,000 fds of mixed kinds (bench/workload-fds:
#                files, pipes and unix socket pairs with data, eventfds),
#                started, dumped and restored under a hard limit of 2,800
#                open files: the restore's controller puts the task's own
#                descriptions at their numbers (holding them all above the
#                task's numbers needed about 4,500), and the restored
#                process checks every fd
# Each workload is killed by pid.
source "$(dirname "$0")/../lib.sh"

T=fds
WORKLOAD=$BUILD/bench/workload-fds
LIMIT=2800
PIDS=()

cleanup_fds() {
	local p
	for p in "${PIDS[@]}"; do
		grep -qs workload-fds "/proc/$p/cmdline" && kill -KILL "$p" 2>/dev/null
	done
}
trap 'cleanup_fds; rm -rf "$_SUITE_TMP"' EXIT

test_limit() {
	local dir pid rpid verdict
	if [ ! -x "$WORKLOAD" ] || ! command -v prlimit >/dev/null; then
		fail $T/limit "$WORKLOAD or prlimit is missing"
		return
	fi
	dir=$(scratch_dir)
	mkdir "$dir/files" "$dir/img"
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			((fd > 2)) && eval "exec $fd>&-"
		done
		exec prlimit --nofile=$LIMIT:$LIMIT setsid "$WORKLOAD" mixed:2000 "$dir/files" \
			"$dir/pid" "$dir/verdict" </dev/null >/dev/null 2>&1
	) &
	PIDS+=($!)
	disown $!
	if ! wait_file "$dir/pid"; then
		fail $T/limit/start "the workload did not start"
		return
	fi
	pid=$(<"$dir/pid")
	PIDS+=("$pid")
	if ! "$STASIS" dump -t "$pid" -D "$dir/img" -o dump.log -v4 2>"$dir/dump.err"; then
		fail $T/limit/dump "$(head -c 400 "$dir/dump.err")"
		return
	fi
	pass $T/limit/dump
	wait_gone "$pid"
	if ! prlimit --nofile=$LIMIT:$LIMIT "$STASIS" restore -D "$dir/img" -d \
		--pidfile "$dir/rpid" -o restore.log -v4 2>"$dir/restore.err"; then
		fail $T/limit/restore "$(head -c 400 "$dir/restore.err")"
		return
	fi
	pass $T/limit/restore
	rpid=$(<"$dir/rpid")
	PIDS+=("$rpid")
	kill -TERM "$rpid"
	if ! wait_file "$dir/verdict"; then
		fail $T/limit/verdict "no verdict from the restored process"
		return
	fi
	verdict=$(<"$dir/verdict")
	if [ "$verdict" = ok ]; then
		pass $T/limit/verdict
	else
		fail $T/limit/verdict "the restored process says: $verdict"
	fi
	wait_gone "$rpid"
}

test_limit
