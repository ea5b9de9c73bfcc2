/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMAs stasis collects against those CRIU 4.2 recorded: run the very
 * program of the counter fixture (same binary, same libc), collect its
 * VMAs, and compare each with its counterpart in the fixture's mm image
 * (same kind, same place in the list: addresses differ, ASLR).
 */

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/macro.h"
#include "image/image.h"
#include "mem/mem.h"

struct state {
	pid_t pid;
	char dir[64];
	struct mem_vmas vmas;
	MmEntry *fixture;
};

static const char *fixtures_dir(void)
{
	const char *env = getenv("FIXTURES");

	return env && *env ? env : STASIS_FIXTURES_DIR;
}

static bool report_written(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_size > 0;
}

/* Whether pid catches sig (SigCgt of /proc/PID/status): a signal sent earlier would kill it. */
static bool catches(pid_t pid, int sig)
{
	unsigned long long mask = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask & (1ull << (sig - 1));
}

/* Start counter REPORT and wait until its buffer is filled (it answers SIGUSR1 then). */
static bool start_counter(struct state *s)
{
	char *bin, *report;
	bool ok = false;
	int status;

	if (asprintf(&bin, "%s/bin/counter", fixtures_dir()) < 0 ||
	    asprintf(&report, "%s/report", s->dir) < 0)
		abort();
	s->pid = fork();
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		execl(bin, bin, report, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; s->pid > 0 && i < 200 && !ok; i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (catches(s->pid, SIGUSR1))
			kill(s->pid, SIGUSR1);
		nanosleep(&ts, NULL);
		ok = report_written(report);
	}
	ok = ok && kill(s->pid, SIGSTOP) == 0 && waitpid(s->pid, &status, WUNTRACED) == s->pid &&
	     WIFSTOPPED(status);
	free(bin);
	free(report);
	return ok;
}

static void stop_counter(struct state *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
	}
	if (s->dir[0]) {
		char *cmd;

		if (asprintf(&cmd, "rm -rf '%s'", s->dir) >= 0 && system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", s->dir);
		free(cmd);
		s->dir[0] = '\0';
	}
}

