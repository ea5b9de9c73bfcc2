/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The execution domain: personality(UNAME26 | READ_IMPLIES_EXEC). After the
 * restore personality() reports the same flags and they still act: uname()
 * says 2.6.x, and a new PROT_READ mapping comes out executable, while a
 * read-only mapping made before the personality changed stays r--.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/utsname.h>

#include "zoo.h"

#define PAGE 4096UL
#define FLAGS (UNAME26 | READ_IMPLIES_EXEC)

static void *old_ro;

static void setup(void)
{
	old_ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (old_ro == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	if (personality(PER_LINUX | FLAGS) < 0 || personality(0xffffffff) != (PER_LINUX | FLAGS))
		zoo_setup_failed("personality: %m");
}

static void expect_perms(const char *what, const void *addr, const char *perms)
{
	struct zoo_vma v;

	if (zoo_expect(zoo_vma_at(addr, &v), "%s: no mapping", what))
		zoo_expect(strcmp(v.perms, perms) == 0, "%s is %s, not %s", what, v.perms, perms);
}

static void check(void)
{
	int now = personality(0xffffffff);
	struct utsname u;
	void *ro;

	zoo_expect(now == (PER_LINUX | FLAGS), "personality is %#x, not %#x", now,
		   PER_LINUX | FLAGS);
	if (zoo_expect(uname(&u) == 0, "uname: %m"))
		zoo_expect(strncmp(u.release, "2.6.", 4) == 0,
			   "uname says release %s, not 2.6.x (UNAME26)", u.release);
	expect_perms("the read-only mapping made before", old_ro, "r--p");
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zoo_expect(ro != MAP_FAILED, "mmap: %m"))
		expect_perms("a new PROT_READ mapping (READ_IMPLIES_EXEC)", ro, "r-xp");
}

static void break_linux(void)
{
	personality(PER_LINUX);
}

static void break_uname(void)
{
	personality(PER_LINUX | READ_IMPLIES_EXEC);
}

static void break_exec(void)
{
	personality(PER_LINUX | UNAME26);
}

static const struct zoo_break breaks[] = {
	{"personality reset to PER_LINUX", break_linux},
	{"UNAME26 cleared", break_uname},
	{"READ_IMPLIES_EXEC cleared", break_exec},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
