// SPDX-License-Identifier: GPL-2.0
/*
 * sluice.bpf.c - the XDP program on the node's uplink.
 *
 * Per packet: parse L2 + fixed L3 header, judge the source against the
 * compiled verdict trie (one lookup: allowlist precedence is compiled in),
 * then parse the rest, count the packet once under (reason, action), and tag
 * every packet handed to the stack with struct sluice_meta for TC.
 */
#include "parsing.h"
#include "lb.h"
#include "syncookie.h"
#include "events.h"
#include "syn_bucket.h"
#include "fast_lookup.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline void count(__u32 reason, __u32 action, __u64 bytes)
{
	__u32 slot = reason * SLUICE_ACTION_MAX + action;
	struct sluice_counter *c = bpf_map_lookup_elem(&counters, &slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void count_list(__u32 list_id, __u64 bytes)
{
	__u32 k = list_id & (SLUICE_MAX_LISTS - 1);
	struct sluice_counter *c = bpf_map_lookup_elem(&list_counters, &k);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void count_aux(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&aux_counters, &what);

	if (v)
		(*v)++;
}

static __always_inline void count_syn(void)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&syn_seen, &zero);

	if (v)
		(*v)++;
}

/* A blocked TCP segment is judged before L4 is parsed: peek at its flags,
 * for the SYN counter only. */
static __always_inline void count_blocked_syn(const struct sluice_pkt *p, void *data_end)
{
	const __u8 *flags = (const __u8 *)p->l4 + 13;

	if ((const void *)(flags + 1) <= data_end && (*flags & 0x12) == 0x02)
		count_syn();
}

/* Blocked sources and malformed packets are dropped: a malformed packet
 * cannot be legitimate traffic to this node.  Everything else that reaches
 * a final reason here is handed to the stack.  (Load-balanced packets carry
 * their own action in struct lb_result.) */
static __always_inline __u32 action_for(__u32 reason)
{
	if (reason == SR_BLOCKLIST || reason == SR_SYN_RATE ||
	    (reason >= SR_MAL_ETH && reason <= SR_MAL_ICMP))
		return XDP_DROP;
	if (reason == SR_COOKIE_INVALID || reason == SR_COOKIE_UNSUPPORTED)
		return XDP_DROP;
	if (reason == SR_COOKIE_SENT)
		return XDP_TX; /* the frame is our cookie SYN-ACK now */
	return XDP_PASS;
}

/* Hand the packet up with the metadata tag in front of it.  A driver without
 * metadata room still gets the packet, untagged and counted. */
/* tag: bits 0-7 the metadata flags, bits 16-31 the source's identity. */
static __always_inline int pass_tagged(struct xdp_md *ctx, __u32 reason, __u32 tag,
				       __u16 service)
{
	struct sluice_meta *m;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m))) {
		count_aux(SA_META_FAILED);
		return XDP_PASS;
	}
	m = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(m + 1) > data) {
		count_aux(SA_META_FAILED);
		return XDP_PASS;
	}
	m->magic = SLUICE_META_MAGIC;
	m->version = SLUICE_META_VERSION;
	m->flags = (__u8)tag;
	m->identity = (__u16)(tag >> 16);
	m->service = service;
	m->reason = reason;
	m->pad = 0;
	return XDP_PASS;
}

/* The source's identity class (0 = unknown), for the tag TC reads.  A
 * global function: its key buffers do not add to the main program's stack,
 * which the load balancer's frames share. */
struct addr16 {
	__u32 w[4]; /* the verifier sizes a global function's memory by its type */
};

__noinline __u32 sluice_identity(const struct addr16 *src, __u32 v6, __u32 gen)
{
	struct sluice_ident *id;
	const __u32 *saddr;

	if (!src)
		return 0;
	saddr = src->w;
	if (v6) {
		struct sluice_lpm_v6_key k6 = {.prefixlen = 128};

		__builtin_memcpy(k6.addr, saddr, 16);
		id = gen ? bpf_map_lookup_elem(&ident_v6_g1, &k6) : bpf_map_lookup_elem(&ident_v6_g0, &k6);
	} else {
		struct sluice_lpm_v4_key k4 = {.prefixlen = 32, .addr = saddr[0]};

		id = gen ? bpf_map_lookup_elem(&ident_v4_g1, &k4) : bpf_map_lookup_elem(&ident_v4_g0, &k4);
	}
	return id ? id->identity & 0xffff : 0;
}

/* A dropped SYN counts towards its source's auto-block threshold; past it,
 * one request goes to the daemon (dedicated ring buffer, not sampled).  A
 * full ring leaves the bucket unmarked: the next drop tries again. */
