/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed while running on the alternate signal stack: the program
 * raises SIGUSR1, whose handler (SA_ONSTACK, SIGUSR2 in its mask) writes the
 * pid file and waits for SIGTERM there, on the alternate stack. After the
 * restore the handler still runs on it (sigaltstack() says SS_ONSTACK, same
 * stack), with its mask; then it returns through its signal frame, and the
 * program is back on its own stack with its old mask and the alternate stack
 * still set up (and no longer in use).
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "zoo.h"

#define ALT_SIZE (64UL << 10)
#define CANARY_SIZE 1024 /* the lowest bytes of the alternate stack, never used by the frame */
#define SEED 91

static stack_t alt;
static sigset_t before;
static volatile sig_atomic_t handler_done;

static bool on_alt(const void *p)
{
	return (const char *)p >= (char *)alt.ss_sp &&
	       (const char *)p < (char *)alt.ss_sp + alt.ss_size;
}

static void check_in_handler(const void *here)
{
	sigset_t now;
	stack_t ss;
	long off;

	zoo_expect(on_alt(here), "the handler no longer runs on the alternate stack");
	sigaltstack(NULL, &ss);
	zoo_expect(ss.ss_sp == alt.ss_sp && ss.ss_size == alt.ss_size && ss.ss_flags == SS_ONSTACK,
		   "in the handler, sigaltstack is %p+%zu flags %#x, not %p+%zu SS_ONSTACK",
		   ss.ss_sp, ss.ss_size, ss.ss_flags, alt.ss_sp, alt.ss_size);
	sigprocmask(SIG_BLOCK, NULL, &now);
	zoo_expect(sigismember(&now, SIGUSR1) && sigismember(&now, SIGUSR2),
		   "in the handler, SIGUSR1 or SIGUSR2 is not blocked");
	off = zoo_pattern_mismatch(alt.ss_sp, CANARY_SIZE, SEED);
	zoo_expect(off < 0, "the alternate stack differs at offset %ld", off);
}

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	char here;

	(void)sig, (void)si;
	zoo_ready();
	switch (zoo_break_selected()) {
	case 1: /* the frame's saved mask: SIGUSR2 stays blocked after the handler */
		sigaddset(&uc->uc_sigmask, SIGUSR2);
		break;
	case 2:
		((uint8_t *)alt.ss_sp)[100] ^= 1;
		break;
	}
	zoo_wait_term();
	check_in_handler(&here);
	handler_done = 1;
}

static void setup(void)
{
	struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_ONSTACK};

	alt.ss_sp =
		mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt.ss_sp == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	alt.ss_size = ALT_SIZE;
	zoo_fill(alt.ss_sp, CANARY_SIZE, SEED);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaltstack(&alt, NULL) || sigaction(SIGUSR1, &sa, NULL) ||
	    sigprocmask(SIG_BLOCK, NULL, &before))
		zoo_setup_failed("sigaltstack/sigaction: %m");
}

static void check_after(void)
{
	char here;
	sigset_t now;
	stack_t ss;

	zoo_expect(handler_done, "the handler did not finish");
	zoo_expect(!on_alt(&here), "back from the handler, still on the alternate stack");
	sigaltstack(NULL, &ss);
	zoo_expect(ss.ss_sp == alt.ss_sp && ss.ss_size == alt.ss_size && ss.ss_flags == 0,
		   "after the handler, sigaltstack is %p+%zu flags %#x, not %p+%zu flags 0",
		   ss.ss_sp, ss.ss_size, ss.ss_flags, alt.ss_sp, alt.ss_size);
	sigprocmask(SIG_BLOCK, NULL, &now);
	for (int sig = 1; sig < SIGRTMAX; sig++)
		if (!zoo_expect(sigismember(&now, sig) == sigismember(&before, sig),
				"after the handler, signal %d is %s", sig,
				sigismember(&now, sig) ? "blocked" : "not blocked"))
			break;
}

static const struct zoo_break breaks[] = {
	{"the signal frame's saved mask gets SIGUSR2", NULL},
	{"a byte of the alternate stack below the frame changed", NULL},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	raise(SIGUSR1); /* the whole wait happens in the handler */
	check_after();
	return zoo_verdict();
}
