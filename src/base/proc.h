/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Parsers of /proc/PID/... files: how stasis reads a frozen task from the
 * outside, without a parasite.
 *
 * Every file has two layers:
 *  - proc_parse_*(): a pure function over the file's text (NUL-terminated),
 *    no I/O, tested on canned samples. `what` names the text in error
 *    messages ("/proc/12/status"); a parse error is logged with the line
 *    number and returned as -EINVAL.
 *  - proc_read_*(): reads /proc/PID/... whole into a buffer and parses it.
 *    With tid > 0 the per-thread file /proc/PID/task/TID/... is read, with
 *    tid == 0 the thread group's /proc/PID/....
 *
 * Errors are negative errnos; ret_ parameters are written only on success.
 * Readers log I/O errors, except -ENOENT and -ESRCH (the task or the object
 * is gone): whether that matters is the caller's decision, so the caller
 * logs it. See docs/proc.md for what each file feeds and the pitfalls.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The kernel prints at most 63 bytes of a task name (kthread and workqueue names). */
#define PROC_COMM_MAX 64
/* "/proc/PID/task/TID/" plus a file name */
#define PROC_PATH_MAX 128

/* "/proc/PID/NAME", or "/proc/PID/task/TID/NAME" when tid > 0. */
void proc_path(char path[PROC_PATH_MAX], pid_t pid, pid_t tid, const char *name);

/* Read a whole file into a NUL-terminated heap buffer. */
int proc_read_file(const char *path, char **ret_buf, size_t *ret_len);
/* The same for the file name below the open directory dirfd; path names it in messages. */
int proc_read_file_at(int dirfd, const char *name, const char *path, char **ret_buf,
		      size_t *ret_len);
/* Read a whole small file into buf (NUL-terminated); -EFBIG if it does not fit. */
int proc_read_file_into(const char *path, char *buf, size_t size, size_t *ret_len);

/* ---- /proc/PID/stat ---------------------------------------------------- */

/*
 * Field names and meanings of proc_pid_stat(5). The mm addresses (startcode,
 * start_data ...) and exit_code read 0 unless the reader may ptrace the task,
 * and are 0 for kernel threads and zombies.
 */
struct proc_stat {
	pid_t pid;
	char comm[PROC_COMM_MAX]; /* raw: may hold spaces, ')' and '\n' */
	char state;               /* R S D Z T t X I ... */
	pid_t ppid;
	pid_t pgrp;
	pid_t session;
	int32_t tty_nr;
	pid_t tpgid;
	uint32_t flags; /* PF_* */
	uint64_t minflt, cminflt, majflt, cmajflt;
	uint64_t utime, stime; /* clock ticks */
	int64_t cutime, cstime;
	int64_t priority;
	int64_t nice;
	int64_t num_threads;
	int64_t itrealvalue;
	uint64_t starttime;
	uint64_t vsize;
	int64_t rss;
	uint64_t rsslim;
	uint64_t startcode, endcode, startstack;
	uint64_t kstkesp, kstkeip;
	/* obsolete decimal masks of the first 31 signals: use proc_status */
	uint64_t signal, blocked, sigignore, sigcatch;
	uint64_t wchan;
	uint64_t nswap, cnswap;
	int32_t exit_signal;
	int32_t processor;
	uint32_t rt_priority;
	uint32_t policy; /* SCHED_* */
	uint64_t delayacct_blkio_ticks;
	uint64_t guest_time;
	int64_t cguest_time;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int32_t exit_code; /* wait status of a zombie */
};

int proc_parse_stat(const char *text, const char *what, struct proc_stat *ret);
int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *ret);

/* ---- /proc/PID/status -------------------------------------------------- */

