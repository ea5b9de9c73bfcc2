/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The value tables of CRIU 4.2's pycriu/images/pb2dict.py (flags_maps,
 * gen_maps, sk_maps) and the conversions that use them.
 */
#include <ctype.h>
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "base/macro.h"
#include "crit/render.h"

#define BITS(table) table, ELEMENTSOF(table)

static const struct crit_flag_bit mmap_prot[] = {
	{"PROT_READ", 0x1},
	{"PROT_WRITE", 0x2},
	{"PROT_EXEC", 0x4},
};

static const struct crit_flag_bit mmap_flags[] = {
	{"MAP_SHARED", 0x1}, {"MAP_PRIVATE", 0x2},      {"MAP_DROPPABLE", 0x08},
	{"MAP_ANON", 0x20},  {"MAP_GROWSDOWN", 0x0100},
};

/* VMA_AREA_NONE (0) is in crit's table too but can never match a bit. */
static const struct crit_flag_bit mmap_status[] = {
	{"VMA_AREA_NONE", 0},           {"VMA_AREA_REGULAR", 1u << 0},
	{"VMA_AREA_STACK", 1u << 1},    {"VMA_AREA_VSYSCALL", 1u << 2},
	{"VMA_AREA_VDSO", 1u << 3},     {"VMA_AREA_HEAP", 1u << 5},
	{"VMA_FILE_PRIVATE", 1u << 6},  {"VMA_FILE_SHARED", 1u << 7},
	{"VMA_ANON_SHARED", 1u << 8},   {"VMA_ANON_PRIVATE", 1u << 9},
	{"VMA_AREA_SYSVIPC", 1u << 10}, {"VMA_AREA_SOCKET", 1u << 11},
	{"VMA_AREA_VVAR", 1u << 12},    {"VMA_AREA_AIORING", 1u << 13},
	{"VMA_AREA_MEMFD", 1u << 14},   {"VMA_AREA_SHSTK", 1u << 15},
	{"VMA_AREA_UPROBES", 1u << 17}, {"VMA_UNSUPP", 1u << 31},
};

static const struct crit_flag_bit rfile_flags[] = {
	{"O_WRONLY", 00000001},    {"O_RDWR", 00000002},     {"O_CREAT", 00000100},
	{"O_EXCL", 00000200},      {"O_NOCTTY", 00000400},   {"O_TRUNC", 00001000},
	{"O_APPEND", 00002000},    {"O_NONBLOCK", 00004000}, {"O_DSYNC", 00010000},
	{"FASYNC", 00020000},      {"O_DIRECT", 00040000},   {"O_LARGEFILE", 00100000},
	{"O_DIRECTORY", 00200000}, {"O_NOFOLLOW", 00400000}, {"O_NOATIME", 01000000},
	{"O_CLOEXEC", 02000000},
};

static const struct crit_flag_bit seals_flags[] = {
	{"F_SEAL_SEAL", 0x0001},  {"F_SEAL_SHRINK", 0x0002},       {"F_SEAL_GROW", 0x0004},
	{"F_SEAL_WRITE", 0x0008}, {"F_SEAL_FUTURE_WRITE", 0x0010},
};

static const struct crit_flag_bit pmap_flags[] = {
	{"PE_PARENT", 1u << 0},
	{"PE_LAZY", 1u << 1},
	{"PE_PRESENT", 1u << 2},
};

static const struct crit_flag_map flag_maps[] = {
	{"mmap.prot", BITS(mmap_prot)},     {"mmap.flags", BITS(mmap_flags)},
	{"mmap.status", BITS(mmap_status)}, {"rfile.flags", BITS(rfile_flags)},
	{"pmap.flags", BITS(pmap_flags)},   {"seals.flags", BITS(seals_flags)},
};

/* compel's task states (CRIU 4.2 fixed crit's older, swapped table). */
static const struct crit_dict_value gen_task_state[] = {
	{1, "Alive"},
	{2, "Dead"},
	{3, "Stopped"},
	{6, "Zombie"},
};

