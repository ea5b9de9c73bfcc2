/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UFFDIO_COPY into the task's private anonymous memory. A page written with
 * process_vm_writev() is faulted in first, which zeroes it, then copied:
 * about 1.6-1.9 GB/s on this machine; UFFDIO_COPY allocates the page and
 * copies into it, 3-3.8 GB/s (docs/restore.md, "Speed").
 *
 * The userfaultfd must belong to the task's mm, so the task creates it
 * (a remote syscall); the controller takes it with pidfd_getfd() and the
 * task closes its fd at once. The ranges stay registered until the
 * controller closes its fd: the last reference goes, and the kernel
 * unregisters every VMA of the mm (userfaultfd_release), so nothing of it
 * is left in the task.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "compat/syscalls.h"
#include "compat/userfaultfd.h"
#include "restore/internal.h"
#include "restore/pages-uffd.h"

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

int rst_uffd_open(struct rst_ctx *c, int *ret_fd)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_SIGBUS};
	_cleanup_close_ int fd = -1;
	int tfd = remote_userfaultfd(c);
	long res;

	if (tfd < 0) {
		rst_debug(c, "userfaultfd() in the task failed (%s): pages go by process_vm_writev",
			  strerror(-tfd));
		*ret_fd = -1;
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
		*ret_fd = -1;
		return 0;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		rst_debug(c, "UFFDIO_API with SIGBUS failed (%m): pages go by process_vm_writev");
		*ret_fd = -1;
		return 0;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

bool rst_uffd_fits(const struct rst_vma *v)
{
	const VmaEntry *e = v->e;
	bool locked = (e->flags & MAP_LOCKED) && !(e->has_lock_onfault && e->lock_onfault);

	/* MAP_LOCKED faults every page in at mmap; hugetlb pages would need huge copies. */
	return (e->status & VMA_ANON_PRIVATE) && !locked && !(e->flags & MAP_HUGETLB);
}

int rst_uffd_register(struct rst_ctx *c, int uffd, const struct rst_vma *v)
{
	struct uffdio_register reg = {
		.range = {.start = v->e->start, .len = v->e->end - v->e->start},
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
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

int rst_uffd_copy(struct rst_ctx *c, int uffd, const void *src, uint64_t dst, size_t len)
{
	const uint8_t *s = src;

	while (len) {
		/* Nobody waits on these pages: no wake-up. */
		struct uffdio_copy cp = {.dst = dst,
					 .src = (uintptr_t)s,
					 .len = len,
					 .mode = UFFDIO_COPY_MODE_DONTWAKE};
		size_t done;
		int r = ioctl(uffd, UFFDIO_COPY, &cp) < 0 ? negative_errno() : 0;

		if (cp.copy > 0) {
			done = (size_t)cp.copy; /* all of it, or part with EAGAIN */
		} else if (r == -EEXIST) {
			r = write_present_page(c, s, dst);
			if (r < 0)
				return r;
			done = RST_PAGE_SIZE;
		} else if (r == -EAGAIN || r == -EINTR) {
			continue;
		} else {
			rst_err(c, "UFFDIO_COPY of %zu bytes to %llx failed: %s", len,
				(unsigned long long)dst, strerror(r ? -r : EIO));
			return r ? r : -EIO;
		}
		c->pages_restored += done / RST_PAGE_SIZE;
		s += done;
		dst += done;
		len -= done;
	}
	return 0;
}
