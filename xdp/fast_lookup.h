/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fast_lookup.h - the source verdict lookup of the XDP program (tables built by
 * ctl/fastpath.c; layout in sluice_maps.h).
 *
 * IPv4: 2 bits per /24 (none, the primary class, trie, detail) in units of
 * 48 with their rank; a detailed /24 adds its detail entry and, for a /24
 * of more than four ranges, one byte of its chunk: never a trie walk (unless the detail
 * array or chunk pool was exhausted for that /24).  IPv6: one byte per top-24
 * bucket; a bucket holding longer prefixes adds its rank (in the same cache
 * line, plus one small array read) and its 64-byte entry, which holds up to
 * two prefixes inline; more cost one hash lookup per prefix length present,
 * longest first, until one matches.
 */
#ifndef SLUICE_XDP_FAST_LOOKUP_H
#define SLUICE_XDP_FAST_LOOKUP_H

#include "sluice_maps.h"

/* The verifier sizes a global function's memory argument by its type. */
struct fast6_addr {
	__u32 w[4];
};

/* The class of an IPv6 source from its bucket's entry b: its few prefixes
 * are in the entry, else probe the lengths it holds in the hash h, longest
 * first; none matching: the bucket's painted class. */
static __always_inline __u32 fast6_walk(const struct fast6_addr *src,
					const struct sluice_fast6_val *b, void *h)
{
	struct sluice_fast6_key k = {};
	struct sluice_fast6_val *v;
	__u32 n;

	/* few prefixes: in the bucket's entry, longest first */
	for (int j = 0; j < SLUICE_FAST6_INLINE; j++) {
		struct sluice_fast6_mask *m;
		__u32 len;

		if (j >= b->n_inline)
			break;
		len = b->inline_len[j];
		m = bpf_map_lookup_elem(&fast6_masks, &len);
		if (!m)
			return SLUICE_CLASS_DEEPER;
		if ((src->w[0] & m->w[0]) == b->inline_addr[j][0] &&
		    (src->w[1] & m->w[1]) == b->inline_addr[j][1] &&
		    (src->w[2] & m->w[2]) == b->inline_addr[j][2] &&
		    (src->w[3] & m->w[3]) == b->inline_addr[j][3])
			return b->inline_cls[j];
	}
	n = b->n_lens;
	for (int i = SLUICE_FAST6_LENS - 1; i >= 0; i--) {
		struct sluice_fast6_mask *m;
		__u32 len;

		if ((__u32)i >= n)
			continue;
		len = b->lens[i];
		m = bpf_map_lookup_elem(&fast6_masks, &len);
		if (!m)
			return SLUICE_CLASS_DEEPER;
		k.len = len;
		*(__u32 *)&k.addr[0] = src->w[0] & m->w[0];
		*(__u32 *)&k.addr[4] = src->w[1] & m->w[1];
		*(__u32 *)&k.addr[8] = src->w[2] & m->w[2];
		*(__u32 *)&k.addr[12] = src->w[3] & m->w[3];
		v = bpf_map_lookup_elem(h, &k);
		if (v)
			return v->cls;
	}
	return b->cls; /* no longer prefix matches: the bucket's painted class */
}

/* The class of an IPv6 source whose bucket entry is in the hash (the
 * dense array was full).  Global: verified once, and its key does not add
 * to the caller's stack. */
__noinline __u32 sluice_fast6(const struct fast6_addr *src, __u32 gen)
{
	struct sluice_fast6_key k = {.len = 24};
	struct sluice_fast6_val *b;
	void *h = gen ? (void *)&fast6_g1 : (void *)&fast6_g0;

	if (!src)
		return SLUICE_CLASS_DEEPER;
	*(__u32 *)&k.addr[0] = src->w[0] & bpf_htonl(0xffffff00);
	b = bpf_map_lookup_elem(h, &k);
	if (!b)
		return SLUICE_CLASS_DEEPER;
	return fast6_walk(src, b, h);
}

/* SLUICE_CLASS_DENSE bytes in w: a zero-byte count of w ^ DENSE (the high
 * bit of a byte survives the add below only if the byte was 0; no carry
 * crosses bytes), then the usual multiply to sum the bytes. */
