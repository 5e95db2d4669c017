// SPDX-License-Identifier: GPL-2.0
/*
 * policy.bpf.c - the TC half of sluice: pod-aware policy and accounting.
 *
 *  sluice_tc_uplink   clsact ingress on the uplink: reads the tag the XDP
 *                     program put in front of the packet (untagged or forged
 *                     -> identity "unknown", never trusted), enforces the
 *                     destination pod's ingress policy, and carries the tag
 *                     on in skb->mark (layout: SLUICE_MARK in sluice_maps.h).
 *  sluice_tc_pod_in   clsact ingress on a pod's host-side veth (the pod's
 *                     transmit side): tx accounting and egress policy.
 *  sluice_tc_pod_out  clsact egress on the same veth (the pod's receive
 *                     side): rx accounting.
 *  sluice_tc_cgroup   clsact egress on the uplink: the node's own traffic
 *                     by the cgroup of the socket that sent it (workloads),
 *                     and the tx counters of hostNetwork workloads (pods
 *                     with a cgroup); their ingress policy and rx counters
 *                     are in sluice_tc_uplink, by the receiving socket.
 */
#include "parsing.h"
#include "events.h"

#include <linux/pkt_cls.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct tc_pkt {
	__u32 saddr[4], daddr[4];
	__u16 sport, dport; /* host order, 0 without ports */
	__u8 proto;
	__u8 v6;
};

static __always_inline void tc_count(__u32 reason, __u64 bytes)
{
	struct sluice_counter *c = bpf_map_lookup_elem(&tc_counters, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline __u32 tc_active_gen(void)
{
	__u32 zero = 0;
	struct sluice_state *st = bpf_map_lookup_elem(&sluice_state, &zero);

	return st && st->gen ? 1 : 0;
}

/* The shared extension-header walk as a global function: verified once on
 * its own, so each TC program that parses sees one state after it instead
 * of one per way through the chain. */
__noinline int sluice_tc_ext_walk(struct __sk_buff *skb, struct sluice_ext_walk *w)
{
	if (!skb)
		return SR_MAL_IPV6_EXT;
	return sluice_ext_walk_run((void *)(long)skb->data, (void *)(long)skb->data_end, w);
}

/* Addresses, protocol and ports; -1 when the packet is not IP (or is
 * malformed: the XDP program already dropped those on the uplink).  IPv6
 * extension headers are walked (parsing.h) so that the protocol and ports
 * are those of the upper-layer header; a chain that is malformed or longer
 * than SLUICE_MAX_IPV6_EXT leaves protocol 0 ("unknown") without ports,
 * counted as v6_ext_bad: only rules without protocol and ports match it. */
static __always_inline int tc_parse(struct __sk_buff *skb, struct tc_pkt *t)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sluice_pkt p = {};

	if (sluice_parse_l2(data, data_end, &p) != SLUICE_PARSE_OK)
		return -1;
	if (p.eth_proto == ETH_P_IP) {
		if (sluice_parse_ipv4(data_end, &p) != SLUICE_PARSE_OK)
			return -1;
	} else if (p.eth_proto == ETH_P_IPV6) {
		if (sluice_parse_ipv6(data_end, &p) != SLUICE_PARSE_OK)
			return -1;
		t->v6 = 1;
		if (sluice_ipv6_is_ext(p.l4_proto)) {
			struct sluice_ext_walk w = {
				.l4_off = (__u32)(p.l4 - data),
				.l4_len = p.l4_len,
				.l4_proto = p.l4_proto,
			};

			if (sluice_tc_ext_walk(skb, &w) != SLUICE_PARSE_OK) {
				tc_count(STR_V6_EXT_BAD, skb->len);
				__builtin_memcpy(t->saddr, p.saddr, 16);
				__builtin_memcpy(t->daddr, p.daddr, 16);
				t->proto = 0;
				return 0;
			}
			/* data may not be re-read after a global call: the
			 * walk's offset is rebased on fresh packet pointers */
			data = (void *)(long)skb->data;
			data_end = (void *)(long)skb->data_end;
			p.l4 = data + (w.l4_off & SLUICE_EXT_OFF_MASK);
			p.l4_len = w.l4_len;
			p.l4_proto = w.l4_proto;
			p.frag = w.frag;
		}
	} else {
		return -1;
	}
	__builtin_memcpy(t->saddr, p.saddr, 16);
	__builtin_memcpy(t->daddr, p.daddr, 16);
	t->proto = p.l4_proto;
	if (!p.frag && sluice_parse_l4(data_end, &p) == SLUICE_PARSE_OK &&
	    (p.l4_proto == IPPROTO_TCP || p.l4_proto == IPPROTO_UDP)) {
		t->sport = bpf_ntohs(p.sport);
		t->dport = bpf_ntohs(p.dport);
	}
	return 0;
}

static __always_inline int prefix_match(const __u8 *rule_addr, __u8 plen, const __u32 *addr)
{
	const __u32 *ra = (const __u32 *)rule_addr;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		int bits = (int)plen - 32 * i;
		__u32 mask;

		if (bits <= 0)
			break;
		mask = bits >= 32 ? 0xffffffffu : bpf_htonl(~((1u << (32 - bits)) - 1));
		if ((addr[i] & mask) != (ra[i] & mask))
			return 0;
	}
	return 1;
}

