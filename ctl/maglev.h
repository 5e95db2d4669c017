/* SPDX-License-Identifier: GPL-2.0 */
/* maglev.h - consistent-hash lookup tables (Maglev, weighted). */
#ifndef SLUICE_MAGLEV_H
#define SLUICE_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

struct maglev_backend {
	uint32_t id;     /* value written into the table */
	uint32_t weight; /* 0 = not in the table */
	uint8_t key[18]; /* identity that seeds its permutation: address + port */
};

/* Fill table[0..m-1] (m prime) with backend ids.  The result depends only on
 * the set of (key, weight, id) and m, not on the order of be[], so every node
 * with the same config builds the same table.  With no usable backend every
 * slot is 0.  Returns 0 or -ENOMEM / -EINVAL. */
int maglev_build(const struct maglev_backend *be, size_t n, uint32_t *table, uint32_t m);

#endif
