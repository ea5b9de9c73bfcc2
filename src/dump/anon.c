/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file objects on anonymous inodes, inotify and fanotify (files/anon.h): one
 * FileEntry of their type per open file description, filled from fdinfo.
 */
#include "base/log.h"
#include "dump/internal.h"
#include "files/anon.h"

static const struct {
	const char *target;
	FdTypes type;
} anon_kinds[] = {
	{ANON_EVENTFD, FD_TYPES__EVENTFD},   {ANON_TIMERFD, FD_TYPES__TIMERFD},
	{ANON_SIGNALFD, FD_TYPES__SIGNALFD}, {ANON_EVENTPOLL, FD_TYPES__EVENTPOLL},
	{ANON_INOTIFY, FD_TYPES__INOTIFY},   {ANON_FANOTIFY, FD_TYPES__FANOTIFY},
};

FdTypes dump_anon_type(const char *target)
{
	for (size_t i = 0; i < ELEMENTSOF(anon_kinds); i++)
		if (streq(target, anon_kinds[i].target))
			return anon_kinds[i].type;
	return FD_TYPES__UND;
}

/* The kind's entry, allocated in a, filled from fi, hung on fe. */
static int fill_entry(struct dump_ctx *ctx, int fd, struct arena *a, FileEntry *fe,
		      const struct proc_fdinfo *fi, FownEntry *fown, const char *label)
{
	switch (fe->type) {
	case FD_TYPES__EVENTFD:
		fe->efd = ARENA_MSG(a, EventfdFileEntry, EVENTFD_FILE_ENTRY__INIT);
		if (!fe->efd)
			return -ENOMEM;
		fe->efd->id = fe->id;
		fe->efd->fown = fown;
		return eventfd_from_fdinfo(fi, label, fe->efd);
	case FD_TYPES__TIMERFD:
		fe->tfd = ARENA_MSG(a, TimerfdEntry, TIMERFD_ENTRY__INIT);
		if (!fe->tfd)
			return -ENOMEM;
		fe->tfd->id = fe->id;
		fe->tfd->fown = fown;
		return timerfd_from_fdinfo(fi, label, fe->tfd);
	case FD_TYPES__SIGNALFD:
		fe->sgfd = ARENA_MSG(a, SignalfdEntry, SIGNALFD_ENTRY__INIT);
		if (!fe->sgfd)
			return -ENOMEM;
		fe->sgfd->id = fe->id;
		fe->sgfd->fown = fown;
		return signalfd_from_fdinfo(fi, label, fe->sgfd);
	case FD_TYPES__EVENTPOLL:
		fe->epfd = ARENA_MSG(a, EventpollFileEntry, EVENTPOLL_FILE_ENTRY__INIT);
		if (!fe->epfd)
			return -ENOMEM;
		fe->epfd->id = fe->id;
		fe->epfd->fown = fown;
		return epoll_from_fdinfo(ctx->pid, fd, fi, a, label, fe->epfd);
	case FD_TYPES__INOTIFY:
		fe->ify = ARENA_MSG(a, InotifyFileEntry, INOTIFY_FILE_ENTRY__INIT);
		if (!fe->ify)
			return -ENOMEM;
		fe->ify->id = fe->id;
		fe->ify->fown = fown;
		return inotify_from_fdinfo(ctx->pid, fi, a, label, fe->ify);
	case FD_TYPES__FANOTIFY:
		fe->ffy = ARENA_MSG(a, FanotifyFileEntry, FANOTIFY_FILE_ENTRY__INIT);
		if (!fe->ffy)
			return -ENOMEM;
		fe->ffy->id = fe->id;
		fe->ffy->fown = fown;
		return fanotify_from_fdinfo(ctx->pid, fi, a, label, fe->ffy);
	default:
		return -EINVAL;
	}
}

int dump_anon_fd(struct dump_ctx *ctx, int fd, FdTypes type, const struct proc_fdinfo *fi,
		 uint32_t *ret_id)
{
	struct arena *a = &ctx->files->arena;
	FownEntry *fown = ARENA_MSG(a, FownEntry, FOWN_ENTRY__INIT);
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&fd_types__descriptor, (int)type);
	FileEntry *fe;
	char label[64];
	int r;

	if (!fown)
		return -ENOMEM;
	r = dump_files_new(ctx->files, type, &fe);
	if (r < 0)
		return r;
	snprintf(label, sizeof(label), "pid %d fd %d (%s)", ctx->pid, fd, v ? v->name : "?");
	r = fill_entry(ctx, fd, a, fe, fi, fown, label);
	if (r < 0)
		return r;
	pr_info("%s: file id %u", label, fe->id);
	*ret_id = fe->id;
	return 0;
}
