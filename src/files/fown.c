/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The owner of an open file description (files/fown.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/fown.h"

#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17 /* with CONFIG_CHECKPOINT_RESTORE */
#endif

/* The entry's fown and status flags, where each kind keeps them. */
#define COMMON(msg) ((msg) ? (*ret = (struct file_common){(msg)->fown, (msg)->flags}, true) : false)

bool file_entry_common(const FileEntry *fe, struct file_common *ret)
{
	switch (fe->type) {
	case FD_TYPES__REG:
		return COMMON(fe->reg);
	case FD_TYPES__PIPE:
		return COMMON(fe->pipe);
	case FD_TYPES__INETSK:
		return COMMON(fe->isk);
	case FD_TYPES__UNIXSK:
		return COMMON(fe->usk);
	case FD_TYPES__EVENTFD:
		return COMMON(fe->efd);
	case FD_TYPES__EVENTPOLL:
		return COMMON(fe->epfd);
	case FD_TYPES__SIGNALFD:
		return COMMON(fe->sgfd);
	case FD_TYPES__TIMERFD:
		return COMMON(fe->tfd);
	case FD_TYPES__INOTIFY:
		return COMMON(fe->ify);
	case FD_TYPES__FANOTIFY:
		return COMMON(fe->ffy);
	case FD_TYPES__TTY:
		return COMMON(fe->tty);
	case FD_TYPES__MEMFD:
		return COMMON(fe->memfd);
	default:
		return false;
	}
}

int fown_read(int fd, const char *label, FownEntry *fown)
{
	struct f_owner_ex owner;
	uid_t uids[2] = {0, 0};
	int sig, r;

	sig = fcntl(fd, F_GETSIG);
	if (sig < 0 || fcntl(fd, F_GETOWN_EX, &owner) < 0 ||
	    (owner.pid && fcntl(fd, F_GETOWNER_UIDS, uids) < 0)) {
		r = negative_errno();
		pr_err("%s: cannot read its owner (F_GETOWN_EX, F_GETSIG, F_GETOWNER_UIDS): %s",
		       label, strerror(-r));
		return r;
	}
	fown->signum = (uint32_t)sig;
	fown->pid_type = (uint32_t)owner.type;
	fown->pid = (uint32_t)owner.pid;
	fown->uid = uids[0];
	fown->euid = uids[1];
	return 0;
}

/* setresuid(2) of this thread alone (glibc's changes every thread of the process). */
static int thread_setresuid(uid_t r, uid_t e, uid_t s)
{
	return syscall(SYS_setresuid, r, e, s) < 0 ? negative_errno() : 0;
}

/*
 * F_SETOWN_EX as uid and euid: the kernel keeps the caller's with the owner.
 * A change of euid also makes the process not dumpable: put that back.
 */
static int set_owner_as(int fd, const FownEntry *fown)
{
	struct f_owner_ex owner = {.type = (int)fown->pid_type, .pid = (pid_t)fown->pid};
	uid_t ruid, euid, suid;
	bool other;
	int r, dumpable;

	if (getresuid(&ruid, &euid, &suid) < 0)
		return negative_errno();
	other = ruid != fown->uid || euid != fown->euid;
	dumpable = prctl(PR_GET_DUMPABLE);
	if (other && (r = thread_setresuid(fown->uid, fown->euid, -1)) < 0)
		return r;
	r = fcntl(fd, F_SETOWN_EX, &owner) < 0 ? negative_errno() : 0;
	if (!other)
		return r;
	/* back, through the saved uid, which stays ours */
	if (thread_setresuid(ruid, euid, -1) < 0) {
		pr_err("cannot take back uid %u and euid %u after setting an owner: %m", ruid,
		       euid);
		abort(); /* running on as another user would be worse */
	}
	if (dumpable > 0)
		(void)prctl(PR_SET_DUMPABLE, dumpable);
	return r;
}

int fown_apply(int fd, const FownEntry *fown, const char *label)
{
	int r;

	if (fown->signum && fcntl(fd, F_SETSIG, (int)fown->signum) < 0) {
		r = negative_errno();
		pr_err("%s: cannot set its signal to %u: %s", label, fown->signum, strerror(-r));
		return r;
	}
	if (!fown->pid)
		return 0;
	r = set_owner_as(fd, fown);
	if (r < 0)
		pr_err("%s: cannot set its owner to %s %u (as uid %u, euid %u): %s", label,
		       fown->pid_type == F_OWNER_PGRP  ? "process group"
		       : fown->pid_type == F_OWNER_TID ? "thread"
						       : "process",
		       fown->pid, fown->uid, fown->euid, strerror(-r));
	return r;
}
