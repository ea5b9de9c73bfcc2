/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mappings that change between pre-dump rounds: eight slots of private
 * anonymous memory and one private file mapping, their pages written all
 * the time. On each SIGUSR1 (the predump suite sends it between rounds) the
 * layout changes: a slot is unmapped, another mapped anew, one grown with
 * mremap (it may move), one shrunk, one made read-only or writable again
 * with mprotect, a page of the file mapping dropped with MADV_DONTNEED (its
 * file content shows again). Without SIGUSR1 the layout stays as it is, so
 * the zoo harness's before/after comparison of /proc/PID/maps holds.
 *
 * A model in memory says what every page holds; after the restore every
 * byte is checked against it. A slot being changed when the checkpoint
 * came (`busy`) is not checked; a page being written (`pending`) may hold
 * its old or new version.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096ul
#define NSLOTS 8
#define MAXPAGES 64ul
#define FILE_PAGES 8ul

struct slot {
	uint8_t *base; /* NULL: empty */
	unsigned long npages;
	bool readonly;
	uint32_t ver[MAXPAGES]; /* 0: never written (zeros) */
};

static struct model {
	struct slot s[NSLOTS];
	uint8_t *file;                 /* private file mapping */
	uint32_t file_ver[FILE_PAGES]; /* 0: the file's own content */
	volatile int busy;             /* slot being changed, or -1 */
	volatile long pending;         /* slot * MAXPAGES + page being written, or -1 */
	uint64_t rng;
	unsigned long changes;
} * m;

static volatile sig_atomic_t relayout;

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks = (const struct zoo_break[]){{"a page written behind the model's back", NULL},
					     {"a file page's model changed", NULL}},
	.n_breaks = 2,
};

static uint64_t next(void)
{
	return zoo_xorshift(&m->rng);
}

static uint64_t seed(unsigned slot, unsigned long page, uint32_t ver)
{
	return ((uint64_t)slot << 48) | ((uint64_t)page << 32) | ver;
}

static void write_slot_page(unsigned i, unsigned long p)
{
	struct slot *s = &m->s[i];

	m->pending = (long)(i * MAXPAGES + p);
	zoo_fill(s->base + p * PAGE, PAGE, seed(i, p, s->ver[p] + 1));
	s->ver[p]++;
	m->pending = -1;
}

static void write_file_page(unsigned long p)
{
	m->pending = (long)(NSLOTS * MAXPAGES + p);
	zoo_fill(m->file + p * PAGE, PAGE, seed(NSLOTS, p, m->file_ver[p] + 1));
	m->file_ver[p]++;
	m->pending = -1;
}

static void map_slot(unsigned i, unsigned long npages)
{
	struct slot *s = &m->s[i];
	void *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);

	if (p == MAP_FAILED)
		zoo_die("mmap: %m");
	memset(s->ver, 0, sizeof(s->ver));
	s->base = p;
	s->npages = npages;
	s->readonly = false;
}

