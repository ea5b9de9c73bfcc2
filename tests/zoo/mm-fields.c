/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mm fields that are not mappings: the program break, the argument and
 * environment areas (what /proc/self/cmdline and environ show, read from
 * between arg_start/arg_end and env_start/env_end), the saved auxv
 * (/proc/self/auxv, and getauxval() from the copy in memory), the
 * code/data/stack bounds of /proc/self/stat, and the executable
 * (/proc/self/exe). All recorded at setup, all compared after the restore.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define BUF 8192
#define BRK_GROWTH 12345

/* Fields of /proc/self/stat kept by PR_SET_MM_MAP (1-based, man 5 proc). */
static const int stat_fields[] = {26, 27, 28, 45, 46, 47, 48, 49, 50, 51};
enum {
	F_START_CODE,
	F_END_CODE,
	F_START_STACK,
	F_START_DATA,
	F_END_DATA,
	F_START_BRK,
	F_ARG_START,
	F_ARG_END,
	F_ENV_START,
	F_ENV_END,
	N_FIELDS
};
static const char *const field_names[] = {"start_code", "end_code",  "start_stack", "start_data",
					  "end_data",   "start_brk", "arg_start",   "arg_end",
					  "env_start",  "env_end"};

static const unsigned long auxv_types[] = {AT_PAGESZ, AT_PHDR,   AT_ENTRY,
					   AT_RANDOM, AT_EXECFN, AT_SYSINFO_EHDR,
					   AT_HWCAP,  AT_HWCAP2, AT_CLKTCK};

struct facts {
	char cmdline[BUF], environ[BUF], auxv[BUF], exe[PATH_MAX];
	ssize_t cmdline_len, environ_len, auxv_len;
	unsigned long stat[N_FIELDS];
	unsigned long getauxval[ELEMENTSOF(auxv_types)];
	uint8_t random[16];
	void *brk;
};

static struct facts before, after;
static char **argv0;

static ssize_t read_all(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)len < size && (n = read(fd, buf + len, size - (size_t)len)) > 0)
		len += n;
	close(fd);
	return len;
}

