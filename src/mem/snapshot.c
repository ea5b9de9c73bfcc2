/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Consistent snapshots of running memory (`dump -R --snapshot`,
 * docs/predump.md): the pages that hold something at the freeze are found
 * and write-protected with a userfaultfd in synchronous mode (mostly before
 * the freeze: snapshot-arm.c; here what is left of it for the freeze), the
 * task is let go, and the pages are copied in the background. A write to a page not
 * copied yet stops the writer in the kernel and sends stasis a message: the
 * page is copied first (a protected page can still be read), then the
 * protection is lifted and the writer woken.
 *
 * Every page has a fixed place in pages-N.img from the start (the pagemap
 * is written at the freeze), so pages are written in any order with
 * pwrite(). A page is "claimed" by the thread that copies it (background or
 * fault handler) and "done" once it is read and checked; only then may its
 * protection go.
 *
 * The check: after a copy, PAGEMAP_SCAN must still show every page read as
 * present (or swapped) and write-protected. A page the task
 * dropped (MADV_DONTNEED), unmapped or moved (mremap drops the protection)
 * before it was copied fails the check, and the snapshot with it: the
 * images are the state at the freeze, or there are none.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/userfaultfd.h"
#include "image/image.h"
#include "mem/snapshot.h"

/* Pages copied by the background per step, and around a written page. */
#define BG_CHUNK_PAGES 512u
#define FAULT_BLOCK_PAGES 16u

static bool bit_get(const uint64_t *b, uint64_t i)
{
	return b[i / 64] & (1ull << (i % 64));
}

static void bit_set(uint64_t *b, uint64_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

int mem_snapshot_api(pid_t pid, int uffd)
{
	/*
	 * Writes to never-populated pages fault too (markers), and stasis hears
	 * of pages dropped or unmapped: what arming before the freeze needs
	 * (snapshot-arm.c). Shared memory is protected too. A fork is heard of
	 * (snap_drain): a child's mapping of a shared object not copied yet
	 * would write to it unseen.
	 */
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_EVENT_REMOVE |
			    UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_WP_HUGETLBFS_SHMEM |
			    UFFD_FEATURE_EVENT_FORK,
	};

	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		int r = negative_errno();

		pr_err("pid %d: its userfaultfd refuses synchronous write protection with "
		       "markers and events (Linux 6.4+): %s; dump without --snapshot",
		       pid, strerror(-r));
		return r;
	}
	return 0;
}