static __always_inline __u32 fast6_dense_in(__u64 w)
{
	__u64 x = w ^ (0x0101010101010101ull * SLUICE_CLASS_DENSE);
	__u64 z = ~(((x & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | x) &
		  0x8080808080808080ull;

	return (__u32)(((z >> 7) * 0x0101010101010101ull) >> 56);
}

/* The class of an IPv6 source whose bucket (top, in word, element idx of
 * fast_v6) is DENSE: its entry is fast6_dense[rank], the rank being the
 * group's count plus the DENSE bytes before it in the group's cache line.
 * Global: verified once. */
__noinline __u32 sluice_fast6_dense(const struct fast6_addr *src, __u64 word, __u32 idx,
				    __u32 top, __u32 gen)
{
	__u32 before = (top % SLUICE_FAST6_GROUP) / 8, first = idx - before, r, i;
	const struct sluice_fast6_val *b;
	__u64 *w;

	if (!src)
		return SLUICE_CLASS_DEEPER;
	i = gen * SLUICE_FAST6_RANK_WORDS + top / (SLUICE_FAST6_GROUP * 2);
	w = bpf_map_lookup_elem(&fast6_rank, &i);
	if (!w)
		return SLUICE_CLASS_DEEPER;
	r = (__u32)(*w >> (((top / SLUICE_FAST6_GROUP) & 1) * 32));
	for (__u32 j = 0; j < SLUICE_FAST6_GROUP / 8 - 1; j++) {
		if (j >= before)
			break;
		i = first + j;
		w = bpf_map_lookup_elem(&fast_v6, &i);
		if (!w)
			return SLUICE_CLASS_DEEPER;
		r += fast6_dense_in(*w);
	}
	r += fast6_dense_in(word & ((1ull << ((top & 7) * 8)) - 1));
	if (r >= SLUICE_FAST6_DENSE)
		return SLUICE_CLASS_DEEPER;
	i = gen * SLUICE_FAST6_DENSE + r;
	b = bpf_map_lookup_elem(&fast6_dense, &i);
	if (!b)
		return SLUICE_CLASS_DEEPER;
	return fast6_walk(src, b, gen ? (void *)&fast6_g1 : (void *)&fast6_g0);
}

/* DETAIL codes (binary 11) among the 2-bit codes of w: a popcount of the
 * pairs' AND (no popcount instruction in BPF; the pairs are already the
 * first step of the usual bit-parallel count). */
static __always_inline __u32 fast4_details_in(__u64 w)
{
	__u64 m = w & (w >> 1) & 0x5555555555555555ull;

	m = (m & 0x3333333333333333ull) + ((m >> 2) & 0x3333333333333333ull);
	m = (m + (m >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (__u32)((m * 0x0101010101010101ull) >> 56);
}

/* The class of a v4 source whose /24 has a detail entry: /24 k of its
 * unit, whose code is in sum, element sum_idx of fast_v4 (the unit's first
 * element when k < 16: its rank is in sum's low half; else the second, and
 * the first, with the rank, is in the same cache line).  Global: verified
 * once, and its registers do not add to the main program's stack. */
__noinline __u32 fast4_detail_class(__u64 sum, __u32 sum_idx, __u32 k, __u32 a0, __u32 gen)
{
	__u32 low = a0 & 0xff, idx, r;
	__u64 *w, d;

	if (k < 16) {
		r = (__u32)sum + fast4_details_in((sum >> 32) & ((1ull << (k * 2)) - 1));
	} else {
		idx = sum_idx - 1;
		w = bpf_map_lookup_elem(&fast_v4, &idx);
		if (!w)
			return SLUICE_CLASS_DEEPER;
		r = (__u32)*w + fast4_details_in(*w >> 32) +
		    fast4_details_in(sum & ((1ull << ((k - 16) * 2)) - 1));
	}
	if (r >= SLUICE_FAST4_DETAIL)
		return SLUICE_CLASS_DEEPER;
	idx = gen * SLUICE_FAST4_DETAIL + r;
	w = bpf_map_lookup_elem(&fast4_detail, &idx);
	if (!w)
		return SLUICE_CLASS_DEEPER;
	d = *w;
	switch (d >> SLUICE_DETAIL_KIND_SHIFT) {
	case SLUICE_DETAIL_CLASS:
		return (__u32)d & 0xff;
	case SLUICE_DETAIL_RANGES: {
		__u32 cls = (__u32)(d >> 24) & 0xff;

		if (low >= ((__u32)d & 0xff))
			cls = (__u32)(d >> 32) & 0xff;
		if (low >= ((__u32)(d >> 8) & 0xff))
			cls = (__u32)(d >> 40) & 0xff;
		if (low >= ((__u32)(d >> 16) & 0xff))
			cls = (__u32)(d >> 48) & 0xff;
		return cls;
	}
	case SLUICE_DETAIL_CHUNK:
		if ((__u32)d >= SLUICE_FAST4_CHUNKS)
			return SLUICE_CLASS_DEEPER;
		idx = (gen * SLUICE_FAST4_CHUNKS + (__u32)d) * SLUICE_CHUNK_WORDS + (low >> 3);
		w = bpf_map_lookup_elem(&fast4_chunks, &idx);
		if (!w)
			return SLUICE_CLASS_DEEPER;
		return (__u32)(*w >> ((low & 7) * 8)) & 0xff;
	}
	return SLUICE_CLASS_DEEPER;
}

/* The compiled source verdict.  NULL: in no list. */
static __always_inline struct sluice_verdict *lookup_source(struct sluice_pkt *p, int v6, __u32 gen)
{
	__u32 a0 = bpf_ntohl(p->saddr[0]);
	__u32 top = a0 >> (32 - SLUICE_FAST_BITS);
	__u32 idx, cls;
	__u64 *word;

	if (v6) {
		idx = gen * SLUICE_FAST_WORDS + (top >> 3);
		word = bpf_map_lookup_elem(&fast_v6, &idx);
		if (!word)
			return NULL;
		cls = (__u32)(*word >> ((top & 7) * 8)) & 0xff;
		if (cls == SLUICE_CLASS_DENSE)
			cls = sluice_fast6_dense((const struct fast6_addr *)p->saddr, *word, idx,
						 top, gen);
		else if (cls == SLUICE_CLASS_HASH)
			cls = sluice_fast6((const struct fast6_addr *)p->saddr, gen);
	} else {
		__u32 unit = (__u32)(((__u64)top * SLUICE_FAST4_UNIT_MUL) >> 32);
		__u32 k = top - unit * SLUICE_FAST4_UNIT;
		__u32 sh = k < 16 ? 32 + k * 2 : (k - 16) * 2;

		idx = gen * SLUICE_FAST4_SUM_WORDS + unit * 2 + (k < 16 ? 0 : 1);
		word = bpf_map_lookup_elem(&fast_v4, &idx);
		if (!word)
			return NULL;
		switch ((*word >> (sh & 63)) & 3) {
		case SLUICE_SUM_NONE:
			return NULL;
		case SLUICE_SUM_PRIMARY:
			cls = SLUICE_CLASS_PRIMARY;
			break;
		case SLUICE_SUM_TRIE:
			cls = SLUICE_CLASS_DEEPER;
			break;
		default:
			cls = fast4_detail_class(*word, idx, k, a0, gen);
		}
	}
	if (!cls)
		return NULL;
	if (cls != SLUICE_CLASS_DEEPER) {
		idx = gen * SLUICE_CLASSES + (cls & 0xff);
		return bpf_map_lookup_elem(&verdict_classes, &idx);
	}
	if (v6) {
		struct sluice_lpm_v6_key k6 = {.prefixlen = 128};

		__builtin_memcpy(k6.addr, p->saddr, 16);
		return gen ? bpf_map_lookup_elem(&verdict_v6_g1, &k6)
			   : bpf_map_lookup_elem(&verdict_v6_g0, &k6);
	}
	struct sluice_lpm_v4_key k4 = {.prefixlen = 32, .addr = p->saddr[0]};

	return gen ? bpf_map_lookup_elem(&verdict_v4_g1, &k4)
		   : bpf_map_lookup_elem(&verdict_v4_g0, &k4);
}

#endif
