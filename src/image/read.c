/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading image files: magics, then length-prefixed messages with their
 * extra payloads. A file is read whole into memory (images other than
 * pages-N.img are small) so that every length is checked against the real
 * size before it is used.
 */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/internal.h"

struct img_file {
	char *label;
	const struct img_type_desc *type;
	const uint8_t *data;
	size_t size;
	uint8_t *owned; /* data, when read from an fd */
	size_t pos;     /* offset of the next entry */
	unsigned index; /* number of the next entry */
	bool at_end;    /* an unchunked ghost file: its payload was the rest of the file */
	int error;      /* sticky: a broken entry ends the iteration */
};

void img_close(struct img_file *f)
{
	if (!f)
		return;
	free(f->owned);
	free(f->label);
	free(f);
}

const struct img_type_desc *img_file_type(const struct img_file *f)
{
	return f->type;
}

const char *img_file_label(const struct img_file *f)
{
	return f->label;
}

uint64_t img_file_size(const struct img_file *f)
{
	return f->size;
}

/* The type a file with no head magic may be: only inventory.img is written so. */
static const struct img_type_desc *headless_type(uint32_t magic)
{
	const struct img_type_desc *t = img_type_by_magic(magic);

	return t && t->head_magic == 0 ? t : NULL;
}

/* Check the magics against `want` (NULL: any known type) and set f->type and f->pos. */
static int parse_magic(struct img_file *f, const struct img_type_desc *want)
{
	const struct img_type_desc *t;
	uint32_t m0, m1;

	if (f->size < 4) {
		pr_err("%s: %zu bytes: too short for an image magic", f->label, f->size);
		return -EBADMSG;
	}
	m0 = get_le32(f->data);
	if (m0 != IMG_COMMON_MAGIC && m0 != IMG_SERVICE_MAGIC) {
		t = want ? (want->head_magic == 0 && want->magic == m0 ? want : NULL)
			 : headless_type(m0);
		if (!t) {
			if (want)
				pr_err("%s: magic 0x%08x at offset 0x0 is not the magic of a %s "
				       "image",
				       f->label, m0, want->name);
			else
				pr_err("%s: unknown image magic 0x%08x at offset 0x0", f->label,
				       m0);
			return -EBADMSG;
		}
		f->type = t;
		f->pos = 4;
		return 0;
	}
	if (f->size < 8) {
		pr_err("%s: %zu bytes: truncated after the head magic at offset 0x0", f->label,
		       f->size);
		return -EBADMSG;
	}
	m1 = get_le32(f->data + 4);
	t = want ? (want->magic == m1 ? want : NULL) : img_type_by_magic(m1);
	if (!t) {
		if (want)
			pr_err("%s: magic 0x%08x at offset 0x4 is not the magic of a %s image "
			       "(0x%08x)",
			       f->label, m1, want->name, want->magic);
		else
			pr_err("%s: unknown image magic 0x%08x at offset 0x4", f->label, m1);
		return -EBADMSG;
	}
	if (t->head_magic != m0) {
		pr_err("%s: head magic 0x%08x at offset 0x0 does not fit a %s image (0x%08x "
		       "expected)",
		       f->label, m0, t->name, t->head_magic);
		return -EBADMSG;
	}
	f->type = t;
	f->pos = 8;
	return 0;
}

/* Takes `owned` (freed on failure too). */
static int file_new(const char *label, const uint8_t *data, size_t size, uint8_t *owned,
		    const struct img_type_desc *want, struct img_file **ret)
{
	_cleanup_free_ uint8_t *own = owned;
	struct img_file *f;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->label = strdup(label);
	if (!f->label) {
		free(f);
		return -ENOMEM;
	}
	f->data = data;
	f->size = size;
	r = parse_magic(f, want);
	if (r < 0) {
		img_close(f);
		return r;
	}
	f->owned = TAKE_PTR(own);
	*ret = f;
	return 0;
}

static int open_fd_as(int fd, const char *label, const struct img_type_desc *want,
		      struct img_file **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = read_all_fd(fd, &buf, &len);
	if (r < 0) {
		errno = -r;
		pr_perror("cannot read %s", label);
		return r;
	}
	return file_new(label, buf, len, buf, want, ret);
}

static int open_at_as(struct img_dir *dir, const char *name, const struct img_type_desc *want,
		      struct img_file **ret)
{
	_cleanup_free_ char *label = path_join_label(img_dir_path(dir), name);
	_cleanup_close_ int fd = -1;
	int r;

	if (!label)
		return -ENOMEM;
	fd = openat(img_dir_fd(dir), name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		if (r != -ENOENT)
			pr_perror("cannot open %s", label);
		return r;
	}
	return open_fd_as(fd, label, want, ret);
}

