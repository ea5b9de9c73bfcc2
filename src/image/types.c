/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one table of image types: crit's name, magics, file name, messages,
 * extra payloads. Magic numbers and file names are CRIU's (criu/include/magic.h,
 * criu/image-desc.c); layouts and extras follow crit (pycriu/images/images.py).
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "image/image.h"
#include "image/pb-msgs.h"

#define D(m) (&m##__descriptor)

/* Entry-list image with the common head magic. */
#define T(t, n, mg, f, m, one)                 \
	[t] = {.type = t,                      \
	       .name = n,                      \
	       .magic = mg,                    \
	       .head_magic = IMG_COMMON_MAGIC, \
	       .fmt = f,                       \
	       .layout = IMG_LAYOUT_ENTRIES,   \
	       .extra = IMG_EXTRA_NONE,        \
	       .single = one,                  \
	       .msg = D(m)}

/* The same, with an extra payload after each entry. */
#define TX(t, n, mg, f, m, x, one)             \
	[t] = {.type = t,                      \
	       .name = n,                      \
	       .magic = mg,                    \
	       .head_magic = IMG_COMMON_MAGIC, \
	       .fmt = f,                       \
	       .layout = IMG_LAYOUT_ENTRIES,   \
	       .extra = x,                     \
	       .single = one,                  \
	       .msg = D(m)}

/* Service files (stats, irmap cache) carry IMG_SERVICE_MAGIC. */
#define TS(t, n, mg, f, m, one)                 \
	[t] = {.type = t,                       \
	       .name = n,                       \
	       .magic = mg,                     \
	       .head_magic = IMG_SERVICE_MAGIC, \
	       .fmt = f,                        \
	       .layout = IMG_LAYOUT_ENTRIES,    \
	       .extra = IMG_EXTRA_NONE,         \
	       .single = one,                   \
	       .msg = D(m)}

#define PAGEMAP_MAGIC 0x56084025u
#define SIGNAL_MAGIC 0x59255647u
#define STATS_MAGIC 0x57093306u

