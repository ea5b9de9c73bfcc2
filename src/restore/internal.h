/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of src/restore; not for other layers. docs/restore.md tells the story.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/log.h"
#include "image/image.h"
#include "image/pb-msgs.h"
#include "restore/restore.h"
#include "rsys/rsys.h"

/* Every message names the task being restored. */
#define rst_err(c, fmt, ...) pr_err("restore: pid %d: " fmt, (int)(c)->pid, ##__VA_ARGS__)
#define rst_warn(c, fmt, ...) pr_warn("restore: pid %d: " fmt, (int)(c)->pid, ##__VA_ARGS__)
#define rst_info(c, fmt, ...) pr_info("restore: pid %d: " fmt, (int)(c)->pid, ##__VA_ARGS__)
#define rst_debug(c, fmt, ...) pr_debug("restore: pid %d: " fmt, (int)(c)->pid, ##__VA_ARGS__)

#define RST_PAGE_SIZE 4096UL

/* VmaEntry.status bits, as CRIU writes them (criu/include/image.h). */
#define VMA_AREA_REGULAR (1u << 0)
#define VMA_AREA_STACK (1u << 1)
#define VMA_AREA_VSYSCALL (1u << 2)
#define VMA_AREA_VDSO (1u << 3)
#define VMA_AREA_HEAP (1u << 5)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_ANON_SHARED (1u << 8)
#define VMA_ANON_PRIVATE (1u << 9)
#define VMA_AREA_SYSVIPC (1u << 10)
#define VMA_AREA_SOCKET (1u << 11)
#define VMA_AREA_VVAR (1u << 12)
#define VMA_AREA_AIORING (1u << 13)
#define VMA_AREA_MEMFD (1u << 14)
#define VMA_AREA_SHSTK (1u << 15)
#define VMA_AREA_UPROBES (1u << 17)
#define VMA_UNSUPP (1u << 31)

/* TaskCoreEntry.task_state of a live task (CRIU's COMPEL_TASK_ALIVE). */
#define RST_TASK_ALIVE 1
#define RST_TASK_STOPPED 3
#define RST_TASK_DEAD 2 /* a zombie: dead, not reaped by its parent yet */

/* ---- images.c: what the images say about the task ----------------------- */

/* An entry of pipes-data.img and the bytes that follow it. */
struct rst_pipe_data {
	PipeDataEntry *e;
	uint8_t *bytes; /* malloc'ed, e->bytes of them; NULL if none */
	size_t len;
};

struct rst_images {
	struct img_dir *dir;
	InventoryEntry *inv;
	PstreeEntry *item;
	CoreEntry *core; /* of the current thread (threads.c); the leader's outside of it */
	CoreEntry **
		thread_cores; /* core-TID.img of every thread, pstree's order: the leader's first */
	size_t nthreads;
	TaskKobjIdsEntry *ids;
	MmEntry *mm;
	FsEntry *fs;
	FileEntry **files; /* files.img (CRIU 3.15 and later) */
	size_t nfiles;
	bool files_sorted; /* by id: rst_file_entry() searches by halves */
	RegFileEntry **regs; /* reg-files.img (older images) */
	size_t nregs;
	FdinfoEntry **fds;
	size_t nfds;
	RemapFilePathEntry *
		*remaps; /* files that were deleted or otherwise not reachable by name */
	size_t nremaps;
	PipeEntry **pipes; /* pipes.img (older images) */
	size_t npipes;
	struct rst_pipe_data *pipe_data; /* pipes-data.img */
	size_t npipe_data;
	struct img_pagemap *pm;
	SeccompEntry *seccomp; /* seccomp.img, NULL if there is none */
};

/* ---- layout.c: address ranges, /proc/PID/maps ------------------------------ */

struct rst_range {
	uint64_t start, end;
};

enum rst_special {
	RST_SPECIAL_NONE,
	RST_SPECIAL_VVAR, /* [vvar], [vvar_vclock]: data the vDSO reads */
	RST_SPECIAL_VDSO,
	RST_SPECIAL_VSYSCALL,
};

struct rst_mapping {
	uint64_t start, end;
	enum rst_special special;
};

/* Parse the text of /proc/PID/maps. */
int rst_maps_parse(const char *text, struct rst_mapping **ret_maps, size_t *ret_n);
int rst_maps_read(pid_t pid, struct rst_mapping **ret_maps, size_t *ret_n);
enum rst_special rst_special_of(const char *name);

/*
 * The lowest address at or above lo where len bytes, with a free page on
 * either side, fit below hi without touching any busy range (busy is sorted
 * in place). -ENOSPC if there is none.
 */
