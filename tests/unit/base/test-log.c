/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The binary log decodes to exactly the bytes the text log holds, for every
 * kind of argument, and a truncated or foreign log is reported, not fatal.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "base/log-file.h"
#include "base/log-internal.h"

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	fake_now += 1234567;
	return fake_now;
}

static char tmpdir[] = "/tmp/stasis-test-log.XXXXXX";

static void emit_all(void)
{
	static char big[70000];
	/* volatile: the compiler must not see the NULL that %s is given on purpose */
	const char *volatile null_str = NULL;

	memset(big, 'x', sizeof(big) - 1);
	pr_info("plain message");
	pr_info("ints %d %i %u %x %X %o %#x %05d %-5d| %+d", -1, 2, 3u, 0xabcu, 0xABCu, 8, 255,
		42, 7, 9);
	pr_debug("small %hhd %hhu %hd %hu %c", (signed char)-3, (unsigned char)250, (short)-300,
		 (unsigned short)65000, 'q');
	pr_debug("wide %ld %lu %lld %llu %zu %zd %jd %td %lx", -1234567890123L, 1234567890123UL,
		 -9000000000000000000LL, 18000000000000000000ULL, (size_t)-1, (ssize_t)-5,
		 (intmax_t)-77, (ptrdiff_t)-88, 0xdeadbeefcafeUL);
	pr_info("stars %*d|%-*d|%.*d|%*.*x", 6, 42, 6, 42, 4, 7, 8, 3, 0x1fu);
	pr_info("strings [%s] [%10s] [%-10s] [%.*s] [%s] [%.*s]", "abc", "right", "left", 3,
		"truncated", null_str, -1, "negprec");
	pr_info("pointers %p %p", (void *)0x7fff12345678, NULL);
	pr_info("floats %f %.3f %e %g %10.2f %a", 3.14159, 2.5, 12345.678, 0.0001, -1.5, 1.0);
	pr_info("percent 100%% done %s", "ok");
	errno = ENOENT;
	pr_warn("errno via m: %m (was %d)", ENOENT);
	errno = EACCES;
	pr_perror("cannot open %s", "/some/path");
	pr_err("an error with %d args and %s", 2, "a string");
	pr_msg("a message at level msg");
	pr_info("long double %Lf goes the text way", (long double)1.25);
	pr_info("a long string: %s", big);
	pr_info("utf-8 and escapes: \t tab, é, \"quoted\"");
}

static char *read_file(const char *path, size_t *ret_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	char *buf;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*ret_len = (size_t)st.st_size;
	return buf;
}

static void log_to(const char *path, enum log_format format, int level)
{
	struct log_config cfg = {
		.path = path,
		.format = format,
		.level = level,
		.clock = fake_clock,
		.quiet_stderr = true,
	};

	fake_now = 0;
	assert_int_equal(log_init(&cfg), 0);
	emit_all();
	log_fini();
}

/* Decode path into a memory buffer; returns log_decode's result. */
static int decode_to_mem(const char *path, char **ret_text, size_t *ret_len)
{
	int fd = open(path, O_RDONLY);
	FILE *out = open_memstream(ret_text, ret_len);
	int r;

	assert_true(fd >= 0);
	assert_non_null(out);
	FILE *err = fopen("/dev/null", "w");

	r = log_decode(fd, out, err, path);
	fclose(err);
	fclose(out);
	close(fd);
	return r;
}

static char text_path[64], bin_path[64];

static void test_decode_is_byte_identical(void **state)
{
	(void)state;
	for (int level = LOGL_MSG; level <= LOGL_DEBUG; level++) {
		char *text, *decoded;
		size_t text_len, decoded_len;

		log_to(text_path, LOG_FORMAT_TEXT, level);
		log_to(bin_path, LOG_FORMAT_BINARY, level);
		text = read_file(text_path, &text_len);
		assert_int_equal(decode_to_mem(bin_path, &decoded, &decoded_len), 0);
		assert_int_equal(decoded_len, text_len);
		assert_memory_equal(decoded, text, text_len);
		free(text);
		free(decoded);
	}
}

