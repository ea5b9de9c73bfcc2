/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A private file mapping with a copy-on-write page: a 4-page file mapped
 * MAP_PRIVATE read-write, page 1 written through the mapping (the task's own
 * copy now), the other pages only read (still the file's). After restore the
 * written page holds what was written, the others what the file holds, the
 * file on disk is unchanged, and the mapping still maps that file (a later
 * change of the file shows through the pages that were not copied).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096UL
#define PAGES 4
#define COW_PAGE 1
#define SEED_FILE 41
#define SEED_COW 42

static char path[PATH_MAX];
static uint8_t *map;
static int fd;
static dev_t dev;
static ino_t ino;

static void setup(void)
{
	static uint8_t data[PAGES * PAGE];
	volatile uint8_t sink = 0;
	struct stat st;

	zoo_path(path, sizeof(path), "filepriv.data");
	zoo_fill(data, sizeof(data), SEED_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data) || fstat(fd, &st))
		zoo_setup_failed("write %s: %m", path);
	dev = st.st_dev;
	ino = st.st_ino;
	map = mmap(NULL, sizeof(data), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		zoo_setup_failed("mmap %s: %m", path);
	/* The fd stays open for the check's pread/pwrite; a regular file fd is supported. */
	for (size_t i = 0; i < PAGES; i++)
		sink += map[i * PAGE];
	(void)sink;
	zoo_fill(map + COW_PAGE * PAGE, PAGE, SEED_COW);
}

static void check_mapping_file(void)
{
	char link[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/self/map_files/%lx-%lx", (unsigned long)map,
		 (unsigned long)map + PAGES * PAGE);
	if (zoo_expect(stat(link, &st) == 0, "%s: %m", link))
		zoo_expect(st.st_dev == dev && st.st_ino == ino,
			   "the mapping maps another file (inode %lu, not %lu)",
			   (unsigned long)st.st_ino, (unsigned long)ino);
}

static void check(void)
{
	static uint8_t want[PAGES * PAGE], disk[PAGES * PAGE];
	struct zoo_vma v;
	long off;

	if (zoo_expect(zoo_vma_at(map, &v), "the mapping is gone"))
		zoo_expect(strcmp(v.perms, "rw-p") == 0, "the mapping is %s, not rw-p", v.perms);
	check_mapping_file();
	zoo_fill(want, sizeof(want), SEED_FILE);
	zoo_expect(pread(fd, disk, sizeof(disk), 0) == sizeof(disk) &&
			   memcmp(disk, want, sizeof(want)) == 0,
		   "the file on disk changed");
	for (size_t i = 0; i < PAGES; i++) {
		if (i == COW_PAGE)
			off = zoo_pattern_mismatch(map + i * PAGE, PAGE, SEED_COW);
		else
			off = memcmp(map + i * PAGE, want + i * PAGE, PAGE) ? 0 : -1;
		zoo_expect(off < 0, "page %zu of the mapping differs from the %s", i,
			   i == COW_PAGE ? "data written into it" : "file");
	}
	/* The pages not copied are the file's: a write to the file shows through. */
	if (zoo_expect(pwrite(fd, "!", 1, 2 * PAGE + 3) == 1, "pwrite: %m"))
		zoo_expect(map[2 * PAGE + 3] == '!',
			   "page 2 is a private copy: a write to the file does not show");
}

static void break_copy(void)
{
	map[2 * PAGE + 9] ^= 0x10;
}

static void break_cow_lost(void)
{
	madvise(map + COW_PAGE * PAGE, PAGE, MADV_DONTNEED);
}

static void break_disk(void)
{
	if (pwrite(fd, "?", 1, 3 * PAGE + 1) != 1)
		zoo_die("break: pwrite: %m");
}

static void break_anonymous(void)
{
	/* The same bytes, but in anonymous memory: no file behind the mapping. */
	static uint8_t copy[PAGES * PAGE];

	memcpy(copy, map, sizeof(copy));
	if (mmap(map, sizeof(copy), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		zoo_die("break: mmap: %m");
	memcpy(map, copy, sizeof(copy));
}

static const struct zoo_break breaks[] = {
	{"page 2 copied and changed", break_copy},
	{"the copied page dropped (the file's page again)", break_cow_lost},
	{"a byte of the file changed on disk", break_disk},
	{"the mapping replaced by anonymous memory with the same bytes", break_anonymous},
};

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm pidfd_store",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