static const struct crit_dict_value sk_family[] = {
	{1, "UNIX"}, {2, "INET"}, {10, "INET6"}, {16, "NETLINK"}, {17, "PACKET"},
};

static const struct crit_dict_value sk_type[] = {
	{1, "STREAM"}, {2, "DGRAM"}, {3, "RAW"}, {5, "SEQPACKET"}, {10, "PACKET"},
};

static const struct crit_dict_value sk_state[] = {
	{1, "ESTABLISHED"}, {2, "SYN_SENT"}, {3, "SYN_RECV"},   {4, "FIN_WAIT1"}, {5, "FIN_WAIT2"},
	{6, "TIME_WAIT"},   {7, "CLOSE"},    {8, "CLOSE_WAIT"}, {9, "LAST_ACK"},  {10, "LISTEN"},
};

static const struct crit_dict_value sk_proto[] = {
	{0, "IP"},
	{6, "TCP"},
	{17, "UDP"},
	{136, "UDPLITE"},
};

static const struct crit_dict_field dicts[] = {
	{"gen", "task_state", BITS(gen_task_state)},
	{"sk", "family", BITS(sk_family)},
	{"sk", "type", BITS(sk_type)},
	{"sk", "state", BITS(sk_state)},
	{"sk", "proto", BITS(sk_proto)},
};

const struct crit_flag_map *crit_flag_map_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(flag_maps); i++)
		if (streq(flag_maps[i].name, name))
			return &flag_maps[i];
	return NULL;
}

const struct crit_dict_field *crit_dict_find(const char *dict, const char *field)
{
	for (size_t i = 0; i < ELEMENTSOF(dicts); i++)
		if (streq(dicts[i].dict, dict) && streq(dicts[i].field, field))
			return &dicts[i];
	return NULL;
}

const char *crit_dict_name(const struct crit_dict_field *d, int64_t value)
{
	for (size_t i = 0; i < d->n_values; i++)
		if (d->values[i].value == value)
			return d->values[i].name;
	return NULL;
}

bool crit_dict_value(const struct crit_dict_field *d, const char *name, size_t len,
		     int64_t *ret_value)
{
	for (size_t i = 0; i < d->n_values; i++)
		if (strlen(d->values[i].name) == len && !memcmp(d->values[i].name, name, len)) {
			*ret_value = d->values[i].value;
			return true;
		}
	return false;
}