static __always_inline void sluice_syn_auto(struct sluice_syn_bucket *b,
					    const struct sluice_syn_key *k, __u64 now)
{
	__u32 zero = 0;
	struct sluice_auto_cfg *cfg = bpf_map_lookup_elem(&syn_auto, &zero);
	struct sluice_autoblock_req *r;

	if (!cfg || !syn_bucket_note_drop(b, now, cfg))
		return;
	r = bpf_ringbuf_reserve(&autoblock_rb, sizeof(*r), 0);
	if (!r) {
		count_aux(SA_AUTOBLOCK_LOST);
		return;
	}
	r->ts_ns = now;
	r->family = k->family;
	r->drops = b->drops;
	__builtin_memcpy(r->addr, k->addr, sizeof(r->addr));
	bpf_ringbuf_submit(r, 0);
	b->reported_ns = now ? now : 1;
	count_aux(SA_AUTOBLOCK_REQ);
}

/* Token bucket of a SYN's source, with its identity's rate and burst:
 * 1 = over the limit (drop).  Global: verified once, own stack. */
__noinline int sluice_syn_guard(const struct addr16 *src, __u32 v6, __u32 gen)
{
	struct sluice_syn_key k = {};
	struct sluice_syn_bucket *b;
	struct sluice_syn_limit *lim;
	__u32 idx, identity;
	__u64 now;

	if (!src)
		return 0;
	identity = sluice_identity(src, v6, gen) & (SLUICE_SYN_LIMITS - 1);
	idx = gen * SLUICE_SYN_LIMITS + identity;
	lim = bpf_map_lookup_elem(&syn_limits, &idx);
	if (!lim || !lim->rate)
		return 0;
	k.addr[0] = src->w[0];
	if (v6)
		k.addr[1] = src->w[1]; /* the /64 */
	k.family = v6 ? 6 : 4;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&syn_buckets, &k);
	if (!b) {
		struct sluice_syn_bucket nb = {
			.milli_tokens = (__u64)lim->burst * 1000 - 1000, .last_ns = now};

		bpf_map_update_elem(&syn_buckets, &k, &nb, BPF_ANY);
		return 0;
	}
	if (!syn_bucket_take(b, now, lim->rate, lim->burst))
		return 0;
	sluice_syn_auto(b, &k, now);
	return 1;
}

/* The active generation, read once per packet; *lb_on: does it have any
 * service (without one, traffic pays no load-balancer lookups at all);
 * *flood: SMF_FLOOD_MODE while the daemon declares a SYN flood. */
static __always_inline __u32 active_gen(__u32 *lb_on, __u32 *flood)
{
	__u32 zero = 0, gen;
	struct sluice_state *st = bpf_map_lookup_elem(&sluice_state, &zero);

	if (!st) {
		*lb_on = 0;
		*flood = 0;
		return 0;
	}
	gen = st->gen ? 1 : 0;
	*lb_on = st->has_services[gen];
	*flood = st->flood_mode ? SMF_FLOOD_MODE : 0;
	return gen;
}

/* Only packets handed to the stack pay the identity lookup (TC needs it;
 * dropped and transmitted packets do not). */
static __always_inline __u32 tag_of(__u32 flags, struct sluice_pkt *p, int v6, __u32 gen)
{
	__u32 tag = flags & 0xff & ~SMF_HAVE_L3;

	if (flags & SMF_HAVE_L3)
		tag |= sluice_identity((const struct addr16 *)p->saddr, (__u32)v6, gen) << 16;
	return tag;
}

/* A sampled drop event (one subprogram, not inlined at every exit). */
static __noinline void emit_drop(struct xdp_md *ctx, const struct sluice_pkt *p, __u32 reason,
				 __u32 v6, __u32 list_id)
{
	struct sluice_event *e = ev_reserve(reason < SR_REASON_MAX ? reason : 0);

	if (!e)
		return;
	e->type = SE_DROP;
	e->reason = (__u16)reason;
	e->list_id = (__u16)list_id;
	e->ifindex = ctx->ingress_ifindex;
	if (p->l3 && reason != SR_MAL_ETH && reason != SR_MAL_VLAN && reason != SR_MAL_VLAN_DEPTH &&
	    !(reason >= SR_MAL_IPV4_TRUNC && reason <= SR_MAL_IPV6_PLEN)) {
		e->family = v6 ? 6 : 4;
		e->proto = p->l4_proto;
		__builtin_memcpy(e->saddr, p->saddr, 16);
		__builtin_memcpy(e->daddr, p->daddr, 16);
		e->sport = p->sport;
		e->dport = p->dport;
		/* a blocked source is judged before L4 is parsed: read the ports
		 * here, for the event only */
		if (!e->sport && !p->frag &&
		    (p->l4_proto == IPPROTO_TCP || p->l4_proto == IPPROTO_UDP)) {
			__be16 *ports = p->l4;
			void *data_end = (void *)(long)ctx->data_end;

			if ((void *)(ports + 2) <= data_end) {
				e->sport = ports[0];
				e->dport = ports[1];
			}
		}
	}
	ev_submit(e);
}