const struct img_type_desc img_types[IMG_TYPE_MAX] = {
	/* inventory.img is the one image without a head magic. */
	[IMG_INVENTORY] = {.type = IMG_INVENTORY,
			   .name = "INVENTORY",
			   .magic = 0x58313116u,
			   .head_magic = 0,
			   .fmt = "inventory.img",
			   .layout = IMG_LAYOUT_ENTRIES,
			   .single = true,
			   .msg = D(inventory_entry)},
	TS(IMG_STATS_DUMP, "STATS", STATS_MAGIC, "stats-dump", stats_entry, true),
	TS(IMG_STATS_RESTORE, "STATS", STATS_MAGIC, "stats-restore", stats_entry, true),
	TS(IMG_IRMAP_CACHE, "IRMAP_CACHE", 0x57004059u, "irmap-cache", irmap_cache_entry, false),
	T(IMG_PSTREE, "PSTREE", 0x50273030u, "pstree.img", pstree_entry, false),
	T(IMG_CORE, "CORE", 0x55053847u, "core-%u.img", core_entry, true),
	T(IMG_IDS, "IDS", 0x54432030u, "ids-%u.img", task_kobj_ids_entry, true),
	T(IMG_MM, "MM", 0x57492820u, "mm-%u.img", mm_entry, true),
	T(IMG_VMAS, "VMAS", 0x54123737u, "vmas-%u.img", vma_entry, false),
	T(IMG_CREDS, "CREDS", 0x54023547u, "creds-%u.img", creds_entry, true),
	T(IMG_FS, "FS", 0x51403912u, "fs-%u.img", fs_entry, true),
	T(IMG_SIGACT, "SIGACT", 0x55344201u, "sigacts-%u.img", sa_entry, false),
	T(IMG_RLIMIT, "RLIMIT", 0x57113925u, "rlimit-%u.img", rlimit_entry, false),
	T(IMG_ITIMERS, "ITIMERS", 0x57464056u, "itimers-%u.img", itimer_entry, false),
	T(IMG_POSIX_TIMERS, "POSIX_TIMERS", 0x52603957u, "posix-timers-%u.img", posix_timer_entry,
	  false),
	T(IMG_SIGNAL, "SIGNAL", SIGNAL_MAGIC, "signal-s-%u.img", siginfo_entry, false),
	T(IMG_PSIGNAL, "SIGNAL", SIGNAL_MAGIC, "signal-p-%u.img", siginfo_entry, false),
	T(IMG_SECCOMP, "SECCOMP", 0x64413049u, "seccomp.img", seccomp_entry, true),
	T(IMG_CPUINFO, "CPUINFO", 0x61404013u, "cpuinfo.img", cpuinfo_entry, true),
	[IMG_PAGEMAP] = {.type = IMG_PAGEMAP,
			 .name = "PAGEMAP",
			 .magic = PAGEMAP_MAGIC,
			 .head_magic = IMG_COMMON_MAGIC,
			 .fmt = "pagemap-%lu.img",
			 .layout = IMG_LAYOUT_PAGEMAP,
			 .msg = D(pagemap_entry),
			 .first_msg = D(pagemap_head)},
	[IMG_SHMEM_PAGEMAP] = {.type = IMG_SHMEM_PAGEMAP,
			       .name = "PAGEMAP",
			       .magic = PAGEMAP_MAGIC,
			       .head_magic = IMG_COMMON_MAGIC,
			       .fmt = "pagemap-shmem-%lu.img",
			       .layout = IMG_LAYOUT_PAGEMAP,
			       .msg = D(pagemap_entry),
			       .first_msg = D(pagemap_head)},
	[IMG_PAGES] = {.type = IMG_PAGES,
		       .name = "PAGES",
		       .magic = IMG_RAW_MAGIC,
		       .head_magic = 0,
		       .fmt = "pages-%u.img",
		       .layout = IMG_LAYOUT_RAW},
	T(IMG_FILES, "FILES", 0x56303138u, "files.img", file_entry, false),
	T(IMG_FDINFO, "FDINFO", 0x56213732u, "fdinfo-%u.img", fdinfo_entry, false),
	T(IMG_REG_FILES, "REG_FILES", 0x50363636u, "reg-files.img", reg_file_entry, false),
	T(IMG_EXT_FILES, "EXT_FILES", 0x59255641u, "ext-files.img", ext_file_entry, false),
	T(IMG_NS_FILES, "NS_FILES", 0x61394011u, "ns-files.img", ns_file_entry, false),
	T(IMG_REMAP_FPATH, "REMAP_FPATH", 0x59133954u, "remap-fpath.img", remap_file_path_entry,
	  false),
	[IMG_GHOST_FILE] = {.type = IMG_GHOST_FILE,
			    .name = "GHOST_FILE",
			    .magic = 0x52583605u,
			    .head_magic = IMG_COMMON_MAGIC,
			    .fmt = "ghost-file-%x.img",
			    .layout = IMG_LAYOUT_GHOST,
			    .extra = IMG_EXTRA_GHOST,
			    .msg = D(ghost_chunk_entry),
			    .first_msg = D(ghost_file_entry)},
	T(IMG_MEMFD_INODE, "MEMFD_INODE", 0x48453499u, "memfd.img", memfd_inode_entry, false),
	T(IMG_PIPES, "PIPES", 0x56513555u, "pipes.img", pipe_entry, false),
	TX(IMG_PIPES_DATA, "PIPES_DATA", 0x56453709u, "pipes-data.img", pipe_data_entry,
	   IMG_EXTRA_PIPE_DATA, false),
	T(IMG_FIFO, "FIFO", 0x58364939u, "fifo.img", fifo_entry, false),
	TX(IMG_FIFO_DATA, "FIFO_DATA", 0x59333054u, "fifo-data.img", pipe_data_entry,
	   IMG_EXTRA_PIPE_DATA, false),
	T(IMG_EVENTFD_FILE, "EVENTFD_FILE", 0x44523722u, "eventfd.img", eventfd_file_entry, false),
	T(IMG_EVENTPOLL_FILE, "EVENTPOLL_FILE", 0x45023858u, "eventpoll.img", eventpoll_file_entry,
	  false),
	T(IMG_EVENTPOLL_TFD, "EVENTPOLL_TFD", 0x44433746u, "eventpoll-tfd.img", eventpoll_tfd_entry,
	  false),
	T(IMG_SIGNALFD, "SIGNALFD", 0x57323820u, "signalfd.img", signalfd_entry, false),
	T(IMG_TIMERFD, "TIMERFD", 0x50493712u, "timerfd.img", timerfd_entry, false),
	T(IMG_INOTIFY_FILE, "INOTIFY_FILE", 0x48424431u, "inotify.img", inotify_file_entry, false),
	T(IMG_INOTIFY_WD, "INOTIFY_WD", 0x54562009u, "inotify-wd.img", inotify_wd_entry, false),
	T(IMG_FANOTIFY_FILE, "FANOTIFY_FILE", 0x55096122u, "fanotify.img", fanotify_file_entry,
	  false),
	T(IMG_FANOTIFY_MARK, "FANOTIFY_MARK", 0x56506035u, "fanotify-mark.img", fanotify_mark_entry,
	  false),
	T(IMG_TTY_FILES, "TTY_FILES", 0x59433025u, "tty.img", tty_file_entry, false),
	T(IMG_TTY_INFO, "TTY_INFO", 0x59453036u, "tty-info.img", tty_info_entry, false),
	T(IMG_TTY_DATA, "TTY_DATA", 0x59413026u, "tty-data.img", tty_data_entry, false),
	T(IMG_FILE_LOCKS, "FILE_LOCKS", 0x54323616u, "filelocks.img", file_lock_entry, false),
	T(IMG_TUNFILE, "TUNFILE", 0x57143751u, "tunfile.img", tunfile_entry, false),
	T(IMG_UNIXSK, "UNIXSK", 0x54373943u, "unixsk.img", unix_sk_entry, false),
	T(IMG_INETSK, "INETSK", 0x56443851u, "inetsk.img", inet_sk_entry, false),
	T(IMG_PACKETSK, "PACKETSK", 0x60454618u, "packetsk.img", packet_sock_entry, false),
	T(IMG_NETLINK_SK, "NETLINK_SK", 0x58005614u, "netlinksk.img", netlink_sk_entry, false),
	TX(IMG_SK_QUEUES, "SK_QUEUES", 0x56264026u, "sk-queues.img", sk_packet_entry,
	   IMG_EXTRA_SK_QUEUE, false),
	TX(IMG_TCP_STREAM, "TCP_STREAM", 0x51465506u, "tcp-stream-%x.img", tcp_stream_entry,
	   IMG_EXTRA_TCP_STREAM, true),
	T(IMG_UTSNS, "UTSNS", 0x54473203u, "utsns-%u.img", utsns_entry, true),
	T(IMG_IPC_VAR, "IPC_VAR", 0x53115007u, "ipcns-var-%u.img", ipc_var_entry, true),
	TX(IMG_IPCNS_SHM, "IPCNS_SHM", 0x46283044u, "ipcns-shm-%u.img", ipc_shm_entry,
	   IMG_EXTRA_IPC_SHM, false),
	TX(IMG_IPCNS_MSG, "IPCNS_MSG", 0x55453737u, "ipcns-msg-%u.img", ipc_msg_entry,
	   IMG_EXTRA_IPC_MSG, false),
	TX(IMG_IPCNS_SEM, "IPCNS_SEM", 0x59573019u, "ipcns-sem-%u.img", ipc_sem_entry,
	   IMG_EXTRA_IPC_SEM, false),
	T(IMG_MNTS, "MNTS", 0x55563928u, "mountpoints-%u.img", mnt_entry, false),
	T(IMG_NETDEV, "NETDEV", 0x57373951u, "netdev-%u.img", net_device_entry, false),
	T(IMG_NETNS, "NETNS", 0x55933752u, "netns-%u.img", netns_entry, true),
	T(IMG_USERNS, "USERNS", 0x55474906u, "userns-%u.img", userns_entry, true),
	T(IMG_TIMENS, "TIMENS", 0x43114433u, "timens-%u.img", timens_entry, true),
	T(IMG_PIDNS, "PIDNS", 0x61157326u, "pidns-%u.img", pidns_entry, true),
	T(IMG_CGROUP, "CGROUP", 0x59383330u, "cgroup.img", cgroup_entry, true),
	T(IMG_AUTOFS, "AUTOFS", 0x49353943u, "autofs-%u.img", autofs_entry, true),
	T(IMG_BINFMT_MISC, "BINFMT_MISC", 0x67343323u, "binfmt-misc.img", binfmt_misc_entry, false),
	T(IMG_BPFMAP_FILE, "BPFMAP_FILE", 0x57506142u, "bpfmap-file.img", bpfmap_file_entry, false),
	TX(IMG_BPFMAP_DATA, "BPFMAP_DATA", 0x64324033u, "bpfmap-data.img", bpfmap_data_entry,
	   IMG_EXTRA_BPFMAP_DATA, false),
	T(IMG_APPARMOR, "APPARMOR", 0x59423047u, "apparmor.img", apparmor_entry, true),
};

