/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The memory side of a dump: the VMAs of a task as CRIU records them in
 * mm-PID.img, the pages worth saving (found with PAGEMAP_SCAN), their copy
 * into pagemap-PID.img + pages-N.img, shared anonymous memory, and the mm
 * facts of MmEntry. docs/mem.md tells what is dumped for each kind of VMA
 * and why.
 *
 * Everything here works from outside on a task that the caller has already
 * frozen (ptrace): a pid is all it needs. What only the task itself can say
 * (its brk, its dumpable flag) the caller asks with remote syscalls and
 * passes in. Functions return 0 (or a count) or a negative errno; ret_
 * parameters are written only on success.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "mm.pb-c.h"
#include "vma.pb-c.h"

struct img_dir;

/* ---- VmaEntry.status: CRIU's bits (criu/include/image.h), part of the image format ---- */

#define VMA_AREA_NONE 0u
#define VMA_AREA_REGULAR (1u << 0)  /* an ordinary area: mapped again at restore */
#define VMA_AREA_STACK (1u << 1)    /* unused by CRIU's dump, kept for the format */
#define VMA_AREA_VSYSCALL (1u << 2) /* [vsyscall]: the kernel's, never mapped nor dumped */
#define VMA_AREA_VDSO (1u << 3)
#define VMA_AREA_HEAP (1u << 5) /* [heap], for information */
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_ANON_SHARED (1u << 8)
#define VMA_ANON_PRIVATE (1u << 9)
#define VMA_AREA_SYSVIPC (1u << 10) /* SysV shared memory segment */
#define VMA_AREA_SOCKET (1u << 11)
#define VMA_AREA_VVAR (1u << 12) /* [vvar] (and [vvar_vclock], merged into it) */
#define VMA_AREA_AIORING (1u << 13)
#define VMA_AREA_MEMFD (1u << 14)
#define VMA_AREA_SHSTK (1u << 15)
#define VMA_AREA_GUARD (1u << 16)
#define VMA_AREA_UPROBES (1u << 17) /* [uprobes]: the kernel's, never mapped nor dumped */
#define VMA_UNSUPP (1u << 31)       /* never in an image */

/* ---- VMAs ---------------------------------------------------------------- */

/*
 * One VMA. `e` is the VmaEntry written into mm-PID.img, filled as CRIU 4.2
 * fills it: start, end, pgoff (bytes), prot (PROT_*), flags (MAP_SHARED or
 * MAP_PRIVATE, MAP_ANONYMOUS, and MAP_GROWSDOWN, MAP_LOCKED, MAP_NORESERVE,
 * MAP_HUGETLB from VmFlags), status (VMA_*), fd -1, madv (1 << MADV_x for
 * each madvise the VMA carries), fdflags (the access mode of the mapped
 * file, for every VMA that has a file). shmid is the shared memory object's
 * inode for VMA_ANON_SHARED; for VMA_FILE_* it is the id of the file in
 * reg-files.img, which the caller assigns (0 until then).
 */
struct mem_vma {
	VmaEntry e;
	/* The mapped file (VMA_FILE_*, VMA_ANON_SHARED), from /proc/PID/map_files: */
	char *path;   /* its link ("/usr/lib/libc.so.6", "/dev/zero (deleted)"), NULL if none */
	uint64_t dev; /* st_dev, st_ino, st_mode of the file */
	uint64_t ino;
	uint32_t mode;
	bool same_file; /* same file as the VMA before (CRIU's "borrows vfi") */
	/* Rss + Swap of smaps, in KiB: 0 means no page of it holds anything of the task's */
	uint64_t rss_swap_kib;
	uint64_t swap_kib; /* Swap of smaps alone, in KiB; UINT64_MAX with rss_swap_kib unknown */
	bool uffd;         /* registered with a userfaultfd (VmFlags um, uw or ui) */
	/* new or changed since soft-dirty bits were last cleared (VmFlags sd; only with
	 * CONFIG_MEM_SOFT_DIRTY) */
	bool soft_dirty;
};

