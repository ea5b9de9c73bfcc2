/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How crit renders each field: the (criu).* options of the schemas (see
 * render-table.h) resolved into the tables of pycriu's pb2dict.py (flag
 * names, value names, bytes conversions), cached per message type.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "crit/render-table.h"

struct crit_flag_bit {
	const char *name;
	uint64_t value;
};

/* A (criu).flags table: "mmap.prot", "rfile.flags" ... */
struct crit_flag_map {
	const char *name;
	const struct crit_flag_bit *bits;
	size_t n_bits;
};

struct crit_dict_value {
	int64_t value;
	const char *name;
};

/* A (criu).dict table is per field name: dict "sk", field "state" ... */
struct crit_dict_field {
	const char *dict;
	const char *field;
	const struct crit_dict_value *values;
	size_t n_values;
};

enum crit_conv {
	CRIT_CONV_BASE64,    /* bytes as base64 with a newline every 76 chars (the default) */
	CRIT_CONV_UNIX_NAME, /* quoted-printable (unix socket names) */
};

struct crit_field_opts {
	uint8_t bits;                       /* CRIT_R_* */
	bool flags_hex;                     /* flags table unknown to crit: shown in hex */
	const struct crit_flag_map *flags;  /* NULL if none */
	const struct crit_dict_field *dict; /* NULL if none (or the field is not in the dict) */
	enum crit_conv conv;
};

const struct crit_flag_map *crit_flag_map_find(const char *name);
const struct crit_dict_field *crit_dict_find(const char *dict, const char *field);
const char *crit_dict_name(const struct crit_dict_field *d, int64_t value);
bool crit_dict_value(const struct crit_dict_field *d, const char *name, size_t len,
		     int64_t *ret_value);

/*
 * "A | B | 0x40" as pb2dict's map_flags(): names of the set bits in table
 * order, then the remaining bits in hex; "" for 0. Returns the length, or
 * -ENOBUFS if size is too small.
 */
int crit_flags_format(const struct crit_flag_map *m, uint64_t value, char *buf, size_t size);
/*
 * The inverse (pb2dict's unmap_flags): "" is 0; each "|"-separated item is
 * a name of the table or an integer in Python's int(x, 0) syntax; the
 * items are added up. -EINVAL if an item is neither.
 */
int crit_flags_parse(const struct crit_flag_map *m, const char *s, size_t len, uint64_t *ret_value);

/*
 * Python's int(s, 0): optional sign, 0x/0o/0b prefixes, underscores between
 * digits, surrounding whitespace. Gives the magnitude and the sign; -EINVAL
 * for bad syntax, -ERANGE if the magnitude exceeds 64 bits.
 */
int crit_parse_pyint(const char *s, size_t len, bool *ret_negative, uint64_t *ret_magnitude);

/* "major:minor" of a device number (odev: glibc's old encoding). */
void crit_dev_format(uint64_t dev, bool odev, char *buf, size_t size);
int crit_dev_parse(const char *s, size_t len, bool odev, uint64_t *ret_dev);

/* Cache of resolved options, per message type. */
struct crit_render;

int crit_render_new(struct crit_render **ret_render);
void crit_render_free(struct crit_render *r);

/*
 * The options of every field of desc, indexed like desc->fields; *ret_opts
 * is NULL if no field of desc has options. -ENOMEM only.
 */
int crit_render_lookup(struct crit_render *r, const ProtobufCMessageDescriptor *desc,
		       const struct crit_field_opts **ret_opts);
