/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/proc.h"
#include "dump/remote.h"
#include "dump/dump.h"
#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-lock.pb-c.h"
#include "remap-file-path.pb-c.h"
#include "seccomp.pb-c.h"
#include "mem/mem.h"
#include "rsys/rsys.h"

struct img_dir;
struct dump_unix;
struct dump_tty;
struct dump_ghost;
struct dump_memfd;

/* The files of a dump: FileEntry records for files.img, ids from 1. */
struct dump_files {
	struct arena arena;
	FileEntry **entries;
	size_t n, cap;
	struct dump_unix *usk;        /* unix.c: the unix sockets met, NULL until one is */
	struct img_writer *sk_queues; /* sk-queue.c: sk-queues.img, open once a queue has data */
	struct img_writer *fifo_data; /* fifo.c: fifo-data.img, open once a FIFO is met */
	uint32_t *fifos_done;         /* fifo.c: the FIFOs (inodes) whose data is written */
	size_t nfifos_done;
	struct dump_ghost *ghosts; /* ghost.c: the deleted files whose content is written */
	size_t nghosts;
	RemapFilePathEntry **remaps; /* ghost.c: remap-fpath.img (entries in the arena) */
	size_t nremaps;
	struct dump_tty *tty;     /* tty.c: the terminals met, NULL until one is */
	struct dump_memfd *memfd; /* memfd.c: the memfd inodes met, NULL until one is */
	FileLockEntry **locks;    /* lock.c: filelocks.img (in the arena) */
	size_t nlocks;
	struct dump_desc_index *desc_index; /* desc-index.c: dump_shared.descs by key */
};

/*
 * An open file description dumped, and the cheap key to find it again from
 * another fd: only fds with the same key are asked to kcmp(). Every file on
 * an anonymous inode has the same inode, so kind_id tells them apart where
 * the kernel gives an id (eventfd-id), else 0.
 */
struct dump_desc {
	dev_t dev;
	ino_t ino;
	int64_t pos;
	uint32_t flags;
	uint64_t kind_id;
	pid_t pid;
	int fd;
	uint32_t id; /* in files.img */
};

/* What the processes of one dump share: files.img, pipes-data.img, seccomp.img, pages ids. */
struct dump_shared {
	struct dump_files files;
	struct img_writer *pipes_data; /* open once a pipe with data is met */
	struct img_writer *pstree;
	uint32_t *pipes_done; /* pipe_ids whose data is written */
	size_t npipes_done;
	uint64_t *shmems_done; /* shmids of shared anonymous memory dumped */
	size_t nshmems_done;
	struct arena arena;
	SeccompFilter **filters; /* seccomp.img: every process's chain */
	size_t nfilters;
	struct dump_desc *descs; /* every open file description dumped, for sharing */
	size_t ndescs, descs_cap;
	uint32_t *fdtables_done; /* files_ids whose fdinfo-ID.img is written */
	size_t nfdtables_done;
	uint32_t next_pages_id;
	uint64_t kcmp_calls;                  /* how many kcmp() calls found what is shared */
	struct dump_tracking *tracking;       /* pre-dump, --track-mem: predump.c */
	struct dump_tracking *tracking_owned; /* the same when this dump owns it */
	struct mem_shmem_track *shmem_track;  /* a tracked round's shared memory: predump.c */
	struct mem_snapshot **snap_shobjs;    /* a snapshot's shared objects: predump.c */
	size_t nsnap_shobjs;
};

/* Pages of a shared memory object (mem_dump_shmem's counts in sh) into ctx's shpages_*. */
static inline void dump_count_shpages(struct mem_dump_stats *st, const struct mem_dump_stats *sh)
{
	st->shpages_scanned += sh->pages_scanned;
	st->shpages_written += sh->pages_written;
	st->pages_parent += sh->pages_parent;
}

/* The next free pages-N.img id. */
uint32_t dump_pages_id(struct dump_shared *sh);

/* A thread of the process being dumped, frozen. */
struct dump_thread {
	pid_t tid;
	struct rsys_task *task;
	struct remote rm;          /* remote calls, while the scratch page is mapped */
	struct proc_status status; /* read once frozen */
	int restart_code;          /* -ERESTART* of its interrupted syscall, or 0 */
	uint64_t futex_rla;        /* its robust list head (get_robust_list), from core.c */
};

