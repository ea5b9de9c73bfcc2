/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The zoo helper: command line, pid file, SIGTERM wait, break mode and the
 * verdict. After zoo_ready() nothing here allocates or keeps a file open, so
 * that the helper adds no state of its own to what a program checkpoints.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zoo.h"

static struct {
	const struct zoo_desc *desc;
	char pidfile[PATH_MAX];
	char pidfile_tmp[PATH_MAX];
	char verdict[PATH_MAX];
	char dir[PATH_MAX];
	unsigned brk;
	char why[512];
	unsigned failures;
} zoo;

static volatile sig_atomic_t term_received;
_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "zoo_term_flag() gives an int");

static void on_term(int sig)
{
	(void)sig;
	term_received = 1;
}

/* Write one line to path, replacing it; errors go to stderr (the harness keeps it). */
static void write_line(const char *path, const char *line)
{
	char buf[sizeof(zoo.why) + 64];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		fprintf(stderr, "zoo: cannot write %s: %m\n", path);
	if (fd >= 0)
		close(fd);
}

static _noreturn_ void finish(const char *prefix, int status, const char *fmt, va_list ap)
{
	char why[sizeof(zoo.why)], line[sizeof(zoo.why) + 32];

	vsnprintf(why, sizeof(why), fmt, ap);
	snprintf(line, sizeof(line), "%s%s", prefix, why);
	fprintf(stderr, "zoo: %s\n", line);
	if (zoo.verdict[0])
		write_line(zoo.verdict, line);
	exit(status);
}

void zoo_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finish("FAIL: ", 1, fmt, ap);
}

void zoo_setup_failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finish("FAIL: setup: ", 1, fmt, ap);
}

void zoo_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finish("SKIP: ", ZOO_EXIT_SKIP, fmt, ap);
}

static _noreturn_ void usage(const char *prog, const char *why)
{
	fprintf(stderr,
		"%s: %s\n"
		"usage: %s --pidfile FILE --verdict FILE   (STASIS_ZOO_BREAK=N to break it)\n"
		"       %s --requires | --breaks | --dump-options\n",
		prog, why, prog, prog);
	exit(ZOO_EXIT_USAGE);
}

/* An absolute version of path: the program may change its cwd later. */
static void absolute(const char *prog, const char *path, char *buf, size_t size)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(buf, size, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(buf, size, "%s/%s", cwd, path);
	else
		usage(prog, "cannot get the current directory");
	if (n < 0 || (size_t)n >= size)
		usage(prog, "path too long");
}

static unsigned parse_break(const char *prog, size_t n_breaks)
{
	const char *s = getenv("STASIS_ZOO_BREAK");
	char *end;
	unsigned long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	/* A break that does nothing would let a broken check pass unnoticed. */
	if (errno || *end || v > n_breaks)
		usage(prog,
		      "STASIS_ZOO_BREAK must be a number between 0 and the count --breaks shows");
	return (unsigned)v;
}

static void print_breaks(const struct zoo_desc *desc)
{
	for (size_t i = 0; i < desc->n_breaks; i++)
		printf("%zu %s\n", i + 1, desc->breaks[i].what);
}

void zoo_init(int argc, char **argv, const struct zoo_desc *desc)
{
	static const struct option opts[] = {
		{"pidfile", required_argument, NULL, 'p'},
		{"verdict", required_argument, NULL, 'v'},
		{"requires", no_argument, NULL, 'r'},
		{"breaks", no_argument, NULL, 'b'},
		{"dump-options", no_argument, NULL, 'o'},
		{},
	};
	const char *pidfile = NULL, *verdict = NULL;
	struct sigaction sa = {.sa_handler = on_term};
	char *slash;
	int c;

	zoo.desc = desc;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pidfile = optarg;
			break;
		case 'v':
			verdict = optarg;
			break;
		case 'r':
			printf("%s\n", desc->requires ? desc->requires : "");
			exit(0);
		case 'b':
			print_breaks(desc);
			exit(0);
		case 'o':
			printf("%s\n", desc->dump_options ? desc->dump_options : "");
			exit(0);
		default:
			usage(argv[0], "unknown option");
		}
	}
	if (!pidfile || !verdict || optind != argc)
		usage(argv[0], "--pidfile and --verdict are required");
	absolute(argv[0], verdict, zoo.verdict, sizeof(zoo.verdict));
	absolute(argv[0], pidfile, zoo.pidfile, sizeof(zoo.pidfile));
	if ((size_t)snprintf(zoo.pidfile_tmp, sizeof(zoo.pidfile_tmp), "%s.tmp", zoo.pidfile) >=
	    sizeof(zoo.pidfile_tmp))
		usage(argv[0], "path too long");
	strcpy(zoo.dir, zoo.pidfile);
	slash = strrchr(zoo.dir, '/');
	slash[slash == zoo.dir] = '\0';
	zoo.brk = parse_break(argv[0], desc->n_breaks);

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		zoo_setup_failed("sigaction(SIGTERM): %m");
}

const char *zoo_dir(void)
{
	return zoo.dir;
}

