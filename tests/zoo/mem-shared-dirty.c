/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared anonymous memory that keeps changing while pre-dumps run: 16 MiB
 * mapped MAP_SHARED | MAP_ANONYMOUS, written by the parent and a child
 * through their own mappings of the one object, and, after SIGUSR1, by a
 * second child forked then (it maps the object unregistered: a round must
 * save it whole); after SIGUSR2 that child writes a last burst, hands its
 * model to the parent through a pipe and exits (its mapping is gone with
 * the writes it made: a round must save the object whole). Each process owns a quarter or a half of
 * the pages (by page number modulo 4) and keeps a private model of them: the version of each, whose
 * pattern fills the page. A write is often followed by MADV_DONTNEED of the page in the writer's
 * mapping (the data stays in the object, the writer's page table entry is empty again): the trap of
 * docs/predump.md. Every process also reads pages of the others, so that
 * their mappings show those pages present.
 *
 * At SIGTERM the parent stops its children, each checks every byte of its
 * pages against its model (status 0 or 1), and the parent checks its own.
 * A checkpoint may stop a process between a page and its model entry:
 * `pending` names the page being changed, and both versions are accepted.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096ul
#define NPAGES 4096ul

enum { PARENT, CHILD, LATE_CHILD, NROLES };

static uint8_t *mem;
static struct model {
	uint32_t ver[NPAGES];
	volatile long pending; /* page being changed, or -1 */
	uint64_t rng;
	unsigned long steps;
	int role;
	bool adopted; /* the parent keeps the late child's pages' model since it exited */
	pid_t kids[NROLES];
	int late_pipe[2];
} * m;
static volatile sig_atomic_t fork_late, end_late;

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks =
		(const struct zoo_break[]){
			{"a page of the parent's changed behind its model", NULL},
			{"a page of the child's changed behind its model", NULL}},
	.n_breaks = 2,
};

static int owner(unsigned long page)
{
	switch (page % 4) {
	case 1:
		return CHILD;
	case 2:
		return LATE_CHILD;
	default:
		return PARENT;
	}
}

static uint64_t seed(unsigned long page, uint32_t ver)
{
	return ((uint64_t)page << 32) | ver;
}

/* A random page of this process's. */
static unsigned long pick(uint64_t r)
{
	unsigned long base = (r >> 8) % (NPAGES / 4) * 4;

	switch (m->role) {
	case CHILD:
		return base + 1;
	case LATE_CHILD:
		return base + 2;
	default:
		return base + (r & 1 ? 3 : 0);
	}
}

static void step(void)
{
	uint64_t r = zoo_xorshift(&m->rng);
	unsigned long i = pick(r);

	m->pending = (long)i;
	zoo_fill(mem + i * PAGE, PAGE, seed(i, m->ver[i] + 1));
	m->ver[i]++;
	m->pending = -1;
	/* Written here, then this mapping's entry emptied: the object keeps the data. */
	if (r % 3 == 0)
		madvise(mem + i * PAGE, PAGE, MADV_DONTNEED);
	/* Someone else's page, so that this mapping shows it present. */
	(void)*(volatile uint8_t *)(mem + (r >> 24) % NPAGES * PAGE);
	m->steps++;
}

static bool page_is(unsigned long i, uint32_t ver)
{
	const uint8_t *p = mem + i * PAGE;

	if (ver == 0) {
		for (unsigned long k = 0; k < PAGE; k++)
			if (p[k])
				return false;
		return true;
	}
	return zoo_pattern_mismatch(p, PAGE, seed(i, ver)) < 0;
}

static bool mine(unsigned long page)
{
	return owner(page) == m->role || (m->adopted && owner(page) == LATE_CHILD);
}

/* Pages of this process's that differ from its model; the first one in *first. */
static unsigned long count_bad(unsigned long *first)
{
	unsigned long bad = 0;

	for (unsigned long i = 0; i < NPAGES; i++) {
		bool ok;

		if (!mine(i))
			continue;
		ok = page_is(i, m->ver[i]) || ((long)i == m->pending && page_is(i, m->ver[i] + 1));
		if (!ok && !bad++)
			*first = i;
	}
	return bad;
}

/* The late child's last writes, its model into the pipe, and its end. */
static _noreturn_ void late_child_exit(void)
{
	size_t off = 0;

	for (int k = 0; k < 256; k++)
		step();
	while (off < sizeof(m->ver)) {
		ssize_t n = write(m->late_pipe[1], (char *)m->ver + off, sizeof(m->ver) - off);

		if (n <= 0)
			_exit(1);
		off += (size_t)n;
	}
	_exit(0);
}

