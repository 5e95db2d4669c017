/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lb.h - the service load balancer half of the XDP program: service lookup,
 * backend choice (connection table, then Maglev), DNAT and reverse NAT with
 * incremental checksums, ICMP errors about NATed flows, next hop by FIB.
 *
 * Included by sluice.bpf.c only; uses the maps of sluice_maps.h.
 */
#ifndef SLUICE_LB_H
#define SLUICE_LB_H

#include "csum.h"
#include "parsing.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

/* What the main program hands the load balancer: scalars only, since the
 * load balancer is a global function (verified once, on its own, so that the
 * parser's many paths do not multiply through it) and may not receive packet
 * pointers.  Offsets are from ctx->data. */
struct lb_pkt {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 l3_off;
	__u16 l4_off;
	__be16 sport;
	__be16 dport;
	__u16 eth_proto;
	__u8 l4_proto;
	__u8 v6;
	__u8 tcp_flags;
	__u8 frag;
	__u16 pad;
};

/* Per-CPU scratch for the load balancer's larger structs: the BPF stack is
 * 512 bytes for all frames together. */
struct lb_scratch {
	struct bpf_fib_lookup fib;
	struct sluice_flow_key fk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_scratch);
} lb_scratch_map SEC(".maps");

/* Where the headers are: pointers re-derived from ctx and checked. */
struct lb_hdrs {
	void *l3;
	void *l4;
};

/* Outcome of the load balancer for one packet. */
struct lb_result {
	__u32 reason;  /* SR_LB_* or SLUICE_PARSE_OK when not for us */
	__u32 action;  /* XDP action when reason != OK */
	__u32 svc;     /* service id for counters (0 = none) */
	__u32 backend; /* backend id for counters (0 = none) */
	__u8 new_flow;
};

/* Murmur3-style mixing over the flow's words; a fixed seed makes every node
 * hash a flow the same way. ctl/maglev.c documents the same function. */
static __always_inline __u32 lb_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = (k << 15) | (k >> 17);
	k *= 0x1b873593u;
	h ^= k;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

