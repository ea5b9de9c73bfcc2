/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A process tree and what its processes share:
 *
 *   root                  the program; leads its session and group
 *   ├─ child 1            in root's group; holds the write end of a pipe
 *   │  └─ grandchild      in root's group, child of child 1
 *   ├─ child 2            leads a process group of its own
 *   └─ child 3            leads a session of its own
 *
 * Made before the forks and so shared: an anonymous MAP_SHARED region (one
 * object: a write by one process is seen by the others), a file opened once
 * (one description: one offset for all), and private memory, which each
 * process has then overwritten with a pattern of its own (copy-on-write:
 * each keeps its own). Child 1 left 100 bytes in the pipe to root.
 *
 * Every child waits in read() on a control pipe of its own. After SIGTERM,
 * root checks the tree from /proc (pids, parents, groups, sessions), then
 * asks each child in turn to check its own state and to leave a mark in the
 * shared memory, which root then sees; child 2 reads from the shared file,
 * which moves root's offset. Each child answers with its exit status. The
 * children die with their parent (PR_SET_PDEATHSIG), so that killing root
 * kills the tree.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

#define NCHILD 3
#define SHARED_SIZE (64 * 1024)
#define PRIVATE_SIZE (4 * 4096)
#define PIPE_BYTES 100
#define FILE_SIZE 4096
#define READ_STEP 10

enum { CMD_CHECK = 'c' };

/* What root knows of each child, and what the child knows of itself. */
struct kid {
	pid_t pid;
	pid_t want_pgid, want_sid; /* 0: root's */
	int ctl[2];                /* root writes commands, the child reads */
};

static struct kid kids[NCHILD + 1]; /* kids[NCHILD] is the grandchild */
static uint8_t *shared_mem;
static uint8_t *private_mem;
static int shared_fd = -1;
static int data_pipe[2];
static int expect_offset_step = READ_STEP;

static void die_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(3);
}

/* The private pattern of process i (root: NCHILD + 1). */
static uint64_t private_seed(unsigned i)
{
	return 0x7ee0 + i;
}

static uint8_t mark_of(unsigned i)
{
	return (uint8_t)(0xa0 + i);
}

