// SPDX-License-Identifier: GPL-2.0
/*
 * fastpath.c - the compiled verdict table (DIR-24 style).
 *
 * Per family, one byte for each value of the address's top 24 bits.  The
 * compiled list (allowlist precedence already resolved by compile.c) is
 * painted in order of increasing prefix length, so every /24 ends up with
 * the class of the longest prefix of length <= 24 covering it: exactly what
 * a longest-prefix match would return for any address in it, unless a
 * prefix longer than /24 lies inside.  Such /24s are marked DEEPER and the
 * trie decides: for IPv4 the trie gets the /24 itself carrying its painted
 * class plus the longer prefixes inside it (a match of a longer prefix wins,
 * otherwise the /24 entry returns what the table would have); for IPv6 the
 * trie holds the whole compiled list.
 *
 * Memory: 16 MiB per family per generation, 64 MiB in all.
 */
#include "fastpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAST_ENTRIES (1u << SLUICE_FAST_BITS)

static uint32_t top24(const uint8_t *a)
{
	return (uint32_t)a[0] << 16 | (uint32_t)a[1] << 8 | a[2];
}

static int class_of(struct verdict_tables *t, const struct sluice_prefix *p)
{
	for (unsigned i = 1; i <= t->n_classes; i++)
		if (t->classes[i].action == p->action && t->classes[i].list_id == p->list_id)
			return (int)i;
	if (t->n_classes >= SLUICE_CLASS_DEEPER - 1)
		return -1;
	t->n_classes++;
	t->classes[t->n_classes].action = p->action;
	t->classes[t->n_classes].list_id = p->list_id;
	return (int)t->n_classes;
}

static int by_len(const void *a, const void *b)
{
	const struct sluice_prefix *const *x = a, *const *y = b;

	return (int)(*x)->len - (int)(*y)->len;
}

int verdict_tables_build(const struct prefix_list *compiled, struct verdict_tables *t, char *err,
			 size_t errlen)
{
	const struct sluice_prefix **order = NULL;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	t->fast4 = calloc(FAST_ENTRIES, 1);
	t->fast6 = calloc(FAST_ENTRIES, 1);
	order = calloc(compiled->n ? compiled->n : 1, sizeof(*order));
	if (!t->fast4 || !t->fast6 || !order) {
		snprintf(err, errlen, "out of memory building the fast tables");
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < compiled->n; i++)
		order[i] = &compiled->v[i];
	/* stable enough: equal lengths never overlap (same length, different
	 * prefixes are disjoint) */
	qsort(order, compiled->n, sizeof(*order), by_len);

	/* 1. paint prefixes of length <= 24, shortest first */
	for (size_t i = 0; i < compiled->n; i++) {
		const struct sluice_prefix *p = order[i];
		uint8_t *tbl = p->family == 4 ? t->fast4 : t->fast6;
		int cls;

		if (p->len > SLUICE_FAST_BITS)
			break;
		cls = class_of(t, p);
		if (cls < 0) {
			snprintf(err, errlen, "more than %d distinct (action, list) pairs",
				 SLUICE_CLASS_DEEPER - 2);
			rc = -E2BIG;
			goto out;
		}
		memset(tbl + top24(p->addr), cls, (size_t)1 << (SLUICE_FAST_BITS - p->len));
	}
	/* 2. longer prefixes: their /24 goes DEEPER; the v4 trie gets the /24
	 * (with what was painted there) and the prefix itself */
	for (size_t i = 0; i < compiled->n && !rc; i++) {
		const struct sluice_prefix *p = order[i];
		uint32_t b = top24(p->addr);
		uint8_t *tbl = p->family == 4 ? t->fast4 : t->fast6;

		if (p->len <= SLUICE_FAST_BITS)
			continue;
		if (class_of(t, p) < 0) {
			snprintf(err, errlen, "more than %d distinct (action, list) pairs",
				 SLUICE_CLASS_DEEPER - 2);
			rc = -E2BIG;
			break;
		}
		if (tbl[b] != SLUICE_CLASS_DEEPER) {
			if (p->family == 4) {
				struct sluice_prefix base = {.family = 4, .len = 24};

				memcpy(base.addr, p->addr, 3);
				if (tbl[b]) {
					base.action = (uint8_t)t->classes[tbl[b]].action;
					base.list_id = t->classes[tbl[b]].list_id;
					if (prefix_list_push(&t->trie, &base))
						rc = -ENOMEM;
				}
				t->deeper4++;
			} else {
				t->deeper6++;
			}
			tbl[b] = SLUICE_CLASS_DEEPER;
		}
		if (p->family == 4 && !rc && prefix_list_push(&t->trie, p))
			rc = -ENOMEM;
	}
	/* 3. IPv6: the trie is the whole compiled v6 list */
	for (size_t i = 0; i < compiled->n && !rc; i++)
		if (compiled->v[i].family == 6 && prefix_list_push(&t->trie, &compiled->v[i]))
			rc = -ENOMEM;
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory building the slow-path trie");
out:
	free(order);
	if (rc)
		verdict_tables_free(t);
	return rc;
}

void verdict_tables_free(struct verdict_tables *t)
{
	free(t->fast4);
	free(t->fast6);
	prefix_list_free(&t->trie);
	memset(t, 0, sizeof(*t));
}

const struct sluice_verdict *verdict_tables_lookup(const struct verdict_tables *t, int family,
						   const uint8_t *addr)
{
	const uint8_t *tbl = family == 4 ? t->fast4 : t->fast6;
	uint8_t cls = tbl[top24(addr)];
	const struct sluice_verdict *best = NULL;
	int best_len = -1;

	if (cls != SLUICE_CLASS_DEEPER)
		return cls ? &t->classes[cls] : NULL;
	/* the trie's answer: longest entry containing addr (linear: tests) */
	for (size_t i = 0; i < t->trie.n; i++) {
		const struct sluice_prefix *p = &t->trie.v[i];
		uint8_t m[16];

		if (p->family != family || p->len <= best_len)
			continue;
		memcpy(m, addr, 16);
		prefix_mask(m, p->len);
		if (!memcmp(m, p->addr, 16)) {
			best_len = p->len;
			for (unsigned c = 1; c <= t->n_classes; c++)
				if (t->classes[c].action == p->action &&
				    t->classes[c].list_id == p->list_id)
					best = &t->classes[c];
		}
	}
	return best;
}
