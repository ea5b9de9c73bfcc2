/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mappings of memfds:
 *   shared   8 pages mapped MAP_SHARED, pages 1 and 4 written through the
 *            mapping, the fd kept: the fd reads what the mapping holds, and
 *            a write through either shows through the other;
 *   private  4 pages written through the fd, mapped MAP_PRIVATE, page 2
 *            written through the mapping (copied on write): that page holds
 *            the program's bytes, the file its own, and a write to the file
 *            shows through the pages not copied;
 *   orphan   4 pages mapped MAP_SHARED twice, written, its fd closed: both
 *            mappings hold the data and are one object, shared with a child;
 *   sealed   F_SEAL_WRITE, mapped MAP_SHARED read-only: the data, the seal,
 *            and no way to make the mapping writable;
 *   future   mapped MAP_SHARED writable, then sealed F_SEAL_FUTURE_WRITE:
 *            the mapping still writes, write() does not.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zoo.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define PAGE 4096UL
#define SHARED_PAGES 8
#define SMALL_PAGES 4

static int shared_fd, private_fd, sealed_fd, future_fd;
static uint8_t *shared, *priv, *orphan, *orphan2, *sealed, *future;

static int make(const char *name, unsigned flags, size_t size)
{
	int fd = memfd_create(name, flags);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		zoo_setup_failed("memfd_create(%s): %m", name);
	return fd;
}

