/* SPDX-License-Identifier: GPL-2.0 */
/* gen.h - generator settings shared by gen.bpf.c and gen.c. */
#ifndef SLUICE_GEN_H
#define SLUICE_GEN_H

#include <linux/types.h>

enum gen_kind {
	GEN_KIND_FLOOD = 0, /* random source within the flood prefix */
	GEN_KIND_LEGIT = 1, /* one of the legit sources */
	GEN_KIND_MAX,
};

/* Host-order numbers unless a field says otherwise. */
struct gen_cfg {
	__u32 v6;
	__u32 src_base4;   /* flood sources: base | (random & src_rand4) */
	__u32 src_rand4;
	__u8 src_base6[16]; /* network order */
	__u32 src_rand6_hi; /* random bits OR-ed into address word 2 */
	__u32 src_rand6_lo; /* ... and word 3 */
	__u32 legit_pct;   /* 0..100: share of packets from legit sources */
	__u32 legit_base4; /* legit sources: base .. base + count - 1 */
	__u8 legit_base6[16];
	__u32 legit_base6_low;
	__u32 legit_count;
	__u32 rand_sport;  /* randomise the L4 source port (new flows) */
};

#endif
