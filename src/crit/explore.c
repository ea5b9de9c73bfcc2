/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crit x DIR ps|fds|mems|rss: the explorers of crit's __main__.py, with
 * the same text, and `sk`, which crit lacks; each also as JSON (--json).
 * They read the images through the generated structs. This file holds
 * what they share, ps and fds; mems and rss are in explore-mem.c, sk in
 * explore-sk.c.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/bytes-conv.h"
#include "crit/crit.h"
#include "crit/explore.h"
#include "proto/core.pb-c.h"
#include "proto/fs.pb-c.h"
#include "proto/pipe.pb-c.h"
#include "proto/regfile.pb-c.h"
#include "proto/sk-unix.pb-c.h"

int explore_read_one(struct explorer *x, enum img_type type, uint64_t id, ProtobufCMessage **ret)
{
	int r = img_read_one(x->dir, type, id, ret);
	char name[64];

	if (r == -ENOENT && img_file_name(type, id, name, sizeof(name)) == 0)
		pr_err("%s/%s: no such image", img_dir_path(x->dir), name);
	return r;
}

static void explorer_clear(struct explorer *x)
{
	struct msgs *lists[] = {&x->pstree,  &x->files,   &x->regs,       &x->pipes,
				&x->unixsks, &x->inetsks, &x->netlinksks, &x->packetsks};

	for (size_t i = 0; i < ELEMENTSOF(lists); i++)
		msgs_clear(lists[i]);
	free(x->vids);
}

static const PstreeEntry *pstree_at(const struct explorer *x, size_t i)
{
	return (const PstreeEntry *)x->pstree.m[i];
}

int explore_find_in_files(struct explorer *x, uint32_t id, const FileEntry **ret)
{
	int r;

	if (!x->files.loaded) {
		r = msgs_load(x->dir, IMG_FILES, 0, &x->files);
		/* crit takes a files.img it cannot read as an empty one */
		if (r < 0 && r != -ENOENT && r != -EBADMSG)
			return r;
		x->files.loaded = true;
	}
	*ret = NULL;
	for (size_t i = 0; i < x->files.n; i++)
		if (((const FileEntry *)x->files.m[i])->id == id)
			*ret = (const FileEntry *)x->files.m[i];
	return 0;
}

int explore_find_in_image(struct explorer *x, struct msgs *l, enum img_type type, uint32_t id,
			  const ProtobufCMessage **ret)
{
	const ProtobufCFieldDescriptor *f;
	int r;

	*ret = NULL;
	if (!l->loaded) {
		r = msgs_load(x->dir, type, 0, l);
		if (r == -ENOENT)
			l->loaded = true;
		else if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->n; i++) {
		f = protobuf_c_message_descriptor_get_field_by_name(l->m[i]->descriptor, "id");
		if (f && *(const uint32_t *)((const char *)l->m[i] + f->offset) == id)
			*ret = l->m[i];
	}
	return 0;
}

const char *explore_fd_type_name(FdTypes type)
{
	const ProtobufCEnumValue *ev =
		protobuf_c_enum_descriptor_get_value(&fd_types__descriptor, type);

	return ev ? ev->name : NULL;
}

static int unix_str(const UnixSkEntry *u, char **ret)
{
	_cleanup_free_ char *name = NULL;
	size_t len = 0;
	int r;

	if (!u) {
		*ret = strdup("unix[?]");
		return *ret ? 0 : -ENOMEM;
	}
	/* crit prints the name as decode shows it: quoted-printable */
	r = qp_encode(u->name.data, u->name.len, &name, &len);
	if (r < 0)
		return r;
	return asprintf(ret, "unix[%u (%u)%s%s]", u->ino, u->peer, len ? " " : "", name) < 0
		       ? -ENOMEM
		       : 0;
}

