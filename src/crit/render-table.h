/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The (criu).* field options of the image schemas, as written in the .proto
 * files. render-table.c is generated at build time by gen-render-table.py;
 * render.c turns these names into tables (flags, dicts, conversions).
 */

#include <stddef.h>
#include <stdint.h>

enum {
	CRIT_R_HEX = 1 << 0,   /* (criu).hex: "0x..." in pretty mode, for the subtree too */
	CRIT_R_IPADD = 1 << 1, /* (criu).ipadd: repeated uint32 shown as an IPv4/IPv6 address */
	CRIT_R_DEV = 1 << 2,   /* (criu).dev: "major:minor" (kernel encoding) */
	CRIT_R_ODEV = 1 << 3,  /* (criu).odev: ... in the old (glibc) encoding */
};

struct crit_render_field {
	const char *name;  /* field name */
	uint8_t bits;      /* CRIT_R_* */
	const char *flags; /* (criu).flags: name of a flag table, or NULL */
	const char *dict;  /* (criu).dict: name of a value table, or NULL */
	const char *conv;  /* (criu).conv: name of a bytes conversion, or NULL */
};

struct crit_render_msg {
	const char *name; /* full message name, as ProtobufCMessageDescriptor.name */
	const struct crit_render_field *fields;
	size_t n_fields;
};

/* Sorted by name. */
extern const struct crit_render_msg crit_render_msgs[];
extern const size_t crit_render_msgs_count;
