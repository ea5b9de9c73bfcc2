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
#include "mem/mem.h"
#include "rsys/rsys.h"

struct img_dir;

/* The files of a dump: FileEntry records for files.img, ids from 1. */
struct dump_files {
	struct arena arena;
	FileEntry **entries;
	size_t n, cap;
};

/* Everything known about the task being dumped, step after step. */
struct dump_ctx {
	const struct dump_opts *opts;
	struct img_dir *dir;
	pid_t pid;
	struct rsys_task *task;
	struct remote rm; /* remote calls, while the scratch page is mapped */
	struct proc_stat stat;
	struct proc_status status;
	struct mem_vmas vmas;
	struct dump_files files;
	uint32_t exe_file_id;
	struct mem_dump_stats mem_stats;
	uint64_t t_start, t_frozen, t_memdump, t_memwrite; /* ns, monotonic */
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
int dump_fs(struct dump_ctx *ctx);

/* pipe.c: the PIPE entry of an fd's description (flags from fdinfo), then pipes-data.img. */
int dump_pipe_fd(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t flags,
		 uint32_t *ret_id);
int dump_pipes_data(struct dump_ctx *ctx, const FdinfoEntry *fds, size_t n);

/* anon.c: eventfd, timerfd, signalfd, epoll, inotify (FD_TYPES__UND for another target). */
FdTypes dump_anon_type(const char *target);
int dump_anon_fd(struct dump_ctx *ctx, int fd, FdTypes type, const struct proc_fdinfo *fi,
		 uint32_t *ret_id);

/* core.c */
int dump_core(struct dump_ctx *ctx);

/* seccomp.c: the mode into the thread core, the filters into seccomp.img. */
int dump_seccomp(struct dump_ctx *ctx, struct arena *a, ThreadCoreEntry *th);

/* tree.c: pstree, ids, inventory */
int dump_tree(struct dump_ctx *ctx);

/* mm.c: mm-PID.img (VMAs collected before the scratch page is mapped), then pages */
int dump_vmas(struct dump_ctx *ctx);
int dump_mm(struct dump_ctx *ctx);
int dump_pages(struct dump_ctx *ctx);
