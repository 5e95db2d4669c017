/* SPDX-License-Identifier: GPL-2.0 */
/* gen.h - generator settings shared by gen.bpf.c and gen.c. */
#ifndef SLUICE_GEN_H
#define SLUICE_GEN_H

#include <linux/types.h>

enum gen_kind {
	GEN_KIND_FLOOD = 0, /* random source inside one of the flood prefixes */
	GEN_KIND_LEGIT = 1, /* one of the legit flows */
	GEN_KIND_MAX,
};

/* Bytes of header the program copies from a template into every frame:
 * Ethernet + IPv4 + TCP (54) or Ethernet + IPv6 + TCP (74).  A frame that
 * can hold IPv6 always gets the long copy, so a v4 packet written over an
 * earlier v6 one leaves no stale bytes behind in its (zero) payload: live
 * frames keep whatever the last run wrote into their page. */
#define GEN_HDR_V4 54
#define GEN_HDR_V6 74

/* One frame template per (kind, family).  Built by gen.c with the source
 * address and source port zero and the checksums computed that way, so the
 * program only adds the words it writes into the checksums (RFC 1624). */
struct gen_tpl {
	__u8 bytes[GEN_HDR_V6];
	__u8 valid;
	__u8 v6;
	__u8 udp;
	__u8 pad;
	__u16 sport;    /* network order; 0 = random per packet (new flows) */
	__u16 csum_off; /* L4 checksum offset in the frame */
};

/* A flood source prefix: address (network order) | (random & mask). */
struct gen_src {
	__u32 addr[4];
	__u32 mask[4];
	__u32 v6;
};

/* The same for an all-IPv4 list, 8 bytes instead of 36: the generator's
 * random reads into its source table share the L3 cache with the DUT on
 * this rig (a real generator is another machine), and a 1M list is 8 MiB
 * this way instead of 40. */
struct gen_src4 {
	__u32 addr; /* network order */
	__u32 mask; /* host bits, network order */
};

struct gen_cfg {
	struct gen_tpl tpl[GEN_KIND_MAX][2]; /* [kind][v6] */
	__u32 ifindex;     /* --dev: the program passes frames from anywhere else */
	__u32 long_copy;   /* frame >= GEN_HDR_V6 bytes: copy GEN_HDR_V6 */
	__u32 n_src;       /* entries in gen_srcs, or gen_srcs4 when src4 (flood) */
	__u32 src4;        /* every flood source is IPv4: gen_srcs4 */
	__u32 legit_pct;   /* 0..100: share of packets from legit flows */
	__u32 legit_v6;
	__u32 legit_base[4]; /* network order; flow i: base + i in the last word
			      * of the address (an IPv4 one is in word 0) */
	__u32 legit_count;
	/* Pacing (--rate): ns per packet << 16; 0 = flat out.  The program
	 * itself keeps the rate: a run that comes too early returns XDP_DROP
	 * (nothing sent, the frame recycled), so packets leave evenly spaced
	 * instead of in bursts between syscalls. */
	__u64 interval_fp;
	__u64 max_sent;    /* stop sending after this many (0 = no limit) */
};

/* gen_sent index: kind * 2 + v6 */
#define GEN_SENT_SLOTS (GEN_KIND_MAX * 2)

#endif
