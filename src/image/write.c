/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing image files. Entries go through a buffer; the file is created
 * under a temporary name and renamed into place on commit, so that a
 * reader never sees half an image and a failed dump leaves no stale file.
 */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/internal.h"

#define WBUF_SIZE (64u * 1024)

struct img_writer {
	const struct img_type_desc *type;
	char *label;
	int fd;
	bool own_fd;
	int dirfd;      /* for the rename; -1 when writing to a caller's fd */
	char *tmp_name; /* in dirfd */
	char *name;     /* final name in dirfd */
	uint8_t *buf;
	size_t buf_len;
	unsigned index; /* entries written */
	bool raw_only;  /* an unchunked ghost file: only raw bytes may follow */
	int error;      /* sticky */
};

static int wflush(struct img_writer *w)
{
	int r;

	if (!w->buf_len)
		return 0;
	r = write_all(w->fd, w->buf, w->buf_len);
	if (r < 0) {
		errno = -r;
		pr_perror("cannot write %s", w->label);
		return w->error = r;
	}
	w->buf_len = 0;
	return 0;
}

/* Append bytes, through the buffer for small ones. */
static int wput(struct img_writer *w, const void *p, size_t len)
{
	int r;

	if (w->buf_len + len > WBUF_SIZE) {
		r = wflush(w);
		if (r < 0)
			return r;
	}
	if (len >= WBUF_SIZE) {
		r = write_all(w->fd, p, len);
		if (r < 0) {
			errno = -r;
			pr_perror("cannot write %s", w->label);
			return w->error = r;
		}
		return 0;
	}
	memcpy(w->buf + w->buf_len, p, len);
	w->buf_len += len;
	return 0;
}

static int wzero(struct img_writer *w, size_t len)
{
	static const uint8_t zeros[8];

	return len ? wput(w, zeros, len) : 0;
}

static int writer_new(const struct img_type_desc *t, const char *label, struct img_writer **ret)
{
	struct img_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->dirfd = -1;
	w->type = t;
	w->label = strdup(label);
	w->buf = malloc(WBUF_SIZE);
	if (!w->label || !w->buf) {
		img_writer_free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

static int write_magics(struct img_writer *w)
{
	uint8_t m[8];
	size_t n = 0;

	if (w->type->layout == IMG_LAYOUT_RAW)
		return 0;
	if (w->type->head_magic) {
		put_le32(m, w->type->head_magic);
		n = 4;
	}
	put_le32(m + n, w->type->magic);
	return wput(w, m, n + 4);
}

void img_writer_free(struct img_writer *w)
{
	if (!w)
		return;
	if (w->tmp_name && unlinkat(w->dirfd, w->tmp_name, 0) < 0)
		pr_perror("cannot remove %s", w->tmp_name);
	if (w->own_fd)
		safe_close(w->fd);
	safe_close(w->dirfd);
	free(w->tmp_name);
	free(w->name);
	free(w->label);
	free(w->buf);
	free(w);
}

/* Create a writer for `name` inside dirfd (borrowed: it is duplicated). */
static int create_at(int dirfd, const char *dir_path, const char *name,
		     const struct img_type_desc *t, struct img_writer **ret)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	_cleanup_free_ char *label = path_join_label(dir_path, name);
	int r;

	if (!label)
		return -ENOMEM;
	r = writer_new(t, label, &w);
	if (r < 0)
		return r;
	w->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (w->dirfd < 0)
		return negative_errno();
	w->name = strdup(name);
	if (!w->name)
		return -ENOMEM;
	r = tmpfile_create(dirfd, name, &w->tmp_name);
	if (r < 0) {
		errno = -r;
		pr_perror("cannot create a temporary file for %s", label);
		return r;
	}
	w->fd = r;
	w->own_fd = true;
	r = write_magics(w);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(w);
	return 0;
}

int img_create(struct img_dir *dir, enum img_type type, uint64_t id, struct img_writer **ret_w)
{
	const struct img_type_desc *t = img_type_desc(type);
	char name[64];
	int r;

	if (!t)
		return -EINVAL;
	r = img_file_name(type, id, name, sizeof(name));
	if (r < 0)
		return r;
	return create_at(img_dir_fd(dir), img_dir_path(dir), name, t, ret_w);
}

int img_create_path(const char *path, enum img_type type, struct img_writer **ret_w)
{
	const struct img_type_desc *t = img_type_desc(type);
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dirfd = -1;
	const char *slash = strrchr(path, '/'), *name;

	if (!t)
		return -EINVAL;
	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		name = slash + 1;
	} else {
		dir = strdup(".");
		name = path;
	}
	if (!dir)
		return -ENOMEM;
	if (!*name)
		return -EISDIR;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		int r = negative_errno();

		pr_perror("cannot open the directory of %s", path);
		return r;
	}
	/* The label is the path as the caller gave it. */
	return create_at(dirfd, slash ? dir : NULL, name, t, ret_w);
}