/* Everything known about one process being dumped, step after step. */
struct dump_ctx {
	const struct dump_opts *opts;
	struct img_dir *dir;
	struct dump_shared *sh;
	struct dump_files *files; /* &sh->files */
	pid_t pid;
	pid_t ppid;      /* 0 for the root of the tree */
	bool zombie;     /* dead, not reaped: only its pstree entry and exit status are dumped */
	uint32_t ids[4]; /* vm, files, fs, sighand: equal ids, one object (kcmp) */
	struct dump_thread *threads; /* the leader first; its task does the process-wide calls */
	size_t nthreads;
	struct proc_stat stat;
	struct mem_vmas vmas;
	struct mem_vmas vmas_early; /* read before the freeze (--track-mem): predump.c */
	uint32_t exe_file_id;
	int64_t seccomp_filter; /* the leader's newest filter in seccomp.img, -1 if none */
	struct mem_dump_stats mem_stats;
	uint64_t t_memdump;            /* ns */
	struct dump_proc_track *track; /* pre-dump, --track-mem: predump.c */
};

/* files.c */
/* A new entry of files.img, of this type, with the next id; the caller fills its part. */
int dump_files_new(struct dump_files *f, FdTypes type, FileEntry **ret_fe);
int dump_files_add_reg(struct dump_files *f, const char *path, const struct stat *st,
		       uint32_t flags, uint64_t pos, uint32_t *ret_id);
/* The id of the mapped file at path (one REG entry per file, flags 0, pos 0). */
int dump_files_mapped(struct dump_files *f, const char *path, uint64_t dev, uint64_t ino,
		      uint32_t *ret_id);
int dump_files_write(struct dump_files *f, struct img_dir *dir);
void dump_files_release(struct dump_files *f);
int dump_fds(struct dump_ctx *ctx);
/* fown.c: the owner (F_SETOWN_EX, F_SETSIG) of file id, which fd of the task holds. */
int dump_fown(struct dump_ctx *ctx, int pidfd, int fd, uint32_t id);
int dump_fs(struct dump_ctx *ctx);

/* pipe.c: the PIPE entry of an fd's description (flags from fdinfo), then pipes-data.img
 * (each pipe once in the tree). */
int dump_pipe_fd(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t flags,
		 uint32_t *ret_id);
int dump_pipes_data(struct dump_ctx *ctx, const FdinfoEntry *fds, size_t n);
void dump_pipes_release(struct dump_shared *sh);

static inline struct dump_thread *dump_leader(struct dump_ctx *ctx)
{
	return &ctx->threads[0];
}

/* freeze.c: every thread seized and stopped; all let go again. */
int dump_freeze(struct dump_ctx *ctx);
int dump_threads_remote_open(struct dump_ctx *ctx);
int dump_threads_remote_close(struct dump_ctx *ctx);
/* Kill them (a good dump without -R) or detach them (-R, or a failed dump). */
int dump_threads_release(struct dump_ctx *ctx, bool kill);
void dump_threads_free(struct dump_ctx *ctx);

/*
 * kill.c: SIGKILL the process after a good dump, and free its memory from
 * our side while it frees it too (its death is collected by
 * dump_threads_release()).
 */
void dump_kill_and_reap(const struct dump_ctx *ctx);

/* anon.c: eventfd, timerfd, signalfd, epoll, inotify, fanotify (FD_TYPES__UND otherwise). */
FdTypes dump_anon_type(const char *target);
int dump_anon_fd(struct dump_ctx *ctx, int fd, FdTypes type, const struct proc_fdinfo *fi,
		 uint32_t *ret_id);

/*
 * unix.c: the UNIXSK entry of a unix socket and its queue (sk-queues.img);
 * once every process is dumped, the peers checked (dump_unix_finish) and
 * sk-queues.img committed with files.img.
 */
int dump_unix_fd(struct dump_ctx *ctx, int fd, const struct stat *st, const struct proc_fdinfo *fi,
		 uint32_t *ret_id);
int dump_unix_finish(struct dump_files *f);
int dump_unix_commit(struct dump_files *f);
void dump_unix_free(struct dump_files *f);

/* sk-queue.c: the packets of a socket's queue into sk-queues.img (with senders, if kept). */
struct sk_queue;
int dump_sk_queue_write(struct dump_ctx *ctx, const struct sk_queue *q, uint32_t id);

/* inet.c: the INETSK entry of a TCP or UDP socket (IPv4, IPv6), and UDP's queue. */
int dump_inet_fd(struct dump_ctx *ctx, int fd, const struct stat *st, const struct proc_fdinfo *fi,
		 uint32_t *ret_id);