struct mem_vmas {
	struct mem_vma *v;
	size_t nr;
	uint64_t priv_pages; /* pages of the VMAs whose pages go to pagemap-PID.img */
};

/*
 * Read the VMAs of pid from /proc/PID/smaps and /proc/PID/map_files.
 * [vvar_vclock] is merged into the [vvar] before it, as CRIU 4.2 does. A
 * mapping stasis cannot dump (a device with VM_IO/VM_PFNMAP, a socket or an
 * AIO ring, a shadow stack) is refused with -ENOTSUP, naming it.
 */
int mem_vmas_collect(pid_t pid, struct mem_vmas *ret_vmas);
void mem_vmas_release(struct mem_vmas *vmas);
/*
 * The VMAs of frozen pid from `pre`, its VMAs read (mem_vmas_collect) before
 * it was frozen, if /proc/PID/maps shows the same mappings (it walks no page
 * table, unlike smaps); else read from smaps again. The VMAs taken from pre
 * have rss_swap_kib UINT64_MAX (unknown). *ret_reused (if not NULL) tells
 * which. VmFlags changed without a change of the maps line (madvise or
 * mlock of a whole VMA) after pre was read are not seen (docs/predump.md).
 */
int mem_vmas_refresh(pid_t pid, const struct mem_vmas *pre, struct mem_vmas *ret_vmas,
		     bool *ret_reused);
#define _cleanup_mem_vmas_ __attribute__((cleanup(mem_vmas_release)))

static inline bool mem_vma_is(const VmaEntry *e, uint32_t status)
{
	return (e->status & status) == status;
}

/* Whether the pages of this VMA go to pagemap-PID.img (private, regular, not vvar). */
bool mem_vma_has_private_pages(const VmaEntry *e);

/* ---- Scanning: which pages hold something ---------------------------------- */

struct mem_scan;

enum {
	/* Read /proc/PID/pagemap entry by entry even if PAGEMAP_SCAN works (for tests). */
	MEM_SCAN_NO_IOCTL = 1u << 0,
};

/*
 * One run of pages [start, end); zero: they map the zero page; written: not
 * write-protected by userfaultfd (only meaningful for mem_scan_tracked).
 */
struct mem_run {
	uint64_t start;
	uint64_t end;
	bool zero;
	bool written;
};

/* Called for each run, in address order; a negative return stops the scan and is returned. */
typedef int (*mem_scan_fn)(void *arg, const struct mem_run *run);

/* Open /proc/PID/pagemap. PAGEMAP_SCAN is used when the kernel has it (6.7+). */
int mem_scan_open(pid_t pid, unsigned flags, struct mem_scan **ret_scan);
void mem_scan_free(struct mem_scan *s);
static inline void mem_scan_freep(struct mem_scan **s)
{
	if (*s)
		mem_scan_free(*s);
}
bool mem_scan_uses_ioctl(const struct mem_scan *s);
/*
 * The ranges scanned from now on are anonymous memory (VMA_ANON_PRIVATE):
 * the scan need not tell page cache pages apart, which makes it cheaper.
 */
void mem_scan_set_anon(struct mem_scan *s, bool anon);

/*
 * The pages of [start, end) (page aligned) a dump of a private mapping
 * saves: present or swapped, and anonymous (a page of a private file
 * mapping still shared with the page cache is the file's; its copy-on-write
 * copy is the task's). Runs of zero-page mappings are reported with zero
 * set, so that the caller can count them; guard regions are left out.
 */
int mem_scan_private(struct mem_scan *s, uint64_t start, uint64_t end, mem_scan_fn fn, void *arg);

/*
 * The same pages, with `written` telling those written since they were last
 * write-protected (userfaultfd WP_ASYNC). protect: [start, end) is one VMA
 * registered in write-protect mode with a WP_ASYNC userfaultfd, and every
 * page reported is write-protected again in the same call. uffd-wp markers
 * (a protected page dropped) are not reported: they hold nothing.
 * -ENOTTY without PAGEMAP_SCAN.
 */
int mem_scan_tracked(struct mem_scan *s, uint64_t start, uint64_t end, bool protect, mem_scan_fn fn,
		     void *arg);

