/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * CRIU-compatible image files (libstasis-image).
 *
 * An image file is
 *
 *     [HEAD MAGIC] TYPE MAGIC { u32 LE length, protobuf message, [extra payload] }
 *
 * HEAD MAGIC is IMG_COMMON_MAGIC for most images, IMG_SERVICE_MAGIC for
 * stats-* and irmap-cache, and absent for inventory.img. Raw images
 * (pages-N.img) have no magic at all. Some entries carry raw bytes after the
 * message ("extra": pipe data, socket queues, ...); their size is found in the
 * message itself. One table (img_types[]) describes every image type and is
 * shared by dump, restore and the image tool.
 *
 * Contract: functions return 0 (or a non-negative count) on success and a
 * negative errno on failure; ret_ parameters are written only on success. A
 * malformed file is reported once with pr_err, naming the file and the byte
 * offset, and gives -EBADMSG. A missing file gives -ENOENT without a log line
 * (many images are optional: the caller decides whether it is an error).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* protobuf-c types, only used through pointers here. */
struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;

#define IMG_COMMON_MAGIC 0x54564319u  /* Sarov */
#define IMG_SERVICE_MAGIC 0x55105940u /* Zlatoust */
#define IMG_RAW_MAGIC 0u

/* PagemapEntry.flags */
#define IMG_PE_PARENT (1u << 0)  /* pages live in the parent image set */
#define IMG_PE_LAZY (1u << 1)    /* may be restored lazily (still in pages-N.img) */
#define IMG_PE_PRESENT (1u << 2) /* pages are in this set's pages-N.img */

#define IMG_PAGE_SIZE 4096u

enum img_type {
	IMG_INVENTORY,
	IMG_STATS_DUMP,
	IMG_STATS_RESTORE,
	IMG_IRMAP_CACHE,
	IMG_PSTREE,
	IMG_CORE,
	IMG_IDS,
	IMG_MM,
	IMG_VMAS,
	IMG_CREDS,
	IMG_FS,
	IMG_SIGACT,
	IMG_RLIMIT,
	IMG_ITIMERS,
	IMG_POSIX_TIMERS,
	IMG_SIGNAL,  /* signal-s-%u: shared (process) pending signals */
	IMG_PSIGNAL, /* signal-p-%u: per-thread pending signals (same magic) */
	IMG_SECCOMP,
	IMG_CPUINFO,
	IMG_PAGEMAP,
	IMG_SHMEM_PAGEMAP, /* same magic and layout as PAGEMAP */
	IMG_PAGES,         /* raw: no magic, page contents */
	IMG_FILES,
	IMG_FDINFO,
	IMG_REG_FILES,
	IMG_EXT_FILES,
	IMG_NS_FILES,
	IMG_REMAP_FPATH,
	IMG_GHOST_FILE,
	IMG_MEMFD_INODE,
	IMG_PIPES,
	IMG_PIPES_DATA,
	IMG_FIFO,
	IMG_FIFO_DATA,
	IMG_EVENTFD_FILE,
	IMG_EVENTPOLL_FILE,
	IMG_EVENTPOLL_TFD,
	IMG_SIGNALFD,
	IMG_TIMERFD,
	IMG_INOTIFY_FILE,
	IMG_INOTIFY_WD,
	IMG_FANOTIFY_FILE,
	IMG_FANOTIFY_MARK,
	IMG_TTY_FILES,
	IMG_TTY_INFO,
	IMG_TTY_DATA,
	IMG_FILE_LOCKS,
	IMG_TUNFILE,
	IMG_UNIXSK,
	IMG_INETSK,
	IMG_PACKETSK,
	IMG_NETLINK_SK,
	IMG_SK_QUEUES,
	IMG_TCP_STREAM,
	IMG_UTSNS,
	IMG_IPC_VAR,
	IMG_IPCNS_SHM,
	IMG_IPCNS_MSG,
	IMG_IPCNS_SEM,
	IMG_MNTS,
	IMG_NETDEV,
	IMG_NETNS,
	IMG_USERNS,
	IMG_TIMENS,
	IMG_PIDNS,
	IMG_CGROUP,
	IMG_AUTOFS,
	IMG_BINFMT_MISC,
	IMG_BPFMAP_FILE,
	IMG_BPFMAP_DATA,
	IMG_APPARMOR,
	IMG_TYPE_MAX,
};

