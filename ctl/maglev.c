// SPDX-License-Identifier: GPL-2.0
/*
 * maglev.c - Maglev consistent hashing (Eisenbud et al., NSDI'16) with
 * weights.  Each backend walks its own permutation of the table's slots
 * (offset + j*skip mod m, m prime so every skip visits every slot) and
 * claims the first free slot on its turn.  Weights decide how many turns a
 * backend gets per round: a backend of weight w takes w/w_max of the turns,
 * so its share of slots is proportional to w.  Removing one of N backends
 * only reassigns its own slots plus a small fraction of others.
 */
#include "maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash64(const uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	/* final avalanche (splitmix64) so similar keys get unrelated values */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static int cmp_key(const void *a, const void *b)
{
	const struct maglev_backend *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

int maglev_build(const struct maglev_backend *in, size_t n, uint32_t *table, uint32_t m)
{
	struct maglev_backend *be = NULL;
	uint64_t *offset = NULL, *skip = NULL, *next = NULL;
	double *credit = NULL;
	uint32_t wmax = 0, filled = 0;
	size_t k = 0;
	int rc = 0;

	if (m < 3)
		return -EINVAL;
	memset(table, 0, m * sizeof(*table));
	be = calloc(n ? n : 1, sizeof(*be));
	offset = calloc(n ? n : 1, sizeof(*offset));
	skip = calloc(n ? n : 1, sizeof(*skip));
	next = calloc(n ? n : 1, sizeof(*next));
	credit = calloc(n ? n : 1, sizeof(*credit));
	if (!be || !offset || !skip || !next || !credit) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (in[i].weight)
			be[k++] = in[i];
	if (!k)
		goto out;
	qsort(be, k, sizeof(*be), cmp_key);
	for (size_t i = 0; i < k; i++) {
		offset[i] = hash64(be[i].key, sizeof(be[i].key), 0x6d61676c) % m;
		skip[i] = hash64(be[i].key, sizeof(be[i].key), 0x65762121) % (m - 1) + 1;
		next[i] = offset[i];
		if (be[i].weight > wmax)
			wmax = be[i].weight;
	}
	/* marker for free slots: ids are never UINT32_MAX */
	for (uint32_t s = 0; s < m; s++)
		table[s] = UINT32_MAX;
	while (filled < m) {
		for (size_t i = 0; i < k && filled < m; i++) {
			credit[i] += (double)be[i].weight / wmax;
			if (credit[i] < 1.0)
				continue;
			credit[i] -= 1.0;
			for (;;) {
				/* (offset + j * skip) % m for j = 0, 1, ...: kept
				 * in next[] and stepped by skip < m, one compare
				 * instead of a 64-bit division per probe (the
				 * probes of 1000 services took ~0.1 s) */
				uint32_t slot = (uint32_t)next[i];

				next[i] += skip[i];
				if (next[i] >= m)
					next[i] -= m;
				if (table[slot] == UINT32_MAX) {
					table[slot] = be[i].id;
					filled++;
					break;
				}
			}
		}
	}
out:
	free(be);
	free(offset);
	free(skip);
	free(next);
	free(credit);
	return rc;
}
