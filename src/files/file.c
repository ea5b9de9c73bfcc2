/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/file.h"

int file_set_flags(int fd, uint32_t flags, const char *label)
{
	int r;

	/* O_ASYNC is the task's to set (restore/fown.c): the kernel signals the setter's fd number
	 */
	if (fcntl(fd, F_SETFL, (int)(flags & FILE_SETFL_MASK & ~O_ASYNC)) >= 0)
		return 0;
	r = negative_errno();
	pr_err("%s: cannot set its flags to %#o: %s", label, flags & FILE_SETFL_MASK, strerror(-r));
	return r;
}