/* Lines of /proc/PID/status that proc_parse_status understands. */
enum proc_status_line {
	PROC_STATUS_NAME,
	PROC_STATUS_UMASK, /* absent for zombies */
	PROC_STATUS_STATE,
	PROC_STATUS_TGID,
	PROC_STATUS_NGID,
	PROC_STATUS_PID,
	PROC_STATUS_PPID,
	PROC_STATUS_TRACER_PID,
	PROC_STATUS_UID,
	PROC_STATUS_GID,
	PROC_STATUS_FDSIZE,
	PROC_STATUS_GROUPS,
	PROC_STATUS_NSTGID,
	PROC_STATUS_NSPID,
	PROC_STATUS_NSPGID,
	PROC_STATUS_NSSID,
	PROC_STATUS_KTHREAD,
	PROC_STATUS_CORE_DUMPING,
	PROC_STATUS_THP_ENABLED,
	PROC_STATUS_UNTAG_MASK,
	PROC_STATUS_THREADS,
	PROC_STATUS_SIGQ,
	PROC_STATUS_SIGPND,
	PROC_STATUS_SHDPND,
	PROC_STATUS_SIGBLK,
	PROC_STATUS_SIGIGN,
	PROC_STATUS_SIGCGT,
	PROC_STATUS_CAPINH,
	PROC_STATUS_CAPPRM,
	PROC_STATUS_CAPEFF,
	PROC_STATUS_CAPBND,
	PROC_STATUS_CAPAMB,
	PROC_STATUS_NO_NEW_PRIVS,
	PROC_STATUS_SECCOMP,
	PROC_STATUS_SECCOMP_FILTERS,
	PROC_STATUS_SPEC_STORE_BYPASS,
	PROC_STATUS_SPEC_INDIRECT_BRANCH,
	PROC_STATUS_X86_FEATURES,
	PROC_STATUS_X86_FEATURES_LOCKED,
	PROC_STATUS__COUNT
};

/* Nested pid namespaces: MAX_PID_NS_LEVEL (32) below the initial one. */
#define PROC_NS_LEVELS_MAX 33
/* Bits of x86_features, as ARCH_SHSTK_* of arch_prctl(ARCH_SHSTK_STATUS). */
#define PROC_X86_FEATURE_SHSTK (1u << 0)
#define PROC_X86_FEATURE_WRSS (1u << 1)
/* Long enough for every value of the Speculation* lines ("thread force mitigated" ...). */
#define PROC_SPEC_MAX 40

struct proc_status {
	uint64_t present;         /* bit (1 << PROC_STATUS_*) per line seen */
	char name[PROC_COMM_MAX]; /* unescaped */
	uint32_t umask;
	char state;
	pid_t tgid, ngid, pid, ppid, tracer_pid;
	uid_t uid[4]; /* real, effective, saved, filesystem */
	gid_t gid[4];
	uint32_t fdsize;
	uint32_t n_groups;
	gid_t *groups; /* heap, freed by proc_status_done() */
	/* pid in each pid namespace from the reader's down to the task's own */
	uint32_t ns_levels;
	pid_t nstgid[PROC_NS_LEVELS_MAX], nspid[PROC_NS_LEVELS_MAX];
	pid_t nspgid[PROC_NS_LEVELS_MAX], nssid[PROC_NS_LEVELS_MAX];
	uint32_t kthread;
	uint32_t core_dumping;
	uint32_t thp_enabled;
	uint64_t untag_mask;
	uint32_t threads;
	uint64_t sigq_queued, sigq_limit;
	uint64_t sigpnd, shdpnd, sigblk, sigign, sigcgt; /* bit n-1 is signal n */
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t no_new_privs;
	uint32_t seccomp; /* SECCOMP_MODE_* */
	uint32_t seccomp_filters;
	char spec_store_bypass[PROC_SPEC_MAX];
	char spec_indirect_branch[PROC_SPEC_MAX];
	uint32_t x86_features, x86_features_locked; /* PROC_X86_FEATURE_* */
};

static inline bool proc_status_has(const struct proc_status *st, enum proc_status_line line)
{
	return st->present & (UINT64_C(1) << line);
}

/*
 * Name, State, Tgid, Pid, PPid, TracerPid, Uid, Gid, FDSize, Groups,
 * Threads, SigQ, the five signal masks and CapInh/Prm/Eff/Bnd are required;
 * the other lines are optional (see present). Unknown lines are ignored.
 */
int proc_parse_status(const char *text, const char *what, struct proc_status *ret);
int proc_read_status(pid_t pid, pid_t tid, struct proc_status *ret);
void proc_status_done(struct proc_status *st);