const struct img_type_desc *img_type_by_magic(uint32_t magic)
{
	if (magic == IMG_RAW_MAGIC)
		return NULL;
	for (size_t i = 0; i < IMG_TYPE_MAX; i++)
		if (img_types[i].magic == magic)
			return &img_types[i];
	return NULL;
}

const struct img_type_desc *img_type_by_name(const char *crit_name)
{
	for (size_t i = 0; i < IMG_TYPE_MAX; i++)
		if (streq(img_types[i].name, crit_name))
			return &img_types[i];
	return NULL;
}

/* Split a file name pattern around its single conversion ("%u", "%lu", "%x"). */
struct fmt_parts {
	size_t prefix_len;  /* bytes before '%' (the whole pattern if none) */
	const char *suffix; /* after the conversion, NULL if there is none */
	bool hex;
};

static struct fmt_parts fmt_split(const char *fmt)
{
	struct fmt_parts p = {.prefix_len = strlen(fmt)};
	const char *pct = strchr(fmt, '%');

	if (!pct)
		return p;
	p.prefix_len = pct - fmt;
	pct++;
	while (*pct == 'l')
		pct++;
	p.hex = *pct == 'x';
	p.suffix = pct + 1;
	return p;
}

int img_file_name(enum img_type type, uint64_t id, char *buf, size_t size)
{
	const struct img_type_desc *t = img_type_desc(type);
	struct fmt_parts p;
	int n;

	if (!t)
		return -EINVAL;
	p = fmt_split(t->fmt);
	if (!p.suffix)
		n = snprintf(buf, size, "%s", t->fmt);
	else
		n = snprintf(buf, size, p.hex ? "%.*s%" PRIx64 "%s" : "%.*s%" PRIu64 "%s",
			     (int)p.prefix_len, t->fmt, id, p.suffix);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Does name match the pattern? Parses the id when there is a conversion. */
static bool fmt_match(const char *fmt, const char *name, uint64_t *ret_id)
{
	struct fmt_parts p = fmt_split(fmt);
	const char *num, *end;
	size_t slen, nlen;
	char *stop;
	uint64_t id;

	if (!p.suffix) {
		if (!streq(fmt, name))
			return false;
		*ret_id = 0;
		return true;
	}
	if (strncmp(fmt, name, p.prefix_len) != 0)
		return false;
	num = name + p.prefix_len;
	slen = strlen(p.suffix);
	nlen = strlen(num);
	if (nlen <= slen || !streq(num + nlen - slen, p.suffix))
		return false;
	end = num + nlen - slen;
	/* strtoull accepts signs and spaces: insist on digits only. */
	for (const char *c = num; c < end; c++)
		if (!(p.hex ? (c[0] >= '0' && c[0] <= '9') || (c[0] >= 'a' && c[0] <= 'f')
			    : (c[0] >= '0' && c[0] <= '9')))
			return false;
	errno = 0;
	id = strtoull(num, &stop, p.hex ? 16 : 10);
	if (errno || stop != end)
		return false;
	*ret_id = id;
	return true;
}

const struct img_type_desc *img_type_by_file_name(const char *file_name, uint64_t *ret_id)
{
	for (size_t i = 0; i < IMG_TYPE_MAX; i++) {
		uint64_t id;

		if (fmt_match(img_types[i].fmt, file_name, &id)) {
			if (ret_id)
				*ret_id = id;
			return &img_types[i];
		}
	}
	return NULL;
}

const struct ProtobufCMessageDescriptor *img_entry_desc(const struct img_type_desc *t,
							unsigned index)
{
	if (index == 0 && t->first_msg)
		return t->first_msg;
	return t->msg;
}
