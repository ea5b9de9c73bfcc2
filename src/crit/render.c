/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per message type, the resolved rendering options of its fields. The
 * generated table is keyed by names; a decode touches the same few types
 * many times (65,000 pagemap entries), so the resolution is cached by
 * descriptor pointer in a small open-addressing hash table.
 */
#include <stdlib.h>

#include "base/macro.h"
#include "crit/render.h"

struct cache_slot {
	const ProtobufCMessageDescriptor *desc; /* NULL: free slot */
	struct crit_field_opts *opts;           /* NULL: the type has no options */
};

struct crit_render {
	struct cache_slot *slots;
	size_t n_slots; /* a power of two */
	size_t used;
};

int crit_render_new(struct crit_render **ret_render)
{
	struct crit_render *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->n_slots = 64;
	r->slots = calloc(r->n_slots, sizeof(*r->slots));
	if (!r->slots) {
		free(r);
		return -ENOMEM;
	}
	*ret_render = r;
	return 0;
}

void crit_render_free(struct crit_render *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_slots; i++)
		free(r->slots[i].opts);
	free(r->slots);
	free(r);
}

static int cmp_msg_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct crit_render_msg *)elem)->name);
}

static const struct crit_render_msg *table_find(const char *name)
{
	return bsearch(name, crit_render_msgs, crit_render_msgs_count, sizeof(crit_render_msgs[0]),
		       cmp_msg_name);
}

static void resolve_field(const struct crit_render_field *rf, struct crit_field_opts *o)
{
	o->bits = rf->bits;
	if (rf->flags) {
		o->flags = crit_flag_map_find(rf->flags);
		/* crit shows flags whose table it does not know in hex */
		o->flags_hex = !o->flags;
	}
	if (rf->dict)
		o->dict = crit_dict_find(rf->dict, rf->name);
	if (rf->conv && streq(rf->conv, "unix_name"))
		o->conv = CRIT_CONV_UNIX_NAME;
}

/* Build the options array of desc; *ret is NULL if no field has options. */
static int resolve(const ProtobufCMessageDescriptor *desc, struct crit_field_opts **ret)
{
	const struct crit_render_msg *m = table_find(desc->name);
	struct crit_field_opts *opts;

	*ret = NULL;
	if (!m || desc->n_fields == 0)
		return 0;
	opts = calloc(desc->n_fields, sizeof(*opts));
	if (!opts)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_fields; i++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(desc, m->fields[i].name);

		/* The table is generated from the same schemas: a miss is a build bug. */
		if (f)
			resolve_field(&m->fields[i], &opts[f - desc->fields]);
	}
	*ret = opts;
	return 0;
}

static size_t slot_of(const struct crit_render *r, const void *desc)
{
	uintptr_t h = (uintptr_t)desc;

	h ^= h >> 17;
	h *= 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 7) & (r->n_slots - 1);
}

static int grow(struct crit_render *r)
{
	struct cache_slot *old = r->slots;
	size_t old_n = r->n_slots;

	r->slots = calloc(old_n * 2, sizeof(*r->slots));
	if (!r->slots) {
		r->slots = old;
		return -ENOMEM;
	}
	r->n_slots = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		size_t j;

		if (!old[i].desc)
			continue;
		for (j = slot_of(r, old[i].desc); r->slots[j].desc; j = (j + 1) & (r->n_slots - 1))
			;
		r->slots[j] = old[i];
	}
	free(old);
	return 0;
}

int crit_render_lookup(struct crit_render *r, const ProtobufCMessageDescriptor *desc,
		       const struct crit_field_opts **ret_opts)
{
	struct crit_field_opts *opts;
	size_t i;
	int ret;

	for (i = slot_of(r, desc); r->slots[i].desc; i = (i + 1) & (r->n_slots - 1))
		if (r->slots[i].desc == desc) {
			*ret_opts = r->slots[i].opts;
			return 0;
		}
	if (2 * (r->used + 1) > r->n_slots) {
		ret = grow(r);
		if (ret < 0)
			return ret;
		for (i = slot_of(r, desc); r->slots[i].desc; i = (i + 1) & (r->n_slots - 1))
			;
	}
	ret = resolve(desc, &opts);
	if (ret < 0)
		return ret;
	r->slots[i].desc = desc;
	r->slots[i].opts = opts;
	r->used++;
	*ret_opts = opts;
	return 0;
}
