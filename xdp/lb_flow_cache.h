/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lb_flow_cache.h - the NAT flow cache (lb_flow_cache, struct
 * sluice_flow_slot in sluice_maps.h says when a slot may be used): an
 * established flow's packet is translated from one per-CPU array slot
 * instead of the service, connection, backend, reverse-NAT and next-hop
 * lookups; the full path in lb.h fills the slots.
 *
 * Included by lb.h after its helpers (lb_rewrite).
 */
#ifndef SLUICE_LB_FLOW_CACHE_H
#define SLUICE_LB_FLOW_CACHE_H

/* Slot of a tuple (validated by the whole tuple: a collision costs a full
 * path, never a wrong answer).  lb_fmix: sources that differ only in their
 * last octet, the high bits of the loaded word, must not share slots. */
static __always_inline __u32 lb_fc_index(const struct lb_pkt *lp)
{
	__u32 s = lp->saddr[0] ^ lp->saddr[1] ^ lp->saddr[2] ^ lp->saddr[3];
	__u32 d = lp->daddr[0] ^ lp->daddr[1] ^ lp->daddr[2] ^ lp->daddr[3];
	__u32 ports = ((__u32)lp->sport << 16) | lp->dport;

	return lb_fmix(s ^ d * 0x9e3779b1u ^ ports * 0x85ebca6bu ^ lp->l4_proto) &
	       (LB_FC_SLOTS - 1);
}

/* The slots' clock: jiffies, which the verifier inlines into one load
 * (bpf_ktime_get_coarse_ns, a helper call on the same tick, was the largest
 * single cost of a cached packet); the coarse ns clock when libbpf found no
 * kernel config to read HZ from. */
extern unsigned int CONFIG_HZ __kconfig __weak;

static __always_inline __u64 lb_fc_clock(void)
{
	return CONFIG_HZ ? bpf_jiffies64() : bpf_ktime_get_coarse_ns();
}

/* Was then (lb_fc_clock) less than ms milliseconds ago?  In jiffies, a
 * difference of d means up to d + 1 ticks have passed: no division. */
static __always_inline int lb_fc_young(__u64 now, __u64 then, __u64 ms)
{
	if (CONFIG_HZ)
		return (now - then + 1) * 1000 <= ms * CONFIG_HZ;
	return now - then < ms * 1000000;
}

static __always_inline int lb_fc_same_tuple(const struct sluice_flow_slot *s,
					    const struct lb_pkt *lp)
{
	return s->src[0] == lp->saddr[0] && s->src[1] == lp->saddr[1] &&
	       s->src[2] == lp->saddr[2] && s->src[3] == lp->saddr[3] &&
	       s->dst[0] == lp->daddr[0] && s->dst[1] == lp->daddr[1] &&
	       s->dst[2] == lp->daddr[2] && s->dst[3] == lp->daddr[3] && s->sport == lp->sport &&
	       s->dport == lp->dport && s->proto == lp->l4_proto;
}

/* The slot for this packet's tuple, filled or not (NULL: no map memory). */
static __always_inline struct sluice_flow_slot *lb_fc_slot(const struct lb_pkt *lp)
{
	__u32 idx = lb_fc_index(lp);

	return bpf_map_lookup_elem(&lb_flow_cache, &idx);
}

/* Is slot a usable translation for this packet?  serial: lb_serial(), read
 * after the main program read the packet's generation: a slot filled under a
 * generation and a serial from different sides of a switch holds a pair no
 * packet sees again (gen flips and serial grows with every switch). */
static __always_inline int lb_fc_valid(const struct sluice_flow_slot *s, const struct lb_pkt *lp,
				       __u32 serial, __u32 ifindex, __u64 now)
{
	return s->dir && s->gen == lp->gen && s->serial == serial && s->in_ifindex == ifindex &&
	       lb_fc_young(now, s->filled, LB_NH_MAX_AGE_NS / 1000000) && lb_fc_same_tuple(s, lp);
}

/* A client -> VIP slot untouched for LB_FC_FWD_AGE_MS: look the flow's
 * connection up (fk: a key buffer), as its full path would, which refreshes
 * the entry's LRU position; the slot stays usable only while the entry
 * still names its service and backend, which is what lb_pick would answer
 * (the backend's state is fixed under the slot's serial). */