/* Where an entry's extra payload comes from (how its size is found). */
enum img_extra {
	IMG_EXTRA_NONE,
	IMG_EXTRA_PIPE_DATA,   /* PipeDataEntry.bytes */
	IMG_EXTRA_SK_QUEUE,    /* SkPacketEntry.length */
	IMG_EXTRA_TCP_STREAM,  /* TcpStreamEntry.inq_len bytes, then outq_len bytes */
	IMG_EXTRA_BPFMAP_DATA, /* BpfmapDataEntry.keys_bytes + values_bytes */
	IMG_EXTRA_IPC_SHM,     /* IpcShmEntry.size bytes, padded to 4 (none if in_pagemaps) */
	IMG_EXTRA_IPC_SEM,     /* IpcSemEntry.nsems u16 values, padded to 8 */
	IMG_EXTRA_IPC_MSG,     /* IpcMsgEntry.qnum x { u32 len, IpcMsg, msize bytes padded to 8 } */
	IMG_EXTRA_GHOST,       /* ghost file: see IMG_LAYOUT_GHOST */
};

enum img_layout {
	IMG_LAYOUT_ENTRIES, /* every entry is of type ->msg */
	IMG_LAYOUT_PAGEMAP, /* entry 0 is ->first_msg (PagemapHead), then ->msg (PagemapEntry) */
	/*
	 * Entry 0 is ->first_msg (GhostFileEntry). If its `chunks` is set, then
	 * ->msg entries (GhostChunkEntry) follow, each with `len` bytes of extra;
	 * otherwise entry 0's extra is the rest of the file.
	 */
	IMG_LAYOUT_GHOST,
	IMG_LAYOUT_RAW, /* no magic, no entries: bytes (pages-N.img) */
};

struct img_type_desc {
	enum img_type type;
	const char *name;    /* as crit prints it in "magic": "PAGEMAP", "STATS" ... */
	uint32_t magic;      /* the type's magic (0 for raw images) */
	uint32_t head_magic; /* IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, or 0 (none) */
	const char *fmt;     /* file name; "%u"/"%lu"/"%x" take the id, or no conversion */
	enum img_layout layout;
	enum img_extra extra;
	bool single; /* holds exactly one entry (core, mm, inventory ...) */
	const struct ProtobufCMessageDescriptor *msg;       /* entries */
	const struct ProtobufCMessageDescriptor *first_msg; /* entry 0 if different, else NULL */
};

extern const struct img_type_desc img_types[IMG_TYPE_MAX];

static inline const struct img_type_desc *img_type_desc(enum img_type t)
{
	return (unsigned)t < IMG_TYPE_MAX ? &img_types[t] : NULL;
}

/*
 * Lookups, NULL if unknown. Several types share a magic (PAGEMAP and
 * SHMEM_PAGEMAP, SIGNAL and PSIGNAL, the two STATS files): by magic or by
 * name gives the first of them in the table, which is enough to decode.
 */
const struct img_type_desc *img_type_by_magic(uint32_t magic);
const struct img_type_desc *img_type_by_name(const char *crit_name);
/* By file name ("core-21002.img", "pages-1.img", "stats-dump"); sets *ret_id if non-NULL. */
const struct img_type_desc *img_type_by_file_name(const char *file_name, uint64_t *ret_id);

/* The file name of an image: "core-21002.img". -ENAMETOOLONG if size is too small. */
int img_file_name(enum img_type type, uint64_t id, char *buf, size_t size);

/* The descriptor of entry number `index` of a file of this type. */
const struct ProtobufCMessageDescriptor *img_entry_desc(const struct img_type_desc *t,
							unsigned index);

/* ---- Image directories ------------------------------------------------- */

struct img_dir;

/* Open an existing directory of images (reading and writing). */
int img_dir_open(const char *path, struct img_dir **ret_dir);
/* Take ownership of an already open directory fd; path is used for messages. */
int img_dir_open_fd(int dirfd, const char *path, struct img_dir **ret_dir);
void img_dir_free(struct img_dir *dir);
static inline void img_dir_freep(struct img_dir **d)
{
	if (*d)
		img_dir_free(*d);
}
#define _cleanup_img_dir_ __attribute__((cleanup(img_dir_freep)))

int img_dir_fd(const struct img_dir *dir);
const char *img_dir_path(const struct img_dir *dir);
/*
 * The parent image set of an incremental dump (the "parent" symlink),
 * opened on first use and owned by dir. -ENOENT if there is none.
 */
