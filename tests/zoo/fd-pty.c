/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pty pair the program opened itself (/dev/ptmx and its slave): the
 * slave in raw mode with an erase character of its own, a window size,
 * and data written into both directions and not read: more than the line
 * discipline holds towards the slave (the rest waits in the terminal's
 * buffers), less towards the master. After the restore the pair is still
 * one pair (a new /dev/pts/N), with its settings, and each end reads
 * exactly the data queued for it, in order.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "zoo.h"

#define TO_SLAVE_LEN 6000
#define TO_MASTER_LEN 3000
#define SEED_TO_SLAVE 61
#define SEED_TO_MASTER 62
#define PTY_SLAVE_MAJOR 136

static const struct winsize wsize = {.ws_row = 37, .ws_col = 123, .ws_xpixel = 5, .ws_ypixel = 6};
static struct termios raw;
static int master, slave;

static void write_pattern(int fd, size_t len, uint64_t seed, const char *what)
{
	uint8_t buf[TO_SLAVE_LEN];
	size_t off = 0;

	zoo_fill(buf, len, seed);
	while (off < len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ssize_t n;

		if (poll(&p, 1, 1000) != 1)
			zoo_setup_failed("%s: no room after %zu bytes", what, off);
		n = write(fd, buf + off, len - off);
		if (n < 0 && errno != EAGAIN)
			zoo_setup_failed("%s: write: %m", what);
		off += n > 0 ? (size_t)n : 0;
	}
}

static void setup(void)
{
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		zoo_setup_failed("/dev/ptmx: %m");
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (slave < 0)
		zoo_setup_failed("open %s: %m", ptsname(master));
	if (tcgetattr(slave, &raw) < 0)
		zoo_setup_failed("tcgetattr: %m");
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 7;
	raw.c_cc[VERASE] = 0x08;
	if (tcsetattr(slave, TCSANOW, &raw) < 0 || tcgetattr(slave, &raw) < 0 ||
	    ioctl(slave, TIOCSWINSZ, &wsize) < 0)
		zoo_setup_failed("settings: %m");
	write_pattern(master, TO_SLAVE_LEN, SEED_TO_SLAVE, "towards the slave");
	write_pattern(slave, TO_MASTER_LEN, SEED_TO_MASTER, "towards the master");
}

/* Read up to size bytes from fd: all that comes within a short while. */
static size_t read_queue(int fd, uint8_t *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 300) != 1 || !(p.revents & POLLIN))
			break;
		n = read(fd, buf + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void check_queue(int fd, size_t len, uint64_t seed, const char *what)
{
	uint8_t buf[TO_SLAVE_LEN + 64];
	size_t got = read_queue(fd, buf, sizeof(buf));
	long bad = zoo_pattern_mismatch(buf, got < len ? got : len, seed);

	zoo_expect(got == len && bad < 0, "%s: %zu bytes read, not %zu (first difference at %ld)",
		   what, got, len, bad);
}

static void check_settings(void)
{
	struct termios t;
	struct winsize w;

	if (!zoo_expect(tcgetattr(slave, &t) == 0 && ioctl(slave, TIOCGWINSZ, &w) == 0,
			"the slave's settings cannot be read: %m"))
		return;
	zoo_expect(t.c_iflag == raw.c_iflag && t.c_oflag == raw.c_oflag &&
			   t.c_lflag == raw.c_lflag && t.c_cflag == raw.c_cflag,
		   "the slave's termios flags are %#x %#x %#x %#x, not %#x %#x %#x %#x", t.c_iflag,
		   t.c_oflag, t.c_cflag, t.c_lflag, raw.c_iflag, raw.c_oflag, raw.c_cflag,
		   raw.c_lflag);
	zoo_expect(!memcmp(t.c_cc, raw.c_cc, sizeof(t.c_cc)),
		   "the slave's control characters changed (VERASE %#x, VTIME %u)", t.c_cc[VERASE],
		   t.c_cc[VTIME]);
	zoo_expect(w.ws_row == wsize.ws_row && w.ws_col == wsize.ws_col &&
			   w.ws_xpixel == wsize.ws_xpixel && w.ws_ypixel == wsize.ws_ypixel,
		   "the window is %ux%u (%ux%u pixels), not %ux%u (%ux%u)", w.ws_row, w.ws_col,
		   w.ws_xpixel, w.ws_ypixel, wsize.ws_row, wsize.ws_col, wsize.ws_xpixel,
		   wsize.ws_ypixel);
}

/* The slave is still the master's: same index, and a byte goes through. */
static bool check_pair(void)
{
	unsigned int index = ~0u;
	struct stat st = {};

	if (!zoo_expect(fstat(slave, &st) == 0 && major(st.st_rdev) == PTY_SLAVE_MAJOR &&
				ioctl(master, TIOCGPTN, &index) == 0 && minor(st.st_rdev) == index,
			"the slave (pts %u) is not the master's (pts %u)", minor(st.st_rdev),
			index))
		return false;
	return zoo_expect((fcntl(slave, F_GETFL) & O_NONBLOCK) &&
				  !(fcntl(master, F_GETFL) & O_NONBLOCK),
			  "the ends' O_NONBLOCK flags changed");
}

static void check_through(void)
{
	uint8_t c = 0;

	zoo_expect(write(master, "z", 1) == 1 && read_queue(slave, &c, 1) == 1 && c == 'z',
		   "a byte written into the master does not come out of the slave");
}

static void break_read_slave(void)
{
	uint8_t buf[16];

	if (read_queue(slave, buf, sizeof(buf)) != sizeof(buf))
		zoo_die("break: read from the slave: %m");
}

static void break_read_master(void)
{
	uint8_t buf[16];

	if (read_queue(master, buf, sizeof(buf)) != sizeof(buf))
		zoo_die("break: read from the master: %m");
}

static void break_echo(void)
{
	struct termios t = raw;

	t.c_lflag |= ECHO;
	tcsetattr(slave, TCSANOW, &t);
}

static void break_winsize(void)
{
	struct winsize w = wsize;

	w.ws_col = 80;
	ioctl(slave, TIOCSWINSZ, &w);
}

static void break_other_pair(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY), s;

	if (m < 0 || unlockpt(m) < 0 || (s = open(ptsname(m), O_RDWR | O_NOCTTY)) < 0)
		zoo_die("break: another pair: %m");
	dup2(s, slave);
	close(s);
}

static const struct zoo_break breaks[] = {
	{"16 bytes read out of the slave's queue", break_read_slave},
	{"16 bytes read out of the master's queue", break_read_master},
	{"echo turned on on the slave", break_echo},
	{"the window size changed", break_winsize},
	{"the slave replaced by the slave of another pair", break_other_pair},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_settings();
	if (check_pair()) {
		check_queue(slave, TO_SLAVE_LEN, SEED_TO_SLAVE, "the queue towards the slave");
		check_queue(master, TO_MASTER_LEN, SEED_TO_MASTER, "the queue towards the master");
		check_through();
	}
	return zoo_verdict();
}
