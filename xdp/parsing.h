/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parsing.h - the packet parser shared by the XDP and TC programs.
 *
 * Every helper takes the bounds it may read within, checks each access
 * against data_end right where it happens, and returns SLUICE_PARSE_OK or the
 * enum sluice_reason that names what was wrong.  The parse is split in stages
 * (L2, L3, L3 extensions, L4) so that a caller can decide on the source
 * address before paying for the rest: a flood from a blocked source is
 * dropped after the fixed IP header.
 */
#ifndef SLUICE_PARSING_H
#define SLUICE_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sluice_maps.h"

#define SLUICE_PARSE_OK SR_PASS

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#ifndef IPPROTO_MH
#define IPPROTO_MH 135
#endif
/* bpf_fib_lookup's families (no libc socket headers on the BPF side) */
#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* VLAN header as it sits after the MAC addresses (no kernel uapi struct). */
struct sluice_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

enum sluice_frag {
	SLUICE_NOT_FRAG = 0,
	SLUICE_FRAG_FIRST = 1, /* offset 0, more fragments follow: L4 is here */
	SLUICE_FRAG_LATER = 2, /* offset > 0: no L4 header in this packet */
};

/* What the parser learnt.  Pointers stay within [data, data_end). */
struct sluice_pkt {
	void *l3;
	void *l4;
	__u32 l4_len;     /* bytes of L3 payload from l4 on (per IP lengths) */
	__u16 eth_proto;  /* host order, innermost ethertype */
	__u16 vlan_id[SLUICE_MAX_VLAN];
	__u8 vlan_depth;
	__u8 l4_proto;    /* IPPROTO_*, after IPv6 extension headers */
	__u8 frag;        /* enum sluice_frag */
	__u8 tcp_flags;   /* TCP flags byte (FIN..CWR) when TCP */
	__u32 saddr[4];   /* v4 in [0]; network order */
	__u32 daddr[4];
	__be16 sport;
	__be16 dport;
};

/* Ethernet + up to SLUICE_MAX_VLAN tags. */
static __always_inline int sluice_parse_l2(void *data, void *data_end, struct sluice_pkt *p)
{
	struct ethhdr *eth = data;
	void *cur = data + sizeof(*eth);
	__u16 proto;

	if (cur > data_end)
		return SR_MAL_ETH;
	proto = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (int i = 0; i < SLUICE_MAX_VLAN; i++) {
		struct sluice_vlan_hdr *vh = cur;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > data_end)
			return SR_MAL_VLAN;
		p->vlan_id[i] = bpf_ntohs(vh->tci) & 0x0fff;
		p->vlan_depth = i + 1;
		proto = bpf_ntohs(vh->encap_proto);
		cur = vh + 1;
	}
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD)
		return SR_MAL_VLAN_DEPTH;

	p->eth_proto = proto;
	p->l3 = cur;
	return SLUICE_PARSE_OK;
}

/* Fixed IPv4 header plus options; fills addresses, protocol and fragment
 * state.  Lengths are checked against both the header and the frame. */
static __always_inline int sluice_parse_ipv4(void *data_end, struct sluice_pkt *p)
{
	struct iphdr *iph = p->l3;
	__u32 hlen, tot;
	__u16 frag_off;

	if ((void *)(iph + 1) > data_end)
		return SR_MAL_IPV4_TRUNC;
	if (iph->version != 4)
		return SR_MAL_IPV4_VERSION;
	hlen = iph->ihl * 4;
	if (hlen < sizeof(*iph))
		return SR_MAL_IPV4_IHL;
	if ((void *)iph + hlen > data_end)
		return SR_MAL_IPV4_TRUNC;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || (void *)iph + tot > data_end)
		return SR_MAL_IPV4_LEN;

	p->saddr[0] = iph->saddr;
	p->daddr[0] = iph->daddr;
	p->l4_proto = iph->protocol;
	p->l4 = (void *)iph + hlen;
	p->l4_len = tot - hlen;

	frag_off = bpf_ntohs(iph->frag_off);
	if (frag_off & 0x1fff)
		p->frag = SLUICE_FRAG_LATER;
	else if (frag_off & 0x2000)
		p->frag = SLUICE_FRAG_FIRST;
	return SLUICE_PARSE_OK;
}

/* Fixed IPv6 header only; extension headers are walked by
 * sluice_parse_ipv6_ext once the source has been judged. */
static __always_inline int sluice_parse_ipv6(void *data_end, struct sluice_pkt *p)
{
	struct ipv6hdr *ip6 = p->l3;
	__u32 plen;

	if ((void *)(ip6 + 1) > data_end)
		return SR_MAL_IPV6_TRUNC;
	if (ip6->version != 6)
		return SR_MAL_IPV6_VERSION;
	plen = bpf_ntohs(ip6->payload_len);
	/* A zero payload length only means "jumbogram", which cannot travel on
	 * Ethernet, so it is malformed here like a length past the frame. */
	if (plen == 0 || (void *)(ip6 + 1) + plen > data_end)
		return SR_MAL_IPV6_PLEN;

	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	p->l4_proto = ip6->nexthdr;
	p->l4 = ip6 + 1;
	p->l4_len = plen;
	return SLUICE_PARSE_OK;
}

