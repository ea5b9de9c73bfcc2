/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seccomp, the last state the task gets before its credentials: the filters
 * of seccomp.img that the thread core names (its oldest filter, and through
 * `prev` the newer ones, as CRIU writes them) are installed oldest first
 * with a remote seccomp(SECCOMP_SET_MODE_FILTER) each, with their flags;
 * strict mode with prctl(PR_SET_SECCOMP). The task was seized with
 * PTRACE_O_SUSPEND_SECCOMP, so the remote syscalls that follow are not
 * filtered; the filters act once the task is let go. Before the
 * credentials, because installing a filter takes CAP_SYS_ADMIN or
 * no_new_privs, and the credentials may drop the first without the second
 * (the task installed its filters before it dropped it).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

/* The flags a filter of a single-threaded task may be installed with again. */
#define KNOWN_FLAGS \
	(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW)

static uint32_t mode_of(const struct rst_ctx *c)
{
	const ThreadCoreEntry *tc = c->img.core->thread_core;

	return tc->has_seccomp_mode ? (uint32_t)tc->seccomp_mode : SECCOMP_MODE_DISABLED;
}

bool rst_seccomp_wanted(const struct rst_ctx *c)
{
	return mode_of(c) != SECCOMP_MODE_DISABLED;
}

/* The filter at index, checked; NULL (and said why) if the image is wrong. */
static const SeccompFilter *filter_at(struct rst_ctx *c, uint32_t index)
{
	const SeccompEntry *se = c->img.seccomp;
	const SeccompFilter *f;

	if (!se || index >= se->n_seccomp_filters) {
		rst_err(c, "seccomp.img has no filter %u (it has %zu)", index,
			se ? se->n_seccomp_filters : 0);
		return NULL;
	}
	f = se->seccomp_filters[index];
	if (!f->filter.len || f->filter.len % sizeof(struct sock_filter) ||
	    f->filter.len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		rst_err(c, "seccomp.img: filter %u is %zu bytes, not a BPF program", index,
			f->filter.len);
		return NULL;
	}
	if (f->has_flags && (f->flags & ~(uint32_t)KNOWN_FLAGS)) {
		rst_err(c, "seccomp.img: filter %u has flags %#x; only %#x are supported", index,
			f->flags, (uint32_t)KNOWN_FLAGS);
		return NULL;
	}
	return f;
}

/* The task's filters, oldest first, into chain (n_seccomp_filters entries at most). */
static int chain_of(struct rst_ctx *c, const SeccompFilter **chain, size_t *ret_n)
{
	const ThreadCoreEntry *tc = c->img.core->thread_core;
	size_t max = c->img.seccomp ? c->img.seccomp->n_seccomp_filters : 0, n = 0;
	uint32_t index = tc->seccomp_filter;

	if (!tc->has_seccomp_filter) {
		rst_err(c, "core-%d.img: seccomp mode filter, but no filter named", c->pid);
		return -EBADMSG;
	}
	for (;;) {
		const SeccompFilter *f = filter_at(c, index);

		if (!f)
			return -EBADMSG;
		if (n == max) {
			rst_err(c, "seccomp.img: the filters' prev links make a loop");
			return -EBADMSG;
		}
		chain[n++] = f;
		if (!f->has_prev)
			break;
		index = f->prev;
	}
	*ret_n = n;
	return 0;
}

int rst_seccomp_check(struct rst_ctx *c)
{
	_cleanup_free_ const SeccompFilter **chain = NULL;
	uint32_t mode = mode_of(c);
	size_t n;

	if (c->img.core->tc->has_old_seccomp_mode &&
	    c->img.core->tc->old_seccomp_mode != SECCOMP_MODE__disabled) {
		rst_err(c, "the image keeps seccomp in the old place (task core); not supported");
		return -EOPNOTSUPP;
	}
	if (mode == SECCOMP_MODE_DISABLED || mode == SECCOMP_MODE_STRICT)
		return 0;
	if (mode != SECCOMP_MODE_FILTER) {
		rst_err(c, "core-%d.img: unknown seccomp mode %u", c->pid, mode);
		return -EBADMSG;
	}
	chain = calloc(c->img.seccomp ? c->img.seccomp->n_seccomp_filters : 1, sizeof(*chain));
	if (!chain)
		return -ENOMEM;
	return chain_of(c, chain, &n);
}

static int install_filter(struct rst_ctx *c, const SeccompFilter *f, size_t index)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(f->filter.len / sizeof(struct sock_filter))};
	unsigned long prog_addr, insns_addr;
	long res;
	int r;

	r = rst_scratch_put(c, sizeof(prog), f->filter.data, f->filter.len, &insns_addr);
	if (r < 0)
		return r;
	prog.filter = (struct sock_filter *)insns_addr;
	r = rst_scratch_put(c, 0, &prog, sizeof(prog), &prog_addr);
	if (r < 0)
		return r;
	res = rst_sys(c, __NR_seccomp, SECCOMP_SET_MODE_FILTER, f->has_flags ? f->flags : 0,
		      prog_addr);
	if (res < 0) {
		rst_err(c, "cannot install seccomp filter %zu (%u instructions): %s", index,
			prog.len, strerror((int)-res));
		return (int)res;
	}
	return 0;
}

int rst_seccomp(struct rst_ctx *c)
{
	_cleanup_free_ const SeccompFilter **chain = NULL;
	uint32_t mode = mode_of(c);
	size_t n;
	long res;
	int r;

	if (mode == SECCOMP_MODE_STRICT) {
		res = rst_sys(c, __NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
		if (res < 0)
			rst_err(c, "prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) failed: %s",
				strerror((int)-res));
		return res < 0 ? (int)res : 0;
	}
	if (mode != SECCOMP_MODE_FILTER)
		return 0;
	chain = calloc(c->img.seccomp->n_seccomp_filters, sizeof(*chain));
	if (!chain)
		return -ENOMEM;
	r = chain_of(c, chain, &n);
	/* Oldest first: each filter is stacked on those installed before it. */
	for (size_t i = 0; r == 0 && i < n; i++)
		r = install_filter(c, chain[i], i);
	if (r == 0)
		rst_info(c, "%zu seccomp filters installed", n);
	return r;
}
