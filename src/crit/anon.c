/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stasis image anonymize IN OUT: a copy of an image directory without the
 * secrets it holds (see docs/crit.md for what is replaced and how). Every
 * message goes through one walker: a field is treated by the rule of its
 * (message, field) pair, by its schema option (ipadd), or by its type:
 * strings without a rule become names, bytes become zeros. So a field added
 * to the schemas later is anonymised by default, not leaked.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/anon-map.h"
#include "crit/crit.h"
#include "crit/pb-field.h"
#include "crit/render.h"
#include "image/image.h"
#include "proto/ipc-msg.pb-c.h"

enum action {
	A_DEFAULT, /* strings: a name pseudonym; bytes: zeros */
	A_KEEP,
	A_PATH,
	A_PATH_OR_NAME, /* a path if it starts with '/', else a name (mount sources) */
	A_TASK,
	A_UNIX_NAME,
};

static const struct {
	const char *msg, *field;
	enum action action;
} rules[] = {
	{"reg_file_entry", "name", A_PATH},
	{"ghost_file_entry", "symlnk_target", A_PATH},
	{"fh_entry", "path", A_PATH},
	{"irmap_cache_entry", "path", A_PATH},
	{"fanotify_mount_mark_entry", "path", A_PATH},
	{"mnt_entry", "root", A_PATH},
	{"mnt_entry", "mountpoint", A_PATH},
	{"mnt_entry", "source", A_PATH_OR_NAME},
	{"mnt_entry", "fsname", A_KEEP},
	{"unix_sk_entry", "name", A_UNIX_NAME},
	{"unix_sk_entry", "name_dir", A_PATH},
	{"cg_member_entry", "name", A_KEEP},
	{"cg_member_entry", "path", A_PATH},
	{"cg_controller_entry", "cnames", A_KEEP},
	{"cgroup_prop_entry", "name", A_KEEP},
	{"task_core_entry", "comm", A_TASK},
	{"thread_core_entry", "comm", A_TASK},
	{"netdev_entry", "name", A_KEEP},
	{"inet_sk_entry", "ifname", A_KEEP},
	{"sk_opts_entry", "so_bound_dev", A_KEEP},
	{"tunfile_entry", "netdev", A_KEEP},
	{"inventory_entry", "plugins", A_KEEP},
	{"inventory_entry", "dump_criu_run_id", A_KEEP},
	{"cpuinfo_x86_entry", "model_id", A_KEEP},
	{"seccomp_filter", "filter", A_KEEP},
};

/* Register sets: every integer in them (and in their sub-messages) becomes 0. */
static const char *const register_msgs[] = {
	"user_x86_regs_entry",
	"user_x86_fpregs_entry",
	"user_aarch64_regs_entry",
	"user_aarch64_fpsimd_context_entry",
};

struct anon {
	struct anon_map *map;
	struct crit_render *render;
	const char *label; /* the image being anonymised, for messages */
};

static enum action rule_of(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
	for (size_t i = 0; i < ELEMENTSOF(rules); i++)
		if (streq(rules[i].msg, d->name) && streq(rules[i].field, f->name))
			return rules[i].action;
	return A_DEFAULT;
}

static bool is_register_set(const ProtobufCMessageDescriptor *d)
{
	for (size_t i = 0; i < ELEMENTSOF(register_msgs); i++)
		if (streq(register_msgs[i], d->name))
			return true;
	return false;
}

/* The first value of a field: the member itself, or the array of a repeated field. */
static void *values_of(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	void *member = pb_member(msg, f);

	return f->label == PROTOBUF_C_LABEL_REPEATED ? *(void **)member : member;
}

static void clear_integers(ProtobufCMessage *msg)
{
	for (unsigned i = 0; i < msg->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &msg->descriptor->fields[i];
		size_t n;

		if (!pb_field_present(msg, f, &n))
			continue;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			for (size_t k = 0; k < n; k++)
				clear_integers(((ProtobufCMessage **)values_of(msg, f))[k]);
		} else if (pb_type_is_integer(f->type) && f->type != PROTOBUF_C_TYPE_ENUM) {
			memset(values_of(msg, f), 0, n * pb_value_size(f->type));
		}
	}
}

