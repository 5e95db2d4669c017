// SPDX-License-Identifier: GPL-2.0
/*
 * decap.bpf.c - TC ingress on a DSR backend: strip the outer IPv4 (IP-in-IP,
 * protocol 4) or IPv6 (IPv6-in-IPv6, next header 41) header that sluice's
 * dsr-ipip mode added, so the stack sees the client's packet to the VIP
 * (configured on the backend's loopback) and answers the client directly.
 * This kernel has no ipip/ip6_tunnel module; this program replaces it.
 * Anything else passes untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64); /* [0] decapsulated, [1] refused (malformed inner) */
} decap_stats SEC(".maps");

static __always_inline void bump(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&decap_stats, &i);

	if (v)
		(*v)++;
}

SEC("tc")
int sluice_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	int outer;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *o = (void *)(eth + 1);
		struct iphdr *in = (void *)(o + 1);

		if ((void *)(o + 1) > data_end || o->version != 4 || o->protocol != 4 ||
		    o->ihl != 5)
			return TC_ACT_OK;
		if ((void *)(in + 1) > data_end || in->version != 4) {
			bump(1);
			return TC_ACT_SHOT;
		}
		outer = sizeof(*o);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *o = (void *)(eth + 1);
		struct ipv6hdr *in = (void *)(o + 1);

		if ((void *)(o + 1) > data_end || o->version != 6 || o->nexthdr != 41)
			return TC_ACT_OK;
		if ((void *)(in + 1) > data_end || in->version != 6) {
			bump(1);
			return TC_ACT_SHOT;
		}
		outer = sizeof(*o);
	} else {
		return TC_ACT_OK;
	}
	/* same family inside and out: skb->protocol stays right */
	if (bpf_skb_adjust_room(skb, -outer, BPF_ADJ_ROOM_MAC, 0)) {
		bump(1);
		return TC_ACT_SHOT;
	}
	bump(0);
	return TC_ACT_OK;
}
