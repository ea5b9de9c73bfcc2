/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The workload of bench/fds.sh: a process holding many fds, which checks
 * after the restore that each still holds what it held.
 *
 *   workload-fds files-pipes DIR PIDFILE VERDICT
 *       1,000 regular files (DIR/f-N, each at offset N % 64) and 1,000
 *       pipes holding 64 bytes each
 *   workload-fds mixed[:N] DIR PIDFILE VERDICT
 *       N fds (10,000 by default, a multiple of 8): a quarter each of
 *       regular files, pipe ends and unix socket pair ends (64 bytes queued
 *       in each pipe and pair), eventfds with a count
 *
 * It writes PIDFILE when ready, waits for SIGTERM, checks, and writes "ok"
 * or what is wrong into VERDICT.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG 64

enum kind { FILE_FD, PIPE_FD, SOCK_FD, EVENT_FD };

struct obj {
	enum kind kind;
	int fd[2]; /* a pipe: read, write; a pair: both ends; else fd[0] */
	unsigned n;
};

static volatile sig_atomic_t term;
static struct obj *objs;
static size_t nobjs;
static char why[256];

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void fill(unsigned n, char *buf)
{
	for (unsigned i = 0; i < MSG; i++)
		buf[i] = (char)('a' + (n + i) % 26);
}

static void make(const char *dir, enum kind kind, unsigned n)
{
	struct obj *o = &objs[nobjs++];
	char path[4096], buf[MSG];
	uint64_t count = n + 1;

	o->kind = kind;
	o->n = n;
	fill(n, buf);
	switch (kind) {
	case FILE_FD:
		snprintf(path, sizeof(path), "%s/f-%u", dir, n);
		o->fd[0] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (o->fd[0] < 0 || write(o->fd[0], buf, MSG) != MSG ||
		    lseek(o->fd[0], n % MSG, SEEK_SET) < 0)
			die(path);
		break;
	case PIPE_FD:
		if (pipe(o->fd) < 0 || write(o->fd[1], buf, MSG) != MSG)
			die("pipe");
		break;
	case SOCK_FD:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, o->fd) < 0 ||
		    write(o->fd[0], buf, MSG) != MSG)
			die("socketpair");
		break;
	case EVENT_FD:
		o->fd[0] = eventfd(0, EFD_NONBLOCK);
		if (o->fd[0] < 0 || write(o->fd[0], &count, sizeof(count)) != sizeof(count))
			die("eventfd");
		break;
	}
}

static int check(const struct obj *o)
{
	char want[MSG], got[MSG + 1];
	uint64_t count = 0;

	fill(o->n, want);
	switch (o->kind) {
	case FILE_FD:
		return lseek(o->fd[0], 0, SEEK_CUR) == o->n % MSG &&
		       pread(o->fd[0], got, MSG, 0) == MSG && !memcmp(got, want, MSG);
	case PIPE_FD:
	case SOCK_FD:
		return read(o->fd[o->kind == SOCK_FD], got, sizeof(got)) == MSG &&
		       !memcmp(got, want, MSG);
	case EVENT_FD:
		return read(o->fd[0], &count, sizeof(count)) == sizeof(count) && count == o->n + 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"file", "pipe", "socket pair", "eventfd"};
	struct rlimit nofile;
	FILE *f;

	unsigned mixed = 10000;

	if (argc != 5)
		return 2;
	if (!strncmp(argv[1], "mixed:", 6))
		mixed = (unsigned)atoi(argv[1] + 6) / 8 * 8;
	/* Room for 16,384 fds, or as many as the hard limit allows (tests/suites/fds.sh). */
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
		die("getrlimit");
	nofile.rlim_cur = nofile.rlim_max = nofile.rlim_max < 16384 ? nofile.rlim_max : 16384;
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		die("setrlimit");
	objs = calloc(mixed > 2000 ? mixed : 2000, sizeof(*objs));
	if (!objs)
		die("calloc");
	if (!strcmp(argv[1], "files-pipes")) {
		for (unsigned i = 0; i < 1000; i++)
			make(argv[2], FILE_FD, i), make(argv[2], PIPE_FD, i);
	} else {
		for (unsigned i = 0; i < mixed / 8; i++) {
			make(argv[2], FILE_FD, 2 * i), make(argv[2], FILE_FD, 2 * i + 1);
			make(argv[2], PIPE_FD, i), make(argv[2], SOCK_FD, i);
			make(argv[2], EVENT_FD, 2 * i), make(argv[2], EVENT_FD, 2 * i + 1);
		}
	}
	signal(SIGTERM, on_term);
	f = fopen(argv[3], "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
		die(argv[3]);
	while (!term)
		pause();
	snprintf(why, sizeof(why), "ok");
	for (size_t i = 0; i < nobjs; i++)
		if (!check(&objs[i])) {
			snprintf(why, sizeof(why), "%s %u (fd %d) does not hold what it held",
				 names[objs[i].kind], objs[i].n, objs[i].fd[0]);
			break;
		}
	f = fopen(argv[4], "w");
	if (f) {
		fprintf(f, "%s\n", why);
		fclose(f);
	}
	return strcmp(why, "ok") != 0;
}