int explore_file_str(struct explorer *x, FdTypes type, uint32_t id, char **ret)
{
	const char *tname = explore_fd_type_name(type);
	const ProtobufCMessage *m = NULL;
	const FileEntry *fe;
	int r;

	if (type != FD_TYPES__REG && type != FD_TYPES__PIPE && type != FD_TYPES__UNIXSK) {
		if (tname)
			return asprintf(ret, "%s.%u", tname, id) < 0 ? -ENOMEM : 0;
		return asprintf(ret, "%d.%u", type, id) < 0 ? -ENOMEM : 0;
	}
	r = explore_find_in_files(x, id, &fe);
	if (r < 0)
		return r;
	if (fe && type == FD_TYPES__REG)
		m = fe->reg ? &fe->reg->base : NULL;
	else if (fe && type == FD_TYPES__PIPE)
		m = fe->pipe ? &fe->pipe->base : NULL;
	else if (fe)
		m = fe->usk ? &fe->usk->base : NULL;
	else if (type == FD_TYPES__REG)
		r = explore_find_in_image(x, &x->regs, IMG_REG_FILES, id, &m);
	else if (type == FD_TYPES__PIPE)
		r = explore_find_in_image(x, &x->pipes, IMG_PIPES, id, &m);
	else
		r = explore_find_in_image(x, &x->unixsks, IMG_UNIXSK, id, &m);
	if (r < 0)
		return r;
	if (type == FD_TYPES__UNIXSK)
		return unix_str((const UnixSkEntry *)m, ret);
	if (type == FD_TYPES__PIPE && m)
		return asprintf(ret, "pipe[%u]", ((const PipeEntry *)m)->pipe_id) < 0 ? -ENOMEM : 0;
	if (type == FD_TYPES__PIPE) {
		*ret = strdup("pipe[?]");
	} else {
		const RegFileEntry *rf = (const RegFileEntry *)m;

		*ret = strdup(rf && rf->name && *rf->name ? rf->name : "unknown path");
	}
	return *ret ? 0 : -ENOMEM;
}

/* The file name as text ("<before><name><after>") or as the JSON member key. */
static int emit_file(struct explorer *x, const char *before, const char *key, FdTypes type,
		     uint32_t id)
{
	_cleanup_free_ char *s = NULL;
	int r = explore_file_str(x, type, id, &s);

	if (r < 0)
		return r;
	if (x->json) {
		json_key(x->json, key);
		json_cstr(x->json, s);
	} else {
		fprintf(x->out, "%s%s\n", before, s);
	}
	return 0;
}

/* ---- ps ---- */

static void ps_json(struct explorer *x, const PstreeEntry *p, const char *comm)
{
	struct json_out *o = x->json;

	json_obj_begin(o);
	json_key(o, "pid");
	json_u64(o, p->pid);
	json_key(o, "ppid");
	json_u64(o, p->ppid);
	json_key(o, "pgid");
	json_u64(o, p->pgid);
	json_key(o, "sid");
	json_u64(o, p->sid);
	json_key(o, "comm");
	json_cstr(o, comm);
	json_key(o, "threads");
	json_arr_begin(o);
	for (size_t i = 0; i < p->n_threads; i++)
		json_u64(o, p->threads[i]);
	json_arr_end(o);
	json_obj_end(o);
}