int img_dir_parent(struct img_dir *dir, struct img_dir **ret_parent);

/* ---- Reading ------------------------------------------------------------- */

struct img_file;

struct img_entry {
	unsigned index;  /* 0-based entry number in the file */
	uint64_t offset; /* byte offset of the entry's length prefix */
	const struct ProtobufCMessageDescriptor *desc;
	struct ProtobufCMessage *msg; /* decoded message, owned by the entry */
	const uint8_t *extra;         /* extra payload (points into the file), or NULL */
	size_t extra_len;             /* its length, padding excluded */
};

/* Free the message and reset the entry. Safe on a zeroed entry. */
void img_entry_clear(struct img_entry *e);
#define _cleanup_img_entry_ __attribute__((cleanup(img_entry_clear)))
/* Take the message away from the entry (the caller frees it with img_msg_free). */
struct ProtobufCMessage *img_entry_take_msg(struct img_entry *e);
void img_msg_free(struct ProtobufCMessage *msg);

/*
 * Open an image by type and id (id is ignored for names without a
 * conversion). The magic must match the type. -ENOENT if the file is
 * absent, -EINVAL for a raw type (use the page API).
 */
int img_open(struct img_dir *dir, enum img_type type, uint64_t id, struct img_file **ret_file);
/* Open a file by name in dir, or by path, or an fd (a pipe is fine); the type comes from the magic.
 */
int img_open_name(struct img_dir *dir, const char *name, struct img_file **ret_file);
int img_open_path(const char *path, struct img_file **ret_file);
/* name is used in messages ("<stdin>"). The fd stays the caller's. */
int img_open_fd(int fd, const char *name, struct img_file **ret_file);
/* Decode from memory; buf must outlive the img_file. */
int img_open_mem(const void *buf, size_t len, const char *name, struct img_file **ret_file);
void img_close(struct img_file *f);
static inline void img_closep(struct img_file **f)
{
	if (*f)
		img_close(*f);
}
#define _cleanup_img_file_ __attribute__((cleanup(img_closep)))

const struct img_type_desc *img_file_type(const struct img_file *f);
const char *img_file_label(const struct img_file *f); /* the name used in messages */
uint64_t img_file_size(const struct img_file *f);

/*
 * Decode the next entry into *ret_entry (which the caller then clears).
 * Returns 1 for an entry, 0 at the end of the file, or -errno.
 */
int img_next(struct img_file *f, struct img_entry *ret_entry);
/*
 * Number of entries of the file (decodes them all). The pagemap head counts:
 * crit's "info" shows one less for PAGEMAP.
 */
int img_count(struct img_file *f, unsigned *ret_count);

/*
 * The messages inside an IMG_IPCNS_MSG entry's extra: call with *cursor = 0;
 * returns 1 with the next IpcMsg (caller frees with img_msg_free) and its
 * msize data bytes (pointing into the extra), 0 at the end, or -EBADMSG.
 */
int img_ipc_msg_next(const struct img_entry *e, size_t *cursor, struct ProtobufCMessage **ret_msg,
		     const uint8_t **ret_data, size_t *ret_len);
/*
 * Build such an extra: append one IpcMsg and its data to a malloc'ed buffer
 * (*buf, *len; start with NULL, 0). msg->msize must equal data_len.
 */
int img_ipc_msg_append(uint8_t **buf, size_t *len, const struct ProtobufCMessage *msg,
		       const void *data, size_t data_len);

/*
 * Read the only entry of a single-entry image: -EBADMSG if the file holds
 * none or more than one, -ENOENT if the file is absent. The caller frees
 * the message with img_msg_free.
 */
int img_read_one(struct img_dir *dir, enum img_type type, uint64_t id,
		 struct ProtobufCMessage **ret_msg);

/* ---- Writing ------------------------------------------------------------- */

struct img_writer;

/*
 * Create an image: written to a temporary name in the same directory and
 * renamed into place by img_writer_commit(). A writer freed without commit
 * leaves nothing behind. The magics are written at once.
 */
int img_create(struct img_dir *dir, enum img_type type, uint64_t id, struct img_writer **ret_w);
int img_create_path(const char *path, enum img_type type, struct img_writer **ret_w);
/* Write into an fd the caller owns (stdout); commit only flushes. */
int img_create_fd(int fd, const char *name, enum img_type type, struct img_writer **ret_w);