int crit_flags_format(const struct crit_flag_map *m, uint64_t value, char *buf, size_t size)
{
	uint64_t known = 0;
	size_t len = 0;
	int n;

	if (size == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	for (size_t i = 0; i < m->n_bits; i++) {
		size_t name_len = strlen(m->bits[i].name), sep = len ? 3 : 0;

		known |= m->bits[i].value;
		if (!(value & m->bits[i].value))
			continue;
		if (len + sep + name_len >= size)
			return -ENOBUFS;
		memcpy(buf + len, " | ", sep);
		memcpy(buf + len + sep, m->bits[i].name, name_len + 1);
		len += sep + name_len;
	}
	value &= ~known;
	if (value) {
		n = snprintf(buf + len, size - len, "%s0x%" PRIx64, len ? " | " : "", value);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOBUFS;
		len += n;
	}
	return (int)len;
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	return 99;
}

/* base 0: Python's int(s, 0); base 10: int(s) (leading zeros allowed). */
static int parse_int(const char *s, size_t len, unsigned base, bool *ret_negative,
		     uint64_t *ret_magnitude)
{
	bool negative = false, prev_digit = false;
	uint64_t v = 0;
	size_t ndigits = 0;

	trim(&s, &len);
	if (len && (*s == '+' || *s == '-')) {
		negative = *s == '-';
		s++;
		len--;
	}
	if (base == 0 && len >= 2 && s[0] == '0' && strchr("xXoObB", s[1])) {
		base = strchr("xX", s[1]) ? 16 : strchr("oO", s[1]) ? 8 : 2;
		s += 2;
		len -= 2;
		prev_digit = true; /* "0x_1f" is valid */
	} else if (base == 0) {
		base = 10;
		/* int("012", 0) is refused, int("00", 0) is not */
		if (len && s[0] == '0')
			for (size_t i = 0; i < len; i++)
				if (s[i] != '0' && s[i] != '_')
					return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		int d;

		if (s[i] == '_') {
			if (!prev_digit || i + 1 == len)
				return -EINVAL;
			prev_digit = false;
			continue;
		}
		d = digit_value(s[i]);
		if (d >= (int)base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		prev_digit = true;
		ndigits++;
	}
	if (!ndigits)
		return -EINVAL;
	*ret_negative = negative;
	*ret_magnitude = v;
	return 0;
}

int crit_parse_pyint(const char *s, size_t len, bool *ret_negative, uint64_t *ret_magnitude)
{
	return parse_int(s, len, 0, ret_negative, ret_magnitude);
}

static const struct crit_flag_bit *flag_by_name(const struct crit_flag_map *m, const char *s,
						size_t len)
{
	for (size_t i = 0; i < m->n_bits; i++)
		if (strlen(m->bits[i].name) == len && !memcmp(m->bits[i].name, s, len))
			return &m->bits[i];
	return NULL;
}

int crit_flags_parse(const struct crit_flag_map *m, const char *s, size_t len, uint64_t *ret_value)
{
	uint64_t sum = 0;

	if (len == 0) {
		*ret_value = 0;
		return 0;
	}
	for (;;) {
		const char *bar = memchr(s, '|', len);
		size_t seg_len = bar ? (size_t)(bar - s) : len;
		const char *item = s;
		size_t item_len = seg_len;
		const struct crit_flag_bit *bit;
		bool negative;
		uint64_t v;
		int r;

		trim(&item, &item_len);
		bit = flag_by_name(m, item, item_len);
		if (bit) {
			v = bit->value;
		} else {
			r = crit_parse_pyint(item, item_len, &negative, &v);
			if (r < 0)
				return r;
			if (negative && v)
				return -EINVAL;
		}
		sum += v;
		if (!bar)
			break;
		s += seg_len + 1;
		len -= seg_len + 1;
	}
	*ret_value = sum;
	return 0;
}

/* pb2dict: kern_minorbits = 20 for the kernel's encoding. */
#define KERN_MINORBITS 20

void crit_dev_format(uint64_t dev, bool odev, char *buf, size_t size)
{
	if (odev)
		snprintf(buf, size, "%u:%u", major(dev), minor(dev));
	else
		snprintf(buf, size, "%" PRIu64 ":%" PRIu64, dev >> KERN_MINORBITS,
			 dev & ((1u << KERN_MINORBITS) - 1));
}

static int parse_decimal(const char *s, size_t len, uint64_t *ret)
{
	bool negative;
	uint64_t v;
	int r;

	r = parse_int(s, len, 10, &negative, &v);
	if (r < 0)
		return r;
	if (negative && v)
		return -EINVAL;
	*ret = v;
	return 0;
}

int crit_dev_parse(const char *s, size_t len, bool odev, uint64_t *ret_dev)
{
	const char *colon = memchr(s, ':', len);
	uint64_t maj, min;
	int r;

	if (!colon || memchr(colon + 1, ':', len - (colon - s) - 1))
		return -EINVAL;
	r = parse_decimal(s, colon - s, &maj);
	if (r < 0)
		return r;
	r = parse_decimal(colon + 1, len - (colon - s) - 1, &min);
	if (r < 0)
		return r;
	if (odev) {
		if (maj > UINT32_MAX || min > UINT32_MAX)
			return -ERANGE;
		*ret_dev = makedev(maj, min);
	} else {
		if (min >= (1u << KERN_MINORBITS) || maj > (UINT64_MAX >> KERN_MINORBITS))
			return -ERANGE;
		*ret_dev = maj << KERN_MINORBITS | min;
	}
	return 0;
}
