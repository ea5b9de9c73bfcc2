/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The schemas of src/proto against images written by CRIU 4.2.
 *
 * Every entry of every image in the fixture folders must decode with our
 * descriptor, leave no unknown field behind (our schema knows every field
 * CRIU wrote) and pack back to the very same bytes.
 *
 * The framing reader here is deliberately minimal and private to this test:
 *   [IMG_COMMON or IMG_SERVICE magic] TYPE magic, then entries of
 *   u32 length (little endian) + protobuf bytes; inventory.img has no
 *   leading common magic. pipes-data entries are followed by the raw pipe
 *   bytes; pages-*.img are raw pages and not framed at all.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/macro.h"
#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pipe-data.pb-c.h"
#include "pstree.pb-c.h"
#include "seccomp.pb-c.h"
#include "stats.pb-c.h"
#include "timens.pb-c.h"

#define IMG_COMMON_MAGIC 0x54564319
#define IMG_SERVICE_MAGIC 0x55105940

#define PE_PRESENT (1 << 2) /* pagemap_entry.flags: pages are in pages-N.img */
#define FIXTURE_PAGE_SIZE 4096

struct image_kind {
	const char *prefix; /* file name starts with this */
	uint32_t magic;
	const ProtobufCMessageDescriptor *head; /* first entry, if it differs */
	const ProtobufCMessageDescriptor *entry;
	bool raw_after_entry; /* pipe_data_entry.bytes of raw data follow */
};

static const struct image_kind kinds[] = {
	{"inventory.img", 0x58313116, NULL, &inventory_entry__descriptor, false},
	{"pstree.img", 0x50273030, NULL, &pstree_entry__descriptor, false},
	{"core-", 0x55053847, NULL, &core_entry__descriptor, false},
	{"ids-", 0x54432030, NULL, &task_kobj_ids_entry__descriptor, false},
	{"mm-", 0x57492820, NULL, &mm_entry__descriptor, false},
	{"pagemap-", 0x56084025, &pagemap_head__descriptor, &pagemap_entry__descriptor, false},
	{"fs-", 0x51403912, NULL, &fs_entry__descriptor, false},
	{"fdinfo-", 0x56213732, NULL, &fdinfo_entry__descriptor, false},
	{"files.img", 0x56303138, NULL, &file_entry__descriptor, false},
	{"seccomp.img", 0x64413049, NULL, &seccomp_entry__descriptor, false},
	{"timens-", 0x43114433, NULL, &timens_entry__descriptor, false},
	{"pipes-data.img", 0x56453709, NULL, &pipe_data_entry__descriptor, true},
	{"stats-", 0x57093306, NULL, &stats_entry__descriptor, false},
};

struct buf {
	uint8_t *data;
	size_t len;
};

static const char *fixtures_dir(void)
{
	const char *env = getenv("STASIS_FIXTURES");

	return env ? env : STASIS_FIXTURES_DIR;
}

static struct buf read_whole(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct stat st;
	struct buf b;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	b.len = st.st_size;
	b.data = malloc(b.len ? b.len : 1);
	assert_non_null(b.data);
	assert_int_equal(fread(b.data, 1, b.len, f), b.len);
	return b;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const struct image_kind *kind_by_magic(uint32_t magic)
{
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		if (kinds[i].magic == magic)
			return &kinds[i];
	return NULL;
}

/* Unknown fields anywhere in the message tree mean our schema misses a field. */
static void assert_no_unknown_fields(const ProtobufCMessage *msg, const char *where)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	if (msg->n_unknown_fields)
		fail_msg("%s: %s has %u unknown field(s), first tag %u", where, desc->name,
			 msg->n_unknown_fields, msg->unknown_fields[0].tag);

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *member = (const char *)msg + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
			ProtobufCMessage *const *subs = *(ProtobufCMessage *const *const *)member;

			for (size_t j = 0; j < n; j++)
				assert_no_unknown_fields(subs[j], where);
		} else {
			const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;

			if (sub)
				assert_no_unknown_fields(sub, where);
		}
	}
}

/* Decode one entry, check it, pack it again and compare. */
static ProtobufCMessage *roundtrip_entry(const ProtobufCMessageDescriptor *desc,
					 const uint8_t *data, size_t len, const char *where)
{
	ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, data);
	_cleanup_free_ uint8_t *packed = NULL;

	if (!msg)
		fail_msg("%s: %zu bytes do not decode as %s", where, len, desc->name);
	assert_no_unknown_fields(msg, where);

	assert_int_equal(protobuf_c_message_get_packed_size(msg), len);
	packed = malloc(len ? len : 1);
	assert_non_null(packed);
	assert_int_equal(protobuf_c_message_pack(msg, packed), len);
	if (memcmp(packed, data, len))
		fail_msg("%s: %s packs to different bytes", where, desc->name);
	return msg;
}

