/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * protobuf-c messages to crit JSON and back: the rendering rules of
 * pb2dict.py (hex, flags, dict, ipadd, conv, enums, presence) and the
 * errors of the way back, with their byte offsets.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/macro.h"
#include "crit/pb-json.h"
#include "proto/core-x86.pb-c.h"
#include "proto/fdinfo.pb-c.h"
#include "proto/regfile.pb-c.h"
#include "proto/sk-inet.pb-c.h"
#include "proto/sk-unix.pb-c.h"
#include "proto/vma.pb-c.h"

struct fixture {
	struct crit_render *render;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(crit_render_new(&f->render), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	crit_render_free(f->render);
	free(f);
	return 0;
}

/* JSON text → message, or the error (offset and text). */
static int to_msg(struct fixture *f, const char *json, const ProtobufCMessageDescriptor *desc,
		  ProtobufCMessage **ret, struct json2pb_error *ret_err)
{
	_cleanup_json_doc_ struct json_doc *doc = NULL;
	struct json2pb c = {.render = f->render};
	struct json_error jerr;
	int r;

	assert_int_equal(json_parse(json, strlen(json), &doc, &jerr), 0);
	r = json2pb_message(&c, json_doc_root(doc), desc, NULL, ret);
	if (ret_err)
		*ret_err = c.err;
	return r;
}

/* message → JSON text (malloc'ed) */
static char *to_json(struct fixture *f, const ProtobufCMessage *msg, bool pretty, bool is_hex)
{
	struct json_out o;
	struct pb2json c = {.out = &o, .render = f->render, .pretty = pretty};
	char *s;

	assert_int_equal(json_out_init(&o, pretty, 0), 0);
	assert_int_equal(pb2json_message(&c, msg, is_hex), 0);
	s = strndup(o.buf, o.len);
	json_out_fini(&o);
	return s;
}

/* json → message → plain and pretty JSON, and the pretty JSON back to the same bytes. */
static void check(struct fixture *f, const ProtobufCMessageDescriptor *desc, const char *json,
		  const char *want_plain, const char *want_pretty)
{
	_cleanup_free_ char *plain = NULL, *pretty = NULL;
	_cleanup_free_ uint8_t *a = NULL, *b = NULL;
	ProtobufCMessage *m, *back;
	size_t na, nb;

	assert_int_equal(to_msg(f, json, desc, &m, NULL), 0);
	plain = to_json(f, m, false, false);
	pretty = to_json(f, m, true, false);
	assert_string_equal(plain, want_plain);
	assert_string_equal(pretty, want_pretty);
	assert_int_equal(to_msg(f, pretty, desc, &back, NULL), 0);
	na = protobuf_c_message_get_packed_size(m);
	nb = protobuf_c_message_get_packed_size(back);
	assert_int_equal(na, nb);
	a = malloc(na + 1);
	b = malloc(nb + 1);
	protobuf_c_message_pack(m, a);
	protobuf_c_message_pack(back, b);
	assert_memory_equal(a, b, na);
	protobuf_c_message_free_unpacked(m, NULL);
	protobuf_c_message_free_unpacked(back, NULL);
}

static void test_vma_flags_and_hex(void **state)
{
	check(*state, &vma_entry__descriptor,
	      "{\"start\": 94000000000000, \"end\": 94000000004096, \"pgoff\": 4096, \"shmid\": 1,"
	      " \"prot\": 7, \"flags\": 290, \"status\": 513, \"fd\": -1, \"fdflags\": 0}",
	      "{\"start\": 94000000000000, \"end\": 94000000004096, \"pgoff\": 4096, \"shmid\": 1, "
	      "\"prot\": 7, \"flags\": 290, \"status\": 513, \"fd\": -1, \"fdflags\": 0}",
	      "{\n"
	      "    \"start\": \"0x557e149be000\",\n"
	      "    \"end\": \"0x557e149bf000\",\n"
	      "    \"pgoff\": 4096,\n"
	      "    \"shmid\": 1,\n"
	      "    \"prot\": \"PROT_READ | PROT_WRITE | PROT_EXEC\",\n"
	      "    \"flags\": \"MAP_PRIVATE | MAP_ANON | MAP_GROWSDOWN\",\n"
	      "    \"status\": \"VMA_AREA_REGULAR | VMA_ANON_PRIVATE\",\n"
	      "    \"fd\": -1,\n"
	      "    \"fdflags\": \"0x0\"\n"
	      "}");
}

static void test_ipadd_and_dict(void **state)
{
	static const char common[] =
		"\"fown\": {\"uid\": 0, \"euid\": 0, \"signum\": 0, \"pid_type\": 0, \"pid\": 0}, "
		"\"opts\": {\"so_sndbuf\": 1, \"so_rcvbuf\": 2, \"so_snd_tmo_sec\": 3, "
		"\"so_snd_tmo_usec\": 4, \"so_rcv_tmo_sec\": 5, \"so_rcv_tmo_usec\": 6}";
	char json[1024];
	_cleanup_free_ char *pretty = NULL;
	ProtobufCMessage *m;

	snprintf(
		json, sizeof(json),
		"{\"id\": 1, \"ino\": 2, \"family\": 10, \"type\": 1, \"proto\": 6, \"state\": 42, "
		"\"src_port\": 80, \"dst_port\": 0, \"flags\": 2048, \"backlog\": 1, "
		"\"src_addr\": [33022, 0, 16777216, 33554432], \"dst_addr\": [16777343], %s}",
		common);
	assert_int_equal(to_msg(*state, json, &inet_sk_entry__descriptor, &m, NULL), 0);
	pretty = to_json(*state, m, true, false);
	protobuf_c_message_free_unpacked(m, NULL);
	/* names from the sk dict (42 is not in it), one address per list */
	assert_non_null(strstr(pretty, "\"family\": \"INET6\",\n    \"type\": \"STREAM\",\n"
				       "    \"proto\": \"TCP\",\n    \"state\": 42,"));
	assert_non_null(strstr(pretty, "\"flags\": \"0x800\""));
	assert_non_null(strstr(pretty, "\"src_addr\": [\n        \"fe80::1:0:2\"\n    ]"));
	assert_non_null(strstr(pretty, "\"dst_addr\": [\n        \"127.0.0.1\"\n    ]"));
	/* and back: the pretty forms give the same numbers */
	assert_int_equal(to_msg(*state, pretty, &inet_sk_entry__descriptor, &m, NULL), 0);
	{
		_cleanup_free_ char *again = to_json(*state, m, false, false);

		assert_non_null(strstr(again, "\"src_addr\": [33022, 0, 16777216, 33554432]"));
		assert_non_null(strstr(again, "\"dst_addr\": [16777343]"));
		assert_non_null(
			strstr(again, "\"family\": 10, \"type\": 1, \"proto\": 6, \"state\": 42"));
	}
	protobuf_c_message_free_unpacked(m, NULL);
}

static void test_hex_inherited_by_submessages(void **state)
{
	UserX86RegsEntry regs = USER_X86_REGS_ENTRY__INIT;
	_cleanup_free_ char *s = NULL;

	regs.ax = UINT64_MAX - 3;
	regs.has_mode = true;
	regs.mode = USER_X86_REGS_MODE__COMPAT;
	/* as under thread_info_x86.gpregs [(criu).hex = true] */
	s = to_json(*state, &regs.base, true, true);
	assert_non_null(strstr(s, "\"r15\": \"0x0\""));
	assert_non_null(strstr(s, "\"ax\": \"0xfffffffffffffffc\""));
	assert_non_null(strstr(s, "\"mode\": \"COMPAT\""));
	free(s);
	/* plain mode has no hex */
	s = to_json(*state, &regs.base, false, true);
	assert_non_null(strstr(s, "\"ax\": 18446744073709551612"));
}

static void test_presence_and_signed(void **state)
{
	static const char fown[] =
		"\"fown\": {\"uid\": 0, \"euid\": 0, \"signum\": 0, \"pid_type\": 0, \"pid\": 0}";
	char json[512];
	_cleanup_free_ char *a = NULL, *b = NULL;
	ProtobufCMessage *m;

	/* an optional field with a default is shown only when present */
	snprintf(json, sizeof(json),
		 "{\"id\": 1, \"flags\": 32770, \"pos\": 0, %s, \"name\": \"/x\"}", fown);
	assert_int_equal(to_msg(*state, json, &reg_file_entry__descriptor, &m, NULL), 0);
	a = to_json(*state, m, true, false);
	protobuf_c_message_free_unpacked(m, NULL);
	assert_null(strstr(a, "mnt_id"));
	assert_non_null(strstr(a, "\"flags\": \"O_RDWR | O_LARGEFILE\""));
	/* "0x-5" is how pretty mode writes a negative number in hex */
	snprintf(json, sizeof(json),
		 "{\"id\": 1, \"flags\": \"O_RDWR|0x40000000\", \"pos\": \"0x10\", %s, "
		 "\"name\": \"/x\", \"mnt_id\": \"0x-5\", \"build_id\": []}",
		 fown);
	assert_int_equal(to_msg(*state, json, &reg_file_entry__descriptor, &m, NULL), 0);
	b = to_json(*state, m, false, false);
	protobuf_c_message_free_unpacked(m, NULL);
	assert_string_equal(
		b, "{\"id\": 1, \"flags\": 1073741826, \"pos\": 16, \"fown\": {\"uid\": 0, "
		   "\"euid\": 0, \"signum\": 0, \"pid_type\": 0, \"pid\": 0}, "
		   "\"name\": \"/x\", \"mnt_id\": -5}");
}

static void test_enum_and_bytes(void **state)
{
	static const char opts[] =
		"\"fown\": {\"uid\": 0, \"euid\": 0, \"signum\": 0, \"pid_type\": 0, \"pid\": 0}, "
		"\"opts\": {\"so_sndbuf\": 1, \"so_rcvbuf\": 2, \"so_snd_tmo_sec\": 3, "
		"\"so_snd_tmo_usec\": 4, \"so_rcv_tmo_sec\": 5, \"so_rcv_tmo_usec\": 6}";
	char json[1024];
	_cleanup_free_ char *s = NULL, *fd = NULL;
	ProtobufCMessage *m;

	/* unix socket names are quoted-printable, in both modes */
	snprintf(json, sizeof(json),
		 "{\"id\": 1, \"ino\": 2, \"type\": 1, \"state\": 10, \"flags\": 0, \"uflags\": 0, "
		 "\"backlog\": 0, \"peer\": 0, %s, \"name\": \"=00sock=3D\", \"shutdown\": "
		 "\"READ\"}",
		 opts);
	assert_int_equal(to_msg(*state, json, &unix_sk_entry__descriptor, &m, NULL), 0);
	assert_int_equal(((UnixSkEntry *)m)->name.len, 6);
	assert_memory_equal(((UnixSkEntry *)m)->name.data, "\0sock=", 6);
	s = to_json(*state, m, false, false);
	protobuf_c_message_free_unpacked(m, NULL);
	assert_non_null(strstr(s, "\"name\": \"=00sock=3D\", \"shutdown\": \"READ\""));

	/* an enum value the schema lacks stays a number */
	assert_int_equal(to_msg(*state, "{\"id\": 1, \"flags\": 0, \"type\": 999, \"fd\": 3}",
				&fdinfo_entry__descriptor, &m, NULL),
			 0);
	fd = to_json(*state, m, true, false);
	protobuf_c_message_free_unpacked(m, NULL);
	assert_non_null(strstr(fd, "\"type\": 999"));
}

static void check_error(struct fixture *f, const ProtobufCMessageDescriptor *desc, const char *json,
			size_t offset, const char *what)
{
	struct json2pb_error err = {};
	ProtobufCMessage *m = NULL;

	assert_int_equal(to_msg(f, json, desc, &m, &err), -EINVAL);
	assert_null(m);
	if (err.offset != offset || !strstr(err.what, what))
		fail_msg("%s: \"%s\" at %zu, \"%s\" at %zu expected", json, err.what, err.offset,
			 what, offset);
}

static void test_errors(void **state)
{
	const ProtobufCMessageDescriptor *fdi = &fdinfo_entry__descriptor;

	check_error(*state, fdi, "[]", 0, "an object");
	check_error(*state, fdi, "{\"id\": 1, \"flags\": 0, \"type\": \"REG\"}", 0,
		    "required field 'fd'");
	check_error(*state, fdi, "{\"id\": 1, \"idd\": 0}", 10, "no field 'idd'");
	check_error(*state, fdi, "{\"id\": 1, \"id\": 0}", 10, "given twice");
	check_error(*state, fdi, "{\"id\": -1}", 7, "out of range");
	check_error(*state, fdi, "{\"id\": 4294967296}", 7, "out of range");
	check_error(*state, fdi, "{\"id\": 99999999999999999999}", 7, "out of range");
	check_error(*state, fdi, "{\"id\": 1.0}", 7, "a fraction");
	check_error(*state, fdi, "{\"id\": true}", 7, "an integer expected");
	check_error(*state, fdi, "{\"id\": \"12x\"}", 7, "not an integer");
	check_error(*state, fdi, "{\"type\": \"NOPE\"}", 9, "not a value of");
	check_error(*state, fdi, "{\"type\": []}", 9, "a name of");
	check_error(*state, fdi, "{\"xattr_security_selinux\": 5}", 27, "a string expected");
	check_error(*state, &vma_entry__descriptor, "{\"prot\": \"PROT_READ | PROT_X\"}", 9,
		    "mmap.prot");
	check_error(*state, &unix_sk_entry__descriptor, "{\"opts\": 1}", 9, "an object expected");
	check_error(*state, &reg_file_entry__descriptor, "{\"build_id\": [1, \"x\"]}", 17,
		    "not an integer");
	check_error(*state, &reg_file_entry__descriptor, "{\"ext\": 1}", 8, "true or false");
	check_error(*state, &inet_sk_entry__descriptor, "{\"src_addr\": [\"1.2.3\"]}", 14,
		    "not an IP address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vma_flags_and_hex),
		cmocka_unit_test(test_ipadd_and_dict),
		cmocka_unit_test(test_hex_inherited_by_submessages),
		cmocka_unit_test(test_presence_and_signed),
		cmocka_unit_test(test_enum_and_bytes),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
