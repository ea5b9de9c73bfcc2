/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Copying pages out of a task into pages-N.img, in bounded memory.
 *
 * The buffer has two halves. The calling thread fills one half with
 * process_vm_readv (many remote ranges per call) while a writer thread
 * write()s the other half to the pages file: on this kind of machine reading
 * a task (5.5 GB/s) and writing tmpfs (3.2 GB/s) take about as long, so
 * doing them at once nearly halves the time. The pagemap entries of a half
 * are added by the calling thread once the half is in the file; an entry
 * that goes on in the next half is held back and extended, so that the
 * pagemap has one entry per run of pages whatever the buffer size.
 *
 * The writer thread is started with the second half: a dump that fits in
 * one half is read and written inline. It never logs: errors are handed
 * back and reported by the calling thread.
 *
 * With a splicer (mem_copier_open_splice), a half is a pipe instead of a
 * buffer: the task vmsplices its pages into it (a remote syscall: the pipe
 * then holds references to the task's pages, no copy) and the writer
 * splices them into the file (the one copy). The task is frozen, so the
 * pages cannot change between the two. Runs the task cannot vmsplice (not
 * readable by it, or a short vmsplice) are read into a bounce buffer and
 * written into the pipe from our side, in their place.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/macro.h"
#include "image/image.h"
#include "mem/internal.h"

#define COPY_MIN_HALF (64u * 1024)
/* How long reclaim() waits for the writer without sleeping: a 1 MiB half at 1 GB/s. */
#define SPIN_NS (1000u * 1000)

struct run {
	uint64_t addr;
	uint64_t len;
	bool via_fd;
};

/* A pagemap entry to be: its pages follow the previous entry's in the file. */
struct piece {
	uint64_t vaddr;
	uint64_t len;
	uint32_t flags;
};

enum half_state { HALF_FREE, HALF_WRITING, HALF_WRITTEN };

struct half {
	uint8_t *buf;                /* NULL for a pipe */
	const struct mem_pipe *pipe; /* NULL for a buffer */
	size_t used;
	struct run *runs;
	size_t nr_runs;
	struct piece *pieces;
	size_t nr_pieces;
	enum half_state state; /* under lock once the thread runs */
	int err;               /* of its write, set with state */
};

struct mem_copier {
	char label[32]; /* for messages: "pid 1234", "shmem 56" */
	pid_t pid;
	int src_fd;
	struct img_pagemap_writer *w;
	int out_fd;
	size_t half_size;
	bool one_thread;
	bool zero_unreadable; /* pages gone since they were found read as zeros */
	bool zero_past_end;   /* src_fd is a file: the last page's bytes past its end are zeros */
	const struct mem_splicer *sp;
	uint8_t *bounce; /* half_size bytes, for what the task cannot vmsplice */
	struct half h[2];
	int cur;
	struct iovec remote[IOV_MAX];
	struct piece held;
	bool have_held;

	bool thread_started;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int queued;     /* the half the writer is to write, or -1 */
	int writer_cpu; /* where the writer last started a half (atomic), or -1 */
	bool stop;
	int err; /* the first error: the copier is unusable after it */
};

/* len bytes into fd: from p, or spliced from the pipe `from` if it is >= 0. */
static int put_all(int fd, int from, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = from >= 0 ? splice(from, NULL, fd, NULL, len, SPLICE_F_MOVE)
				      : write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -EIO;
		if (p)
			p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Put what the half holds into the pages file. */
static int drain_half(struct mem_copier *c, struct half *h)
{
	return put_all(c->out_fd, h->pipe ? h->pipe->rfd : -1, h->buf, h->used);
}

static void *writer_main(void *arg)
{
	struct mem_copier *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct half *h;
		int i, r;

		while (c->queued < 0 && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->queued < 0)
			break;
		i = c->queued;
		c->queued = -1;
		h = &c->h[i];
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		__atomic_store_n(&c->writer_cpu, sched_getcpu(), __ATOMIC_RELAXED);
		r = drain_half(c, h);
		pthread_mutex_lock(&c->lock);
		h->err = r;
		/* Atomic, and released: spin_while_writing() reads it without the lock. */
		__atomic_store_n(&h->state, HALF_WRITTEN, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void free_half(struct half *h, size_t half_size)
{
	if (h->buf)
		munmap(h->buf, half_size);
	free(h->runs);
	free(h->pieces);
}

void mem_copier_free(struct mem_copier *c)
{
	if (!c)
		return;
	if (c->thread_started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	for (int i = 0; i < 2; i++)
		free_half(&c->h[i], c->half_size);
	if (c->bounce)
		munmap(c->bounce, c->half_size);
	free(c);
}

static uint8_t *alloc_buf(size_t size)
{
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Fewer faults and TLB misses while the copies run; merely a hint. */
	(void)madvise(p, size, MADV_HUGEPAGE);
	return p;
}

/* A buffer half, or with pipe a pipe half (no buffer of its own). */
static int alloc_half(struct half *h, size_t half_size, const struct mem_pipe *pipe)
{
	size_t max_runs = half_size / MEM_PAGE_SIZE;

	h->pipe = pipe;
	if (!pipe && !(h->buf = alloc_buf(half_size)))
		return -ENOMEM;
	h->runs = calloc(max_runs, sizeof(*h->runs));
	h->pieces = calloc(max_runs, sizeof(*h->pieces));
	return h->runs && h->pieces ? 0 : -ENOMEM;
}

static int copier_new(const char *label, pid_t pid, int src_fd, struct img_pagemap_writer *w,
		      size_t half_size, const struct mem_splicer *sp, bool one_thread,
		      struct mem_copier **ret_c)
{
	struct mem_copier *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->label, sizeof(c->label), "%s", label);
	c->pid = pid;
	c->src_fd = src_fd;
	c->w = w;
	c->out_fd = img_pagemap_writer_pages_fd(w);
	c->half_size = half_size;
	c->one_thread = one_thread;
	c->sp = sp;
	c->queued = -1;
	c->writer_cpu = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	r = sp && !(c->bounce = alloc_buf(half_size)) ? -ENOMEM : 0;
	for (int i = 0; r == 0 && i < (one_thread ? 1 : 2); i++)
		r = alloc_half(&c->h[i], c->half_size, sp ? &sp->pipe[i] : NULL);
	if (r < 0) {
		mem_copier_free(c);
		return r;
	}
	*ret_c = c;
	return 0;
}

int mem_copier_open(const char *label, pid_t pid, int src_fd, struct img_pagemap_writer *w,
		    size_t buf_size, bool one_thread, struct mem_copier **ret_c)
{
	size_t half = ALIGN_UP(buf_size / 2, (size_t)MEM_PAGE_SIZE);

	return copier_new(label, pid, src_fd, w, MAX(half, (size_t)COPY_MIN_HALF), NULL, one_thread,
			  ret_c);
}

int mem_copier_open_splice(const char *label, pid_t pid, int src_fd, struct img_pagemap_writer *w,
			   const struct mem_splicer *sp, bool one_thread, struct mem_copier **ret_c)
{
	size_t half = MIN(sp->pipe[0].size, sp->pipe[1].size) & ~(size_t)(MEM_PAGE_SIZE - 1);

	if (!half || !sp->max_iov)
		return -EINVAL;
	return copier_new(label, pid, src_fd, w, half, sp, one_thread, ret_c);
}

static int read_via_fd(struct mem_copier *c, uint8_t *dst, uint64_t addr, uint64_t len)
{
	while (len) {
		ssize_t n = pread(c->src_fd, dst, len, (off_t)addr);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && c->zero_past_end && len < MEM_PAGE_SIZE) {
			memset(dst, 0, len);
			break;
		}
		if (n <= 0 && c->zero_unreadable) {
			/* Unmapped by the running task since the scan: a next round saves it. */
			n = (ssize_t)(MEM_PAGE_SIZE - addr % MEM_PAGE_SIZE);
			memset(dst, 0, (size_t)n);
		} else if (n <= 0) {
			int r = n < 0 ? negative_errno() : -EIO;

			errno = -r;
			pr_perror("%s: cannot read the pages at %llx", c->label,
				  (unsigned long long)addr);
			return r;
		}
		dst += n;
		addr += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * Read the runs from runs[0] on (up to IOV_MAX, until one is via_fd) with
 * one process_vm_readv into dst. A short read (a page the task cannot read
 * itself) goes on through src_fd (/proc/PID/mem reads what ptrace may
 * read). Returns the number of runs read.
 */
static int read_runs(struct mem_copier *c, const struct run *runs, size_t nr, uint8_t *dst)
{
	struct iovec local;
	uint64_t total = 0;
	ssize_t n;
	size_t i;
	int r;

	for (i = 0; i < nr && i < IOV_MAX && !runs[i].via_fd; i++) {
		c->remote[i] = (struct iovec){(void *)(uintptr_t)runs[i].addr, runs[i].len};
		total += runs[i].len;
	}
	local = (struct iovec){dst, total};
	n = process_vm_readv(c->pid, &local, 1, c->remote, i, 0);
	if (n == (ssize_t)total)
		return (int)i;
	if (n < 0) {
		if (errno != EFAULT) {
			r = negative_errno();
			pr_perror("%s: cannot read the pages at %llx", c->label,
				  (unsigned long long)runs[0].addr);
			return r;
		}
		n = 0;
	}
	/* Keep what was read, finish the run it stopped in through the fd. */
	for (i = 0; (uint64_t)n >= runs[i].len; i++) {
		n -= (ssize_t)runs[i].len;
		dst += runs[i].len;
	}
	r = read_via_fd(c, dst + n, runs[i].addr + (uint64_t)n, runs[i].len - (uint64_t)n);
	return r < 0 ? r : (int)i + 1;
}

/* Read the pages of runs[0..nr) into dst. */
static int read_into(struct mem_copier *c, const struct run *runs, size_t nr, uint8_t *dst)
{
	size_t i = 0;

	while (i < nr) {
		const struct run *run = &runs[i];
		int r;

		if (run->via_fd || c->pid == 0) {
			r = read_via_fd(c, dst, run->addr, run->len);
			if (r < 0)
				return r;
			dst += run->len;
			i++;
			continue;
		}
		r = read_runs(c, run, nr - i, dst);
		if (r < 0)
			return r;
		for (int k = 0; k < r; k++)
			dst += runs[i++].len;
	}
	return 0;
}

/*
 * Runs[0..nr) but their first `skip` bytes (which are in the pipe already):
 * read through the bounce buffer and written into the pipe from our side.
 */
static int bounce_runs(struct mem_copier *c, const struct half *h, struct run *runs, size_t nr,
		       uint64_t skip)
{
	uint64_t total = 0;
	int r;

	for (; nr && skip >= runs[0].len; runs++, nr--)
		skip -= runs[0].len;
	if (!nr)
		return 0;
	runs[0].addr += skip;
	runs[0].len -= skip;
	for (size_t i = 0; i < nr; i++)
		total += runs[i].len;
	r = read_into(c, runs, nr, c->bounce);
	if (r < 0)
		return r;
	r = put_all(h->pipe->wfd, -1, c->bounce, total);
	if (r < 0)
		pr_err("%s: cannot put pages into a pipe: %s", c->label, strerror(-r));
	return r;
}

/*
 * The task vmsplices the runs into the half's pipe, up to max_iov runs a
 * call; what it could not move goes in through the bounce buffer. The pipe
 * is empty and holds half_size bytes, so nothing here waits.
 */
static int fill_pipe(struct mem_copier *c, struct half *h)
{
	struct iovec iov[IOV_MAX];
	size_t i = 0;

	while (i < h->nr_runs) {
		uint64_t total = 0;
		size_t k;
		ssize_t n = 0;
		int r;

		for (k = 0; i + k < h->nr_runs && k < MIN(c->sp->max_iov, (size_t)IOV_MAX) &&
			    !h->runs[i + k].via_fd;
		     k++) {
			iov[k] = (struct iovec){(void *)(uintptr_t)h->runs[i + k].addr,
						h->runs[i + k].len};
			total += h->runs[i + k].len;
		}
		if (k)
			n = c->sp->vmsplice(c->sp->arg, h->pipe->task_fd, iov, k);
		else
			k = 1; /* a via_fd run */
		r = (uint64_t)MAX(n, 0) < total || !total
			    ? bounce_runs(c, h, &h->runs[i], k, (uint64_t)MAX(n, 0))
			    : 0;
		if (r < 0)
			return r;
		i += k;
	}
	return 0;
}

/* Read the pages a half describes into its buffer, or have the task put them into its pipe. */
static int fill_half(struct mem_copier *c, struct half *h)
{
	return h->pipe ? fill_pipe(c, h) : read_into(c, h->runs, h->nr_runs, h->buf);
}

static int add_entry(struct mem_copier *c, const struct piece *p)
{
	return img_pagemap_writer_add(c->w, p->vaddr, p->len / MEM_PAGE_SIZE, p->flags, NULL);
}

/* The half is in the file: add its entries, holding back the last one. */
static int add_pieces(struct mem_copier *c, struct half *h)
{
	for (size_t i = 0; i < h->nr_pieces; i++) {
		const struct piece *p = &h->pieces[i];
		int r;

		if (c->have_held && c->held.vaddr + c->held.len == p->vaddr &&
		    c->held.flags == p->flags) {
			c->held.len += p->len;
			continue;
		}
		if (c->have_held && (r = add_entry(c, &c->held)) < 0)
			return r;
		c->held = *p;
		c->have_held = true;
	}
	h->used = h->nr_runs = h->nr_pieces = 0;
	h->state = HALF_FREE;
	return 0;
}

static int report_write(struct mem_copier *c, int r)
{
	errno = -r;
	pr_perror("%s: cannot write the pages", c->label);
	return r;
}

/*
 * Wait for the writer to be done with h without sleeping, for a while: the
 * writer is the bound of a dump, and waking us from a sleep costs it a
 * cross-CPU wake-up per half (4 % of its time in a profile: docs/mem.md,
 * "Copying"). Only while it runs on another CPU than ours: on the same
 * one, spinning would take its time.
 */
static void spin_while_writing(const struct mem_copier *c, const struct half *h)
{
	uint64_t start;

	if (__atomic_load_n(&c->writer_cpu, __ATOMIC_RELAXED) == sched_getcpu())
		return;
	start = monotonic_ns();
	for (unsigned int n = 1; __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == HALF_WRITING;
	     n++) {
		__builtin_ia32_pause();
		if (n % 64 == 0 && monotonic_ns() - start > SPIN_NS)
			return;
	}
}

/* Wait until the writer is done with half i, then add its entries. */
static int reclaim(struct mem_copier *c, int i)
{
	struct half *h = &c->h[i];
	enum half_state state;
	int err;

	spin_while_writing(c, h);
	pthread_mutex_lock(&c->lock);
	while (h->state == HALF_WRITING)
		pthread_cond_wait(&c->cond, &c->lock);
	state = h->state;
	err = h->err;
	pthread_mutex_unlock(&c->lock);
	if (state != HALF_WRITTEN)
		return 0;
	if (err < 0)
		return report_write(c, err);
	return add_pieces(c, h);
}

static int write_inline(struct mem_copier *c, struct half *h)
{
	int r = drain_half(c, h);

	return r < 0 ? report_write(c, r) : add_pieces(c, h);
}

/* The current half is full (or the end has come): read it and have it written. */
static int submit(struct mem_copier *c)
{
	struct half *h = &c->h[c->cur];
	int r;

	r = fill_half(c, h);
	if (r < 0)
		return r;
	if (!c->thread_started) {
		if (c->one_thread || pthread_create(&c->thread, NULL, writer_main, c) != 0)
			return write_inline(c, h);
		c->thread_started = true;
	}
	pthread_mutex_lock(&c->lock);
	while (c->queued >= 0) /* the other half is still waiting for the writer */
		pthread_cond_wait(&c->cond, &c->lock);
	h->state = HALF_WRITING;
	c->queued = c->cur;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	c->cur ^= 1;
	return reclaim(c, c->cur);
}

/* An entry whose pages are not in this image set (IMG_PE_PARENT): nothing to read. */
static void append_entry(struct half *h, uint64_t addr, uint64_t len, uint32_t flags)
{
	struct piece *p = h->nr_pieces ? &h->pieces[h->nr_pieces - 1] : NULL;

	if (p && p->vaddr + p->len == addr && p->flags == flags)
		p->len += len;
	else
		h->pieces[h->nr_pieces++] = (struct piece){addr, len, flags};
}

static void append(struct half *h, uint64_t addr, uint64_t len, uint32_t flags, bool via_fd)
{
	struct run *run = h->nr_runs ? &h->runs[h->nr_runs - 1] : NULL;
	struct piece *p = h->nr_pieces ? &h->pieces[h->nr_pieces - 1] : NULL;

	if (run && run->addr + run->len == addr && run->via_fd == via_fd)
		run->len += len;
	else
		h->runs[h->nr_runs++] = (struct run){addr, len, via_fd};
	if (p && p->vaddr + p->len == addr && p->flags == flags)
		p->len += len;
	else
		h->pieces[h->nr_pieces++] = (struct piece){addr, len, flags};
	h->used += len;
}

int mem_copier_add(struct mem_copier *c, uint64_t addr, uint64_t len, uint32_t flags, bool via_fd)
{
	if (c->err)
		return c->err;
	if (addr % MEM_PAGE_SIZE || len % MEM_PAGE_SIZE)
		return -EINVAL;
	if (!(flags & IMG_PE_PRESENT)) {
		struct half *h = &c->h[c->cur];

		if (h->nr_pieces == c->half_size / MEM_PAGE_SIZE) {
			int r = submit(c);

			if (r < 0)
				return c->err = r;
			h = &c->h[c->cur];
		}
		append_entry(h, addr, len, flags);
		return 0;
	}
	while (len) {
		struct half *h = &c->h[c->cur];
		uint64_t take;

		if (h->used == c->half_size || h->nr_pieces == c->half_size / MEM_PAGE_SIZE) {
			int r = submit(c);

			if (r < 0)
				return c->err = r;
			continue;
		}
		take = MIN(len, (uint64_t)(c->half_size - h->used));
		append(h, addr, take, flags, via_fd);
		addr += take;
		len -= take;
	}
	return 0;
}

int mem_copier_finish(struct mem_copier *c)
{
	struct half *h = &c->h[c->cur];
	int r;

	if (c->err)
		return c->err;
	if (h->used || h->nr_pieces) {
		r = c->thread_started ? submit(c) : fill_half(c, h);
		if (r >= 0 && !c->thread_started)
			r = write_inline(c, h);
		if (r < 0)
			return c->err = r;
	}
	/* Both halves: the one written earlier first. */
	for (int k = 1; k >= 0; k--) {
		r = reclaim(c, c->cur ^ k);
		if (r < 0)
			return c->err = r;
	}
	if (c->have_held) {
		r = add_entry(c, &c->held);
		if (r < 0)
			return c->err = r;
		c->have_held = false;
	}
	return 0;
}

void mem_copier_zero_unreadable(struct mem_copier *c)
{
	c->zero_unreadable = true;
}

void mem_copier_zero_past_end(struct mem_copier *c)
{
	c->zero_past_end = true;
}