static __always_inline int rule_match(const struct sluice_rule *r, __u32 identity,
				      const __u32 *peer, int v6, __u8 proto, __u16 port)
{
	if (r->identity && r->identity != identity)
		return 0;
	if (r->proto && r->proto != proto)
		return 0;
	if (r->port_hi && (port < r->port_lo || port > r->port_hi))
		return 0;
	if (r->family) {
		if (r->family != (v6 ? 6 : 4))
			return 0;
		if (!prefix_match(r->addr, r->plen, peer))
			return 0;
	}
	return 1;
}

/* 1 = allowed.  Rules are allow rules; the pod's default decides the rest. */
static __always_inline int policy_allows(const struct sluice_rule *rules, __u8 n, __u8 dflt,
					 __u32 identity, const __u32 *peer, int v6, __u8 proto,
					 __u16 port)
{
	/* a bounded loop, not unrolled: 16 copies of the matcher would only
	 * make the program bigger */
	for (int i = 0; i < SLUICE_MAX_RULES; i++) {
		if (i >= n)
			break;
		if (rule_match(&rules[i], identity, peer, v6, proto, port))
			return 1;
	}
	return dflt;
}

static __noinline void emit_deny(struct __sk_buff *skb, const struct tc_pkt *t, __u32 reason,
				 __u32 pod)
{
	struct sluice_event *e = ev_reserve(SLUICE_EV_SLOT_TC + (reason & 0xf));

	if (!e)
		return;
	e->type = SE_POLICY_DENY;
	e->reason = (__u16)reason;
	e->ifindex = skb->ifindex;
	e->family = t->v6 ? 6 : 4;
	e->proto = t->proto;
	__builtin_memcpy(e->saddr, t->saddr, 16);
	__builtin_memcpy(e->daddr, t->daddr, 16);
	e->sport = bpf_htons(t->sport);
	e->dport = bpf_htons(t->dport);
	e->pod = pod;
	ev_submit(e);
}

static __always_inline struct sluice_pod_stats *pod_stats_of(__u32 pod)
{
	struct sluice_pod_stats *ps = bpf_map_lookup_elem(&pod_stats, &pod);

	if (!ps) {
		struct sluice_pod_stats zero = {};

		bpf_map_update_elem(&pod_stats, &pod, &zero, BPF_NOEXIST);
		ps = bpf_map_lookup_elem(&pod_stats, &pod);
	}
	return ps;
}


/* Is the packet for this node (a local route), not one it forwards?  The
 * FIB says: a local destination is "not forwarded"; with forwarding off on
 * the uplink nothing is forwarded, so whatever is not dropped is local. */
static __always_inline int to_this_node(struct __sk_buff *skb, const struct tc_pkt *t)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	fib.family = t->v6 ? AF_INET6 : AF_INET;
	fib.l4_protocol = t->proto;
	fib.sport = bpf_htons(t->sport);
	fib.dport = bpf_htons(t->dport);
	fib.ifindex = skb->ingress_ifindex ? skb->ingress_ifindex : skb->ifindex;
	if (t->v6) {
		__builtin_memcpy(fib.ipv6_src, t->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, t->daddr, 16);
	} else {
		fib.ipv4_src = t->saddr[0];
		fib.ipv4_dst = t->daddr[0];
	}
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	return rc == BPF_FIB_LKUP_RET_NOT_FWDED || rc == BPF_FIB_LKUP_RET_FWD_DISABLED;
}

/* A socket's cgroup, read from the kernel's own structures: TC programs
 * may not call bpf_sk_cgroup_id() / bpf_sk_ancestor_cgroup_id() (6.18 gives
 * them to cgroup and socket programs only), so the socket from
 * bpf_sk_lookup_*() is cast to the kernel's struct sock (bpf_rdonly_cast)
 * and sk->sk_cgrp_data.cgroup, cgroup->level, ->ancestors[] and ->kn->id
 * read with CO-RE offsets (libbpf resolves them against the kernel's BTF).
 * Reads of kernel memory need CAP_PERFMON, which the daemon has (root). */