static __always_inline int lb_fc_touch(struct sluice_flow_slot *s, const struct lb_pkt *lp,
				       struct sluice_flow_key *fk, __u64 now)
{
	struct sluice_conn *conn;

	if (s->dir != LB_FC_FWD || lb_fc_young(now, s->touched, LB_FC_FWD_AGE_MS))
		return 1;
	lb_flow_key(fk, lp->saddr, lp->daddr, lp->sport, lp->dport, lp->l4_proto, lp->v6);
	conn = bpf_map_lookup_elem(&lb_conns, fk);
	if (!conn || conn->svc != s->svc || conn->backend != s->backend)
		return 0;
	s->touched = now;
	return 1;
}

/* Translate the packet from a valid slot: the same rewrite, MACs and
 * action as the full path, the same counters (res). */
static __always_inline void lb_fc_apply(struct xdp_md *ctx, struct lb_pkt *lp, struct lb_hdrs *h,
					const struct sluice_flow_slot *s, struct lb_result *res)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int fwd = s->dir == LB_FC_FWD;

	res->svc = s->svc;
	res->backend = fwd ? s->backend : 0;
	res->reason = fwd ? SR_LB_FORWARD : SR_LB_REPLY;
	res->action = XDP_DROP;
	if (lb_rewrite(lp, h, fwd, (const __u8 *)s->new_addr, s->new_port, data_end)) {
		if (fwd)
			res->reason = SR_LB_NO_BACKEND; /* as lb_forward says it */
		return;
	}
	if ((void *)(eth + 1) > data_end)
		return;
	__builtin_memcpy(eth->h_dest, s->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, s->smac, ETH_ALEN);
	if (s->out_ifindex == ctx->ingress_ifindex)
		res->action = XDP_TX;
	else
		res->action = bpf_redirect(s->out_ifindex, 0);
}

/* What the full path learnt about a flow, for lb_fc_fill. */
struct lb_fc_fill_in {
	const __u32 *src, *dst; /* the tuple as received */
	__be16 sport, dport;
	__u8 dir;
	__u16 svc, backend;
	const __u32 *new_addr;
	__be16 new_port;
	__u32 out_ifindex;
	__u64 mac_age_ns; /* the MACs came from a next-hop entry this old */
};

/* A clock value ns nanoseconds before now (jiffies rounded up: the slot
 * expires no later than its source). */
static __always_inline __u64 lb_fc_before(__u64 now, __u64 ns)
{
	if (!ns)
		return now;
	if (CONFIG_HZ)
		return now - (ns * CONFIG_HZ + 999999999ull) / 1000000000ull;
	return now - ns;
}

/* Fill slot after a full path that sent the packet (action XDP_TX or
 * XDP_REDIRECT); MACs are taken from the packet as it leaves. */
static __always_inline void lb_fc_fill(struct xdp_md *ctx, struct sluice_flow_slot *s,
				       const struct lb_pkt *lp, const struct lb_fc_fill_in *in,
				       __u32 serial, __u64 now, int action)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (!s || (action != XDP_TX && action != XDP_REDIRECT) || (void *)(eth + 1) > data_end)
		return;
	s->dir = 0; /* in case a later field could not be written */
	__builtin_memcpy(s->src, in->src, 16);
	__builtin_memcpy(s->dst, in->dst, 16);
	s->sport = in->sport;
	s->dport = in->dport;
	s->proto = lp->l4_proto;
	s->gen = lp->gen;
	s->serial = serial;
	s->in_ifindex = ctx->ingress_ifindex;
	s->out_ifindex = action == XDP_TX ? ctx->ingress_ifindex : in->out_ifindex;
	s->filled = lb_fc_before(now, in->mac_age_ns);
	s->touched = now;
	__builtin_memcpy(s->new_addr, in->new_addr, 16);
	s->new_port = in->new_port;
	s->svc = in->svc;
	s->backend = in->backend;
	__builtin_memcpy(s->dmac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(s->smac, eth->h_source, ETH_ALEN);
	s->dir = in->dir;
}

#endif /* SLUICE_LB_FLOW_CACHE_H */
