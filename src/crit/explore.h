/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The explorers of `stasis image x DIR ps|fds|mems|rss|sk`: what they
 * share (the image directory, the images of files, the output) and the
 * per-process explorers of explore-mem.c and explore-sk.c. Each writes
 * crit's text to out, or, with json set, one object per process into the
 * JSON array of the document (see docs/crit.md).
 */

#include <stdio.h>

#include "crit/json-out.h"
#include "crit/msgs.h"
#include "fdinfo.pb-c.h"
#include "image/image.h"
#include "pstree.pb-c.h"

struct explorer {
	struct img_dir *dir;
	FILE *out;
	struct json_out *json; /* NULL: text */
	struct msgs pstree;
	struct msgs files; /* files.img */
	/* images of per-kind entries, before files.img */
	struct msgs regs, pipes, unixsks, inetsks, netlinksks, packetsks;
	/* vma_id of crit: small numbers for the shmid of shared mappings */
	uint64_t *vids;
	size_t n_vids;
};

/* A single-entry image, or a logged error. */
int explore_read_one(struct explorer *x, enum img_type type, uint64_t id, ProtobufCMessage **ret);
/* ftype_find_in_files: the files.img entry of id, NULL if not there (or no files.img). */
int explore_find_in_files(struct explorer *x, uint32_t id, const FileEntry **ret);
/* The entry of id in an image of per-kind entries (an image before files.img); NULL if none. */
int explore_find_in_image(struct explorer *x, struct msgs *l, enum img_type type, uint32_t id,
			  const ProtobufCMessage **ret);
/* get_file_str: how crit names the file of an fd, a cwd or a mapping. */
int explore_file_str(struct explorer *x, FdTypes type, uint32_t id, char **ret);
/* The fdinfo entries of a process (ids-PID.img, then fdinfo-ID.img); errors logged. */
int explore_load_fds(struct explorer *x, const PstreeEntry *p, struct msgs *ret);
/* The list of a process: text, its pid line; JSON, the member key and "[". */
void explore_list_begin(struct explorer *x, const PstreeEntry *p, const char *key);
void explore_list_end(struct explorer *x);
/* The name of an fd_types value, NULL if the schema lacks it. */
const char *explore_fd_type_name(FdTypes type);

int explore_mems_of(struct explorer *x, const PstreeEntry *p);
int explore_rss_of(struct explorer *x, const PstreeEntry *p);
int explore_sk_of(struct explorer *x, const PstreeEntry *p);
