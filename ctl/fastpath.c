// SPDX-License-Identifier: GPL-2.0
/*
 * fastpath.c - the compiled verdict tables (IPv4 DIR-24-8, IPv6 top-24 +
 * hash per prefix length in use).
 *
 * The compiled list (allowlist precedence already resolved by compile.c) is
 * painted in order of increasing prefix length, so every entry ends up with
 * the class of the longest prefix covering it.
 *
 * IPv4: prefixes <= /24 paint the /24 entries.  A /24 holding a longer
 * prefix gets a chunk: 256 class bytes, one per address, first filled with
 * the /24's class, then painted by the longer prefixes.  Any address: one
 * entry, at most one chunk byte.  Past the chunk pool, a /24 is marked
 * DEEPER and the trie gets the /24 itself carrying its painted class plus
 * the longer prefixes inside it (a longer match wins, otherwise the /24
 * entry returns what the table would have).
 *
 * IPv6: prefixes <= /24 paint a byte per value of the top 24 bits.  A bucket
 * holding longer prefixes is marked HASH and the hash gets its entry (len
 * 24: painted class + up to SLUICE_FAST6_INLINE longer prefixes inline, or
 * else the longer lengths present in the bucket, at most SLUICE_FAST6_LENS,
 * and one entry per longer prefix).  The data path probes only the lengths the
 * bucket holds, longest first: a flood from a blocked /48 alone in its
 * bucket costs one byte and one hash lookup; an unlisted address in an
 * untouched bucket one byte.  Past the hash size, DEEPER + trie as for v4.
 */
#include "fastpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAST_ENTRIES (1u << SLUICE_FAST_BITS)
#define CHUNK 256

static uint32_t top24(const uint8_t *a)
{
	return (uint32_t)a[0] << 16 | (uint32_t)a[1] << 8 | a[2];
}

static int class_of(struct verdict_tables *t, const struct sluice_prefix *p)
{
	for (unsigned i = 1; i <= t->n_classes; i++)
		if (t->classes[i].action == p->action && t->classes[i].list_id == p->list_id)
			return (int)i;
	if (t->n_classes >= SLUICE_CLASS_MAX)
		return -1;
	t->n_classes++;
	t->classes[t->n_classes].action = p->action;
	t->classes[t->n_classes].list_id = p->list_id;
	return (int)t->n_classes;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct fast6_entry *)a)->k, &((const struct fast6_entry *)b)->k,
		      sizeof(struct sluice_fast6_key));
}

