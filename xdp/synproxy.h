/* SPDX-License-Identifier: GPL-2.0 */
/*
 * synproxy.h - SYN cookies for NAT-mode VIPs (services with
 * `syn_cookies = true`): sluice completes the client's handshake itself and
 * opens the backend connection only for a client that answered its cookie.
 *
 *   client SYN          -> cookie SYN-ACK from the VIP (XDP_TX, no state)
 *   client ACK (cookie valid) -> backend by Maglev, connection entry PENDING
 *                          (holding the cookie), the ACK rewritten into a SYN
 *                          to the backend (client's ISN, MSS option), DNAT
 *   backend SYN-ACK     -> delta = backend ISN - cookie, entry ESTABLISHED,
 *                          answered with the ACK to the backend (XDP)
 *   from then on        -> backend->client seq -= delta, client->backend
 *                          ack += delta (incremental checksums), then the
 *                          ordinary NAT of lb.h
 *
 * Client segments while PENDING are dropped (counted; the client
 * retransmits), except a valid cookie ACK, which sends the backend SYN again
 * (the first one may have been lost).  Neither side is offered window
 * scaling, SACK or timestamps (docs/syn-cookies.md: what cookies cannot
 * carry), so no option needs translating.
 *
 * Included by lb.h (it uses lb.h's helpers, lb.h calls its two entry points).
 */
#ifndef SLUICE_SYNPROXY_H
#define SLUICE_SYNPROXY_H

#include "syncookie.h"

#ifndef LB_MAX_OFF
#define LB_MAX_OFF 1024 /* the same bound lb.h defines */
#endif

/* MSS announced to the backend on the client's behalf: the check helper
 * does not say which MSS class the cookie carried, so the largest class of
 * the family is assumed (docs/syn-cookies.md). */
#define SP_BACKEND_MSS_V4 1460
#define SP_BACKEND_MSS_V6 1440
#define SP_WINDOW 65535

/* What a new segment we write carries. */
struct sp_seg {
	__be16 sport, dport;
	__u32 seq, ack; /* host order */
	__u8 flags;
	__be16 window;
	__u16 mss; /* 0: no option */
};

/* Per-CPU scratch: the main program and sluice_lb use most of the 512-byte
 * stack, so these functions keep almost nothing on theirs. */
struct sp_scratch {
	struct sluice_flow_key fk;
	struct cookie_pkt cp;
	struct sp_seg sg;
	struct sluice_conn nc;
	struct tcphdr tcp; /* the segment's header as received */
	__u8 th[24];
	struct iphdr ip4;
	struct ipv6hdr ip6;
	__u32 src[4], dst[4];
	/* the reverse-NAT entry of a backend reply (sp_stash_rev) */
	__u32 rev_vip[4];
	__be16 rev_vport;
	__u16 rev_svc;
};

/* sluice_lb's answers that hand a packet to sluice_sp_run() */
#define LB_SP_CLIENT 2
#define LB_SP_BACKEND 3

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp_scratch);
} sp_scratch_map SEC(".maps");

/* Turn the frame into one TCP segment from sp->src to sp->dst with no
 * payload: IP header rewritten (addresses, lengths, fresh checksum), TCP
 * header built whole.  Built in the scratch map, stored with
 * bpf_xdp_store_bytes (fixed sizes whatever the offsets).  0 on success. */
