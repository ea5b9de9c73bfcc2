/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * File locks (docs/files.md, "File locks"), as CRIU keeps them in
 * filelocks.img: flock, POSIX (fcntl F_SETLK, lockf) and OFD locks. The
 * dump reads them from the "lock:" lines of /proc/PID/fdinfo/FD (each fd
 * shows the locks taken through its own open file description); the
 * restore takes them again: flock and OFD locks on the description, POSIX
 * locks by the process that owns them.
 */

#include <fcntl.h>
#include <stdbool.h>

#include "file-lock.pb-c.h"

/* FileLockEntry.flag, as CRIU writes it (criu/include/file-lock.h). */
#define LOCK_KIND_POSIX 1
#define LOCK_KIND_FLOCK 2
#define LOCK_KIND_OFD 4
#define LOCK_KIND_LEASE 8

/*
 * The lock of one fdinfo "lock:" value ("1: POSIX  ADVISORY  WRITE 42
 * fe:00:1234 5 14") into *ret: flag, type (F_RDLCK, F_WRLCK), start and
 * len (0: to the end of the file); pid and fd are the caller's to fill.
 * -EINVAL if it cannot be parsed; a lease or mandatory lock is parsed with
 * its kind, for the caller to refuse.
 */
int lock_parse(const char *value, FileLockEntry *ret, bool *ret_mandatory);

/* The kind's name ("POSIX", "flock", "OFD", "lease"). */
const char *lock_kind_name(uint32_t flag);

/*
 * Take a flock or OFD lock of e on fd, which holds the lock's open file
 * description; never waits (a conflicting lock is an error). label names it.
 */
int lock_take_on_description(int fd, const FileLockEntry *e, const char *label);