/* Runs in a child after CMD_CHECK: its exit status says what failed (0: nothing). */
static int child_check(unsigned i)
{
	off_t before;
	char buf[READ_STEP];

	if (zoo_pattern_mismatch(private_mem, PRIVATE_SIZE, private_seed(i)) >= 0)
		return 10;
	if (shared_mem[0] != 0x5a)
		return 11; /* root's mark is not seen: not one object */
	shared_mem[1 + i] = mark_of(i);
	if (i == 1) {
		before = lseek(shared_fd, 0, SEEK_CUR);
		if (read(shared_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 12;
		if (before < 0)
			return 13;
	}
	if (i == 0) {
		/* Root asked the grandchild first: its answer is child 1's to collect. */
		int status;

		if (waitpid(kids[NCHILD].pid, &status, 0) != kids[NCHILD].pid)
			return 14;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 15;
	}
	return 0;
}

static _noreturn_ void child_wait(unsigned i)
{
	char cmd;

	for (;;) {
		ssize_t k = read(kids[i].ctl[0], &cmd, 1);

		if (k == 1 && cmd == CMD_CHECK)
			_exit(child_check(i));
		if (k == 0)
			_exit(4);
	}
}

static void fill_private(unsigned i)
{
	zoo_fill(private_mem, PRIVATE_SIZE, private_seed(i));
}

static _noreturn_ void grandchild_main(void)
{
	die_with_parent();
	fill_private(NCHILD);
	child_wait(NCHILD);
}

static _noreturn_ void child_main(unsigned i)
{
	static char bytes[PIPE_BYTES];

	die_with_parent();
	fill_private(i);
	close(data_pipe[0]);
	if (i == 0) {
		memset(bytes, 'p', sizeof(bytes));
		if (write(data_pipe[1], bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes))
			_exit(5);
		kids[NCHILD].pid = fork();
		if (kids[NCHILD].pid == 0)
			grandchild_main();
	}
	close(data_pipe[1]);
	if (i == 1 && setpgid(0, 0) < 0)
		_exit(6);
	if (i == 2 && setsid() < 0)
		_exit(7);
	child_wait(i);
}

static void setup(void)
{
	char path[256];

	shared_mem =
		mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	private_mem = mmap(NULL, PRIVATE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	if (shared_mem == MAP_FAILED || private_mem == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	fill_private(NCHILD + 1);
	zoo_path(path, sizeof(path), "tree-shared-file");
	shared_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (shared_fd < 0 || ftruncate(shared_fd, FILE_SIZE) < 0 || pipe(data_pipe) < 0)
		zoo_setup_failed("file or pipe: %m");
	for (unsigned i = 0; i <= NCHILD; i++)
		if (pipe2(kids[i].ctl, O_CLOEXEC) < 0)
			zoo_setup_failed("pipe2: %m");
	for (unsigned i = 0; i < NCHILD; i++) {
		pid_t pid = fork();

		if (pid < 0)
			zoo_setup_failed("fork: %m");
		if (pid == 0)
			child_main(i);
		kids[i].pid = pid;
	}
	close(data_pipe[1]);
	kids[1].want_pgid = kids[1].pid;
	kids[2].want_pgid = kids[2].want_sid = kids[2].pid;
}

/* The grandchild's pid, from child 1's children, once it is there. */
static pid_t find_grandchild(void)
{
	char path[96], buf[64] = "";
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", kids[0].pid, kids[0].pid);
	for (int tries = 0; tries < 500 && !pid; tries++) {
		f = fopen(path, "re");
		if (f && fgets(buf, sizeof(buf), f))
			sscanf(buf, "%d", &pid);
		if (f)
			fclose(f);
		if (!pid)
			zoo_sleep_ms(10);
	}
	return pid;
}

/* Wait until every child has changed its group or session as it should. */
static void wait_settled(void)
{
	for (int tries = 0; tries < 500; tries++) {
		if (getpgid(kids[1].pid) == kids[1].pid && getsid(kids[2].pid) == kids[2].pid)
			return;
		zoo_sleep_ms(10);
	}
	zoo_setup_failed("the children did not set their groups");
}

static void check_tree(void)
{
	pid_t me = getpid();
	struct zoo_stat st;

	for (unsigned i = 0; i <= NCHILD; i++) {
		pid_t want_ppid = i == NCHILD ? kids[0].pid : me;
		pid_t want_pgid = kids[i].want_pgid ? kids[i].want_pgid : me;
		pid_t want_sid = kids[i].want_sid ? kids[i].want_sid : me;

		if (!zoo_expect(zoo_proc_stat(kids[i].pid, &st), "pid %d is gone", kids[i].pid))
			continue;
		zoo_expect(st.ppid == want_ppid && st.pgid == want_pgid && st.sid == want_sid,
			   "pid %d: ppid %d pgid %d sid %d, not %d %d %d", kids[i].pid, st.ppid,
			   st.pgid, st.sid, want_ppid, want_pgid, want_sid);
	}
	zoo_expect(getpgid(0) == me && getsid(0) == me, "root is not its own group and session");
}

static void check_pipe(void)
{
	char buf[PIPE_BYTES + 1];
	ssize_t k = read(data_pipe[0], buf, sizeof(buf));

	zoo_expect(k == PIPE_BYTES && buf[0] == 'p' && buf[PIPE_BYTES - 1] == 'p',
		   "the pipe from child 1 gave %zd bytes", k);
}

/* Ask child i to check itself; its exit status is the answer. */
static void check_child(unsigned i)
{
	static const char *const why[] = {
		[10] = "its private memory changed",
		[11] = "it does not see root's write to the shared memory",
		[12] = "it could not read the shared file",
		[14] = "child 1 could not wait for the grandchild",
		[15] = "the grandchild's own check failed",
	};
	int status = 0;
	pid_t parent_waits = i == NCHILD ? 0 : kids[i].pid;

	if (write(kids[i].ctl[1], (char[]){CMD_CHECK}, 1) != 1) {
		zoo_fail("cannot send the check to pid %d: %m", kids[i].pid);
		return;
	}
	if (!parent_waits)
		return; /* the grandchild is child 1's to reap */
	if (waitpid(kids[i].pid, &status, 0) != kids[i].pid) {
		zoo_fail("waitpid %d: %m", kids[i].pid);
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

		zoo_fail("child pid %d: %s (status %d)", kids[i].pid,
			 code < (int)ELEMENTSOF(why) && why[code] ? why[code] : "failed", code);
	}
}

static void check(void)
{
	off_t before;

	check_tree();
	check_pipe();
	zoo_expect(zoo_pattern_mismatch(private_mem, PRIVATE_SIZE, private_seed(NCHILD + 1)) < 0,
		   "root's private memory changed");
	shared_mem[0] = 0x5a;
	before = lseek(shared_fd, 0, SEEK_CUR);
	/* The grandchild first: child 1 reaps it when it exits itself. */
	check_child(NCHILD);
	for (unsigned i = 0; i < NCHILD; i++)
		check_child(i);
	for (unsigned i = 0; i <= NCHILD; i++)
		zoo_expect(shared_mem[1 + i] == mark_of(i),
			   "child %u's mark is not in the shared memory (%#x)", i,
			   shared_mem[1 + i]);
	zoo_expect(lseek(shared_fd, 0, SEEK_CUR) == before + expect_offset_step,
		   "the shared file's offset is %lld, not %lld (child 2 read %d bytes)",
		   (long long)lseek(shared_fd, 0, SEEK_CUR),
		   (long long)(before + expect_offset_step), READ_STEP);
}

static void break_group(void)
{
	kids[1].want_pgid = getpid();
}

static void break_offset(void)
{
	expect_offset_step = READ_STEP + 1;
}

static void break_private(void)
{
	private_mem[5] ^= 1;
}

static const struct zoo_break breaks[] = {
	{"child 2 expected in root's process group", break_group},
	{"the shared file's offset expected to move one byte more", break_offset},
	{"a byte of root's private memory changed", break_private},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	kids[NCHILD].pid = find_grandchild();
	if (!kids[NCHILD].pid)
		zoo_setup_failed("the grandchild did not appear");
	wait_settled();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check();
	return zoo_verdict();
}
