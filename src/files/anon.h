/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * File objects on anonymous inodes, and inotify (docs/files.md): eventfd,
 * timerfd, signalfd, epoll, inotify, fanotify. For each kind, the dump fills CRIU's
 * entry from /proc/PID/fdinfo/FD, and the restore makes the object again in
 * the caller (the controller), close-on-exec, with the entry's status flags.
 * What must be done from inside the task, with the task's fd numbers (the
 * watches of an epoll, arming a timerfd at the end), is left to the caller:
 * the helpers here say what to do.
 *
 * `label` names the object in messages ("pid 42 fd 3 (eventfd)"); every
 * function logs its failure once and returns a negative errno.
 */

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/arena.h"
#include "base/proc.h"
#include "eventfd.pb-c.h"
#include "eventpoll.pb-c.h"
#include "fsnotify.pb-c.h"
#include "signalfd.pb-c.h"
#include "timerfd.pb-c.h"

/* The kinds, as /proc/PID/fd names them. */
#define ANON_EVENTFD "anon_inode:[eventfd]"
#define ANON_TIMERFD "anon_inode:[timerfd]"
#define ANON_SIGNALFD "anon_inode:[signalfd]"
#define ANON_EVENTPOLL "anon_inode:[eventpoll]"
#define ANON_INOTIFY "anon_inode:inotify"
#define ANON_FANOTIFY "anon_inode:[fanotify]"

/*
 * eventfd. EFD_SEMAPHORE (1) is kept in bit 0 of flags, which the access
 * mode of an eventfd (always O_RDWR) leaves free; CRIU does not keep it, and
 * its restore (F_SETFL) ignores that bit.
 */
int eventfd_from_fdinfo(const struct proc_fdinfo *fi, const char *label, EventfdFileEntry *e);
int eventfd_make(const EventfdFileEntry *e, const char *label);

/* timerfd: made unarmed; timerfd_arm_value() says how to arm it (timerfd_settime). */
int timerfd_from_fdinfo(const struct proc_fdinfo *fi, const char *label, TimerfdEntry *e);
int timerfd_make(const TimerfdEntry *e, const char *label);
/*
 * The arguments of timerfd_settime() that give the timer its dumped
 * remaining time and interval from now (an absolute timer: now on its clock
 * plus the remaining time). Afterwards TFD_IOC_SET_TICKS sets e->ticks, the
 * expirations not read yet (timerfd_settime() clears them).
 */
int timerfd_arm_value(const TimerfdEntry *e, const char *label, int *ret_flags,
		      struct itimerspec *ret_value);

/* signalfd. */
int signalfd_from_fdinfo(const struct proc_fdinfo *fi, const char *label, SignalfdEntry *e);
int signalfd_make(const SignalfdEntry *e, const char *label);

/*
 * epoll (fd fd of task pid): the watch list (tfd lines) into e->tfd,
 * allocated in a. Each watched fd must still be open in the task on the file
 * the epoll watches; a watch on a file that no fd of the task holds any more
 * is refused. epoll_make() makes it empty: the watches are added with the
 * task's own fd numbers (the kernel keys a watch by file and fd number).
 */
int epoll_from_fdinfo(pid_t pid, int fd, const struct proc_fdinfo *fi, struct arena *a,
		      const char *label, EventpollFileEntry *e);
int epoll_make(const EventpollFileEntry *e, const char *label);

/*
 * inotify: each watch (wd, mask, inode, file handle) with the path of its
 * inode, found from the file handle on a mount of task pid. Events queued and
 * not read are not kept (as with CRIU). inotify_make() adds the watches again
 * by path with their old wd numbers.
 */
int inotify_from_fdinfo(pid_t pid, const struct proc_fdinfo *fi, struct arena *a, const char *label,
			InotifyFileEntry *e);
int inotify_make(const InotifyFileEntry *e, const char *label);

/*
 * fanotify: the group's flags and each mark (inode marks with the path of
 * their inode, mount marks with their mount point; filesystem marks are
 * refused). Events queued and not read are not kept (as with CRIU).
 * fanotify_make() makes the group again and adds the marks by path.
 */
int fanotify_from_fdinfo(pid_t pid, const struct proc_fdinfo *fi, struct arena *a,
			 const char *label, FanotifyFileEntry *e);
int fanotify_make(const FanotifyFileEntry *e, const char *label);
