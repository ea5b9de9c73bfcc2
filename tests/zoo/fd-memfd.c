/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfds held by fds: "zoo data", 5 MiB and 123 bytes with data in its
 * first two pages, in page 300 and in its last (partial) page, holes
 * elsewhere, read-write at offset 12345 through two fds sharing the
 * description, sealed against growing and shrinking and against more
 * seals; a read-only close-on-exec description of it at offset 7; "plain",
 * made without MFD_ALLOW_SEALING, mode 0640; "write sealed" with
 * F_SEAL_WRITE. Each must come back with its name (the /proc/self/fd
 * link), size, content and holes, positions, flags, seals and mode.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096L
#define DATA_SIZE (5L * 1024 * 1024 + 123)
#define DATA_POS 12345
#define RO_POS 7
#define DATA_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define PLAIN_MODE 0640

static const struct {
	long off, len;
	uint64_t seed;
} pieces[] = {
	{0, 2 * PAGE, 61},
	{300 * PAGE, PAGE, 62},
	{DATA_SIZE / PAGE * PAGE, DATA_SIZE % PAGE, 63},
};
static const char plain_text[] = "plain memfd, no sealing";
static const char wsealed_text[] = "sealed against writes";

static int data, data_dup, ro, plain, wsealed;

static int make(const char *name, unsigned flags)
{
	int fd = memfd_create(name, flags);

	if (fd < 0)
		zoo_setup_failed("memfd_create(%s): %m", name);
	return fd;
}

static void put(int fd, const void *buf, long len, long off)
{
	if (pwrite(fd, buf, (size_t)len, off) != len)
		zoo_setup_failed("pwrite: %m");
}

static void setup_data(void)
{
	static uint8_t buf[2 * PAGE];
	char link[64];

	data = make("zoo data", MFD_ALLOW_SEALING);
	if (ftruncate(data, DATA_SIZE) < 0)
		zoo_setup_failed("ftruncate: %m");
	for (size_t i = 0; i < ELEMENTSOF(pieces); i++) {
		zoo_fill(buf, (size_t)pieces[i].len, pieces[i].seed);
		put(data, buf, pieces[i].len, pieces[i].off);
	}
	if (fcntl(data, F_ADD_SEALS, DATA_SEALS) < 0)
		zoo_setup_failed("F_ADD_SEALS: %m");
	if (lseek(data, DATA_POS, SEEK_SET) != DATA_POS || (data_dup = dup(data)) < 0)
		zoo_setup_failed("lseek, dup: %m");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", data);
	ro = open(link, O_RDONLY | O_CLOEXEC);
	if (ro < 0 || lseek(ro, RO_POS, SEEK_SET) != RO_POS)
		zoo_setup_failed("open %s: %m", link);
}

static void setup(void)
{
	setup_data();
	plain = make("plain", 0);
	put(plain, plain_text, sizeof(plain_text), 0);
	if (fchmod(plain, PLAIN_MODE) < 0)
		zoo_setup_failed("fchmod: %m");
	wsealed = make("write sealed", MFD_ALLOW_SEALING);
	put(wsealed, wsealed_text, sizeof(wsealed_text), 0);
	if (fcntl(wsealed, F_ADD_SEALS, F_SEAL_WRITE) < 0)
		zoo_setup_failed("F_ADD_SEALS: %m");
}

static bool check_name(int fd, const char *name)
{
	char link[64], target[256] = "", want[256];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
	if (readlink(link, target, sizeof(target) - 1) < 0)
		return zoo_expect(false, "fd %d: readlink: %m", fd);
	return zoo_expect(strcmp(target, want) == 0, "fd %d is %s, not %s", fd, target, want);
}

static void check_seals(int fd, int want, const char *what)
{
	int seals = fcntl(fd, F_GET_SEALS);

	zoo_expect(seals == want, "%s: seals %#x, not %#x", what, seals, want);
}

static bool piece_holds(const uint8_t *buf, long len, long off, size_t piece)
{
	for (long j = 0; j < len; j++)
		if (buf[j] !=
		    zoo_pattern(pieces[piece].seed, (uint64_t)(off - pieces[piece].off + j)))
			return false;
	return true;
}