/* list_id: the list that decided a SR_BLOCKLIST drop (for its event). */
static __always_inline int finish_list(struct xdp_md *ctx, __u32 reason, __u64 bytes,
				       __u32 flags, struct sluice_pkt *p, int v6, __u32 gen,
				       __u32 list_id)
{
	__u32 action = action_for(reason);

	count(reason, action, bytes);
	if (action == XDP_DROP)
		emit_drop(ctx, p, reason, (__u32)v6, list_id);
	if (action == XDP_PASS)
		return pass_tagged(ctx, reason, tag_of(flags, p, v6, gen), 0);
	return action;
}

static __always_inline int finish(struct xdp_md *ctx, __u32 reason, __u64 bytes, __u32 flags,
				  struct sluice_pkt *p, int v6, __u32 gen)
{
	return finish_list(ctx, reason, bytes, flags, p, v6, gen, 0);
}

/* Sampled new-flow and load-balancer drop events. */
static __noinline void emit_lb(struct xdp_md *ctx, const struct sluice_pkt *p,
			       const struct lb_result *res, __u32 v6)
{
	struct sluice_event *e = ev_reserve(res->reason < SR_REASON_MAX ? res->reason : 0);

	if (!e)
		return;
	e->type = res->action == XDP_DROP ? SE_DROP : SE_NEW_FLOW;
	e->reason = (__u16)res->reason;
	e->ifindex = ctx->ingress_ifindex;
	e->family = v6 ? 6 : 4;
	e->proto = p->l4_proto;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->sport = p->sport;
	e->dport = p->dport;
	e->svc = res->svc;
	e->backend = res->backend;
	ev_submit(e);
}

/* Count a load-balanced packet (verdict, service, backend) and send it. */
static __always_inline int lb_finish(struct xdp_md *ctx, const struct lb_result *res,
				     __u64 bytes, __u32 flags, struct sluice_pkt *p, int v6, __u32 gen)
{
	count(res->reason, res->action, bytes);
	if (res->new_flow || res->action == XDP_DROP)
		emit_lb(ctx, p, res, (__u32)v6);
	if (res->svc)
		lb_count(&lb_svc_stats, res->svc, bytes, res->new_flow);
	if (res->backend)
		lb_count(&lb_backend_stats, res->backend, bytes, res->new_flow);
	if (res->action == XDP_PASS)
		return pass_tagged(ctx, res->reason, tag_of(flags, p, v6, gen), (__u16)res->svc);
	return res->action;
}

/* Global, so the verifier checks the walk once rather than once per path
 * through the parser before it. */