struct image_summary {
	const struct image_kind *kind;
	size_t entries;
	uint64_t present_pages; /* pagemap: pages stored in pages-<pages_id>.img */
	uint32_t pages_id;
};

static struct image_summary roundtrip_image(const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;
	struct image_summary sum = {0};
	struct buf img;
	size_t off = 0;
	uint32_t magic;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	img = read_whole(path);

	assert_true(img.len >= 4);
	magic = le32(img.data);
	off = 4;
	if (magic == IMG_COMMON_MAGIC || magic == IMG_SERVICE_MAGIC) {
		assert_true(img.len >= 8);
		magic = le32(img.data + 4);
		off = 8;
	}
	sum.kind = kind_by_magic(magic);
	if (!sum.kind)
		fail_msg("%s: unexpected image magic 0x%08x", path, magic);
	if (!startswith(name, sum.kind->prefix))
		fail_msg("%s: magic 0x%08x belongs to %s* images", path, magic, sum.kind->prefix);

	while (off < img.len) {
		const ProtobufCMessageDescriptor *desc =
			sum.entries == 0 && sum.kind->head ? sum.kind->head : sum.kind->entry;
		ProtobufCMessage *msg;
		uint32_t len;

		assert_true(img.len - off >= 4);
		len = le32(img.data + off);
		off += 4;
		assert_true(img.len - off >= len);
		msg = roundtrip_entry(desc, img.data + off, len, path);
		off += len;

		if (desc == &pagemap_head__descriptor) {
			sum.pages_id = ((PagemapHead *)msg)->pages_id;
		} else if (desc == &pagemap_entry__descriptor) {
			PagemapEntry *pe = (PagemapEntry *)msg;

			/* CRIU 4.2 moved the count to nr_pages and writes 0 in the old field. */
			assert_true(pe->has_nr_pages);
			assert_int_equal(pe->compat_nr_pages, 0);
			if ((pe->flags & PE_PRESENT) && !pe->in_parent)
				sum.present_pages += pe->nr_pages;
		} else if (sum.kind->raw_after_entry) {
			uint32_t bytes = ((PipeDataEntry *)msg)->bytes;

			assert_true(img.len - off >= bytes);
			off += bytes;
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		sum.entries++;
	}
	assert_int_equal(off, img.len);
	free(img.data);
	return sum;
}

static bool is_framed_image(const char *name)
{
	size_t n = strlen(name);

	if (startswith(name, "pages-"))
		return false; /* raw page contents */
	if (startswith(name, "stats-"))
		return true;
	return n > 4 && streq(name + n - 4, ".img");
}

/* The pages counted by pagemap entries must be exactly the pages file. */
static void assert_pages_file_matches(const char *dir, const struct image_summary *sum)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;

	assert_true(asprintf(&path, "%s/pages-%u.img", dir, sum->pages_id) > 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, sum->present_pages * FIXTURE_PAGE_SIZE);
}

static void roundtrip_folder(const char *folder, size_t expected_images)
{
	_cleanup_free_ char *dir = NULL;
	size_t images = 0, pagemaps = 0;
	struct dirent *de;
	DIR *d;

	assert_true(asprintf(&dir, "%s/images/%s", fixtures_dir(), folder) > 0);
	d = opendir(dir);
	if (!d)
		fail_msg("cannot open fixture folder %s (set STASIS_FIXTURES)", dir);

	while ((de = readdir(d))) {
		struct image_summary sum;

		if (!is_framed_image(de->d_name))
			continue;
		sum = roundtrip_image(dir, de->d_name);
		assert_true(sum.entries > 0);
		if (sum.kind->head == &pagemap_head__descriptor) {
			assert_pages_file_matches(dir, &sum);
			pagemaps++;
		}
		images++;
	}
	closedir(d);

	assert_int_equal(images, expected_images);
	assert_true(pagemaps > 0);
}

static void test_counter(void **state)
{
	(void)state;
	roundtrip_folder("counter", 12);
}

static void test_pipes(void **state)
{
	(void)state;
	roundtrip_folder("pipes", 19);
}

static void test_threads(void **state)
{
	(void)state;
	roundtrip_folder("threads", 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_pipes),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