static __always_inline int sluice_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH || nh == IPPROTO_MH;
}

/* Bound on header offsets inside the extension walk (frames are smaller). */
#define SLUICE_EXT_OFF_MASK 0x3fff

/* Walk at most SLUICE_MAX_IPV6_EXT extension headers.  Each header must lie
 * inside the frame and inside the IPv6 payload length.
 *
 * Written for the verifier as much as for the CPU: the position is a masked
 * scalar offset rather than a pointer, and every header kind is read the
 * same way (all are at least 8 bytes), so the verifier's states at the top
 * of each iteration look alike and are pruned.  A pointer walk here made
 * verification grow exponentially with the bound. */
static __always_inline int sluice_parse_ipv6_ext(void *data, void *data_end, struct sluice_pkt *p)
{
	__u32 off = (__u32)(p->l4 - data);
	__u32 left = p->l4_len;
	__u8 nh = p->l4_proto;

#pragma unroll
	for (int i = 0; i < SLUICE_MAX_IPV6_EXT; i++) {
		__u8 *h;
		__u32 len;

		if (!sluice_ipv6_is_ext(nh))
			goto done;
		off &= SLUICE_EXT_OFF_MASK;
		h = data + off;
		if ((void *)(h + 8) > data_end)
			return SR_MAL_IPV6_EXT;
		if (nh == IPPROTO_FRAGMENT) {
			__u16 frag_off = (__u16)(h[2] << 8 | h[3]);

			len = 8;
			if (frag_off & 0xfff8)
				p->frag = SLUICE_FRAG_LATER;
			else if (frag_off & 1)
				p->frag = SLUICE_FRAG_FIRST;
		} else if (nh == IPPROTO_AH) {
			len = (h[1] + 2) * 4;
		} else {
			len = (h[1] + 1) * 8;
		}
		if (len > left)
			return SR_MAL_IPV6_EXT;
		nh = h[0];
		left -= len;
		off += len;
		if (p->frag == SLUICE_FRAG_LATER)
			goto done; /* what follows is payload, not headers */
	}
	if (sluice_ipv6_is_ext(nh))
		return SR_MAL_IPV6_EXT_CHAIN;
done:
	p->l4 = data + (off & SLUICE_EXT_OFF_MASK);
	p->l4_len = left;
	p->l4_proto = nh;
	return SLUICE_PARSE_OK;
}

/* The extension walk's inputs and outputs as scalars, for callers that run
 * it as a global function (verified once, on its own; the caller then sees
 * one state after the call instead of one per way through the chain). */
struct sluice_ext_walk {
	__u32 l4_off; /* in: first header after the fixed IPv6 header; out: L4 */
	__u32 l4_len;
	__u8 l4_proto;
	__u8 frag;
	__u16 pad;
};

static __always_inline int sluice_ext_walk_run(void *data, void *data_end,
					       struct sluice_ext_walk *w)
{
	struct sluice_pkt p = {};
	int rc;

	if (!w)
		return SR_MAL_IPV6_EXT;
	p.l4 = data + (w->l4_off & SLUICE_EXT_OFF_MASK);
	if (p.l4 > data_end)
		return SR_MAL_IPV6_EXT;
	p.l4_len = w->l4_len;
	p.l4_proto = w->l4_proto;
	rc = sluice_parse_ipv6_ext(data, data_end, &p);
	w->l4_off = (__u32)(p.l4 - data);
	w->l4_len = p.l4_len;
	w->l4_proto = p.l4_proto;
	w->frag = p.frag;
	return rc;
}

/* TCP, UDP, ICMP, ICMPv6 headers.  Other protocols are not an error: the
 * caller sees SR_L4_OTHER and decides. */
static __always_inline int sluice_parse_l4(void *data_end, struct sluice_pkt *p)
{
	void *l4 = p->l4;

	switch (p->l4_proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;
		__u32 hlen;

		if ((void *)(th + 1) > data_end || p->l4_len < sizeof(*th))
			return SR_MAL_TCP;
		hlen = th->doff * 4;
		if (hlen < sizeof(*th) || hlen > p->l4_len || l4 + hlen > data_end)
			return SR_MAL_TCP_DOFF;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return SLUICE_PARSE_OK;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;
		__u32 ulen;

		if ((void *)(uh + 1) > data_end || p->l4_len < sizeof(*uh))
			return SR_MAL_UDP;
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || ulen > p->l4_len)
			return SR_MAL_UDP_LEN;
		p->sport = uh->source;
		p->dport = uh->dest;
		return SLUICE_PARSE_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		/* ICMP belongs to IPv4 and ICMPv6 to IPv6; the other family's
		 * number is just some protocol */
		if ((p->l4_proto == IPPROTO_ICMP) != (p->eth_proto == ETH_P_IP))
			return SR_L4_OTHER;
		/* type, code, checksum and the 4-byte rest-of-header every ICMP
		 * and ICMPv6 message carries */
		if (l4 + 8 > data_end || p->l4_len < 8)
			return SR_MAL_ICMP;
		return SLUICE_PARSE_OK;
	}
	default:
		return SR_L4_OTHER;
	}
}

#endif /* SLUICE_PARSING_H */