int img_open(struct img_dir *dir, enum img_type type, uint64_t id, struct img_file **ret_file)
{
	const struct img_type_desc *t = img_type_desc(type);
	char name[64];
	int r;

	if (!t || t->layout == IMG_LAYOUT_RAW)
		return -EINVAL;
	r = img_file_name(type, id, name, sizeof(name));
	if (r < 0)
		return r;
	return open_at_as(dir, name, t, ret_file);
}

int img_open_name(struct img_dir *dir, const char *name, struct img_file **ret_file)
{
	const struct img_type_desc *t = img_type_by_file_name(name, NULL);

	if (t && t->layout == IMG_LAYOUT_RAW) {
		pr_err("%s/%s: a raw image, without entries", img_dir_path(dir), name);
		return -EINVAL;
	}
	return open_at_as(dir, name, NULL, ret_file);
}

int img_open_path(const char *path, struct img_file **ret_file)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int r = negative_errno();

		if (r != -ENOENT)
			pr_perror("cannot open %s", path);
		return r;
	}
	return open_fd_as(fd, path, NULL, ret_file);
}

int img_open_fd(int fd, const char *name, struct img_file **ret_file)
{
	return open_fd_as(fd, name, NULL, ret_file);
}

int img_open_mem(const void *buf, size_t len, const char *name, struct img_file **ret_file)
{
	return file_new(name, buf, len, NULL, NULL, ret_file);
}

void img_msg_free(struct ProtobufCMessage *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

void img_entry_clear(struct img_entry *e)
{
	img_msg_free(e->msg);
	memset(e, 0, sizeof(*e));
}

struct ProtobufCMessage *img_entry_take_msg(struct img_entry *e)
{
	return TAKE_PTR(e->msg);
}

static int entry_error(struct img_file *f, size_t off, const char *fmt_why, uint64_t a, uint64_t b)
{
	char why[160];

	snprintf(why, sizeof(why), fmt_why, (unsigned long long)a, (unsigned long long)b);
	pr_err("%s: entry %u at offset 0x%zx: %s", f->label, f->index, off, why);
	return f->error = -EBADMSG;
}

int img_next(struct img_file *f, struct img_entry *ret_entry)
{
	const ProtobufCMessageDescriptor *desc = img_entry_desc(f->type, f->index);
	size_t off = f->pos, avail = f->size - f->pos, after;
	struct extra_span span;
	const char *why = NULL;
	ProtobufCMessage *msg;
	uint32_t len;
	int r;

	if (f->error)
		return f->error;
	if (f->at_end || avail == 0)
		return 0;
	if (avail < 4)
		return entry_error(f, off, "%llu bytes left, too few for a length prefix", avail,
				   0);
	len = get_le32(f->data + off);
	if (len > avail - 4)
		return entry_error(f, off,
				   "length %llu is beyond the end of the file (size 0x%llx)", len,
				   f->size);
	msg = protobuf_c_message_unpack(desc, NULL, len, f->data + off + 4);
	if (!msg) {
		pr_err("%s: entry %u at offset 0x%zx: %u bytes that are not a valid %s", f->label,
		       f->index, off, len, desc->name);
		return f->error = -EBADMSG;
	}
	after = off + 4 + len;
	r = extra_span_of(f->type, msg, f->data + after, f->size - after, &span, &why);
	if (r >= 0 && (span.len > f->size - after || span.padded > f->size - after)) {
		why = "its extra payload is beyond the end of the file";
		r = -EBADMSG;
	}
	if (r < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		pr_err("%s: entry %u at offset 0x%zx: %s (file size 0x%zx)", f->label, f->index,
		       off, why, f->size);
		return f->error = r;
	}
	*ret_entry = (struct img_entry){
		.index = f->index,
		.offset = off,
		.desc = desc,
		.msg = msg,
		.extra = span.len ? f->data + after : NULL,
		.extra_len = span.len,
	};
	f->pos = after + span.padded;
	f->index++;
	if (f->type->layout == IMG_LAYOUT_GHOST && desc == f->type->first_msg && span.padded)
		f->at_end = true;
	return 1;
}

int img_count(struct img_file *f, unsigned *ret_count)
{
	unsigned n = 0;
	int r;

	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};

		r = img_next(f, &e);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		n++;
	}
	*ret_count = n;
	return 0;
}

int img_read_one(struct img_dir *dir, enum img_type type, uint64_t id,
		 struct ProtobufCMessage **ret_msg)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	_cleanup_img_entry_ struct img_entry e = {}, more = {};
	int r;

	r = img_open(dir, type, id, &f);
	if (r < 0)
		return r;
	r = img_next(f, &e);
	if (r < 0)
		return r;
	if (r == 0) {
		pr_err("%s: holds no entry, one expected", f->label);
		return -EBADMSG;
	}
	r = img_next(f, &more);
	if (r < 0)
		return r;
	if (r > 0) {
		pr_err("%s: entry 1 at offset 0x%llx: one entry expected, more found", f->label,
		       (unsigned long long)more.offset);
		return -EBADMSG;
	}
	*ret_msg = img_entry_take_msg(&e);
	return 0;
}
