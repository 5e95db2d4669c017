/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syncookie.h - SYN cookies in XDP for protected local services.
 *
 * A SYN to a protected (address, port) is answered right here: the frame is
 * turned into a SYN-ACK whose sequence number is the kernel's own SYN cookie
 * (bpf_tcp_raw_gen_syncookie_ipv4/6, MSS option from the cookie's MSS
 * class) and sent back with XDP_TX.  Nothing is stored anywhere, so a
 * spoofed flood costs no memory.  The client's ACK is checked with
 * bpf_tcp_raw_check_syncookie_ipv4/6 and, when valid, handed to the stack,
 * where the kernel's SYNPROXY (nft `synproxy` / iptables SYNPROXY, set up by
 * the operator: docs/syn-cookies.md) validates it again with the same
 * secret and completes the handshake with the local listener.
 *
 * Packets of connections the kernel already has (an established, request or
 * time-wait socket found by bpf_skc_lookup_tcp) go on untouched; only a
 * segment for which the kernel has nothing, or only the listener, must
 * carry a valid cookie.  Window scaling, SACK and timestamps are not
 * offered in the SYN-ACK (no timestamp encoding): the trade-off is
 * documented in docs/syn-cookies.md.
 *
 * Included by sluice.bpf.c only.
 */
#ifndef SLUICE_SYNCOOKIE_H
#define SLUICE_SYNCOOKIE_H

#include "csum.h"
#include "parsing.h"

/* What the main program hands the cookie code (scalars only: it is a global
 * function, verified once on its own). */
struct cookie_pkt {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 l3_off;
	__u16 l4_off;
	__be16 sport;
	__be16 dport;
	__u8 v6;
	__u8 gen; /* bit 0: the generation; COOKIE_GEN_FLOOD: flood mode is on */
	__u8 tcp_flags;
	__u8 plain; /* fixed IP header only: no IPv4 options, no IPv6 extensions,
		     * not a fragment */
};

#define COOKIE_GEN_FLOOD 0x02

#define COOKIE_TCP_FIN 0x01
#define COOKIE_TCP_SYN 0x02
#define COOKIE_TCP_RST 0x04
#define COOKIE_TCP_ACK 0x10
#define COOKIE_TCP_MAX_HLEN 60
/* Our SYN-ACK: a 20-byte TCP header and one option, the MSS. */
#define COOKIE_SYNACK_TCP_LEN 24
/* Offered receive window (no scaling is negotiated). */
#define COOKIE_WINDOW 65535
/* Deepest L3 offset handled: Ethernet and two VLAN tags fit easily. */
#define COOKIE_MAX_L3_OFF 64

/* Per-CPU copies of the headers for the helpers: the TCP header's length
 * varies, and the helpers take any memory, so a copy spares the verifier a
 * variable-length packet range (and the 512-byte stack). */
struct cookie_scratch {
	__u8 th[COOKIE_TCP_MAX_HLEN];
	struct ipv6hdr ip6;
	struct iphdr ip4;
	struct bpf_sock_tuple tuple;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cookie_scratch);
} cookie_scratch_map SEC(".maps");

/* Is a cookie mode on for this packet?  flood: sluice_state.flood_mode as
 * the main program read it (no second lookup). */
static __always_inline int cookie_mode_on(__u32 mode, __u32 flood)
{
	if (mode == SLUICE_COOKIE_ALWAYS)
		return 1;
	return mode == SLUICE_COOKIE_FLOOD && flood;
}

/* Does generation gen protect any local service in a mode that is on now?
 * Checked in the main program before anything is copied for
 * sluice_syncookie: with nothing protected, TCP pays one inlined array
 * lookup. */
static __always_inline int cookie_gen_on(__u32 gen, __u32 flood)
{
	__u32 *mode = bpf_map_lookup_elem(&syncookie_gen, &gen);

	return mode && cookie_mode_on(*mode, flood);
}