/* The parent takes the model of the late child's pages over, once it is gone. */
static void adopt_late(void)
{
	static uint32_t ver[NPAGES];
	size_t off = 0;
	int status = 0;

	kill(m->kids[LATE_CHILD], SIGUSR2);
	while (off < sizeof(ver)) {
		ssize_t n = read(m->late_pipe[0], (char *)ver + off, sizeof(ver) - off);

		if (n <= 0)
			zoo_die("the late child's model: %s", n ? "read failed" : "end of file");
		off += (size_t)n;
	}
	if (waitpid(m->kids[LATE_CHILD], &status, 0) != m->kids[LATE_CHILD] || status != 0)
		zoo_die("the late child ended badly (status %#x)", status);
	for (unsigned long i = 0; i < NPAGES; i++)
		if (owner(i) == LATE_CHILD)
			m->ver[i] = ver[i];
	close(m->late_pipe[0]);
	m->kids[LATE_CHILD] = 0;
	m->adopted = true;
}

static void fork_late_child(void)
{
	pid_t pid;

	if (pipe(m->late_pipe) < 0)
		zoo_die("pipe: %m");
	pid = fork();
	if (pid == 0) {
		close(m->late_pipe[0]);
		m->role = LATE_CHILD;
		m->rng ^= 0x9e3779b97f4a7c15ull;
		return;
	}
	close(m->late_pipe[1]);
	if (pid < 0)
		zoo_die("fork: %m");
	m->kids[LATE_CHILD] = pid;
}

static void run(void)
{
	while (!zoo_terminated()) {
		step();
		step();
		zoo_sleep_ms(1);
		if (m->role == LATE_CHILD && end_late)
			late_child_exit();
		if (m->role != PARENT)
			continue;
		if (fork_late && !m->kids[LATE_CHILD] && !m->adopted) {
			fork_late_child();
			if (m->role == LATE_CHILD)
				return;
		}
		if (end_late && m->kids[LATE_CHILD])
			adopt_late();
	}
}

/* A child: write until SIGTERM, then check its pages; the status says how it went. */
static _noreturn_ void child(void)
{
	unsigned long first = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	run();
	if (zoo_break_selected() == 2 && m->role == CHILD)
		mem[(4 * 5 + 1) * PAGE + 9] ^= 1;
	_exit(count_bad(&first) || !m->steps ? 1 : 0);
}

static void on_usr(int sig)
{
	if (sig == SIGUSR1)
		fork_late = 1;
	else
		end_late = 1;
}

static void stop_child(int role, const char *name)
{
	int status;

	if (m->kids[role] <= 0)
		return;
	kill(m->kids[role], SIGTERM);
	if (waitpid(m->kids[role], &status, 0) != m->kids[role])
		zoo_fail("waitpid %s %d: %m", name, m->kids[role]);
	else
		zoo_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			   "the %s %d found its pages differ from its model (status %#x)", name,
			   m->kids[role], status);
}

int main(int argc, char **argv)
{
	unsigned long bad, first = 0;

	zoo_init(argc, argv, &desc);
	mem = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || m == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	m->rng = 0x2545f4914f6cdd1dull;
	m->pending = -1;
	m->role = PARENT;
	for (unsigned long i = 0; i < NPAGES; i += 4)
		step();
	m->kids[CHILD] = fork();
	if (m->kids[CHILD] < 0)
		zoo_setup_failed("fork: %m");
	if (m->kids[CHILD] == 0) {
		m->role = CHILD;
		m->rng = 0x9e3779b97f4a7c15ull;
		child();
	}
	/* SIGUSR1 (the predump suite's "change the layout"): a late child; SIGUSR2: it ends. */
	signal(SIGUSR1, on_usr);
	signal(SIGUSR2, on_usr);
	zoo_ready();
	run();
	if (m->role != PARENT)
		child();
	stop_child(CHILD, "child");
	stop_child(LATE_CHILD, "late child");
	if (zoo_break_selected() == 1)
		mem[4 * 7 * PAGE + 5] ^= 1;
	bad = count_bad(&first);
	zoo_expect(!bad, "%lu of the parent's pages differ from its model, the first page %lu", bad,
		   first);
	zoo_expect(m->steps > 0, "it never wrote anything");
	return zoo_verdict();
}