static __always_inline int sp_write_segment(struct xdp_md *ctx, struct sp_scratch *sp, __u32 l3_off,
					    __u32 l4_off, int v6, const struct sp_seg *sg)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 tcp_len = sg->mss ? 24 : 20, sum;

	if (bpf_xdp_adjust_tail(ctx, (int)(l4_off + tcp_len) - (int)(data_end - data)))
		return -1;
	if (v6) {
		struct ipv6hdr *ip6 = &sp->ip6;

		if (bpf_xdp_load_bytes(ctx, l3_off, ip6, sizeof(*ip6)))
			return -1;
		ip6->payload_len = bpf_htons((__u16)tcp_len);
		ip6->nexthdr = IPPROTO_TCP;
		__builtin_memcpy(&ip6->saddr, sp->src, 16);
		__builtin_memcpy(&ip6->daddr, sp->dst, 16);
		sum = cookie_sum16((__u16 *)&ip6->saddr, 16);
		if (bpf_xdp_store_bytes(ctx, l3_off, ip6, sizeof(*ip6)))
			return -1;
	} else {
		struct iphdr *iph = &sp->ip4;

		if (bpf_xdp_load_bytes(ctx, l3_off, iph, sizeof(*iph)))
			return -1;
		iph->tot_len = bpf_htons((__u16)(sizeof(*iph) + tcp_len));
		iph->saddr = sp->src[0];
		iph->daddr = sp->dst[0];
		iph->check = 0;
		iph->check = (__u16)~csum_fold32(cookie_sum16((__u16 *)iph, 10));
		sum = cookie_sum16((__u16 *)&iph->saddr, 4);
		if (bpf_xdp_store_bytes(ctx, l3_off, iph, sizeof(*iph)))
			return -1;
	}
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons((__u16)tcp_len);
	{
		struct tcphdr *th = (struct tcphdr *)sp->th;

		__builtin_memset(sp->th, 0, sizeof(sp->th));
		th->source = sg->sport;
		th->dest = sg->dport;
		th->seq = bpf_htonl(sg->seq);
		th->ack_seq = bpf_htonl(sg->ack);
		sp->th[12] = (__u8)((tcp_len / 4) << 4);
		sp->th[13] = sg->flags;
		th->window = sg->window;
		if (sg->mss) {
			sp->th[20] = 2;
			sp->th[21] = 4;
			sp->th[22] = (__u8)(sg->mss >> 8);
			sp->th[23] = (__u8)sg->mss;
		}
		/* unused option bytes are zero: summing all 24 is right for 20 too */
		sum += cookie_sum16((__u16 *)sp->th, 12);
		th->check = (__u16)~csum_fold32(sum);
	}
	return bpf_xdp_store_bytes(ctx, l4_off, sp->th, tcp_len == 24 ? 24 : 20) ? -1 : 0;
}

/* seq (which = 0) or ack (which = 1) of the TCP header at l4_off += add. */
static __always_inline void sp_shift(struct xdp_md *ctx, __u32 l4_off, int which, __u32 add)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th;
	__be32 old, new;

	if (l4_off > LB_MAX_OFF)
		return;
	th = data + l4_off;
	if ((void *)(th + 1) > data_end)
		return;
	old = which ? th->ack_seq : th->seq;
	new = bpf_htonl(bpf_ntohl(old) + add);
	csum_replace32(&th->check, old, new);
	if (which)
		th->ack_seq = new;
	else
		th->seq = new;
}

/* The segment's TCP header into sp->tcp. */
static __always_inline int sp_read_tcp(struct xdp_md *ctx, __u32 l4_off, struct sp_scratch *sp)
{
	if (l4_off > LB_MAX_OFF || bpf_xdp_load_bytes(ctx, l4_off, &sp->tcp, sizeof(sp->tcp)))
		return -1;
	return 0;
}

/* lb_reply found a backend reply of a syn_cookies service: remember its
 * reverse-NAT entry for sluice_sp_backend().  vport: the flow's VIP port. */
static __always_inline int sp_stash_rev(const struct sluice_rev *rev, __be16 vport)
{
	__u32 zero = 0;
	struct sp_scratch *sp = bpf_map_lookup_elem(&sp_scratch_map, &zero);

	if (!sp)
		return 0; /* cannot happen; the reply is then NATed as usual */
	__builtin_memcpy(sp->rev_vip, rev->vip, 16);
	sp->rev_vport = vport;
	sp->rev_svc = rev->svc_id;
	return LB_SP_BACKEND;
}

/* Client -> VIP of a syn_cookies service.  1: handled (res says how);
 * 0: go on with the ordinary forwarding (ack already translated). */