/* Order by (length) with a counting sort: 1.3M entries, 129 lengths. */
static const struct sluice_prefix **by_length(const struct prefix_list *l)
{
	size_t start[130] = {0};
	const struct sluice_prefix **order = calloc(l->n ? l->n : 1, sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		start[(l->v[i].len > 128 ? 128 : l->v[i].len) + 1]++;
	for (int i = 1; i < 130; i++)
		start[i] += start[i - 1];
	for (size_t i = 0; i < l->n; i++)
		order[start[l->v[i].len > 128 ? 128 : l->v[i].len]++] = &l->v[i];
	return order;
}

/* The /24 (v4) or top-24 bucket (v6) goes to the trie: its painted class as
 * a /24 entry, the longer prefixes follow. */
static int to_trie(struct verdict_tables *t, const struct sluice_prefix *p, unsigned painted)
{
	struct sluice_prefix base = {.family = p->family, .len = 24};

	if (!painted)
		return 0;
	memcpy(base.addr, p->addr, 3);
	base.action = (uint8_t)t->classes[painted].action;
	base.list_id = t->classes[painted].list_id;
	return prefix_list_push(&t->trie, &base) ? -ENOMEM : 0;
}

static int paint_long4(struct verdict_tables *t, const struct sluice_prefix *p, int cls)
{
	uint32_t b = top24(p->addr), e = t->fast4[b];
	uint8_t *c;

	if (e == SLUICE_CLASS_DEEPER)
		return prefix_list_push(&t->trie, p) ? -ENOMEM : 0;
	if (e < SLUICE_CHUNK_BASE) {
		if (t->n_chunks >= t->chunk_limit) {
			t->deeper4++;
			t->fast4[b] = SLUICE_CLASS_DEEPER;
			if (to_trie(t, p, e))
				return -ENOMEM;
			return prefix_list_push(&t->trie, p) ? -ENOMEM : 0;
		}
		/* the whole pool at once: pages never touched cost nothing */
		if (!t->chunks && !(t->chunks = malloc(t->chunk_limit * CHUNK)))
			return -ENOMEM;
		memset(t->chunks + t->n_chunks * CHUNK, (int)e, CHUNK);
		e = SLUICE_CHUNK_BASE + (uint32_t)t->n_chunks++;
		t->fast4[b] = e;
	}
	c = t->chunks + (size_t)(e - SLUICE_CHUNK_BASE) * CHUNK;
	memset(c + p->addr[3], cls, (size_t)1 << (32 - p->len));
	return 0;
}

static int h6_push(struct verdict_tables *t, size_t *cap, const struct fast6_entry *e)
{
	if (t->n_h6 == *cap) {
		size_t nc = *cap ? *cap * 2 : 4096;
		struct fast6_entry *n = realloc(t->h6, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->h6 = n;
		*cap = nc;
	}
	t->h6[t->n_h6++] = *e;
	return 0;
}

/* IPv6 prefixes longer than /24, shortest first.  A bucket goes to the
 * hash whole (its entry + one per prefix, at most SLUICE_FAST6_LENS
 * lengths) or to the trie whole.  need[b]: entries the bucket takes, then
 * (once in the hash) 1 + the index of its entry in t->h6; nlen[b]/last[b]:
 * its distinct lengths. */
static int paint_long6(struct verdict_tables *t, const struct sluice_prefix *const *order, size_t n)
{
	uint32_t *need = calloc(FAST_ENTRIES, sizeof(uint32_t));
	uint8_t *nlen = calloc(FAST_ENTRIES, 1), *last = calloc(FAST_ENTRIES, 1);
	uint8_t *inl = calloc(FAST_ENTRIES, 1); /* the bucket's prefixes are inline */
	size_t reserved = 0, cap = 0;
	int rc = 0;

	if (!need || !nlen || !last || !inl) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t b = top24(order[i]->addr);

		need[b]++;
		if (last[b] != order[i]->len && nlen[b] < 255)
			nlen[b]++;
		last[b] = order[i]->len;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		const struct sluice_prefix *p = order[i];
		uint32_t b = top24(p->addr);
		uint8_t e = t->fast6[b];
		struct fast6_entry x = {.k = {.len = p->len}}, *bk;
		int cls = class_of(t, p);

		if (cls < 0) {
			rc = -E2BIG;
			break;
		}
		if (e == SLUICE_CLASS_DEEPER) {
			rc = prefix_list_push(&t->trie, p) ? -ENOMEM : 0;
			continue;
		}
		if (e != SLUICE_CLASS_HASH) {
			struct fast6_entry bucket = {.k = {.len = 24}, .v = {.cls = e}};

			inl[b] = need[b] <= SLUICE_FAST6_INLINE;
			if (reserved + 1 + (inl[b] ? 0 : need[b]) > t->h6_limit ||
			    (!inl[b] && nlen[b] > SLUICE_FAST6_LENS)) {
				t->deeper6++;
				t->fast6[b] = SLUICE_CLASS_DEEPER;
				rc = to_trie(t, p, e);
				if (!rc)
					rc = prefix_list_push(&t->trie, p) ? -ENOMEM : 0;
				continue;
			}
			reserved += 1 + (inl[b] ? 0 : need[b]);
			memcpy(bucket.k.addr, p->addr, 3);
			rc = h6_push(t, &cap, &bucket);
			need[b] = (uint32_t)t->n_h6; /* from here on: the slot */
			t->fast6[b] = SLUICE_CLASS_HASH;
			t->buckets6++;
			if (rc)
				break;
		}
		bk = &t->h6[need[b] - 1];
		if (inl[b]) { /* longest first: shift the shorter ones down */
			memmove(&bk->v.inline_addr[1], &bk->v.inline_addr[0],
				sizeof(bk->v.inline_addr[0]) * bk->v.n_inline);
			memmove(&bk->v.inline_len[1], &bk->v.inline_len[0], bk->v.n_inline);
			memmove(&bk->v.inline_cls[1], &bk->v.inline_cls[0], bk->v.n_inline);
			memcpy(bk->v.inline_addr[0], p->addr, 16);
			bk->v.inline_len[0] = p->len;
			bk->v.inline_cls[0] = (uint8_t)cls;
			bk->v.n_inline++;
			continue;
		}
		if (!bk->v.n_lens || bk->v.lens[bk->v.n_lens - 1] != p->len)
			bk->v.lens[bk->v.n_lens++] = p->len;
		memcpy(x.k.addr, p->addr, 16);
		x.v.cls = (uint32_t)cls;
		rc = h6_push(t, &cap, &x);
	}
	if (!rc)
		qsort(t->h6, t->n_h6, sizeof(*t->h6), key_cmp);
out:
	free(need);
	free(nlen);
	free(last);
	free(inl);
	return rc;
}

int verdict_tables_build_limited(const struct prefix_list *compiled,
				 const struct verdict_limits *lim, struct verdict_tables *t,
				 char *err, size_t errlen)
{
	const struct sluice_prefix **order = NULL;
	size_t first_long6 = 0, end6 = 0;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	t->chunk_limit = lim && lim->chunks ? lim->chunks : SLUICE_FAST4_CHUNKS;
	t->h6_limit = lim && lim->h6_entries ? lim->h6_entries : SLUICE_FAST6_ENTRIES;
	t->fast4 = calloc(FAST_ENTRIES, sizeof(uint32_t));
	t->fast6 = calloc(FAST_ENTRIES, 1);
	order = by_length(compiled);
	if (!t->fast4 || !t->fast6 || !order) {
		rc = -ENOMEM;
		goto out;
	}
	/* 1. prefixes of length <= 24, shortest first; then v4 longer ones
	 * (equal lengths never overlap: painting order within one is free) */
	for (size_t i = 0; i < compiled->n && !rc; i++) {
		const struct sluice_prefix *p = order[i];
		int cls;

		if (p->family == 6) {
			if (p->len > SLUICE_FAST_BITS) {
				if (!end6)
					first_long6 = i;
				end6 = i + 1;
				continue;
			}
		}
		cls = class_of(t, p);
		if (cls < 0) {
			rc = -E2BIG;
			break;
		}
		if (p->len > SLUICE_FAST_BITS) {
			rc = paint_long4(t, p, cls);
		} else if (p->family == 4) {
			uint32_t b = top24(p->addr), n = 1u << (SLUICE_FAST_BITS - p->len);

			for (uint32_t j = 0; j < n; j++)
				t->fast4[b + j] = (uint32_t)cls;
		} else {
			memset(t->fast6 + top24(p->addr), cls,
			       (size_t)1 << (SLUICE_FAST_BITS - p->len));
		}
	}
	/* 2. IPv6 longer than /24 (all v6 <= 24 are painted by now) */
	if (!rc && end6) {
		size_t n = 0;

		for (size_t i = first_long6; i < end6; i++)
			if (order[i]->family == 6 && order[i]->len > SLUICE_FAST_BITS)
				order[first_long6 + n++] = order[i];
		rc = paint_long6(t, order + first_long6, n);
	}
out:
	if (rc == -E2BIG)
		snprintf(err, errlen, "more than %d distinct (action, list) pairs",
			 SLUICE_CLASS_MAX);
	else if (rc)
		snprintf(err, errlen, "out of memory building the fast tables");
	free(order);
	if (rc)
		verdict_tables_free(t);
	return rc;
}

int verdict_tables_build(const struct prefix_list *compiled, struct verdict_tables *t, char *err,
			 size_t errlen)
{
	return verdict_tables_build_limited(compiled, NULL, t, err, errlen);
}

void verdict_tables_free(struct verdict_tables *t)
{
	free(t->fast4);
	free(t->chunks);
	free(t->fast6);
	free(t->h6);
	prefix_list_free(&t->trie);
	memset(t, 0, sizeof(*t));
}

static const struct sluice_verdict *trie_lookup(const struct verdict_tables *t, int family,
						const uint8_t *addr)
{
	const struct sluice_verdict *best = NULL;
	int best_len = -1;

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
			best = NULL;
			for (unsigned c = 1; c <= t->n_classes; c++)
				if (t->classes[c].action == p->action &&
				    t->classes[c].list_id == p->list_id)
					best = &t->classes[c];
		}
	}
	return best;
}