/* Does the kernel already have this connection (any socket but the
 * listener)?  Then its packets are none of the cookie code's business. */
static __always_inline int cookie_kernel_has_conn(struct xdp_md *ctx, const struct cookie_pkt *cp,
						  struct bpf_sock_tuple *t)
{
	struct bpf_sock *sk;
	__u32 len;
	int has;

	__builtin_memset(t, 0, sizeof(*t));
	if (cp->v6) {
		__builtin_memcpy(t->ipv6.saddr, cp->saddr, 16);
		__builtin_memcpy(t->ipv6.daddr, cp->daddr, 16);
		t->ipv6.sport = cp->sport;
		t->ipv6.dport = cp->dport;
		len = sizeof(t->ipv6);
	} else {
		t->ipv4.saddr = cp->saddr[0];
		t->ipv4.daddr = cp->daddr[0];
		t->ipv4.sport = cp->sport;
		t->ipv4.dport = cp->dport;
		len = sizeof(t->ipv4);
	}
	sk = bpf_skc_lookup_tcp(ctx, t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	has = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return has;
}

/* Sum of n 16-bit words (no fold). */
static __always_inline __u32 cookie_sum16(const __u16 *w, int n)
{
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		s += w[i];
	return s;
}

/* Build our SYN-ACK from the SYN's header copies in sc and write it over
 * the frame (which already has exactly l4_off + COOKIE_SYNACK_TCP_LEN
 * bytes).  Built in the scratch map and stored with bpf_xdp_store_bytes:
 * fixed offsets the verifier follows, whatever the L3 offset.  0 on success. */
static __always_inline int cookie_write_synack(struct xdp_md *ctx, struct cookie_scratch *sc,
					       __u32 l3_off, __u32 l4_off, int v6, __u32 cookie,
					       __u16 mss)
{
	struct tcphdr *th = (struct tcphdr *)sc->th;
	__u32 sum, isn;
	__be16 port;

	/* MACs swapped: sc->th holds them for a moment */
	if (bpf_xdp_load_bytes(ctx, 0, sc->th, 2 * ETH_ALEN))
		return -1;
	__builtin_memcpy(sc->th + 2 * ETH_ALEN, sc->th, ETH_ALEN);
	if (bpf_xdp_store_bytes(ctx, 0, sc->th + ETH_ALEN, 2 * ETH_ALEN))
		return -1;
	/* the SYN's TCP header again (ports, sequence) */
	if (bpf_xdp_load_bytes(ctx, l4_off, sc->th, sizeof(struct tcphdr)))
		return -1;

	if (v6) {
		struct ipv6hdr *ip6 = &sc->ip6;
		__u32 a[4];

		/* version 6, traffic class and flow label 0 */
		*(__be32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(COOKIE_SYNACK_TCP_LEN);
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = 64;
		__builtin_memcpy(a, &ip6->saddr, 16);
		__builtin_memcpy(&ip6->saddr, &ip6->daddr, 16);
		__builtin_memcpy(&ip6->daddr, a, 16);
		sum = cookie_sum16((__u16 *)&ip6->saddr, 16);
		if (bpf_xdp_store_bytes(ctx, l3_off, ip6, sizeof(*ip6)))
			return -1;
	} else {
		struct iphdr *iph = &sc->ip4;
		__be32 a;

		iph->tot_len = bpf_htons(sizeof(*iph) + COOKIE_SYNACK_TCP_LEN);
		iph->id = 0;
		iph->frag_off = bpf_htons(0x4000); /* DF */
		iph->ttl = 64;
		a = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = a;
		iph->check = 0;
		iph->check = (__u16)~csum_fold32(cookie_sum16((__u16 *)iph, 10));
		sum = cookie_sum16((__u16 *)&iph->saddr, 4);
		if (bpf_xdp_store_bytes(ctx, l3_off, iph, sizeof(*iph)))
			return -1;
	}
	/* pseudo header: addresses (above), protocol, TCP length */
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons(COOKIE_SYNACK_TCP_LEN);

	isn = bpf_ntohl(th->seq);
	port = th->source;
	th->source = th->dest;
	th->dest = port;
	th->seq = bpf_htonl(cookie);
	th->ack_seq = bpf_htonl(isn + 1);
	sc->th[12] = (COOKIE_SYNACK_TCP_LEN / 4) << 4;
	sc->th[13] = COOKIE_TCP_SYN | COOKIE_TCP_ACK;
	th->window = bpf_htons(COOKIE_WINDOW);
	th->urg_ptr = 0;
	th->check = 0;
	sc->th[20] = 2; /* MSS */
	sc->th[21] = 4;
	sc->th[22] = (__u8)(mss >> 8);
	sc->th[23] = (__u8)mss;
	sum += cookie_sum16((__u16 *)sc->th, COOKIE_SYNACK_TCP_LEN / 2);
	th->check = (__u16)~csum_fold32(sum);
	return bpf_xdp_store_bytes(ctx, l4_off, sc->th, COOKIE_SYNACK_TCP_LEN) ? -1 : 0;
}

/* A SYN to a protected service: answer with a cookie SYN-ACK. */
static __always_inline int cookie_answer_syn(struct xdp_md *ctx, const struct cookie_pkt *cp,
					     struct cookie_scratch *sc)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = cp->l3_off, l4_off = cp->l4_off;
	int v6 = cp->v6 ? 1 : 0;
	__u64 hlen; /* 64-bit: bounds checked on the register that is used */
	__u8 *thp;
	__s64 r;

	/* SYN+FIN / SYN+RST: the kernel would discard them, and the cookie
	 * helper does not look at the flags */
	if (!cp->plain || l3_off > COOKIE_MAX_L3_OFF ||
	    (cp->tcp_flags & (COOKIE_TCP_FIN | COOKIE_TCP_RST)))
		return SR_COOKIE_UNSUPPORTED;
	if (l4_off != l3_off + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)))
		return SR_COOKIE_UNSUPPORTED;
	thp = data + l4_off;
	if (thp + sizeof(struct tcphdr) > (__u8 *)data_end)
		return SR_COOKIE_UNSUPPORTED;
	hlen = (thp[12] >> 4) * 4;
	/* two separate tests (no range trick by the compiler): the verifier
	 * must see 20 <= hlen <= 60 for the copy below */
	barrier_var(hlen);
	if (hlen < sizeof(struct tcphdr))
		return SR_COOKIE_UNSUPPORTED;
	barrier_var(hlen);
	if (hlen > COOKIE_TCP_MAX_HLEN)
		return SR_COOKIE_UNSUPPORTED;
	if (bpf_xdp_load_bytes(ctx, l4_off, sc->th, hlen))
		return SR_COOKIE_UNSUPPORTED;
	if (v6) {
		if (bpf_xdp_load_bytes(ctx, l3_off, &sc->ip6, sizeof(sc->ip6)))
			return SR_COOKIE_UNSUPPORTED;
		r = bpf_tcp_raw_gen_syncookie_ipv6(&sc->ip6, (struct tcphdr *)sc->th, hlen);
	} else {
		if (bpf_xdp_load_bytes(ctx, l3_off, &sc->ip4, sizeof(sc->ip4)))
			return SR_COOKIE_UNSUPPORTED;
		r = bpf_tcp_raw_gen_syncookie_ipv4(&sc->ip4, (struct tcphdr *)sc->th, hlen);
	}
	if (r < 0) /* not a clean SYN (SYN+FIN, ...) */
		return SR_COOKIE_UNSUPPORTED;
	/* options and any payload of the SYN go: the reply is header + MSS */
	if (bpf_xdp_adjust_tail(ctx,
				(int)(l4_off + COOKIE_SYNACK_TCP_LEN) - (int)(data_end - data)))
		return SR_COOKIE_UNSUPPORTED;
	if (cookie_write_synack(ctx, sc, l3_off, l4_off, v6, (__u32)r, (__u16)(r >> 32)))
		return SR_COOKIE_UNSUPPORTED;
	return SR_COOKIE_SENT;
}

