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
	__u8 gen; /* active configuration generation */
	__u8 sp_done; /* synproxy.h has seen the packet (syn_cookies services) */
	__u16 l4_len; /* IP payload bytes from l4_off on (per the IP header) */
	__u16 pad2;
};

/* Per-CPU scratch for the load balancer's larger structs: the BPF stack is
 * 512 bytes for all frames together. */
struct lb_scratch {
	struct bpf_fib_lookup fib;
	struct sluice_flow_key fk;
	__u32 in_src[4], in_dst[4], addr[4]; /* ICMP: quoted addresses, new one */
	struct sluice_svc_key key;           /* service / reverse-NAT lookups */
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

/* murmur3's finalizer: every input bit moves every output bit (also the
 * flow cache's slot index, lb_flow_cache.h). */
static __always_inline __u32 lb_fmix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
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
	return lb_fmix(h);
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

#define LB_GEN_LOOKUP(gen, name, key)                                                             \
	((gen) ? bpf_map_lookup_elem(&name##_g1, key) : bpf_map_lookup_elem(&name##_g0, key))

/* sk: a key buffer (the per-CPU scratch: stack is scarce). */
static __always_inline struct sluice_svc *lb_find_service(struct sluice_svc_key *sk,
							  const __u32 *addr, __be16 port,
							  __u8 proto, int v6, __u32 gen)
{
	struct sluice_svc *svc;

	__builtin_memcpy(sk->addr, addr, 16);
	sk->port = port;
	sk->proto = proto;
	sk->family = v6 ? 6 : 4;
	svc = LB_GEN_LOOKUP(gen, lb_services, sk);
	if (svc)
		return svc;
	sk->port = 0; /* port-wildcard service */
	return LB_GEN_LOOKUP(gen, lb_services, sk);
}

/* Pick the backend of a flow: an existing connection stays where it is
 * unless its backend is down; otherwise the Maglev table decides.  TCP SYNs
 * create no table entry, so a spoofed SYN flood cannot push established
 * flows out of the LRU: the entry is made by the handshake's ACK. */
/* A backend's entry in generation gen (ids are the same in both). */
static __always_inline struct sluice_backend *lb_backend(__u32 gen, __u32 bid)
{
	__u32 idx;

	if (!bid || bid >= SLUICE_MAX_BACKENDS)
		return NULL;
	idx = gen * SLUICE_MAX_BACKENDS + bid;
	return bpf_map_lookup_elem(&lb_backends, &idx);
}

/* lookup_only: for ICMP errors about a flow: follow the flow's entry like
 * any packet of it would, but never create or delete one (an error is not
 * a packet of the flow, and anyone can send one). */
static __always_inline __u32 lb_pick(const struct sluice_flow_key *fk, const struct sluice_svc *svc,
				     __u8 tcp_flags, __u32 gen, struct lb_result *res,
				     int lookup_only)
{
	struct sluice_conn *conn = bpf_map_lookup_elem(&lb_conns, fk);
	struct sluice_backend *be;
	__u32 bid, slot;

	int bare_syn = fk->proto == IPPROTO_TCP &&
		       (tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;

	if (svc->id >= SLUICE_MAX_SERVICES)
		return 0;
	if (conn && conn->svc == svc->id) {
		bid = conn->backend;
		be = lb_backend(gen, bid);
		/* a draining backend keeps its connections, but a new connection
		 * that happens to reuse an old 5-tuple is new: it must not land
		 * there (nor on a down one) */
		if (be && be->family &&
		    (be->state == SLUICE_BE_ACTIVE || (!bare_syn && be->state != SLUICE_BE_DOWN)))
			return bid;
		if (bare_syn)
			bpf_map_delete_elem(&lb_conns, fk);
	}
	slot = lb_flow_hash(fk) % SLUICE_RING_SIZE;
	__u32 word = (gen * SLUICE_MAX_SERVICES + svc->id) * SLUICE_RING_WORDS + slot / 4;
	__u64 *ring = bpf_map_lookup_elem(&lb_ring, &word);

	if (!ring)
		return 0;
	bid = (__u32)(*ring >> ((slot & 3) * 16)) & 0xffff;
	if (!bid)
		return 0;
	if (lookup_only)
		return bid;
	if (bare_syn) {
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
/* lb_fib_route's answer for a destination that is this node itself. */
#define LB_FIB_TO_NODE (-1)

/* fill, when not NULL, receives the next hop for the per-backend cache. */
static __always_inline int lb_fib_route(struct xdp_md *ctx, const struct lb_pkt *lp,
					struct bpf_fib_lookup *fib, struct lb_result *res,
					struct sluice_nexthop *fill)
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
		if (fill) {
			fill->out_ifindex = fib->ifindex;
			__builtin_memcpy(fill->dmac, fib->dmac, ETH_ALEN);
			__builtin_memcpy(fill->smac, fib->smac, ETH_ALEN);
			fill->filled_ns = bpf_ktime_get_coarse_ns();
		}
		if (fib->ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(fib->ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return LB_FIB_TO_NODE; /* the caller decides: see lb_reply */
	res->reason = SR_LB_FIB_FAIL;
	return XDP_DROP;
}

/* Send the rewritten packet on its way; no route (this node included)
 * drops it and counts lb_fib_fail. */
static __always_inline int lb_fib_out(struct xdp_md *ctx, const struct lb_pkt *lp,
				      struct bpf_fib_lookup *fib, struct lb_result *res,
				      struct sluice_nexthop *fill)
{
	int action = lb_fib_route(ctx, lp, fib, res, fill);

	if (action != LB_FIB_TO_NODE)
		return action;
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

/* SYN cookies for NAT services (syn_cookies = true) */
#include "synproxy.h"

/* DSR (Katran-style IP-in-IP): put an outer IPv4 (proto 4) or IPv6 (next
 * header 41) header in front of the client's untouched packet, addressed to
 * the backend, which decapsulates (tc/decap.bpf.c) and answers the client
 * directly from the VIP.  The outer source is the client's address: the
 * backend strips the header before routing, so it only has to be unique per
 * client for the fabric's ECMP hashing.  VLAN-tagged frames are not
 * encapsulated (the tags would have to move): counted as lb_encap_fail. */
static __always_inline int lb_encap(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_hdrs *h,
				    const __u8 *backend)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int v6 = lp->v6 ? 1 : 0;
	int hlen = v6 ? (int)sizeof(struct ipv6hdr) : (int)sizeof(struct iphdr);
	struct ethhdr eth_copy;
	struct ethhdr *eth = data;
	__u32 inner_len;

	if ((void *)(eth + 1) > data_end || h->l3 != data + sizeof(struct ethhdr))
		return -1;
	inner_len = (__u32)(data_end - h->l3);
	if (inner_len + hlen > 0xffff)
		return -1;
	__builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));
	if (bpf_xdp_adjust_head(ctx, -hlen))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, &eth_copy, sizeof(*eth));
	if (v6) {
		struct ipv6hdr *o = (void *)(eth + 1);
		struct ipv6hdr *in = (void *)(o + 1);

		if ((void *)(in + 1) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		__builtin_memset(o, 0, sizeof(*o));
		o->version = 6;
		o->payload_len = bpf_htons((__u16)inner_len);
		o->nexthdr = 41; /* IPv6 in IPv6 */
		o->hop_limit = 64;
		o->saddr = in->saddr;
		__builtin_memcpy(&o->daddr, backend, 16);
	} else {
		struct iphdr *o = (void *)(eth + 1);
		struct iphdr *in = (void *)(o + 1);
		__u16 *w = (__u16 *)o;
		__u32 sum = 0;

		if ((void *)(in + 1) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IP);
		o->version = 4;
		o->ihl = 5;
		o->tos = in->tos;
		o->tot_len = bpf_htons((__u16)(inner_len + sizeof(*o)));
		o->id = 0;
		o->frag_off = bpf_htons(0x4000); /* DF: the fabric must carry it whole */
		o->ttl = 64;
		o->protocol = 4; /* IP in IP */
		o->check = 0;
		o->saddr = in->saddr;
		__builtin_memcpy(&o->daddr, backend, 4);
#pragma unroll
		for (int i = 0; i < 10; i++)
			sum += w[i];
		o->check = (__u16)~csum_fold32(sum);
	}
	/* the FIB lookup is for the outer header now */
	__builtin_memcpy(lp->daddr, backend, 16);
	lp->l4_proto = v6 ? 41 : 4;
	lp->sport = 0;
	lp->dport = 0;
	return 0;
}

/* The configuration serial packets run under (sluice_state, one array
 * lookup: inlined). */
static __always_inline __u32 lb_serial(void)
{
	__u32 zero = 0;
	struct sluice_state *st = bpf_map_lookup_elem(&sluice_state, &zero);

	return st ? st->serial : 0;
}

#include "lb_flow_cache.h"

/* Send the rewritten packet to backend bid (whose address is lp->daddr
 * now): the cached next hop while it is valid, else the FIB, whose answer
 * is cached.  Same actions as lb_fib_out.  serial: lb_serial() of this
 * packet; *out_if receives the interface a redirect goes out of,
 * *mac_age_ns how old the MACs are (0: the FIB's answer now; the flow cache
 * must not keep them past the next-hop bound). */
static __always_inline int lb_nh_out(struct xdp_md *ctx, const struct lb_pkt *lp,
				     struct lb_scratch *sc, struct lb_result *res, __u32 bid,
				     __u32 serial, __u32 *out_if, __u64 *mac_age_ns)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct sluice_nexthop *nh = bpf_map_lookup_elem(&lb_nexthop, &bid);
	int action;
	__u64 age;

	sc->fib.ifindex = 0;
	*mac_age_ns = 0;
	if (!nh) {
		action = lb_fib_out(ctx, lp, &sc->fib, res, NULL);
		*out_if = sc->fib.ifindex;
		return action;
	}
	if (nh->filled_ns && nh->serial == serial && nh->in_ifindex == ctx->ingress_ifindex &&
	    nh->addr[0] == lp->daddr[0] && nh->addr[1] == lp->daddr[1] &&
	    nh->addr[2] == lp->daddr[2] && nh->addr[3] == lp->daddr[3] &&
	    (age = bpf_ktime_get_coarse_ns() - nh->filled_ns) < LB_NH_MAX_AGE_NS) {
		if ((void *)(eth + 1) > data_end)
			return XDP_DROP;
		*mac_age_ns = age;
		__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
		*out_if = nh->out_ifindex;
		if (nh->out_ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(nh->out_ifindex, 0);
	}
	nh->filled_ns = 0; /* invalid until the FIB answers */
	action = lb_fib_out(ctx, lp, &sc->fib, res, nh);
	*out_if = sc->fib.ifindex;
	if (nh->filled_ns) {
		nh->serial = serial;
		nh->in_ifindex = ctx->ingress_ifindex;
		__builtin_memcpy(nh->addr, lp->daddr, 16);
	}
	return action;
}

/* Client -> VIP: choose a backend and DNAT to it.  fc: the flow cache slot
 * to fill when the packet goes out (NULL: none). */
static __always_inline void lb_forward(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_hdrs *h,
				       const struct sluice_svc *svc, struct lb_scratch *sc,
				       struct lb_result *res, struct sluice_flow_slot *fc,
				       __u32 serial, __u64 now)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_backend *be;
	__u32 bid, out_if = 0;
	__u64 mac_age = 0;

	res->svc = svc->id;
	res->action = XDP_DROP;
	if (lp->frag) {
		res->reason = SR_LB_FRAGMENT;
		return;
	}
	lb_flow_key(&sc->fk, lp->saddr, lp->daddr, lp->sport, lp->dport, lp->l4_proto, lp->v6);
	bid = lb_pick(&sc->fk, svc, lp->tcp_flags, lp->gen, res, 0);
	be = lb_backend(lp->gen, bid);
	if (!be || be->family != (lp->v6 ? 6 : 4)) {
		res->reason = SR_LB_NO_BACKEND;
		return;
	}
	res->backend = bid;
	res->reason = SR_LB_FORWARD;
	if (svc->mode == SLUICE_MODE_DSR_IPIP) {
		__u8 baddr[16];

		__builtin_memcpy(baddr, be->addr, 16);
		if (lb_encap(ctx, lp, h, baddr)) {
			res->reason = SR_LB_ENCAP_FAIL;
			return;
		}
		res->action = lb_nh_out(ctx, lp, sc, res, bid, serial, &out_if, &mac_age);
		return;
	}
	if (lb_rewrite(lp, h, 1, be->addr, be->port, data_end)) {
		res->reason = SR_LB_NO_BACKEND;
		return;
	}
	res->action = lb_nh_out(ctx, lp, sc, res, bid, serial, &out_if, &mac_age);
	/* an established flow of a plain NAT service: cache it (a syn_cookies
	 * service translates sequence numbers per connection state) */
	if (fc && !(svc->flags & SLUICE_SVC_SYNCOOKIE) && res->reason == SR_LB_FORWARD) {
		struct lb_fc_fill_in in = {
			.src = sc->fk.src,
			.dst = sc->fk.dst,
			.sport = sc->fk.sport,
			.dport = sc->fk.dport,
			.dir = LB_FC_FWD,
			.svc = (__u16)svc->id,
			.backend = (__u16)bid,
			.new_addr = lp->daddr,
			.new_port = be->port,
			.out_ifindex = out_if,
			.mac_age_ns = mac_age,
		};

		lb_fc_fill(ctx, fc, lp, &in, serial, now, res->action);
	}
}

/* Backend -> client: restore the VIP as the source. */
static __always_inline int lb_reply(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_hdrs *h,
				    struct lb_scratch *sc, struct lb_result *res,
				    struct sluice_flow_slot *fc, __u32 serial, __u64 now)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_svc_key rk = {};
	struct sluice_rev *rev;
	__be16 sport = lp->sport;
	int action;

	__builtin_memcpy(rk.addr, lp->saddr, 16);
	rk.port = lp->sport;
	rk.proto = lp->l4_proto;
	rk.family = lp->v6 ? 6 : 4;
	rev = LB_GEN_LOOKUP(lp->gen, lb_rev, &rk);
	if (!rev) {
		rk.port = 0; /* backend of a port-wildcard service */
		rev = LB_GEN_LOOKUP(lp->gen, lb_rev, &rk);
		if (!rev)
			return 0;
	}
	res->svc = rev->svc_id;
	res->reason = SR_LB_REPLY;
	res->action = XDP_DROP;
	if (lp->frag)
		return 1; /* a reply we cannot restore must not leak the backend */
	/* syn_cookies service: the caller runs synproxy.h first */
	if ((rev->flags & SLUICE_SVC_SYNCOOKIE) && !lp->sp_done)
		return sp_stash_rev(rev, rk.port ? rev->vport : lp->sport);
	if (lb_rewrite(lp, h, 0, rev->vip, rk.port ? rev->vport : 0, data_end))
		return 1;
	action = lb_fib_route(ctx, lp, &sc->fib, res, NULL);
	if (action == LB_FIB_TO_NODE) {
		/* Not a client's flow: the node's own connection to the
		 * backend (the daemon's health checks).  Put the backend's
		 * address back and let it up the stack as ordinary traffic;
		 * only this rare case pays for the second rewrite. */
		if (lb_rewrite(lp, h, 0, rk.addr, rk.port, data_end))
			return 1;
		res->svc = 0;
		res->reason = SLUICE_PARSE_OK;
		return 0;
	}
	res->action = action;
	if (fc && !(rev->flags & SLUICE_SVC_SYNCOOKIE)) {
		struct lb_fc_fill_in in = {
			.src = (const __u32 *)rk.addr,
			.dst = lp->daddr,
			.sport = sport,
			.dport = lp->dport,
			.dir = LB_FC_REPLY,
			.svc = rev->svc_id,
			.new_addr = lp->saddr,
			.new_port = rk.port ? rev->vport : 0,
			.out_ifindex = sc->fib.ifindex,
		};

		lb_fc_fill(ctx, fc, lp, &in, serial, now, action);
	}
	return 1;
}

/* Largest header offset the load balancer accepts; deeper packets (long
 * IPv6 extension chains) are not load-balanced. */
#define LB_MAX_OFF 1024

/* Entry point: returns 1 when the packet was for the load balancer (res
 * filled in), 0 when it goes on as ordinary traffic, LB_SP_CLIENT /
 * LB_SP_BACKEND when the caller must run sluice_sp_run() (synproxy.h). */
__noinline int sluice_lb(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_result *res)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_flow_slot *fc = NULL;
	struct sluice_svc *svc;
	struct lb_scratch *sc;
	struct lb_hdrs h;
	__u32 zero = 0, serial;
	int bare_syn;
	__u64 now;

	if (!lp || !res)
		return 0;
	if (lp->l3_off > LB_MAX_OFF || lp->l4_off > LB_MAX_OFF)
		return 0;
	bare_syn = lp->l4_proto == IPPROTO_TCP &&
		   (lp->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	h.l3 = data + lp->l3_off;
	h.l4 = data + lp->l4_off;
	if (h.l3 > data_end || h.l4 > data_end)
		return 0;
	sc = bpf_map_lookup_elem(&lb_scratch_map, &zero);
	if (!sc)
		return 0;
	/* an established flow's packet: one slot of the flow cache; a bare SYN
	 * (maybe a new connection reusing the tuple) takes the full path and
	 * forgets the tuple's slot */
	serial = lb_serial();
	now = lb_fc_clock();
	if (!lp->frag) {
		fc = lb_fc_slot(lp);
		if (fc && !bare_syn && lb_fc_valid(fc, lp, serial, ctx->ingress_ifindex, now) &&
		    lb_fc_touch(fc, lp, &sc->fk, now)) {
			lb_fc_apply(ctx, lp, &h, fc, res);
			return 1;
		}
		if (fc && bare_syn) {
			if (lb_fc_same_tuple(fc, lp))
				fc->dir = 0;
			fc = NULL;
		}
	}

	svc = lb_find_service(&sc->key, lp->daddr, lp->dport, lp->l4_proto, lp->v6, lp->gen);
	if (svc) {
		/* syn_cookies service: the caller runs synproxy.h first */
		if ((svc->flags & SLUICE_SVC_SYNCOOKIE) && !lp->sp_done &&
		    lp->l4_proto == IPPROTO_TCP) {
			res->svc = svc->id;
			return LB_SP_CLIENT;
		}
		lb_forward(ctx, lp, &h, svc, sc, res,
			   svc->mode == SLUICE_MODE_NAT ? fc : NULL, serial, now);
		return 1;
	}
	return lb_reply(ctx, lp, &h, sc, res, fc, serial, now);
}


/* ---- ICMP errors about load-balanced flows ----------------------------- */

static __always_inline int lb_addr_eq(const __u32 *a, const __u32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Is this ICMP/ICMPv6 type an error that quotes the offending packet? */
static __always_inline int lb_icmp_is_error(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* An ICMP error about a NATed flow gets the same translation as the flow:
 *  - towards a VIP (e.g. "fragmentation needed" about a reply the client
 *    got from the VIP): outer destination and quoted source become the
 *    backend, and the error goes to that backend;
 *  - from the backend side about a DNATed packet (quoted destination is a
 *    backend): quoted destination becomes the VIP again, and so does the
 *    outer source when the backend itself sent the error.
 * The ICMP checksum (and for IPv4 the quoted header's checksum) are updated;
 * the quoted transport checksum is left alone, as hosts do not check it. */
__noinline int sluice_lb_icmp(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_result *res)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_svc *svc;
	struct sluice_rev *rev;
	struct lb_scratch *sc;
	__u32 zero = 0, *in_src, *in_dst;
	__be16 *in_ports, in_sport, in_dport;
	__u16 *icsum, *in_ipsum = NULL;
	__u32 *in_src_field, *in_dst_field, *out_src_field, *out_dst_field;
	__u8 *icmp, in_proto;
	__u32 l3_off, l4_off, gen;
	int nwords, v6;

	if (!lp || !res)
		return 0;
	/* bounded locals: the verifier forgets bounds of re-read fields; and
	 * deeper packets are not load-balanced, errors included */
	l3_off = lp->l3_off;
	l4_off = lp->l4_off;
	if (l3_off > LB_MAX_OFF || l4_off > LB_MAX_OFF)
		return 0;
	v6 = lp->v6 ? 1 : 0; /* read once: each read of *lp is a new unknown */
	gen = lp->gen ? 1 : 0;
	icmp = data + l4_off;
	if ((void *)(icmp + 8) > data_end)
		return 0;
	/* ICMP in IPv4, ICMPv6 in IPv6: anything else is not an error message */
	if (lp->l4_proto != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
		return 0;
	if (!lb_icmp_is_error(lp->l4_proto, icmp[0]))
		return 0;
	/* the quoted header and its ports must be inside the IP payload, not in
	 * the frame's padding */
	if (lp->l4_len < 8 + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) + 4)
		return 0;
	icsum = (__u16 *)(icmp + 2);
	if ((void *)(icsum + 1) > data_end)
		return 0;
	if (v6) {
		struct ipv6hdr *out = data + l3_off;
		struct ipv6hdr *in = (void *)(icmp + 8);

		if ((void *)(out + 1) > data_end || (void *)(in + 1) > data_end)
			return 0;
		in_proto = in->nexthdr;
		in_ports = (void *)(in + 1);
		in_src_field = (__u32 *)&in->saddr;
		in_dst_field = (__u32 *)&in->daddr;
		out_src_field = (__u32 *)&out->saddr;
		out_dst_field = (__u32 *)&out->daddr;
		nwords = 4;
	} else {
		struct iphdr *out = data + l3_off;
		struct iphdr *in = (void *)(icmp + 8);

		if ((void *)(out + 1) > data_end || (void *)(in + 1) > data_end)
			return 0;
		if (in->ihl != 5) /* options in a quoted header: leave it alone */
			return 0;
		in_proto = in->protocol;
		in_ports = (void *)(in + 1);
		in_ipsum = &in->check;
		in_src_field = &in->saddr;
		in_dst_field = &in->daddr;
		out_src_field = &out->saddr;
		out_dst_field = &out->daddr;
		nwords = 1;
	}
	if (in_proto != IPPROTO_TCP && in_proto != IPPROTO_UDP)
		return 0;
	if ((void *)(in_ports + 2) > data_end)
		return 0;
	sc = bpf_map_lookup_elem(&lb_scratch_map, &zero);
	if (!sc)
		return 0;
	/* scratch, not stack: this frame and the main program's share 512 B */
	in_src = sc->in_src;
	in_dst = sc->in_dst;
	__builtin_memset(in_src, 0, 16);
	__builtin_memset(in_dst, 0, 16);
	in_src[0] = in_src_field[0];
	in_dst[0] = in_dst_field[0];
	if (v6) {
		__builtin_memcpy(in_src, in_src_field, 16);
		__builtin_memcpy(in_dst, in_dst_field, 16);
	}
	in_sport = in_ports[0];
	in_dport = in_ports[1];

	/* towards a VIP: the quoted packet is a reply VIP -> client */
	svc = lb_find_service(&sc->key, in_src, in_sport, in_proto, v6, gen);
	if (svc && lb_addr_eq(in_src, lp->daddr)) {
		struct sluice_backend *be;
		__u16 old_ipsum = in_ipsum ? *in_ipsum : 0;
		__u32 bid, *baddr = sc->addr;

		res->svc = svc->id;
		res->reason = SR_LB_ICMP;
		res->action = XDP_DROP;
		lb_flow_key(&sc->fk, in_dst, in_src, in_dport, in_sport, in_proto, v6);
		bid = lb_pick(&sc->fk, svc, 0, gen, res, 1);
		res->new_flow = 0;
		be = lb_backend(gen, bid);
		if (!be || be->family != (v6 ? 6 : 4))
			return 1;
		res->backend = bid;
		__builtin_memcpy(baddr, be->addr, 16);
		if (svc->mode == SLUICE_MODE_DSR_IPIP) {
			/* the backend owns the VIP: the error goes to it tunnelled,
			 * untouched, like the flow's packets */
			struct lb_hdrs hh = {.l3 = data + l3_off, .l4 = icmp};

			if (lb_encap(ctx, lp, &hh, (const __u8 *)baddr)) {
				res->reason = SR_LB_ENCAP_FAIL;
				return 1;
			}
			res->action = lb_fib_out(ctx, lp, &sc->fib, res, NULL);
			return 1;
		}
		/* outer destination: IPv4 header checksum, ICMPv6 pseudo header */
		if (v6) {
			csum_replace_words(icsum, NULL, out_dst_field, baddr, 4);
		} else {
			struct iphdr *out = data + l3_off;

			if ((void *)(out + 1) > data_end)
				return 1;
			csum_replace_words(&out->check, NULL, out_dst_field, baddr, 1);
		}
		/* quoted source: its own header checksum (v4) and the ICMP sum */
		csum_replace_words(icsum, in_ipsum, in_src_field, baddr, nwords);
		if (in_ipsum)
			csum_replace16(icsum, old_ipsum, *in_ipsum);
		if (be->port && be->port != in_sport) {
			csum_replace16(icsum, in_sport, be->port);
			in_ports[0] = be->port;
		}
		__builtin_memcpy(lp->daddr, baddr, 16);
		res->action = lb_fib_out(ctx, lp, &sc->fib, res, NULL);
		return 1;
	}

	/* from the backend side: the quoted packet is client -> backend */
	struct sluice_svc_key *rk = &sc->key;

	__builtin_memcpy(rk->addr, in_dst, 16);
	rk->port = in_dport;
	rk->proto = in_proto;
	rk->family = v6 ? 6 : 4;
	rev = LB_GEN_LOOKUP(gen, lb_rev, rk);
	if (!rev) {
		rk->port = 0;
		rev = LB_GEN_LOOKUP(gen, lb_rev, rk);
		if (!rev)
			return 0;
	}
	{
		__u16 old_ipsum = in_ipsum ? *in_ipsum : 0;
		__u32 *vip = sc->addr;

		res->svc = rev->svc_id;
		res->reason = SR_LB_ICMP;
		__builtin_memcpy(vip, rev->vip, 16);
		if (lb_addr_eq(lp->saddr, in_dst)) {
			if (v6) {
				csum_replace_words(icsum, NULL, out_src_field, vip, 4);
			} else {
				struct iphdr *out = data + l3_off;

				if ((void *)(out + 1) > data_end)
					return 1;
				csum_replace_words(&out->check, NULL, out_src_field, vip, 1);
			}
			__builtin_memcpy(lp->saddr, vip, 16);
		}
		csum_replace_words(icsum, in_ipsum, in_dst_field, vip, nwords);
		if (in_ipsum)
			csum_replace16(icsum, old_ipsum, *in_ipsum);
		if (rk->port && rev->vport != in_dport) {
			csum_replace16(icsum, in_dport, rev->vport);
			in_ports[1] = rev->vport;
		}
		res->action = lb_fib_out(ctx, lp, &sc->fib, res, NULL);
	}
	return 1;
}

#endif /* SLUICE_LB_H */
