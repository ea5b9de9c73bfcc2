/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The format of /proc/PID/pagemap entries and the commands of
 * /proc/PID/clear_refs. The kernel documents them in
 * Documentation/admin-guide/mm/pagemap.rst and soft-dirty.rst but no uapi
 * header carries them. The names follow criu's (PME_*).
 *
 * For the PAGEMAP_SCAN ioctl see compat/fs.h.
 */

#include <stdint.h>

/* One little-endian 64-bit entry per virtual page. */
#define PME_PFRAME_MASK ((UINT64_C(1) << 55) - 1) /* bits 0-54: PFN (0 without CAP_SYS_ADMIN) */
#define PME_SOFT_DIRTY (UINT64_C(1) << 55)        /* pte is soft-dirty */
#define PME_EXCLUSIVE (UINT64_C(1) << 56)         /* page mapped exclusively (4.2) */
#define PME_UFFD_WP (UINT64_C(1) << 57)           /* pte is uffd-wp write-protected (5.13) */
#define PME_GUARD (UINT64_C(1) << 58)             /* pte is a guard region (6.15) */
#define PME_FILE (UINT64_C(1) << 61)              /* file page or shared anonymous (3.5) */
#define PME_SWAP (UINT64_C(1) << 62)              /* page swapped */
#define PME_PRESENT (UINT64_C(1) << 63)           /* page present */

#define PME_SIZE sizeof(uint64_t)

/*
 * A swap entry's frame field (shown with CAP_SYS_ADMIN) is its swap type in
 * bits 0-4, then its offset. Type 31 is the kernel's SWP_PTE_MARKER
 * (1 << MAX_SWAPFILES_SHIFT, minus one): no page, only a marker such as the
 * one userfaultfd write protection leaves where a protected page was dropped.
 */
#define PME_SWAP_TYPE_MASK UINT64_C(0x1f)
#define PME_SWAP_TYPE_PTE_MARKER UINT64_C(31)

static inline int pme_is_marker(uint64_t pme)
{
	return (pme & PME_SWAP) && (pme & PME_SWAP_TYPE_MASK) == PME_SWAP_TYPE_PTE_MARKER;
}

/* Strings written to /proc/PID/clear_refs. */
#define CLEAR_REFS_ALL "1"
#define CLEAR_REFS_ANON "2"
#define CLEAR_REFS_MAPPED "3"
#define CLEAR_REFS_SOFT_DIRTY "4" /* clear the soft-dirty bits of every pte */
#define CLEAR_REFS_MM_HIWATER_RSS "5"
