/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stopped child: it advances a counter in shared memory every
 * millisecond until root stops it with SIGSTOP. After the checkpoint it
 * must still be stopped (state T, the counter still), and go on counting
 * once root sends SIGCONT.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

static atomic_ulong *counter;
static pid_t child;

static char state_of(pid_t pid)
{
	struct zoo_stat st;

	return zoo_proc_stat(pid, &st) ? st.state : '?';
}

static void setup(void)
{
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counter == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	child = fork();
	if (child < 0)
		zoo_setup_failed("fork: %m");
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			atomic_fetch_add(counter, 1);
			zoo_sleep_ms(1);
		}
	}
	while (atomic_load(counter) < 3)
		zoo_sleep_ms(1);
	kill(child, SIGSTOP);
	for (int i = 0; i < 1000 && state_of(child) != 'T'; i++)
		zoo_sleep_ms(1);
	if (state_of(child) != 'T')
		zoo_setup_failed("the child did not stop");
}

static void check(void)
{
	unsigned long before = atomic_load(counter);
	int status;

	zoo_expect(state_of(child) == 'T', "the child is in state %c, not stopped",
		   state_of(child));
	zoo_sleep_ms(50);
	zoo_expect(atomic_load(counter) == before, "the stopped child counted on");
	kill(child, SIGCONT);
	for (int i = 0; i < 1000 && atomic_load(counter) == before; i++)
		zoo_sleep_ms(1);
	zoo_expect(atomic_load(counter) > before, "the child did not go on after SIGCONT");
	kill(child, SIGKILL);
	zoo_expect(waitpid(child, &status, 0) == child, "waitpid: %m");
}

static void break_continue(void)
{
	kill(child, SIGCONT);
}

static const struct zoo_break breaks[] = {
	{"the child continued before the checkpoint", break_continue},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