/* One change of the layout, of slot i. */
static void change(unsigned i, unsigned kind)
{
	struct slot *s = &m->s[i];
	void *p;

	m->busy = (int)i;
	if (!s->base) {
		map_slot(i, 1 + next() % (MAXPAGES / 2));
	} else if (kind == 0) {
		munmap(s->base, s->npages * PAGE);
		s->base = NULL;
	} else if (kind == 1 && s->npages < MAXPAGES) {
		unsigned long n = s->npages + 1 + next() % (MAXPAGES - s->npages);

		p = mremap(s->base, s->npages * PAGE, n * PAGE, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			zoo_die("mremap: %m");
		s->base = p;
		s->npages = n; /* the new pages are zeros: ver 0 */
	} else if (kind == 2 && s->npages > 1) {
		unsigned long n = s->npages / 2;

		munmap(s->base + n * PAGE, (s->npages - n) * PAGE);
		memset(&s->ver[n], 0, (s->npages - n) * sizeof(s->ver[0]));
		s->npages = n;
	} else if (kind == 3) {
		s->readonly = !s->readonly;
		mprotect(s->base, s->npages * PAGE, PROT_READ | (s->readonly ? 0 : PROT_WRITE));
	} else {
		unsigned long fp = next() % FILE_PAGES;

		m->pending = (long)(NSLOTS * MAXPAGES + fp);
		madvise(m->file + fp * PAGE, PAGE, MADV_DONTNEED);
		m->file_ver[fp] = 0;
		m->pending = -1;
	}
	m->changes++;
	m->busy = -1;
}

static void on_usr1(int sig)
{
	(void)sig;
	relayout = 1;
}

static void step(void)
{
	unsigned i = (unsigned)(next() % NSLOTS);
	struct slot *s = &m->s[i];

	if (s->base && !s->readonly)
		write_slot_page(i, next() % s->npages);
	write_file_page(next() % FILE_PAGES);
}

static bool page_ok(const uint8_t *p, uint64_t sd, uint32_t ver, uint64_t zero_seed)
{
	if (ver)
		return zoo_pattern_mismatch(p, PAGE, sd) < 0;
	return zoo_pattern_mismatch(p, PAGE, zero_seed) < 0;
}

/* What a page of version 0 holds: zeros for anonymous memory, the file's pattern. */
static bool zero_page(const uint8_t *p)
{
	for (unsigned long k = 0; k < PAGE; k++)
		if (p[k])
			return false;
	return true;
}

static void check(void)
{
	unsigned long bad = 0;
	long first = -1;

	for (unsigned i = 0; i < NSLOTS; i++) {
		const struct slot *s = &m->s[i];

		if (!s->base || (int)i == m->busy)
			continue;
		for (unsigned long p = 0; p < s->npages; p++) {
			const uint8_t *pg = s->base + p * PAGE;
			bool ok = s->ver[p] ? zoo_pattern_mismatch(pg, PAGE,
								   seed(i, p, s->ver[p])) < 0
					    : zero_page(pg);

			if (!ok && m->pending == (long)(i * MAXPAGES + p))
				ok = zoo_pattern_mismatch(pg, PAGE, seed(i, p, s->ver[p] + 1)) <
					     0 ||
				     (s->ver[p] == 0
					      ? false
					      : zoo_pattern_mismatch(pg, PAGE,
								     seed(i, p, s->ver[p])) < 0);
			if (!ok && !bad++)
				first = (long)(i * MAXPAGES + p);
		}
	}
	for (unsigned long p = 0; p < FILE_PAGES; p++) {
		const uint8_t *pg = m->file + p * PAGE;
		bool ok = page_ok(pg, seed(NSLOTS, p, m->file_ver[p]), m->file_ver[p], 1000 + p);

		if (!ok && m->pending == (long)(NSLOTS * MAXPAGES + p))
			ok = page_ok(pg, seed(NSLOTS, p, m->file_ver[p] + 1), 1, 0) ||
			     page_ok(pg, 0, 0, 1000 + p);
		if (!ok && !bad++)
			first = (long)(NSLOTS * MAXPAGES + p);
	}
	zoo_expect(!bad, "%lu pages differ from the model, the first %ld (slot %ld page %ld)", bad,
		   first, first / (long)MAXPAGES, first % (long)MAXPAGES);
}

static void map_file(void)
{
	char path[4096];
	uint8_t buf[PAGE];
	int fd;

	zoo_path(path, sizeof(path), "mem-dirty-maps.data");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		zoo_setup_failed("open %s: %m", path);
	for (unsigned long p = 0; p < FILE_PAGES; p++) {
		zoo_fill(buf, PAGE, 1000 + p);
		if (write(fd, buf, PAGE) != (ssize_t)PAGE)
			zoo_setup_failed("write %s: %m", path);
	}
	m->file = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->file == MAP_FAILED)
		zoo_setup_failed("mmap %s: %m", path);
}

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	m->rng = 0x9e3779b97f4a7c15ull;
	m->busy = -1;
	m->pending = -1;
	map_file();
	for (unsigned i = 0; i < NSLOTS; i++)
		map_slot(i, 1 + i * 4);
	signal(SIGUSR1, on_usr1);
	zoo_ready();
	while (!zoo_terminated()) {
		if (relayout) {
			relayout = 0;
			for (unsigned k = 0; k < 6; k++)
				change((unsigned)(next() % NSLOTS), (unsigned)(next() % 5));
		}
		for (int k = 0; k < 50; k++)
			step();
		zoo_sleep_ms(1);
	}
	if (zoo_break_selected() == 1)
		for (unsigned i = 0; i < NSLOTS; i++)
			if (m->s[i].base && !m->s[i].readonly && (int)i != m->busy) {
				m->s[i].base[3] ^= 1;
				break;
			}
	if (zoo_break_selected() == 2)
		m->file_ver[2] += 1;
	check();
	return zoo_verdict();
}
