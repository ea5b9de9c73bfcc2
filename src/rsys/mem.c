/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access to the task's memory. Bulk data goes through process_vm_readv/
 * writev, which respect the mapping's protection; the few bytes of code that
 * a remote syscall may need at the task's rip go through PTRACE_POKETEXT,
 * which writes through read-only private mappings (the kernel copies the
 * page on write, FOLL_FORCE), so the file behind them is never touched.
 */
#include <sys/uio.h>

#include "base/log.h"
#include "compat/ptrace.h"
#include "rsys/internal.h"

typedef ssize_t (*vm_copy_fn)(pid_t, const struct iovec *, unsigned long, const struct iovec *,
			      unsigned long, unsigned long);

static int vm_copy(struct rsys_task *t, vm_copy_fn fn, const char *what, unsigned long addr,
		   void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec local = {.iov_base = (char *)buf + done, .iov_len = len - done};
		struct iovec remote = {.iov_base = (void *)(addr + done), .iov_len = len - done};
		ssize_t n = fn(t->tid, &local, 1, &remote, 1, 0);

		if (n < 0) {
			int r = negative_errno();
			pr_perror("Can't %s %zu bytes at %#lx in %d", what, len - done, addr + done,
				  t->tid);
			return r;
		}
		/* A short copy stops at the first page it could not access. */
		if (n == 0) {
			pr_err("Can't %s %#lx in %d: not mapped", what, addr + done, t->tid);
			return -EFAULT;
		}
		done += (size_t)n;
	}
	return 0;
}

int rsys_read_mem(struct rsys_task *t, unsigned long addr, void *buf, size_t len)
{
	return vm_copy(t, process_vm_readv, "read", addr, buf, len);
}

int rsys_write_mem(struct rsys_task *t, unsigned long addr, const void *buf, size_t len)
{
	return vm_copy(t, process_vm_writev, "write", addr, (void *)buf, len);
}

#define PAGE_MASK_4K (~4095UL)

int rsys_poke(struct rsys_task *t, unsigned long addr, const uint8_t *bytes, size_t len,
	      struct rsys_poke *ret_poke)
{
	unsigned long word_addr = addr, word;

	if (len == 0 || len > sizeof(word))
		return -EINVAL;
	/* Keep the word inside the page(s) of the bytes: the next page may be unmapped. */
	if (((addr + sizeof(word) - 1) & PAGE_MASK_4K) != ((addr + len - 1) & PAGE_MASK_4K))
		word_addr = addr + len - sizeof(word);

	errno = 0;
	word = (unsigned long)ptrace(PTRACE_PEEKTEXT, t->tid, (void *)word_addr, NULL);
	if (errno != 0) {
		int r = negative_errno();
		pr_perror("Can't read the code at %#lx in %d", word_addr, t->tid);
		return r;
	}
	unsigned long patched = word;
	memcpy((uint8_t *)&patched + (addr - word_addr), bytes, len);
	if (ptrace(PTRACE_POKETEXT, t->tid, (void *)word_addr, (void *)patched) < 0) {
		int r = negative_errno();
		pr_perror("Can't write the code at %#lx in %d", word_addr, t->tid);
		return r;
	}
	*ret_poke = (struct rsys_poke){.word_addr = word_addr, .orig_word = word};
	return 0;
}

int rsys_unpoke(struct rsys_task *t, const struct rsys_poke *poke)
{
	if (ptrace(PTRACE_POKETEXT, t->tid, (void *)poke->word_addr, (void *)poke->orig_word) < 0) {
		int r = negative_errno();
		pr_perror("Can't restore the code at %#lx in %d", poke->word_addr, t->tid);
		return r;
	}
	return 0;
}
