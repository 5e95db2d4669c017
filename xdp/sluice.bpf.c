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

static __always_inline void count_aux(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&aux_counters, &what);

	if (v)
		(*v)++;
}

/* Malformed packets cannot be legitimate traffic to this node: drop them.
 * Everything else that reaches a final reason is handed to the stack. */
static __always_inline __u32 action_for(__u32 reason)
{
	return reason >= SR_MAL_ETH ? XDP_DROP : XDP_PASS;
}

/* Hand the packet up with the metadata tag in front of it.  A driver without
 * metadata room still gets the packet, untagged and counted. */
static __always_inline int pass_tagged(struct xdp_md *ctx, __u32 reason, __u8 flags)
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
	m->flags = flags;
	m->identity = 0;
	m->service = 0;
	m->reason = reason;
	m->pad = 0;
	return XDP_PASS;
}

static __always_inline struct sluice_verdict *lookup_source(struct sluice_pkt *p, int v6)
{
	if (v6) {
		struct sluice_lpm_v6_key k6 = {.prefixlen = 128};

		__builtin_memcpy(k6.addr, p->saddr, 16);
		return bpf_map_lookup_elem(&verdict_v6, &k6);
	}
	struct sluice_lpm_v4_key k4 = {.prefixlen = 32, .addr = p->saddr[0]};

	return bpf_map_lookup_elem(&verdict_v4, &k4);
}

static __always_inline int finish(struct xdp_md *ctx, __u32 reason, __u64 bytes, __u8 flags)
{
	__u32 action = action_for(reason);

	count(reason, action, bytes);
	if (action == XDP_PASS)
		return pass_tagged(ctx, reason, flags);
	return action;
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct sluice_pkt p = {};
	struct sluice_verdict *v;
	__u8 flags = 0;
	int v6, rc;

	rc = sluice_parse_l2(data, data_end, &p);
	if (rc != SLUICE_PARSE_OK)
		return finish(ctx, rc, bytes, 0);

	if (p.eth_proto == ETH_P_IP) {
		v6 = 0;
		rc = sluice_parse_ipv4(data_end, &p);
	} else if (p.eth_proto == ETH_P_IPV6) {
		v6 = 1;
		flags |= SMF_IPV6;
		rc = sluice_parse_ipv6(data_end, &p);
	} else {
		return finish(ctx, SR_NON_IP, bytes, 0);
	}
	if (rc != SLUICE_PARSE_OK)
		return finish(ctx, rc, bytes, flags);

	/* The source decides first: a blocked flood costs one lookup. */
	v = lookup_source(&p, v6);
	if (v && v->action == SLUICE_ACT_BLOCK)
		return finish(ctx, SR_BLOCKLIST, bytes, flags);
	if (v && v->action == SLUICE_ACT_ALLOW)
		flags |= SMF_ALLOWLISTED;

	if (v6) {
		rc = sluice_parse_ipv6_ext(data_end, &p);
		if (rc != SLUICE_PARSE_OK)
			return finish(ctx, rc, bytes, flags);
	}
	if (p.frag == SLUICE_FRAG_LATER)
		return finish(ctx, SR_FRAGMENT, bytes, flags | SMF_FRAGMENT);
	if (p.frag == SLUICE_FRAG_FIRST)
		flags |= SMF_FRAGMENT;

	rc = sluice_parse_l4(data_end, &p);
	if (rc != SLUICE_PARSE_OK && rc != SR_L4_OTHER)
		return finish(ctx, rc, bytes, flags);
	if (flags & SMF_ALLOWLISTED)
		return finish(ctx, SR_ALLOWLISTED, bytes, flags);
	return finish(ctx, rc, bytes, flags);
}
