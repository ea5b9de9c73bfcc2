/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probes of access to another task without a parasite (its memory, its file
 * descriptors), of creating a task with a chosen pid, and of time namespaces.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "base/log.h"
#include "compat/sched.h"
#include "compat/syscalls.h"
#include "kerndat/child.h"
#include "kerndat/probes.h"

/* Same address in parent and child (fork); the child writes its pattern in it. */
static char vm_probe_buf[64];
static const char child_pattern[] = "stasis probe: written by the child";
static const char parent_pattern[] = "stasis probe: written by the parent";

static int write_child_pattern(void *arg)
{
	(void)arg;
	memcpy(vm_probe_buf, child_pattern, sizeof(child_pattern));
	return 0;
}

static ssize_t child_vm(pid_t pid, void *buf, size_t len, bool write)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = vm_probe_buf, .iov_len = len};

	return write ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
		     : process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

int probe_process_vm(void)
{
	_cleanup_probe_child_ struct probe_child c = {};
	char buf[sizeof(vm_probe_buf)] = {};
	int r;

	r = probe_child_start(&c, write_child_pattern, NULL);
	if (r < 0)
		return r;
	if (child_vm(c.pid, buf, sizeof(child_pattern), false) != sizeof(child_pattern)) {
		pr_info("process_vm_readv from probe child %d: %m", c.pid);
		return probe_result_of_errno(errno);
	}
	if (memcmp(buf, child_pattern, sizeof(child_pattern)) != 0) {
		pr_info("process_vm_readv did not return the probe child's memory");
		return 0;
	}
	memcpy(buf, parent_pattern, sizeof(parent_pattern));
	if (child_vm(c.pid, buf, sizeof(parent_pattern), true) != sizeof(parent_pattern)) {
		pr_info("process_vm_writev to probe child %d: %m", c.pid);
		return probe_result_of_errno(errno);
	}
	memset(buf, 0, sizeof(buf));
	if (child_vm(c.pid, buf, sizeof(parent_pattern), false) != sizeof(parent_pattern) ||
	    memcmp(buf, parent_pattern, sizeof(parent_pattern)) != 0) {
		pr_info("process_vm_writev did not change the probe child's memory");
		return 0;
	}
	pr_debug("process_vm_readv/writev on probe child %d work", c.pid);
	return 1;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int probe_pidfd_store(void)
{
	_cleanup_probe_child_ struct probe_child c = {};
	_cleanup_close_ int efd = -1, pidfd = -1, stolen = -1;
	int r;

	/* The child inherits efd under the same number. */
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return negative_errno();
	r = probe_child_start(&c, NULL, NULL);
	if (r < 0)
		return r;
	pidfd = sys_pidfd_open(c.pid, 0);
	if (pidfd < 0) {
		pr_info("pidfd_open(%d): %m", c.pid);
		return probe_result_of_errno(errno);
	}
	stolen = sys_pidfd_getfd(pidfd, efd, 0);
	if (stolen < 0) {
		pr_info("pidfd_getfd(fd %d of probe child %d): %m", efd, c.pid);
		return probe_result_of_errno(errno);
	}
	if (!same_file(efd, stolen)) {
		pr_info("pidfd_getfd returned another file than the probe child's fd %d", efd);
		return 0;
	}
	pr_debug("pidfd_getfd took fd %d of probe child %d as fd %d", efd, c.pid, stolen);
	return 1;
}

static int read_proc_int(const char *path, int *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	if (!f)
		return negative_errno();
	if (fscanf(f, "%d", ret) != 1)
		return -EIO;
	return 0;
}

/* Try to create a child with pid `want`: 1 got it, 0 not supported, -errno (-EEXIST: taken). */
static int clone_with_pid(pid_t want)
{
	pid_t tid = want, pid;
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&tid,
		.set_tid_size = 1,
	};
	int st, r;

	pid = sys_clone3(&args, sizeof(args));
	if (pid < 0) {
		if (errno == EEXIST)
			return -EEXIST;
		pr_info("clone3 with set_tid %d: %m", want);
		/* E2BIG: a kernel that predates set_tid finds our struct too big */
		return errno == E2BIG ? 0 : probe_result_of_errno(errno);
	}
	if (pid == 0)
		_exit(syscall(SYS_getpid) == want ? 0 : 1);
	r = probe_wait_exit(pid, &st);
	if (r < 0)
		return r;
	if (pid != want || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		pr_info("clone3 with set_tid %d created pid %d (status %#x)", want, pid, st);
		return 0;
	}
	return 1;
}

/*
 * Ask for a pid well above the last one handed out and retry while it is
 * taken: this tests what restore does (a chosen pid in our own pid namespace)
 * without needing a pid namespace, and the kernel allocates atomically, so a
 * race with another fork only costs a retry.
 */
#define SET_TID_TRIES 64
#define SET_TID_DISTANCE 1000

int probe_clone3_set_tid(void)
{
	int last, pid_max, r;

	if (read_proc_int("/proc/sys/kernel/pid_max", &pid_max) < 0 || pid_max <= 301)
		pid_max = 32768;
	if (read_proc_int("/proc/sys/kernel/ns_last_pid", &last) < 0)
		last = getpid();
	for (int i = 0; i < SET_TID_TRIES; i++) {
		/* pids below 300 are reserved for daemons at boot; stay above them */
		pid_t want = 300 + (last + SET_TID_DISTANCE + i) % (pid_max - 300);

		r = clone_with_pid(want);
		if (r != -EEXIST) {
			if (r > 0)
				pr_debug("clone3 created a child with the chosen pid %d", want);
			return r;
		}
	}
	pr_info("clone3 with set_tid: %d chosen pids were all taken", SET_TID_TRIES);
	return -EEXIST;
}

static int unshare_time(void *arg)
{
	(void)arg;
	/* The child's children would live in the new time namespace. */
	if (unshare(CLONE_NEWTIME) < 0)
		return probe_result_of_errno(errno);
	return 1;
}

int probe_timens(void)
{
	int r = probe_in_child(unshare_time, NULL);

	if (r == 0)
		pr_info("unshare(CLONE_NEWTIME) is not supported");
	else if (r < 0)
		pr_info("unshare(CLONE_NEWTIME) failed: %s", strerror(-r));
	return r;
}