static const struct fast6_entry *h6_find(const struct verdict_tables *t, unsigned len,
					 const uint8_t *addr)
{
	struct fast6_entry key = {.k = {.len = len}};

	memcpy(key.k.addr, addr, 16);
	prefix_mask(key.k.addr, (int)len);
	return bsearch(&key, t->h6, t->n_h6, sizeof(*t->h6), key_cmp);
}

/* The data path's IPv6 hash walk, in C. */
static unsigned h6_lookup(const struct verdict_tables *t, const uint8_t *addr)
{
	const struct fast6_entry *b = h6_find(t, 24, addr);

	if (!b)
		return SLUICE_CLASS_DEEPER;
	for (int j = 0; j < b->v.n_inline; j++) {
		uint8_t m[16];

		memcpy(m, addr, 16);
		prefix_mask(m, b->v.inline_len[j]);
		if (!memcmp(m, b->v.inline_addr[j], 16))
			return b->v.inline_cls[j];
	}
	for (int i = (int)b->v.n_lens - 1; i >= 0; i--) {
		const struct fast6_entry *e = h6_find(t, b->v.lens[i], addr);

		if (e)
			return e->v.cls;
	}
	return b->v.cls;
}

const struct sluice_verdict *verdict_tables_lookup(const struct verdict_tables *t, int family,
						   const uint8_t *addr)
{
	uint32_t cls;

	if (family == 4) {
		cls = t->fast4[top24(addr)];
		if (cls >= SLUICE_CHUNK_BASE)
			cls = t->chunks[(size_t)(cls - SLUICE_CHUNK_BASE) * CHUNK + addr[3]];
	} else {
		cls = t->fast6[top24(addr)];
		if (cls == SLUICE_CLASS_HASH)
			cls = h6_lookup(t, addr);
	}
	if (cls == SLUICE_CLASS_DEEPER)
		return trie_lookup(t, family, addr);
	return cls ? &t->classes[cls] : NULL;
}

void fast_mem_sizes(struct fast_mem *m)
{
	m->v4_l1 = (size_t)SLUICE_GENS * SLUICE_FAST4_WORDS * 8;
	m->v4_chunks = (size_t)SLUICE_GENS * SLUICE_FAST4_CHUNKS * SLUICE_CHUNK_WORDS * 8;
	m->v6_l1 = (size_t)SLUICE_GENS * SLUICE_FAST_WORDS * 8;
	m->chunks_total = SLUICE_FAST4_CHUNKS;
}
