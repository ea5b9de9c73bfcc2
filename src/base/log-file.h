/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* The header of a binary log file; records follow (see log-internal.h). */
#define LOG_FILE_MAGIC "STASLOG\0"
#define LOG_FILE_VERSION 1

struct log_file_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t build_id; /* log_build_id() of the binary that wrote it */
	uint32_t nsites;
	uint32_t reserved;
};
