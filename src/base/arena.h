/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A bump allocator for objects that live and die together, such as the
 * nested protobuf messages of one image entry: allocate freely, free once.
 */

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
};

/* Zeroed memory, aligned for any type; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
/* n elements of size bytes; NULL on overflow or out of memory. */
void *arena_array(struct arena *a, size_t n, size_t size);
char *arena_strdup(struct arena *a, const char *s);
void arena_free(struct arena *a);

static inline void arena_freep(struct arena *a)
{
	arena_free(a);
}
#define _cleanup_arena_ __attribute__((cleanup(arena_freep)))

/* Allocate and initialise a protobuf-c message: ARENA_MSG(&a, CoreEntry, CORE_ENTRY__INIT). */
#define ARENA_MSG(a, type, init)                           \
	({                                                 \
		type *_m = arena_alloc((a), sizeof(type)); \
		if (_m)                                    \
			*_m = (type)init;                  \
		_m;                                        \
	})
