/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The logger: one process-wide sink (the log is the one piece of global
 * state stasis has). The hot path takes a lock, copies the raw arguments
 * into a large buffer and returns; the buffer reaches the file when it is
 * full, when an error is logged, and at exit.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/single_threaded.h>
#include <time.h>

#include "base/log-clock.h"
#include "base/log-file.h"
#include "base/log-internal.h"

#define LOG_BUFFER_SIZE (1024 * 1024)

int log_level_current = LOG_DEFAULT_LEVEL;

static struct {
	pthread_mutex_t lock;
	int fd; /* -1: no file, text goes to stderr */
	enum log_format format;
	bool quiet_stderr;
	struct log_clock clock;
	bool started; /* log_init() ran: before it, records carry time 0 */
	uint8_t *buf;
	size_t used;
	uint8_t scratch[LOG_RECORD_MAX];
	char text[LOG_RECORD_MAX + 256];
} log_state = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
};

extern struct log_site __start_stasis_log_sites[];
extern struct log_site __stop_stasis_log_sites[];

struct log_site *log_sites_begin(void)
{
	return __start_stasis_log_sites;
}

size_t log_sites_count(void)
{
	return (size_t)(__stop_stasis_log_sites - __start_stasis_log_sites);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t log_build_id(void)
{
	static uint64_t id;
	struct log_site *s = log_sites_begin();

	if (id)
		return id;
	uint64_t h = fnv1a(0xcbf29ce484222325ull, STASIS_VERSION, strlen(STASIS_VERSION));
	for (size_t i = 0; i < log_sites_count(); i++) {
		h = fnv1a(h, s[i].fmt, strlen(s[i].fmt) + 1);
		h = fnv1a(h, s[i].file, strlen(s[i].file) + 1);
		h = fnv1a(h, &s[i].line, sizeof(s[i].line));
		h = fnv1a(h, &s[i].level, 2); /* level and perror */
	}
	id = h ? h : 1;
	return id;
}

static void write_all(int fd, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* nowhere left to report it */
		p += k;
		n -= (size_t)k;
	}
}

static bool binary_file(void)
{
	return log_state.fd >= 0 && log_state.format == LOG_FORMAT_BINARY;
}

/* End a block of tick-stamped records with the (ticks, ns) pair of now. */
static void append_clock_record(void)
{
	struct log_clock_record c = {
		.hdr = { .size = sizeof(c), .site = LOG_SITE_CLOCK,
			 .ts_ns = log_clock_now(&log_state.clock) },
		.ns = log_clock_ns(&log_state.clock),
	};

	memcpy(log_state.buf + log_state.used, &c, sizeof(c));
	log_state.used += sizeof(c);
}

/* Async-signal-safe: called from the crash handler without the lock. */
static void flush_locked(void)
{
	if (log_state.fd >= 0 && log_state.used) {
		if (binary_file() && log_state.clock.tsc)
			append_clock_record();
		write_all(log_state.fd, log_state.buf, log_state.used);
	}
	log_state.used = 0;
}

void log_flush(void)
{
	int saved = errno;

	pthread_mutex_lock(&log_state.lock);
	flush_locked();
	pthread_mutex_unlock(&log_state.lock);
	errno = saved;
}

static void close_locked(void)
{
	flush_locked();
	if (log_state.fd > STDERR_FILENO)
		close(log_state.fd);
	log_state.fd = -1;
}

void log_fini(void)
{
	pthread_mutex_lock(&log_state.lock);
	close_locked();
	free(log_state.buf);
	log_state.buf = NULL;
	pthread_mutex_unlock(&log_state.lock);
}

static void log_atexit(void)
{
	log_flush();
}

/*
 * On a crash, write out what the buffer holds before dying: the buffer only
 * ever holds whole records (`used` moves after a record is complete), so no
 * lock is needed, and write() is async-signal-safe. The signal is then
 * delivered again with its default action (SA_RESETHAND).
 */
static void log_crash_handler(int sig)
{
	flush_locked();
	raise(sig);
}

static void install_crash_flush(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS };
	struct sigaction sa = { .sa_handler = log_crash_handler, .sa_flags = SA_RESETHAND | SA_NODEFER };

	for (size_t i = 0; i < ELEMENTSOF(fatal); i++) {
		struct sigaction old;

		/* Leave alone a handler the program installed itself. */
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(fatal[i], &sa, NULL);
	}
}