int rst_find_gap(struct rst_range *busy, size_t n, uint64_t len, uint64_t lo, uint64_t hi,
		 uint64_t *ret_addr);

/* ---- the context of one restore --------------------------------------------- */

/* ids-PID.img (or, in old images, the core's): what the task shares. */
const TaskKobjIdsEntry *rst_ids(const struct rst_images *img);

/* An fd of the task, opened by the controller and inherited by the task. */
struct rst_fd_move {
	int src; /* the controller's fd, the same number in the task until it is moved */
	int dst; /* the number the task had */
	bool cloexec;
	bool borrowed; /* src was opened for an earlier fd (of this task or another) */
};

/* A file opened by the controller for the task's own use during restore (mmap, exe). */
struct rst_open_file {
	uint32_t id;
	int accmode;
	int fd; /* the same number in the task, closed there at the end */
};

/* A pipe made by the controller (pipe.c), with both its ends. */
struct rst_pipe {
	uint32_t pipe_id;
	int ends[2];   /* the controller's: read, write */
	bool given[2]; /* an fd of the task has this end's own description */
};

/* An open file description made for one task and given to others too (a file opened before a
 * fork). */
struct rst_desc {
	uint32_t id; /* in files.img */
	int src;     /* the controller's fd, closed by the move of the fd it was opened for */
};

/* A unix socket made by the controller (unix.c); fd -1 once an fd of a task has it. */
struct rst_usk {
	uint32_t id; /* in files.img */
	int fd;
};

/* A unix socket of files.img by its inode (a peer is named by its inode). */
struct rst_usk_ino {
	uint32_t ino;
	uint32_t id;
};

/* A packet of sk-queues.img: bytes to queue again in socket id_for. */
struct rst_sk_packet {
	uint32_t id_for;
	uint32_t seq; /* its place in sk-queues.img */
	uint8_t *bytes;
	size_t len;
	struct sockaddr_storage from; /* an inet datagram's sender */
	socklen_t fromlen;
};

/* A FIFO opened by the controller, read and write, so that no open of it blocks (fifo.c). */
struct rst_fifo {
	uint32_t pipe_id;
	int keeper;
};

/* A deleted file made again and unlinked (ghost.c): its fd, from which each description is opened. */
struct rst_ghost {
	uint32_t id; /* ghost-file-ID.img */
	int keeper;
};

/* A terminal of tty-info.img (tty.c). */
struct rst_tty {
	TtyInfoEntry *tie;
	bool applied; /* its settings are set on the terminal that stands for it */
};

/* A pty pair opened again by the controller, held until the tasks hold their ends (tty.c). */
struct rst_pty {
	uint32_t index; /* the dumped one; the new pair has its own */
	int master, slave;
};

/* A shared anonymous memory object, mapped first by one task, then by others from it. */
struct rst_shmem {
	uint64_t shmid;
	pid_t pid;           /* the task that made it, */
	uint64_t start, end; /* at this VMA */
};

/* What the tasks of a tree share, made once by the controller. */
struct rst_shared {
	int min_fd; /* above every fd number of every task */
	struct rst_desc *descs;
	size_t ndescs, descs_cap;
	bool descs_unsorted; /* not in increasing id order: searched one by one */
	uint32_t *solo_ids;  /* sorted: descriptions of one task alone (files.c) */
	size_t nsolo_ids;
	struct rst_pipe *pipes; /* in pipe_id order */
	size_t npipes, pipes_cap;
	struct rst_shmem *shmems;
	size_t nshmems;
	struct rst_usk *usks; /* unix sockets made (unix.c), in id order */
	size_t nusks, usks_cap;
	struct rst_usk_ino *usk_inos; /* unix.c: the unix sockets of files.img by inode */
	size_t nusk_inos;
	struct rst_sk_packet *skq; /* sk-queues.img, read on the first unix socket */
	size_t nskq;
	bool skq_loaded;
	struct rst_fifo *fifos; /* fifo.c: each FIFO held open while the tree is restored */
	size_t nfifos;
	struct rst_pipe_data *fifo_data; /* fifo-data.img, read on the first FIFO */
	size_t nfifo_data;
	bool fifo_data_loaded;
	struct rst_ghost *ghosts; /* ghost.c: each deleted file made again, held open */
	size_t nghosts;
	struct rst_tty *ttys; /* tty-info.img, read on the first terminal */
	size_t nttys;
	bool ttys_loaded;
	TtyDataEntry **tty_data; /* tty-data.img, read with tty-info.img */
	size_t ntty_data;
	struct rst_pty *ptys;
	size_t nptys;
	FileLockEntry **locks; /* filelocks.img */
	size_t nlocks;
	bool locks_loaded;
	struct rst_memfds *memfds; /* memfd.c: memfd.img and the memfds made, NULL until one is */
};

