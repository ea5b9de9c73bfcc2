/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Credentials: supplementary groups, distinct real/effective/saved/fs group
 * and user ids, capabilities kept across the uid change with securebits,
 * a capability dropped from the effective, permitted and bounding sets, one
 * raised into the ambient set, and no_new_privs. After the restore every one
 * of them is what it was.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zoo.h"

#define NGROUPS 3
#define CAP_WORDS 2
#define DROPPED CAP_NET_RAW   /* out of the effective, permitted and bounding sets */
#define AMBIENT CAP_CHOWN     /* raised into the ambient set */
#define BOUNDING CAP_SYS_BOOT /* out of the bounding set only */

static const gid_t groups[NGROUPS] = {1110, 1120, 1130};
static const uid_t uids[4] = {2001, 2002, 0, 2004}; /* real, effective, saved, fs */
static const gid_t gids[4] = {3001, 3002, 3003, 3004};

struct creds {
	uid_t uid[4];
	gid_t gid[4];
	gid_t groups[64];
	int n_groups;
	struct __user_cap_data_struct caps[CAP_WORDS];
	uint64_t bounding, ambient;
	int securebits, no_new_privs;
};

static struct creds want;

static int cap_last(void)
{
	int last = CAP_LAST_CAP;

	while (prctl(PR_CAPBSET_READ, last + 1) >= 0)
		last++;
	return last;
}

static void read_creds(struct creds *c)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	int last = cap_last();

	*c = (struct creds){};
	getresuid(&c->uid[0], &c->uid[1], &c->uid[2]);
	c->uid[3] = (uid_t)setfsuid((uid_t)-1);
	getresgid(&c->gid[0], &c->gid[1], &c->gid[2]);
	c->gid[3] = (gid_t)setfsgid((gid_t)-1);
	c->n_groups = getgroups(ELEMENTSOF(c->groups), c->groups);
	syscall(SYS_capget, &hdr, c->caps);
	for (int cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_READ, cap) == 1)
			c->bounding |= 1ULL << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			c->ambient |= 1ULL << cap;
	}
	c->securebits = prctl(PR_GET_SECUREBITS);
	c->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}

static void setup(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[CAP_WORDS];

	if (geteuid() != 0)
		zoo_skip("needs root to change its credentials");
	/* Keep the capabilities while the uids change. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS) ||
	    setgroups(NGROUPS, groups) || setresgid(gids[0], gids[1], gids[2]))
		zoo_setup_failed("securebits, groups, gids: %m");
	setfsgid(gids[3]);
	if (prctl(PR_CAPBSET_DROP, DROPPED) || prctl(PR_CAPBSET_DROP, BOUNDING) ||
	    syscall(SYS_capget, &hdr, caps))
		zoo_setup_failed("bounding set: %m");
	caps[DROPPED / 32].effective &= ~(1u << (DROPPED % 32));
	caps[DROPPED / 32].permitted &= ~(1u << (DROPPED % 32));
	caps[AMBIENT / 32].inheritable |= 1u << (AMBIENT % 32);
	if (syscall(SYS_capset, &hdr, caps) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, AMBIENT, 0, 0))
		zoo_setup_failed("capabilities: %m");
	if (setresuid(uids[0], uids[1], uids[2]))
		zoo_setup_failed("setresuid: %m");
	setfsuid(uids[3]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		zoo_setup_failed("no_new_privs: %m");
	read_creds(&want);
	if (want.uid[3] != uids[3] || want.gid[3] != gids[3] || want.n_groups != NGROUPS)
		zoo_setup_failed("the credentials did not take");
}

static void check(void)
{
	struct creds now;

	read_creds(&now);
	for (int i = 0; i < 4; i++) {
		zoo_expect(now.uid[i] == want.uid[i], "uid %d is %u, not %u", i, now.uid[i],
			   want.uid[i]);
		zoo_expect(now.gid[i] == want.gid[i], "gid %d is %u, not %u", i, now.gid[i],
			   want.gid[i]);
	}
	if (zoo_expect(now.n_groups == want.n_groups, "%d groups, not %d", now.n_groups,
		       want.n_groups))
		for (int i = 0; i < now.n_groups; i++)
			zoo_expect(now.groups[i] == want.groups[i], "group %d is %u, not %u", i,
				   now.groups[i], want.groups[i]);
	for (int i = 0; i < CAP_WORDS; i++)
		zoo_expect(now.caps[i].effective == want.caps[i].effective &&
				   now.caps[i].permitted == want.caps[i].permitted &&
				   now.caps[i].inheritable == want.caps[i].inheritable,
			   "capabilities word %d: eff %#x prm %#x inh %#x, not %#x %#x %#x", i,
			   now.caps[i].effective, now.caps[i].permitted, now.caps[i].inheritable,
			   want.caps[i].effective, want.caps[i].permitted,
			   want.caps[i].inheritable);
	zoo_expect(now.bounding == want.bounding, "bounding set %#llx, not %#llx",
		   (unsigned long long)now.bounding, (unsigned long long)want.bounding);
	zoo_expect(now.ambient == want.ambient, "ambient set %#llx, not %#llx",
		   (unsigned long long)now.ambient, (unsigned long long)want.ambient);
	zoo_expect(now.securebits == want.securebits, "securebits %#x, not %#x", now.securebits,
		   want.securebits);
	zoo_expect(now.no_new_privs == want.no_new_privs, "no_new_privs %d, not %d",
		   now.no_new_privs, want.no_new_privs);
}

static void break_groups(void)
{
	setgroups(NGROUPS - 1, groups);
}

static void break_fsuid(void)
{
	setfsuid(uids[3] + 1);
}

static void break_egid(void)
{
	setresgid((gid_t)-1, gids[0], (gid_t)-1);
}

static void break_bounding(void)
{
	prctl(PR_CAPBSET_DROP, CAP_MKNOD);
}

static void break_ambient(void)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static void break_securebits(void)
{
	prctl(PR_SET_SECUREBITS, want.securebits | SECBIT_NOROOT);
}

static void break_effective(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[CAP_WORDS];

	syscall(SYS_capget, &hdr, caps);
	caps[0].effective &= ~(1u << CAP_KILL);
	syscall(SYS_capset, &hdr, caps);
}

static const struct zoo_break breaks[] = {
	{"a supplementary group dropped", break_groups},
	{"the fsuid changed", break_fsuid},
	{"the effective gid changed", break_egid},
	{"CAP_MKNOD dropped from the bounding set", break_bounding},
	{"the ambient set cleared", break_ambient},
	{"SECBIT_NOROOT added to the securebits", break_securebits},
	{"CAP_KILL dropped from the effective set", break_effective},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