static int setup(void **state)
{
	struct state *s = calloc(1, sizeof(*s));
	struct ProtobufCMessage *msg = NULL;
	struct img_dir *dir = NULL;
	char *path;
	int r;

	*state = s;
	if (!s)
		return -1;
	strcpy(s->dir, "/tmp/stasis-mem-fixture.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	if (asprintf(&path, "%s/images/counter", fixtures_dir()) < 0)
		abort();
	r = img_dir_open(path, &dir);
	free(path);
	if (r < 0 || img_read_one(dir, IMG_MM, 21002, &msg) < 0) {
		img_dir_free(dir);
		return -1;
	}
	img_dir_free(dir);
	s->fixture = (MmEntry *)msg;
	if (!start_counter(s) || mem_vmas_collect(s->pid, &s->vmas) < 0) {
		stop_counter(s); /* the teardown does not run after a failed setup */
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct state *s = *state;

	if (s) {
		stop_counter(s);
		mem_vmas_release(&s->vmas);
		if (s->fixture)
			img_msg_free(&s->fixture->base);
		free(s);
	}
	return 0;
}

/*
 * What a VMA is, addresses aside: a special area, the i-th area of the n-th
 * file mapped (in order of first appearance), or the i-th other anonymous
 * area.
 */
struct kind {
	char what[16];
	unsigned file, nth;
};

static struct kind kind_of(const VmaEntry *e, const uint64_t *file_ids, unsigned nfiles,
			   unsigned *per_file, unsigned *anon)
{
	struct kind k = {};

	if (mem_vma_is(e, VMA_AREA_HEAP))
		strcpy(k.what, "heap");
	else if (mem_vma_is(e, VMA_AREA_VDSO))
		strcpy(k.what, "vdso");
	else if (mem_vma_is(e, VMA_AREA_VVAR))
		strcpy(k.what, "vvar");
	else if (mem_vma_is(e, VMA_AREA_VSYSCALL))
		strcpy(k.what, "vsyscall");
	else if (e->flags & MAP_GROWSDOWN)
		strcpy(k.what, "stack");
	else if (mem_vma_is(e, VMA_FILE_PRIVATE)) {
		strcpy(k.what, "file");
		for (k.file = 0; k.file < nfiles && file_ids[k.file] != e->shmid; k.file++)
			;
		k.nth = per_file[k.file]++;
	} else {
		strcpy(k.what, "anon");
		k.nth = (*anon)++;
	}
	return k;
}

static void kinds(VmaEntry *const *v, size_t n, const uint64_t *shmid, struct kind *out)
{
	uint64_t ids[8];
	unsigned nids = 0, per_file[8] = {}, anon = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (!mem_vma_is(v[i], VMA_FILE_PRIVATE))
			continue;
		for (unsigned j = 0; j < nids; j++)
			seen |= ids[j] == shmid[i];
		if (!seen && nids < ELEMENTSOF(ids))
			ids[nids++] = shmid[i];
	}
	for (size_t i = 0; i < n; i++) {
		VmaEntry e = *v[i];

		e.shmid = shmid[i];
		out[i] = kind_of(&e, ids, nids, per_file, &anon);
	}
}

static void test_same_vmas_as_criu(void **state)
{
	struct state *s = *state;
	MmEntry *fx = s->fixture;
	size_t n = s->vmas.nr;
	VmaEntry **ours = calloc(n, sizeof(*ours));
	uint64_t *our_ids = calloc(n, sizeof(*our_ids)), *fx_ids;
	struct kind *ko = calloc(n, sizeof(*ko)), *kf;
	unsigned compared_files = 0;

	assert_int_equal(n, fx->n_vmas);
	fx_ids = calloc(n, sizeof(*fx_ids));
	kf = calloc(n, sizeof(*kf));
	for (size_t i = 0; i < n; i++) {
		ours[i] = &s->vmas.v[i].e;
		/* The file ids are the caller's: stand the inode in for them */
		our_ids[i] = s->vmas.v[i].path ? s->vmas.v[i].ino : 0;
		fx_ids[i] = fx->vmas[i]->shmid;
	}
	kinds(ours, n, our_ids, ko);
	kinds(fx->vmas, n, fx_ids, kf);
	for (size_t i = 0; i < n; i++) {
		const VmaEntry *a = ours[i], *b = fx->vmas[i];

		assert_string_equal(ko[i].what, kf[i].what);
		assert_int_equal(ko[i].file, kf[i].file);
		assert_int_equal(ko[i].nth, kf[i].nth);
		assert_int_equal(a->status, b->status);
		assert_int_equal(a->flags, b->flags);
		assert_int_equal(a->prot, b->prot);
		assert_int_equal(a->has_madv, b->has_madv);
		assert_int_equal(a->madv, b->madv);
		assert_int_equal(a->has_fdflags, b->has_fdflags);
		assert_int_equal(a->fdflags, b->fdflags);
		assert_int_equal(a->fd, b->fd);
		assert_int_equal(a->pgoff, b->pgoff);
		if (!streq(ko[i].what, "heap") && !streq(ko[i].what, "stack"))
			assert_int_equal(a->end - a->start, b->end - b->start);
		if (streq(ko[i].what, "file"))
			compared_files++;
	}
	assert_true(compared_files >= 15); /* counter, libc and ld.so */
	free(ours);
	free(our_ids);
	free(fx_ids);
	free(ko);
	free(kf);
}

/* The mm facts CRIU takes from /proc: same shape (auxv keys in the same order). */
static void test_same_mm_shape_as_criu(void **state)
{
	struct state *s = *state;
	struct mem_mm_facts facts = {.dumpable = 1, .exe_file_id = 1};
	MmEntry mm;

	assert_int_equal(mem_mm_fill(s->pid, &s->vmas, &facts, &mm), 0);
	assert_int_equal(mm.n_mm_saved_auxv, s->fixture->n_mm_saved_auxv);
	for (size_t i = 0; i < mm.n_mm_saved_auxv; i += 2)
		assert_int_equal(mm.mm_saved_auxv[i], s->fixture->mm_saved_auxv[i]);
	assert_int_equal(mm.mm_end_code - mm.mm_start_code,
			 s->fixture->mm_end_code - s->fixture->mm_start_code);
	assert_int_equal(mm.mm_end_data - mm.mm_start_data,
			 s->fixture->mm_end_data - s->fixture->mm_start_data);
	assert_int_equal(mm.has_thp_disabled, s->fixture->has_thp_disabled);
	assert_int_equal(mm.thp_disabled, s->fixture->thp_disabled);
	mem_mm_release(&mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_vmas_as_criu),
		cmocka_unit_test(test_same_mm_shape_as_criu),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