__noinline int sluice_sp_client(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_result *res)
{
	struct cookie_scratch *csc;
	struct sp_scratch *sp;
	struct lb_scratch *sc;
	struct sluice_conn *conn;
	struct sluice_backend *be;
	__u32 zero = 0, l3_off, l4_off, svc_id, bid, state = SLUICE_SP_NONE;
	int v6, r;

	if (!lp || !res)
		return 0;
	l3_off = lp->l3_off;
	l4_off = lp->l4_off;
	if (l3_off > LB_MAX_OFF || l4_off > LB_MAX_OFF)
		return 0;
	v6 = lp->v6 ? 1 : 0;
	svc_id = res->svc;
	sp = bpf_map_lookup_elem(&sp_scratch_map, &zero);
	csc = bpf_map_lookup_elem(&cookie_scratch_map, &zero);
	sc = bpf_map_lookup_elem(&lb_scratch_map, &zero);
	if (!sp || !csc || !sc)
		return 0;
	res->action = XDP_DROP;
	__builtin_memcpy(sp->cp.saddr, lp->saddr, 16);
	__builtin_memcpy(sp->cp.daddr, lp->daddr, 16);
	sp->cp.l3_off = (__u16)l3_off;
	sp->cp.l4_off = (__u16)l4_off;
	sp->cp.sport = lp->sport;
	sp->cp.dport = lp->dport;
	sp->cp.v6 = (__u8)v6;
	sp->cp.gen = lp->gen;
	sp->cp.tcp_flags = lp->tcp_flags;
	sp->cp.plain = !lp->frag && l4_off == l3_off + (v6 ? 40 : 20);

	if ((lp->tcp_flags & (COOKIE_TCP_SYN | COOKIE_TCP_ACK)) == COOKIE_TCP_SYN) {
		/* the VIP answers: no state, no backend chosen yet */
		r = cookie_answer_syn(ctx, &sp->cp, csc);
		res->reason = (__u32)r;
		res->action = r == SR_COOKIE_SENT ? XDP_TX : XDP_DROP;
		return 1;
	}

	lb_flow_key(&sp->fk, lp->saddr, lp->daddr, lp->sport, lp->dport, IPPROTO_TCP, v6);
	conn = bpf_map_lookup_elem(&lb_conns, &sp->fk);
	if (conn && conn->svc == svc_id) {
		state = conn->sp_state;
		if (state == SLUICE_SP_ESTABLISHED) {
			sp_shift(ctx, l4_off, 1, conn->sp_seq); /* ack += delta */
			return 0;
		}
		/* a connection from before cookies were on goes on as it was,
		 * unless this is the cookie ACK of a new connection that reuses
		 * its 5-tuple (a valid cookie by chance: ~2^-24) */
		if (state == SLUICE_SP_NONE &&
		    ((lp->tcp_flags & (COOKIE_TCP_SYN | COOKIE_TCP_RST | COOKIE_TCP_FIN |
				       COOKIE_TCP_ACK)) != COOKIE_TCP_ACK ||
		     !cookie_ack_valid(ctx, &sp->cp, csc)))
			return 0;
	}

	/* No connection yet, or the backend handshake is pending: only the
	 * ACK that answers the cookie gets anywhere. */
	if ((lp->tcp_flags & (COOKIE_TCP_SYN | COOKIE_TCP_RST | COOKIE_TCP_FIN | COOKIE_TCP_ACK)) !=
		COOKIE_TCP_ACK ||
	    !cookie_ack_valid(ctx, &sp->cp, csc) || sp_read_tcp(ctx, l4_off, sp)) {
		res->reason = state == SLUICE_SP_PENDING ? SR_SP_PENDING : SR_COOKIE_INVALID;
		return 1;
	}
	if (state == SLUICE_SP_PENDING && conn) {
		bid = conn->backend;
	} else {
		struct sluice_svc s = {.id = svc_id, .mode = SLUICE_MODE_NAT};

		bid = lb_pick(&sp->fk, &s, lp->tcp_flags, lp->gen, res, 1); /* Maglev only */
		res->new_flow = 1;
	}
	be = lb_backend(lp->gen ? 1 : 0, bid);
	if (!be || be->family != (v6 ? 6 : 4)) {
		res->reason = SR_LB_NO_BACKEND;
		return 1;
	}
	res->backend = bid;
	sp->nc.backend = bid;
	sp->nc.svc = svc_id;
	sp->nc.sp_state = SLUICE_SP_PENDING;
	sp->nc.sp_seq = bpf_ntohl(sp->tcp.ack_seq) - 1; /* the cookie */
	if (bpf_map_update_elem(&lb_conns, &sp->fk, &sp->nc, BPF_ANY)) {
		res->reason = SR_LB_NO_BACKEND;
		return 1;
	}
	/* the ACK becomes the client's SYN to the backend */
	__builtin_memcpy(sp->src, lp->saddr, 16);
	__builtin_memcpy(sp->dst, be->addr, 16);
	sp->sg.sport = lp->sport;
	sp->sg.dport = be->port ? be->port : lp->dport;
	sp->sg.seq = bpf_ntohl(sp->tcp.seq) - 1; /* the client's ISN */
	sp->sg.ack = 0;
	sp->sg.flags = COOKIE_TCP_SYN;
	sp->sg.window = sp->tcp.window;
	sp->sg.mss = v6 ? SP_BACKEND_MSS_V6 : SP_BACKEND_MSS_V4;
	if (sp_write_segment(ctx, sp, l3_off, l4_off, v6, &sp->sg)) {
		res->reason = SR_COOKIE_UNSUPPORTED;
		return 1;
	}
	__builtin_memcpy(lp->daddr, sp->dst, 16);
	lp->dport = sp->sg.dport;
	res->reason = SR_SP_BACKEND_SYN;
	res->action = lb_fib_out(ctx, lp, &sc->fib, res, NULL);
	return 1;
}