static int anon_string(struct anon *a, enum action act, const ProtobufCFieldDescriptor *f, char **s)
{
	char *pseudo = NULL;
	int r;

	if (!*s || *s == f->default_value || act == A_KEEP)
		return 0;
	if (act == A_PATH || (act == A_PATH_OR_NAME && **s == '/'))
		r = anon_path(a->map, *s, &pseudo);
	else
		r = anon_name(a->map, act == A_TASK ? ANON_TASK : ANON_NAME, *s, &pseudo);
	if (r < 0)
		return r;
	free(*s);
	*s = pseudo;
	return 0;
}

static int anon_bytes(struct anon *a, enum action act, const ProtobufCFieldDescriptor *f,
		      ProtobufCBinaryData *b)
{
	const ProtobufCBinaryData *def = f->default_value;
	uint8_t *name;
	size_t len;
	int r;

	if (act == A_KEEP || !b->data || (def && b->data == def->data))
		return 0;
	if (act != A_UNIX_NAME) {
		memset(b->data, 0, b->len);
		return 0;
	}
	r = anon_unix_name(a->map, b->data, b->len, &name, &len);
	if (r < 0)
		return r;
	free(b->data);
	b->data = name;
	b->len = len;
	return 0;
}

/* A (criu).ipadd field: one value is an IPv4 address, four are IPv6 (network byte order). */
static int anon_ipadd(struct anon *a, const ProtobufCFieldDescriptor *f, uint32_t *v, size_t n)
{
	if (n == 1)
		return anon_ipv4(a->map, (uint8_t *)v);
	if (n == 4)
		return anon_ipv6(a->map, (uint8_t *)v);
	pr_err("%s: field %s holds %zu numbers, not an IPv4 or IPv6 address", a->label, f->name, n);
	return -EBADMSG;
}

static int anon_message(struct anon *a, ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const struct crit_field_opts *opts;
	int r;

	if (is_register_set(d)) {
		clear_integers(msg);
		return 0;
	}
	r = crit_render_lookup(a->render, d, &opts);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < d->n_fields && r == 0; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		enum action act = rule_of(d, f);
		void *v;
		size_t n;

		if (!pb_field_present(msg, f, &n))
			continue;
		v = values_of(msg, f);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			for (size_t k = 0; k < n && r == 0; k++)
				r = anon_message(a, ((ProtobufCMessage **)v)[k]);
		} else if (f->type == PROTOBUF_C_TYPE_STRING) {
			for (size_t k = 0; k < n && r == 0; k++)
				r = anon_string(a, act, f, &((char **)v)[k]);
		} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
			for (size_t k = 0; k < n && r == 0; k++)
				r = anon_bytes(a, act, f, &((ProtobufCBinaryData *)v)[k]);
		} else if (opts && (opts[i].bits & CRIT_R_IPADD)) {
			r = anon_ipadd(a, f, v, n);
		}
	}
	return r;
}

/* IPCNS_MSG: the messages keep their type and size, their data become zeros. */
static int zero_ipc_msgs(const struct img_entry *e, uint8_t **ret_extra, size_t *ret_len)
{
	_cleanup_free_ uint8_t *out = NULL, *zeros = NULL;
	size_t cursor = 0, len = 0;
	int r;

	for (;;) {
		ProtobufCMessage *m;
		const uint8_t *data;
		size_t n;

		r = img_ipc_msg_next(e, &cursor, &m, &data, &n);
		if (r <= 0)
			break;
		free(zeros);
		zeros = calloc(1, n ? n : 1);
		r = zeros ? img_ipc_msg_append(&out, &len, m, zeros, n) : -ENOMEM;
		img_msg_free(m);
		if (r < 0)
			break;
	}
	if (r < 0)
		return r;
	*ret_extra = TAKE_PTR(out);
	*ret_len = len;
	return 0;
}

/* The payload that goes with an anonymised entry: as long as the original, all zeros. */
static int anon_extra(const struct img_type_desc *t, const struct img_entry *e, uint8_t **ret_extra,
		      size_t *ret_len)
{
	if (!e->extra || e->extra_len == 0) {
		*ret_extra = NULL;
		*ret_len = 0;
		return 0;
	}
	if (t->extra == IMG_EXTRA_IPC_MSG)
		return zero_ipc_msgs(e, ret_extra, ret_len);
	*ret_extra = calloc(1, e->extra_len);
	if (!*ret_extra)
		return -ENOMEM;
	*ret_len = e->extra_len;
	return 0;
}

