/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UFFDIO_COPY into the task's private anonymous memory. A page written with
 * process_vm_writev() is faulted in first, which zeroes it, then copied:
 * about 1.6-1.9 GB/s on this machine; UFFDIO_COPY allocates the page and
 * copies into it, 3-3.8 GB/s with one thread, 4.3-4.5 with two (most of its
 * cost is per page: allocation, memcg charge, LRU, page table; it scales).
 * docs/restore.md, "Speed".
 *
 * The userfaultfd must belong to the task's mm, so the task creates it
 * (a remote syscall); the controller takes it with pidfd_getfd() and the
 * task closes its fd at once. The ranges stay registered until the
 * controller closes its fd: the last reference goes, and the kernel
 * unregisters every VMA of the mm (userfaultfd_release), so nothing of it
 * is left in the task.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "compat/syscalls.h"
#include "compat/userfaultfd.h"
#include "restore/internal.h"
#include "restore/pages.h"

/*
 * Queued copies, run in parallel. Copies from one window of the pages file
 * make a group that one thread takes whole: two threads sharing a window
 * would each map and populate all of it.
 */
#define MAX_JOBS 1024
#define MAX_THREADS 2

struct job {
	uint64_t off, dst, len;
};

struct rst_uffd {
	struct rst_ctx *c;
	int fd;
	struct img_pagemap *pm;
	struct job jobs[MAX_JOBS];
	size_t njobs;
	size_t groups[MAX_JOBS]; /* the first job of each group */
	size_t ngroups;
	atomic_size_t next;   /* the next group to take */
	atomic_int err;       /* the first error of any thread */
	atomic_ullong copied; /* bytes */
};

