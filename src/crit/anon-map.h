/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pseudonyms for `stasis image anonymize` (see docs/crit.md): each table
 * gives the same replacement for the same original, numbered in order of
 * first appearance, so that relations between images survive.
 *
 *   paths        each component becomes "f<N>", keyed by its full original
 *                prefix: "/home/ann/x" and "/home/ann/y" become "/f1/f2/f3"
 *                and "/f1/f2/f4". A few system paths (/, /dev/null, /proc
 *                ...) stay as they are; their children are still renamed.
 *   task names   "task<N>" (fits in the 16 bytes of a comm)
 *   other names  "name<N>" (host names, memfd names, mount sources ...)
 *   IPv4         10.0.0.0/8 by number; 0.0.0.0 and 127/8 kept
 *   IPv6         fd00::<N> (unique local); :: and ::1 kept, and the IPv4
 *                part of ::ffff:a.b.c.d mapped as IPv4
 *
 * Functions return 0 or -ENOMEM; results are malloc'ed.
 */

#include <stddef.h>
#include <stdint.h>

struct anon_map;

enum anon_name_kind {
	ANON_TASK,
	ANON_NAME,
};

int anon_map_new(struct anon_map **ret_map);
void anon_map_free(struct anon_map *m);
static inline void anon_map_freep(struct anon_map **m)
{
	if (*m)
		anon_map_free(*m);
}
#define _cleanup_anon_map_ __attribute__((cleanup(anon_map_freep)))

int anon_path(struct anon_map *m, const char *path, char **ret_path);
int anon_name(struct anon_map *m, enum anon_name_kind kind, const char *name, char **ret_name);
/*
 * A unix socket name: a path (as anon_path), or an abstract name (leading
 * NUL) that becomes NUL + "name<N>". Empty names stay empty.
 */
int anon_unix_name(struct anon_map *m, const uint8_t *name, size_t len, uint8_t **ret_name,
		   size_t *ret_len);
/* An address in network byte order, replaced in place. */
int anon_ipv4(struct anon_map *m, uint8_t addr[4]);
int anon_ipv6(struct anon_map *m, uint8_t addr[16]);
