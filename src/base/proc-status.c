/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/status: "Key:\tvalue" lines. The kernel prints them in a fixed
 * order, so the key table is in that order and each lookup starts after the
 * previous match: one comparison per line in the common case.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

#define NGROUPS_LIMIT 65536 /* NGROUPS_MAX of the kernel */

enum value_kind { V_DEC32, V_PID, V_OCT32, V_HEX64, V_HEX64_0X, V_FUNC };

typedef int (*value_parser)(const char *v, const char *end, struct proc_status *st);

struct status_key {
	const char *key;
	unsigned char len;
	unsigned char line; /* enum proc_status_line */
	unsigned char kind;
	unsigned short offset;
	value_parser parse;
};

/* Only blanks may remain before the end of the line. */
static int at_end(const char *p, const char *end)
{
	return proc_skip_blanks(p) == end ? 0 : -EINVAL;
}

static int unescape_char(char c)
{
	static const char from[] = "ntrfvae\\\"", to[] = "\n\t\r\f\v\a\033\\\"";
	const char *s = c ? strchr(from, c) : NULL;

	return s ? to[s - from] : -1;
}

/* The kernel escapes '\n' and '\\' in Name (older kernels more: take them all). */
static int parse_name(const char *v, const char *end, struct proc_status *st)
{
	size_t n = 0;
	int c;

	for (const char *p = v; p < end; p++) {
		c = (unsigned char)*p;
		if (c == '\\' && p + 1 < end && unescape_char(p[1]) >= 0)
			c = unescape_char(*++p);
		if (n + 1 >= sizeof(st->name))
			return -EINVAL;
		st->name[n++] = (char)c;
	}
	st->name[n] = '\0';
	return 0;
}

/* "R (running)": the letter is what matters. */
static int parse_state(const char *v, const char *end, struct proc_status *st)
{
	if (v >= end || *v == ' ' || (v + 1 < end && v[1] != ' '))
		return -EINVAL;
	st->state = *v;
	return 0;
}

/* Four tab-separated ids: real, effective, saved, filesystem. */
static int parse_ids(const char *v, const char *end, uint32_t ids[4])
{
	for (int i = 0; i < 4; i++) {
		v = proc_skip_blanks(v);
		if (proc_scan_u32(&v, 10, &ids[i]) < 0)
			return -EINVAL;
	}
	return at_end(v, end);
}

static int parse_uid(const char *v, const char *end, struct proc_status *st)
{
	_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "uid_t is 32 bits");
	return parse_ids(v, end, (uint32_t *)st->uid);
}

static int parse_gid(const char *v, const char *end, struct proc_status *st)
{
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
	return parse_ids(v, end, (uint32_t *)st->gid);
}

/* "Groups:\t1 2 3 " (a blank after each group), or "Groups:\t " for none. */
static int parse_groups(const char *v, const char *end, struct proc_status *st)
{
	_cleanup_free_ gid_t *groups = NULL;
	size_t n = 0, max = 0;

	for (const char *p = v; p < end; p++)
		max += (*p >= '0' && *p <= '9') && (p + 1 == end || p[1] < '0' || p[1] > '9');
	if (max > NGROUPS_LIMIT)
		return -E2BIG;
	if (max) {
		groups = malloc(max * sizeof(*groups));
		if (!groups)
			return -ENOMEM;
	}
	for (v = proc_skip_blanks(v); v < end; v = proc_skip_blanks(v)) {
		uint32_t g;

		if (n == max || proc_scan_u32(&v, 10, &g) < 0)
			return -EINVAL;
		groups[n++] = g;
	}
	st->groups = TAKE_PTR(groups);
	st->n_groups = (uint32_t)n;
	return 0;
}

