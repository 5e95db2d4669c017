// SPDX-License-Identifier: GPL-2.0
/*
 * sink.bpf.c - baselines and receivers for the bench:
 *   xdp_drop_count: the rig's ceiling (count, XDP_DROP: the cheapest program)
 *   xdp_pass_count: count and hand to the stack (nftables/iptables runs)
 *   xdp_tx_count:   count and XDP_TX back (bare XDP_TX baseline)
 *   xdp_client_count: the client side of the SYN bench: count everything,
 *                   drop what is addressed to the spoofed flood sources
 *                   (198.18.0.0/15: on the internet those replies go to
 *                   whoever the sources were, not to this host's stack),
 *                   pass the rest to the legit clients
 *   lpm_drop:       one LPM-trie lookup per packet, drop on hit (the
 *                   textbook blocklist sluice is compared with)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 2 * 1024 * 1024);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sink_lpm SEC(".maps");

static __always_inline void bump(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&sink_count, &k);

	if (v)
		(*v)++;
}

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	bump();
	return XDP_DROP;
}

SEC("xdp")
int xdp_pass_count(struct xdp_md *ctx)
{
	bump();
	return XDP_PASS;
}

SEC("xdp")
int xdp_client_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);

	bump();
	if ((void *)(iph + 1) > data_end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_PASS;
	/* 198.18.0.0/15, network byte order */
	if ((iph->daddr & __builtin_bswap32(0xfffe0000)) == __builtin_bswap32(0xc6120000))
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_tx_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	/* swap MACs like a forwarder would touch the frame */
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	bump();
	return XDP_TX;
}

SEC("xdp")
int lpm_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct lpm_key k = {.prefixlen = 32};

	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	k.addr = iph->saddr;
	bump();
	return bpf_map_lookup_elem(&sink_lpm, &k) ? XDP_DROP : XDP_PASS;
}
