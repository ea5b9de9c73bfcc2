/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /proc parsers: on canned texts of this machine (tests/unit/base/
 * proc-samples: tricky task names, a zombie, kernel threads, nested pid
 * namespaces, every fdinfo kind) and hand-made broken ones, then on live
 * processes compared with what the kernel says through system calls.
 *
 * Tests that start processes put them in their own process group and
 * register them; the teardown kills the groups and reaps everything (this
 * binary is a child subreaper, so grandchildren come back to it too).
 */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/proc.h"

static const char *self_exe;
static char log_path[] = "/tmp/stasis-test-proc-log.XXXXXX";

/* ---- helpers ---- */

static char *sample(const char *name, size_t *ret_len)
{
	char path[PATH_MAX];
	struct stat st;
	char *buf;
	int fd;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", PROC_SAMPLES, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	if (ret_len)
		*ret_len = (size_t)st.st_size;
	return buf;
}

/* text with the first occurrence of from replaced by to (heap). */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t head, len;
	char *out;

	assert_non_null(at);
	head = (size_t)(at - text);
	len = strlen(text) - strlen(from) + strlen(to);
	out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, text, head);
	strcpy(out + head, to);
	strcat(out, at + strlen(from));
	return out;
}

/* Processes started by a test: killed (with their process group) and reaped by the teardown. */
static pid_t started[8];
static size_t n_started;

static pid_t start_child(void)
{
	pid_t pid;

	assert_true(n_started < sizeof(started) / sizeof(started[0]));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* never outlive the test, even if it crashes */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		return 0;
	}
	setpgid(pid, pid);
	started[n_started++] = pid;
	return pid;
}

/* Reap a child that has exited (a zombie) and forget it: its pid may be reused. */
static void reap_started(pid_t pid)
{
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	for (size_t i = 0; i < n_started; i++)
		if (started[i] == pid)
			started[i] = started[--n_started];
}

static int kill_started(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_started; i++) {
		kill(-started[i], SIGKILL);
		kill(started[i], SIGKILL);
	}
	n_started = 0;
	/* everything left is ours (subreaper) and dying */
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
	return 0;
}

/* Wait until n bytes came through the pipe (one per process that is ready). */
static void wait_ready(int fd, int n)
{
	char c;

	while (n > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&pfd, 1, 20000), 1);
		assert_int_equal(read(fd, &c, 1), 1);
		n--;
	}
}

static void say_ready(int fd)
{
	if (write(fd, "r", 1) != 1)
		_exit(1);
}

static void *sleeper(void *arg)
{
	sem_post(arg);
	for (;;)
		pause();
	return NULL;
}

/*
 * A thread that only sleeps. Returns once it runs: a fork() while a new
 * thread is still starting could copy a lock it holds (ASan's) into the child.
 */
static void start_sleeper(void)
{
	pthread_t t;
	sem_t started;

	if (sem_init(&started, 0, 0) || pthread_create(&t, NULL, sleeper, &started))
		_exit(1);
	while (sem_wait(&started) && errno == EINTR)
		;
	sem_destroy(&started);
}

/* A zombie child: exited with code, not reaped. */
static pid_t start_zombie(int code)
{
	siginfo_t si;
	pid_t pid = start_child();

	if (pid == 0)
		_exit(code);
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	return pid;
}

/* ---- /proc/PID/stat ---- */

static void test_stat_samples(void **state)
{
	struct proc_stat st;
	char *t;

	(void)state;
	t = sample("stat-cat", NULL);
	assert_int_equal(proc_parse_stat(t, "stat-cat", &st), 0);
	assert_int_equal(st.pid, 3516);
	assert_string_equal(st.comm, "cat");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 3513);
	assert_int_equal(st.pgrp, 3513);
	assert_int_equal(st.session, 32588);
	assert_int_equal(st.tty_nr, 0);
	assert_int_equal(st.tpgid, -1);
	assert_int_equal(st.flags, 4194304);
	assert_int_equal(st.minflt, 130);
	assert_int_equal(st.priority, 20);
	assert_int_equal(st.nice, 0);
	assert_int_equal(st.num_threads, 1);
	assert_int_equal(st.starttime, 191024);
	assert_int_equal(st.vsize, 3133440);
	assert_int_equal(st.rss, 397);
	assert_true(st.rsslim == UINT64_MAX);
	assert_int_equal(st.startcode, 94219460767744ULL);
	assert_int_equal(st.endcode, 94219460787625ULL);
	assert_int_equal(st.startstack, 140731139605936ULL);
	assert_int_equal(st.exit_signal, 17);
	assert_int_equal(st.policy, 0);
	assert_int_equal(st.start_data, 94219460803632ULL);
	assert_int_equal(st.end_data, 94219460805248ULL);
	assert_int_equal(st.start_brk, 94220379983872ULL);
	assert_int_equal(st.arg_start, 140731139611262ULL);
	assert_int_equal(st.arg_end, 140731139611282ULL);
	assert_int_equal(st.env_start, 140731139611282ULL);
	assert_int_equal(st.env_end, 140731139612651ULL);
	assert_int_equal(st.exit_code, 0);
	free(t);

	/* the name "a) b (c) d": only the last ')' closes it */
	t = sample("stat-comm-parens", NULL);
	assert_int_equal(proc_parse_stat(t, "stat-comm-parens", &st), 0);
	assert_string_equal(st.comm, "a) b (c) d");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 11280);
	assert_int_equal(st.blocked, 512); /* SIGUSR1 */
	free(t);

	t = sample("stat-comm-newline", NULL);
	assert_int_equal(proc_parse_stat(t, "stat-comm-newline", &st), 0);
	assert_string_equal(st.comm, "new\nline\\x");
	assert_int_equal(st.env_end, 140734394531826ULL);
	free(t);

	t = sample("stat-zombie", NULL);
	assert_int_equal(proc_parse_stat(t, "stat-zombie", &st), 0);
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.exit_code, 3 << 8);
	assert_int_equal(st.vsize, 0);
	assert_int_equal(st.startcode, 0);
	free(t);

	/* a workqueue worker: a name longer than TASK_COMM_LEN */
	t = sample("stat-kworker", NULL);
	assert_int_equal(proc_parse_stat(t, "stat-kworker", &st), 0);
	assert_string_equal(st.comm, "kworker/u8:0-ext4-rsv-conversion");
	assert_int_equal(st.state, 'I');
	assert_int_equal(st.ppid, 2);
	assert_int_equal(st.flags, 69238880);
	free(t);

	t = sample("stat-kthread", NULL);
	assert_int_equal(proc_parse_stat(t, "stat-kthread", &st), 0);
	assert_int_equal(st.pid, 2);
	assert_string_equal(st.comm, "kthreadd");
	assert_int_equal(st.ppid, 0);
	assert_int_equal(st.sigignore, 2147483647);
	free(t);
}

static void test_stat_broken(void **state)
{
	static const char *const bad[] = {
		"",
		"12",
		"12 (abc",
		"12 (abc) ",
		"12 (abc) R",
		"12 (abc) R 1 2 3",
		"x (abc) R 1",
		"12 abc) R 1",
	};
	struct proc_stat st = {.pid = 77};
	char *t, *u, *longname;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proc_parse_stat(bad[i], "bad", &st), -EINVAL);
	assert_int_equal(st.pid, 77); /* untouched on failure */

	t = sample("stat-cat", NULL);
	/* one field short */
	u = strdup(t);
	*strrchr(u, ' ') = '\n';
	*(strrchr(u, '\n') + 1) = '\0';
	assert_int_equal(proc_parse_stat(u, "short", &st), -EINVAL);
	free(u);
	/* a letter in a number */
	u = replace(t, " 3133440 ", " 31x3440 ");
	assert_int_equal(proc_parse_stat(u, "letter", &st), -EINVAL);
	free(u);
	/* a negative value in an unsigned field */
	u = replace(t, " 3133440 ", " -3133440 ");
	assert_int_equal(proc_parse_stat(u, "negative", &st), -EINVAL);
	free(u);
	/* 2^64 overflows */
	u = replace(t, "18446744073709551615", "18446744073709551616");
	assert_int_equal(proc_parse_stat(u, "overflow", &st), -EINVAL);
	free(u);
	/* a field a future kernel appends is accepted */
	u = replace(t, " 0\n", " 0 42\n");
	assert_int_equal(proc_parse_stat(u, "appended", &st), 0);
	assert_int_equal(st.exit_code, 0);
	free(u);
	/* a 64-byte name does not fit what the kernel can print */
	longname = malloc(80);
	assert_non_null(longname);
	memset(longname, 'n', 64);
	strcpy(longname + 64, ")");
	u = replace(t, "cat)", longname);
	assert_int_equal(proc_parse_stat(u, "long", &st), -EINVAL);
	free(u);
	free(longname);
	free(t);
}

