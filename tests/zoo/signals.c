/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signal state: handlers with flags and masks, an ignored signal, a blocked
 * mask and an alternate signal stack. The check compares what the kernel
 * reports with what it reported at setup, then raises the handled signals to
 * see the handlers run, on the alternate stack and with their masks.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "zoo.h"

#define ALT_SIZE (64UL << 10)

struct disposition {
	int sig;
	struct sigaction set, seen; /* what setup asked, what the kernel reported */
};

static struct disposition disp[3];
static sigset_t blocked;
static stack_t alt;

static volatile sig_atomic_t usr1_runs, usr1_on_alt, usr1_masked, hup_runs;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	char here;
	sigset_t now;

	(void)sig, (void)uc;
	usr1_runs++;
	usr1_on_alt = &here >= (char *)alt.ss_sp && &here < (char *)alt.ss_sp + alt.ss_size;
	sigprocmask(SIG_BLOCK, NULL, &now);
	usr1_masked = sigismember(&now, SIGWINCH) && si->si_code == SI_TKILL;
}

static void on_hup(int sig)
{
	(void)sig;
	hup_runs++;
}

/* Install sa for sig, with the signals of mask_sigs in its mask, and keep
 * what the kernel reports back. */
static void install(struct disposition *d, int sig, struct sigaction sa, const int *mask_sigs,
		    size_t n_mask)
{
	d->sig = sig;
	d->set = sa;
	sigemptyset(&d->set.sa_mask);
	for (size_t i = 0; i < n_mask; i++)
		sigaddset(&d->set.sa_mask, mask_sigs[i]);
	if (sigaction(sig, &d->set, NULL) || sigaction(sig, NULL, &d->seen))
		zoo_setup_failed("sigaction(%d): %m", sig);
}

static void setup(void)
{
	static const int usr1_mask[] = {SIGUSR2, SIGWINCH};

	install(&disp[0], SIGUSR1,
		(struct sigaction){.sa_sigaction = on_usr1,
				   .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK},
		usr1_mask, ELEMENTSOF(usr1_mask));
	install(&disp[1], SIGUSR2, (struct sigaction){.sa_handler = SIG_IGN}, NULL, 0);
	install(&disp[2], SIGHUP,
		(struct sigaction){.sa_handler = on_hup, .sa_flags = SA_RESETHAND | SA_NODEFER},
		NULL, 0);

	alt.ss_sp =
		mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt.ss_sp == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	alt.ss_size = ALT_SIZE;
	if (sigaltstack(&alt, NULL))
		zoo_setup_failed("sigaltstack: %m");

	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGQUIT);
	sigaddset(&blocked, SIGRTMIN + 3);
	if (sigprocmask(SIG_SETMASK, &blocked, NULL))
		zoo_setup_failed("sigprocmask: %m");
}

static bool same_set(const sigset_t *a, const sigset_t *b, int *ret_sig)
{
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sigismember(a, sig) != sigismember(b, sig)) {
			*ret_sig = sig;
			return false;
		}
	return true;
}

static bool check_disposition(const struct disposition *d)
{
	struct sigaction now;
	int sig = 0;

	if (!zoo_expect(sigaction(d->sig, NULL, &now) == 0, "sigaction(%d): %m", d->sig))
		return false;
	if (!zoo_expect(now.sa_handler == d->seen.sa_handler, "signal %d: handler %p, not %p",
			d->sig, (void *)now.sa_handler, (void *)d->seen.sa_handler) ||
	    !zoo_expect(now.sa_flags == d->seen.sa_flags, "signal %d: flags %#x, not %#x", d->sig,
			now.sa_flags, d->seen.sa_flags) ||
	    !zoo_expect(now.sa_restorer == d->seen.sa_restorer, "signal %d: restorer differs",
			d->sig))
		return false;
	if (same_set(&now.sa_mask, &d->seen.sa_mask, &sig))
		return true;
	zoo_fail("signal %d: signal %d in sa_mask changed", d->sig, sig);
	return false;
}

static void check_static(bool ok[3])
{
	sigset_t now;
	stack_t ss;
	int sig = 0;

	for (size_t i = 0; i < ELEMENTSOF(disp); i++)
		ok[i] = check_disposition(&disp[i]);
	sigprocmask(SIG_BLOCK, NULL, &now);
	if (!same_set(&now, &blocked, &sig))
		zoo_fail("blocked mask: signal %d changed", sig);
	sigaltstack(NULL, &ss);
	zoo_expect(ss.ss_sp == alt.ss_sp && ss.ss_size == alt.ss_size && ss.ss_flags == 0,
		   "sigaltstack is %p+%zu flags %#x, not %p+%zu flags 0", ss.ss_sp, ss.ss_size,
		   ss.ss_flags, alt.ss_sp, alt.ss_size);
}

/* Raise the handled signals, only those whose disposition is intact: a
 * default SIGUSR1 would kill the program before it could report. */
static void check_live(const bool ok[3])
{
	struct sigaction now;

	if (ok[0]) {
		raise(SIGUSR1);
		zoo_expect(usr1_runs == 1, "SIGUSR1 handler ran %d times", (int)usr1_runs);
		zoo_expect(usr1_on_alt, "SIGUSR1 handler did not run on the alternate stack");
		zoo_expect(usr1_masked, "SIGUSR1 handler ran without SIGWINCH blocked");
	}
	if (ok[2]) {
		raise(SIGHUP);
		zoo_expect(hup_runs == 1, "SIGHUP handler ran %d times", (int)hup_runs);
		sigaction(SIGHUP, NULL, &now);
		zoo_expect(now.sa_handler == SIG_DFL, "SIGHUP handler not reset after it ran");
	}
}

static void break_handler(void)
{
	signal(SIGUSR1, SIG_DFL);
}

static void break_mask(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGQUIT);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

static void break_altstack(void)
{
	stack_t off = {.ss_flags = SS_DISABLE};

	sigaltstack(&off, NULL);
}

static void break_resethand(void)
{
	struct sigaction sa = disp[2].set;

	sa.sa_flags &= ~SA_RESETHAND;
	sigaction(SIGHUP, &sa, NULL);
}

static const struct zoo_break breaks[] = {
	{"SIGUSR1 handler reset to the default", break_handler},
	{"SIGQUIT unblocked", break_mask},
	{"the alternate signal stack disabled", break_altstack},
	{"SIGHUP lost SA_RESETHAND", break_resethand},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	bool ok[3];

	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_static(ok);
	check_live(ok);
	return zoo_verdict();
}