/*
 * The pages of [start, end) (one VMA registered in write-protect mode with
 * a WP_ASYNC userfaultfd) written since they were last protected, empty
 * entries included (nothing says what happened there), each protected
 * again in the same call: an empty entry gets a uffd-wp marker. Runs are
 * reported with written set. -ENOTTY without PAGEMAP_SCAN.
 */
int mem_scan_written(struct mem_scan *s, uint64_t start, uint64_t end, mem_scan_fn fn, void *arg);

/*
 * Whether the VMA at addr is registered in write-protect mode with a
 * WP_ASYNC userfaultfd now (1) or not (0): PAGEMAP_SCAN with
 * PM_SCAN_CHECK_WPASYNC refuses a VMA that is not. Unlike smaps's "uw",
 * it costs one page of walk, and tells a VMA mapped again at the same place
 * (not registered) from the one that was.
 */
int mem_scan_wp_async_armed(struct mem_scan *s, uint64_t addr);
/*
 * Whether every page of [start, end) is write-protected now (1) or not (0):
 * present and protected, or an empty entry holding a uffd-wp marker (or a
 * swap entry that keeps the protection); an entry that is empty without a
 * marker or writable fails. -ENOTTY without PAGEMAP_SCAN.
 */
int mem_scan_all_protected(struct mem_scan *s, uint64_t start, uint64_t end);

/* ---- Dumping pages ------------------------------------------------------- */

/*
 * Pages moved by the task itself: vmsplice() of its own memory into a pipe
 * it holds (a remote syscall of the caller's), then splice() from our end of
 * that pipe into pages-N.img, so that each page is copied once. Two pipes,
 * so that the task fills one while the other is written out.
 */
struct mem_pipe {
	int rfd;     /* our read end */
	int wfd;     /* our write end (pages the task cannot vmsplice go in through it) */
	int task_fd; /* the write end in the task */
	size_t size; /* F_GETPIPE_SZ */
};

struct mem_splicer {
	/*
	 * Make the task run vmsplice(task_fd, iov, n, 0) on ranges of its own
	 * memory (n <= max_iov); returns the bytes moved or a negative errno.
	 */
	ssize_t (*vmsplice)(void *arg, int task_fd, const struct iovec *iov, size_t n);
	void *arg;
	size_t max_iov;
	struct mem_pipe pipe[2];
};

struct mem_dump_opts {
	/*
	 * The stack pointers of the task's threads: the pages that hold them are
	 * not marked lazy (a lazy restore needs them before it serves faults).
	 */
	const uint64_t *thread_sp;
	size_t nr_thread_sp;
	size_t buf_size;     /* bytes of copy buffer (two halves); 0: MEM_DUMP_BUF_DEFAULT */
	unsigned scan_flags; /* MEM_SCAN_* */
	bool one_thread;     /* read and write in the calling thread only (no writer thread) */
	const struct mem_splicer *splicer; /* NULL: process_vm_readv into a buffer, then write() */
};

#define MEM_DUMP_BUF_DEFAULT (8u << 20)

struct mem_dump_stats {
	uint64_t pages_scanned; /* pages of the VMAs looked at */
	uint64_t pages_written; /* pages copied into pages-N.img */
	uint64_t pages_lazy;    /* of them, marked PE_LAZY */
	uint64_t pages_zero;    /* present but mapping the zero page: not written */
	uint64_t pages_parent;  /* unchanged since the parent image set: IMG_PE_PARENT */
	/* Of shared memory objects (shared anonymous memory, memfds), counted apart as CRIU does */
	uint64_t shpages_scanned;
	uint64_t shpages_written;
};

/*
 * Write pagemap-ID.img and pages-PAGES_ID.img for pid's private memory:
 * the vDSO whole, the anonymous pages of the other private VMAs (see
 * mem_scan_private), nothing of vvar, vsyscall and shared mappings (the
 * shared anonymous ones go through mem_dump_shmem). Pages are copied with
 * process_vm_readv, in batches, through a buffer of bounded size
 * (/proc/PID/mem for the VMAs the task cannot read itself), and written by
 * a second thread while the next batch is read (unless opts->one_thread).
 * Stats are added to *stats if it is not NULL.
 */
