/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A shared file mapping: a 4-page file mapped MAP_SHARED read-write, page 1
 * written through the mapping and never synced. After restore the mapping
 * and the file agree on every byte (the write was the file's, not the
 * task's), and the mapping is still the file: a write through it shows in
 * the file, and a write to the file shows in it.
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
#define SEED_FILE 51
#define SEED_WRITE 52

static char path[PATH_MAX];
static uint8_t *map;
static int fd;

static void setup(void)
{
	static uint8_t data[PAGES * PAGE];

	zoo_path(path, sizeof(path), "fileshared.data");
	zoo_fill(data, sizeof(data), SEED_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data))
		zoo_setup_failed("write %s: %m", path);
	map = mmap(NULL, sizeof(data), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		zoo_setup_failed("mmap %s: %m", path);
	zoo_fill(map + PAGE, PAGE, SEED_WRITE);
}

static void check(void)
{
	static uint8_t want[PAGES * PAGE], disk[PAGES * PAGE];
	struct zoo_vma v;
	char c;

	if (zoo_expect(zoo_vma_at(map, &v), "the mapping is gone"))
		zoo_expect(strcmp(v.perms, "rw-s") == 0, "the mapping is %s, not rw-s", v.perms);
	zoo_fill(want, sizeof(want), SEED_FILE);
	zoo_fill(want + PAGE, PAGE, SEED_WRITE);
	if (!zoo_expect(pread(fd, disk, sizeof(disk), 0) == sizeof(disk), "pread: %m"))
		return;
	for (size_t i = 0; i < PAGES * PAGE; i++)
		if (!zoo_expect(map[i] == want[i] && disk[i] == want[i],
				"offset %zu: mapping %#x, file %#x, expected %#x", i, map[i],
				disk[i], want[i]))
			break;
	map[3 * PAGE + 7] = '!';
	zoo_expect(pread(fd, &c, 1, 3 * PAGE + 7) == 1 && c == '!',
		   "a write through the mapping does not reach the file");
	zoo_expect(pwrite(fd, "?", 1, 5) == 1 && map[5] == '?',
		   "a write to the file does not show in the mapping");
}

static void break_content(void)
{
	map[PAGE + 100] ^= 0x20;
}

static void break_private(void)
{
	/* The same bytes, but a private mapping of the file: no longer shared. */
	if (mmap(map, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) ==
	    MAP_FAILED)
		zoo_die("break: mmap: %m");
}

static void break_file(void)
{
	if (pwrite(fd, "?", 1, 2 * PAGE) != 1)
		zoo_die("break: pwrite: %m");
}

static const struct zoo_break breaks[] = {
	{"a byte written through the mapping changed", break_content},
	{"the mapping made private", break_private},
	{"a byte of the file changed", break_file},
};

static const struct zoo_desc desc = {
	.requires = "pidfd_store",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
