/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Terminals: kinds by device number, settings read and set again (tty.h). */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/tty.h"

/* The kernel's termios carries 19 control characters (CRIU's TERMIOS_NCC). */
#define TTY_NCC 19

#define PTY_MASTER_MAJOR 128 /* UNIX98_PTY_MASTER_MAJOR, 8 majors */
#define PTY_SLAVE_MAJOR 136  /* UNIX98_PTY_SLAVE_MAJOR, 8 majors */
#define PTY_MAJORS 8
#define TTYAUX_MAJOR 5 /* 0 /dev/tty, 1 /dev/console, 2 /dev/ptmx */
#define VT_MAJOR 4

enum tty_kind tty_kind_of(dev_t rdev)
{
	unsigned int ma = major(rdev);

	if (ma >= PTY_SLAVE_MAJOR && ma < PTY_SLAVE_MAJOR + PTY_MAJORS)
		return TTY_KIND_PTY_SLAVE;
	if ((ma >= PTY_MASTER_MAJOR && ma < PTY_MASTER_MAJOR + PTY_MAJORS) ||
	    (ma == TTYAUX_MAJOR && minor(rdev) == 2))
		return TTY_KIND_PTY_MASTER;
	if (ma == TTYAUX_MAJOR || ma == VT_MAJOR)
		return TTY_KIND_OTHER;
	return TTY_KIND_NONE;
}

uint32_t tty_pty_index(dev_t rdev)
{
	return (major(rdev) - PTY_SLAVE_MAJOR) * 256u + minor(rdev);
}

uint32_t tty_info_id(uint32_t index, bool master)
{
	return (index << 1) + (master ? 1 : 0);
}

static TermiosEntry *termios_entry(struct arena *a, const struct termios *t)
{
	TermiosEntry *e = ARENA_MSG(a, TermiosEntry, TERMIOS_ENTRY__INIT);
	uint32_t *cc = arena_alloc(a, TTY_NCC * sizeof(*cc));

	if (!e || !cc)
		return NULL;
	e->c_iflag = t->c_iflag;
	e->c_oflag = t->c_oflag;
	e->c_cflag = t->c_cflag;
	e->c_lflag = t->c_lflag;
	e->c_line = t->c_line;
	e->c_ispeed = cfgetispeed(t);
	e->c_ospeed = cfgetospeed(t);
	for (size_t i = 0; i < TTY_NCC; i++)
		cc[i] = t->c_cc[i];
	e->n_c_cc = TTY_NCC;
	e->c_cc = cc;
	return e;
}

static void termios_from(struct termios *t, const TermiosEntry *e)
{
	*t = (struct termios){
		.c_iflag = e->c_iflag,
		.c_oflag = e->c_oflag,
		.c_cflag = e->c_cflag,
		.c_lflag = e->c_lflag,
		.c_line = (cc_t)e->c_line,
	};
	for (size_t i = 0; i < MIN(e->n_c_cc, (size_t)NCCS); i++)
		t->c_cc[i] = (cc_t)e->c_cc[i];
	cfsetispeed(t, e->c_ispeed);
	cfsetospeed(t, e->c_ospeed);
}

int tty_settings_read(int fd, struct arena *a, TtyInfoEntry *ret)
{
	WinsizeEntry *ws = ARENA_MSG(a, WinsizeEntry, WINSIZE_ENTRY__INIT);
	struct termios t, locked;
	struct winsize w;
	int excl = 0;

	if (!ws)
		return -ENOMEM;
	if (tcgetattr(fd, &t) < 0 || ioctl(fd, TIOCGLCKTRMIOS, &locked) < 0 ||
	    ioctl(fd, TIOCGWINSZ, &w) < 0 || ioctl(fd, TIOCGEXCL, &excl) < 0)
		return negative_errno();
	ret->termios = termios_entry(a, &t);
	ret->termios_locked = termios_entry(a, &locked);
	if (!ret->termios || !ret->termios_locked)
		return -ENOMEM;
	ws->ws_row = w.ws_row;
	ws->ws_col = w.ws_col;
	ws->ws_xpixel = w.ws_xpixel;
	ws->ws_ypixel = w.ws_ypixel;
	ret->winsize = ws;
	ret->exclusive = excl != 0;
	return 0;
}

/*
 * tcsetattr() on the caller's controlling terminal from a background group
 * stops it with SIGTTOU, unless SIGTTOU is blocked.
 */
int tty_set_termios(int fd, const struct termios *t)
{
	sigset_t ttou, old;
	int r = 0;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	pthread_sigmask(SIG_BLOCK, &ttou, &old);
	if (tcsetattr(fd, TCSANOW, t) < 0)
		r = negative_errno();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int tty_settings_apply(int fd, const TtyInfoEntry *tie, const char *label)
{
	struct termios t;
	int r;

	if (tie->termios) {
		termios_from(&t, tie->termios);
		r = tty_set_termios(fd, &t);
		if (r < 0) {
			pr_err("%s: cannot set its termios: %s", label, strerror(-r));
			return r;
		}
	}
	if (tie->winsize) {
		struct winsize w = {
			.ws_row = (unsigned short)tie->winsize->ws_row,
			.ws_col = (unsigned short)tie->winsize->ws_col,
			.ws_xpixel = (unsigned short)tie->winsize->ws_xpixel,
			.ws_ypixel = (unsigned short)tie->winsize->ws_ypixel,
		};

		if (ioctl(fd, TIOCSWINSZ, &w) < 0) {
			r = negative_errno();
			pr_err("%s: cannot set its window size: %s", label, strerror(-r));
			return r;
		}
	}
	return 0;
}

int tty_make_raw(int fd, struct termios *ret_saved)
{
	struct termios saved, raw;
	int r;

	if (tcgetattr(fd, &saved) < 0)
		return negative_errno();
	raw = saved;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	r = tty_set_termios(fd, &raw);
	if (r < 0)
		return r;
	*ret_saved = saved;
	return 0;
}

/*
 * What does not fit in the line discipline's buffer (4 KiB) waits in the
 * terminal's flip buffers and comes in asynchronously once it is read: after
 * data, wait a little for more before taking the queue for empty.
 */
#define TTY_MORE_WAIT_MS 20

int tty_take_queue(int fd, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, len ? TTY_MORE_WAIT_MS : 0) <= 0 || !(p.revents & POLLIN))
			break;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EIO) /* the other end is closed and the queue empty */
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return negative_errno();
		len += n > 0 ? (size_t)n : 0;
		if (n == 0)
			break;
	}
	*ret = len ? TAKE_PTR(buf) : NULL;
	*ret_len = len;
	return 0;
}

int tty_write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0 || !(p.revents & POLLOUT))
			return -EAGAIN;
		n = write(fd, buf, len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return negative_errno();
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return 0;
}
