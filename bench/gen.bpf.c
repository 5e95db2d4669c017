// SPDX-License-Identifier: GPL-2.0
/*
 * gen.bpf.c - the traffic generator's XDP program, run with
 * BPF_PROG_RUN + BPF_F_TEST_XDP_LIVE_FRAMES: every run rewrites the template
 * frame's source (random within a prefix, or one of the legit sources) and
 * ports, then XDP_TX sends it out of the generator's veth, where the device
 * under test receives it.  This is an in-kernel pktgen for kernels without
 * the pktgen module.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "gen.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct gen_cfg cfg = {};

/* What was sent, by kind (userspace reads it to report legit vs flood). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEN_KIND_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gen_sent SEC(".maps");

static __always_inline void bump(__u32 kind)
{
	__u64 *v = bpf_map_lookup_elem(&gen_sent, &kind);

	if (v)
		(*v)++;
}

SEC("xdp")
int gen_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 r = bpf_get_prandom_u32();
	__u32 r2 = bpf_get_prandom_u32();
	int legit = cfg.legit_pct && (r2 % 100) < cfg.legit_pct;
	__be16 *ports;

	if (cfg.v6) {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		if ((void *)(ip6 + 1) + 4 > data_end)
			return XDP_ABORTED;
		ports = (void *)(ip6 + 1);
		if (legit) {
			__builtin_memcpy(&ip6->saddr, (const void *)cfg.legit_base6, 16);
			ip6->saddr.in6_u.u6_addr32[3] = bpf_htonl(
				cfg.legit_base6_low + (r % (cfg.legit_count ? cfg.legit_count : 1)));
		} else {
			__builtin_memcpy(&ip6->saddr, (const void *)cfg.src_base6, 16);
			ip6->saddr.in6_u.u6_addr32[2] |= bpf_htonl(r2 & cfg.src_rand6_hi);
			ip6->saddr.in6_u.u6_addr32[3] |= bpf_htonl(r & cfg.src_rand6_lo);
		}
	} else {
		struct iphdr *iph = data + sizeof(struct ethhdr);

		if ((void *)(iph + 1) + 4 > data_end)
			return XDP_ABORTED;
		ports = (void *)(iph + 1);
		if (legit)
			iph->saddr = bpf_htonl(cfg.legit_base4 + (r % (cfg.legit_count ? cfg.legit_count : 1)));
		else
			iph->saddr = bpf_htonl(cfg.src_base4 | (r & cfg.src_rand4));
	}
	if (cfg.rand_sport)
		ports[0] = (__be16)(r >> 16 | 1024);
	bump(legit ? GEN_KIND_LEGIT : GEN_KIND_FLOOD);
	return XDP_TX;
}

/* The same frame every time: the generator's own ceiling, for comparison. */
SEC("xdp")
int gen_xdp_fixed(struct xdp_md *ctx)
{
	return XDP_TX;
}