/* ---- /proc/PID/status ---- */

static void test_status_samples(void **state)
{
	struct proc_status st;
	char *t;

	(void)state;
	t = sample("status-cat", NULL);
	assert_int_equal(proc_parse_status(t, "status-cat", &st), 0);
	assert_string_equal(st.name, "cat");
	assert_true(proc_status_has(&st, PROC_STATUS_UMASK));
	assert_int_equal(st.umask, 022);
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.tgid, 3518);
	assert_int_equal(st.pid, 3518);
	assert_int_equal(st.ppid, 3513);
	assert_int_equal(st.tracer_pid, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(st.uid[i], 0);
		assert_int_equal(st.gid[i], 0);
	}
	assert_int_equal(st.fdsize, 256);
	assert_int_equal(st.n_groups, 0);
	assert_null(st.groups);
	assert_int_equal(st.ns_levels, 1);
	assert_int_equal(st.nstgid[0], 3518);
	assert_int_equal(st.nspgid[0], 3513);
	assert_int_equal(st.nssid[0], 32588);
	assert_true(proc_status_has(&st, PROC_STATUS_KTHREAD));
	assert_int_equal(st.kthread, 0);
	assert_int_equal(st.thp_enabled, 1);
	assert_true(st.untag_mask == UINT64_MAX);
	assert_int_equal(st.threads, 1);
	assert_int_equal(st.sigq_queued, 0);
	assert_int_equal(st.sigq_limit, 96365);
	assert_int_equal(st.cap_inh, 0);
	assert_int_equal(st.cap_prm, 0x1fffeffffffULL);
	assert_int_equal(st.cap_eff, 0x1fffeffffffULL);
	assert_int_equal(st.cap_bnd, 0x1fffeffffffULL);
	assert_true(proc_status_has(&st, PROC_STATUS_CAPAMB));
	assert_int_equal(st.no_new_privs, 0);
	assert_true(proc_status_has(&st, PROC_STATUS_SECCOMP_FILTERS));
	assert_string_equal(st.spec_store_bypass, "vulnerable");
	assert_string_equal(st.spec_indirect_branch, "always enabled");
	assert_false(proc_status_has(&st, PROC_STATUS_X86_FEATURES));
	proc_status_done(&st);
	free(t);

	t = sample("status-comm-newline", NULL);
	assert_int_equal(proc_parse_status(t, "status-comm-newline", &st), 0);
	assert_string_equal(st.name, "new\nline\\x");
	assert_int_equal(st.sigblk, 0x1000000200ULL); /* SIGUSR1 and SIGRTMIN+3 */
	assert_int_equal(st.sigq_queued, 3);
	proc_status_done(&st);
	free(t);

	t = sample("status-zombie", NULL);
	assert_int_equal(proc_parse_status(t, "status-zombie", &st), 0);
	assert_int_equal(st.state, 'Z');
	assert_false(proc_status_has(&st, PROC_STATUS_UMASK));
	assert_false(proc_status_has(&st, PROC_STATUS_THP_ENABLED));
	assert_int_equal(st.fdsize, 0);
	assert_int_equal(st.ppid, 11289);
	proc_status_done(&st);
	free(t);

	t = sample("status-kthread", NULL);
	assert_int_equal(proc_parse_status(t, "status-kthread", &st), 0);
	assert_string_equal(st.name, "kthreadd");
	assert_int_equal(st.kthread, 1);
	assert_int_equal(st.ppid, 0);
	proc_status_done(&st);
	free(t);

	/* seen from the parent pid namespace: two levels */
	t = sample("status-pidns", NULL);
	assert_int_equal(proc_parse_status(t, "status-pidns", &st), 0);
	assert_int_equal(st.ns_levels, 2);
	assert_int_equal(st.nstgid[0], 11630);
	assert_int_equal(st.nstgid[1], 1);
	assert_int_equal(st.nspid[1], 1);
	assert_int_equal(st.nspgid[0], 11625);
	assert_int_equal(st.nspgid[1], 0);
	assert_int_equal(st.nssid[1], 0);
	proc_status_done(&st);
	free(t);
}

static void test_status_handmade(void **state)
{
	/* what an old kernel prints: only the lines every kernel has */
	static const char old[] = "Name:\told\n"
				  "State:\tS (sleeping)\n"
				  "Tgid:\t10\nPid:\t11\nPPid:\t1\nTracerPid:\t5\n"
				  "Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n"
				  "FDSize:\t64\nGroups:\t10 20 \n"
				  "VmSize:\t  100 kB\n"
				  "Threads:\t2\nSigQ:\t1/100\n"
				  "SigPnd:\t0000000000000001\nShdPnd:\t0000000000000002\n"
				  "SigBlk:\tfffffffe7ffbfeff\nSigIgn:\t0000000000001000\n"
				  "SigCgt:\t0000000180000000\n"
				  "CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n"
				  "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n"
				  "Some_future_line:\t what ever: 12\n";
	struct proc_status st;
	char *t, *u;

	(void)state;
	assert_int_equal(proc_parse_status(old, "old", &st), 0);
	assert_int_equal(st.present & (UINT64_C(1) << PROC_STATUS_NSTGID), 0);
	assert_false(proc_status_has(&st, PROC_STATUS_CAPAMB));
	assert_false(proc_status_has(&st, PROC_STATUS_SECCOMP));
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.tgid, 10);
	assert_int_equal(st.pid, 11);
	assert_int_equal(st.tracer_pid, 5);
	assert_int_equal(st.uid[0], 1);
	assert_int_equal(st.uid[3], 4);
	assert_int_equal(st.gid[1], 6);
	assert_int_equal(st.n_groups, 2);
	assert_int_equal(st.groups[0], 10);
	assert_int_equal(st.groups[1], 20);
	assert_int_equal(st.threads, 2);
	assert_int_equal(st.sigpnd, 1);
	assert_int_equal(st.shdpnd, 2);
	assert_int_equal(st.sigblk, 0xfffffffe7ffbfeffULL);
	assert_int_equal(st.sigcgt, 0x180000000ULL);
	assert_int_equal(st.cap_eff, 0xa80425fbULL);
	assert_int_equal(st.ns_levels, 0);
	proc_status_done(&st);

	t = sample("status-cat", NULL);

	/* x86 shadow stack lines, printed last */
	u = malloc(strlen(t) + 100);
	assert_non_null(u);
	sprintf(u, "%sx86_Thread_features:\tshstk wrss \nx86_Thread_features_locked:\tshstk \n", t);
	assert_int_equal(proc_parse_status(u, "shstk", &st), 0);
	assert_int_equal(st.x86_features, PROC_X86_FEATURE_SHSTK | PROC_X86_FEATURE_WRSS);
	assert_int_equal(st.x86_features_locked, PROC_X86_FEATURE_SHSTK);
	proc_status_done(&st);
	free(u);

	/* a line missing, twice, broken */
	u = replace(t, "Uid:\t0\t0\t0\t0\n", "");
	assert_int_equal(proc_parse_status(u, "no-uid", &st), -EINVAL);
	free(u);
	u = replace(t, "Pid:\t3518\n", "Pid:\t3518\nPid:\t3518\n");
	assert_int_equal(proc_parse_status(u, "twice", &st), -EINVAL);
	free(u);
	u = replace(t, "SigBlk:\t0000000000000000", "SigBlk:\t00000000000g0000");
	assert_int_equal(proc_parse_status(u, "bad-hex", &st), -EINVAL);
	free(u);
	u = replace(t, "Uid:\t0\t0\t0\t0", "Uid:\t0\t0\t0");
	assert_int_equal(proc_parse_status(u, "three-uids", &st), -EINVAL);
	free(u);
	u = replace(t, "NSpid:\t3518", "NSpid:\t3518\t1");
	assert_int_equal(proc_parse_status(u, "ns-levels", &st), -EINVAL);
	free(u);
	u = replace(t, "SigQ:\t0/96365", "SigQ:\t0 96365");
	assert_int_equal(proc_parse_status(u, "sigq", &st), -EINVAL);
	free(u);
	u = replace(t, "untag_mask:\t0x", "untag_mask:\t");
	assert_int_equal(proc_parse_status(u, "untag", &st), -EINVAL);
	free(u);
	u = replace(t, "Groups:\t \n", "Groups:\t1 -2 \n");
	assert_int_equal(proc_parse_status(u, "groups", &st), -EINVAL);
	free(u);
	u = replace(t, "Name:\tcat",
		    "Name:\t"
		    "0123456789012345678901234567890123456789012345678901234567890123");
	assert_int_equal(proc_parse_status(u, "long-name", &st), -EINVAL);
	free(u);
	free(t);
}