void rst_shared_free(struct rst_shared *s);

/* A POSIX lock the new task takes itself on its fd (lock.c, fork.c). */
struct rst_posix_lock {
	int fd;
	short type; /* F_RDLCK, F_WRLCK */
	int64_t start, len;
};

struct rst_files {
	struct rst_fd_move *moves;
	size_t nmoves;
	struct rst_open_file *open;
	size_t nopen;
	int cwd_fd;
	int root_fd;      /* the task's root when it is not "/", else -1 */
	/* cwd and root fds left in an fd table shared with the parent; the task closes them */
	int lent_dirs[2];
	int min_fd;       /* above every fd number of the task: where the controller's files go */
	int ctty_fd;      /* the task's fd on its controlling terminal (tty.c), or -1 */
	bool ctty_lead;   /* it led its session: TIOCSCTTY on ctty_fd */
	bool ctty_fg;     /* its group was in the foreground: TIOCSPGRP on ctty_fd */
	struct rst_posix_lock *posix_locks;
	size_t nposix_locks;
	bool ours_closed; /* the controller closed its copies; the numbers stay the task's */
};

/* One VMA to create, in address order. */
struct rst_vma {
	const VmaEntry *e;
	bool has_pages;   /* the pagemap has contents for it */
	bool write_added; /* mapped writable to be filled, mprotect'ed afterwards */
};

struct rst_ctx {
	const struct restore_opts *opts;
	struct rst_shared *shared;
	size_t index;  /* in pstree.img */
	size_t parent; /* index of the parent in pstree.img; the root's is its own */
	/* It shares its parent's fd table (CLONE_FILES) or fs (CLONE_FS): made so, set by it. */
	bool share_files, share_fs;
	/* A zombie: it is made, dies as it had died, and waits for its parent to reap it. */
	bool zombie;
	bool has_zombies; /* some child of it is a zombie */
	pid_t pid;     /* the task's pid, old and new */
	struct rst_images img;
	struct rst_files files;
	struct rst_vma *vmas;
	size_t nvmas;
	const VmaEntry *vdso, *vvar; /* the dumped ones, or NULL */

	bool forked;                     /* the task exists: kill it on failure */
	struct rsys_task *task;          /* the leader, seized */
	struct rsys_task **thread_tasks; /* every thread once created, [0] is task */
	/*
	 * The thread that remote syscalls and per-thread steps act on: its id,
	 * its rsys task, and img.core is its core (threads.c switches them).
	 */
	pid_t tid;
	struct rsys_task *cur;
	unsigned long scratch; /* data area of the scratch mapping in the task */
	size_t scratch_size;
	struct rst_range scratch_area; /* the whole mapping, rsys's code included */

	uint64_t t_start, t_fork_start, t_fork_end; /* CLOCK_MONOTONIC, us */
	uint64_t pages_restored;
};

/* images.c */
/* The images of task index of pstree.img; *ret_ntasks: how many tasks it lists. */
int rst_images_load(struct rst_ctx *c, const char *dir, size_t index, size_t *ret_ntasks);
void rst_images_free(struct rst_images *img);
/* The entry of files.img with this id, or NULL. */
const FileEntry *rst_file_entry(const struct rst_images *img, uint32_t id);
const RegFileEntry *rst_reg_file(const struct rst_images *img, uint32_t id);

/* support.c: refuse, by name, what restore does not handle yet. */
int rst_check_supported(struct rst_ctx *c);

/* files.c: open what the task needs before it exists; it inherits the fds. */
/* Above every fd number of the task (and 0-2): where the controller's files may go. */
int rst_files_min_fd(const struct rst_images *img);
/* Which descriptions one task alone has: before rst_files_open(), for the whole tree. */
int rst_files_plan(struct rst_ctx *tasks, size_t n);
int rst_files_open(struct rst_ctx *c);
/* The fd (same number in the task) opened for file id with this access mode, or -1. */
int rst_files_fd(const struct rst_ctx *c, uint32_t id, int accmode);
/* How a VMA's file is opened for mmap (O_RDONLY, O_RDWR ...). */
int rst_vma_accmode(const VmaEntry *e);
/* fown.c: F_SETOWN_EX/F_SETSIG by the controller, once the owner exists. */
int rst_files_set_owners(struct rst_ctx *c);
/* fown.c: O_ASYNC set by the task on its own fd numbers (the kernel signals that number). */
int rst_files_async(struct rst_ctx *c);
/* anon.c: whether an fd before fds[i] has the same open file description. */
bool rst_fd_seen_before(const struct rst_images *img, size_t i);
/* Close the controller's copies once the task has its own; the numbers stay valid in the task. */
void rst_files_close_ours(struct rst_files *f);
void rst_files_free(struct rst_files *f);

