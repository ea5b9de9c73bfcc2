/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The open file descriptions dumped so far, found again from another fd (of
 * the same process, or of another one: a file opened before a fork).
 *
 * Descriptions are grouped by a cheap key (struct dump_desc: inode, position,
 * flags, kind id) in a hash table; only fds of one group can share a
 * description, and kcmp(KCMP_FILE) tells which. kcmp() also orders two files
 * (by their kernel addresses, scrambled the same way for every call), so a
 * group is kept in that order and searched by halves: log2(n) calls for an
 * fd, not n, when many descriptions share a key. They do on anonymous inodes
 * without an id in their fdinfo: every timerfd, signalfd or epoll of a
 * process with the same flags is one group.
 */
#include <linux/kcmp.h>

#include "compat/syscalls.h"
#include "dump/internal.h"

/* The descriptions of one key, as indexes in dump_shared.descs, in kcmp() order. */
struct desc_group {
	uint32_t *members;
	uint32_t n, cap;
	bool unordered; /* kcmp() gave no order once: searched one by one */
	uint32_t next;  /* 1 + index of the next group of its bucket, 0 if none */
};

struct dump_desc_index {
	struct desc_group *groups;
	size_t n, cap;
	uint32_t *heads; /* per bucket: 1 + index of its first group, 0 if none */
	size_t buckets;
};

static uint64_t desc_hash(const struct dump_desc *d)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint64_t parts[] = {(uint64_t)d->dev, (uint64_t)d->ino, (uint64_t)d->pos, d->flags,
				  d->kind_id};

	for (size_t i = 0; i < ELEMENTSOF(parts); i++)
		h = (h ^ parts[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static bool same_key(const struct dump_desc *a, const struct dump_desc *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->pos == b->pos && a->flags == b->flags &&
	       a->kind_id == b->kind_id;
}

static const struct dump_desc *first_of(const struct dump_shared *sh, const struct desc_group *g)
{
	return &sh->descs[g->members[0]];
}

/* 1 + index of the group of d's key, or 0. */
static uint32_t find_group(const struct dump_shared *sh, const struct dump_desc *d)
{
	const struct dump_desc_index *x = sh->files.desc_index;

	if (!x || !x->buckets)
		return 0;
	for (uint32_t g = x->heads[desc_hash(d) % x->buckets]; g; g = x->groups[g - 1].next)
		if (same_key(first_of(sh, &x->groups[g - 1]), d))
			return g;
	return 0;
}

/* kcmp() of o's file and d's: 0 the same, 1 o's first, 2 d's first, else no order. */
static long order(struct dump_shared *sh, const struct dump_desc *o, const struct dump_desc *d)
{
	sh->kcmp_calls++;
	return sys_kcmp(o->pid, d->pid, KCMP_FILE, (unsigned long)o->fd, (unsigned long)d->fd);
}

/* Where d is, or goes, in g: *ret_at, and whether it is there. */
static bool search_group(struct dump_shared *sh, struct desc_group *g, const struct dump_desc *d,
			 uint32_t *ret_at)
{
	uint32_t lo = 0, hi = g->n;

	while (!g->unordered && lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		long k = order(sh, &sh->descs[g->members[mid]], d);

		if (k == 0) {
			*ret_at = mid;
			return true;
		}
		if (k == 1)
			lo = mid + 1;
		else if (k == 2)
			hi = mid;
		else
			g->unordered = true;
	}
	for (uint32_t i = 0; g->unordered && i < g->n; i++)
		if (order(sh, &sh->descs[g->members[i]], d) == 0) {
			*ret_at = i;
			return true;
		}
	*ret_at = g->unordered ? g->n : lo;
	return false;
}

uint32_t dump_desc_find(struct dump_shared *sh, const struct dump_desc *d,
			enum dump_desc_seen *ret_seen, struct dump_desc_slot *ret_slot)
{
	uint32_t g = find_group(sh, d), at = 0;
	const struct dump_desc *o;

	*ret_slot = (struct dump_desc_slot){.group = g};
	if (!g)
		return 0;
	if (!search_group(sh, &sh->files.desc_index->groups[g - 1], d, &at)) {
		ret_slot->at = at;
		return 0;
	}
	o = &sh->descs[sh->files.desc_index->groups[g - 1].members[at]];
	*ret_seen = o->pid == d->pid ? DESC_SEEN_HERE : DESC_SEEN_ELSEWHERE;
	return o->id;
}

static int grow_buckets(struct dump_shared *sh, struct dump_desc_index *x)
{
	size_t buckets = x->buckets ? x->buckets * 2 : 1024;
	uint32_t *heads = calloc(buckets, sizeof(*heads));

	if (!heads)
		return -ENOMEM;
	free(x->heads);
	x->heads = heads;
	x->buckets = buckets;
	for (size_t i = 0; i < x->n; i++) {
		uint32_t *head = &heads[desc_hash(first_of(sh, &x->groups[i])) % buckets];

		x->groups[i].next = *head;
		*head = (uint32_t)i + 1;
	}
	return 0;
}

/* A new group for the description at index i of sh->descs. */
static int new_group(struct dump_shared *sh, uint32_t i)
{
	struct dump_desc_index *x = sh->files.desc_index;
	struct desc_group *g;
	uint32_t *head;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;

		g = reallocarray(x->groups, cap, sizeof(*g));
		if (!g)
			return -ENOMEM;
		x->groups = g;
		x->cap = cap;
	}
	g = &x->groups[x->n];
	*g = (struct desc_group){.members = malloc(sizeof(*g->members)), .cap = 1};
	if (!g->members)
		return -ENOMEM;
	x->n++;
	g->members[g->n++] = i;
	if (x->n > x->buckets)
		return grow_buckets(sh, x); /* which links the new group too */
	head = &x->heads[desc_hash(&sh->descs[i]) % x->buckets];
	g->next = *head;
	*head = (uint32_t)x->n;
	return 0;
}

static int join_group(struct desc_group *g, uint32_t at, uint32_t i)
{
	if (g->n == g->cap) {
		uint32_t *m = reallocarray(g->members, g->cap * 2, sizeof(*m));

		if (!m)
			return -ENOMEM;
		g->members = m;
		g->cap *= 2;
	}
	memmove(g->members + at + 1, g->members + at, (g->n - at) * sizeof(*g->members));
	g->members[at] = i;
	g->n++;
	return 0;
}

int dump_desc_add(struct dump_shared *sh, const struct dump_desc *d,
		  const struct dump_desc_slot *slot)
{
	uint32_t i;

	if (!sh->files.desc_index &&
	    !(sh->files.desc_index = calloc(1, sizeof(struct dump_desc_index))))
		return -ENOMEM;
	if (sh->ndescs == sh->descs_cap) {
		size_t cap = sh->descs_cap ? sh->descs_cap * 2 : 256;
		struct dump_desc *n = reallocarray(sh->descs, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		sh->descs = n;
		sh->descs_cap = cap;
	}
	i = (uint32_t)sh->ndescs;
	sh->descs[sh->ndescs++] = *d;
	if (!slot->group)
		return new_group(sh, i);
	return join_group(&sh->files.desc_index->groups[slot->group - 1], slot->at, i);
}

void dump_desc_index_free(struct dump_desc_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->groups[i].members);
	free(x->groups);
	free(x->heads);
	free(x);
}
