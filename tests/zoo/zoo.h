/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The zoo contract, shared by every program in tests/zoo (see docs/testing.md):
 *
 *   PROG --pidfile FILE --verdict FILE   set up the state, write FILE (pid), wait for
 *                                        SIGTERM, check the state, write the verdict
 *   PROG --requires                      print the `stasis check` feature names needed
 *   PROG --breaks                        print the ways STASIS_ZOO_BREAK=N can break it
 *   PROG --dump-options                  print the options `stasis dump` needs for it
 *
 * The verdict file gets one line: "PASS", "FAIL: why" or "SKIP: why", and the
 * exit status says the same: 0, 1 or 77 (2 for a usage error).
 *
 * With STASIS_ZOO_BREAK=N in the environment the program applies its N-th
 * break right after writing the pid file: it damages its own state so that
 * its check must fail. That is how the suite proves that a check can fail.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/* Exit statuses besides 0 (pass) and 1 (fail). */
#define ZOO_EXIT_USAGE 2
#define ZOO_EXIT_SKIP 77

#define ZOO_STR_(x) #x
#define ZOO_STR(x) ZOO_STR_(x)

struct zoo_break {
	const char *what;    /* what the break damages, for --breaks and the suite's report */
	void (*apply)(void); /* NULL if the program applies it itself (zoo_break_selected) */
};

struct zoo_desc {
	const char *requires;     /* `stasis check` feature names, space-separated, or NULL */
	const char *dump_options; /* options its state needs at the dump (--file-locks), or NULL */
	const struct zoo_break *breaks;
	size_t n_breaks;
};

/* Parse the command line, answer --requires/--breaks (and exit), install the
 * SIGTERM handler. Call it first. */
void zoo_init(int argc, char **argv, const struct zoo_desc *desc);

/* The directory of the pid file: where a program puts the files it needs. */
const char *zoo_dir(void);
/* zoo_dir()/name into buf; exits through zoo_setup_failed() if it does not fit. */
void zoo_path(char *buf, size_t size, const char *name);

/* Something the program needed to do failed: verdict "FAIL: ...", exit 1. */
_noreturn_ _printf_(1, 2) void zoo_die(const char *fmt, ...);
/* Setup could not be done: verdict "FAIL: setup: ...", exit 1. */
_noreturn_ _printf_(1, 2) void zoo_setup_failed(const char *fmt, ...);
/* This host cannot run the program (a CPU feature, say): "SKIP: ...", exit 77. */
_noreturn_ _printf_(1, 2) void zoo_skip(const char *fmt, ...);

/* Write the pid file: the state is ready to be checkpointed. */
void zoo_ready(void);
/* The same in two halves, for a program that must publish its pid file with
 * a single raw syscall (rename(tmp, pidfile)) while it holds registers:
 * zoo_ready_prepare() writes the temporary file and returns its path. */
const char *zoo_ready_prepare(void);
const char *zoo_pidfile(void);

/* The break selected by STASIS_ZOO_BREAK, 1-based; 0 when none. */
unsigned zoo_break_selected(void);
/* Apply the selected break, if any. Call it right after zoo_ready(). */
void zoo_break_now(void);

/* Has SIGTERM arrived? */
bool zoo_terminated(void);
/* The flag behind it, for code that polls it from assembly. */
const volatile int *zoo_term_flag(void);
/* Sleep until SIGTERM has arrived. */
void zoo_wait_term(void);
/* Sleep ms milliseconds (signals do not shorten it). */
void zoo_sleep_ms(unsigned ms);

/* Record a failed check; the first reason goes into the verdict. No malloc. */
_printf_(1, 2) void zoo_fail(const char *fmt, ...);
/* Record a failure when !ok; returns ok. */
_printf_(2, 3) bool zoo_expect(bool ok, const char *fmt, ...);
/* Write the verdict and return the exit status for main(). */
int zoo_verdict(void);

/*
 * The whole life of most zoo programs, for main() to return: zoo_init(),
 * setup(), zoo_ready(), zoo_break_now(), zoo_wait_term(), check(), the
 * verdict.
 */
int zoo_run(int argc, char **argv, const struct zoo_desc *desc, void (*setup)(void),
	    void (*check)(void));

/* Fields of /proc/PID/stat (for the checks of programs with children). */
struct zoo_stat {
	char state; /* R S D Z T ... */
	int ppid, pgid, sid;
};
/* false if pid is gone (or its stat cannot be read). */
bool zoo_proc_stat(int pid, struct zoo_stat *ret);

/*
 * Fork a child that writes v at p and exits: true if the parent then reads
 * v there (p is shared memory); a failed fork or child is recorded as a
 * failure (what names the memory).
 */
bool zoo_shared_with_child(volatile uint8_t *p, uint8_t v, const char *what);

/* A repeatable byte pattern: byte i of the stream seeded with seed. */
static inline uint8_t zoo_pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = (seed ^ 0x9e3779b97f4a7c15ULL) + i * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	return (uint8_t)(x >> 29);
}

/* The next number of a xorshift64 generator whose state is *x (never 0). */
static inline uint64_t zoo_xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One mapping of /proc/self/smaps, for the memory checks. */
struct zoo_vma {
	unsigned long start, end;
	char perms[5];     /* "rw-p" */
	char vmflags[192]; /* " rd wr mr mw me ac" (each flag after a space) */
	unsigned long rss_kb, locked_kb;
};

/* The mapping that holds addr; false if there is none or smaps cannot be read.
 * For the check phase only: it allocates. */
bool zoo_vma_at(const void *addr, struct zoo_vma *ret);
/* Does the VmFlags line of v hold the two-letter flag ("lo", "gd" ...)? */
bool zoo_vma_flag(const struct zoo_vma *v, const char *flag);

/* The text of /proc/self/fdinfo/FD into buf (NUL-terminated, cut at size - 1). */
bool zoo_fdinfo(int fd, char *buf, size_t size);

void zoo_fill(void *buf, size_t n, uint64_t seed);
/* FNV-1a over n bytes. */
uint64_t zoo_checksum(const void *buf, size_t n);
/* Offset of the first byte that differs from the pattern, or -1. */
long zoo_pattern_mismatch(const void *buf, size_t n, uint64_t seed);
