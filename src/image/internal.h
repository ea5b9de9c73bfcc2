/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of src/image; not part of the public API. */

#include <protobuf-c/protobuf-c.h>

#include "image/image.h"

#define IMG_MAX_PARENT_DEPTH 64

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/*
 * Value of an unsigned integer or bool field of msg, by name (0 when an
 * optional field is absent). -ENOENT if the message has no such field.
 */
int pb_field_u64(const ProtobufCMessage *msg, const char *name, uint64_t *ret);

/* Where an entry's extra payload is, as told by its message. */
struct extra_span {
	uint64_t len;    /* payload bytes (what img_entry.extra_len gets) */
	uint64_t padded; /* bytes the payload takes in the file */
};

/*
 * The extra payload of entry `msg` of type t. `data`/`avail` are the bytes
 * after the message (needed by IPCNS_MSG, whose payload is self-framed, and
 * by unchunked ghost files, whose payload is the rest of the file); the
 * caller checks that ->padded fits. 0, or -EBADMSG with *why set.
 */
int extra_span_of(const struct img_type_desc *t, const ProtobufCMessage *msg, const uint8_t *data,
		  uint64_t avail, struct extra_span *ret, const char **why);

/* "DIR/NAME" for messages, malloc'ed; NULL on ENOMEM. */
char *path_join_label(const char *dir, const char *name);

/* Read a whole fd into a malloc'ed buffer. */
int read_all_fd(int fd, uint8_t **ret_buf, size_t *ret_len);

/* Write all of buf, restarting on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);

/* Create a temporary file next to `name` in dirfd; returns the fd and its malloc'ed name. */
int tmpfile_create(int dirfd, const char *name, char **ret_tmp_name);