/* The Groups line of a task with NGROUPS_MAX groups: 700 KiB on one line. */
static void test_status_many_groups(void **state)
{
	enum { N = 65536 };
	struct proc_status st;
	char *line, *p, *t, *u;

	(void)state;
	line = malloc((size_t)(N + 1) * 12 + 16);
	assert_non_null(line);
	p = line + sprintf(line, "Groups:\t");
	for (int i = 0; i < N; i++)
		p += sprintf(p, "%d ", i * 3);
	strcpy(p, "\n");
	t = sample("status-cat", NULL);
	u = replace(t, "Groups:\t \n", line);
	assert_int_equal(proc_parse_status(u, "groups", &st), 0);
	assert_int_equal(st.n_groups, N);
	assert_int_equal(st.groups[0], 0);
	assert_int_equal(st.groups[N - 1], (N - 1) * 3);
	assert_int_equal(st.cap_bnd, 0x1fffeffffffULL); /* the lines after it still parsed */
	proc_status_done(&st);
	free(u);

	/* one more than the kernel allows */
	strcpy(p, "7 \n");
	u = replace(t, "Groups:\t \n", line);
	assert_int_equal(proc_parse_status(u, "too-many", &st), -EINVAL);
	free(u);
	free(t);
	free(line);
}

/* ---- limits, auxv, lists, small files ---- */

static void test_limits_sample(void **state)
{
	struct proc_limits l;
	char *t, *u;

	(void)state;
	t = sample("limits-cat", NULL);
	assert_int_equal(proc_parse_limits(t, "limits-cat", &l), 0);
	assert_true(l.lim[RLIMIT_CPU].rlim_cur == RLIM_INFINITY);
	assert_int_equal(l.lim[RLIMIT_STACK].rlim_cur, 8388608);
	assert_true(l.lim[RLIMIT_STACK].rlim_max == RLIM_INFINITY);
	assert_int_equal(l.lim[RLIMIT_CORE].rlim_cur, 0);
	assert_int_equal(l.lim[RLIMIT_NPROC].rlim_cur, 96365);
	assert_int_equal(l.lim[RLIMIT_NOFILE].rlim_cur, 20000);
	assert_int_equal(l.lim[RLIMIT_NOFILE].rlim_max, 20000);
	assert_int_equal(l.lim[RLIMIT_MSGQUEUE].rlim_max, 819200);
	assert_int_equal(l.lim[RLIMIT_NICE].rlim_cur, 0);
	assert_int_equal(l.lim[RLIMIT_RTPRIO].rlim_max, 0);
	assert_true(l.lim[RLIMIT_RTTIME].rlim_max == RLIM_INFINITY);

	/* a row a future kernel adds is skipped */
	u = malloc(strlen(t) + 100);
	assert_non_null(u);
	sprintf(u,
		"%sMax future thing          5                    6                    things    "
		"\n",
		t);
	assert_int_equal(proc_parse_limits(u, "future", &l), 0);
	free(u);

	u = replace(t, "Max nice priority", "Max nicer priority");
	assert_int_equal(proc_parse_limits(u, "no-nice", &l), -EINVAL);
	free(u);
	u = replace(t, "20000                20000", "20000                lots ");
	assert_int_equal(proc_parse_limits(u, "bad-value", &l), -EINVAL);
	free(u);
	assert_int_equal(proc_parse_limits("Max cpu time  1 1\n", "no-header", &l), -EINVAL);
	free(t);
}

static void test_auxv_sample(void **state)
{
	struct proc_auxv a;
	size_t len;
	char *t, *shifted;

	(void)state;
	t = sample("auxv-cat", &len);
	assert_int_equal(proc_parse_auxv(t, len, "auxv-cat", &a), 0);
	assert_int_equal(a.n, 22);
	assert_int_equal(a.ent[0].type, AT_SYSINFO_EHDR);
	assert_int_equal(a.ent[3].type, AT_PAGESZ);
	assert_int_equal(a.ent[3].value, 4096);
	assert_int_equal(a.ent[21].type, 28); /* AT_RSEQ_ALIGN */
	assert_int_equal(a.ent[21].value, 32);

	/* unaligned data */
	shifted = malloc(len + 1);
	assert_non_null(shifted);
	memcpy(shifted + 1, t, len);
	assert_int_equal(proc_parse_auxv(shifted + 1, len, "shifted", &a), 0);
	assert_int_equal(a.ent[3].value, 4096);
	free(shifted);

	assert_int_equal(proc_parse_auxv(t, len - 16, "no-null", &a), -EINVAL);
	assert_int_equal(proc_parse_auxv(t, len - 3, "odd", &a), -EINVAL);
	assert_int_equal(proc_parse_auxv(t, 0, "empty", &a), 0);
	assert_int_equal(a.n, 0);
	free(t);
}