/* Any other segment to a protected service: the kernel's own connections
 * pass; otherwise only an ACK with a valid cookie does. */
/* Does the segment's ack answer one of our cookies (for its addresses,
 * ports and seq)?  Uses cp's offsets and family only. */
static __always_inline int cookie_ack_valid(struct xdp_md *ctx, const struct cookie_pkt *cp,
					    struct cookie_scratch *sc)
{
	__u32 l3_off = cp->l3_off, l4_off = cp->l4_off;
	long rc;

	if (l3_off > 1024 || l4_off > 1024)
		return 0;
	if (bpf_xdp_load_bytes(ctx, l4_off, sc->th, sizeof(struct tcphdr)))
		return 0;
	if (cp->v6) {
		if (bpf_xdp_load_bytes(ctx, l3_off, &sc->ip6, sizeof(sc->ip6)))
			return 0;
		rc = bpf_tcp_raw_check_syncookie_ipv6(&sc->ip6, (struct tcphdr *)sc->th);
	} else {
		if (bpf_xdp_load_bytes(ctx, l3_off, &sc->ip4, sizeof(sc->ip4)))
			return 0;
		rc = bpf_tcp_raw_check_syncookie_ipv4(&sc->ip4, (struct tcphdr *)sc->th);
	}
	return rc == 0;
}

