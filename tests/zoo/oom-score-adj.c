/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OOM killer's bias: oom_score_adj raised to ADJ (raising needs no
 * privilege; lowering it again would need CAP_SYS_RESOURCE). After the
 * restore /proc/self/oom_score_adj reads the same.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zoo.h"

#define ADJ 567

static void write_adj(int adj)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", adj);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		zoo_die("write /proc/self/oom_score_adj: %m");
	close(fd);
}

static int read_adj(void)
{
	char buf[16] = "";
	int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		zoo_die("read /proc/self/oom_score_adj: %m");
	close(fd);
	return atoi(buf);
}

static void check(void)
{
	int adj = read_adj();

	zoo_expect(adj == ADJ, "oom_score_adj is %d, not %d", adj, ADJ);
}

static void break_adj(void)
{
	write_adj(ADJ + 1);
}

static const struct zoo_break breaks[] = {
	{"oom_score_adj raised by one", break_adj},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	if (read_adj() > ADJ)
		zoo_skip("oom_score_adj is already above %d and cannot be lowered", ADJ);
	write_adj(ADJ);
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check();
	return zoo_verdict();
}
