/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Search by halves in an array kept sorted by an integer key. The caller
 * says how to read the key of element i (a field, or a field behind a
 * pointer), so one search serves every such index.
 */

#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*sorted_key_fn)(const void *base, size_t i);

/* The first index in [0, n) whose key is not below key: where key is, or would go. */
static inline size_t sorted_lower_bound(const void *base, size_t n, uint64_t key,
					sorted_key_fn key_at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_at(base, mid) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The index of key in [0, n), or n if it is not there. */
static inline size_t sorted_find(const void *base, size_t n, uint64_t key, sorted_key_fn key_at)
{
	size_t at = sorted_lower_bound(base, n, key, key_at);

	return at < n && key_at(base, at) == key ? at : n;
}