void zoo_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", zoo.dir, name);

	if (n < 0 || (size_t)n >= size)
		zoo_setup_failed("path %s/%s too long", zoo.dir, name);
}

const char *zoo_ready_prepare(void)
{
	char line[32];

	snprintf(line, sizeof(line), "%d", (int)getpid());
	write_line(zoo.pidfile_tmp, line);
	return zoo.pidfile_tmp;
}

const char *zoo_pidfile(void)
{
	return zoo.pidfile;
}

/* The rename makes the pid file appear whole: the harness never reads half a pid. */
void zoo_ready(void)
{
	if (rename(zoo_ready_prepare(), zoo.pidfile))
		zoo_setup_failed("rename to %s: %m", zoo.pidfile);
}

unsigned zoo_break_selected(void)
{
	return zoo.brk;
}

void zoo_break_now(void)
{
	if (zoo.brk)
		zoo.desc->breaks[zoo.brk - 1].apply();
}

bool zoo_terminated(void)
{
	return term_received;
}

const volatile int *zoo_term_flag(void)
{
	return &term_received;
}

void zoo_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void zoo_wait_term(void)
{
	/* A short sleep rather than pause(): a signal that lands between the
	 * test and the sleep only delays the exit by one period. */
	while (!term_received) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
}

static void record_failure(const char *fmt, va_list ap)
{
	if (!zoo.failures++)
		vsnprintf(zoo.why, sizeof(zoo.why), fmt, ap);
}

void zoo_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record_failure(fmt, ap);
	va_end(ap);
}

bool zoo_expect(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	va_start(ap, fmt);
	record_failure(fmt, ap);
	va_end(ap);
	return false;
}

int zoo_verdict(void)
{
	char line[sizeof(zoo.why) + 64];

	if (!zoo.failures) {
		write_line(zoo.verdict, "PASS");
		return 0;
	}
	if (zoo.failures > 1)
		snprintf(line, sizeof(line), "FAIL: %s (and %u more)", zoo.why, zoo.failures - 1);
	else
		snprintf(line, sizeof(line), "FAIL: %s", zoo.why);
	fprintf(stderr, "zoo: %s\n", line);
	write_line(zoo.verdict, line);
	return 1;
}

void zoo_fill(void *buf, size_t n, uint64_t seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		p[i] = zoo_pattern(seed, i);
}

uint64_t zoo_checksum(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

long zoo_pattern_mismatch(const void *buf, size_t n, uint64_t seed)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		if (p[i] != zoo_pattern(seed, i))
			return (long)i;
	return -1;
}

/* Fill v from the smaps lines of one mapping; stop at the next head line. */
static void read_vma_fields(FILE *f, struct zoo_vma *v)
{
	char line[512];

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %lu kB", &v->rss_kb) == 1 ||
		    sscanf(line, "Locked: %lu kB", &v->locked_kb) == 1)
			continue;
		if (strncmp(line, "VmFlags:", 8) == 0) {
			size_t n = strcspn(line + 8, "\n");

			n = n < sizeof(v->vmflags) ? n : sizeof(v->vmflags) - 1;
			memcpy(v->vmflags, line + 8, n);
			v->vmflags[n] = '\0';
			return; /* the last line of a mapping */
		}
	}
}

bool zoo_vma_at(const void *addr, struct zoo_vma *ret)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long a = (unsigned long)addr;
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		struct zoo_vma v = {};

		if (sscanf(line, "%lx-%lx %4s", &v.start, &v.end, v.perms) != 3 || a < v.start ||
		    a >= v.end)
			continue;
		read_vma_fields(f, &v);
		*ret = v;
		found = true;
	}
	fclose(f);
	return found;
}

bool zoo_vma_flag(const struct zoo_vma *v, const char *flag)
{
	char word[5];

	snprintf(word, sizeof(word), " %s", flag);
	for (const char *p = v->vmflags; (p = strstr(p, word)); p++)
		if (p[3] == ' ' || p[3] == '\0')
			return true;
	return false;
}

bool zoo_fdinfo(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	n = read(f, buf, size - 1);
	close(f);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

int zoo_run(int argc, char **argv, const struct zoo_desc *desc, void (*setup)(void),
	    void (*check)(void))
{
	zoo_init(argc, argv, desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check();
	return zoo_verdict();
}

bool zoo_shared_with_child(volatile uint8_t *p, uint8_t v, const char *what)
{
	int status;
	pid_t pid = fork();

	if (!zoo_expect(pid >= 0, "%s: fork: %m", what))
		return false;
	if (pid == 0) {
		*p = v;
		_exit(0);
	}
	if (!zoo_expect(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
				WEXITSTATUS(status) == 0,
			"%s: the child failed", what))
		return false;
	return zoo_expect(*p == v, "%s: a child's write does not show: not shared", what);
}

bool zoo_proc_stat(int pid, struct zoo_stat *ret)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	p = ok ? strrchr(buf, ')') : NULL;
	return p &&
	       sscanf(p + 2, "%c %d %d %d", &ret->state, &ret->ppid, &ret->pgid, &ret->sid) == 4;
}