/* Backend -> client of a syn_cookies service, before its reverse NAT (the
 * reverse-NAT entry is in sp_scratch: sp_stash_rev).  1: handled; 0: go on
 * (seq already translated). */
__noinline int sluice_sp_backend(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_result *res)
{
	struct sp_scratch *sp;
	struct lb_scratch *sc;
	struct sluice_conn *conn;
	__u32 zero = 0, l3_off, l4_off, seq;
	int v6;

	if (!lp || !res)
		return 0;
	l3_off = lp->l3_off;
	l4_off = lp->l4_off;
	if (l3_off > LB_MAX_OFF || l4_off > LB_MAX_OFF)
		return 0;
	v6 = lp->v6 ? 1 : 0;
	sp = bpf_map_lookup_elem(&sp_scratch_map, &zero);
	sc = bpf_map_lookup_elem(&lb_scratch_map, &zero);
	if (!sp || !sc)
		return 0;
	/* the client's flow: (client, VIP, client port, VIP port) */
	lb_flow_key(&sp->fk, lp->daddr, sp->rev_vip, lp->dport, sp->rev_vport, IPPROTO_TCP, v6);
	conn = bpf_map_lookup_elem(&lb_conns, &sp->fk);
	if (!conn || conn->sp_state == SLUICE_SP_NONE)
		return 0;
	res->svc = sp->rev_svc;
	res->backend = conn->backend;
	res->action = XDP_DROP;
	if ((lp->tcp_flags & (COOKIE_TCP_SYN | COOKIE_TCP_ACK | COOKIE_TCP_RST)) ==
	    (COOKIE_TCP_SYN | COOKIE_TCP_ACK)) {
		if (sp_read_tcp(ctx, l4_off, sp)) {
			res->reason = SR_SP_PENDING;
			return 1;
		}
		seq = bpf_ntohl(sp->tcp.seq);
		if (conn->sp_state == SLUICE_SP_PENDING) {
			conn->sp_seq = seq - conn->sp_seq; /* backend ISN - cookie */
			conn->sp_state = SLUICE_SP_ESTABLISHED;
		}
		/* answer the backend on the client's behalf (a retransmitted
		 * SYN-ACK gets the same answer) */
		__builtin_memcpy(sp->src, lp->daddr, 16);
		__builtin_memcpy(sp->dst, lp->saddr, 16);
		sp->sg.sport = lp->dport;
		sp->sg.dport = lp->sport;
		sp->sg.seq = bpf_ntohl(sp->tcp.ack_seq);
		sp->sg.ack = seq + 1;
		sp->sg.flags = COOKIE_TCP_ACK;
		sp->sg.window = bpf_htons(SP_WINDOW);
		sp->sg.mss = 0;
		if (sp_write_segment(ctx, sp, l3_off, l4_off, v6, &sp->sg)) {
			res->reason = SR_SP_PENDING;
			return 1;
		}
		__builtin_memcpy(lp->saddr, sp->src, 16);
		__builtin_memcpy(lp->daddr, sp->dst, 16);
		lp->sport = sp->sg.sport;
		lp->dport = sp->sg.dport;
		res->reason = SR_SP_BACKEND_ACK;
		res->action = lb_fib_out(ctx, lp, &sc->fib, res, NULL);
		return 1;
	}
	if (conn->sp_state != SLUICE_SP_ESTABLISHED) {
		res->reason = SR_SP_PENDING;
		return 1;
	}
	sp_shift(ctx, l4_off, 0, 0 - conn->sp_seq); /* seq -= delta */
	return 0;
}

__noinline int sluice_lb(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_result *res);

/* The main program's half of the hook: sluice_lb answered LB_SP_CLIENT or
 * LB_SP_BACKEND.  Runs the handshake code; a packet it leaves alone goes
 * through sluice_lb again (sp_done: straight to the ordinary NAT). */
static __always_inline int sluice_sp_run(struct xdp_md *ctx, struct lb_pkt *lp,
					 struct lb_result *res, int which)
{
	int done = which == LB_SP_CLIENT ? sluice_sp_client(ctx, lp, res)
					 : sluice_sp_backend(ctx, lp, res);

	if (done)
		return 1;
	lp->sp_done = 1;
	__builtin_memset(res, 0, sizeof(*res));
	return sluice_lb(ctx, lp, res);
}

#endif /* SLUICE_SYNPROXY_H */
