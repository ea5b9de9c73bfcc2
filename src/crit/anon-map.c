/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pseudonym tables of `stasis image anonymize`: an open-addressing hash of originals. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "crit/anon-map.h"

enum table {
	T_PATH,
	T_TASK,
	T_NAME,
	T_IPV4,
	T_IPV6,
	T_MAX,
};

struct slot {
	uint8_t *key; /* table number, then the original bytes; NULL if free */
	size_t len;
	uint32_t id;
};

struct anon_map {
	struct slot *slots;
	size_t size, used; /* size is a power of two */
	uint32_t next_id[T_MAX];
};

/* Paths kept as they are: standard places that tell nothing about the user. */
static const char *const kept_paths[] = {
	"/",           "/dev",         "/dev/null", "/dev/zero", "/dev/full",
	"/dev/random", "/dev/urandom", "/dev/tty",  "/dev/ptmx", "/dev/pts",
	"/dev/shm",    "/proc",        "/sys",      "/tmp",      "/run",
	"/var",        "/var/tmp",
};

int anon_map_new(struct anon_map **ret_map)
{
	struct anon_map *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->size = 256;
	m->slots = calloc(m->size, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return -ENOMEM;
	}
	*ret_map = m;
	return 0;
}

void anon_map_free(struct anon_map *m)
{
	for (size_t i = 0; i < m->size; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static uint64_t hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static struct slot *find_slot(struct slot *slots, size_t size, const uint8_t *key, size_t len)
{
	size_t i = hash(key, len) & (size - 1);

	while (slots[i].key && (slots[i].len != len || memcmp(slots[i].key, key, len)))
		i = (i + 1) & (size - 1);
	return &slots[i];
}

static int grow(struct anon_map *m)
{
	size_t size = m->size * 2;
	struct slot *slots = calloc(size, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->size; i++)
		if (m->slots[i].key)
			*find_slot(slots, size, m->slots[i].key, m->slots[i].len) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->size = size;
	return 0;
}

/* The number of an original in its table (1, 2 ... in order of first appearance). */
static int lookup(struct anon_map *m, enum table t, const void *orig, size_t len, uint32_t *ret_id)
{
	_cleanup_free_ uint8_t *key = malloc(len + 1);
	struct slot *s;
	int r;

	if (!key)
		return -ENOMEM;
	key[0] = (uint8_t)t;
	memcpy(key + 1, orig, len);
	s = find_slot(m->slots, m->size, key, len + 1);
	if (!s->key) {
		if (2 * (m->used + 1) > m->size) {
			r = grow(m);
			if (r < 0)
				return r;
			s = find_slot(m->slots, m->size, key, len + 1);
		}
		*s = (struct slot){.key = TAKE_PTR(key), .len = len + 1, .id = ++m->next_id[t]};
		m->used++;
	}
	*ret_id = s->id;
	return 0;
}

static bool path_kept(const char *prefix, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(kept_paths); i++)
		if (strlen(kept_paths[i]) == len && !memcmp(kept_paths[i], prefix, len))
			return true;
	return false;
}

int anon_path(struct anon_map *m, const char *path, char **ret_path)
{
	size_t len = strlen(path), out_len = 0, i = 0;
	/* "f" and 10 digits per component at most, or the component itself */
	_cleanup_free_ char *out = malloc(len * 11 + 2);
	int r;

	if (!out)
		return -ENOMEM;
	while (i <= len) {
		size_t end = i;

		while (end < len && path[end] != '/')
			end++;
		if (end == i || path_kept(path, end) || (end - i == 1 && path[i] == '.') ||
		    (end - i == 2 && path[i] == '.' && path[i + 1] == '.')) {
			memcpy(out + out_len, path + i, end - i);
			out_len += end - i;
		} else {
			uint32_t id;

			r = lookup(m, T_PATH, path, end, &id);
			if (r < 0)
				return r;
			out_len += sprintf(out + out_len, "f%u", id);
		}
		if (end < len)
			out[out_len++] = '/';
		i = end + 1;
	}
	out[out_len] = '\0';
	*ret_path = TAKE_PTR(out);
	return 0;
}

int anon_name(struct anon_map *m, enum anon_name_kind kind, const char *name, char **ret_name)
{
	uint32_t id;
	char *s;
	int r;

	r = lookup(m, kind == ANON_TASK ? T_TASK : T_NAME, name, strlen(name), &id);
	if (r < 0)
		return r;
	if (asprintf(&s, "%s%u", kind == ANON_TASK ? "task" : "name", id) < 0)
		return -ENOMEM;
	*ret_name = s;
	return 0;
}

int anon_unix_name(struct anon_map *m, const uint8_t *name, size_t len, uint8_t **ret_name,
		   size_t *ret_len)
{
	_cleanup_free_ char *orig = NULL, *pseudo = NULL;
	bool abstract = len > 0 && name[0] == '\0';
	uint8_t *out;
	size_t n;
	int r;

	orig = strndup((const char *)name + abstract, len - abstract);
	if (!orig)
		return -ENOMEM;
	if (len == 0)
		pseudo = strdup("");
	if (len == 0 && !pseudo)
		return -ENOMEM;
	r = len == 0   ? 0
	    : abstract ? anon_name(m, ANON_NAME, orig, &pseudo)
		       : anon_path(m, orig, &pseudo);
	if (r < 0)
		return r;
	n = strlen(pseudo) + abstract;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	out[0] = '\0';
	memcpy(out + abstract, pseudo, n - abstract + 1);
	*ret_name = out;
	*ret_len = n;
	return 0;
}

int anon_ipv4(struct anon_map *m, uint8_t addr[4])
{
	static const uint8_t any[4];
	uint32_t id;
	int r;

	if (!memcmp(addr, any, 4) || addr[0] == 127)
		return 0;
	r = lookup(m, T_IPV4, addr, 4, &id);
	if (r < 0)
		return r;
	addr[0] = 10, addr[1] = (uint8_t)(id >> 16), addr[2] = (uint8_t)(id >> 8);
	addr[3] = (uint8_t)id;
	return 0;
}

int anon_ipv6(struct anon_map *m, uint8_t addr[16])
{
	static const uint8_t any[16], loopback[16] = {[15] = 1};
	static const uint8_t v4mapped[12] = {[10] = 0xff, [11] = 0xff};
	uint32_t id;
	int r;

	if (!memcmp(addr, any, 16) || !memcmp(addr, loopback, 16))
		return 0;
	if (!memcmp(addr, v4mapped, 12))
		return anon_ipv4(m, addr + 12);
	r = lookup(m, T_IPV6, addr, 16, &id);
	if (r < 0)
		return r;
	memset(addr, 0, 16);
	addr[0] = 0xfd;
	addr[12] = (uint8_t)(id >> 24), addr[13] = (uint8_t)(id >> 16);
	addr[14] = (uint8_t)(id >> 8), addr[15] = (uint8_t)id;
	return 0;
}
