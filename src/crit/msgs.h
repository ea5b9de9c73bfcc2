/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"

struct ProtobufCMessage;

/* All the messages of one image. */
struct msgs {
	struct ProtobufCMessage **m;
	size_t n;
	bool loaded;
};

void msgs_clear(struct msgs *l);
/* -ENOENT (not logged) if the image is absent. */
int msgs_load(struct img_dir *dir, enum img_type type, uint64_t id, struct msgs *ret);
