// SPDX-License-Identifier: GPL-2.0
/*
 * gen.bpf.c - the traffic generator's XDP program, run with
 * BPF_PROG_RUN + BPF_F_TEST_XDP_LIVE_FRAMES: every run writes one packet
 * into the frame (flood or legit, IPv4 or IPv6, from a template), then
 * XDP_TX sends it out of the generator's veth, where the device under test
 * receives it.  This is an in-kernel pktgen for kernels without the pktgen
 * module.
 *
 * Checksums are kept right (IPv4 header and TCP/UDP): the kernel's stack
 * drops IPv4 packets with a bad header checksum before iptables ever sees
 * them, and conntrack marks TCP/UDP with a bad checksum invalid, so a
 * generator that skipped them would flatter the stack baselines.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "gen.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct gen_cfg cfg = {};

/* Flood source prefixes (gen.c sizes the map to the list it loads). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_src);
} gen_srcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_src4);
} gen_srcs4 SEC(".maps");

/* The next flood source prefix: the list is walked in its own (random)
 * order, one prefix per packet, its host bits random.  The DUT sees the
 * same spread as from a random pick, and the generator reads its table
 * sequentially (prefetched, one cache line per 8 packets) instead of
 * paying a cache miss per packet and evicting the DUT's tables from the
 * L3 they share on this rig.  One CPU runs the generator: no atomics. */
__u32 src_next;

static __always_inline __u32 next_src(void)
{
	__u32 idx = src_next;

	src_next = idx + 1 < cfg.n_src ? idx + 1 : 0;
	return idx;
}

/* What was sent, by kind and family (userspace reports legit vs flood). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEN_SENT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} gen_sent SEC(".maps");

/* Pacing state.  A BPF_PROG_RUN runs on one CPU, so plain globals do. */
__u64 pace_t0;      /* ktime of the first run */
__u64 pace_next_fp; /* when the next packet is due: ns since t0, << 16 */
__u64 pace_sent;

/* 200 us << 16: how far behind schedule the generator may fall before it
 * gives up on the backlog (catching up would be a burst).  At 0.5-1 Mpps
 * that is a burst of at most 100-200 frames, inside the DUT's 256-frame
 * veth ring: with 1 ms, a generator descheduled for a moment (the reload
 * scenario's daemon, python on its CPU) made up for it with up to 1000
 * frames back to back and the ring dropped some, legit ones included: a
 * loss of the rig, not of what it measures. */
#define PACE_SLACK_FP (200000ull << 16)

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&gen_sent, &slot);

	if (v)
		(*v)++;
}

/* One's complement sum of the 16-bit words of a 32-bit value. */
static __always_inline __u32 add32(__u32 sum, __u32 w)
{
	return sum + (w & 0xffff) + (w >> 16);
}

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