/* fd moved to min_fd or above, close-on-exec (the original closed); label names it. */
int rst_fd_move_up(struct rst_ctx *c, int fd, const char *label);

/* anon.c: eventfd, timerfd, signalfd, epoll, inotify, fanotify. */
bool rst_anon_type(int type);
/* A new fd (min_fd or above) of the description of fe, made as it was dumped. */
int rst_anon_open(struct rst_ctx *c, const FdinfoEntry *fe, const char *what);
/* Once the task is rebuilt: epoll watches added and timerfds armed, with its fd numbers. */
int rst_files_late(struct rst_ctx *c);

/* unix.c: a new fd (min_fd or above) of unix socket file id, made with its peer, name, queue. */
int rst_unix_open(struct rst_ctx *c, uint32_t id, const char *what);
void rst_unix_free(struct rst_shared *s);
/* sk-queues.img (unix and inet queues), read once for the tree into c->shared->skq. */
int rst_sk_queues_load(struct rst_ctx *c);

/* inet.c: a new fd (min_fd or above) of TCP or UDP socket file id, with its queue. */
int rst_inet_open(struct rst_ctx *c, uint32_t id, const char *what);

/* fifo.c: a new fd (min_fd or above) of FIFO file id, opened by its path; data queued again. */
int rst_fifo_open(struct rst_ctx *c, uint32_t id, const char *what);
void rst_fifos_free(struct rst_shared *s);

/* ghost.c: the GHOST remap of REG file id, or NULL (it was not deleted while open). */
const RemapFilePathEntry *rst_ghost_remap(const struct rst_images *img, uint32_t id);
/* A new description (not moved up) of the deleted file of reg, made again once per ghost. */
/* "/proc/self/fd/KEEPER": the ghost of remap made again, to open (a deleted FIFO's). */
#define RST_GHOST_LINK_MAX 32
int rst_ghost_link(struct rst_ctx *c, const RemapFilePathEntry *remap, const RegFileEntry *reg,
		   const char *what, char ret_link[static RST_GHOST_LINK_MAX]);
int rst_ghost_open(struct rst_ctx *c, const RemapFilePathEntry *remap, const RegFileEntry *reg,
		   int flags, const char *what);
void rst_ghosts_free(struct rst_shared *s);

/*
 * lock.c: the task's flock and OFD locks taken on the controller's fds, its
 * POSIX locks planned for the new task (fork.c), from filelocks.img.
 */
int rst_locks_take(struct rst_ctx *c);
void rst_locks_free(struct rst_shared *s);

/*
 * memfd.c: a new description (min_fd or above) of the MEMFD entry id of
 * files.img, with these flags (and its position if seek), on its memfd
 * made again once for the tree; the seals that wait for the mappings.
 */
bool rst_memfd_is(const struct rst_images *img, uint32_t id);
int rst_memfd_open(struct rst_ctx *c, uint32_t id, int flags, bool seek, const char *what);
/* The same for an fd of the task: the entry's own flags and position. */
int rst_memfd_open_fd(struct rst_ctx *c, uint32_t id, const char *what);
/* Once every task has mapped its VMAs: F_SEAL_FUTURE_WRITE (and F_SEAL_SEAL after it). */
int rst_memfd_seal_late(struct rst_shared *s);
void rst_memfds_free(struct rst_shared *s);

/* Every entry of image type into *ret_msgs (appended); an absent image is empty when optional. */
int rst_load_all(struct rst_ctx *c, enum img_type type, bool optional, void ***ret_msgs,
		 size_t *ret_n);

/* tty.c: a new fd (min_fd or above) on an end of a pty pair of the tree, or on stasis's
 * terminal for a shell job's pty (-j). */
int rst_tty_open(struct rst_ctx *c, const FdinfoEntry *fe, const char *what);
void rst_ttys_free(struct rst_shared *s);