static bool read_stat(unsigned long *out)
{
	char buf[2048], *p;
	ssize_t n = read_all("/proc/self/stat", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the end of field 2 */
	for (int field = 2, i = 0; p && i < N_FIELDS; field++) {
		p = strchr(p + 1, ' ');
		if (p && field + 1 == stat_fields[i])
			out[i++] = strtoul(p + 1, NULL, 10);
	}
	return p != NULL;
}

static void collect(struct facts *f)
{
	ssize_t n;

	f->cmdline_len = read_all("/proc/self/cmdline", f->cmdline, sizeof(f->cmdline));
	f->environ_len = read_all("/proc/self/environ", f->environ, sizeof(f->environ));
	f->auxv_len = read_all("/proc/self/auxv", f->auxv, sizeof(f->auxv));
	n = readlink("/proc/self/exe", f->exe, sizeof(f->exe) - 1);
	f->exe[n > 0 ? n : 0] = '\0';
	if (!read_stat(f->stat))
		memset(f->stat, 0, sizeof(f->stat));
	for (size_t i = 0; i < ELEMENTSOF(auxv_types); i++)
		f->getauxval[i] = getauxval(auxv_types[i]);
	memcpy(f->random, (void *)getauxval(AT_RANDOM), sizeof(f->random));
	f->brk = sbrk(0);
}

static void setup(void)
{
	if (sbrk(BRK_GROWTH) == (void *)-1)
		zoo_setup_failed("sbrk: %m");
	collect(&before);
	if (before.cmdline_len <= 0 || before.environ_len < 0 || before.auxv_len <= 0 ||
	    !before.exe[0] || !before.stat[F_ENV_END])
		zoo_setup_failed("cannot read /proc/self: %m");
}

static void expect_bytes(const char *what, const char *a, ssize_t alen, const char *b, ssize_t blen)
{
	if (!zoo_expect(alen == blen, "%s: %zd bytes, not %zd", what, blen, alen))
		return;
	for (ssize_t i = 0; i < alen; i++)
		if (!zoo_expect(a[i] == b[i], "%s differs at byte %zd", what, i))
			return;
}

static void check(void)
{
	collect(&after);
	zoo_expect(after.brk == before.brk, "the break is %p, not %p", after.brk, before.brk);
	for (int i = 0; i < N_FIELDS; i++)
		zoo_expect(after.stat[i] == before.stat[i], "%s is %#lx, not %#lx", field_names[i],
			   after.stat[i], before.stat[i]);
	expect_bytes("/proc/self/cmdline", before.cmdline, before.cmdline_len, after.cmdline,
		     after.cmdline_len);
	expect_bytes("/proc/self/environ", before.environ, before.environ_len, after.environ,
		     after.environ_len);
	expect_bytes("/proc/self/auxv", before.auxv, before.auxv_len, after.auxv, after.auxv_len);
	for (size_t i = 0; i < ELEMENTSOF(auxv_types); i++)
		zoo_expect(after.getauxval[i] == before.getauxval[i],
			   "getauxval(%lu) is %#lx, not %#lx", auxv_types[i], after.getauxval[i],
			   before.getauxval[i]);
	zoo_expect(memcmp(after.random, before.random, sizeof(before.random)) == 0,
		   "the AT_RANDOM bytes differ");
	zoo_expect(strcmp(after.exe, before.exe) == 0, "/proc/self/exe is %s, not %s", after.exe,
		   before.exe);
}

/* prctl(PR_SET_MM_MAP) with the current fields, auxv and arg_end changed by the caller. */
static void set_mm_map(unsigned long arg_end_delta, unsigned long pagesz)
{
	static uint64_t auxv[BUF / sizeof(uint64_t)];
	const unsigned long *s = before.stat;
	struct prctl_mm_map map = {
		.start_code = s[F_START_CODE],
		.end_code = s[F_END_CODE],
		.start_data = s[F_START_DATA],
		.end_data = s[F_END_DATA],
		.start_brk = s[F_START_BRK],
		.brk = (uint64_t)(uintptr_t)sbrk(0),
		.start_stack = s[F_START_STACK],
		.arg_start = s[F_ARG_START],
		.arg_end = s[F_ARG_END] - arg_end_delta,
		.env_start = s[F_ENV_START],
		.env_end = s[F_ENV_END],
		.auxv = (__u64 *)auxv,
		.auxv_size = (uint32_t)before.auxv_len,
		.exe_fd = (uint32_t)-1,
	};

	memcpy(auxv, before.auxv, (size_t)before.auxv_len);
	for (size_t i = 0; pagesz && auxv[i] != AT_NULL; i += 2)
		if (auxv[i] == AT_PAGESZ)
			auxv[i + 1] = pagesz;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0))
		zoo_die("break: prctl(PR_SET_MM_MAP): %m");
}

static void break_argv(void)
{
	argv0[0][0] ^= 0x20;
}

static void break_environ(void)
{
	char *env = (char *)before.stat[F_ENV_START];

	env[0] ^= 0x20;
}

static void break_auxv(void)
{
	set_mm_map(0, 8192);
}

static void break_arg_end(void)
{
	set_mm_map(1, 0);
}

static void break_brk(void)
{
	sbrk(4096);
}

static const struct zoo_break breaks[] = {
	{"a byte of argv[0] changed", break_argv},
	{"a byte of the environment changed", break_environ},
	{"AT_PAGESZ of the saved auxv changed (PR_SET_MM_MAP)", break_auxv},
	{"arg_end moved back by one byte (PR_SET_MM_MAP)", break_arg_end},
	{"the break moved by a page", break_brk},
};

static const struct zoo_desc desc = {
	.requires = "prctl_mm_map",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	argv0 = argv;
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check();
	return zoo_verdict();
}
