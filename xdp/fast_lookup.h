/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fast_lookup.h - the source verdict lookup of the XDP program (tables built by
 * ctl/fastpath.c; layout in sluice_maps.h).
 *
 * IPv4: one u32 entry per /24, and for a /24 holding longer prefixes one
 * byte of its chunk: two memory accesses, never a trie walk (unless the
 * chunk pool was exhausted for that /24).  IPv6: one byte per top-24
 * bucket; a bucket holding longer prefixes costs one hash lookup for its
 * entry and one per prefix length present in it, longest first, until one
 * matches.
 */
#ifndef SLUICE_XDP_FAST_LOOKUP_H
#define SLUICE_XDP_FAST_LOOKUP_H

#include "sluice_maps.h"

/* The verifier sizes a global function's memory argument by its type. */
struct fast6_addr {
	__u32 w[4];
};

/* The class of an IPv6 source whose bucket is in the hash: its few
 * prefixes are in the bucket's entry, or probe the lengths it holds,
 * longest first (global: verified once, and its
 * key does not add to the caller's stack). */
__noinline __u32 sluice_fast6(const struct fast6_addr *src, __u32 gen)
{
	struct sluice_fast6_key k = {.len = 24};
	struct sluice_fast6_val *b, *v;
	void *h = gen ? (void *)&fast6_g1 : (void *)&fast6_g0;
	__u32 n;

	if (!src)
		return SLUICE_CLASS_DEEPER;
	*(__u32 *)&k.addr[0] = src->w[0] & bpf_htonl(0xffffff00);
	b = bpf_map_lookup_elem(h, &k);
	if (!b)
		return SLUICE_CLASS_DEEPER;
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
		if (cls == SLUICE_CLASS_HASH)
			cls = sluice_fast6((const struct fast6_addr *)p->saddr, gen);
	} else {
		idx = gen * SLUICE_FAST4_WORDS + (top >> 1);
		word = bpf_map_lookup_elem(&fast_v4, &idx);
		if (!word)
			return NULL;
		cls = (__u32)(*word >> ((top & 1) * 32));
		if (cls >= SLUICE_CHUNK_BASE) {
			__u32 low = a0 & 0xff;

			idx = (gen * SLUICE_FAST4_CHUNKS + (cls - SLUICE_CHUNK_BASE)) *
				  SLUICE_CHUNK_WORDS +
			      (low >> 3);
			word = bpf_map_lookup_elem(&fast4_chunks, &idx);
			if (!word)
				return NULL;
			cls = (__u32)(*word >> ((low & 7) * 8)) & 0xff;
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