static int print_ps(struct explorer *x, size_t i, const char *const *comms, unsigned depth)
{
	const PstreeEntry *p = pstree_at(x, i);
	int r;

	/* a task listed twice can make a loop */
	if (depth > x->pstree.n) {
		pr_err("%s/pstree.img: the process tree has a loop", img_dir_path(x->dir));
		return -EBADMSG;
	}
	if (x->json)
		ps_json(x, p, comms[i]);
	else
		fprintf(x->out, "%7u%7u%7u   %*s%s\n", p->pid, p->pgid, p->sid, 4 * depth, "",
			comms[i]);
	for (size_t k = 0; k < x->pstree.n; k++) {
		if (pstree_at(x, k)->ppid != p->pid || pstree_at(x, k)->ppid == 0)
			continue;
		r = print_ps(x, k, comms, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The root of the tree (crit takes the last task without a parent); errors logged. */
static int ps_root(struct explorer *x, size_t *ret_root)
{
	ssize_t root = -1;

	for (size_t i = 0; i < x->pstree.n; i++) {
		const PstreeEntry *p = pstree_at(x, i);
		bool parent_found = p->ppid == 0;

		for (size_t k = 0; k < x->pstree.n; k++)
			parent_found |= pstree_at(x, k)->pid == p->ppid;
		if (!parent_found) {
			pr_err("%s/pstree.img: parent %u of %u is not in the tree",
			       img_dir_path(x->dir), p->ppid, p->pid);
			return -EBADMSG;
		}
		if (p->ppid == 0)
			root = i;
	}
	if (root < 0) {
		pr_err("%s/pstree.img: no root task", img_dir_path(x->dir));
		return -EBADMSG;
	}
	*ret_root = root;
	return 0;
}

static int explore_ps(struct explorer *x)
{
	_cleanup_free_ const char **comms = calloc(x->pstree.n + 1, sizeof(*comms));
	struct msgs cores = {};
	size_t root;
	int r = 0;

	if (!comms)
		return -ENOMEM;
	cores.m = calloc(x->pstree.n + 1, sizeof(*cores.m));
	if (!cores.m)
		return -ENOMEM;
	for (size_t i = 0; i < x->pstree.n && r == 0; i++) {
		const CoreEntry *core;

		r = explore_read_one(x, IMG_CORE, pstree_at(x, i)->pid, &cores.m[i]);
		if (r < 0)
			break;
		cores.n++;
		core = (const CoreEntry *)cores.m[i];
		if (!core->tc) {
			pr_err("%s/core-%u.img: no task core (tc)", img_dir_path(x->dir),
			       pstree_at(x, i)->pid);
			r = -EBADMSG;
		} else {
			comms[i] = core->tc->comm;
		}
	}
	if (r == 0)
		r = ps_root(x, &root);
	if (r == 0) {
		if (!x->json)
			fprintf(x->out, "%7s%7s%7s   %s\n", "PID", "PGID", "SID", "COMM");
		r = print_ps(x, root, comms, 0);
	}
	msgs_clear(&cores);
	return r;
}

/* ---- fds ---- */

void explore_list_begin(struct explorer *x, const PstreeEntry *p, const char *key)
{
	if (x->json) {
		json_key(x->json, key);
		json_arr_begin(x->json);
	} else {
		fprintf(x->out, "%u\n", p->pid);
	}
}

void explore_list_end(struct explorer *x)
{
	if (x->json)
		json_arr_end(x->json);
}

int explore_load_fds(struct explorer *x, const PstreeEntry *p, struct msgs *ret)
{
	ProtobufCMessage *ids = NULL;
	uint32_t files_id;
	int r;

	r = explore_read_one(x, IMG_IDS, p->pid, &ids);
	if (r < 0)
		return r;
	files_id = ((TaskKobjIdsEntry *)ids)->files_id;
	img_msg_free(ids);
	r = msgs_load(x->dir, IMG_FDINFO, files_id, ret);
	if (r == -ENOENT)
		pr_err("%s: no fdinfo-%u.img", img_dir_path(x->dir), files_id);
	return r;
}

static int fd_json(struct explorer *x, const FdinfoEntry *fd)
{
	const char *tname = explore_fd_type_name(fd->type);
	struct json_out *o = x->json;
	int r;

	json_obj_begin(o);
	json_key(o, "fd");
	json_u64(o, fd->fd);
	json_key(o, "type");
	if (tname)
		json_cstr(o, tname);
	else
		json_i64(o, fd->type);
	json_key(o, "id");
	json_u64(o, fd->id);
	json_key(o, "flags");
	json_u64(o, fd->flags);
	r = emit_file(x, NULL, "name", fd->type, fd->id);
	json_obj_end(o);
	return r;
}

static int explore_fds_of(struct explorer *x, const PstreeEntry *p)
{
	ProtobufCMessage *fs = NULL;
	struct msgs fds = {};
	int r;

	r = explore_load_fds(x, p, &fds);
	if (r < 0)
		return r;
	explore_list_begin(x, p, "fds");
	for (size_t i = 0; i < fds.n && r == 0; i++) {
		const FdinfoEntry *fd = (const FdinfoEntry *)fds.m[i];
		char before[32];

		snprintf(before, sizeof(before), "\t%7u: ", fd->fd);
		r = x->json ? fd_json(x, fd) : emit_file(x, before, NULL, fd->type, fd->id);
	}
	explore_list_end(x);
	msgs_clear(&fds);
	if (r == 0)
		r = explore_read_one(x, IMG_FS, p->pid, &fs);
	if (r == 0)
		r = emit_file(x, "\t    cwd: ", "cwd", FD_TYPES__REG, ((FsEntry *)fs)->cwd_id);
	if (r == 0)
		r = emit_file(x, "\t   root: ", "root", FD_TYPES__REG, ((FsEntry *)fs)->root_id);
	img_msg_free(fs);
	return r;
}

/* ---- the command ---- */

static const struct {
	const char *name;
	int (*per_task)(struct explorer *x, const PstreeEntry *p);
} explorers[] = {
	{"ps", NULL},
	{"fds", explore_fds_of},
	{"mems", explore_mems_of},
	{"rss", explore_rss_of},
	{"sk", explore_sk_of},
};

bool crit_explorer_known(const char *what)
{
	for (size_t e = 0; e < ELEMENTSOF(explorers); e++)
		if (streq(what, explorers[e].name))
			return true;
	return false;
}

/* Each process in pstree.img order; in JSON, an object per process opened with its pid. */
static int explore_tasks(struct explorer *x,
			 int (*per_task)(struct explorer *x, const PstreeEntry *p))
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < x->pstree.n; i++) {
		if (x->json) {
			json_obj_begin(x->json);
			json_key(x->json, "pid");
			json_u64(x->json, pstree_at(x, i)->pid);
		}
		r = per_task(x, pstree_at(x, i));
		if (x->json)
			json_obj_end(x->json);
	}
	return r;
}

static int explore_dir(struct explorer *x, size_t e)
{
	int r;

	r = msgs_load(x->dir, IMG_PSTREE, 0, &x->pstree);
	if (r == -ENOENT)
		pr_err("%s/pstree.img: no such image", img_dir_path(x->dir));
	if (r < 0)
		return r;
	if (x->json)
		json_arr_begin(x->json);
	r = explorers[e].per_task ? explore_tasks(x, explorers[e].per_task) : explore_ps(x);
	if (x->json)
		json_arr_end(x->json);
	return r;
}

int crit_explore(const char *dir_path, const char *what, bool json, FILE *out)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	struct explorer x = {.out = out};
	struct json_out o;
	size_t e;
	int r;

	for (e = 0; e < ELEMENTSOF(explorers); e++)
		if (streq(what, explorers[e].name))
			break;
	if (e == ELEMENTSOF(explorers))
		return -EINVAL;
	r = img_dir_open(dir_path, &dir);
	if (r < 0)
		return r;
	x.dir = dir;
	if (json) {
		r = json_out_init(&o, true, 0);
		if (r < 0)
			return r;
		x.json = &o;
	}
	r = explore_dir(&x, e);
	if (json) {
		/* the whole document or nothing, as decode */
		if (r == 0)
			r = o.error;
		if (r == 0)
			fprintf(out, "%.*s\n", (int)o.len, o.buf);
		json_out_fini(&o);
	}
	explorer_clear(&x);
	return r;
}