static int anon_entries(struct anon *a, struct img_file *in, struct img_writer *w,
			const struct img_type_desc *t)
{
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};
		_cleanup_free_ uint8_t *extra = NULL;
		size_t extra_len;
		int r;

		r = img_next(in, &e);
		if (r <= 0)
			return r;
		r = anon_message(a, e.msg);
		if (r == 0)
			r = anon_extra(t, &e, &extra, &extra_len);
		if (r == 0)
			r = img_write_entry(w, e.msg, extra, extra_len);
		if (r < 0)
			return r;
	}
}

/* pages-N.img: the same size, all zeros (a sparse file: nothing is read or written). */
static int anon_raw(struct img_dir *in, const char *name, struct img_writer *w)
{
	struct stat st;
	int fd;

	if (fstatat(img_dir_fd(in), name, &st, 0) < 0) {
		int r = negative_errno();

		pr_perror("%s/%s: cannot stat", img_dir_path(in), name);
		return r;
	}
	fd = img_writer_fd(w);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, st.st_size) < 0 || lseek(fd, st.st_size, SEEK_SET) < 0) {
		int r = negative_errno();

		pr_perror("%s: cannot size the copy of %s", img_dir_path(in), name);
		return r;
	}
	return 0;
}

static int anon_file(struct anon *a, struct img_dir *in, struct img_dir *out, const char *name)
{
	_cleanup_img_writer_ struct img_writer *w = NULL;
	_cleanup_img_file_ struct img_file *f = NULL;
	const struct img_type_desc *t;
	uint64_t id;
	int r;

	t = img_type_by_file_name(name, &id);
	if (!t) {
		pr_warn("%s/%s: not an image file: left out of the anonymised copy",
			img_dir_path(in), name);
		return 0;
	}
	a->label = name;
	r = img_create(out, t->type, id, &w);
	if (r < 0)
		return r;
	if (t->layout == IMG_LAYOUT_RAW) {
		r = anon_raw(in, name, w);
	} else {
		r = img_open_name(in, name, &f);
		if (r == 0)
			r = anon_entries(a, f, w, t);
	}
	if (r < 0)
		return r;
	return img_writer_commit(TAKE_PTR(w));
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int open_out_dir(const char *path, struct img_dir **ret_dir)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		int r = negative_errno();

		pr_perror("cannot create the output directory %s", path);
		return r;
	}
	d = opendir(path);
	if (!d) {
		int r = negative_errno();

		pr_perror("cannot open the output directory %s", path);
		return r;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			pr_err("%s is not empty: give a new or empty directory for the anonymised "
			       "images",
			       path);
			return -EEXIST;
		}
	return img_dir_open(path, ret_dir);
}

int crit_anonymize(const char *in_path, const char *out_path)
{
	_cleanup_img_dir_ struct img_dir *in = NULL, *out = NULL;
	_cleanup_anon_map_ struct anon_map *map = NULL;
	struct dirent **names = NULL;
	struct crit_render *render = NULL;
	int n, r;

	r = img_dir_open(in_path, &in);
	if (r < 0)
		return r;
	n = scandirat(img_dir_fd(in), ".", &names, NULL, alphasort);
	if (n < 0) {
		r = negative_errno();
		pr_perror("cannot list %s", in_path);
		return r;
	}
	r = open_out_dir(out_path, &out);
	if (r == 0)
		r = anon_map_new(&map);
	if (r == 0)
		r = crit_render_new(&render);
	for (int i = 0; i < n; i++) {
		struct anon a = {.map = map, .render = render};
		struct stat st;

		if (r == 0 &&
		    fstatat(img_dir_fd(in), names[i]->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			st.st_mode = 0; /* gone meanwhile */
		if (r == 0 && S_ISLNK(st.st_mode))
			pr_warn("%s/%s: a link (the parent of an incremental dump?): left out of "
				"the anonymised copy; anonymise the parent set on its own",
				in_path, names[i]->d_name);
		else if (r == 0 && S_ISREG(st.st_mode))
			r = anon_file(&a, in, out, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	if (render)
		crit_render_free(render);
	return r;
}
