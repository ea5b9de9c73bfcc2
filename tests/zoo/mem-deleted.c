/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mappings of files deleted while mapped (saved as ghost files):
 *   shared   4 pages mapped MAP_SHARED, page 1 written through the mapping,
 *            the file unlinked and its fd closed: the data, and the mapping
 *            still shared with a child;
 *   private  4 pages mapped MAP_PRIVATE, page 2 copied on write, the file
 *            unlinked and closed: the copied page holds the program's bytes,
 *            the others the file's;
 *   open     3 pages mapped MAP_SHARED and still open through an fd after
 *            the unlink: one file, so a write through either shows through
 *            the other.
 * /proc/self/maps names each "PATH (deleted)". (A path taken by a new file
 * meanwhile makes the ghost come back under another name: fd-ghost.)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096UL
#define PAGES 4
#define OPEN_PAGES 3

static char shared_path[4096], private_path[4096], open_path[4096];
static uint8_t *shared, *priv, *opened;
static int open_fd;

/* A file of pages patterned from seed, mapped with flags, unlinked; its fd closed unless kept. */
static uint8_t *map_deleted(const char *path, size_t pages, uint64_t seed, int flags, int *keep)
{
	static uint8_t buf[PAGE];
	uint8_t *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		zoo_setup_failed("open %s: %m", path);
	for (size_t i = 0; i < pages; i++) {
		zoo_fill(buf, PAGE, seed + i);
		if (write(fd, buf, PAGE) != (ssize_t)PAGE)
			zoo_setup_failed("write %s: %m", path);
	}
	p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED || unlink(path) < 0)
		zoo_setup_failed("mmap, unlink %s: %m", path);
	if (keep)
		*keep = fd;
	else
		close(fd);
	return p;
}

static void setup(void)
{
	zoo_path(shared_path, sizeof(shared_path), "mapped shared");
	zoo_path(private_path, sizeof(private_path), "mapped private");
	zoo_path(open_path, sizeof(open_path), "mapped open");
	shared = map_deleted(shared_path, PAGES, 10, MAP_SHARED, NULL);
	zoo_fill(shared + PAGE, PAGE, 21);
	priv = map_deleted(private_path, PAGES, 30, MAP_PRIVATE, NULL);
	zoo_fill(priv + 2 * PAGE, PAGE, 42);
	opened = map_deleted(open_path, OPEN_PAGES, 50, MAP_SHARED, &open_fd);
}

static bool page_is(const uint8_t *p, uint64_t seed)
{
	return zoo_pattern_mismatch(p, PAGE, seed) < 0;
}

static void check_name(const void *p, const char *path)
{
	char want[4200], line[4400];
	unsigned long start, end, addr = (unsigned long)p;
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!zoo_expect(f != NULL, "/proc/self/maps: %m"))
		return;
	snprintf(want, sizeof(want), "%s (deleted)\n", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start <= addr && addr < end) {
			size_t n = strlen(line), w = strlen(want);

			found = n >= w && strcmp(line + n - w, want) == 0;
			break;
		}
	fclose(f);
	zoo_expect(found, "the mapping at %p is not named %s (deleted)", p, path);
}

static void check_shared(void)
{
	check_name(shared, shared_path);
	zoo_expect(page_is(shared, 10) && page_is(shared + PAGE, 21) &&
			   page_is(shared + 3 * PAGE, 13),
		   "shared: the data differs");
	zoo_shared_with_child(shared + 2 * PAGE, 0x5a, "shared");
}

static void check_private(void)
{
	check_name(priv, private_path);
	zoo_expect(page_is(priv + 2 * PAGE, 42), "private: the copied page differs");
	zoo_expect(page_is(priv, 30) && page_is(priv + 3 * PAGE, 33),
		   "private: the pages not copied are not the file's");
}

static void check_open(void)
{
	static uint8_t buf[PAGE];
	uint8_t b = 0x66;

	check_name(opened, open_path);
	zoo_expect(page_is(opened + PAGE, 51), "open: the data differs");
	zoo_expect(pwrite(open_fd, &b, 1, 2 * PAGE + 1) == 1 && opened[2 * PAGE + 1] == 0x66,
		   "open: a write through the fd does not show through the mapping");
	opened[7] = 0x77;
	zoo_expect(pread(open_fd, buf, PAGE, 0) == (ssize_t)PAGE && buf[7] == 0x77,
		   "open: a write through the mapping does not show through the fd");
}

static void check(void)
{
	check_shared();
	check_private();
	check_open();
}

static void break_shared(void)
{
	shared[PAGE + 9] ^= 1;
}

static void break_cow(void)
{
	if (madvise(priv + 2 * PAGE, PAGE, MADV_DONTNEED) < 0)
		zoo_die("break: madvise: %m");
}

static void break_open(void)
{
	int fd = open(open_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, OPEN_PAGES * PAGE) < 0 || unlink(open_path) < 0)
		zoo_die("break: %s: %m", open_path);
	dup2(fd, open_fd);
	close(fd);
}

/* The shared mapping replaced by a mapping of a file not deleted, with the same bytes. */
static void break_linked(void)
{
	static uint8_t copy[PAGES * PAGE];
	int fd = open(shared_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	memcpy(copy, shared, sizeof(copy));
	if (fd < 0 || write(fd, copy, sizeof(copy)) != sizeof(copy) ||
	    mmap(shared, sizeof(copy), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    MAP_FAILED)
		zoo_die("break: %s: %m", shared_path);
	close(fd);
}

static const struct zoo_break breaks[] = {
	{"a byte of the shared mapping changed", break_shared},
	{"the private mapping's copied page dropped", break_cow},
	{"the open fd replaced by another deleted file", break_open},
	{"the shared mapping's file linked again", break_linked},
};

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