__noinline int sluice_xdp_ext_walk(struct xdp_md *ctx, struct sluice_ext_walk *w)
{
	return sluice_ext_walk_run((void *)(long)ctx->data, (void *)(long)ctx->data_end, w);
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct sluice_pkt p = {};
	struct sluice_verdict *v;
	__u32 lb_on, flood;
	__u32 gen = active_gen(&lb_on, &flood);
	__u32 flags = flood; /* metadata flags | identity << 16 */
	int v6 = 0, rc;

	rc = sluice_parse_l2(data, data_end, &p);
	if (rc != SLUICE_PARSE_OK)
		return finish(ctx, rc, bytes, flags, &p, v6, gen);

	if (p.eth_proto == ETH_P_IP) {
		v6 = 0;
		rc = sluice_parse_ipv4(data_end, &p);
	} else if (p.eth_proto == ETH_P_IPV6) {
		v6 = 1;
		flags |= SMF_IPV6;
		rc = sluice_parse_ipv6(data_end, &p);
	} else {
		return finish(ctx, SR_NON_IP, bytes, flags, &p, v6, gen);
	}
	if (rc != SLUICE_PARSE_OK)
		return finish(ctx, rc, bytes, flags, &p, v6, gen);

	/* The source decides first: a blocked flood costs one lookup. */
	v = lookup_source(&p, v6, gen);
	if (v && v->action == SLUICE_ACT_BLOCK) {
		count_list(v->list_id, bytes);
		/* flood mode's rate is every SYN that arrives, blocked or not:
		 * auto-blocking a flood must not make it look over */
		if (p.l4_proto == IPPROTO_TCP && p.frag != SLUICE_FRAG_LATER)
			count_blocked_syn(&p, data_end);
		return finish_list(ctx, SR_BLOCKLIST, bytes, flags, &p, v6, gen, v->list_id);
	}
	if (v && v->action == SLUICE_ACT_ALLOW) {
		count_list(v->list_id, bytes);
		flags |= SMF_ALLOWLISTED;
	}
	/* from here on, a packet handed to the stack carries its identity */
	flags |= SMF_HAVE_L3;

	if (v6) {
		struct sluice_ext_walk w = {
			.l4_off = (__u32)(p.l4 - data),
			.l4_len = p.l4_len,
			.l4_proto = p.l4_proto,
		};

		rc = sluice_xdp_ext_walk(ctx, &w);
		if (rc != SLUICE_PARSE_OK)
			return finish(ctx, rc, bytes, flags, &p, v6, gen);
		/* the call may not have changed the packet, but the verifier
		 * wants the pointers taken afresh */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		p.l4 = data + (w.l4_off & SLUICE_EXT_OFF_MASK);
		p.l4_len = w.l4_len;
		p.l4_proto = w.l4_proto;
		p.frag = w.frag;
	}
	if (p.frag == SLUICE_FRAG_LATER)
		return finish(ctx, SR_FRAGMENT, bytes, flags | SMF_FRAGMENT, &p, v6, gen);
	if (p.frag == SLUICE_FRAG_FIRST)
		flags |= SMF_FRAGMENT;

	rc = sluice_parse_l4(data_end, &p);
	if (rc != SLUICE_PARSE_OK && rc != SR_L4_OTHER)
		return finish(ctx, rc, bytes, flags, &p, v6, gen);

	/* a new connection's SYN pays against its source's bucket (allowlisted
	 * sources are exempt); every SYN is counted for the daemon's flood-mode
	 * rate (blocked ones above) */
	if (p.l4_proto == IPPROTO_TCP && (p.tcp_flags & 0x12) == 0x02) {
		count_syn();
		if (!(flags & SMF_ALLOWLISTED) &&
		    sluice_syn_guard((const struct addr16 *)p.saddr, (__u32)v6, gen))
			return finish(ctx, SR_SYN_RATE, bytes, flags, &p, v6, gen);
	}

	/* SYN cookies for protected local services (xdp/syncookie.h), only
	 * when this generation protects one in a mode that is on now */
	if (rc == SLUICE_PARSE_OK && p.l4_proto == IPPROTO_TCP && cookie_gen_on(gen, flood)) {
		struct cookie_pkt cp = {
			.l3_off = (__u16)(p.l3 - data),
			.l4_off = (__u16)(p.l4 - data),
			.sport = p.sport,
			.dport = p.dport,
			.v6 = (__u8)v6,
			.gen = (__u8)(gen | (flood ? COOKIE_GEN_FLOOD : 0)),
			.tcp_flags = p.tcp_flags,
			.plain = !p.frag && p.l4 - p.l3 == (v6 ? 40 : 20),
		};
		int cr;

		__builtin_memcpy(cp.saddr, p.saddr, 16);
		__builtin_memcpy(cp.daddr, p.daddr, 16);
		cr = sluice_syncookie(ctx, &cp);
		/* the call may change the packet: pointers taken afresh */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		p.l3 = data + (cp.l3_off & SLUICE_EXT_OFF_MASK);
		p.l4 = data + (cp.l4_off & SLUICE_EXT_OFF_MASK);
		if (cr != SLUICE_PARSE_OK)
			return finish(ctx, (__u32)cr, bytes, flags, &p, v6, gen);
	}

	if (rc == SLUICE_PARSE_OK && lb_on) {
		struct lb_result res = {};
		struct lb_pkt lp = {
			.l3_off = (__u16)(p.l3 - data),
			.l4_off = (__u16)(p.l4 - data),
			.sport = p.sport,
			.dport = p.dport,
			.eth_proto = p.eth_proto,
			.l4_proto = p.l4_proto,
			.v6 = (__u8)v6,
			.tcp_flags = p.tcp_flags,
			.frag = p.frag,
			.gen = (__u8)gen,
			.l4_len = (__u16)p.l4_len,
		};
		int handled = 0;

		__builtin_memcpy(lp.saddr, p.saddr, 16);
		__builtin_memcpy(lp.daddr, p.daddr, 16);
		if (p.l4_proto == IPPROTO_TCP || p.l4_proto == IPPROTO_UDP)
			handled = sluice_lb(ctx, &lp, &res);
		else if (!p.frag)
			handled = sluice_lb_icmp(ctx, &lp, &res);
		/* syn_cookies services: their handshake first (xdp/synproxy.h) */
		if (handled == LB_SP_CLIENT || handled == LB_SP_BACKEND)
			handled = sluice_sp_run(ctx, &lp, &res, handled);
		if (handled)
			return lb_finish(ctx, &res, bytes, flags, &p, v6, gen);
	}
	if (flags & SMF_ALLOWLISTED)
		return finish(ctx, SR_ALLOWLISTED, bytes, flags, &p, v6, gen);
	return finish(ctx, rc, bytes, flags, &p, v6, gen);
}
