/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A shell job on a terminal (tests/suites/tty.sh starts it on a pty, in the
 * foreground, as a shell would): stdin, stdout and stderr on the terminal,
 * which is its controlling terminal; echo turned off, a window of 33x111.
 * After a restore with -j they are on the restoring terminal: still a
 * terminal on all three fds, the controlling one, its group in the
 * foreground, echo off, 33x111; a line typed on it ("ping") is read, and a
 * line written names the terminal ("tty-job: hello from /dev/pts/N").
 *
 * Not a zoo program (those run with stdin on /dev/null), but it keeps the
 * zoo contract and links with zoo.c.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "zoo.h"

#define ROWS 33
#define COLS 111

static void echo_on(void)
{
	struct termios t;

	if (tcgetattr(0, &t) == 0) {
		t.c_lflag |= ECHO;
		tcsetattr(0, TCSANOW, &t);
	}
}

static void resize(void)
{
	struct winsize w = {.ws_row = 24, .ws_col = 80};

	ioctl(0, TIOCSWINSZ, &w);
}

/* The session leader (the shell) gets the terminal's foreground. */
static void background(void)
{
	tcsetpgrp(0, getsid(0));
}

static const struct zoo_break breaks[] = {
	{"echo turned on again", echo_on},
	{"the window resized to 24x80", resize},
	{"the job's group put in the background", background},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

/* The device of the controlling terminal, from /proc/self/stat (tty_nr), or 0. */
static unsigned long ctty_dev(void)
{
	char buf[1024], *p;
	unsigned long tty = 0;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* ") S ppid pgrp session tty_nr" */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %lu", &tty) != 1)
		return 0;
	return tty;
}

static void setup(void)
{
	struct winsize w = {.ws_row = ROWS, .ws_col = COLS};
	struct termios t;
	struct stat st;

	if (!isatty(0) || fstat(0, &st) < 0)
		zoo_setup_failed(
			"stdin is not a terminal: start it on a pty (tests/suites/tty.sh)");
	if (ctty_dev() != st.st_rdev)
		zoo_setup_failed("stdin is not its controlling terminal");
	if (tcgetattr(0, &t) < 0)
		zoo_setup_failed("tcgetattr: %m");
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ICANON;
	if (tcsetattr(0, TCSANOW, &t) < 0 || ioctl(0, TIOCSWINSZ, &w) < 0)
		zoo_setup_failed("setting the terminal: %m");
}

/* false if the terminal cannot be used: not one, or the job is in the background. */
static bool check_fds(void)
{
	struct stat st[3];

	for (int fd = 0; fd < 3; fd++)
		if (!zoo_expect(isatty(fd) && fstat(fd, &st[fd]) == 0, "fd %d is not a terminal",
				fd))
			return false;
	zoo_expect(st[1].st_rdev == st[0].st_rdev && st[2].st_rdev == st[0].st_rdev,
		   "fds 0, 1 and 2 are not on the same terminal");
	zoo_expect(ctty_dev() == st[0].st_rdev,
		   "the controlling terminal (%#lx) is not that of stdin (%#lx)", ctty_dev(),
		   (unsigned long)st[0].st_rdev);
	/* A read from the background would stop it (SIGTTIN). */
	return zoo_expect(tcgetpgrp(0) == getpgrp(), "the foreground group is %d, not its own %d",
			  (int)tcgetpgrp(0), (int)getpgrp());
}

static void check_settings(void)
{
	struct winsize w = {};
	struct termios t = {};

	zoo_expect(tcgetattr(0, &t) == 0 && !(t.c_lflag & ECHO), "echo is on");
	zoo_expect(ioctl(0, TIOCGWINSZ, &w) == 0 && w.ws_row == ROWS && w.ws_col == COLS,
		   "the window is %ux%u, not %ux%u", w.ws_row, w.ws_col, ROWS, COLS);
}

/* The line the test types, then one that names the terminal. */
static void check_io(void)
{
	struct pollfd p = {.fd = 0, .events = POLLIN};
	char line[64] = "";
	ssize_t n = 0;

	if (poll(&p, 1, 5000) == 1)
		n = read(0, line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	zoo_expect(strcmp(line, "ping\n") == 0, "read '%s' from the terminal, not 'ping'", line);
	dprintf(1, "tty-job: hello from %s\n", ttyname(1) ? ttyname(1) : "?");
}

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	if (check_fds()) {
		check_settings();
		check_io();
	}
	return zoo_verdict();
}