static __always_inline int cookie_check_ack(struct xdp_md *ctx, const struct cookie_pkt *cp,
					    struct cookie_scratch *sc)
{
	if (cookie_kernel_has_conn(ctx, cp, &sc->tuple))
		return SLUICE_PARSE_OK;
	if ((cp->tcp_flags & (COOKIE_TCP_ACK | COOKIE_TCP_RST | COOKIE_TCP_SYN)) != COOKIE_TCP_ACK)
		return SR_COOKIE_INVALID;
	return cookie_ack_valid(ctx, cp, sc) ? SR_COOKIE_VALID : SR_COOKIE_INVALID;
}

/* Entry point for every TCP segment once the source is judged: returns
 * SLUICE_PARSE_OK when the segment is not the cookies' business (no
 * protected service, mode off, a connection the kernel has), else the
 * SR_COOKIE_* reason that decides it (SR_COOKIE_SENT: the frame is now our
 * SYN-ACK, to be sent with XDP_TX). */
__noinline int sluice_syncookie(struct xdp_md *ctx, const struct cookie_pkt *cp)
{
	struct sluice_cookie_key k = {};
	struct sluice_cookie_svc *svc;
	struct cookie_scratch *sc;
	__u32 gen, flood, zero = 0;

	if (!cp)
		return SLUICE_PARSE_OK;
	gen = cp->gen & 1;
	flood = cp->gen & COOKIE_GEN_FLOOD;
	__builtin_memcpy(k.addr, cp->daddr, 16);
	k.port = cp->dport;
	k.family = cp->v6 ? 6 : 4;
	k.gen = (__u8)gen;
	svc = bpf_map_lookup_elem(&syncookie_local, &k);
	if (!svc || !cookie_mode_on(svc->mode, flood))
		return SLUICE_PARSE_OK;
	sc = bpf_map_lookup_elem(&cookie_scratch_map, &zero);
	if (!sc)
		return SLUICE_PARSE_OK;
	if ((cp->tcp_flags & (COOKIE_TCP_SYN | COOKIE_TCP_ACK)) == COOKIE_TCP_SYN)
		return cookie_answer_syn(ctx, cp, sc);
	return cookie_check_ack(ctx, cp, sc);
}

#endif /* SLUICE_SYNCOOKIE_H */