static __always_inline __u32 lb_flow_hash(const struct sluice_flow_key *k)
{
	__u32 h = SLUICE_HASH_SEED;

#pragma unroll
	for (int i = 0; i < 4; i++)
		h = lb_mix(h, k->src[i]);
#pragma unroll
	for (int i = 0; i < 4; i++)
		h = lb_mix(h, k->dst[i]);
	h = lb_mix(h, ((__u32)k->sport << 16) | k->dport);
	h = lb_mix(h, k->proto);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static __always_inline void lb_flow_key(struct sluice_flow_key *k, const __u32 *src,
					const __u32 *dst, __be16 sport, __be16 dport, __u8 proto,
					int v6)
{
	__builtin_memcpy(k->src, src, 16);
	__builtin_memcpy(k->dst, dst, 16);
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->family = v6 ? 6 : 4;
	k->pad = 0;
}

static __always_inline struct sluice_svc *lb_find_service(const __u32 *addr, __be16 port,
							  __u8 proto, int v6)
{
	struct sluice_svc_key sk = {};
	struct sluice_svc *svc;

	__builtin_memcpy(sk.addr, addr, 16);
	sk.port = port;
	sk.proto = proto;
	sk.family = v6 ? 6 : 4;
	svc = bpf_map_lookup_elem(&lb_services, &sk);
	if (svc)
		return svc;
	sk.port = 0; /* port-wildcard service */
	return bpf_map_lookup_elem(&lb_services, &sk);
}

/* Pick the backend of a flow: an existing connection stays where it is
 * unless its backend is down; otherwise the Maglev table decides.  TCP SYNs
 * create no table entry, so a spoofed SYN flood cannot push established
 * flows out of the LRU: the entry is made by the handshake's ACK. */
static __always_inline __u32 lb_pick(const struct sluice_flow_key *fk, const struct sluice_svc *svc,
				     __u8 tcp_flags, struct lb_result *res)
{
	struct sluice_conn *conn = bpf_map_lookup_elem(&lb_conns, fk);
	struct sluice_backend *be;
	__u32 bid, slot;

	if (conn && conn->svc == svc->id) {
		bid = conn->backend;
		be = bpf_map_lookup_elem(&lb_backends, &bid);
		if (be && be->state != SLUICE_BE_DOWN)
			return bid;
	}
	slot = svc->id * SLUICE_RING_SIZE + lb_flow_hash(fk) % SLUICE_RING_SIZE;
	__u32 *ring = bpf_map_lookup_elem(&lb_ring, &slot);

	if (!ring || !*ring)
		return 0;
	bid = *ring;
	if (fk->proto == IPPROTO_TCP && (tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN) {
		res->new_flow = 1;
	} else {
		struct sluice_conn nc = {.backend = bid, .svc = svc->id};

		if (!conn && fk->proto != IPPROTO_TCP)
			res->new_flow = 1;
		bpf_map_update_elem(&lb_conns, fk, &nc, BPF_ANY);
	}
	return bid;
}

/* Resolve the next hop for the (rewritten) packet and fill in the MACs.
 * Returns an XDP action; a next hop without a neighbour entry yet goes to
 * the stack, which resolves it (and forwards this packet). */
static __always_inline int lb_fib_out(struct xdp_md *ctx, const struct lb_pkt *lp,
				      struct bpf_fib_lookup *fib, struct lb_result *res)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ctx->ingress_ifindex;
	fib->l4_protocol = lp->l4_proto;
	fib->sport = lp->sport;
	fib->dport = lp->dport;
	if (lp->v6) {
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_src, lp->saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, lp->daddr, 16);
	} else {
		fib->family = AF_INET;
		fib->ipv4_src = lp->saddr[0];
		fib->ipv4_dst = lp->daddr[0];
	}
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		if ((void *)(eth + 1) > data_end)
			return XDP_DROP;
		__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
		if (fib->ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(fib->ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	res->reason = SR_LB_FIB_FAIL;
	return XDP_DROP;
}

/* Pointer to the TCP/UDP checksum, or NULL (UDP over IPv4 without one). */
static __always_inline __u16 *lb_l4_csum(const struct lb_pkt *lp, struct lb_hdrs *h,
					 void *data_end)
{
	if (lp->l4_proto == IPPROTO_TCP) {
		struct tcphdr *th = h->l4;

		if ((void *)(th + 1) > data_end)
			return NULL;
		return &th->check;
	}
	if (lp->l4_proto == IPPROTO_UDP) {
		struct udphdr *uh = h->l4;

		if ((void *)(uh + 1) > data_end)
			return NULL;
		if (!uh->check && !lp->v6)
			return NULL;
		return &uh->check;
	}
	return NULL;
}

/* UDP sends "no checksum" as 0, so a computed 0 goes out as 0xffff. */
static __always_inline void lb_udp_fixup(const struct lb_pkt *lp, __u16 *l4sum)
{
	if (l4sum && lp->l4_proto == IPPROTO_UDP && *l4sum == 0)
		*l4sum = 0xffff;
}

/* Rewrite source (which = 0) or destination (which = 1) address and port of
 * the packet's own headers, keeping IP and L4 checksums right. */
static __always_inline int lb_rewrite(struct lb_pkt *lp, struct lb_hdrs *h, int which,
				      const __u8 *addr, __be16 port, void *data_end)
{
	__u16 *l4sum = lb_l4_csum(lp, h, data_end);
	__be16 *ports = h->l4;
	__u32 na[4];

	__builtin_memcpy(na, addr, 16);
	if ((void *)(ports + 2) > data_end)
		return -1;
	if (lp->v6) {
		struct ipv6hdr *ip6 = h->l3;
		__u32 *field;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		field = which ? (__u32 *)&ip6->daddr : (__u32 *)&ip6->saddr;
		csum_replace_words(l4sum, NULL, field, na, 4);
	} else {
		struct iphdr *iph = h->l3;

		if ((void *)(iph + 1) > data_end)
			return -1;
		csum_replace_words(&iph->check, l4sum, which ? &iph->daddr : &iph->saddr, na, 1);
	}
	if (port && ports[which] != port) {
		if (l4sum)
			csum_replace16(l4sum, ports[which], port);
		ports[which] = port;
	}
	lb_udp_fixup(lp, l4sum);
	/* keep the parsed view in step for the FIB lookup */
	if (which) {
		__builtin_memcpy(lp->daddr, na, 16);
		if (port)
			lp->dport = port;
	} else {
		__builtin_memcpy(lp->saddr, na, 16);
		if (port)
			lp->sport = port;
	}
	return 0;
}

static __always_inline void lb_count(void *map, __u32 id, __u64 bytes, __u8 new_flow)
{
	struct sluice_lb_counter *c = bpf_map_lookup_elem(map, &id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
		c->new_flows += new_flow;
	}
}

/* Client -> VIP: choose a backend and DNAT to it. */
static __always_inline void lb_forward(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_hdrs *h,
				       const struct sluice_svc *svc, struct lb_scratch *sc,
				       struct lb_result *res)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_backend *be;
	__u32 bid;

	res->svc = svc->id;
	res->action = XDP_DROP;
	if (lp->frag) {
		res->reason = SR_LB_FRAGMENT;
		return;
	}
	lb_flow_key(&sc->fk, lp->saddr, lp->daddr, lp->sport, lp->dport, lp->l4_proto, lp->v6);
	bid = lb_pick(&sc->fk, svc, lp->tcp_flags, res);
	be = bid ? bpf_map_lookup_elem(&lb_backends, &bid) : NULL;
	if (!be || be->family != (lp->v6 ? 6 : 4)) {
		res->reason = SR_LB_NO_BACKEND;
		return;
	}
	res->backend = bid;
	res->reason = SR_LB_FORWARD;
	if (lb_rewrite(lp, h, 1, be->addr, be->port, data_end)) {
		res->reason = SR_LB_NO_BACKEND;
		return;
	}
	res->action = lb_fib_out(ctx, lp, &sc->fib, res);
}

/* Backend -> client: restore the VIP as the source. */
static __always_inline int lb_reply(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_hdrs *h,
				    struct lb_scratch *sc, struct lb_result *res)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_svc_key rk = {};
	struct sluice_rev *rev;

	__builtin_memcpy(rk.addr, lp->saddr, 16);
	rk.port = lp->sport;
	rk.proto = lp->l4_proto;
	rk.family = lp->v6 ? 6 : 4;
	rev = bpf_map_lookup_elem(&lb_rev, &rk);
	if (!rev) {
		rk.port = 0; /* backend of a port-wildcard service */
		rev = bpf_map_lookup_elem(&lb_rev, &rk);
		if (!rev)
			return 0;
	}
	res->svc = rev->svc_id;
	res->reason = SR_LB_REPLY;
	res->action = XDP_DROP;
	if (lp->frag)
		return 1; /* a reply we cannot restore must not leak the backend */
	if (lb_rewrite(lp, h, 0, rev->vip, rk.port ? rev->vport : 0, data_end))
		return 1;
	res->action = lb_fib_out(ctx, lp, &sc->fib, res);
	return 1;
}

/* Largest header offset the load balancer accepts; deeper packets (long
 * IPv6 extension chains) are not load-balanced. */
#define LB_MAX_OFF 1024

/* Entry point: returns 1 when the packet was for the load balancer (res
 * filled in), 0 when it goes on as ordinary traffic. */
__noinline int sluice_lb(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_result *res)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_svc *svc;
	struct lb_scratch *sc;
	struct lb_hdrs h;
	__u32 zero = 0;

	if (!lp || !res)
		return 0;
	if (lp->l3_off > LB_MAX_OFF || lp->l4_off > LB_MAX_OFF)
		return 0;
	h.l3 = data + lp->l3_off;
	h.l4 = data + lp->l4_off;
	if (h.l3 > data_end || h.l4 > data_end)
		return 0;
	sc = bpf_map_lookup_elem(&lb_scratch_map, &zero);
	if (!sc)
		return 0;

	svc = lb_find_service(lp->daddr, lp->dport, lp->l4_proto, lp->v6);
	if (svc) {
		lb_forward(ctx, lp, &h, svc, sc, res);
		return 1;
	}
	return lb_reply(ctx, lp, &h, sc, res);
}

#endif /* SLUICE_LB_H */
