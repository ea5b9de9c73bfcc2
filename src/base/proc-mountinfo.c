/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/mountinfo (proc_pid_mountinfo(5)):
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * mnt_id parent major:minor root mountpoint options [optional fields...] -
 * fstype source super_options. Paths, fstype and source have ' ', '\t',
 * '\n' and '\\' escaped as \ooo octal.
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

/* Next space-separated field of *pp, NUL-terminated in place; NULL at the end of the line. */
static char *next_field(char **pp)
{
	char *p = *pp, *f;

	if (!p || !*p)
		return NULL;
	f = p;
	p = strchr(p, ' ');
	if (p)
		*p++ = '\0';
	*pp = p;
	return f;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* Undo the kernel's \ooo escapes, in place (the text only shrinks). */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && is_octal(s[1]) && is_octal(s[2]) && is_octal(s[3])) {
			*out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* "shared:N", "master:N", "propagate_from:N", "unbindable"; other tags are skipped. */
static int parse_optional(const char *tag, struct proc_mount *m)
{
	static const struct {
		const char *name;
		size_t offset;
	} ids[] = {
		{"shared:", offsetof(struct proc_mount, shared)},
		{"master:", offsetof(struct proc_mount, master)},
		{"propagate_from:", offsetof(struct proc_mount, propagate_from)},
	};

	if (streq(tag, "unbindable")) {
		m->unbindable = true;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		if (startswith(tag, ids[i].name)) {
			const char *p = tag + strlen(ids[i].name);

			if (proc_scan_s32(&p, (int32_t *)((char *)m + ids[i].offset)) < 0 || *p)
				return -EINVAL;
			return 0;
		}
	}
	return 0;
}

static int parse_devno(const char *s, struct proc_mount *m)
{
	if (proc_scan_u32(&s, 10, &m->major) < 0 || *s++ != ':' ||
	    proc_scan_u32(&s, 10, &m->minor) < 0 || *s)
		return -EINVAL;
	return 0;
}

static int parse_int_field(const char *s, int32_t *ret)
{
	return proc_scan_s32(&s, ret) < 0 || *s ? -EINVAL : 0;
}

int proc_parse_mountinfo_line(char *line, const char *what, unsigned int lineno,
			      struct proc_mount *ret)
{
	struct proc_mount m = {0};
	const char *bad = NULL;
	char *p = line, *f[6], *tag, *fstype, *source;

	for (int i = 0; i < 6; i++) {
		f[i] = next_field(&p);
		if (!f[i]) {
			pr_err("%s: line %u: cannot parse field %d of 6 before '-'", what, lineno,
			       i + 1);
			return -EINVAL;
		}
	}
	if (parse_int_field(f[0], &m.mnt_id) < 0)
		bad = "mount id";
	else if (parse_int_field(f[1], &m.parent_id) < 0)
		bad = "parent id";
	else if (parse_devno(f[2], &m) < 0)
		bad = "major:minor";
	if (bad) {
		pr_err("%s: line %u: cannot parse %s", what, lineno, bad);
		return -EINVAL;
	}
	m.root = f[3];
	m.mountpoint = f[4];
	m.options = f[5];
	while ((tag = next_field(&p)) && !streq(tag, "-")) {
		if (parse_optional(tag, &m) < 0) {
			pr_err("%s: line %u: cannot parse optional field %s", what, lineno, tag);
			return -EINVAL;
		}
	}
	fstype = next_field(&p);
	source = next_field(&p);
	/* the rest of the line: the file system prints its options its own way */
	if (!tag || !source || !p) {
		pr_err("%s: line %u: cannot parse the fields after '-'", what, lineno);
		return -EINVAL;
	}
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	unescape_octal(fstype);
	unescape_octal(source);
	m.fstype = fstype;
	m.source = source;
	m.super_options = p;
	*ret = m;
	return 0;
}

int proc_parse_mountinfo(char *text, const char *what, struct proc_mount_table *ret)
{
	struct proc_mount_table t = {0};
	size_t n_lines = 1;
	unsigned int lineno = 1;

	for (const char *p = text; *p; p++)
		n_lines += *p == '\n';
	t.mounts = malloc(n_lines * sizeof(*t.mounts));
	if (!t.mounts)
		return -ENOMEM;
	for (char *line = text; *line; lineno++) {
		char *end = (char *)proc_line_end(line);
		char *next = *end ? end + 1 : end;
		int r;

		*end = '\0';
		r = proc_parse_mountinfo_line(line, what, lineno, &t.mounts[t.n]);
		if (r < 0) {
			free(t.mounts);
			return r;
		}
		t.n++;
		line = next;
	}
	*ret = t;
	return 0;
}

int proc_read_mountinfo(pid_t pid, struct proc_mount_table *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX];
	size_t len;
	int r;

	proc_path(path, pid, 0, "mountinfo");
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	r = proc_parse_mountinfo(buf, path, ret);
	if (r < 0)
		return r;
	ret->buf = TAKE_PTR(buf);
	return 0;
}

void proc_mount_table_free(struct proc_mount_table *t)
{
	free(t->mounts);
	free(t->buf);
	*t = (struct proc_mount_table){0};
}