/* The text itself is what printf prints, with criu's prefixes. */
static void test_text_matches_printf(void **state)
{
	char *text, expect[512];
	size_t len;

	(void)state;
	log_to(text_path, LOG_FORMAT_TEXT, LOGL_DEBUG);
	text = read_file(text_path, &len);
	snprintf(expect, sizeof(expect), "ints %d %i %u %x %X %o %#x %05d %-5d| %+d\n", -1, 2, 3u,
		 0xabcu, 0xABCu, 8, 255, 42, 7, 9);
	assert_non_null(strstr(text, expect));
	snprintf(expect, sizeof(expect), "stars %*d|%-*d|%.*d|%*.*x\n", 6, 42, 6, 42, 4, 7, 8, 3,
		 0x1fu);
	assert_non_null(strstr(text, expect));
	snprintf(expect, sizeof(expect), "floats %f %.3f %e %g %10.2f %a\n", 3.14159, 2.5,
		 12345.678, 0.0001, -1.5, 1.0);
	assert_non_null(strstr(text, expect));
	assert_non_null(strstr(text, "strings [abc] [     right] [left      ] [tru] [(null)] "
				     "[negprec]\n"));
	assert_non_null(strstr(text, "pointers 0x7fff12345678 (nil)\n"));
	assert_non_null(strstr(text, "errno via m: No such file or directory (was 2)\n"));
	assert_non_null(strstr(text, "): cannot open /some/path: Permission denied\n"));
	assert_non_null(strstr(text, "long double 1.250000 goes the text way\n"));
	assert_non_null(strstr(text, "(00.001234) plain message\n"));
	assert_non_null(strstr(text, "Error (" __FILE__ ":"));
	assert_non_null(strstr(text, "Warn  (" __FILE__ ":"));
	free(text);
}