/* The pieces hold their data, the rest reads as zeros, and the holes are still holes. */
static void check_content(void)
{
	static uint8_t buf[PAGE];
	char link[64];
	long off;
	int fd;

	for (off = 0; off < DATA_SIZE; off += PAGE) {
		long len = off + PAGE > DATA_SIZE ? DATA_SIZE - off : PAGE;
		size_t i;

		if (pread(data, buf, (size_t)len, off) != len) {
			zoo_fail("data: pread at %ld: %m", off);
			return;
		}
		for (i = 0; i < ELEMENTSOF(pieces); i++)
			if (off >= pieces[i].off && off < pieces[i].off + pieces[i].len)
				break;
		if (i < ELEMENTSOF(pieces)) {
			if (!zoo_expect(piece_holds(buf, len, off, i), "data: page at %ld differs",
					off))
				return;
			continue;
		}
		for (i = 0; i < (size_t)len && !buf[i]; i++)
			;
		if (!zoo_expect(i == (size_t)len, "data: the hole at %ld holds a byte at %zu", off,
				i))
			return;
	}
	/* Through a description of its own: SEEK_HOLE and SEEK_DATA move the position. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", data);
	fd = open(link, O_RDONLY | O_CLOEXEC);
	off = lseek(fd, 0, SEEK_HOLE);
	zoo_expect(off == 2 * PAGE, "data: its first hole is at %ld, not %ld", off, 2 * PAGE);
	off = lseek(fd, 2 * PAGE, SEEK_DATA);
	zoo_expect(off == 300 * PAGE, "data: its data after the first hole is at %ld, not %ld", off,
		   300 * PAGE);
	close(fd);
}

static void check_data(void)
{
	struct stat st, st_ro;

	check_name(data, "zoo data");
	if (!zoo_expect(fstat(data, &st) == 0 && fstat(ro, &st_ro) == 0, "fstat: %m"))
		return;
	zoo_expect(st.st_size == DATA_SIZE, "data: size %ld, not %ld", (long)st.st_size, DATA_SIZE);
	zoo_expect((fcntl(data, F_GETFL) & O_ACCMODE) == O_RDWR, "data: not read-write");
	zoo_expect(lseek(data, 0, SEEK_CUR) == DATA_POS, "data: at %ld, not %d",
		   (long)lseek(data, 0, SEEK_CUR), DATA_POS);
	check_seals(data, DATA_SEALS, "data");
	zoo_expect(ftruncate(data, DATA_SIZE + 1) < 0 && errno == EPERM,
		   "data: it grows (F_SEAL_GROW lost)");
	zoo_expect(fcntl(data, F_ADD_SEALS, F_SEAL_WRITE) < 0,
		   "data: it takes a seal (F_SEAL_SEAL lost)");
	check_content();
	/* The dup shares the description: a seek through one moves the other. */
	lseek(data_dup, 99, SEEK_SET);
	zoo_expect(lseek(data, 0, SEEK_CUR) == 99, "data: its dup has a position of its own");
	check_name(ro, "zoo data");
	/* (O_LARGEFILE, 0100000, is 0 in glibc's headers here; the kernel sets it.) */
	zoo_expect((fcntl(ro, F_GETFL) & ~0100000) == O_RDONLY, "ro: flags %#o, not O_RDONLY",
		   fcntl(ro, F_GETFL));
	zoo_expect(fcntl(ro, F_GETFD) == FD_CLOEXEC, "ro: not close-on-exec");
	zoo_expect(lseek(ro, 0, SEEK_CUR) == RO_POS, "ro: at %ld, not %d",
		   (long)lseek(ro, 0, SEEK_CUR), RO_POS);
	zoo_expect(st_ro.st_ino == st.st_ino, "ro: not on the inode of data");
}

static void check_others(void)
{
	char buf[64] = "";
	struct stat st;

	check_name(plain, "plain");
	check_seals(plain, F_SEAL_SEAL, "plain");
	if (zoo_expect(fstat(plain, &st) == 0, "plain: fstat: %m"))
		zoo_expect((st.st_mode & 07777) == PLAIN_MODE, "plain: mode %o, not %o",
			   st.st_mode & 07777, PLAIN_MODE);
	zoo_expect(pread(plain, buf, sizeof(buf), 0) == sizeof(plain_text) &&
			   strcmp(buf, plain_text) == 0,
		   "plain: it holds \"%s\"", buf);
	check_name(wsealed, "write sealed");
	check_seals(wsealed, F_SEAL_WRITE, "write sealed");
	zoo_expect(pwrite(wsealed, "x", 1, 0) < 0 && errno == EPERM,
		   "write sealed: it takes a write");
	zoo_expect(pread(wsealed, buf, sizeof(buf), 0) == sizeof(wsealed_text) &&
			   strcmp(buf, wsealed_text) == 0,
		   "write sealed: it holds \"%s\"", buf);
}

static void break_content(void)
{
	uint8_t b = 0x5a;

	if (pwrite(data, &b, 1, 300 * PAGE + 17) != 1)
		zoo_die("break: pwrite: %m");
}

static void break_hole(void)
{
	if (pwrite(data, "", 1, 100 * PAGE) != 1)
		zoo_die("break: pwrite: %m");
}

static void break_position(void)
{
	lseek(data, DATA_POS + 1, SEEK_SET);
}

static void break_unsealed(void)
{
	int fd = make("write sealed", 0);

	if (pwrite(fd, wsealed_text, sizeof(wsealed_text), 0) < 0)
		zoo_die("break: pwrite: %m");
	dup2(fd, wsealed);
	close(fd);
}

static void break_mode(void)
{
	fchmod(plain, 0600);
}

static void break_name(void)
{
	int fd = make("zoo dat", MFD_ALLOW_SEALING);

	dup2(fd, plain);
	close(fd);
}

static const struct zoo_break breaks[] = {
	{"a byte of data changed", break_content},
	{"a hole written with a zero", break_hole},
	{"data moved by a byte", break_position},
	{"the write-sealed memfd replaced by an unsealed one", break_unsealed},
	{"plain's mode changed", break_mode},
	{"plain replaced by a memfd of another name", break_name},
};

static const struct zoo_desc desc = {
	.requires = "memfd",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

static void check(void)
{
	check_data();
	check_others();
}

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
