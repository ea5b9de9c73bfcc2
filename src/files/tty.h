/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Terminals (docs/files.md, "Terminals"): what a terminal is from its device
 * number, and its settings (termios, window size) read into CRIU's
 * TtyInfoEntry and set again. Settings belong to the terminal, not to an
 * open file description: any fd on it reads and sets them.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include "base/arena.h"
#include "tty.pb-c.h"

enum tty_kind {
	TTY_KIND_NONE,      /* not a terminal */
	TTY_KIND_PTY_SLAVE, /* /dev/pts/N */
	TTY_KIND_PTY_MASTER,
	TTY_KIND_OTHER, /* /dev/tty, consoles, virtual terminals, serial lines */
};

enum tty_kind tty_kind_of(dev_t rdev);
/* The index N of the pty slave /dev/pts/N. */
uint32_t tty_pty_index(dev_t rdev);
/* CRIU's id of a terminal in tty-info.img: the pty index, twice, plus 1 for a master. */
uint32_t tty_info_id(uint32_t index, bool master);

/* The settings of the terminal fd is on into *ret (allocated in a): termios, locked termios, window
 * size. */
int tty_settings_read(int fd, struct arena *a, TtyInfoEntry *ret);
/* Set the termios and the window size of tie on the terminal fd is on; label names it. */
int tty_settings_apply(int fd, const TtyInfoEntry *tie, const char *label);

/*
 * A pty pair's queues (docs/files.md, "Pty pairs"). A terminal has no way to
 * read its input without taking it: stasis reads it and writes it back at
 * once, with the slave in raw mode meanwhile (tty_make_raw), so that the
 * bytes go back as they were, neither echoed nor converted again.
 */
/* Put fd's terminal in raw mode (reads return what is queued), its settings before into *ret. */
int tty_make_raw(int fd, struct termios *ret_saved);
/* Set t on fd's terminal again (TCSANOW: nothing queued is flushed). */
int tty_set_termios(int fd, const struct termios *t);
/* Take everything queued for reading on fd into a malloc'ed *ret (NULL if nothing). */
int tty_take_queue(int fd, uint8_t **ret, size_t *ret_len);
/* Write len bytes into fd, waiting for room (the other end's input queue). */
int tty_write_all(int fd, const uint8_t *buf, size_t len);
