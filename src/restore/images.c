/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the images of the task: inventory, pstree, core, ids, mm, fs,
 * files and fdinfo, pipes and their data, and the pagemap. Everything is read before anything is
 * created, so that a missing or malformed image stops the restore while
 * there is nothing to undo.
 */
#include <stdlib.h>

#include "base/sorted.h"
#include "restore/internal.h"

/* Read a single-entry image that must be there. */
static bool files_sorted(const struct rst_images *img);

static int read_required(struct rst_ctx *c, enum img_type type, uint64_t id, void **ret_msg)
{
	struct ProtobufCMessage *msg;
	char name[64];
	int r;

	r = img_read_one(c->img.dir, type, id, &msg);
	if (r == -ENOENT) {
		img_file_name(type, id, name, sizeof(name));
		pr_err("restore: %s: %s is missing", img_dir_path(c->img.dir), name);
	}
	if (r < 0)
		return r;
	*ret_msg = msg;
	return 0;
}

/* Read every entry of an image into a malloc'ed array; an absent file gives none. */
static int read_all(struct rst_images *img, enum img_type type, uint64_t id, void ***ret_msgs,
		    size_t *ret_n)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	void **msgs = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = img_open(img->dir, type, id, &f);
	if (r == -ENOENT) {
		*ret_msgs = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};

		r = img_next(f, &e);
		if (r <= 0)
			break;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void **nm = reallocarray(msgs, ncap, sizeof(*nm));

			if (!nm) {
				r = -ENOMEM;
				break;
			}
			msgs = nm;
			cap = ncap;
		}
		msgs[n++] = img_entry_take_msg(&e);
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			img_msg_free(msgs[i]);
		free(msgs);
		return r;
	}
	*ret_msgs = msgs;
	*ret_n = n;
	return 0;
}

/*
 * Where task index hangs in the tree: its parent must come before it (CRIU
 * and stasis write parents first), and its session must be its own or its
 * parent's (a session inherited from a task that is gone needs a helper
 * task, which this restore does not make).
 */