int mem_dump_pages(pid_t pid, const struct mem_vmas *vmas, struct img_dir *dir, uint64_t id,
		   uint32_t pages_id, const struct mem_dump_opts *opts,
		   struct mem_dump_stats *stats);

/*
 * Write pagemap-shmem-SHMID.img and pages-PAGES_ID.img for the shared
 * anonymous memory object that `vma` (a VMA_ANON_SHARED VMA of pid) maps:
 * the pages of its first `size` bytes that hold data, found with
 * SEEK_DATA/SEEK_HOLE (swapped pages included), at their offset in the
 * object as CRIU writes them. Call it once per object, with size the end of
 * the furthest mapping of it (CRIU's shmem size). Adds the object's pages
 * to stats->pages_scanned and those saved to stats->pages_written if stats
 * is not NULL (CRIU counts them apart, as shpages_*).
 */
int mem_dump_shmem(pid_t pid, const VmaEntry *vma, uint64_t size, struct img_dir *dir,
		   uint32_t pages_id, struct mem_dump_stats *stats);
/*
 * The same for the shmem file fd (a memfd), read from offset 0 to size
 * (any size: the tail of its last page is saved as zeros), into
 * pagemap-shmem-SHMID.img.
 */
int mem_dump_shmem_fd(int fd, uint64_t shmid, uint64_t size, struct img_dir *dir, uint32_t pages_id,
		      struct mem_dump_stats *stats);

/* ---- Dirty tracking (track.c, docs/predump.md) ---------------------------- */

/*
 * Ask uffd (a userfaultfd of pid's, held by the caller) for asynchronous
 * write protection (UFFD_FEATURE_WP_ASYNC, and WP_UNPOPULATED). Warns and
 * fails if the kernel cannot.
 */
int mem_track_api(pid_t pid, int uffd);

/* Pages [start, end) recorded with pagemap flags `flags`; via_fd: read through /proc/PID/mem. */
struct mem_extent {
	uint64_t start;
	uint64_t end;
	uint32_t flags; /* IMG_PE_PRESENT (copied into this set) or IMG_PE_PARENT */
	bool via_fd;
};

struct mem_extents {
	struct mem_extent *v;
	size_t n, cap;
};

int mem_extents_add(struct mem_extents *x, uint64_t start, uint64_t end, uint32_t flags,
		    bool via_fd);
void mem_extents_release(struct mem_extents *x);

/*
 * The private pages of frozen pid, in address order, into out: with uffd
 * (>= 0, through mem_track_api), every trackable private VMA is registered
 * in write-protect mode and its pages protected again as they are scanned;
 * a page of a VMA watched since the parent's scan (has_parent) that was not
 * written since is IMG_PE_PARENT, the others IMG_PE_PRESENT. Without uffd,
 * every page is IMG_PE_PRESENT. -EBUSY (logged) if the task has registered
 * memory with a userfaultfd of its own. Counts go to st.
 */
int mem_track_collect(pid_t pid, int uffd, bool has_parent, const struct mem_vmas *vmas,
		      struct mem_extents *out, struct mem_dump_stats *st);

/* ---- Shared anonymous memory across rounds (track-shmem.c, docs/predump.md) ---- */

/* What one round learnt of the shared anonymous objects of a tree. */
struct mem_shmem_track;

/*
 * A round whose image set is dir; has_parent: it is saved against
 * dir's parent, whose list of mappings (written by mem_shmem_track_save)
 * is read now. Without that list no object is saved against the parent.
 */
int mem_shmem_track_new(struct img_dir *dir, bool has_parent, struct mem_shmem_track **ret);
void mem_shmem_track_free(struct mem_shmem_track *t);
static inline void mem_shmem_track_freep(struct mem_shmem_track **t)
{
	mem_shmem_track_free(*t);
}
/*
 * The shared anonymous VMAs of pid (process start time starttime): each is
 * registered with uffd (-1: pid is not tracked) in write-protect mode and
 * its written pages (empty entries count as written) are noted by object
 * offset and protected again. An object can be saved against the parent
 * only if every mapping of it was watched since the parent's scan
 * (tracked: pid was tracked then) and every mapping of the parent's round
 * is still there. SysV segments are always saved whole.
 */