/* Tab-separated pids, one per pid namespace level; all four NS lines have as many. */
static int parse_ns_ids(const char *v, const char *end, struct proc_status *st, pid_t *ids)
{
	uint32_t n = 0;

	for (v = proc_skip_blanks(v); v < end; v = proc_skip_blanks(v)) {
		if (n == PROC_NS_LEVELS_MAX || proc_scan_s32(&v, &ids[n]) < 0)
			return -EINVAL;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	if (st->ns_levels && st->ns_levels != n)
		return -EINVAL;
	st->ns_levels = n;
	return 0;
}

static int parse_nstgid(const char *v, const char *end, struct proc_status *st)
{
	return parse_ns_ids(v, end, st, st->nstgid);
}

static int parse_nspid(const char *v, const char *end, struct proc_status *st)
{
	return parse_ns_ids(v, end, st, st->nspid);
}

static int parse_nspgid(const char *v, const char *end, struct proc_status *st)
{
	return parse_ns_ids(v, end, st, st->nspgid);
}

static int parse_nssid(const char *v, const char *end, struct proc_status *st)
{
	return parse_ns_ids(v, end, st, st->nssid);
}

/* "queued/limit" */
static int parse_sigq(const char *v, const char *end, struct proc_status *st)
{
	if (proc_scan_u64(&v, 10, &st->sigq_queued) < 0 || *v++ != '/' ||
	    proc_scan_u64(&v, 10, &st->sigq_limit) < 0)
		return -EINVAL;
	return at_end(v, end);
}

/* A free-form word or words ("thread force mitigated"); cut to fit, nothing uses more. */
static void copy_text(const char *v, const char *end, char *dst, size_t size)
{
	size_t len = MIN((size_t)(end - v), size - 1);

	memcpy(dst, v, len);
	dst[len] = '\0';
}

static int parse_spec_store_bypass(const char *v, const char *end, struct proc_status *st)
{
	copy_text(v, end, st->spec_store_bypass, sizeof(st->spec_store_bypass));
	return 0;
}

static int parse_spec_indirect_branch(const char *v, const char *end, struct proc_status *st)
{
	copy_text(v, end, st->spec_indirect_branch, sizeof(st->spec_indirect_branch));
	return 0;
}

/* "shstk wrss " (x86 arch_proc_pid_thread_features()); words we do not know are skipped. */
static uint32_t x86_feature_bits(const char *v, const char *end)
{
	uint32_t bits = 0;

	while ((v = proc_skip_blanks(v)) < end) {
		const char *w = v;

		while (v < end && *v != ' ' && *v != '\t')
			v++;
		if (v - w == 5 && !memcmp(w, "shstk", 5))
			bits |= PROC_X86_FEATURE_SHSTK;
		else if (v - w == 4 && !memcmp(w, "wrss", 4))
			bits |= PROC_X86_FEATURE_WRSS;
	}
	return bits;
}

static int parse_x86_features(const char *v, const char *end, struct proc_status *st)
{
	st->x86_features = x86_feature_bits(v, end);
	return 0;
}

static int parse_x86_features_locked(const char *v, const char *end, struct proc_status *st)
{
	st->x86_features_locked = x86_feature_bits(v, end);
	return 0;
}

#define KEY(k, l, kind, field)                                                       \
	{                                                                            \
		k, sizeof(k) - 1, l, kind, offsetof(struct proc_status, field), NULL \
	}
#define FKEY(k, l, fn)                             \
	{                                          \
		k, sizeof(k) - 1, l, V_FUNC, 0, fn \
	}

/* In the kernel's order (fs/proc/array.c). */
static const struct status_key keys[] = {
	FKEY("Name", PROC_STATUS_NAME, parse_name),
	KEY("Umask", PROC_STATUS_UMASK, V_OCT32, umask),
	FKEY("State", PROC_STATUS_STATE, parse_state),
	KEY("Tgid", PROC_STATUS_TGID, V_PID, tgid),
	KEY("Ngid", PROC_STATUS_NGID, V_PID, ngid),
	KEY("Pid", PROC_STATUS_PID, V_PID, pid),
	KEY("PPid", PROC_STATUS_PPID, V_PID, ppid),
	KEY("TracerPid", PROC_STATUS_TRACER_PID, V_PID, tracer_pid),
	FKEY("Uid", PROC_STATUS_UID, parse_uid),
	FKEY("Gid", PROC_STATUS_GID, parse_gid),
	KEY("FDSize", PROC_STATUS_FDSIZE, V_DEC32, fdsize),
	FKEY("Groups", PROC_STATUS_GROUPS, parse_groups),
	FKEY("NStgid", PROC_STATUS_NSTGID, parse_nstgid),
	FKEY("NSpid", PROC_STATUS_NSPID, parse_nspid),
	FKEY("NSpgid", PROC_STATUS_NSPGID, parse_nspgid),
	FKEY("NSsid", PROC_STATUS_NSSID, parse_nssid),
	KEY("Kthread", PROC_STATUS_KTHREAD, V_DEC32, kthread),
	KEY("CoreDumping", PROC_STATUS_CORE_DUMPING, V_DEC32, core_dumping),
	KEY("THP_enabled", PROC_STATUS_THP_ENABLED, V_DEC32, thp_enabled),
	KEY("untag_mask", PROC_STATUS_UNTAG_MASK, V_HEX64_0X, untag_mask),
	KEY("Threads", PROC_STATUS_THREADS, V_DEC32, threads),
	FKEY("SigQ", PROC_STATUS_SIGQ, parse_sigq),
	KEY("SigPnd", PROC_STATUS_SIGPND, V_HEX64, sigpnd),
	KEY("ShdPnd", PROC_STATUS_SHDPND, V_HEX64, shdpnd),
	KEY("SigBlk", PROC_STATUS_SIGBLK, V_HEX64, sigblk),
	KEY("SigIgn", PROC_STATUS_SIGIGN, V_HEX64, sigign),
	KEY("SigCgt", PROC_STATUS_SIGCGT, V_HEX64, sigcgt),
	KEY("CapInh", PROC_STATUS_CAPINH, V_HEX64, cap_inh),
	KEY("CapPrm", PROC_STATUS_CAPPRM, V_HEX64, cap_prm),
	KEY("CapEff", PROC_STATUS_CAPEFF, V_HEX64, cap_eff),
	KEY("CapBnd", PROC_STATUS_CAPBND, V_HEX64, cap_bnd),
	KEY("CapAmb", PROC_STATUS_CAPAMB, V_HEX64, cap_amb),
	KEY("NoNewPrivs", PROC_STATUS_NO_NEW_PRIVS, V_DEC32, no_new_privs),
	KEY("Seccomp", PROC_STATUS_SECCOMP, V_DEC32, seccomp),
	KEY("Seccomp_filters", PROC_STATUS_SECCOMP_FILTERS, V_DEC32, seccomp_filters),
	FKEY("Speculation_Store_Bypass", PROC_STATUS_SPEC_STORE_BYPASS, parse_spec_store_bypass),
	FKEY("SpeculationIndirectBranch", PROC_STATUS_SPEC_INDIRECT_BRANCH,
	     parse_spec_indirect_branch),
	FKEY("x86_Thread_features", PROC_STATUS_X86_FEATURES, parse_x86_features),
	FKEY("x86_Thread_features_locked", PROC_STATUS_X86_FEATURES_LOCKED,
	     parse_x86_features_locked),
};

_Static_assert(ELEMENTSOF(keys) == PROC_STATUS__COUNT, "one key per status line");
_Static_assert(PROC_STATUS__COUNT <= 64, "present is a 64-bit mask");

#define BIT(l) (UINT64_C(1) << (l))
/* Printed unconditionally by every kernel stasis can run on. */
static const uint64_t required =
	BIT(PROC_STATUS_NAME) | BIT(PROC_STATUS_STATE) | BIT(PROC_STATUS_TGID) |
	BIT(PROC_STATUS_PID) | BIT(PROC_STATUS_PPID) | BIT(PROC_STATUS_TRACER_PID) |
	BIT(PROC_STATUS_UID) | BIT(PROC_STATUS_GID) | BIT(PROC_STATUS_FDSIZE) |
	BIT(PROC_STATUS_GROUPS) | BIT(PROC_STATUS_THREADS) | BIT(PROC_STATUS_SIGQ) |
	BIT(PROC_STATUS_SIGPND) | BIT(PROC_STATUS_SHDPND) | BIT(PROC_STATUS_SIGBLK) |
	BIT(PROC_STATUS_SIGIGN) | BIT(PROC_STATUS_SIGCGT) | BIT(PROC_STATUS_CAPINH) |
	BIT(PROC_STATUS_CAPPRM) | BIT(PROC_STATUS_CAPEFF) | BIT(PROC_STATUS_CAPBND);

static const struct status_key *search_keys(size_t from, size_t to, const char *k, size_t len)
{
	for (size_t i = from; i < to; i++)
		if (keys[i].len == len && keys[i].key[0] == k[0] && !memcmp(keys[i].key, k, len))
			return &keys[i];
	return NULL;
}

/* The key of the line at [k, k + len), searched from *hint on, then from the start; or NULL. */
static const struct status_key *find_key(const char *k, size_t len, size_t *hint)
{
	const struct status_key *key = search_keys(*hint, ELEMENTSOF(keys), k, len);

	if (!key)
		key = search_keys(0, *hint, k, len);
	if (key)
		*hint = (size_t)(key - keys) + 1;
	return key;
}

static const char *key_name(unsigned int line)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (keys[i].line == line)
			return keys[i].key;
	return "?";
}