static void test_pid_list(void **state)
{
	pid_t *pids = NULL;
	size_t n = 99;

	(void)state;
	assert_int_equal(proc_parse_pid_list("123 456 7 ", "list", &pids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 123);
	assert_int_equal(pids[2], 7);
	free(pids);
	assert_int_equal(proc_parse_pid_list("", "empty", &pids, &n), 0);
	assert_int_equal(n, 0);
	free(pids);
	assert_int_equal(proc_parse_pid_list("12\n", "nl", &pids, &n), 0);
	assert_int_equal(n, 1);
	free(pids);
	assert_int_equal(proc_parse_pid_list("12 x3", "letter", &pids, &n), -EINVAL);
	assert_int_equal(proc_parse_pid_list("12 0", "zero", &pids, &n), -EINVAL);
	assert_int_equal(proc_parse_pid_list("12 -3", "neg", &pids, &n), -EINVAL);
	assert_int_equal(proc_parse_pid_list("12 99999999999", "big", &pids, &n), -EINVAL);
	assert_int_equal(proc_parse_pid_list("12\n13", "2 lines", &pids, &n), -EINVAL);
}

static void test_small_values(void **state)
{
	char comm[PROC_COMM_MAX], *t, longname[80];
	uint64_t u;
	int64_t s;

	(void)state;
	assert_int_equal(proc_parse_u64("00400000\n", 16, "personality", &u), 0);
	assert_int_equal(u, 0x400000);
	assert_int_equal(proc_parse_u64("4294967295", 10, "loginuid", &u), 0);
	assert_int_equal(u, 4294967295ULL);
	assert_int_equal(proc_parse_u64("0x1f\n", 0, "prefixed", &u), 0);
	assert_int_equal(u, 0x1f);
	assert_int_equal(proc_parse_u64("50000\n", 0, "plain", &u), 0);
	assert_int_equal(u, 50000);
	assert_int_equal(proc_parse_u64("12 3\n", 10, "two", &u), -EINVAL);
	assert_int_equal(proc_parse_u64("\n", 10, "none", &u), -EINVAL);
	assert_int_equal(proc_parse_u64("-1\n", 10, "signed", &u), -EINVAL);
	assert_int_equal(proc_parse_s64("-1000\n", "oom", &s), 0);
	assert_int_equal(s, -1000);
	assert_int_equal(proc_parse_s64("-9223372036854775808", "min", &s), 0);
	assert_true(s == INT64_MIN);
	assert_int_equal(proc_parse_s64("9223372036854775808", "max+1", &s), -ERANGE);

	t = sample("comm-newline", NULL);
	assert_int_equal(proc_parse_comm(t, "comm-newline", comm), 0);
	assert_string_equal(comm, "new\nline\\x");
	free(t);
	assert_int_equal(proc_parse_comm("no newline", "comm", comm), -EINVAL);
	memset(longname, 'c', 64);
	strcpy(longname + 64, "\n");
	assert_int_equal(proc_parse_comm(longname, "long", comm), -EINVAL);
	longname[63] = '\n';
	longname[64] = '\0';
	assert_int_equal(proc_parse_comm(longname, "63", comm), 0);
	assert_int_equal(strlen(comm), 63);
}

/* ---- fdinfo, mountinfo, timers ---- */

static struct proc_fdinfo fdinfo_sample(const char *name)
{
	struct proc_fdinfo fi;
	char *t = sample(name, NULL);

	assert_int_equal(proc_parse_fdinfo(t, name, &fi), 0);
	assert_null(fi.buf);
	fi.buf = t; /* hand it over, for proc_fdinfo_free() */
	return fi;
}

/* The name:value fields of a kind-specific line: whole names only, blanks after the colon. */
static void test_fdinfo_field(void **state)
{
	const char *tfd = "3 events: 80000019 data:     deadbeefcafe  pos:0 ino:40e sdev:10";
	const char *wd = "wd:2 ino:35d sdev:fe00000 mask:2 ignored_mask:1 fhandle-bytes:8";
	uint64_t v = 7;

	(void)state;
	assert_int_equal(proc_fdinfo_field(tfd, "events", 16, &v), 0);
	assert_int_equal(v, 0x80000019);
	assert_int_equal(proc_fdinfo_field(tfd, "data", 16, &v), 0);
	assert_int_equal(v, 0xdeadbeefcafe);
	assert_int_equal(proc_fdinfo_field(tfd, "pos", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(proc_fdinfo_field(tfd, "sdev", 16, &v), 0);
	assert_int_equal(v, 0x10);
	assert_int_equal(proc_fdinfo_field(wd, "wd", 16, &v), 0);
	assert_int_equal(v, 2);
	/* "mask" is not the end of "ignored_mask" */
	assert_int_equal(proc_fdinfo_field(wd, "mask", 16, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(proc_fdinfo_field(wd, "ignored_mask", 16, &v), 0);
	assert_int_equal(v, 1);
	v = 7;
	assert_int_equal(proc_fdinfo_field(wd, "bytes", 16, &v), -ENOENT);
	assert_int_equal(proc_fdinfo_field(tfd, "nope", 16, &v), -ENOENT);
	assert_int_equal(proc_fdinfo_field("ino: x", "ino", 16, &v), -EINVAL);
	assert_int_equal(v, 7);
}

static void test_fdinfo_samples(void **state)
{
	struct proc_fdinfo fi;
	char *t, *u;

	(void)state;
	fi = fdinfo_sample("fdinfo-eventfd");
	assert_int_equal(fi.pos, 0);
	assert_int_equal(fi.flags, 02);
	assert_int_equal(fi.mnt_id, 17);
	assert_int_equal(fi.ino, 1038);
	assert_int_equal(fi.n_extra, 3);
	assert_string_equal(fi.extra[0].key, "eventfd-count");
	assert_string_equal(fi.extra[0].value, "5");
	assert_string_equal(proc_fdinfo_get(&fi, "eventfd-id"), "1");
	assert_string_equal(proc_fdinfo_get(&fi, "eventfd-semaphore"), "1");
	assert_null(proc_fdinfo_get(&fi, "pos"));
	proc_fdinfo_free(&fi);

	fi = fdinfo_sample("fdinfo-epoll");
	assert_int_equal(fi.n_extra, 1);
	assert_string_equal(fi.extra[0].key, "tfd");
	assert_string_equal(fi.extra[0].value,
			    "3 events: 80000019 data:     deadbeefcafe  pos:0 ino:40e sdev:10");
	proc_fdinfo_free(&fi);

	fi = fdinfo_sample("fdinfo-signalfd");
	assert_int_equal(fi.flags, 04002);
	assert_string_equal(proc_fdinfo_get(&fi, "sigmask"), "0000001000000200");
	proc_fdinfo_free(&fi);

	fi = fdinfo_sample("fdinfo-timerfd");
	assert_int_equal(fi.n_extra, 5);
	assert_string_equal(proc_fdinfo_get(&fi, "clockid"), "1");
	assert_string_equal(proc_fdinfo_get(&fi, "ticks"), "0");
	assert_string_equal(proc_fdinfo_get(&fi, "settime flags"), "00");
	assert_string_equal(proc_fdinfo_get(&fi, "it_value"), "(99, 998502277)");
	assert_string_equal(proc_fdinfo_get(&fi, "it_interval"), "(2, 300)");
	proc_fdinfo_free(&fi);

	fi = fdinfo_sample("fdinfo-inotify");
	assert_int_equal(fi.flags, 0);
	assert_int_equal(fi.n_extra, 2);
	assert_string_equal(fi.extra[0].key, "inotify wd");
	assert_true(!strncmp(fi.extra[0].value, "2 ino:35d sdev:fe00000 mask:2 ", 30));
	assert_string_equal(fi.extra[1].key, "inotify wd");
	assert_true(!strncmp(fi.extra[1].value, "1 ino:3c51a", 11));
	proc_fdinfo_free(&fi);

	fi = fdinfo_sample("fdinfo-fanotify");
	assert_int_equal(fi.n_extra, 3);
	assert_string_equal(fi.extra[0].key, "fanotify flags");
	assert_string_equal(fi.extra[0].value, "0 event-flags:8000");
	assert_string_equal(fi.extra[1].key, "fanotify mnt_id");
	assert_string_equal(fi.extra[2].key, "fanotify ino");
	proc_fdinfo_free(&fi);

	fi = fdinfo_sample("fdinfo-lock");
	assert_int_equal(fi.flags, 0100001);
	assert_int_equal(fi.ino, 10960929);
	assert_string_equal(proc_fdinfo_get(&fi, "lock"),
			    "1: FLOCK  ADVISORY  WRITE 2788 fe:00:10960929 0 EOF");
	proc_fdinfo_free(&fi);

	fi = fdinfo_sample("fdinfo-pidfd");
	assert_int_equal(fi.flags, 02000002);
	assert_string_equal(proc_fdinfo_get(&fi, "Pid"), "2792");
	assert_string_equal(proc_fdinfo_get(&fi, "NSpid"), "2792");
	proc_fdinfo_free(&fi);

	t = sample("fdinfo-eventfd", NULL);
	u = replace(t, "ino:\t1038\n", "");
	assert_int_equal(proc_parse_fdinfo(u, "no-ino", &fi), -EINVAL);
	free(u);
	u = replace(t, "flags:\t02", "flags:\t09");
	assert_int_equal(proc_parse_fdinfo(u, "not-octal", &fi), -EINVAL);
	free(u);
	u = replace(t, "pos:\t0", "pos:\t0 1");
	assert_int_equal(proc_parse_fdinfo(u, "two-pos", &fi), -EINVAL);
	free(u);
	free(t);
}

static void test_mountinfo_samples(void **state)
{
	static const char handmade[] =
		"100 1 0:50 /a\\040b /mnt/x\\011y\\012z\\134w rw,nosuid shared:5 master:3 "
		"propagate_from:2 unbindable - fuse.sshfs user@host:/dir\\040x rw,user_id=0\n"
		"101 100 259:1 / /empty\\040src rw - tmpfs  rw\n";
	struct proc_mount_table mt;
	struct proc_mount m;
	char *t, line[256];

	(void)state;
	t = sample("mountinfo-cat", NULL);
	assert_int_equal(proc_parse_mountinfo(t, "mountinfo-cat", &mt), 0);
	assert_int_equal(mt.n, 20);
	assert_int_equal(mt.mounts[0].mnt_id, 22);
	assert_int_equal(mt.mounts[0].parent_id, 27);
	assert_int_equal(mt.mounts[0].major, 0);
	assert_int_equal(mt.mounts[0].minor, 21);
	assert_string_equal(mt.mounts[0].root, "/");
	assert_string_equal(mt.mounts[0].mountpoint, "/proc");
	assert_string_equal(mt.mounts[0].options, "rw,relatime");
	assert_string_equal(mt.mounts[0].fstype, "proc");
	assert_string_equal(mt.mounts[0].source, "proc");
	assert_string_equal(mt.mounts[0].super_options, "rw");
	assert_int_equal(mt.mounts[2].minor, 6);
	assert_string_equal(mt.mounts[2].super_options,
			    "rw,size=12334492k,nr_inodes=3083623,mode=755");
	proc_mount_table_free(&mt);
	free(t);

	t = sample("mountinfo-tricky", NULL);
	assert_int_equal(proc_parse_mountinfo(t, "mountinfo-tricky", &mt), 0);
	assert_int_equal(mt.n, 22);
	m = mt.mounts[20];
	assert_string_equal(m.mountpoint, "/tmp/procsamp/mnt dir");
	assert_string_equal(m.source, "my src");
	assert_int_equal(m.shared, 1);
	assert_int_equal(m.master, 0);
	m = mt.mounts[21];
	assert_string_equal(m.mountpoint, "/tmp/procsamp/mnt dir/sub");
	assert_int_equal(m.parent_id, 63);
	assert_int_equal(m.shared, 0);
	assert_int_equal(m.master, 1);
	proc_mount_table_free(&mt);
	free(t);

	t = strdup(handmade);
	assert_non_null(t);
	assert_int_equal(proc_parse_mountinfo(t, "handmade", &mt), 0);
	assert_int_equal(mt.n, 2);
	m = mt.mounts[0];
	assert_string_equal(m.root, "/a b");
	assert_string_equal(m.mountpoint, "/mnt/x\ty\nz\\w");
	assert_string_equal(m.options, "rw,nosuid");
	assert_int_equal(m.shared, 5);
	assert_int_equal(m.master, 3);
	assert_int_equal(m.propagate_from, 2);
	assert_true(m.unbindable);
	assert_string_equal(m.fstype, "fuse.sshfs");
	assert_string_equal(m.source, "user@host:/dir x");
	assert_string_equal(m.super_options, "rw,user_id=0");
	m = mt.mounts[1];
	assert_int_equal(m.major, 259);
	assert_int_equal(m.minor, 1);
	assert_string_equal(m.source, "");
	assert_false(m.unbindable);
	proc_mount_table_free(&mt);
	free(t);

	static const char *const bad[] = {
		"22 27 0:21 / /proc rw,relatime proc proc rw",   /* no '-' */
		"22 27 0-21 / /proc rw,relatime - proc proc rw", /* devno */
		"22 x 0:21 / /proc rw,relatime - proc proc rw",  /* parent */
		"22 27 0:21 / /proc",                            /* short */
		"22 27 0:21 / /proc rw - proc",                  /* no source */
		"22 27 0:21 / /proc rw shared:x - proc proc rw", /* peer group */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(line, bad[i]);
		assert_int_equal(proc_parse_mountinfo_line(line, "bad", 1, &m), -EINVAL);
	}
}

static void test_timers_sample(void **state)
{
	struct proc_posix_timer *tm;
	size_t n;
	char *t, *u;

	(void)state;
	t = sample("timers-three", NULL);
	assert_int_equal(proc_parse_timers(t, "timers-three", &tm, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(tm[0].id, 2);
	assert_int_equal(tm[0].signo, SIGALRM);
	assert_int_equal(tm[0].sigval, 0x1234);
	assert_int_equal(tm[0].notify, SIGEV_THREAD_ID | SIGEV_SIGNAL);
	assert_int_equal(tm[0].notify_pid, 11289);
	assert_int_equal(tm[0].clock_id, CLOCK_REALTIME);
	assert_int_equal(tm[1].id, 1);
	assert_int_equal(tm[1].notify, SIGEV_NONE);
	assert_int_equal(tm[1].clock_id, -6); /* CLOCK_PROCESS_CPUTIME_ID of the process */
	assert_int_equal(tm[2].id, 0);
	assert_int_equal(tm[2].signo, 34);
	assert_int_equal(tm[2].notify, SIGEV_SIGNAL);
	assert_int_equal(tm[2].clock_id, CLOCK_MONOTONIC);
	free(tm);

	assert_int_equal(proc_parse_timers("", "none", &tm, &n), 0);
	assert_int_equal(n, 0);
	free(tm);

	u = replace(t, "ClockID: 1\n", "");
	assert_int_equal(proc_parse_timers(u, "cut", &tm, &n), -EINVAL);
	free(u);
	u = replace(t, "none/pid", "bogus/pid");
	assert_int_equal(proc_parse_timers(u, "notify", &tm, &n), -EINVAL);
	free(u);
	u = replace(t, "signal: 14/", "signal: 14:");
	assert_int_equal(proc_parse_timers(u, "signal", &tm, &n), -EINVAL);
	free(u);
	u = replace(t, "ID: 1\n", "ID: 1\nextra: 1\n");
	assert_int_equal(proc_parse_timers(u, "extra", &tm, &n), -EINVAL);
	free(u);
	free(t);
}

/* ---- live: this process ---- */

static void test_live_stat_self(void **state)
{
	struct proc_stat st, th;
	char name[16];

	(void)state;
	assert_int_equal(prctl(PR_SET_NAME, "t) (x y)"), 0);
	assert_int_equal(proc_read_stat(getpid(), 0, &st), 0);
	assert_int_equal(st.pid, getpid());
	assert_string_equal(st.comm, "t) (x y)");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(st.pgrp, getpgrp());
	assert_int_equal(st.session, getsid(0));
	assert_int_equal(st.num_threads, 1);
	assert_int_equal(st.nice, getpriority(PRIO_PROCESS, 0));
	assert_int_equal(st.policy, sched_getscheduler(0));
	/* we may read our own mm fields */
	assert_true(st.start_brk != 0 && st.start_brk <= (uint64_t)(uintptr_t)sbrk(0));
	assert_true(st.arg_start < st.arg_end && st.arg_end <= st.env_start);
	assert_true(st.startcode < st.endcode);

	assert_int_equal(proc_read_stat(getpid(), gettid(), &th), 0);
	assert_int_equal(th.pid, gettid());
	assert_string_equal(th.comm, st.comm);

	prctl(PR_GET_NAME, name);
	char comm[PROC_COMM_MAX];
	assert_int_equal(proc_read_comm(getpid(), 0, comm), 0);
	assert_string_equal(comm, name);
	assert_int_equal(proc_read_comm(getpid(), gettid(), comm), 0);
	assert_string_equal(comm, name);
}

/* bit n-1 of a /proc mask is signal n */
static uint64_t sigbit(int sig)
{
	return UINT64_C(1) << (sig - 1);
}

static void test_live_status_self(void **state)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2];
	uid_t r_uid, e_uid, s_uid;
	gid_t r_gid, e_gid, s_gid, groups[NGROUPS_MAX];
	sigset_t set, old;
	struct proc_status st, th;
	int n;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 2);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	n = proc_read_status(getpid(), 0, &st);
	assert_int_equal(proc_read_status(getpid(), gettid(), &th), 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	assert_int_equal(n, 0);

	assert_int_equal(st.sigblk & sigbit(SIGUSR1), sigbit(SIGUSR1));
	assert_int_equal(st.sigblk & sigbit(SIGRTMIN + 2), sigbit(SIGRTMIN + 2));
	assert_int_equal(st.sigblk & sigbit(SIGUSR2), 0);
	assert_int_equal(th.sigblk, st.sigblk);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.tgid, getpid());
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(st.threads, 1);
	assert_int_equal(st.ns_levels, 1);
	assert_int_equal(st.nspgid[0], getpgrp());
	assert_int_equal(st.nssid[0], getsid(0));

	assert_int_equal(getresuid(&r_uid, &e_uid, &s_uid), 0);
	assert_int_equal(getresgid(&r_gid, &e_gid, &s_gid), 0);
	assert_int_equal(st.uid[0], r_uid);
	assert_int_equal(st.uid[1], e_uid);
	assert_int_equal(st.uid[2], s_uid);
	assert_int_equal(st.gid[0], r_gid);
	assert_int_equal(st.gid[1], e_gid);
	assert_int_equal(st.gid[2], s_gid);
	n = getgroups(NGROUPS_MAX, groups);
	assert_int_equal(st.n_groups, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(st.groups[i], groups[i]);

	assert_int_equal(syscall(SYS_capget, &hdr, caps), 0);
	assert_int_equal(st.cap_eff, caps[0].effective | (uint64_t)caps[1].effective << 32);
	assert_int_equal(st.cap_prm, caps[0].permitted | (uint64_t)caps[1].permitted << 32);
	assert_int_equal(st.cap_inh, caps[0].inheritable | (uint64_t)caps[1].inheritable << 32);
	/* the bounding set: every capability bit prctl says is in it */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		assert_int_equal(!!(st.cap_bnd & (UINT64_C(1) << cap)),
				 prctl(PR_CAPBSET_READ, cap, 0, 0, 0));
	assert_int_equal(st.no_new_privs, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	assert_int_equal(st.seccomp, prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	proc_status_done(&st);
	proc_status_done(&th);
}

static void test_live_no_new_privs(void **state)
{
	struct proc_status st;
	int pipefd[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	pid = start_child();
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			_exit(1);
		say_ready(pipefd[1]);
		for (;;)
			pause();
	}
	wait_ready(pipefd[0], 1);
	assert_int_equal(proc_read_status(pid, 0, &st), 0);
	assert_int_equal(st.no_new_privs, 1);
	proc_status_done(&st);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_live_limits_self(void **state)
{
	struct proc_limits l;
	struct rlimit saved, r;

	(void)state;
	/* move one limit so the test sees the live value, not a default */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	r = saved;
	r.rlim_cur = saved.rlim_cur > 100 ? saved.rlim_cur - 37 : saved.rlim_cur;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &r), 0);
	assert_int_equal(proc_read_limits(getpid(), &l), 0);
	setrlimit(RLIMIT_NOFILE, &saved);
	assert_int_equal(l.lim[RLIMIT_NOFILE].rlim_cur, r.rlim_cur);
	assert_int_equal(l.lim[RLIMIT_NOFILE].rlim_max, r.rlim_max);

	assert_int_equal(proc_read_limits(getpid(), &l), 0);
	for (int i = 0; i < PROC_RLIMIT_COUNT; i++) {
		assert_int_equal(getrlimit(i, &r), 0);
		assert_int_equal(l.lim[i].rlim_cur, r.rlim_cur);
		assert_int_equal(l.lim[i].rlim_max, r.rlim_max);
	}
}

static void test_live_auxv_self(void **state)
{
	/* not AT_HWCAP: glibc's getauxval() answers its own x86 hwcap bits for it */
	static const unsigned long types[] = {AT_PAGESZ, AT_PHDR,         AT_PHNUM,  AT_ENTRY,
					      AT_RANDOM, AT_SYSINFO_EHDR, AT_EXECFN, AT_UID,
					      AT_GID,    AT_SECURE,       AT_CLKTCK, AT_HWCAP2};
	struct proc_auxv a;

	(void)state;
	assert_int_equal(proc_read_auxv(getpid(), &a), 0);
	assert_true(a.n > 10);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		uint32_t i;

		for (i = 0; i < a.n && a.ent[i].type != types[t]; i++)
			;
		assert_true(i < a.n);
		assert_int_equal(a.ent[i].value, getauxval(types[t]));
	}
}

static void test_live_small_files(void **state)
{
	char *target, cwd[PATH_MAX], exe[PATH_MAX];
	uint64_t slack;
	uint32_t pers, loginuid;
	int32_t adj;
	int pipefd[2];
	pid_t pid;

	(void)state;
	assert_int_equal(proc_read_personality(getpid(), &pers), 0);
	assert_int_equal(pers, (uint32_t)personality(0xffffffff));

	assert_int_equal(prctl(PR_SET_TIMERSLACK, 123457, 0, 0, 0), 0);
	assert_int_equal(proc_read_timerslack_ns(getpid(), &slack), 0);
	prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
	assert_int_equal(slack, 123457);

	assert_int_equal(proc_readlink(getpid(), "cwd", &target), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_string_equal(target, cwd);
	free(target);
	assert_int_equal(proc_readlink(getpid(), "root", &target), 0);
	assert_string_equal(target, "/");
	free(target);
	assert_int_equal(proc_readlink(getpid(), "exe", &target), 0);
	assert_non_null(realpath(self_exe, exe));
	assert_string_equal(target, exe);
	free(target);
	assert_int_equal(proc_readlink(getpid(), "no-such-link", &target), -ENOENT);

	/* a child with its own personality, oom_score_adj and (if it may) loginuid */
	assert_int_equal(pipe(pipefd), 0);
	pid = start_child();
	if (pid == 0) {
		int fd;

		if (personality(PER_LINUX | ADDR_NO_RANDOMIZE) < 0)
			_exit(1);
		fd = open("/proc/self/oom_score_adj", O_WRONLY);
		if (fd < 0 || write(fd, "123", 3) != 3)
			_exit(1);
		close(fd);
		fd = open("/proc/self/loginuid", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "4242", 4) < 0) {
				/* an immutable loginuid: the parent compares with what is there */
			}
			close(fd);
		}
		say_ready(pipefd[1]);
		for (;;)
			pause();
	}
	wait_ready(pipefd[0], 1);
	assert_int_equal(proc_read_personality(pid, &pers), 0);
	assert_int_equal(pers, PER_LINUX | ADDR_NO_RANDOMIZE);
	assert_int_equal(proc_read_oom_score_adj(pid, &adj), 0);
	assert_int_equal(adj, 123);
	assert_int_equal(proc_read_loginuid(pid, &loginuid), 0);
	{
		char path[64], buf[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/loginuid", pid);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_int_equal(loginuid, strtoul(buf, NULL, 10));
	}
	close(pipefd[0]);
	close(pipefd[1]);
}

/* The fd table of many fds (walked by two threads where two CPUs are): each entry as the fd is. */
static void test_live_fds_many(void **state)
{
	char dir[] = "/tmp/stasis-test-fifo.XXXXXX", fifo[64];
	enum { PIPES = 300, WATCHED = 50 };
	int pipes[PIPES][2], pair[2], ep, fifo_fd;
	struct proc_fd_table t;
	size_t open_ones = 0, open_before = 0;
	DIR *d;

	(void)state;
	for (int i = 0; i < PIPES; i++)
		assert_int_equal(pipe2(pipes[i], i % 2 ? O_CLOEXEC : O_NONBLOCK), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	ep = epoll_create1(0);
	/* An fdinfo longer than a first read: one line per watched fd. */
	for (int i = 0; i < WATCHED; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};

		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, pipes[i][0], &ev), 0);
	}
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fifo_fd = open(fifo, O_RDWR);
	assert_true(fifo_fd >= 0);
	d = opendir("/proc/self/fd");
	for (struct dirent *e; (e = readdir(d));)
		open_before += e->d_name[0] != '.';
	closedir(d);

	assert_int_equal(proc_read_fds_fdinfo(getpid(), &t), 0);
	for (size_t i = 0; i < t.n; i++) {
		const struct proc_fd *pfd = &t.fds[i];
		char link[64], target[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (fcntl(pfd->fd, F_GETFD) < 0)
			continue; /* the walk's own /proc directories, closed since */
		open_ones++;
		if (i > 0)
			assert_true(t.fds[i - 1].fd < pfd->fd);
		snprintf(link, sizeof(link), "/proc/self/fd/%d", pfd->fd);
		n = readlink(link, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(pfd->target, target);
		assert_int_equal(fstat(pfd->fd, &st), 0);
		assert_int_equal(pfd->st.st_dev, st.st_dev);
		assert_int_equal(pfd->st.st_ino, st.st_ino);
		assert_int_equal(pfd->st.st_mode, st.st_mode);
		assert_int_equal(pfd->fi.flags & ~O_CLOEXEC, fcntl(pfd->fd, F_GETFL));
		assert_int_equal(!!(pfd->fi.flags & O_CLOEXEC),
				 !!(fcntl(pfd->fd, F_GETFD) & FD_CLOEXEC));
		if (pfd->fd == ep)
			assert_int_equal(pfd->fi.n_extra, WATCHED);
		if (pfd->fd == fifo_fd)
			assert_string_equal(pfd->target, fifo);
	}
	assert_int_equal(open_ones, open_before - 1); /* less the listing's own */
	proc_fd_table_free(&t);

	unlink(fifo);
	rmdir(dir);
	close(fifo_fd);
	close(ep);
	close(pair[0]);
	close(pair[1]);
	for (int i = 0; i < PIPES; i++) {
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
}

static void test_live_fds_self(void **state)
{
	char path[] = "/tmp/stasis-test-proc.XXXXXX";
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
	struct itimerspec its = {.it_value = {1000, 0}, .it_interval = {3, 4}};
	struct proc_fd_table t;
	struct proc_fdinfo fi;
	struct statx stx;
	int file, efd, ep, tfd, pipefd[2];
	bool saw[4] = {false};
	const char *v;

	(void)state;
	file = mkstemp(path);
	assert_true(file >= 0);
	assert_int_equal(write(file, "0123456789", 10), 10);
	assert_int_equal(fcntl(file, F_SETFL, O_APPEND), 0);
	efd = eventfd(42, EFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), 0);
	tfd = timerfd_create(CLOCK_BOOTTIME, 0);
	assert_int_equal(timerfd_settime(tfd, 0, &its, NULL), 0);
	assert_int_equal(pipe(pipefd), 0);

	assert_int_equal(proc_read_fds(getpid(), &t), 0);
	for (size_t i = 0; i < t.n; i++) {
		if (i > 0)
			assert_true(t.fds[i - 1].fd < t.fds[i].fd);
		if (t.fds[i].fd == file) {
			assert_string_equal(t.fds[i].target, path);
			saw[0] = true;
		} else if (t.fds[i].fd == efd) {
			assert_string_equal(t.fds[i].target, "anon_inode:[eventfd]");
			saw[1] = true;
		} else if (t.fds[i].fd == pipefd[0]) {
			assert_true(!strncmp(t.fds[i].target, "pipe:[", 6));
			saw[2] = true;
		} else if (t.fds[i].fd == ep) {
			assert_string_equal(t.fds[i].target, "anon_inode:[eventpoll]");
			saw[3] = true;
		}
	}
	assert_true(saw[0] && saw[1] && saw[2] && saw[3]);
	proc_fd_table_free(&t);

	assert_int_equal(proc_read_fdinfo(getpid(), file, &fi), 0);
	assert_int_equal(statx(file, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &stx), 0);
	assert_int_equal(fi.pos, 10);
	assert_int_equal(fi.flags & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
	assert_int_equal(fi.mnt_id, stx.stx_mnt_id);
	assert_int_equal(fi.ino, stx.stx_ino);
	proc_fdinfo_free(&fi);

	assert_int_equal(proc_read_fdinfo(getpid(), efd, &fi), 0);
	assert_int_equal(fi.flags & O_NONBLOCK, O_NONBLOCK);
	v = proc_fdinfo_get(&fi, "eventfd-count");
	assert_non_null(v);
	assert_int_equal(strtoull(v, NULL, 16), 42);
	proc_fdinfo_free(&fi);

	assert_int_equal(proc_read_fdinfo(getpid(), ep, &fi), 0);
	assert_int_equal(fi.flags & O_CLOEXEC, O_CLOEXEC);
	v = proc_fdinfo_get(&fi, "tfd");
	assert_non_null(v);
	assert_int_equal(strtol(v, NULL, 10), efd);
	assert_non_null(strstr(v, "data:             1234"));
	proc_fdinfo_free(&fi);

	assert_int_equal(proc_read_fdinfo(getpid(), tfd, &fi), 0);
	assert_int_equal(strtol(proc_fdinfo_get(&fi, "clockid"), NULL, 10), CLOCK_BOOTTIME);
	assert_string_equal(proc_fdinfo_get(&fi, "it_interval"), "(3, 4)");
	proc_fdinfo_free(&fi);

	assert_int_equal(proc_read_fdinfo(getpid(), 1000000, &fi), -ENOENT);

	close(pipefd[0]);
	close(pipefd[1]);
	close(tfd);
	close(ep);
	close(efd);
	close(file);
	unlink(path);
}

static void test_live_mountinfo(void **state)
{
	char dir[] = "/tmp/stasis-test-proc.XXXXXX", mnt[PATH_MAX];
	struct proc_mount_table mt;
	struct statx stx;
	int pipefd[2];
	bool found_root = false, found = false;
	pid_t pid;

	(void)state;
	assert_int_equal(statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &stx), 0);
	assert_int_equal(proc_read_mountinfo(getpid(), &mt), 0);
	for (size_t i = 0; i < mt.n; i++)
		if (mt.mounts[i].mnt_id == (int32_t)stx.stx_mnt_id)
			found_root = !strcmp(mt.mounts[i].mountpoint, "/");
	assert_true(found_root);
	proc_mount_table_free(&mt);

	/* a child mounts at a path and from a source that need escaping */
	assert_non_null(mkdtemp(dir));
	snprintf(mnt, sizeof(mnt), "%s/a b\\c\td", dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = start_child();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("my src\n", mnt, "tmpfs", 0, "size=1m"))
			_exit(1);
		say_ready(pipefd[1]);
		for (;;)
			pause();
	}
	wait_ready(pipefd[0], 1);
	assert_int_equal(proc_read_mountinfo(pid, &mt), 0);
	for (size_t i = 0; i < mt.n; i++) {
		if (strcmp(mt.mounts[i].mountpoint, mnt))
			continue;
		assert_string_equal(mt.mounts[i].source, "my src\n");
		assert_string_equal(mt.mounts[i].fstype, "tmpfs");
		assert_string_equal(mt.mounts[i].root, "/");
		found = true;
	}
	proc_mount_table_free(&mt);
	kill_started(NULL);
	rmdir(mnt);
	rmdir(dir);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_true(found);
}

static void test_live_timers_self(void **state)
{
	struct sigevent se = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1};
	struct proc_posix_timer *tm;
	timer_t timer;
	size_t n;
	int r;

	(void)state;
	se.sigev_value.sival_ptr = (void *)0xabcdef;
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &se, &timer), 0);
	r = proc_read_timers(getpid(), &tm, &n);
	timer_delete(timer);
	assert_int_equal(r, 0);
	assert_int_equal(n, 1);
	/* glibc hands out the kernel's id for signal-notified timers */
	assert_int_equal(tm[0].id, (int)(intptr_t)timer);
	assert_int_equal(tm[0].signo, SIGRTMIN + 1);
	assert_int_equal(tm[0].sigval, 0xabcdef);
	assert_int_equal(tm[0].notify, SIGEV_SIGNAL);
	assert_int_equal(tm[0].notify_pid, getpid());
	assert_int_equal(tm[0].clock_id, CLOCK_MONOTONIC);
	free(tm);

	assert_int_equal(proc_read_timers(getpid(), &tm, &n), 0);
	assert_int_equal(n, 0);
	free(tm);
}

/* ---- live: other processes ---- */

/* pids of the tree below, written by its members into shared memory */
struct tree_pids {
	pid_t a, b, c, d, e, z;
	pid_t c_thread;
};

static void tree_member_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(60);
}