/* Cut the binary log at every byte: decode prints whole records, then reports. */
static void test_truncated_log(void **state)
{
	char *text, *full, *decoded;
	size_t text_len, full_len, decoded_len;
	char cut_path[80];

	(void)state;
	log_to(text_path, LOG_FORMAT_TEXT, LOGL_DEBUG);
	log_to(bin_path, LOG_FORMAT_BINARY, LOGL_DEBUG);
	text = read_file(text_path, &text_len);
	full = read_file(bin_path, &full_len);
	snprintf(cut_path, sizeof(cut_path), "%s/cut", tmpdir);
	for (size_t cut = sizeof(struct log_file_header); cut < full_len; cut += 7) {
		int fd = open(cut_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int r;

		assert_int_equal(write(fd, full, cut), (ssize_t)cut);
		close(fd);
		r = decode_to_mem(cut_path, &decoded, &decoded_len);
		assert_true(r == 0 || r == -ENODATA);
		/* What was printed is a prefix of the text log made of whole lines. */
		assert_true(decoded_len <= text_len);
		assert_memory_equal(decoded, text, decoded_len);
		assert_true(decoded_len == 0 || decoded[decoded_len - 1] == '\n');
		free(decoded);
	}
	free(text);
	free(full);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_foreign_and_corrupt_logs(void **state)
{
	char *full, *decoded, path[80];
	size_t full_len, decoded_len;
	struct log_file_header h;
	struct log_record_hdr rec;

	(void)state;
	log_to(bin_path, LOG_FORMAT_BINARY, LOGL_DEBUG);
	full = read_file(bin_path, &full_len);
	snprintf(path, sizeof(path), "%s/bad", tmpdir);

	/* another build */
	memcpy(&h, full, sizeof(h));
	h.build_id ^= 1;
	memcpy(full, &h, sizeof(h));
	write_file(path, full, full_len);
	assert_int_equal(decode_to_mem(path, &decoded, &decoded_len), -EPROTO);
	free(decoded);
	h.build_id ^= 1;
	memcpy(full, &h, sizeof(h));

	/* not a log at all */
	write_file(path, "hello world, this is not a log file", 35);
	assert_int_equal(decode_to_mem(path, &decoded, &decoded_len), -EPROTO);
	free(decoded);

	/* a record naming a site that does not exist */
	memcpy(&rec, full + sizeof(h), sizeof(rec));
	rec.site = 0x7fffffff;
	memcpy(full + sizeof(h), &rec, sizeof(rec));
	write_file(path, full, full_len);
	assert_int_equal(decode_to_mem(path, &decoded, &decoded_len), -EBADMSG);
	free(decoded);

	/* a record whose size is absurd */
	rec.size = 3;
	memcpy(full + sizeof(h), &rec, sizeof(rec));
	write_file(path, full, full_len);
	assert_int_equal(decode_to_mem(path, &decoded, &decoded_len), -EBADMSG);
	free(decoded);
	free(full);
}

/* A process that crashes leaves a log that decodes up to the crash. */
static void test_crashed_process_log(void **state)
{
	char *decoded;
	size_t decoded_len;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct log_config cfg = { .path = bin_path, .format = LOG_FORMAT_BINARY,
					  .level = LOGL_DEBUG, .quiet_stderr = true };

		if (log_init(&cfg) < 0)
			_exit(2);
		for (int i = 0; i < 1000; i++)
			pr_debug("record %d before the crash", i);
		abort();
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	assert_int_equal(decode_to_mem(bin_path, &decoded, &decoded_len), 0);
	assert_non_null(strstr(decoded, "record 0 before the crash\n"));
	assert_non_null(strstr(decoded, "record 999 before the crash\n"));
	free(decoded);
}

/* Parse "(SS.UUUUUU) " of every line into microseconds. */
static size_t line_times(const char *text, uint64_t *ret, size_t max)
{
	size_t n = 0;

	for (const char *p = text; *p && n < max; p = strchr(p, '\n') + 1) {
		unsigned long long s, us;

		assert_int_equal(sscanf(p, "(%llu.%llu)", &s, &us), 2);
		ret[n++] = s * 1000000 + us;
	}
	return n;
}

/* Binary logs on the real clock: TSC ticks converted back to plausible times. */
static void test_real_clock_timestamps(void **state)
{
	struct log_config cfg = { .path = bin_path, .format = LOG_FORMAT_BINARY,
				  .level = LOGL_DEBUG, .quiet_stderr = true };
	const struct timespec pause = { 0, 50 * 1000 * 1000 };
	static uint64_t t[40000];
	char *decoded;
	size_t decoded_len, n;

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	pr_info("before the pause");
	nanosleep(&pause, NULL);
	/* Several 1 MiB blocks, each ended by a clock record. */
	for (int i = 0; i < 30000; i++)
		pr_debug("record %d of a long log, with some padding to fill blocks: %s", i,
			 "0123456789abcdef0123456789abcdef");
	log_fini();
	assert_int_equal(decode_to_mem(bin_path, &decoded, &decoded_len), 0);
	n = line_times(decoded, t, ELEMENTSOF(t));
	assert_int_equal(n, 30001);
	/* The pause shows as 50 ms, within 10 ms. */
	assert_true(t[1] - t[0] >= 45000 && t[1] - t[0] <= 60000);
	for (size_t i = 2; i < n; i++)
		assert_true(t[i] >= t[i - 1]);
	free(decoded);
}

static void *log_from_thread(void *arg)
{
	for (int i = 0; i < 20000; i++)
		pr_debug("thread %ld record %d of a record long enough to fill blocks", (long)arg, i);
	return NULL;
}

/* Threads log at once: every record arrives whole (the lock is taken when threads exist). */
static void test_threads(void **state)
{
	struct log_config cfg = { .path = bin_path, .format = LOG_FORMAT_BINARY,
				  .level = LOGL_DEBUG, .quiet_stderr = true };
	pthread_t th[4];
	char *decoded;
	size_t decoded_len, lines = 0;

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	for (long i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, log_from_thread, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	log_fini();
	assert_int_equal(decode_to_mem(bin_path, &decoded, &decoded_len), 0);
	for (size_t i = 0; i < decoded_len; i++)
		lines += decoded[i] == '\n';
	assert_int_equal(lines, 4 * 20000);
	assert_non_null(strstr(decoded, "thread 3 record 19999 of a record"));
	free(decoded);
}

static void test_spec_parse(void **state)
{
	struct log_spec s;

	(void)state;
	assert_int_equal(log_spec_parse("%-*.*lld", &s), 0);
	assert_int_equal(s.len, 8);
	assert_int_equal(s.nstars, 2);
	assert_int_equal(s.precision_star, 1);
	assert_int_equal(s.kind, LOG_ARG_INT64);
	assert_int_equal(log_spec_parse("%n", &s), -EINVAL);
	assert_int_equal(log_spec_parse("%Lf", &s), -EINVAL);
	assert_int_equal(log_spec_parse("%ls", &s), -EINVAL);
	assert_int_equal(log_spec_parse("%%", &s), 0);
	assert_int_equal(s.kind, LOG_ARG_NONE);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(text_path, sizeof(text_path), "%s/text.log", tmpdir);
	snprintf(bin_path, sizeof(bin_path), "%s/bin.log", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_decode_is_byte_identical),
		cmocka_unit_test(test_text_matches_printf),
		cmocka_unit_test(test_truncated_log),
		cmocka_unit_test(test_foreign_and_corrupt_logs),
		cmocka_unit_test(test_crashed_process_log),
		cmocka_unit_test(test_real_clock_timestamps),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