/* fifo.c: a FIFO's REG entry (its path) and FIFO entry; its data once per tree. */
int dump_fifo_fd(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		 const struct proc_fdinfo *fi, uint32_t *ret_id);
/*
 * ghost.c: a file deleted while open or mapped (its link ends in
 * " (deleted)"): the REG entry of its old path, its remap, and its content
 * in a ghost image once per inode; remap-fpath.img written by
 * dump_ghost_commit().
 */
bool dump_ghost_is_deleted(const char *target);
int dump_ghost_fd(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		  const struct proc_fdinfo *fi, uint32_t *ret_id);
/*
 * The REG entry (sent to its ghost) of a deleted file that the task maps or
 * runs: target is its link (" (deleted)"), link where to read it
 * (/proc/PID/map_files/..., /proc/PID/exe); one entry per file, as for
 * files not deleted.
 */
int dump_ghost_mapped(struct dump_ctx *ctx, const char *target, const char *link, const char *label,
		      uint32_t *ret_id);
/* Whether entry id of files.img is sent to a ghost. */
bool dump_ghost_remapped(const struct dump_files *f, uint32_t id);
/* The REG entry reg_id of a deleted file (a FIFO's, fifo.c) sent to its ghost. */
int dump_ghost_remap(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		     uint32_t reg_id);
/* The path a deleted file had: its link without " (deleted)" (malloc'd). */
char *dump_ghost_path(const char *target);
int dump_ghost_commit(struct dump_files *f, struct img_dir *dir);
void dump_ghost_free(struct dump_files *f);
/*
 * memfd.c: the MEMFD entry of an fd on a memfd (its link starts with
 * "/memfd:") or of a VMA mapping one (one entry per inode and status
 * flags); each memfd inode once in memfd.img, written by
 * dump_memfd_commit(), its content in pagemap-shmem-INODE.img by
 * dump_memfd_pages().
 */
bool dump_memfd_is(const char *target);
int dump_memfd_fd(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		  const struct proc_fdinfo *fi, uint32_t *ret_id);
/* link: the VMA's map_files link; label names it. */
int dump_memfd_mapped(struct dump_ctx *ctx, const struct mem_vma *v, const char *link,
		      const char *label, uint32_t *ret_id);
/* The content of the memfds met so far and not saved yet (after the task's own pages). */
int dump_memfd_pages(struct dump_ctx *ctx);
int dump_memfd_commit(struct dump_files *f, struct img_dir *dir);
void dump_memfd_free(struct dump_files *f);
/*
 * tty.c: the TTY entry of an fd on a pty end (of a pair in the tree, or a
 * shell job's slave, -j) and its terminal's entries of tty-info.img and
 * tty-data.img, written by dump_tty_commit().
 */
int dump_tty_fd(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t flags,
		uint32_t *ret_id);
int dump_tty_commit(struct dump_files *f, struct img_dir *dir);
void dump_tty_free(struct dump_files *f);

/* Whether an fd's open file description was met before, and where. */
enum dump_desc_seen {
	DESC_NEW,
	DESC_SEEN_HERE,      /* through another fd of the same process */
	DESC_SEEN_ELSEWHERE, /* in another process only (a file opened before a fork) */
};

/* desc-index.c: where a description not found goes in the index. */
struct dump_desc_slot {
	uint32_t group; /* 1 + index of its key's group, 0: a new key */
	uint32_t at;
};

/* The id of the description d's fd shares with one dumped before, or 0 (and where d goes). */
uint32_t dump_desc_find(struct dump_shared *sh, const struct dump_desc *d,
			enum dump_desc_seen *ret_seen, struct dump_desc_slot *ret_slot);
/* d, a new description, dumped: into sh->descs and the index, at the slot dump_desc_find() gave. */
int dump_desc_add(struct dump_shared *sh, const struct dump_desc *d,
		  const struct dump_desc_slot *slot);
void dump_desc_index_free(struct dump_desc_index *x);

/*
 * lock.c: the locks shown in the fdinfo of pid's fd, into filelocks.img
 * (each once), or refused (without --file-locks; leases, mandatory locks).
 */
int dump_fd_locks(struct dump_ctx *ctx, int fd, const char *target, const struct proc_fdinfo *fi,
		  enum dump_desc_seen seen);
int dump_locks_commit(struct dump_files *f, struct img_dir *dir);

/* core.c: core-TID.img of every thread */
int dump_core(struct dump_ctx *ctx);

/*
 * seccomp.c: the mode of a thread into its thread core; the leader's filters
 * into seccomp.img (the others must have the same filters).
 */
int dump_seccomp(struct dump_ctx *ctx, const struct dump_thread *t, struct arena *a,
		 ThreadCoreEntry *th);
