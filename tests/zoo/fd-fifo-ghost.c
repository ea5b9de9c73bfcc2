/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A FIFO deleted while open (a ghost FIFO): its read end (non-blocking) and
 * write end, data queued, mode 0640, then its path unlinked; and a second
 * deleted FIFO of which only a read-write fd is held, with data. After the
 * restore: each fd still on a FIFO with no link left (its /proc link ends
 * in " (deleted)"), both ends of the first on one FIFO, the mode, the
 * flags, the queued bytes in order and no more, and a byte still goes
 * through.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define DATA "queued in a deleted FIFO"
#define DATA2 "and in a second one"

static int rd, wr, both;
static char path[4096], path2[4096];

static void make_fifo(const char *p)
{
	if (mkfifo(p, 0600) < 0 || chmod(p, 0640) < 0)
		zoo_setup_failed("mkfifo %s: %m", p);
}

static void setup(void)
{
	zoo_path(path, sizeof(path), "ghost.fifo");
	zoo_path(path2, sizeof(path2), "ghost2.fifo");
	make_fifo(path);
	make_fifo(path2);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	wr = open(path, O_WRONLY);
	both = open(path2, O_RDWR);
	if (rd < 0 || wr < 0 || both < 0)
		zoo_setup_failed("open the FIFOs: %m");
	if (write(wr, DATA, strlen(DATA)) != (ssize_t)strlen(DATA) ||
	    write(both, DATA2, strlen(DATA2)) != (ssize_t)strlen(DATA2))
		zoo_setup_failed("write into the FIFOs: %m");
	if (unlink(path) < 0 || unlink(path2) < 0)
		zoo_setup_failed("unlink the FIFOs: %m");
}

static bool check_ghost(int fd, const char *what, const char *was)
{
	char link[64], target[4096 + 16], want[4096 + 16];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%s (deleted)", was);
	return zoo_expect(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_nlink == 0,
			  "%s: not a FIFO without links", what) &&
	       zoo_expect((st.st_mode & 07777) == 0640, "%s: mode %o, not 640", what,
			  st.st_mode & 07777) &&
	       zoo_expect(strcmp(target, want) == 0, "%s: link %s, not %s", what, target, want);
}

/* Exactly want is queued in the FIFO read through fd (non-blocking). */
static void check_data(int fd, const char *what, const char *want)
{
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	zoo_expect(n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0,
		   "%s: read %zd bytes, not the %zu queued", what, n, strlen(want));
	zoo_expect(read(fd, buf, sizeof(buf)) < 0, "%s: more data than was queued", what);
}

static void check(void)
{
	struct stat a, b;
	char c = 0;

	if (!check_ghost(rd, "the read end", path) || !check_ghost(wr, "the write end", path) ||
	    !check_ghost(both, "the read-write fd", path2))
		return;
	zoo_expect(fstat(rd, &a) == 0 && fstat(wr, &b) == 0 && a.st_ino == b.st_ino,
		   "the two ends are on different FIFOs");
	zoo_expect((fcntl(rd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK) &&
			   (fcntl(wr, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_WRONLY,
		   "the flags of the ends changed");
	fcntl(both, F_SETFL, O_NONBLOCK);
	check_data(rd, "the first FIFO", DATA);
	check_data(both, "the second FIFO", DATA2);
	zoo_expect(write(wr, "!", 1) == 1 && read(rd, &c, 1) == 1 && c == '!',
		   "a byte does not go through the first FIFO");
}

static void break_read(void)
{
	char buf[4];

	if (read(rd, buf, sizeof(buf)) < 0)
		zoo_die("read: %m");
}

static void break_write(void)
{
	if (write(both, "+", 1) != 1)
		zoo_die("write: %m");
}

static void break_replace(void)
{
	int p[2];

	if (pipe(p) < 0 || dup2(p[1], wr) < 0)
		zoo_die("pipe: %m");
}

static const struct zoo_break breaks[] = {
	{"bytes read from the first FIFO", break_read},
	{"a byte written into the second FIFO", break_write},
	{"the write end replaced by a pipe's", break_replace},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
