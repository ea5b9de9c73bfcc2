/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macro.h"
#include "image/image.h"
#include "layout.h"

/* A region with an unmapped page on each side, so that it never merges with a neighbour. */
static uint8_t *map_isolated(size_t len, int prot, int flags, int fd)
{
	uint8_t *p = mmap(NULL, len + 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mmap(p + PG, len, prot, flags | MAP_FIXED, fd, 0) == MAP_FAILED)
		return NULL;
	munmap(p, PG);
	munmap(p + PG + len, PG);
	return p + PG;
}

static void fill(uint8_t *p, size_t len, unsigned region)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(region, i);
}

static int child_setup(struct layout *l, const char *file_path)
{
	volatile uint8_t sink = 0;
	uint8_t *p;
	int fd;

	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
		return -1;
	l->stack_var = (uintptr_t)&sink;

	p = map_isolated(ANON_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!p)
		return -1;
	fill(p, ANON_PAGES * PG, 1);
	l->anon = (uintptr_t)p;

	p = map_isolated(SPARSE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	if (!p)
		return -1;
	for (int i = 0; i < 3; i++)
		fill(p + sparse_touched[i], PG, 2 + i);
	l->sparse = (uintptr_t)p;

	fd = open(file_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	p = map_isolated(FILE_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
	close(fd);
	if (!p)
		return -1;
	for (size_t i = 0; i < FILE_PAGES * PG; i += PG)
		sink += p[i]; /* every page in, from the page cache */
	fill(p + FILE_COW_PAGE * PG, PG, 5);
	l->file = (uintptr_t)p;

	p = map_isolated(SHARED_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
	if (!p)
		return -1;
	fill(p, 4 * PG, 6);
	fill(p + 6 * PG, PG, 7);
	l->shared = (uintptr_t)p;

	p = map_isolated(NONE_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!p)
		return -1;
	l->none = (uintptr_t)p;

	p = map_isolated(PROT_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!p)
		return -1;
	fill(p, PROT_PAGES * PG, 8);
	if (mprotect(p, 4 * PG, PROT_READ) < 0 || mprotect(p + 4 * PG, 4 * PG, PROT_NONE) < 0)
		return -1;
	l->prot = (uintptr_t)p;

	p = map_isolated(MADV_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!p)
		return -1;
	fill(p, MADV_PAGES * PG, 9);
	if (madvise(p, 4 * PG, MADV_DONTFORK) < 0 ||
	    madvise(p + 4 * PG, 4 * PG, MADV_DONTDUMP) < 0 ||
	    madvise(p + 8 * PG, 4 * PG, MADV_HUGEPAGE) < 0)
		return -1;
	l->madv = (uintptr_t)p;

	p = map_isolated(LOCKED_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1);
	if (!p)
		return -1;
	fill(p, LOCKED_PAGES * PG, 10);
	if (syscall(SYS_mlock, p + PG, PG) < 0) /* not mlock(): ASan ignores it */
		return -1;
	l->locked = (uintptr_t)p;

	p = map_isolated(GROWS_PAGES * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1);
	if (!p)
		return -1;
	fill(p + (GROWS_PAGES - 1) * PG, PG, 11);
	l->grows = (uintptr_t)p;

	p = map_isolated(ZERO_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!p)
		return -1;
	for (size_t i = 0; i < ZERO_PAGES * PG; i += PG)
		sink += p[i]; /* maps the zero page */
	fill(p + ZERO_WRITTEN * PG, PG, 12);
	l->zero = (uintptr_t)p;
	return 0;
}

static void write_file(const char *path)
{
	uint8_t page[PG];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	for (unsigned i = 0; i < FILE_PAGES; i++) {
		memset(page, 'A' + i, sizeof(page));
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			abort();
	}
	close(fd);
}

bool layout_start(struct child *c)
{
	char tmpl[] = "/tmp/stasis-mem-test.XXXXXX";
	int pfd[2], status;
	ssize_t n;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	if (!mkdtemp(tmpl))
		return false;
	c->dir = strdup(tmpl);
	if (asprintf(&c->file_path, "%s/mapped", c->dir) < 0)
		abort();
	write_file(c->file_path);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return false;
	c->pid = fork();
	if (c->pid < 0)
		return false;
	if (c->pid == 0) {
		struct layout l = {};

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		if (child_setup(&l, c->file_path) < 0)
			_exit(1);
		if (write(pfd[1], &l, sizeof(l)) != (ssize_t)sizeof(l))
			_exit(2);
		for (;;)
			pause();
	}
	close(pfd[1]);
	n = read(pfd[0], &c->l, sizeof(c->l));
	close(pfd[0]);
	if (n != (ssize_t)sizeof(c->l))
		return false;
	if (kill(c->pid, SIGSTOP) < 0 || waitpid(c->pid, &status, WUNTRACED) != c->pid ||
	    !WIFSTOPPED(status))
		return false;
	return true;
}

void layout_stop(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
	}
	if (c->dir) {
		char *cmd;

		if (asprintf(&cmd, "rm -rf '%s'", c->dir) >= 0) {
			if (system(cmd) != 0)
				fprintf(stderr, "cannot remove %s\n", c->dir);
			free(cmd);
		}
		free(c->dir);
		c->dir = NULL;
	}
	free(c->file_path);
	c->file_path = NULL;
}

bool child_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, buf, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len;
}

const struct mem_vma *find_vma(const struct mem_vmas *vmas, uint64_t addr)
{
	for (size_t i = 0; i < vmas->nr; i++)
		if (addr >= vmas->v[i].e.start && addr < vmas->v[i].e.end)
			return &vmas->v[i];
	return NULL;
}

bool maps_range(pid_t pid, const char *name, uint64_t *start, uint64_t *end)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n');
		size_t len = strlen(name), l;

		if (nl)
			*nl = '\0';
		l = strlen(line);
		if (l >= len && streq(line + l - len, name) &&
		    sscanf(line, "%" SCNx64 "-%" SCNx64, start, end) == 2)
			found = true;
	}
	fclose(f);
	return found;
}

struct img_dir *make_img_dir(const char *parent, const char *name)
{
	struct img_dir *dir;
	char *path;

	if (asprintf(&path, "%s/%s", parent, name) < 0)
		abort();
	if (mkdir(path, 0700) < 0 || img_dir_open(path, &dir) < 0)
		abort();
	free(path);
	return dir;
}
