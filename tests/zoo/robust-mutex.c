/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A robust, process-shared mutex held across the checkpoint, in a file of
 * the test's directory that others may map too (robust-mutex.shm). The
 * dump kills the process, and the kernel then marks the mutex as its
 * owner's death requires: FUTEX_OWNER_DIED, no owner (tests/suites/dump.sh
 * checks the file right after the dump). So after the restore the mutex is
 * either still ours (no checkpoint: its futex word holds our tid, and it
 * unlocks) or its owner died: taking it says EOWNERDEAD, and it can be made
 * consistent and unlocked. Nothing else will do.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zoo.h"

#define FUTEX_TID_MASK 0x3fffffffu /* <linux/futex.h> */
#define FUTEX_OWNER_DIED 0x40000000u

static pthread_mutex_t *mutex;

static void setup(void)
{
	char path[4096];
	pthread_mutexattr_t a;
	int fd, r;

	zoo_path(path, sizeof(path), "robust-mutex.shm");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		zoo_setup_failed("%s: %m", path);
	mutex = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mutex == MAP_FAILED)
		zoo_setup_failed("mmap %s: %m", path);
	if (pthread_mutexattr_init(&a) ||
	    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) ||
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) || pthread_mutex_init(mutex, &a))
		zoo_setup_failed("a robust shared mutex");
	r = pthread_mutex_lock(mutex);
	if (r)
		zoo_setup_failed("pthread_mutex_lock: %s", strerror(r));
}

static void check(void)
{
	/* glibc keeps the owner's tid in the futex word; the kernel marks its death there. */
	unsigned word = *(volatile unsigned *)mutex;
	int r;

	if (word & FUTEX_OWNER_DIED) {
		zoo_expect((word & FUTEX_TID_MASK) == 0, "the futex word is %#x: an owner", word);
		r = pthread_mutex_trylock(mutex);
		if (!zoo_expect(r == EOWNERDEAD, "taking the mutex: %s, not EOWNERDEAD",
				strerror(r)))
			return;
		zoo_expect(pthread_mutex_consistent(mutex) == 0, "pthread_mutex_consistent");
	} else {
		zoo_expect((word & FUTEX_TID_MASK) == (unsigned)gettid(),
			   "the futex word is %#x, neither our tid %d nor FUTEX_OWNER_DIED", word,
			   gettid());
	}
	r = pthread_mutex_unlock(mutex);
	zoo_expect(r == 0, "pthread_mutex_unlock: %s", strerror(r));
}

static void break_unlock(void)
{
	pthread_mutex_unlock(mutex);
}

static const struct zoo_break breaks[] = {
	{"the mutex was unlocked", break_unlock},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