struct kernfs_node___sl {
	__u64 id;
} __attribute__((preserve_access_index));
struct cgroup___sl {
	int level;
	struct kernfs_node___sl *kn;
	struct cgroup___sl *ancestors[0];
} __attribute__((preserve_access_index));
struct sock_cgroup_data___sl {
	struct cgroup___sl *cgroup;
} __attribute__((preserve_access_index));
struct sock___sl {
	struct sock_cgroup_data___sl sk_cgrp_data;
} __attribute__((preserve_access_index));

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* cgroup id of a cgroup at kernel address cg (0 if unreadable) */
static __always_inline __u64 cgroup_id_at(__u64 cg)
{
	__u64 kn = 0, id = 0;

	if (!cg)
		return 0;
	bpf_probe_read_kernel(&kn, sizeof(kn), (void *)(cg + bpf_core_field_offset(struct cgroup___sl, kn)));
	if (kn)
		bpf_probe_read_kernel(&id, sizeof(id),
				      (void *)(kn + bpf_core_field_offset(struct kernfs_node___sl, id)));
	return id;
}

/* The workload of the socket's cgroup or its deepest ancestor in
 * hostwl_cgroups; 0 if none. */
static __always_inline __u32 sock_workload(struct bpf_sock *sk)
{
	struct sock___sl *s = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct sock___sl));
	__u64 cg = 0, anc_off = bpf_core_field_offset(struct cgroup___sl, ancestors);
	int level = 0;

	bpf_probe_read_kernel(&cg, sizeof(cg), __builtin_preserve_access_index(&s->sk_cgrp_data.cgroup));
	if (!cg)
		return 0;
	bpf_probe_read_kernel(&level, sizeof(level),
			      (void *)(cg + bpf_core_field_offset(struct cgroup___sl, level)));
	if (level > SLUICE_CGROUP_DEPTH)
		level = SLUICE_CGROUP_DEPTH; /* deeper: its upper ancestors are searched */
	/* ancestors[level] is the cgroup itself; [0] the root, never a workload */
	for (int i = SLUICE_CGROUP_DEPTH; i > 0; i--) {
		__u64 a = 0, id;
		__u32 *v;

		if (i > level)
			continue;
		bpf_probe_read_kernel(&a, sizeof(a), (void *)(cg + anc_off + 8 * (__u64)i));
		id = cgroup_id_at(a);
		v = id ? bpf_map_lookup_elem(&hostwl_cgroups, &id) : NULL;
		if (v)
			return *v;
	}
	return 0;
}

/* Is any hostNetwork workload's cgroup known?  With none, node traffic is
 * plain "host" and pays no socket lookup. */
static __always_inline int hostwl_any(void)
{
	__u32 zero = 0, *n = bpf_map_lookup_elem(&hostwl_count, &zero);

	return n && *n;
}

/* The hostNetwork workload (pod id) a packet to the node is for: the
 * receiving socket's cgroup, or its deepest ancestor, in hostwl_cgroups.
 * 0: not TCP/UDP with ports, not for this node, no socket, or a socket of
 * no workload (then the packet is just "host").  Global: verified once. */