/* The task makes the userfaultfd; returns its fd number in the task, or -errno. */
static int remote_userfaultfd(struct rst_ctx *c)
{
	/* User-mode-only faults are all there is to serve; it needs no privilege (5.11). */
	long fd = rst_sys(c, __NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd == -EINVAL)
		fd = rst_sys(c, __NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	return (int)fd;
}

/* A copy of fd number tfd of the task, or -errno. */
static int take_fd(struct rst_ctx *c, int tfd)
{
	_cleanup_close_ int pidfd = sys_pidfd_open(c->pid, 0);
	int fd;

	if (pidfd < 0)
		return negative_errno();
	fd = sys_pidfd_getfd(pidfd, tfd, 0);
	return fd < 0 ? negative_errno() : fd;
}

int rst_uffd_open(struct rst_ctx *c, struct img_pagemap *pm, struct rst_uffd **ret_u)
{
	struct rst_uffd *u;
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_SIGBUS};
	_cleanup_close_ int fd = -1;
	int tfd = remote_userfaultfd(c);
	long res;

	if (tfd < 0) {
		rst_debug(c, "userfaultfd() in the task failed (%s): pages go by process_vm_writev",
			  strerror(-tfd));
		*ret_u = NULL;
		return 0;
	}
	fd = take_fd(c, tfd);
	res = rst_sys(c, __NR_close, (unsigned long)tfd);
	if (res < 0) {
		/* It would stay in the task's fd table: fail rather than leave it there. */
		rst_err(c, "cannot close the userfaultfd (fd %d) made in the task: %s", tfd,
			strerror((int)-res));
		return (int)res;
	}
	if (fd < 0) {
		rst_debug(c,
			  "pidfd_getfd of the task's userfaultfd failed (%s): pages go by "
			  "process_vm_writev",
			  strerror(-fd));
		*ret_u = NULL;
		return 0;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		rst_debug(c, "UFFDIO_API with SIGBUS failed (%m): pages go by process_vm_writev");
		*ret_u = NULL;
		return 0;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->c = c;
	u->fd = TAKE_FD(fd);
	u->pm = pm;
	*ret_u = u;
	return 0;
}

void rst_uffd_close(struct rst_uffd *u)
{
	if (!u)
		return;
	close(u->fd);
	free(u);
}

bool rst_uffd_fits(const struct rst_vma *v)
{
	const VmaEntry *e = v->e;
	bool locked = (e->flags & MAP_LOCKED) && !(e->has_lock_onfault && e->lock_onfault);

	/* MAP_LOCKED faults every page in at mmap; hugetlb pages would need huge copies. */
	return (e->status & VMA_ANON_PRIVATE) && !locked && !(e->flags & MAP_HUGETLB);
}

int rst_uffd_register(struct rst_uffd *u, const struct rst_vma *v)
{
	struct rst_ctx *c = u->c;
	struct uffdio_register reg = {
		.range = {.start = v->e->start, .len = v->e->end - v->e->start},
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (ioctl(u->fd, UFFDIO_REGISTER, &reg) < 0) {
		int r = negative_errno();

		rst_err(c, "VMA %llx-%llx: UFFDIO_REGISTER failed: %s",
			(unsigned long long)v->e->start, (unsigned long long)v->e->end,
			strerror(-r));
		return r;
	}
	return 0;
}

/* A page that is there already (UFFDIO_COPY says EEXIST): an ordinary write. */
static int write_present_page(struct rst_ctx *c, const void *src, uint64_t dst)
{
	struct iovec l = {(void *)src, RST_PAGE_SIZE},
		     rem = {(void *)(uintptr_t)dst, RST_PAGE_SIZE};

	if (process_vm_writev(c->pid, &l, 1, &rem, 1, 0) != (ssize_t)RST_PAGE_SIZE) {
		int r = errno ? negative_errno() : -EFAULT;

		rst_err(c, "cannot write the page at %llx: %s", (unsigned long long)dst,
			strerror(-r));
		return r;
	}
	return 0;
}

static int copy(struct rst_uffd *u, const void *src, uint64_t dst, size_t len)
{
	const uint8_t *s = src;

	while (len) {
		/* Nobody waits on these pages: no wake-up. */
		struct uffdio_copy cp = {.dst = dst,
					 .src = (uintptr_t)s,
					 .len = len,
					 .mode = UFFDIO_COPY_MODE_DONTWAKE};
		size_t done;
		int r = ioctl(u->fd, UFFDIO_COPY, &cp) < 0 ? negative_errno() : 0;

		if (cp.copy > 0) {
			done = (size_t)cp.copy; /* all of it, or part with EAGAIN */
		} else if (r == -EEXIST) {
			r = write_present_page(u->c, s, dst);
			if (r < 0)
				return r;
			done = RST_PAGE_SIZE;
		} else if (r == -EAGAIN || r == -EINTR) {
			continue;
		} else {
			rst_err(u->c, "UFFDIO_COPY of %zu bytes to %llx failed: %s", len,
				(unsigned long long)dst, strerror(r ? -r : EIO));
			return r ? r : -EIO;
		}
		s += done;
		dst += done;
		len -= done;
	}
	return 0;
}

int rst_uffd_copy(struct rst_uffd *u, const void *src, uint64_t dst, size_t len)
{
	int r = copy(u, src, dst, len);

	if (r == 0)
		u->c->pages_restored += len / RST_PAGE_SIZE;
	return r;
}

int rst_uffd_queue(struct rst_uffd *u, uint64_t off, uint64_t dst, uint64_t len)
{
	while (len) {
		/* Cut at window boundaries: a job is within one window. */
		uint64_t n = MIN(len, RST_WINDOW_SIZE - off % RST_WINDOW_SIZE);
		int r;

		if (u->njobs == MAX_JOBS) {
			r = rst_uffd_run(u);
			if (r < 0)
				return r;
		}
		if (u->njobs == 0 ||
		    u->jobs[u->njobs - 1].off / RST_WINDOW_SIZE != off / RST_WINDOW_SIZE)
			u->groups[u->ngroups++] = u->njobs;
		u->jobs[u->njobs++] = (struct job){off, dst, n};
		off += n;
		dst += n;
		len -= n;
	}
	return 0;
}

static int do_job(struct rst_uffd *u, struct rst_window *w, struct job j)
{
	while (j.len) {
		uint64_t n = j.len;
		const uint8_t *src;
		int r = rst_window_at(u->c, w, j.off, &n, &src);

		if (r == 0)
			r = copy(u, src, j.dst, n);
		if (r < 0)
			return r;
		atomic_fetch_add(&u->copied, n);
		j.off += n;
		j.dst += n;
		j.len -= n;
	}
	return 0;
}

/* One thread: takes groups of jobs until there are none left or some thread failed. */
static void *worker(void *arg)
{
	struct rst_uffd *u = arg;
	struct rst_window w;
	int r = rst_window_open(u->c, u->pm, &w);

	while (r == 0 && atomic_load(&u->err) == 0) {
		size_t g = atomic_fetch_add(&u->next, 1);
		size_t end = g + 1 < u->ngroups ? u->groups[g + 1] : u->njobs;

		if (g >= u->ngroups)
			break;
		for (size_t i = u->groups[g]; i < end && r == 0; i++)
			r = do_job(u, &w, u->jobs[i]);
	}
	rst_window_close(&w);
	if (r < 0) {
		int none = 0;
		atomic_compare_exchange_strong(&u->err, &none, r);
	}
	return NULL;
}

int rst_uffd_run(struct rst_uffd *u)
{
	struct rst_ctx *c = u->c;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bool helper = false;
	pthread_t th;

	if (u->njobs == 0)
		return 0;
	atomic_store(&u->next, 0);
	atomic_store(&u->copied, 0);
	/* A helper thread only if there is a CPU for it; without one, jobs stay with us. */
	if (cpus >= MAX_THREADS && u->ngroups > 1)
		helper = pthread_create(&th, NULL, worker, u) == 0;
	worker(u);
	if (helper)
		pthread_join(th, NULL);
	c->pages_restored += atomic_load(&u->copied) / RST_PAGE_SIZE;
	u->njobs = 0;
	u->ngroups = 0;
	return atomic_load(&u->err);
}