/* pipe.c: pipes-data.img (absent: none), PIPE entries, and the pipes made for the task. */
/* pipes-data.img or fifo-data.img (type), absent: none. */
int rst_pipe_data_read(struct img_dir *dir, enum img_type type, struct rst_pipe_data **ret_pd,
		       size_t *ret_n);
void rst_pipe_data_free(struct rst_pipe_data *pd, size_t n);
const PipeEntry *rst_pipe_entry(const struct rst_images *img, uint32_t id);
/* A new fd (min_fd or above, close-on-exec here) of the description file id, a pipe. */
int rst_pipe_open(struct rst_ctx *c, uint32_t id, const char *what);
void rst_pipes_close(struct rst_shared *s);

/* fork.c */
int rst_wait_pid_free(struct rst_ctx *c);
/*
 * The tree, every task with its old pid: the root is cloned by the
 * controller, each task clones its own children. tasks[0] is the root,
 * parents come before their children.
 */
int rst_fork_tree(struct rst_ctx *tasks, size_t n);

/* remote.c: syscalls in the task; results are the raw return values (-errno on failure). */
long rst_remote(struct rst_ctx *c, long nr, const unsigned long args[6]);
#define rst_sys(c, nr, ...) rst_remote((c), (nr), (const unsigned long[6]){__VA_ARGS__})
/* Copy data into the scratch area at offset off; *ret_addr is its address in the task. */
int rst_scratch_put(struct rst_ctx *c, size_t off, const void *data, size_t len,
		    unsigned long *ret_addr);

/* vma.c */
int rst_vmas_plan(struct rst_ctx *c);
int rst_vmas_map(struct rst_ctx *c);
int rst_vmas_protect(struct rst_ctx *c);

/* takeover.c: seize the task, scratch area, rseq off, old mappings away. */
int rst_takeover(struct rst_ctx *c);

/* vdso.c */
int rst_vdso_check(struct rst_ctx *c);
/*
 * 1 if every global function of the dumped vDSO image is at the same offset
 * in ours, 0 if not (*ret_symbol names the first that is not), -EBADMSG if an
 * image cannot be read.
 */
int rst_vdso_compatible(const void *dumped, size_t dlen, const void *ours, size_t olen,
			const char **ret_symbol);
int rst_vdso_move(struct rst_ctx *c, const struct rst_mapping *maps, size_t n);

/* pages.c */
int rst_pages_fill(struct rst_ctx *c);

/* mm.c: PR_SET_MM_MAP and the mm's flags. */
int rst_mm_fields(struct rst_ctx *c);

/* signals.c: actions and the shared queue; the current thread's altstack and own queue */
int rst_signals(struct rst_ctx *c);
int rst_thread_signals(struct rst_ctx *c);

/* task.c: the process's limits, personality, prctl flags, oom_score_adj; the current thread's
 * name, futex and tid addresses, timer slack and scheduling. */
int rst_task_state(struct rst_ctx *c);
int rst_thread_state(struct rst_ctx *c);

/* threads.c: the other threads, made by the leader with clone3() and their old ids. */
int rst_threads_create(struct rst_ctx *c);
/* Run fn for every thread as the current one, the leader last; the leader is current after. */
int rst_threads_each(struct rst_ctx *c, int (*fn)(struct rst_ctx *c));
/* The leader's last steps wait for the others': rseq, registers, mask, in their own stop. */
int rst_thread_finish(struct rst_ctx *c);
void rst_threads_kill(struct rst_ctx *c);
int rst_threads_detach(struct rst_ctx *c);

/* timers.c: itimers and POSIX timers. */
int rst_timers(struct rst_ctx *c);

/* seccomp.c: filters (or strict mode), before the credentials. */
bool rst_seccomp_wanted(const struct rst_ctx *c);
int rst_seccomp_check(struct rst_ctx *c);
int rst_seccomp(struct rst_ctx *c);

/* creds.c */
int rst_creds(struct rst_ctx *c);

/* regs.c */
struct x86_regs;
/* Undo a pending syscall restart the way CRIU's dump does, and disable the kernel's. */
void rst_regs_no_restart(struct x86_regs *regs);
int rst_regs_load(struct rst_ctx *c);

/* finish.c: rseq, last closes, scratch away, registers, release. */
int rst_finish(struct rst_ctx *c);
/* The current thread's rseq area (while remote syscalls still run). */
int rst_rseq_register(struct rst_ctx *c);
/* In its own stop, for good: its rseq_cs, registers, FPU and blocked mask. */
int rst_thread_load(struct rst_ctx *c);

/* stats.c */
int rst_write_stats(struct rst_ctx *c);