__noinline __u32 host_workload(struct __sk_buff *skb, const struct tc_pkt *t)
{
	struct bpf_sock_tuple tup = {};
	struct bpf_sock *sk;
	__u32 tlen, wl;

	if (!skb || !t || !t->dport || (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP))
		return 0;
	if (t->v6) {
		__builtin_memcpy(tup.ipv6.saddr, t->saddr, 16);
		__builtin_memcpy(tup.ipv6.daddr, t->daddr, 16);
		tup.ipv6.sport = bpf_htons(t->sport);
		tup.ipv6.dport = bpf_htons(t->dport);
		tlen = sizeof(tup.ipv6);
	} else {
		tup.ipv4.saddr = t->saddr[0];
		tup.ipv4.daddr = t->daddr[0];
		tup.ipv4.sport = bpf_htons(t->sport);
		tup.ipv4.dport = bpf_htons(t->dport);
		tlen = sizeof(tup.ipv4);
	}
	if (!to_this_node(skb, t))
		return 0;
	if (t->proto == IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	wl = sock_workload(sk);
	bpf_sk_release(sk);
	return wl;
}

/* A packet to the node for hostNetwork workload wl: its ingress policy and
 * its rx counters.  The packet is host traffic either way (mark). */
static __always_inline int workload_decide(struct __sk_buff *skb, const struct tc_pkt *t, __u32 wl,
					   __u32 identity, __u32 gen)
{
	__u32 idx = gen * SLUICE_MAX_PODS + (wl & (SLUICE_MAX_PODS - 1));
	struct sluice_pod_policy *pol = bpf_map_lookup_elem(&pod_policy, &idx);
	struct sluice_pod_stats *ps = pod_stats_of(wl);

	if (pol && pol->has_ingress &&
	    !policy_allows(pol->ingress, pol->n_ingress, pol->ingress_default_allow, identity,
			   t->saddr, t->v6, t->proto, t->dport)) {
		if (ps)
			ps->ingress_denied++;
		tc_count(STR_WORKLOAD_DENIED, skb->len);
		emit_deny(skb, t, STR_WORKLOAD_DENIED, wl);
		return TC_ACT_SHOT;
	}
	if (ps) {
		ps->rx_packets++;
		ps->rx_bytes += skb->len;
	}
	tc_count(STR_WORKLOAD_ALLOWED, skb->len);
	return TC_ACT_OK;
}

/* The uplink decision once the tag is known (trusted or not).  Global:
 * verified once instead of once per way the tag was judged. */
__noinline int uplink_decide(struct __sk_buff *skb, __u32 identity, __u32 flags, __u32 service)
{
	struct sluice_addr_key k = {};
	struct sluice_pod_policy *pol;
	struct tc_pkt t = {};
	__u32 gen = tc_active_gen(), *pod, idx;

	if (!skb)
		return TC_ACT_OK;
	if (tc_parse(skb, &t)) {
		tc_count(STR_NOT_IP, skb->len);
		return TC_ACT_OK;
	}
	__builtin_memcpy(k.addr, t.daddr, 16);
	k.family = t.v6 ? 6 : 4;
	pod = gen ? bpf_map_lookup_elem(&pod_addrs_g1, &k) : bpf_map_lookup_elem(&pod_addrs_g0, &k);
	if (!pod) {
		/* the node's own traffic: a hostNetwork workload's if a socket
		 * of one will receive it, else just "host" (never a pod's by
		 * address: hostNetwork pods share the node's addresses) */
		__u32 wl = hostwl_any() ? host_workload(skb, &t) : 0;

		if (wl && workload_decide(skb, &t, wl, identity, gen) == TC_ACT_SHOT)
			return TC_ACT_SHOT;
		skb->mark = SLUICE_MARK(identity, flags | SLUICE_MARK_HOST_FLAG, service);
		if (!wl)
			tc_count(STR_HOST, skb->len);
		return TC_ACT_OK;
	}
	idx = gen * SLUICE_MAX_PODS + (*pod & (SLUICE_MAX_PODS - 1));
	pol = bpf_map_lookup_elem(&pod_policy, &idx);
	if (pol && pol->has_ingress &&
	    !policy_allows(pol->ingress, pol->n_ingress, pol->ingress_default_allow, identity,
			   t.saddr, t.v6, t.proto, t.dport)) {
		struct sluice_pod_stats *ps = pod_stats_of(*pod);

		if (ps)
			ps->ingress_denied++;
		tc_count(STR_POD_DENIED, skb->len);
		emit_deny(skb, &t, STR_POD_DENIED, *pod);
		return TC_ACT_SHOT;
	}
	skb->mark = SLUICE_MARK(identity, flags, service);
	tc_count(STR_POD_ALLOWED, skb->len);
	return TC_ACT_OK;
}

/* Judge a metadata region of meta_len bytes: only a whole tag with our
 * magic and version is trusted; anything else means identity "unknown". */
static __always_inline int uplink_with_tag(struct __sk_buff *skb, const struct sluice_meta *m,
					   __u32 meta_len)
{
	if (meta_len != sizeof(*m)) {
		tc_count(STR_TAG_MISSING, skb->len);
		return uplink_decide(skb, 0, 0, 0);
	}
	if (m->magic != SLUICE_META_MAGIC || m->version != SLUICE_META_VERSION) {
		tc_count(m->magic == SLUICE_META_MAGIC ? STR_TAG_BAD : STR_TAG_MISSING, skb->len);
		return uplink_decide(skb, 0, 0, 0);
	}
	tc_count(STR_TAG_OK, skb->len);
	return uplink_decide(skb, m->identity, m->flags, m->service);
}

SEC("tc")
int sluice_tc_uplink(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *meta = (void *)(long)skb->data_meta;
	struct sluice_meta copy = {};
	__u32 len = (__u32)(data - meta);

	if (len == sizeof(copy)) {
		struct sluice_meta *m = meta;

		if ((void *)(m + 1) > data)
			return uplink_with_tag(skb, &copy, 0);
		copy = *m;
	}
	return uplink_with_tag(skb, &copy, len);
}

/* BPF_PROG_TEST_RUN cannot hand a TC program metadata, so the unit tests
 * drive the same validation and decision through this entry: the metadata
 * bytes in cb[0..2], their length in cb[3].  Never attached anywhere. */
SEC("tc")
int sluice_tc_uplink_cbtag(struct __sk_buff *skb)
{
	struct sluice_meta m;
	__u32 w[3] = {skb->cb[0], skb->cb[1], skb->cb[2]};

	__builtin_memcpy(&m, w, sizeof(m));
	return uplink_with_tag(skb, &m, skb->cb[3]);
}

SEC("tc")
int sluice_tc_pod_in(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, *pod = bpf_map_lookup_elem(&pod_ifindex, &ifindex);
	struct sluice_pod_stats *ps;
	struct sluice_pod_policy *pol;
	struct tc_pkt t = {};
	__u32 gen = tc_active_gen(), idx;

	if (!pod) {
		tc_count(STR_POD_UNKNOWN, skb->len);
		return TC_ACT_OK;
	}
	ps = pod_stats_of(*pod);
	idx = gen * SLUICE_MAX_PODS + (*pod & (SLUICE_MAX_PODS - 1));
	pol = bpf_map_lookup_elem(&pod_policy, &idx);
	if (pol && pol->has_egress && !tc_parse(skb, &t) &&
	    !policy_allows(pol->egress, pol->n_egress, pol->egress_default_allow, 0, t.daddr, t.v6,
			   t.proto, t.dport)) {
		if (ps)
			ps->egress_denied++;
		tc_count(STR_EGRESS_DENIED, skb->len);
		emit_deny(skb, &t, STR_EGRESS_DENIED, *pod);
		return TC_ACT_SHOT;
	}
	if (ps) {
		ps->tx_packets++;
		ps->tx_bytes += skb->len;
	}
	tc_count(STR_EGRESS_ALLOWED, skb->len);
	return TC_ACT_OK;
}

SEC("tc")
int sluice_tc_pod_out(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, *pod = bpf_map_lookup_elem(&pod_ifindex, &ifindex);
	struct sluice_pod_stats *ps;

	if (!pod)
		return TC_ACT_OK;
	ps = pod_stats_of(*pod);
	if (ps) {
		ps->rx_packets++;
		ps->rx_bytes += skb->len;
	}
	return TC_ACT_OK;
}

/* tx counters of the hostNetwork workload whose cgroup (or an ancestor of
 * it) sent the packet.  Global: verified once. */
__noinline int workload_tx(struct __sk_buff *skb, __u64 id)
{
	__u32 *v = bpf_map_lookup_elem(&hostwl_cgroups, &id);
	struct sluice_pod_stats *ps;

	if (!skb)
		return 0;
	for (int lvl = SLUICE_CGROUP_DEPTH; lvl > 0 && !v; lvl--) {
		__u64 cg = bpf_skb_ancestor_cgroup_id(skb, lvl);

		if (cg)
			v = bpf_map_lookup_elem(&hostwl_cgroups, &cg);
	}
	if (!v)
		return 0;
	ps = pod_stats_of(*v);
	if (ps) {
		ps->tx_packets++;
		ps->tx_bytes += skb->len;
	}
	return 1;
}

/* Per-workload accounting: a hostNetwork workload shares the node's
 * addresses, so only the sending socket's cgroup tells who sent a packet.
 * Never drops anything.  An entry is created on a cgroup's first packet;
 * when the table is full the packet is counted in cgroup_overflow instead,
 * so that the sum over both stays exact. */
SEC("tc")
int sluice_tc_cgroup(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	struct sluice_counter *c = bpf_map_lookup_elem(&cgroup_stats, &id);

	if (!c) {
		struct sluice_counter zero = {};
		__u32 k = 0;

		/* BPF_NOEXIST: another CPU may have made it meanwhile */
		bpf_map_update_elem(&cgroup_stats, &id, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&cgroup_stats, &id);
		if (!c)
			c = bpf_map_lookup_elem(&cgroup_overflow, &k);
	}
	if (c) {
		c->packets++;
		c->bytes += skb->len;
	}
	if (id && hostwl_any())
		workload_tx(skb, id);
	return TC_ACT_OK;
}
