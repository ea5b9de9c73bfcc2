/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Threads (/proc/PID/task), children (/proc/PID/task/TID/children) and the
 * walk of a whole process tree built from them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

/* A growing array of pids. */
struct pid_vec {
	pid_t *v;
	size_t n, cap;
};

static int pid_vec_push(struct pid_vec *vec, pid_t pid)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 16;
		pid_t *v = realloc(vec->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = pid;
	return 0;
}

int proc_parse_pid_list(const char *text, const char *what, pid_t **ret_pids, size_t *ret_n)
{
	struct pid_vec vec = {0};
	const char *p = text;

	while (*(p = proc_skip_blanks(p)) && *p != '\n') {
		int32_t pid;
		int r = proc_scan_s32(&p, &pid);

		if (r == 0 && pid <= 0)
			r = -EINVAL;
		if (r == 0 && *p && *p != ' ' && *p != '\t' && *p != '\n')
			r = -EINVAL;
		if (r < 0) {
			pr_err("%s: line %u: cannot parse pid %zu", what, proc_lineno(text, p),
			       vec.n + 1);
			free(vec.v);
			return -EINVAL;
		}
		r = pid_vec_push(&vec, pid);
		if (r < 0) {
			free(vec.v);
			return r;
		}
	}
	if (*p == '\n' && p[1]) {
		pr_err("%s: line 2: unexpected text after the list", what);
		free(vec.v);
		return -EINVAL;
	}
	*ret_pids = vec.v;
	*ret_n = vec.n;
	return 0;
}

int proc_read_children(pid_t pid, pid_t tid, pid_t **ret_pids, size_t *ret_n)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX];
	size_t len;
	int r;

	proc_path(path, pid, tid > 0 ? tid : pid, "children");
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	return proc_parse_pid_list(buf, path, ret_pids, ret_n);
}