int dump_seccomp_write(struct dump_shared *sh, struct img_dir *dir);

/* tree.c: pstree, ids-PID.img of every process, inventory; a zombie's core-PID.img */
int dump_tree(struct dump_ctx *procs, size_t n);
/* The ids of what the processes share (fd tables, fs, sighand, mm), found with kcmp. */
int dump_tree_ids(struct dump_ctx *procs, size_t n);

/* mm.c: mm-PID.img (VMAs collected before the scratch page is mapped), then pages */
int dump_vmas(struct dump_ctx *ctx);
int dump_mm(struct dump_ctx *ctx);
int dump_pages(struct dump_ctx *ctx);
/* Each shared anonymous object once, once every process's pages step is done. */
int dump_shmem(struct dump_ctx *ctx);
/* A snapshot: the shared object ctx maps at e (size bytes) saved in the background (predump.c). */
int dump_snapshot_shmem(struct dump_ctx *ctx, const VmaEntry *e, uint64_t size);

/* splice.c: the pipes a task vmsplices its pages into, for mem_dump_opts.splicer. */
struct dump_splice {
	struct rsys_task *task; /* the leader, with a scratch page while open */
	unsigned long scratch;  /* the iovecs of a vmsplice go here */
	struct mem_splicer sp;
};
/*
 * Map a scratch page in the leader and make the pipes; on failure nothing
 * is left in the task (the caller copies the pages the other way).
 */
int dump_splice_open(struct dump_ctx *ctx, struct dump_splice *s);
/* Close the task's ends, unmap the scratch page, settle the leader. Logs a failure. */
int dump_splice_close(struct dump_splice *s);

/* predump.c: pre-dumps and incremental dumps (docs/predump.md) */
int dump_track_begin(struct dump_shared *sh, const struct dump_opts *o, struct img_dir *dir);
/* The tracking held for prev (relative to images_dir); none held: an empty set (warned). */
int dump_tracking_take(const char *images_dir, const char *prev, struct dump_tracking **ret);
/* iterative.c: dump --track-mem of separate commands: rounds while the tree runs, then it. */
int dump_track_mem_last_round(const struct dump_opts *final);
int dump_vmas_early(struct dump_ctx *ctx);
/* The VMAs read before the freeze when its snapshot was armed, or NULL. */
const struct mem_vmas *dump_vmas_armed(struct dump_ctx *ctx);
int dump_snapshot_arm(struct dump_shared *sh);
int dump_track_proc(struct dump_ctx *ctx);
/* A pre-dump's pages found frozen, for a tracker that needs it (soft-dirty): after unremote. */
int dump_track_scan(struct dump_ctx *ctx);
int dump_track_pages(struct dump_ctx *ctx);
int dump_predump_copy(struct dump_ctx *procs, size_t n);
void dump_track_free_proc(struct dump_ctx *ctx);
int dump_track_end(struct dump_shared *sh, const struct dump_opts *o, struct img_dir *dir, bool ok);

/* dedup.c: --auto-dedup, the pages dir saved punched out of the pre-dumps below it */
int dump_dedup(struct img_dir *dir);

/* track-holder.c: the tracked processes, and their holder between commands */
struct dump_track_entry {
	pid_t pid;
	uint64_t starttime;         /* with pid, names the process */
	struct mem_tracker tracker; /* how its writes are seen (a snapshot: its userfaultfd) */
	struct mem_snapshot *snap;  /* a snapshot armed before the freeze, until it */
};
struct dump_tracking {
	struct dump_track_entry **v;
	size_t n, cap;
	int soft_dirty; /* the kernel has soft-dirty bits: 1, 0 unknown yet (predump.c), -1 no */
};
int dump_tracking_new(struct dump_tracking **ret);
/* Add a process and its tracker (owned by trk from now on, also on failure). */
int dump_tracking_add(struct dump_tracking *trk, pid_t pid, uint64_t starttime,
		      const struct mem_tracker *t, struct dump_track_entry **ret);
struct dump_track_entry *dump_tracking_find(struct dump_tracking *trk, pid_t pid,
					    uint64_t starttime);
static inline void dump_tracking_freep(struct dump_tracking **t)
{
	dump_tracking_free(*t);
}
/* Take the tracking from the holder of the images directory dirfd: -ENOENT if none. */
int dump_holder_take(int dirfd, const char *label, struct dump_tracking **ret_trk);
/* Fork a holder of trk's tracking for the images directory dirfd. */
int dump_holder_spawn(int dirfd, const char *label, const struct dump_tracking *trk);