/* ---- /proc/PID/limits -------------------------------------------------- */

#define PROC_RLIMIT_COUNT 16 /* RLIMIT_CPU .. RLIMIT_RTTIME */

struct proc_limits {
	struct rlimit
		lim[PROC_RLIMIT_COUNT]; /* indexed by RLIMIT_*; RLIM_INFINITY for "unlimited" */
};

/* Every one of the 16 rows is required; rows of newer kernels are ignored. */
int proc_parse_limits(const char *text, const char *what, struct proc_limits *ret);
int proc_read_limits(pid_t pid, struct proc_limits *ret);

/* ---- /proc/PID/auxv ---------------------------------------------------- */

#define PROC_AUXV_MAX 64

struct proc_auxv {
	uint32_t n; /* entries before AT_NULL (not counted, not stored) */
	struct {
		uint64_t type, value;
	} ent[PROC_AUXV_MAX];
};

/*
 * Binary: (type, value) pairs of u64 up to AT_NULL. Reading it fails with
 * -ESRCH for a task without mm (kernel thread, zombie).
 */
int proc_parse_auxv(const void *data, size_t len, const char *what, struct proc_auxv *ret);
int proc_read_auxv(pid_t pid, struct proc_auxv *ret);

/* ---- tasks, children, the process tree ------------------------------- */

/* Blank-separated decimal pids, as in /proc/PID/task/TID/children. */
int proc_parse_pid_list(const char *text, const char *what, pid_t **ret_pids, size_t *ret_n);
/* Thread ids of /proc/PID/task, the leader first. */
int proc_read_tasks(pid_t pid, pid_t **ret_tids, size_t *ret_n);
/*
 * Children forked by thread tid of pid (/proc/PID/task/TID/children; tid 0:
 * the leader). Exact only while the tasks are frozen: see docs/proc.md.
 */
int proc_read_children(pid_t pid, pid_t tid, pid_t **ret_pids, size_t *ret_n);

struct proc_tree_task {
	pid_t pid;
	int parent;          /* index in proc_tree.tasks; -1 for the root */
	size_t first_thread; /* index in proc_tree.tids */
	size_t n_threads;    /* the leader first */
};

struct proc_tree {
	size_t n_tasks;
	struct proc_tree_task
		*tasks; /* breadth first: tasks[0] is the root, parents before children */
	size_t n_tids;
	pid_t *tids;
};

/*
 * Every process below root (included) with all its threads: one pass, meant
 * for a frozen tree. A process or thread that vanishes during the walk is
 * left out; -ESRCH if the root is gone.
 */
int proc_walk_tree(pid_t root, struct proc_tree *ret);
void proc_tree_free(struct proc_tree *tree);

/* ---- /proc/PID/fd and /proc/PID/fdinfo/FD -------------------------------- */

/* A line of the kind-specific part of fdinfo, split at its first ':'. */
struct proc_kv {
	const char *key;   /* "eventfd-count", "tfd", "inotify wd", "fanotify ino" ... */
	const char *value; /* the rest, leading blanks skipped */
};

struct proc_fdinfo {
	int64_t pos;
	uint32_t flags; /* O_* of the open file description */
	int32_t mnt_id;
	uint64_t ino;
	size_t n_extra;
	struct proc_kv *extra; /* in file order */
	char *buf;             /* the text extra points into, when owned */
};

struct proc_fd {
	int fd;
	/* readlink of /proc/PID/fd/FD; a pipe's and a socket's ("pipe:[INO]",
	 * "socket:[INO]") are made from st without a readlink */
	const char *target;
	/* of the file itself (through the link); of a pipe or a socket read with
	 * its fdinfo only st_dev, st_ino and st_mode, from its fdinfo (no stat()) */
	struct stat st;
	struct proc_fdinfo fi; /* /proc/PID/fdinfo/FD, by proc_read_fds_fdinfo() only */
};

struct proc_fd_table {
	size_t n;
	struct proc_fd *fds; /* ascending fd order */
	char *strings;       /* owns the targets */
};

