/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* All the messages of one image, in memory (for the explorers and the core writer). */
#include <stdlib.h>

#include "base/macro.h"
#include "crit/msgs.h"

void msgs_clear(struct msgs *l)
{
	for (size_t i = 0; i < l->n; i++)
		img_msg_free(l->m[i]);
	free(l->m);
	*l = (struct msgs){};
}

/* -ENOENT (not logged) if the image is absent. */
int msgs_load(struct img_dir *dir, enum img_type type, uint64_t id, struct msgs *ret)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	struct msgs l = {};
	int r;

	r = img_open(dir, type, id, &f);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};
		struct ProtobufCMessage **m;

		r = img_next(f, &e);
		if (r <= 0)
			break;
		m = realloc(l.m, (l.n + 1) * sizeof(*m));
		if (!m) {
			r = -ENOMEM;
			break;
		}
		l.m = m;
		l.m[l.n++] = img_entry_take_msg(&e);
	}
	if (r < 0) {
		msgs_clear(&l);
		return r;
	}
	l.loaded = true;
	*ret = l;
	return 0;
}