int mem_shmem_track_collect(struct mem_shmem_track *t, pid_t pid, uint64_t starttime, int uffd,
			    bool tracked, const struct mem_vmas *vmas);
/* This round's mappings, into dir, for the next round. */
int mem_shmem_track_save(const struct mem_shmem_track *t, struct img_dir *dir);
/*
 * mem_dump_shmem, with t (may be NULL): an object that t says is watched
 * since the parent's scan gets IMG_PE_PARENT entries for its pages not
 * written since that the parent image set holds; written pages (and those
 * the parent lacks) are copied. Pages kept in the parent are added to
 * stats->pages_parent.
 */
int mem_dump_shmem_tracked(const struct mem_shmem_track *t, pid_t pid, const VmaEntry *vma,
			   uint64_t size, struct img_dir *dir, uint32_t pages_id,
			   struct mem_dump_stats *stats);

/*
 * Write pagemap-ID.img and pages-PAGES_ID.img from the extents, copying
 * the present ones with process_vm_readv in bounded chunks. running: the
 * task is not frozen; a page it unmapped since the scan is saved as zeros.
 */
int mem_dump_extents(pid_t pid, const struct mem_extents *x, struct img_dir *dir, uint64_t id,
		     uint32_t pages_id, bool running);

/* ---- Dirty tracking back ends (tracker.c, docs/predump.md) ------------------ */

/*
 * How the writes of a process are seen from one round to the next: one
 * interface, two back ends. userfaultfd WP_ASYNC (track.c) when the kernel
 * has it; soft-dirty bits (track-softdirty.c) where it has those instead.
 */
enum mem_track_kind {
	MEM_TRACK_UFFD_WP,    /* a WP_ASYNC userfaultfd of the task's, held by the caller */
	MEM_TRACK_SOFT_DIRTY, /* soft-dirty bits: nothing held, cleared at the end of a round */
};

struct mem_tracker {
	enum mem_track_kind kind;
	int uffd; /* MEM_TRACK_UFFD_WP (and a snapshot's synchronous one); -1 otherwise */
};

const char *mem_tracker_name(enum mem_track_kind kind);
/*
 * Whether a pre-dump must find the pages while the task is still frozen,
 * before mem_tracker_rearm (soft-dirty: a write between the scan and the
 * clearing would be lost). Else the scan may run once the task runs again.
 */
bool mem_tracker_scans_frozen(const struct mem_tracker *t);
/*
 * The private pages of pid into out, as mem_track_collect tells: a page not
 * written since the parent's scan (has_parent) is IMG_PE_PARENT. t NULL:
 * untracked, every page IMG_PE_PRESENT.
 */
int mem_tracker_collect(pid_t pid, const struct mem_tracker *t, bool has_parent,
			const struct mem_vmas *vmas, struct mem_extents *out,
			struct mem_dump_stats *st);
/* After the collect of a round, frozen: watch the writes from now on. */
int mem_tracker_rearm(pid_t pid, const struct mem_tracker *t);
/* Close what the tracker holds (the userfaultfd: the kernel removes the tracking). */
void mem_tracker_release(struct mem_tracker *t);

/* ---- Snapshots of running memory (snapshot.c, docs/predump.md) -------------- */

struct mem_snapshot;

/* Ask uffd (a userfaultfd of pid's, held by the caller) for synchronous write protection. */
int mem_snapshot_api(pid_t pid, int uffd);

/*
 * Frozen pid: find its private pages as a dump does, write pagemap-ID.img
 * for all of them (pages-PAGES_ID.img sized to hold them), register and
 * write-protect them with uffd (from mem_snapshot_api), and copy at once
 * the pages of VMAs that cannot be protected. Counts go to st.
 */