SEC("xdp")
int gen_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct gen_tpl *t;
	__u32 saddr[4] = {};
	__u32 r = bpf_get_prandom_u32();
	int legit = cfg.legit_pct && (r % 100) < cfg.legit_pct;
	__u32 v6, sum, sport, i;
	__u16 *w16;

	/* parked on lo (see gen.c): real traffic there is none of our business */
	if (ctx->ingress_ifindex != cfg.ifindex)
		return XDP_PASS;
	if (cfg.interval_fp) {
		__u64 now = bpf_ktime_get_ns(), rel;

		if (!pace_t0)
			pace_t0 = now;
		rel = (now - pace_t0) << 16;
		if (rel < pace_next_fp)
			return XDP_DROP; /* too early: nothing goes out */
		if (rel > pace_next_fp + PACE_SLACK_FP)
			pace_next_fp = rel; /* fell behind: no catch-up burst */
		pace_next_fp += cfg.interval_fp;
	}
	if (cfg.max_sent && pace_sent >= cfg.max_sent)
		return XDP_DROP;
	pace_sent++;
	if (legit) {
		__u32 flow = bpf_get_prandom_u32() % (cfg.legit_count ? cfg.legit_count : 1);

		v6 = cfg.legit_v6;
		for (i = 0; i < 4; i++)
			saddr[i] = cfg.legit_base[i];
		/* flow i: base + i in the address's last word (v4: the only one) */
		if (v6)
			saddr[3] = bpf_htonl(bpf_ntohl(saddr[3]) + flow);
		else
			saddr[0] = bpf_htonl(bpf_ntohl(saddr[0]) + flow);
		t = v6 ? (const struct gen_tpl *)&cfg.tpl[GEN_KIND_LEGIT][1]
		       : (const struct gen_tpl *)&cfg.tpl[GEN_KIND_LEGIT][0];
	} else if (cfg.src4) {
		__u32 idx = next_src();
		struct gen_src4 *s = bpf_map_lookup_elem(&gen_srcs4, &idx);

		if (!s)
			return XDP_ABORTED;
		v6 = 0;
		saddr[0] = s->addr | (s->mask ? bpf_get_prandom_u32() & s->mask : 0);
		saddr[1] = saddr[2] = saddr[3] = 0;
		t = (const struct gen_tpl *)&cfg.tpl[GEN_KIND_FLOOD][0];
	} else {
		__u32 idx = next_src();
		struct gen_src *s = bpf_map_lookup_elem(&gen_srcs, &idx);

		if (!s)
			return XDP_ABORTED;
		v6 = s->v6;
		/* only the words with host bits cost a random number */
		for (i = 0; i < 4; i++)
			saddr[i] = s->addr[i] | (s->mask[i] ? bpf_get_prandom_u32() & s->mask[i] : 0);
		t = v6 ? (const struct gen_tpl *)&cfg.tpl[GEN_KIND_FLOOD][1]
		       : (const struct gen_tpl *)&cfg.tpl[GEN_KIND_FLOOD][0];
	}
	if (!t->valid)
		return XDP_ABORTED;

	if (cfg.long_copy) {
		if (data + GEN_HDR_V6 > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data, t->bytes, GEN_HDR_V6);
	} else {
		if (data + GEN_HDR_V4 > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data, t->bytes, GEN_HDR_V4);
		if (v6)
			return XDP_ABORTED; /* gen.c never lets this happen */
	}

	/* source port: the template's, or random (a new flow per packet) */
	sport = t->sport ? t->sport : bpf_htons((__u16)(r >> 16) | 1024);

	if (v6) {
		if (data + GEN_HDR_V6 > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data + 22, saddr, 16);
		*(__u16 *)(data + 54) = (__u16)sport;
		sum = 0;
		for (i = 0; i < 4; i++)
			sum = add32(sum, saddr[i]);
	} else {
		*(__u32 *)(data + 26) = saddr[0];
		*(__u16 *)(data + 34) = (__u16)sport;
		/* IPv4 header checksum (template computed with source 0) */
		w16 = data + 24;
		*w16 = ~fold((__u16)~*w16 + add32(0, saddr[0]));
		sum = add32(0, saddr[0]);
	}
	/* TCP/UDP checksum: the pseudo header has the source, the header the
	 * port; the template's sum has both as zero */
	sum += sport & 0xffff;
	w16 = data + (t->csum_off & 0x7f);
	if ((void *)(w16 + 1) > data_end)
		return XDP_ABORTED;
	*w16 = ~fold((__u16)~*w16 + sum);
	if (t->udp && *w16 == 0)
		*w16 = 0xffff; /* UDP sends a computed 0 as all ones */
	bump((legit ? GEN_KIND_LEGIT : GEN_KIND_FLOOD) * 2 + (v6 ? 1 : 0));
	return XDP_TX;
}

/* The same frame every time: the generator's own ceiling, for comparison. */
SEC("xdp")
int gen_xdp_fixed(struct xdp_md *ctx)
{
	if (ctx->ingress_ifindex != cfg.ifindex)
		return XDP_PASS;
	return XDP_TX;
}
