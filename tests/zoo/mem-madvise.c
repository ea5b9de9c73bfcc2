/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * madvise() advice kept on a mapping: five regions with data, each with
 * one advice, MADV_DONTFORK, MADV_DONTDUMP, MADV_HUGEPAGE, MADV_NOHUGEPAGE
 * and MADV_WIPEONFORK. After restore each carries its VmFlags letters in
 * /proc/self/smaps and its data; then a child shows the fork-time advice
 * working (no DONTFORK region in it, a WIPEONFORK region reading zeros).
 */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096UL
#define PAGES 4UL

struct advised {
	int advice;
	const char *flag; /* its VmFlags letters */
	const char *name;
	uint8_t *addr;
};

static struct advised regions[] = {
	{MADV_DONTFORK, "dc", "MADV_DONTFORK", NULL},
	{MADV_DONTDUMP, "dd", "MADV_DONTDUMP", NULL},
	{MADV_HUGEPAGE, "hg", "MADV_HUGEPAGE", NULL},
	{MADV_NOHUGEPAGE, "nh", "MADV_NOHUGEPAGE", NULL},
	{MADV_WIPEONFORK, "wf", "MADV_WIPEONFORK", NULL},
};

enum { DONTFORK, DONTDUMP, HUGEPAGE, NOHUGEPAGE, WIPEONFORK };

static void setup(void)
{
	/* One mapping, a guard page between the regions so that none merges with another. */
	uint8_t *base = mmap(NULL, ELEMENTSOF(regions) * (PAGES + 1) * PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	for (size_t i = 0; i < ELEMENTSOF(regions); i++) {
		struct advised *r = &regions[i];

		r->addr = base + i * (PAGES + 1) * PAGE + PAGE;
		if (mprotect(r->addr, PAGES * PAGE, PROT_READ | PROT_WRITE))
			zoo_setup_failed("mprotect: %m");
		if (madvise(r->addr, PAGES * PAGE, r->advice)) {
			if (errno == EINVAL && r->advice == MADV_HUGEPAGE)
				zoo_skip("this kernel has no transparent huge pages");
			zoo_setup_failed("madvise(%s): %m", r->name);
		}
		zoo_fill(r->addr, PAGES * PAGE, 70 + i);
	}
}

static void check_flags(void)
{
	for (size_t i = 0; i < ELEMENTSOF(regions); i++) {
		const struct advised *r = &regions[i];
		struct zoo_vma v;
		long off;

		if (!zoo_expect(zoo_vma_at(r->addr, &v), "%s region is gone", r->name))
			continue;
		zoo_expect(v.start == (unsigned long)r->addr &&
				   v.end == (unsigned long)r->addr + PAGES * PAGE,
			   "%s region is %lx-%lx, not %p+%lu pages", r->name, v.start, v.end,
			   (void *)r->addr, PAGES);
		for (size_t j = 0; j < ELEMENTSOF(regions); j++)
			zoo_expect(zoo_vma_flag(&v, regions[j].flag) == (i == j),
				   "%s region: VmFlags \"%s\" %s %s", r->name, v.vmflags,
				   i == j ? "lack" : "have", regions[j].flag);
		off = zoo_pattern_mismatch(r->addr, PAGES * PAGE, 70 + i);
		zoo_expect(off < 0, "%s region differs at offset %ld", r->name, off);
	}
}

/* In a child: 0 if the DONTFORK region is absent and the WIPEONFORK region reads zeros. */
static int child(void)
{
	const uint8_t *wiped = regions[WIPEONFORK].addr;

	if (msync(regions[DONTFORK].addr, PAGE, MS_ASYNC) == 0 || errno != ENOMEM)
		return 1;
	for (size_t i = 0; i < PAGES * PAGE; i++)
		if (wiped[i])
			return 2;
	return 0;
}

static void check_fork(void)
{
	int status;
	pid_t pid = fork();

	if (!zoo_expect(pid >= 0, "fork: %m"))
		return;
	if (pid == 0)
		_exit(child());
	if (!zoo_expect(waitpid(pid, &status, 0) == pid, "waitpid: %m"))
		return;
	zoo_expect(!(WIFEXITED(status) && WEXITSTATUS(status) == 1),
		   "the MADV_DONTFORK region is mapped in a child");
	zoo_expect(!(WIFEXITED(status) && WEXITSTATUS(status) == 2),
		   "the MADV_WIPEONFORK region is not wiped in a child");
	zoo_expect(WIFEXITED(status), "the child died of signal %d", WTERMSIG(status));
}

static void break_dofork(void)
{
	madvise(regions[DONTFORK].addr, PAGES * PAGE, MADV_DOFORK);
}

static void break_dodump(void)
{
	madvise(regions[DONTDUMP].addr, PAGES * PAGE, MADV_DODUMP);
}

static void break_hugepage(void)
{
	madvise(regions[HUGEPAGE].addr, PAGES * PAGE, MADV_NOHUGEPAGE);
}

static void break_nohugepage(void)
{
	madvise(regions[NOHUGEPAGE].addr, PAGES * PAGE, MADV_HUGEPAGE);
}

static void break_keeponfork(void)
{
	madvise(regions[WIPEONFORK].addr, PAGES * PAGE, MADV_KEEPONFORK);
}

static void break_content(void)
{
	regions[DONTDUMP].addr[PAGE + 1] ^= 1;
}

static const struct zoo_break breaks[] = {
	{"MADV_DOFORK undid MADV_DONTFORK", break_dofork},
	{"MADV_DODUMP undid MADV_DONTDUMP", break_dodump},
	{"MADV_NOHUGEPAGE replaced MADV_HUGEPAGE", break_hugepage},
	{"MADV_HUGEPAGE replaced MADV_NOHUGEPAGE", break_nohugepage},
	{"MADV_KEEPONFORK undid MADV_WIPEONFORK", break_keeponfork},
	{"a byte of the MADV_DONTDUMP region changed", break_content},
};

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_flags();
	check_fork();
	return zoo_verdict();
}