static int ready_fd;
static struct tree_pids *tree_shared;

static void *c_thread_main(void *arg)
{
	(void)arg;
	tree_shared->c_thread = gettid();
	/* E: forked by a thread that is not the leader, so its parent is that thread */
	if (fork() == 0) {
		tree_member_init();
		tree_shared->e = getpid();
		say_ready(ready_fd);
		for (;;)
			pause();
	}
	for (;;)
		pause();
	return NULL;
}

/*
 * A (3 threads) -> Z (zombie), B (2 threads) -> D, C (2 threads) -> E
 * (forked by C's second thread).
 */
static void tree_a(void)
{
	siginfo_t si;
	pid_t z;

	start_sleeper();
	start_sleeper();
	z = fork();
	if (z == 0)
		_exit(7);
	waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT);
	tree_shared->z = z;
	if (fork() == 0) {
		tree_member_init();
		start_sleeper();
		if (fork() == 0) {
			tree_member_init();
			tree_shared->d = getpid();
			say_ready(ready_fd);
			for (;;)
				pause();
		}
		tree_shared->b = getpid();
		say_ready(ready_fd);
		for (;;)
			pause();
	}
	if (fork() == 0) {
		pthread_t t;

		tree_member_init();
		if (pthread_create(&t, NULL, c_thread_main, NULL))
			_exit(1);
		tree_shared->c = getpid();
		say_ready(ready_fd);
		for (;;)
			pause();
	}
	tree_shared->a = getpid();
	say_ready(ready_fd);
	for (;;)
		pause();
}