static uint8_t *map(int fd, size_t size, int prot, int flags)
{
	uint8_t *p = mmap(NULL, size, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	return p;
}

static void fill_fd(int fd, size_t pages, uint64_t seed)
{
	static uint8_t buf[PAGE];

	for (size_t i = 0; i < pages; i++) {
		zoo_fill(buf, PAGE, seed + i);
		if (pwrite(fd, buf, PAGE, (off_t)(i * PAGE)) != (ssize_t)PAGE)
			zoo_setup_failed("pwrite: %m");
	}
}

static void setup(void)
{
	int fd;

	shared_fd = make("zoo shared", 0, SHARED_PAGES * PAGE);
	shared = map(shared_fd, SHARED_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zoo_fill(shared + PAGE, PAGE, 11);
	zoo_fill(shared + 4 * PAGE, PAGE, 14);

	private_fd = make("zoo private", 0, SMALL_PAGES * PAGE);
	fill_fd(private_fd, SMALL_PAGES, 20);
	priv = map(private_fd, SMALL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	zoo_fill(priv + 2 * PAGE, PAGE, 32);

	fd = make("zoo orphan", 0, SMALL_PAGES * PAGE);
	orphan = map(fd, SMALL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	orphan2 = map(fd, SMALL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	close(fd);
	zoo_fill(orphan, SMALL_PAGES * PAGE, 40);

	sealed_fd = make("zoo sealed", MFD_ALLOW_SEALING, 2 * PAGE);
	fill_fd(sealed_fd, 2, 50);
	if (fcntl(sealed_fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		zoo_setup_failed("F_ADD_SEALS: %m");
	sealed = map(sealed_fd, 2 * PAGE, PROT_READ, MAP_SHARED);

	future_fd = make("zoo future", MFD_ALLOW_SEALING, PAGE);
	future = map(future_fd, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	zoo_fill(future, PAGE, 60);
	if (fcntl(future_fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
		zoo_setup_failed("F_ADD_SEALS(F_SEAL_FUTURE_WRITE): %m");
}

static bool page_is(const uint8_t *p, uint64_t seed)
{
	return zoo_pattern_mismatch(p, PAGE, seed) < 0;
}

static bool file_page_is(int fd, size_t page, uint64_t seed)
{
	static uint8_t buf[PAGE];

	return pread(fd, buf, PAGE, (off_t)(page * PAGE)) == (ssize_t)PAGE && page_is(buf, seed);
}

static void check_shared(void)
{
	static uint8_t buf[SHARED_PAGES * PAGE];
	uint8_t b = 0;

	zoo_expect(page_is(shared + PAGE, 11) && page_is(shared + 4 * PAGE, 14),
		   "shared: the pages written through the mapping differ");
	zoo_expect(pread(shared_fd, buf, sizeof(buf), 0) == sizeof(buf) &&
			   memcmp(buf, shared, sizeof(buf)) == 0,
		   "shared: the fd does not read what the mapping holds");
	shared[6 * PAGE + 3] = 0x77;
	zoo_expect(pread(shared_fd, &b, 1, 6 * PAGE + 3) == 1 && b == 0x77,
		   "shared: a write through the mapping does not show through the fd");
	b = 0x99;
	zoo_expect(pwrite(shared_fd, &b, 1, 7 * PAGE) == 1 && shared[7 * PAGE] == 0x99,
		   "shared: a write through the fd does not show through the mapping");
}

static void check_private(void)
{
	uint8_t b = 0x42;

	zoo_expect(page_is(priv + 2 * PAGE, 32), "private: the copied page differs");
	zoo_expect(file_page_is(private_fd, 2, 22), "private: the file's page 2 changed");
	zoo_expect(page_is(priv, 20) && page_is(priv + 3 * PAGE, 23),
		   "private: the pages not copied are not the file's");
	zoo_expect(pwrite(private_fd, &b, 1, PAGE + 5) == 1 && priv[PAGE + 5] == 0x42,
		   "private: a write to the file does not show through a page not copied");
}

static void check_orphan(void)
{
	for (size_t i = 0; i < SMALL_PAGES * PAGE; i++)
		if (orphan[i] != zoo_pattern(40, i)) {
			zoo_fail("orphan: byte %zu differs", i);
			return;
		}
	orphan[5] ^= 0xff;
	zoo_expect(orphan2[5] == orphan[5], "orphan: its two mappings are not one object");
	zoo_shared_with_child(orphan + 3 * PAGE, 0x5a, "orphan");
}

static void check_sealed(void)
{
	zoo_expect(page_is(sealed, 50) && page_is(sealed + PAGE, 51), "sealed: the data differs");
	zoo_expect(fcntl(sealed_fd, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_SEAL),
		   "sealed: seals %#x", fcntl(sealed_fd, F_GET_SEALS));
	zoo_expect(mprotect(sealed, PAGE, PROT_READ | PROT_WRITE) < 0,
		   "sealed: its mapping can be made writable");
}

static void check_future(void)
{
	struct zoo_vma v;

	zoo_expect(page_is(future, 60), "future: the data differs");
	zoo_expect(fcntl(future_fd, F_GET_SEALS) == F_SEAL_FUTURE_WRITE, "future: seals %#x",
		   fcntl(future_fd, F_GET_SEALS));
	zoo_expect(pwrite(future_fd, "x", 1, 0) < 0 && errno == EPERM,
		   "future: write() is not refused");
	if (!zoo_expect(zoo_vma_at(future, &v) && strcmp(v.perms, "rw-s") == 0,
			"future: its mapping is not rw-s"))
		return;
	future[9] = 0x33;
	zoo_expect(pread(future_fd, v.perms, 1, 9) == 1 && v.perms[0] == 0x33,
		   "future: a write through its mapping does not reach the file");
}

static void check(void)
{
	check_shared();
	check_private();
	check_orphan();
	check_sealed();
	check_future();
}

static void break_shared(void)
{
	shared[4 * PAGE + 100] ^= 1;
}

static void break_cow(void)
{
	if (madvise(priv + 2 * PAGE, PAGE, MADV_DONTNEED) < 0)
		zoo_die("break: madvise: %m");
}

/* The mapping replaced by private anonymous memory with the same bytes. */
static void unshare(uint8_t *p, size_t size)
{
	static uint8_t copy[SHARED_PAGES * PAGE];

	memcpy(copy, p, size);
	if (mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		zoo_die("break: mmap: %m");
	memcpy(p, copy, size);
}

static void break_shared_unshared(void)
{
	unshare(shared, SHARED_PAGES * PAGE);
}

static void break_orphan_unshared(void)
{
	unshare(orphan2, SMALL_PAGES * PAGE);
}

static void break_future(void)
{
	if (munmap(future, PAGE) < 0 ||
	    mmap(future, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, future_fd, 0) == MAP_FAILED)
		zoo_die("break: mmap: %m");
}

static const struct zoo_break breaks[] = {
	{"a byte of the shared mapping changed", break_shared},
	{"the private mapping's copied page dropped", break_cow},
	{"the shared mapping made private, same bytes", break_shared_unshared},
	{"the orphan's second mapping made private, same bytes", break_orphan_unshared},
	{"the future-sealed mapping mapped again read-only", break_future},
};

static const struct zoo_desc desc = {
	.requires = "memfd pagemap_scan process_vm",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