static int parse_value(const struct status_key *key, const char *v, const char *end,
		       struct proc_status *st)
{
	void *dst = (char *)st + key->offset;
	int r;

	switch (key->kind) {
	case V_FUNC:
		return key->parse(v, end, st);
	case V_DEC32:
		r = proc_scan_u32(&v, 10, dst);
		break;
	case V_PID:
		r = proc_scan_s32(&v, dst);
		break;
	case V_OCT32:
		r = proc_scan_u32(&v, 8, dst);
		break;
	case V_HEX64_0X:
		if (v[0] != '0' || v[1] != 'x')
			return -EINVAL;
		v += 2;
		/* fall through */
	default:
		r = proc_scan_u64(&v, 16, dst);
		break;
	}
	return r < 0 ? r : at_end(v, end);
}

static int parse_lines(const char *text, const char *what, struct proc_status *st)
{
	size_t hint = 0;
	unsigned int lineno = 1;

	for (const char *line = text; *line; lineno++) {
		const char *end = proc_line_end(line);
		const char *colon = memchr(line, ':', (size_t)(end - line));
		const struct status_key *key;
		int r;

		key = colon ? find_key(line, (size_t)(colon - line), &hint) : NULL;
		if (key) {
			if (st->present & BIT(key->line)) {
				pr_err("%s: line %u: %s appears twice", what, lineno, key->key);
				return -EINVAL;
			}
			r = parse_value(key, proc_skip_blanks(colon + 1), end, st);
			if (r == -ENOMEM)
				return r;
			if (r < 0) {
				pr_err("%s: line %u: cannot parse %s", what, lineno, key->key);
				return -EINVAL;
			}
			st->present |= BIT(key->line);
		}
		line = *end ? end + 1 : end;
	}
	return 0;
}

int proc_parse_status(const char *text, const char *what, struct proc_status *ret)
{
	struct proc_status st = {0};
	uint64_t missing;
	int r;

	r = parse_lines(text, what, &st);
	missing = required & ~st.present;
	if (r == 0 && missing) {
		pr_err("%s: no %s line in %u lines", what, key_name(__builtin_ctzll(missing)),
		       proc_lineno(text, text + strlen(text)) - 1);
		r = -EINVAL;
	}
	if (r < 0) {
		free(st.groups);
		return r;
	}
	*ret = st;
	return 0;
}

int proc_read_status(pid_t pid, pid_t tid, struct proc_status *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX];
	size_t len;
	int r;

	proc_path(path, pid, tid, "status");
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	return proc_parse_status(buf, path, ret);
}

void proc_status_done(struct proc_status *st)
{
	free(st->groups);
	st->groups = NULL;
	st->n_groups = 0;
}
