// SPDX-License-Identifier: GPL-2.0
/*
 * compile.c - merge blocklists and allowlists into one LPM trie.
 *
 * Why one lookup is enough: a block prefix B that lies inside some allow
 * prefix A is left out.  Take an address x inside an allow prefix A.  Every
 * trie entry containing x is nested with A; a block entry containing x and
 * longer than A would lie inside A and so was left out.  Hence the longest
 * match for x is A or a longer allow entry: allow always wins.  For x inside
 * no allow prefix only block entries can match, so x is blocked iff it lies
 * in some block prefix.  Same prefix in both lists: allow.
 */
#include "compile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_maps.h"

/* Is p inside any prefix of allow (looked up at every length in use)? */
static int covered(const struct prefix_set *allow, const uint8_t *lens_used,
		   const struct sluice_prefix *p)
{
	struct sluice_prefix probe = *p;

	for (int len = 0; len <= p->len; len++) {
		if (!lens_used[len])
			continue;
		memcpy(probe.addr, p->addr, 16);
		prefix_mask(probe.addr, (unsigned)len);
		probe.len = (uint8_t)len;
		if (prefix_set_find(allow, &probe))
			return 1;
	}
	return 0;
}

/* IPv4 entries sorted as prefix_cmp orders them (address, then length) by
 * an LSD radix sort of 64-bit words: address (32 bits) and length (8) on
 * top, the entry's index in the low 24 bits.  A 1M-line feed sorts in a
 * few tens of ms where qsort with prefix_cmp took most of a second. */
#define IDX_BITS 24
#define RADIX_BITS 10
#define KEY_BITS 40

static void radix_sort64(uint64_t *k, uint64_t *tmp, size_t n)
{
	for (unsigned shift = IDX_BITS; shift < IDX_BITS + KEY_BITS; shift += RADIX_BITS) {
		size_t count[1u << RADIX_BITS] = {0}, sum = 0;

		for (size_t i = 0; i < n; i++)
			count[(k[i] >> shift) & ((1u << RADIX_BITS) - 1)]++;
		for (size_t b = 0; b < (1u << RADIX_BITS); b++) {
			size_t c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(k[i] >> shift) & ((1u << RADIX_BITS) - 1)]++] = k[i];
		memcpy(k, tmp, n * sizeof(*k));
	}
}

/* Sort l in prefix_cmp order: IPv4 (family 4 sorts first) by radix, IPv6
 * by qsort after it. */
static int sort_prefixes(struct prefix_list *l)
{
	struct sluice_prefix *sorted;
	uint64_t *k, *tmp;
	size_t n4 = 0, j = 0, w;

	for (size_t i = 0; i < l->n; i++)
		n4 += l->v[i].family == 4;
	if (l->n >= (1u << IDX_BITS)) { /* beyond the index bits: the plain way */
		qsort(l->v, l->n, sizeof(l->v[0]), prefix_cmp);
		return 0;
	}
	sorted = malloc((l->n ? l->n : 1) * sizeof(*sorted));
	k = malloc((n4 ? n4 : 1) * sizeof(*k));
	tmp = malloc((n4 ? n4 : 1) * sizeof(*tmp));
	if (!sorted || !k || !tmp) {
		free(sorted);
		free(k);
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct sluice_prefix *p = &l->v[i];
		uint64_t a;

		if (p->family != 4)
			continue;
		a = (uint64_t)p->addr[0] << 24 | (uint64_t)p->addr[1] << 16 |
		    (uint64_t)p->addr[2] << 8 | p->addr[3];
		k[j++] = (a << 8 | p->len) << IDX_BITS | i;
	}
	radix_sort64(k, tmp, n4);
	for (j = 0; j < n4; j++)
		sorted[j] = l->v[k[j] & ((1u << IDX_BITS) - 1)];
	w = n4;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family != 4)
			sorted[w++] = l->v[i];
	qsort(sorted + n4, l->n - n4, sizeof(*sorted), prefix_cmp);
	free(k);
	free(tmp);
	free(l->v);
	l->v = sorted;
	l->cap = l->n ? l->n : 1;
	return 0;
}

int compile_verdicts(const struct prefix_list *block, const struct prefix_list *allow,
		     struct prefix_list *out)
{
	uint8_t lens_used[2][129] = {{0}};
	struct prefix_set aset;
	size_t w = 0;
	int rc;

	rc = prefix_set_init(&aset, allow->n + 1);
	if (rc)
		return rc;
	/* room for everything up front: no realloc doubling on a 1M list */
	if (out->cap < out->n + allow->n + block->n) {
		struct sluice_prefix *v =
		    realloc(out->v, (out->n + allow->n + block->n) * sizeof(*v));

		if (!v) {
			rc = -ENOMEM;
			goto done;
		}
		out->v = v;
		out->cap = out->n + allow->n + block->n;
	}
	for (size_t i = 0; i < allow->n; i++) {
		struct sluice_prefix a = allow->v[i];

		a.action = SLUICE_ACT_ALLOW;
		lens_used[a.family == 6][a.len] = 1;
		if (prefix_set_add(&aset, &a) || prefix_list_push(out, &a)) {
			rc = -ENOMEM;
			goto done;
		}
	}
	for (size_t i = 0; i < block->n; i++) {
		struct sluice_prefix b = block->v[i];

		if (covered(&aset, lens_used[b.family == 6], &b))
			continue;
		b.action = SLUICE_ACT_BLOCK;
		if (prefix_list_push(out, &b)) {
			rc = -ENOMEM;
			goto done;
		}
	}

	/* Sort, then keep one entry per prefix: allow before block, then the
	 * lowest list id, so the result does not depend on input order. */
	if (out->n > 1 && sort_prefixes(out)) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < out->n; i++) {
		struct sluice_prefix *cur = &out->v[i];

		if (w && prefix_same(&out->v[w - 1], cur)) {
			struct sluice_prefix *keep = &out->v[w - 1];

			if (cur->action == SLUICE_ACT_ALLOW && keep->action != SLUICE_ACT_ALLOW)
				*keep = *cur;
			else if (cur->action == keep->action && cur->list_id < keep->list_id)
				keep->list_id = cur->list_id;
			continue;
		}
		out->v[w++] = *cur;
	}
	out->n = w;
done:
	prefix_set_free(&aset);
	return rc;
}
