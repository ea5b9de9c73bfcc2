/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "base/log.h"
#include "dump/remote.h"

int remote_open(struct rsys_task *t, struct remote *ret)
{
	unsigned long addr;
	int r;

	r = rsys_mmap_scratch(t, 0, REMOTE_SCRATCH_SIZE, &addr);
	if (r < 0) {
		pr_err("pid %d: cannot map a scratch page: %s", rsys_task_tid(t), strerror(-r));
		return r;
	}
	*ret = (struct remote){.task = t, .scratch = addr};
	return 0;
}

int remote_call(struct remote *r, const char *what, long nr, unsigned long a0, unsigned long a1,
		unsigned long a2, unsigned long a3, long *ret_result)
{
	const unsigned long args[6] = {a0, a1, a2, a3, 0, 0};
	long res;
	int k;

	k = rsys_syscall(r->task, nr, args, &res);
	if (k < 0) {
		pr_err("pid %d: cannot run %s in the task: %s", rsys_task_tid(r->task), what,
		       strerror(-k));
		return k;
	}
	if (res < 0 && res > -4096) {
		pr_err("pid %d: %s failed in the task: %s", rsys_task_tid(r->task), what,
		       strerror((int)-res));
		return (int)res;
	}
	if (ret_result)
		*ret_result = res;
	return 0;
}

int remote_call_out(struct remote *r, const char *what, long nr, const unsigned long args[6],
		    int arg, void *out, size_t len)
{
	unsigned long a[6];
	int k;

	memcpy(a, args, sizeof(a));
	a[arg] = r->scratch;
	k = remote_call(r, what, nr, a[0], a[1], a[2], a[3], NULL);
	if (k < 0)
		return k;
	return rsys_read_mem(r->task, r->scratch, out, len);
}
