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
 * prefix gets a scratch chunk: 256 class bytes, one per address, first
 * filled with the /24's class, then painted by the longer prefixes.  Then
 * the painted table is packed the way the data path reads it
 * (sluice_maps.h): 2 bits per /24 (none / the primary class / trie /
 * detail) in units of 48 that start with their rank, and per detailed /24
 * one u64: its class, up
 * to four ranges of classes (a /24 with one or two longer prefixes), or a
 * chunk of the pool (the scratch chunk copied).  Class 1, the primary, is
 * given to the class covering most /24s before painting.  Past the detail
 * array or the chunk pool, a /24 is coded TRIE and the trie gets it as the
 * fewest prefixes that cover its classes (one /24 entry for a plain /24).
 *
 * IPv6: prefixes <= /24 paint a byte per value of the top 24 bits.  A bucket
 * holding longer prefixes gets an entry (painted class + up to
 * SLUICE_FAST6_INLINE longer prefixes inline, or else the longer lengths
 * present in the bucket, at most SLUICE_FAST6_LENS, and one hash entry per
 * longer prefix).  The entry goes to the dense array (byte DENSE; the
 * bucket's rank among the DENSE bytes is its index, pack6) while there is
 * room, else to the hash as {len 24} (byte HASH).  The data path probes only
 * the lengths the bucket holds, longest first: a flood from a blocked /48
 * alone in its bucket costs one byte, a rank and one 64-byte entry; an
 * unlisted address in an untouched bucket one byte.  Past the hash size,
 * DEEPER + trie as for v4.
 */
#include "fastpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAST_ENTRIES (1u << SLUICE_FAST_BITS)
#define CHUNK FAST4_CHUNK_BYTES

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

#define SCRATCH_BASE 256 /* painted entries >= this: scratch chunk e - SCRATCH_BASE */

static int paint_long4(struct verdict_tables *t, const struct sluice_prefix *p, int cls)
{
	uint32_t b = top24(p->addr), e = t->fast4[b];
	uint8_t *c;

	if (e < SCRATCH_BASE) {
		if (t->n_scratch == t->scratch_cap) {
			size_t nc = t->scratch_cap ? t->scratch_cap * 2 : 4096;
			uint8_t *n = realloc(t->scratch, nc * CHUNK);

			if (!n)
				return -ENOMEM;
			t->scratch = n;
			t->scratch_cap = nc;
		}
		memset(t->scratch + t->n_scratch * CHUNK, (int)e, CHUNK);
		e = SCRATCH_BASE + (uint32_t)t->n_scratch++;
		t->fast4[b] = e;
		t->touched[b / SLUICE_FAST4_UNIT] = 1;
	}
	c = t->scratch + (size_t)(e - SCRATCH_BASE) * CHUNK;
	memset(c + p->addr[3], cls, (size_t)1 << (32 - p->len));
	return 0;
}

/* A /24 for the trie: the fewest aligned blocks of one class each (class 0,
 * no list, left out: the trie then has no match there either). */
static int trie_blocks(struct verdict_tables *t, uint32_t top, const uint8_t *c, unsigned off,
		       unsigned size)
{
	unsigned i = 1;

	while (i < size && c[off + i] == c[off])
		i++;
	if (i == size) {
		struct sluice_prefix p = {.family = 4};
		int len = 32;

		if (!c[off])
			return 0;
		for (unsigned s = size; s > 1; s >>= 1)
			len--;
		p.len = (uint8_t)len;
		p.addr[0] = (uint8_t)(top >> 16);
		p.addr[1] = (uint8_t)(top >> 8);
		p.addr[2] = (uint8_t)top;
		p.addr[3] = (uint8_t)off;
		p.action = (uint8_t)t->classes[c[off]].action;
		p.list_id = t->classes[c[off]].list_id;
		return prefix_list_push(&t->trie, &p) ? -ENOMEM : 0;
	}
	return trie_blocks(t, top, c, off, size / 2) ?: trie_blocks(t, top, c, off + size / 2, size / 2);
}

/* A scratch chunk as ranges: 0 when it has more than four. */
static int chunk_ranges(const uint8_t *c, uint64_t *d)
{
	uint8_t start[4] = {0, 255, 255, 255}, cls[4] = {c[0]};
	int n = 1;

	for (unsigned i = 1; i < CHUNK; i++) {
		if (c[i] == c[i - 1])
			continue;
		if (n == 4)
			return 0;
		start[n] = (uint8_t)i;
		cls[n++] = c[i];
	}
	for (int j = n; j < 4; j++)
		cls[j] = cls[n - 1]; /* unused ranges repeat the last class */
	*d = (uint64_t)SLUICE_DETAIL_RANGES << SLUICE_DETAIL_KIND_SHIFT;
	for (int j = 0; j < 3; j++)
		*d |= (uint64_t)start[j + 1] << (8 * j);
	for (int j = 0; j < 4; j++)
		*d |= (uint64_t)cls[j] << (24 + 8 * j);
	return 1;
}

/* The painted table into the data path's form (see the file comment). */
static int pack4(struct verdict_tables *t)
{
	size_t cap = 0;
	uint32_t rank = 0;

	t->sum = calloc(SLUICE_FAST4_SUM_WORDS, sizeof(uint64_t));
	if (!t->sum)
		return -ENOMEM;
	for (uint32_t top = 0; top < FAST_ENTRIES; top++) {
		uint32_t unit = top / SLUICE_FAST4_UNIT, k = top % SLUICE_FAST4_UNIT;
		uint32_t e = t->fast4[top], code = SLUICE_SUM_DETAIL;
		const uint8_t *c = e >= SCRATCH_BASE ? t->scratch + (size_t)(e - SCRATCH_BASE) * CHUNK
						     : NULL;
		uint64_t d = (uint64_t)SLUICE_DETAIL_CLASS << SLUICE_DETAIL_KIND_SHIFT | e;

		if (k == 0) {
			t->sum[unit * 2] = rank; /* the DETAIL /24s before the unit */
			if (!t->touched[unit]) { /* all 0: no codes */
				top += SLUICE_FAST4_UNIT - 1;
				continue;
			}
		}
		if (!e)
			continue;
		if (e == SLUICE_CLASS_PRIMARY) {
			code = SLUICE_SUM_PRIMARY;
		} else if (t->n_detail >= t->detail_limit) {
			code = SLUICE_SUM_TRIE;
		} else if (c && chunk_ranges(c, &d)) {
			t->ranges4++;
		} else if (c && t->n_chunks < t->chunk_limit) {
			if (!t->chunks && !(t->chunks = malloc(t->chunk_limit * CHUNK)))
				return -ENOMEM;
			memcpy(t->chunks + t->n_chunks * CHUNK, c, CHUNK);
			d = (uint64_t)SLUICE_DETAIL_CHUNK << SLUICE_DETAIL_KIND_SHIFT | t->n_chunks++;
		} else if (c) {
			code = SLUICE_SUM_TRIE;
		}
		if (code == SLUICE_SUM_DETAIL) {
			if (t->n_detail == cap) {
				size_t nc = cap ? cap * 2 : 65536;
				uint64_t *n;

				if (nc > t->detail_limit)
					nc = t->detail_limit;
				n = realloc(t->detail, nc * sizeof(*n));
				if (!n)
					return -ENOMEM;
				t->detail = n;
				cap = nc;
			}
			t->detail[t->n_detail++] = d;
			rank++;
		} else if (code == SLUICE_SUM_TRIE) {
			uint8_t plain[CHUNK];

			t->deeper4++;
			if (!c) {
				memset(plain, (int)e, CHUNK);
				c = plain;
			}
			if (trie_blocks(t, top, c, 0, CHUNK))
				return -ENOMEM;
		}
		if (k < 16)
			t->sum[unit * 2] |= (uint64_t)code << (32 + k * 2);
		else
			t->sum[unit * 2 + 1] |= (uint64_t)code << (k - 16) * 2;
	}
	free(t->fast4);
	free(t->scratch);
	free(t->touched);
	t->fast4 = NULL;
	t->scratch = NULL;
	t->touched = NULL;
	return 0;
}

/* Class 1 (SLUICE_CLASS_PRIMARY, one summary code, no further read) goes to
 * the (action, list) covering most IPv4 /24s. */
static int claim_primary(struct verdict_tables *t, const struct prefix_list *l)
{
	struct {
		uint32_t action, list_id;
		uint64_t weight;
	} seen[SLUICE_CLASS_MAX];
	unsigned n = 0, last = 0, best = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct sluice_prefix *p = &l->v[i];
		unsigned k = last;

		if (p->family != 4)
			continue;
		if (k >= n || seen[k].action != p->action || seen[k].list_id != p->list_id)
			for (k = 0; k < n; k++)
				if (seen[k].action == p->action && seen[k].list_id == p->list_id)
					break;
		if (k == n) {
			if (n == SLUICE_CLASS_MAX)
				return -E2BIG;
			seen[n].action = p->action;
			seen[n].list_id = p->list_id;
			seen[n++].weight = 0;
		}
		seen[k].weight += p->len <= SLUICE_FAST_BITS ? 1ull << (SLUICE_FAST_BITS - p->len) : 1;
		last = k;
		if (seen[k].weight > seen[best].weight)
			best = k;
	}
	if (n) {
		struct sluice_prefix p = {.action = (uint8_t)seen[best].action,
					  .list_id = seen[best].list_id};

		return class_of(t, &p) < 0 ? -E2BIG : 0;
	}
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
		if (e != SLUICE_CLASS_HASH && e != SLUICE_CLASS_DENSE) {
			struct fast6_entry bucket = {.k = {.len = 24}, .v = {.cls = e}};
			int dense = t->n_dense6 < t->dense6_limit;
			size_t hashed;

			inl[b] = need[b] <= SLUICE_FAST6_INLINE;
			/* hash entries: the bucket's own unless dense, its
			 * prefixes unless inline */
			hashed = (dense ? 0 : 1) + (inl[b] ? 0 : need[b]);
			if (reserved + hashed > t->h6_limit ||
			    (!inl[b] && nlen[b] > SLUICE_FAST6_LENS)) {
				t->deeper6++;
				t->fast6[b] = SLUICE_CLASS_DEEPER;
				rc = to_trie(t, p, e);
				if (!rc)
					rc = prefix_list_push(&t->trie, p) ? -ENOMEM : 0;
				continue;
			}
			reserved += hashed;
			t->n_dense6 += dense ? 1 : 0;
			memcpy(bucket.k.addr, p->addr, 3);
			/* a dense bucket's entry too, until pack6 moves it */
			rc = h6_push(t, &cap, &bucket);
			need[b] = (uint32_t)t->n_h6; /* from here on: the slot */
			t->fast6[b] = dense ? SLUICE_CLASS_DENSE : SLUICE_CLASS_HASH;
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

/* DENSE bytes in 8 bytes of the top-24 table (the data path's count). */
static uint32_t dense_in(const uint8_t *bytes)
{
	uint64_t w, x, z;

	memcpy(&w, bytes, 8);
	x = w ^ (0x0101010101010101ull * SLUICE_CLASS_DENSE);
	z = ~(((x & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | x) & 0x8080808080808080ull;
	return (uint32_t)__builtin_popcountll(z);
}

/* Move the DENSE buckets' entries out of the (sorted) hash list into the
 * dense array, in bucket order, and count the ranks: the k-th DENSE byte's
 * entry is dense6[k]. */
static int pack6(struct verdict_tables *t)
{
	size_t kept = 0, d = 0;
	uint32_t r = 0;

	t->rank6 = calloc(SLUICE_FAST6_RANK_WORDS, sizeof(uint64_t));
	t->dense6 = t->n_dense6 ? malloc(t->n_dense6 * sizeof(*t->dense6)) : NULL;
	if (!t->rank6 || (t->n_dense6 && !t->dense6))
		return -ENOMEM;
	for (size_t i = 0; i < t->n_h6; i++) {
		const struct fast6_entry *e = &t->h6[i];

		if (e->k.len == SLUICE_FAST_BITS && t->fast6[top24(e->k.addr)] == SLUICE_CLASS_DENSE)
			t->dense6[d++] = e->v;
		else
			t->h6[kept++] = *e;
	}
	t->n_h6 = kept;
	if (d != t->n_dense6)
		return -EINVAL; /* a DENSE byte without its entry: cannot happen */
	/* past the last DENSE byte no rank is ever read: stop there */
	for (uint32_t g = 0; g < FAST_ENTRIES / SLUICE_FAST6_GROUP && r < d; g++) {
		t->rank6[g / 2] |= (uint64_t)r << (g & 1) * 32;
		for (uint32_t k = 0; k < SLUICE_FAST6_GROUP; k += 8)
			r += dense_in(t->fast6 + g * SLUICE_FAST6_GROUP + k);
	}
	return 0;
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
	t->detail_limit = lim && lim->details ? lim->details : SLUICE_FAST4_DETAIL;
	t->h6_limit = lim && lim->h6_entries ? lim->h6_entries : SLUICE_FAST6_ENTRIES;
	t->dense6_limit = lim && lim->dense6 ? lim->dense6 : SLUICE_FAST6_DENSE;
	t->fast4 = calloc(FAST_ENTRIES, sizeof(uint32_t));
	t->touched = calloc(SLUICE_FAST4_UNITS, 1);
	t->fast6 = calloc(FAST_ENTRIES, 1);
	order = by_length(compiled);
	if (!t->fast4 || !t->touched || !t->fast6 || !order) {
		rc = -ENOMEM;
		goto out;
	}
	rc = claim_primary(t, compiled);
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
			memset(t->touched + b / SLUICE_FAST4_UNIT, 1,
			       (b + n - 1) / SLUICE_FAST4_UNIT - b / SLUICE_FAST4_UNIT + 1);
		} else {
			memset(t->fast6 + top24(p->addr), cls,
			       (size_t)1 << (SLUICE_FAST_BITS - p->len));
		}
	}
	if (!rc)
		rc = pack4(t);
	/* 2. IPv6 longer than /24 (all v6 <= 24 are painted by now) */
	if (!rc && end6) {
		size_t n = 0;

		for (size_t i = first_long6; i < end6; i++)
			if (order[i]->family == 6 && order[i]->len > SLUICE_FAST_BITS)
				order[first_long6 + n++] = order[i];
		rc = paint_long6(t, order + first_long6, n);
	}
	if (!rc)
		rc = pack6(t);
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
	free(t->scratch);
	free(t->touched);
	free(t->sum);
	free(t->detail);
	free(t->chunks);
	free(t->fast6);
	free(t->rank6);
	free(t->dense6);
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

uint32_t fast6_bucket_class(const struct sluice_fast6_val *b, const uint8_t *addr,
			    fast6_find_fn find, const void *ctx)
{
	for (int j = 0; j < b->n_inline && j < SLUICE_FAST6_INLINE; j++) {
		uint8_t m[16];

		memcpy(m, addr, 16);
		prefix_mask(m, b->inline_len[j]);
		if (!memcmp(m, b->inline_addr[j], 16))
			return b->inline_cls[j];
	}
	for (int i = (int)b->n_lens - 1; i >= 0 && i < SLUICE_FAST6_LENS; i--) {
		uint8_t m[16];
		uint32_t cls;

		memcpy(m, addr, 16);
		prefix_mask(m, b->lens[i]);
		if (find(ctx, b->lens[i], m, &cls) == 0)
			return cls;
	}
	return b->cls;
}

const struct sluice_fast6_val *fast6_dense_entry(const struct fast6_view *v, uint32_t top)
{
	uint32_t g = top / SLUICE_FAST6_GROUP, r;

	r = (uint32_t)(v->rank[g / 2] >> (g & 1) * 32);
	for (uint32_t i = g * SLUICE_FAST6_GROUP; i < top; i++)
		r += v->l1[i] == SLUICE_CLASS_DENSE;
	return r < v->n_dense ? &v->dense[r] : NULL;
}

static int h6_find_class(const void *ctx, unsigned len, const uint8_t *masked, uint32_t *cls)
{
	const struct fast6_entry *e = h6_find(ctx, len, masked);

	if (!e)
		return -1;
	*cls = e->v.cls;
	return 0;
}

/* The data path's IPv6 walk, in C. */
static unsigned h6_lookup(const struct verdict_tables *t, const uint8_t *addr, uint32_t cls)
{
	const struct sluice_fast6_val *b;

	if (cls == SLUICE_CLASS_DENSE) {
		struct fast6_view v = {.l1 = t->fast6, .rank = t->rank6, .dense = t->dense6,
				       .n_dense = t->n_dense6};

		b = fast6_dense_entry(&v, top24(addr));
	} else {
		const struct fast6_entry *e = h6_find(t, 24, addr);

		b = e ? &e->v : NULL;
	}
	return b ? fast6_bucket_class(b, addr, h6_find_class, t) : SLUICE_CLASS_DEEPER;
}

unsigned fast4_code(const uint64_t *sum, uint32_t top)
{
	uint32_t unit = top / SLUICE_FAST4_UNIT, k = top % SLUICE_FAST4_UNIT;

	return (unsigned)(k < 16 ? sum[unit * 2] >> (32 + k * 2) : sum[unit * 2 + 1] >> (k - 16) * 2) &
	       3;
}

uint32_t fast4_class(const struct fast4_view *v, uint32_t addr)
{
	uint32_t top = addr >> 8, low = addr & 0xff, unit = top / SLUICE_FAST4_UNIT;
	uint32_t k = top % SLUICE_FAST4_UNIT, r;
	const uint64_t *u = v->sum + (size_t)unit * 2;
	uint64_t d;

	switch (fast4_code(v->sum, top)) {
	case SLUICE_SUM_NONE:
		return 0;
	case SLUICE_SUM_PRIMARY:
		return SLUICE_CLASS_PRIMARY;
	case SLUICE_SUM_TRIE:
		return SLUICE_CLASS_DEEPER;
	}
	/* the unit's rank, then its DETAIL codes before /24 k */
	r = (uint32_t)u[0];
	for (uint32_t j = 0; j < k; j++)
		r += fast4_code(v->sum, unit * SLUICE_FAST4_UNIT + j) == SLUICE_SUM_DETAIL;
	if (r >= SLUICE_FAST4_DETAIL)
		return SLUICE_CLASS_DEEPER;
	d = v->detail[r];
	switch (d >> SLUICE_DETAIL_KIND_SHIFT) {
	case SLUICE_DETAIL_CLASS:
		return (uint32_t)d & 0xff;
	case SLUICE_DETAIL_RANGES: {
		uint32_t cls = (uint32_t)(d >> 24) & 0xff;

		for (int j = 0; j < 3; j++)
			if (low >= ((uint32_t)(d >> 8 * j) & 0xff))
				cls = (uint32_t)(d >> (32 + 8 * j)) & 0xff;
		return cls;
	}
	case SLUICE_DETAIL_CHUNK:
		if ((uint32_t)d >= SLUICE_FAST4_CHUNKS)
			return SLUICE_CLASS_DEEPER;
		return v->chunks[(size_t)(uint32_t)d * CHUNK + low];
	}
	return SLUICE_CLASS_DEEPER;
}

const struct sluice_verdict *verdict_tables_lookup(const struct verdict_tables *t, int family,
						   const uint8_t *addr)
{
	uint32_t cls;

	if (family == 4) {
		struct fast4_view v = {.sum = t->sum, .detail = t->detail,
				       .chunks = t->chunks};

		cls = fast4_class(&v, (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
					  (uint32_t)addr[2] << 8 | addr[3]);
	} else {
		cls = t->fast6[top24(addr)];
		if (cls == SLUICE_CLASS_HASH || cls == SLUICE_CLASS_DENSE)
			cls = h6_lookup(t, addr, cls);
	}
	if (cls == SLUICE_CLASS_DEEPER)
		return trie_lookup(t, family, addr);
	return cls ? &t->classes[cls] : NULL;
}

void fast_mem_sizes(struct fast_mem *m)
{
	m->v4_l1 = (size_t)SLUICE_GENS * SLUICE_FAST4_SUM_WORDS * 8;
	m->v4_detail = (size_t)SLUICE_GENS * SLUICE_FAST4_DETAIL * 8;
	m->v4_chunks = (size_t)SLUICE_GENS * SLUICE_FAST4_CHUNKS * SLUICE_CHUNK_WORDS * 8;
	m->v6_l1 = (size_t)SLUICE_GENS * SLUICE_FAST_WORDS * 8;
	m->v6_dense = (size_t)SLUICE_GENS * (FAST6_RANK_BYTES + FAST6_DENSE_BYTES);
	m->dense6_total = SLUICE_FAST6_DENSE;
	m->chunks_total = SLUICE_FAST4_CHUNKS;
	m->details_total = SLUICE_FAST4_DETAIL;
}
