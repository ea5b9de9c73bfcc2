/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* The header of a binary log file; records follow (see log-internal.h). */
#define LOG_FILE_MAGIC "STASLOG\0"
#define LOG_FILE_VERSION 2

struct log_file_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t build_id; /* log_build_id() of the binary that wrote it */
	uint32_t nsites;
	uint32_t clock;        /* LOG_CLOCK_*: what record timestamps count */
	uint64_t ticks_per_ms; /* LOG_CLOCK_TSC: estimate, until the first clock record */
};

enum {
	LOG_CLOCK_NS = 0,  /* ns since the log started */
	LOG_CLOCK_TSC = 1, /* TSC ticks since the log started; clock records convert */
};