void mem_snapshot_free(struct mem_snapshot *s)
{
	if (!s)
		return;
	snap_arm_free(s);
	img_pagemap_writer_free(s->w);
	for (int i = 0; i < 2; i++)
		mem_scan_free(s->scan[i]);
	safe_close(s->mem_fd);
	free(s->x);
	free(s->maps);
	free(s->claimed);
	free(s->done);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int snap_add_extent(struct mem_snapshot *s, uint64_t start, uint64_t end, bool via_fd, bool protect,
		    bool need_wp)
{
	struct snap_extent *last = s->n ? &s->x[s->n - 1] : NULL;

	need_wp = need_wp && protect;
	if (last && last->end == start && last->via_fd == via_fd && last->protect == protect &&
	    last->need_wp == need_wp) {
		last->end = end;
	} else {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct snap_extent *v = reallocarray(s->x, cap, sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->x = v;
			s->cap = cap;
		}
		s->x[s->n++] =
			(struct snap_extent){start, end, s->npages, via_fd, protect, need_wp};
	}
	s->npages += (end - start) / MEM_PAGE_SIZE;
	return 0;
}

/* ---- At the freeze: which pages, protected or copied at once ---- */

struct collect {
	struct mem_snapshot *s;
	struct mem_dump_stats *st;
	bool via_fd, protect;
};

static int on_run(void *arg, const struct mem_run *run)
{
	struct collect *c = arg;
	uint64_t pages = (run->end - run->start) / MEM_PAGE_SIZE;

	if (run->zero) {
		c->st->pages_zero += pages;
		return 0;
	}
	c->st->pages_written += pages;
	return snap_add_extent(c->s, run->start, run->end, c->via_fd, c->protect, true);
}

int snap_scan_range(struct mem_snapshot *s, const struct mem_vma *v, uint64_t start, uint64_t end,
		    struct mem_dump_stats *st)
{
	struct collect c = {.s = s, .st = st, .via_fd = !(v->e.prot & PROT_READ), .protect = true};

	mem_scan_set_anon(s->scan[0], mem_vma_is(&v->e, VMA_ANON_PRIVATE));
	return mem_scan_private(s->scan[0], start, end, on_run, &c);
}

int snap_collect_vma(struct mem_snapshot *s, const struct mem_vma *v, struct mem_dump_stats *st)
{
	const VmaEntry *e = &v->e;
	struct collect c = {.s = s, .st = st, .via_fd = !(e->prot & PROT_READ)};
	int r;

	st->pages_scanned += (e->end - e->start) / MEM_PAGE_SIZE;
	if (mem_vma_is(e, VMA_AREA_VDSO)) {
		st->pages_written += (e->end - e->start) / MEM_PAGE_SIZE;
		return snap_add_extent(s, e->start, e->end, c.via_fd, false, false);
	}
	if (v->uffd && !mem_vma_trackable(v)) {
		pr_err("pid %d: the VMA %" PRIx64 "-%" PRIx64 " is registered with a userfaultfd "
		       "of the task's own: a snapshot cannot watch it; dump without --snapshot",
		       s->pid, e->start, e->end);
		return -EBUSY;
	}
	if (!v->rss_swap_kib)
		return 0;
	/* A VMA the kernel cannot protect in synchronous mode (a private file mapping
	 * without markers, huge pages) is copied at once, frozen. */
	if (mem_vma_trackable(v) && (r = mem_uffd_register_wp(s->pid, s->uffd, e, &c.protect)) < 0)
		return r;
	mem_scan_set_anon(s->scan[0], mem_vma_is(e, VMA_ANON_PRIVATE));
	return mem_scan_private(s->scan[0], e->start, e->end, on_run, &c);
}

int snap_ranges_add(struct snap_ranges *r, uint64_t start, uint64_t end)
{
	struct snap_range *last = r->n ? &r->v[r->n - 1] : NULL;

	if (last && start >= last->start && start <= last->end) {
		last->end = MAX(last->end, end);
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct snap_range *v = reallocarray(r->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct snap_range){start, end};
	return 0;
}

void snap_ranges_release(struct snap_ranges *r)
{
	free(r->v);
	*r = (struct snap_ranges){};
}

/* An event waits this long at most to be read by the server before a protection gives up. */
#define EAGAIN_TRIES 100000
#define EAGAIN_WAIT_US 50

int snap_uffd_protect(struct mem_snapshot *s, uint64_t start, uint64_t end, bool on, bool wait)
{
	struct uffdio_writeprotect wp = {
		.range = {.start = start, .len = end - start},
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0, /* off: and wake the writers */
	};
	struct uffdio_range wake = wp.range;
	int r = 0;

	for (int tries = 0; ioctl(s->uffd, UFFDIO_WRITEPROTECT, &wp) < 0; tries++) {
		r = negative_errno();
		if (r != -EAGAIN || tries == EAGAIN_TRIES)
			break;
		if (!wait)
			return r;
		usleep(EAGAIN_WAIT_US);
		r = 0;
	}
	if (r == 0)
		return 0;
	if (!on) {
		/* Unmapped meanwhile (the check failed already): whoever waits must go on. */
		(void)ioctl(s->uffd, UFFDIO_WAKE, &wake);
		if (r == -ENOENT)
			return 0;
	}
	if (r == -ENOENT)
		return r; /* a VMA there is not registered (any more): the caller decides */
	pr_err("%s: cannot %s the pages %" PRIx64 "-%" PRIx64 ": %s", s->label,
	       on ? "write-protect" : "release", start, end, strerror(-r));
	return r;
}

void snap_release_held(struct mem_snapshot *s, struct snap_ranges *held)
{
	size_t k = 0;

	for (size_t i = 0; i < held->n; i++) {
		int r = snap_uffd_protect(s, held->v[i].start, held->v[i].end, false, false);

		if (r == -EAGAIN)
			held->v[k++] = held->v[i];
		else if (r < 0)
			snap_set_err(s, r);
	}
	held->n = k;
}

static int read_pages(struct mem_snapshot *s, const struct snap_extent *x, uint64_t start,
		      uint64_t end, uint8_t *buf)
{
	struct iovec local = {buf, end - start}, remote = {(void *)(uintptr_t)start, end - start};
	ssize_t n = 0;

	if (!x->via_fd)
		n = process_vm_readv(s->pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		n = 0; /* EFAULT on an unreadable page: the rest through the fd */
	while ((uint64_t)n < end - start) {
		ssize_t k = pread(s->mem_fd, buf + n, end - start - (uint64_t)n,
				  (off_t)(start + (uint64_t)n));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int r = k < 0 ? negative_errno() : -EIO;

			pr_err("%s: cannot read the pages at %" PRIx64 " (%s): the task unmapped "
			       "them or exited before they were saved; dump again",
			       s->label, start + (uint64_t)n, strerror(-r));
			return r;
		}
		n += k;
	}
	return 0;
}

static int write_pages(struct mem_snapshot *s, const struct snap_extent *x, uint64_t start,
		       uint64_t end, const uint8_t *buf)
{
	uint64_t off = (x->first + (start - x->start) / MEM_PAGE_SIZE) * MEM_PAGE_SIZE;
	uint64_t len = end - start;

	while (len) {
		ssize_t n = pwrite(s->pages_fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? negative_errno() : -EIO;

			pr_err("%s: cannot write the pages of %" PRIx64 ": %s", s->label, start,
			       strerror(-r));
			return r;
		}
		buf += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* The pagemap at once (every page has its place), the file at its full size. */
static int write_pagemap(struct mem_snapshot *s)
{
	if (ftruncate(s->pages_fd, (off_t)(s->npages * MEM_PAGE_SIZE)) < 0) {
		int r = negative_errno();

		pr_perror("%s: cannot size the pages file", s->label);
		return r;
	}
	for (size_t i = 0; i < s->n;) {
		uint64_t start = s->x[i].start, end = s->x[i].end;
		int r;

		for (i++; i < s->n && s->x[i].start == end; i++)
			end = s->x[i].end;
		r = img_pagemap_writer_add(s->w, start, (end - start) / MEM_PAGE_SIZE,
					   IMG_PE_PRESENT, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Frozen: protect what is watched, copy the rest now. */
static int protect_or_copy(struct mem_snapshot *s)
{
	_cleanup_free_ uint8_t *buf = malloc(BG_CHUNK_PAGES * MEM_PAGE_SIZE);

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_extent *x = &s->x[i];
		uint64_t a;
		int r;

		if (x->protect) {
			uint64_t end = x->end;

			/* Armed before the freeze: protected since, or served (need_wp again). */
			if (!x->need_wp)
				continue;
			while (i + 1 < s->n && s->x[i + 1].need_wp && s->x[i + 1].start == end)
				end = s->x[++i].end;
			r = snap_uffd_protect(s, x->start, end, true, true);
			if (r == -ENOENT)
				pr_err("%s: the pages %" PRIx64 "-%" PRIx64 " are not registered "
				       "any more, frozen",
				       s->label, x->start, end);
			if (r < 0)
				return r;
			continue;
		}
		for (a = x->start; a < x->end; a += BG_CHUNK_PAGES * MEM_PAGE_SIZE) {
			uint64_t b = MIN(x->end, a + BG_CHUNK_PAGES * MEM_PAGE_SIZE);

			r = read_pages(s, x, a, b, buf);
			if (r == 0)
				r = write_pages(s, x, a, b, buf);
			if (r < 0)
				return r;
		}
		for (uint64_t p = x->first; p < x->first + (x->end - x->start) / MEM_PAGE_SIZE;
		     p++) {
			bit_set(s->claimed, p);
			bit_set(s->done, p);
		}
	}
	return 0;
}

int snap_new(pid_t pid, int uffd, struct mem_snapshot **ret)
{
	_cleanup_(mem_snapshot_freep) struct mem_snapshot *s = calloc(1, sizeof(*s));
	char path[64];
	int r;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	snprintf(s->label, sizeof(s->label), "pid %d", pid);
	s->pid = pid;
	s->uffd = uffd;
	s->pages_fd = -1;
	s->mem_fd = -1;
	if (!pid) {
		*ret = TAKE_PTR(s);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	s->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->mem_fd < 0) {
		r = negative_errno();
		pr_perror("cannot open %s", path);
		return r;
	}
	for (int i = 0; i < 2; i++)
		if ((r = mem_scan_open(pid, 0, &s->scan[i])) < 0)
			return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int snap_layout(struct mem_snapshot *s, struct img_dir *dir, uint64_t id, uint32_t pages_id)
{
	size_t words = s->npages / 64 + 1;
	int r;

	s->claimed = calloc(words, sizeof(uint64_t));
	s->done = calloc(words, sizeof(uint64_t));
	if (!s->claimed || !s->done)
		return -ENOMEM;
	r = img_pagemap_writer_open(dir, s->shobj ? IMG_SHMEM_PAGEMAP : IMG_PAGEMAP, id, pages_id,
				    &s->w);
	if (r < 0)
		return r;
	s->pages_fd = img_pagemap_writer_pages_fd(s->w);
	r = write_pagemap(s);
	if (r < 0)
		return r;
	return protect_or_copy(s);
}

int mem_snapshot_begin(pid_t pid, int uffd, const struct mem_vmas *vmas, struct img_dir *dir,
		       uint64_t id, uint32_t pages_id, struct mem_dump_stats *st,
		       struct mem_snapshot **ret)
{
	_cleanup_(mem_snapshot_freep) struct mem_snapshot *s = NULL;
	int r;

	r = snap_new(pid, uffd, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < vmas->nr; i++)
		if (mem_vma_has_private_pages(&vmas->v[i].e) &&
		    (r = snap_collect_vma(s, &vmas->v[i], st)) < 0)
			return r;
	r = snap_layout(s, dir, id, pages_id);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

/* ---- Running: the copy, and writes served first ---- */

void snap_set_err(struct mem_snapshot *s, int r)
{
	pthread_mutex_lock(&s->lock);
	if (!s->err)
		s->err = r;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

struct verify {
	uint64_t next;
	bool bad;
};

static int on_verify(void *arg, const struct mem_run *run)
{
	struct verify *v = arg;

	if (run->start != v->next || run->written || run->zero)
		v->bad = true;
	v->next = run->end;
	return 0;
}

/*
 * The pages read are what they were at the freeze if they are all still
 * there, anonymous and write-protected now: nothing could have written,
 * dropped or moved one without clearing its protection.
 */
static int verify(struct mem_snapshot *s, int thread, uint64_t start, uint64_t end)
{
	struct verify v = {.next = start};
	int r;

	/* Only anonymous memory is protected in synchronous mode: no page cache page to see. */
	mem_scan_set_anon(s->scan[thread], true);
	r = mem_scan_tracked(s->scan[thread], start, end, false, on_verify, &v);

	if (r < 0)
		return r;
	if (v.bad || v.next != end) {
		pr_err("%s: pages in %" PRIx64 "-%" PRIx64
		       " were dropped, unmapped or moved by the "
		       "task (MADV_DONTNEED, munmap, mremap) before stasis saved them: the "
		       "snapshot would not be consistent; dump again, or without --snapshot",
		       s->label, start, end);
		return -ESTALE;
	}
	return 0;
}

/* Copy the pages [i0, i1) of extent x that this thread claimed. */
static int copy_claimed(struct mem_snapshot *s, int thread, const struct snap_extent *x,
			uint64_t i0, uint64_t i1, uint8_t *buf)
{
	uint64_t start = x->start + (i0 - x->first) * MEM_PAGE_SIZE;
	uint64_t end = start + (i1 - i0) * MEM_PAGE_SIZE;
	int r;

	r = read_pages(s, x, start, end, buf);
	if (r == 0)
		r = s->shobj ? snap_shmem_verify(s, thread, start, end)
			     : verify(s, thread, start, end);
	pthread_mutex_lock(&s->lock);
	for (uint64_t p = i0; r == 0 && p < i1; p++)
		bit_set(s->done, p);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return r < 0 ? r : write_pages(s, x, start, end, buf);
}

/* The background copied [start, end): released in the process, or in every mapping of an object. */
static int release_copied(struct mem_snapshot *s, uint64_t start, uint64_t end)
{
	if (s->shobj)
		return snap_shmem_release(s, start, end, true);
	return snap_uffd_protect(s, start, end, false, true);
}

/*
 * Copy the pages [i0, i1) of extent x not claimed by anyone else, run by
 * run. The background (thread 0) releases each run it copied; the fault
 * server (thread 1) waits until the others' pages are done too, then
 * releases the whole range itself.
 */
int snap_copy_range(struct mem_snapshot *s, int thread, const struct snap_extent *x, uint64_t i0,
		    uint64_t i1, uint8_t *buf)
{
	uint64_t p = i0;
	int r = 0;

	while (r == 0 && p < i1) {
		uint64_t q;

		pthread_mutex_lock(&s->lock);
		r = s->err;
		while (p < i1 && bit_get(s->claimed, p))
			p++;
		for (q = p; r == 0 && q < i1 && !bit_get(s->claimed, q); q++)
			bit_set(s->claimed, q);
		pthread_mutex_unlock(&s->lock);
		if (q > p)
			r = copy_claimed(s, thread, x, p, q, buf);
		if (q > p && r == 0 && thread == 0)
			r = release_copied(s, x->start + (p - x->first) * MEM_PAGE_SIZE,
					   x->start + (q - x->first) * MEM_PAGE_SIZE);
		p = q;
	}
	pthread_mutex_lock(&s->lock);
	for (p = i0; thread == 1 && p < i1; p++)
		while (!bit_get(s->done, p) && !s->err)
			pthread_cond_wait(&s->cond, &s->lock);
	if (r == 0)
		r = s->err;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static const struct snap_extent *find_extent(const struct mem_snapshot *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < s->x[mid].start)
			hi = mid;
		else if (addr >= s->x[mid].end)
			lo = mid + 1;
		else
			return &s->x[mid];
	}
	return NULL;
}

/* A write to addr waits: copy its block first if need be; then it is to be let go (held). */
static void serve_fault(struct mem_snapshot *s, uint64_t addr, uint8_t *buf,
			struct snap_ranges *held)
{
	const struct snap_extent *x = find_extent(s, addr);
	uint64_t block = FAULT_BLOCK_PAGES * MEM_PAGE_SIZE;
	uint64_t start = addr & ~(uint64_t)(MEM_PAGE_SIZE - 1), end = start + MEM_PAGE_SIZE;
	int r;

	if (!x && snap_shmem_serve(s, addr, buf, held))
		return;
	if (x && x->protect) {
		start = MAX(x->start, addr & ~(block - 1));
		end = MIN(x->end, (addr & ~(block - 1)) + block);
		r = snap_copy_range(s, 1, x, x->first + (start - x->start) / MEM_PAGE_SIZE,
				    x->first + (end - x->start) / MEM_PAGE_SIZE, buf);
		if (r < 0)
			snap_set_err(s, r);
		s->pages_faulted += (end - start) / MEM_PAGE_SIZE;
	}
	/* Whatever happened, the writer goes on. */
	r = snap_ranges_add(held, start, end);
	if (r < 0) {
		snap_set_err(s, r);
		(void)snap_uffd_protect(s, start, end, false, false);
	}
}

void snap_drain(struct mem_snapshot *s, snap_msg_fn fn, void *arg)
{
	struct snap_ranges held = {};
	struct uffd_msg msg[16];
	ssize_t n;

	for (;;) {
		while ((n = read(s->uffd, msg, sizeof(msg))) > 0)
			for (size_t i = 0; i < (size_t)n / sizeof(msg[0]); i++) {
				/* The child's registrations and protection go with its
				 * userfaultfd: it runs untracked (fn decides what that means). */
				if (msg[i].event == UFFD_EVENT_FORK)
					close((int)msg[i].arg.fork.ufd);
				fn(s, &msg[i], &held, arg);
			}
		snap_release_held(s, &held);
		if (!held.n)
			break;
		usleep(EAGAIN_WAIT_US);
	}
	snap_ranges_release(&held);
}

/*
 * During the copy, a write fault is served; events (drops, unmaps) are only
 * read: a page dropped before it was copied fails the check. A fork fails
 * the snapshot if the process maps a shared object not copied yet.
 */
static void on_copy_msg(struct mem_snapshot *s, const struct uffd_msg *m, struct snap_ranges *held,
			void *buf)
{
	if (m->event == UFFD_EVENT_PAGEFAULT)
		serve_fault(s, m->arg.pagefault.address, buf, held);
	else if (m->event == UFFD_EVENT_FORK)
		snap_shmem_forked(s);
}

struct server {
	struct mem_snapshot **v;
	size_t n;
	int stop_fd; /* an eventfd: readable once the copy is over */
	pthread_t thread;
};

static void *server_main(void *arg)
{
	struct server *sv = arg;
	struct pollfd *pfd = calloc(sv->n + 1, sizeof(*pfd));
	uint8_t *buf = malloc(FAULT_BLOCK_PAGES * MEM_PAGE_SIZE);

	if (!pfd || !buf) {
		/* Cannot serve: fail every snapshot; the copy stops, the writers are woken at
		 * the end when the userfaultfds are closed. */
		for (size_t i = 0; i < sv->n; i++)
			snap_set_err(sv->v[i], -ENOMEM);
		free(pfd);
		free(buf);
		return NULL;
	}
	for (size_t i = 0; i < sv->n; i++)
		pfd[i] = (struct pollfd){.fd = sv->v[i]->uffd, .events = POLLIN};
	pfd[sv->n] = (struct pollfd){.fd = sv->stop_fd, .events = POLLIN};
	while (!(pfd[sv->n].revents & POLLIN)) {
		if (poll(pfd, sv->n + 1, -1) < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < sv->n; i++)
			if (pfd[i].revents & POLLIN)
				snap_drain(sv->v[i], on_copy_msg, buf);
	}
	free(pfd);
	free(buf);
	return NULL;
}

static int server_start(struct server *sv)
{
	sv->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (sv->stop_fd < 0)
		return negative_errno();
	if (pthread_create(&sv->thread, NULL, server_main, sv) != 0) {
		close(sv->stop_fd);
		return -EAGAIN;
	}
	return 0;
}

static void server_stop(struct server *sv)
{
	uint64_t one = 1;

	if (write(sv->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn("cannot stop the snapshot's fault server: %m");
	pthread_join(sv->thread, NULL);
	close(sv->stop_fd);
}

/* The background: every protected page not copied yet, released chunk by chunk. */
static int copy_all(struct mem_snapshot *s, uint8_t *buf)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_extent *x = &s->x[i];
		uint64_t last = x->first + (x->end - x->start) / MEM_PAGE_SIZE;

		if (!x->protect)
			continue;
		for (uint64_t p = x->first; p < last; p += BG_CHUNK_PAGES) {
			uint64_t q = MIN(last, p + BG_CHUNK_PAGES);
			int r = snap_copy_range(s, 0, x, p, q, buf);

			if (r < 0) {
				snap_set_err(s, r);
				return r;
			}
		}
	}
	return 0;
}

/* The background copy of a shared object, then the mark that a fork no longer matters. */
static int copy_object(struct mem_snapshot *obj, uint8_t *buf)
{
	int r = copy_all(obj, buf);

	pthread_mutex_lock(&obj->lock);
	obj->copied = true;
	pthread_mutex_unlock(&obj->lock);
	return r;
}

/* The first failure of the snapshots v, and their images committed if there is none. */
static int commit_all(struct mem_snapshot **v, size_t n, int r)
{
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = v[i]->err;
		pr_info("%s: snapshot of %" PRIu64 " pages, %" PRIu64
			" of them copied ahead of a write",
			v[i]->label, v[i]->npages, v[i]->pages_faulted);
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = img_pagemap_writer_commit(TAKE_PTR(v[i]->w));
	return r;
}

int mem_snapshot_finish(struct mem_snapshot **v, size_t n, struct mem_snapshot **objs, size_t nobjs,
			unsigned delay_ms)
{
	_cleanup_free_ uint8_t *buf = malloc(BG_CHUNK_PAGES * MEM_PAGE_SIZE);
	struct server sv = {.v = v, .n = n};
	int r = 0;

	if (!buf)
		return -ENOMEM;
	r = server_start(&sv);
	if (r < 0) {
		pr_err("cannot start the snapshot's fault server: %s", strerror(-r));
		return r;
	}
	if (delay_ms)
		usleep(delay_ms * 1000u);
	for (size_t i = 0; i < n && r == 0; i++)
		r = copy_all(v[i], buf);
	for (size_t i = 0; i < nobjs && r == 0; i++)
		r = copy_object(objs[i], buf);
	server_stop(&sv);
	r = commit_all(objs, nobjs, r);
	return commit_all(v, n, r);
}