static int place_in_tree(struct rst_ctx *c, PstreeEntry **items, size_t index)
{
	const PstreeEntry *item = items[index], *parent = NULL;

	c->parent = 0;
	if (index == 0)
		return 0;
	for (size_t i = 0; i < index && !parent; i++)
		if (items[i]->pid == item->ppid) {
			parent = items[i];
			c->parent = i;
		}
	if (!parent) {
		pr_err("restore: pstree.img: the parent %u of pid %u is not listed before it",
		       item->ppid, item->pid);
		return -EBADMSG;
	}
	if (item->sid != item->pid && item->sid != parent->sid) {
		pr_err("restore: pid %u is in session %u, which its parent %u is not in: the "
		       "session's leader (or a task between them) is gone; stasis cannot "
		       "recreate such a session",
		       item->pid, item->sid, parent->pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int read_pstree(struct rst_ctx *c, size_t index, size_t *ret_ntasks)
{
	void **items;
	size_t n;
	int r;

	r = read_all(&c->img, IMG_PSTREE, 0, &items, &n);
	if (r < 0)
		return r;
	if (n == 0) {
		pr_err("restore: %s: no pstree.img (or an empty one): not an image directory?",
		       img_dir_path(c->img.dir));
		free(items);
		return -ENOENT;
	}
	r = index < n ? place_in_tree(c, (PstreeEntry **)items, index) : -EINVAL;
	if (r == 0)
		c->img.item = TAKE_PTR(items[index]);
	for (size_t i = 0; i < n; i++)
		img_msg_free(items[i]);
	free(items);
	if (r < 0)
		return r;
	*ret_ntasks = n;
	c->index = index;
	c->pid = (pid_t)c->img.item->pid;
	c->tid = c->pid;
	return 0;
}

/* core-TID.img of every thread of pstree's item, the leader's first. */
static int read_thread_cores(struct rst_ctx *c)
{
	struct rst_images *img = &c->img;
	const PstreeEntry *item = img->item;

	if (item->n_threads == 0 || item->threads[0] != item->pid) {
		rst_err(c, "pstree.img: the task's first thread is %d, not the task itself",
			item->n_threads ? (int)item->threads[0] : 0);
		return -EBADMSG;
	}
	img->thread_cores = calloc(item->n_threads, sizeof(*img->thread_cores));
	if (!img->thread_cores)
		return -ENOMEM;
	for (size_t i = 0; i < item->n_threads; i++) {
		int r = read_required(c, IMG_CORE, item->threads[i],
				      (void **)&img->thread_cores[i]);

		if (r < 0)
			return r;
		img->nthreads++;
	}
	img->core = img->thread_cores[0];
	return 0;
}

int rst_images_load(struct rst_ctx *c, const char *dir, size_t index, size_t *ret_ntasks)
{
	struct rst_images *img = &c->img;
	uint64_t fdinfo_id;
	int r;

	r = img_dir_open(dir, &img->dir); /* says why it cannot */
	if (r < 0)
		return r;
	r = read_required(c, IMG_INVENTORY, 0, (void **)&img->inv);
	if (r < 0)
		return r;
	r = read_pstree(c, index, ret_ntasks);
	if (r < 0)
		return r;
	r = read_thread_cores(c);
	if (r < 0)
		return r;
	/* A zombie has its core only: its task part says how it died. */
	if (img->core->tc && img->core->tc->task_state == RST_TASK_DEAD) {
		c->zombie = true;
		return 0;
	}
	/* Images before CRIU 2.x kept the ids inside core. */
	r = img_read_one(img->dir, IMG_IDS, c->pid, (struct ProtobufCMessage **)&img->ids);
	if (r == -ENOENT && img->core->ids)
		r = 0;
	else if (r == -ENOENT)
		r = read_required(c, IMG_IDS, c->pid, (void **)&img->ids);
	if (r < 0)
		return r;
	r = read_required(c, IMG_MM, c->pid, (void **)&img->mm);
	if (r < 0)
		return r;
	r = read_required(c, IMG_FS, c->pid, (void **)&img->fs);
	if (r < 0)
		return r;
	r = read_all(img, IMG_FILES, 0, (void ***)&img->files, &img->nfiles);
	img->files_sorted = files_sorted(img);
	if (r < 0)
		return r;
	r = read_all(img, IMG_REG_FILES, 0, (void ***)&img->regs, &img->nregs);
	if (r < 0)
		return r;
	r = read_all(img, IMG_REMAP_FPATH, 0, (void ***)&img->remaps, &img->nremaps);
	if (r < 0)
		return r;
	r = read_all(img, IMG_PIPES, 0, (void ***)&img->pipes, &img->npipes);
	if (r < 0)
		return r;
	r = rst_pipe_data_read(img->dir, IMG_PIPES_DATA, &img->pipe_data, &img->npipe_data);
	if (r < 0)
		return r;
	/* fdinfo is per files_struct id since CRIU 3.x (inventory says so), per pid before. */
	fdinfo_id = c->pid;
	if (img->inv->has_fdinfo_per_id && img->inv->fdinfo_per_id)
		fdinfo_id = rst_ids(img)->files_id;
	r = read_all(img, IMG_FDINFO, fdinfo_id, (void ***)&img->fds, &img->nfds);
	if (r < 0)
		return r;
	/* CRIU writes it always; a directory without it has no filters. */
	r = img_read_one(img->dir, IMG_SECCOMP, 0, (struct ProtobufCMessage **)&img->seccomp);
	if (r < 0 && r != -ENOENT)
		return r;
	r = img_pagemap_open(img->dir, IMG_PAGEMAP, c->pid, &img->pm);
	if (r == -ENOENT)
		rst_err(c, "pagemap-%d.img is missing", c->pid);
	if (r < 0)
		return r;
	return 0;
}

static void free_msgs(void **msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		img_msg_free(msgs[i]);
	free(msgs);
}

void rst_images_free(struct rst_images *img)
{
	img_pagemap_free(img->pm);
	img_msg_free((struct ProtobufCMessage *)img->seccomp);
	rst_pipe_data_free(img->pipe_data, img->npipe_data);
	free_msgs((void **)img->pipes, img->npipes);
	free_msgs((void **)img->remaps, img->nremaps);
	free_msgs((void **)img->fds, img->nfds);
	free_msgs((void **)img->regs, img->nregs);
	free_msgs((void **)img->files, img->nfiles);
	img_msg_free((struct ProtobufCMessage *)img->fs);
	img_msg_free((struct ProtobufCMessage *)img->mm);
	img_msg_free((struct ProtobufCMessage *)img->ids);
	free_msgs((void **)img->thread_cores, img->nthreads);
	img_msg_free((struct ProtobufCMessage *)img->item);
	img_msg_free((struct ProtobufCMessage *)img->inv);
	img_dir_free(img->dir);
	*img = (struct rst_images){};
}

/* Are the entries of files.img in increasing id order (as stasis and CRIU write them)? */
static bool files_sorted(const struct rst_images *img)
{
	for (size_t i = 1; i < img->nfiles; i++)
		if (img->files[i - 1]->id >= img->files[i]->id)
			return false;
	return true;
}

static uint64_t file_key(const void *base, size_t i)
{
	return ((FileEntry *const *)base)[i]->id;
}

const FileEntry *rst_file_entry(const struct rst_images *img, uint32_t id)
{
	size_t at;

	if (!img->files_sorted) {
		for (size_t i = 0; i < img->nfiles; i++)
			if (img->files[i]->id == id)
				return img->files[i];
		return NULL;
	}
	at = sorted_find(img->files, img->nfiles, id, file_key);
	return at < img->nfiles ? img->files[at] : NULL;
}

const RegFileEntry *rst_reg_file(const struct rst_images *img, uint32_t id)
{
	const FileEntry *fe = rst_file_entry(img, id);

	if (fe)
		return fe->type == FD_TYPES__REG ? fe->reg : NULL;
	for (size_t i = 0; i < img->nregs; i++)
		if (img->regs[i]->id == id)
			return img->regs[i];
	return NULL;
}

const TaskKobjIdsEntry *rst_ids(const struct rst_images *img)
{
	return img->ids ? img->ids : img->core->ids;
}