/*
 * Append an entry: its message (type checked against the table, entry 0
 * included) and its extra payload, whose length must be what the message
 * announces (padding is added here).
 */
int img_write_entry(struct img_writer *w, const struct ProtobufCMessage *msg, const void *extra,
		    size_t extra_len);
/* Append raw bytes (raw images, and the ghost file's unchunked contents). */
int img_write_raw(struct img_writer *w, const void *buf, size_t len);
/*
 * Flush buffered entries and give the underlying fd, positioned at the end,
 * for bulk writes (splice, process_vm_readv into an mmap ...). Later
 * appends continue at the fd's position.
 */
int img_writer_fd(struct img_writer *w);
/* Flush, close and rename into place (no fsync, as CRIU). The writer is freed in any case. */
int img_writer_commit(struct img_writer *w);
void img_writer_free(struct img_writer *w); /* discard */
static inline void img_writer_freep(struct img_writer **w)
{
	if (*w)
		img_writer_free(*w);
}
#define _cleanup_img_writer_ __attribute__((cleanup(img_writer_freep)))

/* Write a single-entry image in one call. */
int img_write_one(struct img_dir *dir, enum img_type type, uint64_t id,
		  const struct ProtobufCMessage *msg);

/* ---- Pages ------------------------------------------------------------- */

/* One pagemap entry, resolved. */
struct img_page_extent {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint32_t flags;    /* IMG_PE_* (in_parent of old images is turned into IMG_PE_PARENT) */
	uint64_t file_off; /* offset in pages-N.img, valid if IMG_PE_PRESENT */
};

struct img_pagemap;

/*
 * Load pagemap-PID.img (or pagemap-shmem-ID.img with IMG_SHMEM_PAGEMAP)
 * and its pages-N.img. Extents are checked: sorted, not overlapping, inside
 * the pages file.
 */
int img_pagemap_open(struct img_dir *dir, enum img_type pagemap_type, uint64_t id,
		     struct img_pagemap **ret_pm);
void img_pagemap_free(struct img_pagemap *pm);
static inline void img_pagemap_freep(struct img_pagemap **p)
{
	if (*p)
		img_pagemap_free(*p);
}
#define _cleanup_img_pagemap_ __attribute__((cleanup(img_pagemap_freep)))

size_t img_pagemap_extents(const struct img_pagemap *pm, const struct img_page_extent **ret_ext);
uint32_t img_pagemap_pages_id(const struct img_pagemap *pm);
/* The fd of pages-N.img (owned by pm), for mmap or zero-copy transfers. */
int img_pagemap_pages_fd(const struct img_pagemap *pm);

enum {
	/* Pages no pagemap entry covers read as zeros (CRIU leaves zero pages out). */
	IMG_READ_HOLES_AS_ZERO = 1 << 0,
};

/*
 * Read len bytes of the process memory at vaddr (any alignment), following
 * IMG_PE_PARENT extents into the parent chain. -ENOENT (logged) if a page is
 * not in the images and IMG_READ_HOLES_AS_ZERO is not given.
 */
int img_pagemap_read(struct img_pagemap *pm, uint64_t vaddr, void *buf, size_t len, unsigned flags);

/*
 * Dump side: write pagemap-ID.img and pages-PAGES_ID.img together. Both
 * files are committed (renamed) by img_pagemap_writer_commit.
 */
struct img_pagemap_writer;

int img_pagemap_writer_open(struct img_dir *dir, enum img_type pagemap_type, uint64_t id,
			    uint32_t pages_id, struct img_pagemap_writer **ret_w);
/*
 * Add an extent. With IMG_PE_PRESENT, data holds nr_pages pages, or is NULL
 * when the caller already appended them to img_pagemap_writer_pages_fd()
 * (possibly with the pages of the next extents: bulk writes are fine).
 * Extents must come in increasing address order.
 */
int img_pagemap_writer_add(struct img_pagemap_writer *w, uint64_t vaddr, uint64_t nr_pages,
			   uint32_t flags, const void *data);
int img_pagemap_writer_pages_fd(struct img_pagemap_writer *w);
int img_pagemap_writer_commit(struct img_pagemap_writer *w);
void img_pagemap_writer_free(struct img_pagemap_writer *w);
static inline void img_pagemap_writer_freep(struct img_pagemap_writer **w)
{
	if (*w)
		img_pagemap_writer_free(*w);
}
#define _cleanup_img_pagemap_writer_ __attribute__((cleanup(img_pagemap_writer_freep)))