static int open_sink(const struct log_config *cfg, const struct log_clock *clock, int *ret_fd)
{
	_cleanup_close_ int fd = -1;

	fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
	if (fd < 0)
		return negative_errno();
	if (cfg->format == LOG_FORMAT_BINARY) {
		struct log_file_header h = {
			.version = LOG_FILE_VERSION,
			.header_size = sizeof(h),
			.build_id = log_build_id(),
			.nsites = (uint32_t)log_sites_count(),
			.clock = clock->tsc ? LOG_CLOCK_TSC : LOG_CLOCK_NS,
			.ticks_per_ms = clock->ticks_per_ms,
		};

		memcpy(h.magic, LOG_FILE_MAGIC, sizeof(h.magic));
		if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h))
			return negative_errno();
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int log_init(const struct log_config *cfg)
{
	static bool registered;
	struct log_clock clock;
	int fd = -1, r;

	/* Ticks only in binary files: text is formatted at once, in ns. */
	log_clock_start(&clock, cfg->clock, cfg->path && cfg->format == LOG_FORMAT_BINARY);
	if (cfg->path) {
		r = open_sink(cfg, &clock, &fd);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&log_state.lock);
	close_locked();
	if (!log_state.buf)
		log_state.buf = malloc(LOG_BUFFER_SIZE);
	if (!log_state.buf) {
		pthread_mutex_unlock(&log_state.lock);
		safe_close(fd);
		return -ENOMEM;
	}
	log_state.fd = fd;
	log_state.format = cfg->path ? cfg->format : LOG_FORMAT_TEXT;
	log_state.quiet_stderr = cfg->quiet_stderr;
	log_state.clock = clock;
	log_state.started = true;
	log_level_current = cfg->level;
	if (!registered) {
		atexit(log_atexit);
		install_crash_flush();
		registered = true;
	}
	pthread_mutex_unlock(&log_state.lock);
	return 0;
}

static void append_locked(const void *data, size_t n)
{
	if (log_state.fd < 0) {
		write_all(STDERR_FILENO, data, n);
		return;
	}
	if (LOG_BUFFER_SIZE - log_state.used < n)
		flush_locked();
	memcpy(log_state.buf + log_state.used, data, n);
	log_state.used += n;
}

static void emit_locked(struct log_site *site, const char *fmt, int saved_errno, va_list ap)
{
	uint32_t id = (uint32_t)(site - log_sites_begin());
	uint64_t now;
	uint8_t *rec;
	size_t size;
	bool to_file = log_state.fd >= 0;
	int n;

	(void)fmt; /* same as site->fmt; passed for the compiler's format check */
	/* Binary records are encoded straight into the file buffer. */
	if (to_file && log_state.format == LOG_FORMAT_BINARY) {
		if (LOG_BUFFER_SIZE - log_state.used < LOG_RECORD_MAX + sizeof(struct log_clock_record))
			flush_locked();
		rec = log_state.buf + log_state.used;
	} else
		rec = log_state.scratch;
	/* After any flush: a record is never older than the clock record before it. */
	now = log_state.started ? log_clock_now(&log_state.clock) : 0;
	size = log_record_encode(site, id, now, saved_errno, ap, rec, LOG_RECORD_MAX);

	if (to_file && log_state.format == LOG_FORMAT_BINARY)
		log_state.used += size;
	else {
		n = log_record_format(site, rec, true, log_state.text, sizeof(log_state.text));
		if (n > 0)
			append_locked(log_state.text, MIN((size_t)n, sizeof(log_state.text) - 1));
	}
	/* Errors and warnings reach the user at once, as text. */
	if (to_file && site->level <= LOGL_WARN && site->level != LOGL_MSG &&
	    !log_state.quiet_stderr) {
		n = log_record_format(site, rec, false, log_state.text, sizeof(log_state.text));
		if (n > 0)
			write_all(STDERR_FILENO, log_state.text,
				  MIN((size_t)n, sizeof(log_state.text) - 1));
	}
	if (site->level == LOGL_ERROR)
		flush_locked();
}

void log_emit(struct log_site *site, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	/*
	 * Before log_init() there is no file: text goes to stderr. While the
	 * process has one thread nobody can race for the buffer, and the lock
	 * is a tenth of the cost of a record: take it only when threads exist
	 * (glibc clears the flag before a second thread can run).
	 */
	bool lock = !__libc_single_threaded;

	if (lock)
		pthread_mutex_lock(&log_state.lock);
	va_start(ap, fmt);
	emit_locked(site, fmt, saved_errno, ap);
	va_end(ap);
	if (lock)
		pthread_mutex_unlock(&log_state.lock);
	errno = saved_errno;
}