int proc_read_tasks(pid_t pid, pid_t **ret_tids, size_t *ret_n)
{
	struct pid_vec vec = {0};
	char path[PROC_PATH_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	proc_path(path, pid, 0, "task");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return proc_io_error(path, "open");
	r = proc_list_numeric(fd, path, &vec.v, &vec.n);
	if (r < 0)
		return r;
	/* The kernel lists the leader first already; make it a promise. */
	for (size_t i = 1; i < vec.n; i++) {
		if (vec.v[i] == pid) {
			vec.v[i] = vec.v[0];
			vec.v[0] = pid;
			break;
		}
	}
	*ret_tids = vec.v;
	*ret_n = vec.n;
	return 0;
}

/*
 * Pids already in the tree. A task can be listed twice while the tree moves
 * (a child of an exiting thread is handed to a sibling thread between two
 * reads): an open-addressing set keeps the walk linear and finite.
 */
struct pid_set {
	pid_t *slots; /* 0 is empty */
	size_t mask, n;
};

static size_t pid_hash(pid_t pid, size_t mask)
{
	return ((uint32_t)pid * 2654435761u) & mask;
}

static bool pid_set_has(const struct pid_set *s, pid_t pid)
{
	for (size_t i = pid_hash(pid, s->mask); s->slots[i]; i = (i + 1) & s->mask)
		if (s->slots[i] == pid)
			return true;
	return false;
}

static void pid_set_put(struct pid_set *s, pid_t pid)
{
	size_t i = pid_hash(pid, s->mask);

	while (s->slots[i])
		i = (i + 1) & s->mask;
	s->slots[i] = pid;
	s->n++;
}

/* Adds pid unless present: 1 if added, 0 if present, -ENOMEM. */
static int pid_set_add(struct pid_set *s, pid_t pid)
{
	if (s->slots && pid_set_has(s, pid))
		return 0;
	if (!s->slots || 2 * (s->n + 1) > s->mask + 1) {
		struct pid_set big = {.mask = s->slots ? 2 * s->mask + 1 : 63};

		big.slots = calloc(big.mask + 1, sizeof(*big.slots));
		if (!big.slots)
			return -ENOMEM;
		for (size_t i = 0; s->slots && i <= s->mask; i++)
			if (s->slots[i])
				pid_set_put(&big, s->slots[i]);
		free(s->slots);
		*s = big;
	}
	pid_set_put(s, pid);
	return 1;
}

struct walk {
	struct proc_tree tree;
	size_t cap_tasks;
	struct pid_vec tids;
	struct pid_set seen;
};

static int add_task(struct walk *w, pid_t pid, int parent)
{
	int r = pid_set_add(&w->seen, pid);

	if (r <= 0) {
		if (r == 0)
			pr_debug("pid %d listed twice while walking the tree", (int)pid);
		return r;
	}
	if (w->tree.n_tasks == w->cap_tasks) {
		size_t cap = w->cap_tasks ? w->cap_tasks * 2 : 16;
		struct proc_tree_task *t = realloc(w->tree.tasks, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		w->tree.tasks = t;
		w->cap_tasks = cap;
	}
	w->tree.tasks[w->tree.n_tasks++] = (struct proc_tree_task){.pid = pid, .parent = parent};
	return 0;
}

/* Append the children that thread tid of task idx forked; -ENOENT if the thread is gone. */
static int collect_children(struct walk *w, size_t idx, pid_t tid)
{
	_cleanup_free_ pid_t *kids = NULL;
	size_t n;
	int r;

	r = proc_read_children(w->tree.tasks[idx].pid, tid, &kids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = add_task(w, kids[i], (int)idx);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Threads and children of task idx. A thread that exits meanwhile is left out. */
static int visit_task(struct walk *w, size_t idx)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t n;
	int r;

	/* no pointer into tasks is kept: collect_children() may move it */
	r = proc_read_tasks(w->tree.tasks[idx].pid, &tids, &n);
	if (r < 0)
		return r;
	w->tree.tasks[idx].first_thread = w->tids.n;
	for (size_t i = 0; i < n; i++) {
		r = collect_children(w, idx, tids[i]);
		if (r == -ENOENT || r == -ESRCH)
			continue;
		if (r < 0)
			return r;
		r = pid_vec_push(&w->tids, tids[i]);
		if (r < 0)
			return r;
		w->tree.tasks[idx].n_threads++;
	}
	return 0;
}

static void walk_free(struct walk *w)
{
	free(w->tree.tasks);
	free(w->tids.v);
	free(w->seen.slots);
}

int proc_walk_tree(pid_t root, struct proc_tree *ret)
{
	struct walk w = {0};
	int r;

	r = add_task(&w, root, -1);
	/* Breadth first: tasks appended while visiting are visited in turn. */
	for (size_t i = 0; r >= 0 && i < w.tree.n_tasks; i++) {
		r = visit_task(&w, i);
		if (r == -ENOENT || r == -ESRCH || (r == 0 && w.tree.tasks[i].n_threads == 0)) {
			if (i == 0) {
				r = -ESRCH;
				break;
			}
			/* gone: later entries only have parents before i, so they stay valid */
			pr_debug("pid %d exited while walking the tree", (int)w.tree.tasks[i].pid);
			memmove(&w.tree.tasks[i], &w.tree.tasks[i + 1],
				(w.tree.n_tasks - i - 1) * sizeof(w.tree.tasks[0]));
			w.tree.n_tasks--;
			i--;
			r = 0;
		}
	}
	if (r < 0) {
		walk_free(&w);
		return r;
	}
	free(w.seen.slots);
	w.tree.tids = w.tids.v;
	w.tree.n_tids = w.tids.n;
	*ret = w.tree;
	return 0;
}

void proc_tree_free(struct proc_tree *tree)
{
	free(tree->tasks);
	free(tree->tids);
	*tree = (struct proc_tree){0};
}