static const struct proc_tree_task *tree_find(const struct proc_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->n_tasks; i++)
		if (t->tasks[i].pid == pid)
			return &t->tasks[i];
	return NULL;
}

static void check_tree_task(const struct proc_tree *t, pid_t pid, pid_t parent, size_t threads)
{
	const struct proc_tree_task *task = tree_find(t, pid);
	pid_t *tids;
	size_t n;

	assert_non_null(task);
	if (parent)
		assert_int_equal(t->tasks[task->parent].pid, parent);
	else
		assert_int_equal(task->parent, -1);
	assert_true(task->parent < (int)(task - t->tasks));
	assert_int_equal(task->n_threads, threads);
	assert_int_equal(t->tids[task->first_thread], pid); /* leader first */
	assert_int_equal(proc_read_tasks(pid, &tids, &n), 0);
	assert_int_equal(n, threads);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(t->tids[task->first_thread + i], tids[i]);
	free(tids);
}

static void test_live_tree(void **state)
{
	struct proc_tree t;
	pid_t *kids, a;
	size_t n;
	int pipefd[2];

	(void)state;
	tree_shared = mmap(NULL, sizeof(*tree_shared), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(tree_shared != MAP_FAILED);
	assert_int_equal(pipe(pipefd), 0);
	ready_fd = pipefd[1];
	a = start_child();
	if (a == 0)
		tree_a();
	wait_ready(pipefd[0], 5);

	assert_int_equal(proc_walk_tree(a, &t), 0);
	assert_int_equal(t.n_tasks, 6);
	assert_int_equal(t.tasks[0].pid, a);
	check_tree_task(&t, a, 0, 3);
	check_tree_task(&t, tree_shared->z, a, 1);
	check_tree_task(&t, tree_shared->b, a, 2);
	check_tree_task(&t, tree_shared->c, a, 2);
	check_tree_task(&t, tree_shared->d, tree_shared->b, 1);
	check_tree_task(&t, tree_shared->e, tree_shared->c, 1);
	assert_int_equal(t.n_tids, 3 + 1 + 2 + 2 + 1 + 1);
	proc_tree_free(&t);

	/* children are per thread */
	assert_int_equal(proc_read_children(tree_shared->c, tree_shared->c_thread, &kids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kids[0], tree_shared->e);
	free(kids);
	assert_int_equal(proc_read_children(tree_shared->c, 0, &kids, &n), 0);
	assert_int_equal(n, 0);
	free(kids);

	/* a subtree */
	assert_int_equal(proc_walk_tree(tree_shared->b, &t), 0);
	assert_int_equal(t.n_tasks, 2);
	assert_int_equal(t.tasks[1].pid, tree_shared->d);
	assert_int_equal(t.tasks[1].parent, 0);
	proc_tree_free(&t);

	munmap(tree_shared, sizeof(*tree_shared));
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_live_zombie(void **state)
{
	struct proc_status st;
	struct proc_stat s;
	struct proc_auxv a;
	struct proc_tree t;
	char *target;
	pid_t z;

	(void)state;
	z = start_zombie(3);
	assert_int_equal(proc_read_stat(z, 0, &s), 0);
	assert_int_equal(s.state, 'Z');
	assert_int_equal(s.exit_code, 3 << 8);
	assert_int_equal(s.ppid, getpid());
	assert_int_equal(proc_read_status(z, 0, &st), 0);
	assert_int_equal(st.state, 'Z');
	assert_false(proc_status_has(&st, PROC_STATUS_UMASK));
	proc_status_done(&st);
	/* no mm any more */
	assert_int_equal(proc_read_auxv(z, &a), -ESRCH);
	assert_int_equal(proc_readlink(z, "exe", &target), -ENOENT);
	assert_int_equal(proc_walk_tree(z, &t), 0);
	assert_int_equal(t.n_tasks, 1);
	assert_int_equal(t.n_tids, 1);
	proc_tree_free(&t);
}

static void test_live_gone(void **state)
{
	struct proc_stat s;
	struct proc_tree t;
	pid_t pid;

	(void)state;
	pid = start_zombie(0);
	reap_started(pid);
	assert_int_equal(proc_read_stat(pid, 0, &s), -ENOENT);
	assert_int_equal(proc_walk_tree(pid, &t), -ESRCH);
}

static void test_live_kernel_thread(void **state)
{
	struct proc_status st;
	struct proc_stat s;
	struct proc_auxv a;
	char *target;

	(void)state;
	/* kthreadd is pid 2 in the initial pid namespace */
	assert_int_equal(proc_read_stat(2, 0, &s), 0);
	assert_string_equal(s.comm, "kthreadd");
	assert_int_equal(s.ppid, 0);
	assert_int_equal(proc_read_status(2, 0, &st), 0);
	assert_true(proc_status_has(&st, PROC_STATUS_KTHREAD) == false || st.kthread == 1);
	proc_status_done(&st);
	assert_int_equal(proc_read_auxv(2, &a), -ESRCH); /* no mm */
	assert_int_equal(proc_readlink(2, "exe", &target), -ENOENT);
}

/* A task with NGROUPS_MAX groups: a status file of 700 KiB, read whole. */
static void test_live_many_groups(void **state)
{
	enum { N = 65536 };
	struct proc_status st;
	int pipefd[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	pid = start_child();
	if (pid == 0) {
		static gid_t groups[N];

		for (int i = 0; i < N; i++)
			groups[i] = (gid_t)(100000 + i);
		if (setgroups(N, groups))
			_exit(1);
		say_ready(pipefd[1]);
		for (;;)
			pause();
	}
	wait_ready(pipefd[0], 1);
	assert_int_equal(proc_read_status(pid, 0, &st), 0);
	assert_int_equal(st.n_groups, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(st.groups[i], 100000 + i);
	assert_int_equal(st.pid, pid);
	proc_status_done(&st);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void log_restart(void)
{
	struct log_config cfg = {
		.path = log_path,
		.format = LOG_FORMAT_TEXT,
		.level = LOGL_DEBUG,
		.quiet_stderr = true, /* the broken samples are expected to fail */
	};

	if (log_init(&cfg) < 0)
		abort();
}

/* Errors name the text and the line: what a user reads when a dump fails. */
static void test_error_messages(void **state)
{
	static const char *const expected[] = {
		"three-uids: line 9: cannot parse Uid",
		"no-uid: no Uid line in 58 lines",
		"letter: line 1: cannot parse vsize (field 23)",
		"bad: line 4: cannot parse major:minor",
		"cut: line 12: cannot parse ClockID",
		"bad-value: line 9: cannot parse Max open files",
		"not-octal: line 2: cannot parse flags",
	};
	struct proc_mount m;
	struct proc_status st;
	struct proc_stat s;
	struct proc_limits l;
	struct proc_fdinfo fi;
	struct proc_posix_timer *tm;
	char *t, *u, *logged, line[] = "1 2 3 / / rw - a b c";
	size_t n;

	(void)state;
	log_restart();
	t = sample("status-cat", NULL);
	u = replace(t, "Uid:\t0\t0\t0\t0", "Uid:\t0\t0\t0");
	assert_int_equal(proc_parse_status(u, "three-uids", &st), -EINVAL);
	free(u);
	u = replace(t, "Uid:\t0\t0\t0\t0\n", "");
	assert_int_equal(proc_parse_status(u, "no-uid", &st), -EINVAL);
	free(u);
	free(t);
	t = sample("stat-cat", NULL);
	u = replace(t, " 3133440 ", " 31x3440 ");
	assert_int_equal(proc_parse_stat(u, "letter", &s), -EINVAL);
	free(u);
	free(t);
	assert_int_equal(proc_parse_mountinfo_line(line, "bad", 4, &m), -EINVAL);
	t = sample("timers-three", NULL);
	u = replace(t, "ClockID: 1\n", "");
	assert_int_equal(proc_parse_timers(u, "cut", &tm, &n), -EINVAL);
	free(u);
	free(t);
	t = sample("limits-cat", NULL);
	u = replace(t, "20000                20000", "20000                lots ");
	assert_int_equal(proc_parse_limits(u, "bad-value", &l), -EINVAL);
	free(u);
	free(t);
	t = sample("fdinfo-eventfd", NULL);
	u = replace(t, "flags:\t02", "flags:\t09");
	assert_int_equal(proc_parse_fdinfo(u, "not-octal", &fi), -EINVAL);
	free(u);
	free(t);

	log_flush();
	logged = sample(log_path, NULL);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		if (!strstr(logged, expected[i]))
			fail_msg("\"%s\" not in the log:\n%s", expected[i], logged);
	}
	free(logged);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_samples),
		cmocka_unit_test(test_stat_broken),
		cmocka_unit_test(test_status_samples),
		cmocka_unit_test(test_status_handmade),
		cmocka_unit_test(test_status_many_groups),
		cmocka_unit_test(test_limits_sample),
		cmocka_unit_test(test_auxv_sample),
		cmocka_unit_test(test_pid_list),
		cmocka_unit_test(test_small_values),
		cmocka_unit_test(test_fdinfo_samples),
		cmocka_unit_test(test_fdinfo_field),
		cmocka_unit_test(test_mountinfo_samples),
		cmocka_unit_test(test_timers_sample),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_live_stat_self),
		cmocka_unit_test(test_live_status_self),
		cmocka_unit_test_teardown(test_live_no_new_privs, kill_started),
		cmocka_unit_test(test_live_limits_self),
		cmocka_unit_test(test_live_auxv_self),
		cmocka_unit_test_teardown(test_live_small_files, kill_started),
		cmocka_unit_test(test_live_fds_self),
		cmocka_unit_test(test_live_fds_many),
		cmocka_unit_test_teardown(test_live_mountinfo, kill_started),
		cmocka_unit_test(test_live_timers_self),
		cmocka_unit_test_teardown(test_live_tree, kill_started),
		cmocka_unit_test_teardown(test_live_zombie, kill_started),
		cmocka_unit_test_teardown(test_live_gone, kill_started),
		cmocka_unit_test(test_live_kernel_thread),
		cmocka_unit_test_teardown(test_live_many_groups, kill_started),
	};

	(void)argc;
	self_exe = argv[0];
	/* orphaned grandchildren of the live tests come back here to be reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	int fd = mkstemp(log_path), r;

	if (fd < 0)
		return 1;
	close(fd);
	log_restart();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	log_fini();
	unlink(log_path);
	return r;
}