int mem_snapshot_begin(pid_t pid, int uffd, const struct mem_vmas *vmas, struct img_dir *dir,
		       uint64_t id, uint32_t pages_id, struct mem_dump_stats *st,
		       struct mem_snapshot **ret);
/*
 * Arm a snapshot of pid while it still runs (snapshot-arm.c): register its
 * private and shared anonymous VMAs with uffd (from mem_snapshot_api),
 * write-protect its private pages and its shared VMAs whole, find the
 * private pages, and from then on note (and let go at once) every write,
 * drop and unmap, in a thread of its own until mem_snapshot_freeze.
 */
int mem_snapshot_arm(pid_t pid, int uffd, struct mem_snapshot **ret);
/* The VMAs read when it was armed (for mem_vmas_refresh), NULL if it was not. */
const struct mem_vmas *mem_snapshot_vmas(const struct mem_snapshot *s);
/*
 * Frozen pid, armed before: what mem_snapshot_begin does, looking again
 * only at what changed since the arming (vmas: its VMAs now).
 */
int mem_snapshot_freeze(struct mem_snapshot *s, const struct mem_vmas *vmas, struct img_dir *dir,
			uint64_t id, uint32_t pages_id, struct mem_dump_stats *st);
/*
 * The tasks run again: copy the protected pages of every snapshot (v, the
 * processes; objs, their shared objects), a write to a page not copied yet
 * served first (copied, then released), and commit the images. -ESTALE
 * (logged) if a task dropped, unmapped or moved a page before it was copied.
 * delay_ms (tests): the background starts that late, writes served meanwhile. The caller closes the
 * userfaultfds after: that removes what is left of the protection.
 */
int mem_snapshot_finish(struct mem_snapshot **v, size_t n, struct mem_snapshot **objs, size_t nobjs,
			unsigned delay_ms);
/*
 * Frozen: the shared anonymous object that pid maps at e (size bytes),
 * saved by the snapshot in the background (snapshot-shmem.c): its pages
 * (SEEK_DATA) laid out in pagemap-shmem-SHMID.img and pages-PAGES_ID.img
 * now, copied by mem_snapshot_finish (objs). Counts go to st.
 */
int mem_snapshot_shmem_open(pid_t pid, const VmaEntry *e, uint64_t size, struct img_dir *dir,
			    uint32_t pages_id, struct mem_dump_stats *st,
			    struct mem_snapshot **ret);
/*
 * Frozen: a mapping e of object obj in the process of snapshot proc,
 * registered with its userfaultfd and write-protected whole (markers in
 * its empty entries): from now on a write through it waits until its
 * page of the object is copied.
 */
int mem_snapshot_shmem_map(struct mem_snapshot *obj, struct mem_snapshot *proc, const VmaEntry *e);
uint64_t mem_snapshot_shmid(const struct mem_snapshot *obj);
void mem_snapshot_free(struct mem_snapshot *s);
static inline void mem_snapshot_freep(struct mem_snapshot **s)
{
	if (*s)
		mem_snapshot_free(*s);
}

/* ---- The mm entry -------------------------------------------------------- */

/* What only the task knows: the caller asks it (remote brk(0), prctl(PR_GET_DUMPABLE)). */
struct mem_mm_facts {
	uint64_t brk;
	int dumpable;
	uint32_t exe_file_id; /* id of /proc/PID/exe in reg-files.img */
};

/* At most this many words of auxv are kept: CRIU's AT_VECTOR_SIZE (its restore refuses more). */
#define MEM_AUXV_MAX_WORDS 44

/*
 * Fill an MmEntry for pid: code, data, stack, brk, arg and env bounds from
 * /proc/PID/stat, saved auxv from /proc/PID/auxv, thp_disabled from
 * /proc/PID/status, the rest from facts; its vmas point into `vmas`, which
 * must outlive it. Release it with mem_mm_release().
 */
int mem_mm_fill(pid_t pid, const struct mem_vmas *vmas, const struct mem_mm_facts *facts,
		MmEntry *ret_mm);
void mem_mm_release(MmEntry *mm);
