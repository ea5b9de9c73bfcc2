/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the image decoder (built and run by
 * tests/suites/fuzz.sh). Any input must decode or be refused with -EBADMSG,
 * and whatever decodes must be accepted again by the writer: a decoded
 * entry always carries the payload its message announces.
 */

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/image.h"

static int out_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Errors are expected by the million: keep them quiet. */
	struct log_config cfg = {.level = LOGL_MSG, .quiet_stderr = true};

	(void)argc;
	(void)argv;
	if (log_init(&cfg) < 0)
		abort();
	out_fd = memfd_create("fuzz-image-out", MFD_CLOEXEC);
	if (out_fd < 0)
		abort();
	return 0;
}

/* The queued messages of an IPCNS_MSG entry must walk to their end or fail cleanly. */
static void walk_ipc_msgs(const struct img_entry *e)
{
	size_t cursor = 0, len;
	const uint8_t *data;
	struct ProtobufCMessage *m;
	int r;

	while ((r = img_ipc_msg_next(e, &cursor, &m, &data, &len)) > 0) {
		if (data < e->extra || data + len > e->extra + e->extra_len)
			abort();
		img_msg_free(m);
	}
	if (r < 0 && r != -EBADMSG)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	const struct img_type_desc *t;
	int r;

	r = img_open_mem(data, size, "fuzz", &f);
	if (r < 0) {
		if (r != -EBADMSG)
			abort();
		return 0;
	}
	t = img_file_type(f);
	if (ftruncate(out_fd, 0) < 0 || lseek(out_fd, 0, SEEK_SET) < 0 ||
	    img_create_fd(out_fd, "out", t->type, &w) < 0)
		abort();
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};

		r = img_next(f, &e);
		if (r == 0)
			break;
		if (r < 0) {
			if (r != -EBADMSG)
				abort();
			break;
		}
		if (e.extra_len && (e.extra < data || e.extra + e.extra_len > data + size))
			abort();
		if (t->extra == IMG_EXTRA_IPC_MSG)
			walk_ipc_msgs(&e);
		r = img_write_entry(w, e.msg, e.extra, e.extra_len);
		/* Only a second entry in a single-entry image may be refused. */
		if (r < 0 && !(t->single && e.index > 0))
			abort();
	}
	return 0;
}