int img_create_fd(int fd, const char *name, enum img_type type, struct img_writer **ret_w)
{
	const struct img_type_desc *t = img_type_desc(type);
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	int r;

	if (!t)
		return -EINVAL;
	r = writer_new(t, name, &w);
	if (r < 0)
		return r;
	w->fd = fd;
	r = write_magics(w);
	if (r < 0)
		return r;
	*ret_w = TAKE_PTR(w);
	return 0;
}

/* Is msg the right message for the next entry, with the payload it announces? */
static int check_entry(struct img_writer *w, const ProtobufCMessage *msg, const void *extra,
		       size_t extra_len, struct extra_span *span)
{
	const struct img_type_desc *t = w->type;
	const ProtobufCMessageDescriptor *want;
	const char *why = NULL;
	int r;

	if (t->layout == IMG_LAYOUT_RAW || w->raw_only) {
		pr_err("%s: no entry can be added here (raw contents)", w->label);
		return -EINVAL;
	}
	want = img_entry_desc(t, w->index);
	if (msg->descriptor != want) {
		pr_err("%s: entry %u must be a %s, not a %s", w->label, w->index, want->name,
		       msg->descriptor->name);
		return -EINVAL;
	}
	if (t->single && w->index > 0) {
		pr_err("%s: a %s image holds a single entry", w->label, t->name);
		return -EINVAL;
	}
	/* An unchunked ghost file takes any payload: it is the file's contents. */
	r = extra_span_of(t, msg, extra, extra_len, span, &why);
	if (r < 0 || span->len != extra_len) {
		pr_err("%s: entry %u announces %llu bytes of extra payload, %zu given", w->label,
		       w->index, r < 0 ? 0ULL : (unsigned long long)span->len, extra_len);
		return -EINVAL;
	}
	return 0;
}

int img_write_entry(struct img_writer *w, const struct ProtobufCMessage *msg, const void *extra,
		    size_t extra_len)
{
	struct extra_span span = {};
	uint8_t stackbuf[512], len4[4];
	_cleanup_free_ uint8_t *heap = NULL;
	uint8_t *packed = stackbuf;
	size_t plen;
	int r;

	if (w->error)
		return w->error;
	r = check_entry(w, msg, extra, extra_len, &span);
	if (r < 0)
		return r;
	plen = protobuf_c_message_get_packed_size(msg);
	if (plen > UINT32_MAX)
		return -E2BIG;
	if (plen > sizeof(stackbuf)) {
		packed = heap = malloc(plen);
		if (!heap)
			return -ENOMEM;
	}
	protobuf_c_message_pack(msg, packed);
	put_le32(len4, plen);
	r = wput(w, len4, 4);
	if (r >= 0)
		r = wput(w, packed, plen);
	if (r >= 0 && extra_len)
		r = wput(w, extra, extra_len);
	if (r >= 0 && span.padded > span.len)
		r = wzero(w, span.padded - span.len);
	if (r < 0)
		return r;
	if (w->type->layout == IMG_LAYOUT_GHOST && msg->descriptor == w->type->first_msg) {
		uint64_t chunks = 0;

		pb_field_u64(msg, "chunks", &chunks);
		w->raw_only = !chunks;
	}
	w->index++;
	return 0;
}

int img_write_raw(struct img_writer *w, const void *buf, size_t len)
{
	if (w->error)
		return w->error;
	if (w->type->layout != IMG_LAYOUT_RAW && !w->raw_only) {
		pr_err("%s: raw bytes cannot be added to a %s image", w->label, w->type->name);
		return -EINVAL;
	}
	return wput(w, buf, len);
}

int img_writer_fd(struct img_writer *w)
{
	int r;

	if (w->error)
		return w->error;
	r = wflush(w);
	return r < 0 ? r : w->fd;
}

int img_writer_commit(struct img_writer *w)
{
	_cleanup_(img_writer_freep) struct img_writer *ww = w;
	int r;

	if (w->error)
		return w->error;
	r = wflush(w);
	if (r < 0)
		return r;
	if (!w->own_fd)
		return 0;
	if (close(TAKE_FD(w->fd)) < 0) {
		r = negative_errno();
		pr_perror("cannot write %s", w->label);
		return r;
	}
	if (renameat(w->dirfd, w->tmp_name, w->dirfd, w->name) < 0) {
		r = negative_errno();
		pr_perror("cannot rename %s into place", w->label);
		return r;
	}
	free(w->tmp_name);
	w->tmp_name = NULL;
	return 0;
}

int img_write_one(struct img_dir *dir, enum img_type type, uint64_t id,
		  const struct ProtobufCMessage *msg)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	int r;

	r = img_create(dir, type, id, &w);
	if (r < 0)
		return r;
	r = img_write_entry(w, msg, NULL, 0);
	if (r < 0)
		return r;
	return img_writer_commit(TAKE_PTR(w));
}