/* Open fds of pid, with their targets and stat; an fd closed during the walk is left out. */
int proc_read_fds(pid_t pid, struct proc_fd_table *ret);
/* The same with the fdinfo of each fd. */
int proc_read_fds_fdinfo(pid_t pid, struct proc_fd_table *ret);
void proc_fd_table_free(struct proc_fd_table *t);

/* Splits text in place: extra points into it (ret->buf stays NULL). */
int proc_parse_fdinfo(char *text, const char *what, struct proc_fdinfo *ret);
int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret);
void proc_fdinfo_free(struct proc_fdinfo *fi);
/* The value of the first extra line with this key, or NULL. */
const char *proc_fdinfo_get(const struct proc_fdinfo *fi, const char *key);
/*
 * The number after "name:" in a kind-specific value such as
 * "4 events: 1c data: 1234  pos:0 ino:40e sdev:10" (blanks after the colon
 * skipped), in this base (8, 10 or 16). name must start the value or follow
 * a blank. -ENOENT if it is not there, -EINVAL if no number follows.
 */
int proc_fdinfo_field(const char *value, const char *name, unsigned int base, uint64_t *ret);

/* ---- /proc/PID/mountinfo ----------------------------------------------- */

struct proc_mount {
	int32_t mnt_id;
	int32_t parent_id;
	uint32_t major, minor;
	/* paths unescaped (\040 ...); options kept as the kernel printed them */
	const char *root;
	const char *mountpoint;
	const char *options;
	const char *fstype; /* "type" or "type.subtype" */
	const char *source;
	const char *super_options;
	int32_t shared;         /* peer group, 0 if not shared */
	int32_t master;         /* peer group this is a slave of, 0 if none */
	int32_t propagate_from; /* 0 if none */
	bool unbindable;
};

/* Parses one line (no '\n') in place: the strings point into it. */
int proc_parse_mountinfo_line(char *line, const char *what, unsigned int lineno,
			      struct proc_mount *ret);

struct proc_mount_table {
	size_t n;
	struct proc_mount *mounts; /* in file order */
	char *buf;                 /* the text the strings point into, when owned */
};

int proc_parse_mountinfo(char *text, const char *what, struct proc_mount_table *ret);
int proc_read_mountinfo(pid_t pid, struct proc_mount_table *ret);
void proc_mount_table_free(struct proc_mount_table *t);

/* ---- /proc/PID/timers and small files ---------------------------------- */

struct proc_posix_timer {
	int32_t id; /* kernel timer id, what timer_create() returned */
	int32_t signo;
	uint64_t sigval;  /* sigev_value */
	int32_t notify;   /* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, maybe | SIGEV_THREAD_ID */
	pid_t notify_pid; /* the tid with SIGEV_THREAD_ID */
	int32_t clock_id; /* negative for CPU clocks */
};

int proc_parse_timers(const char *text, const char *what, struct proc_posix_timer **ret_timers,
		      size_t *ret_n);
int proc_read_timers(pid_t pid, struct proc_posix_timer **ret_timers, size_t *ret_n);

/* One number and an optional '\n'; base 0 accepts a 0x prefix. */
int proc_parse_u64(const char *text, unsigned int base, const char *what, uint64_t *ret);
int proc_parse_s64(const char *text, const char *what, int64_t *ret);
/* The text of /proc/PID/comm: the name and '\n' (the name may hold '\n' too). */
int proc_parse_comm(const char *text, const char *what, char ret_comm[PROC_COMM_MAX]);

int proc_read_comm(pid_t pid, pid_t tid, char ret_comm[PROC_COMM_MAX]);
int proc_read_personality(pid_t pid, uint32_t *ret);
int proc_read_oom_score_adj(pid_t pid, int32_t *ret);
int proc_read_loginuid(pid_t pid, uint32_t *ret); /* (uint32_t)-1: never set */
int proc_read_timerslack_ns(pid_t pid, uint64_t *ret);
/* readlink of /proc/PID/NAME ("cwd", "root", "exe", "fd/3"), heap string. */
int proc_readlink(pid_t pid, const char *name, char **ret_target);
