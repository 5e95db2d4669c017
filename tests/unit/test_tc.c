// SPDX-License-Identifier: GPL-2.0
/*
 * test_tc.c - the TC programs (tc/policy.bpf.c) with BPF_PROG_TEST_RUN, on
 * the XDP program's output: the tag it wrote is read back, forged or short
 * tags are not trusted, every policy rule kind, the mark layout, and pod
 * accounting.  The TC object shares the XDP fixture's maps.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <string.h>

#include "harness.h"
#include "model.h"
#include "policy.skel.h"
#include "prefix.h"


struct tc_result {
	int ret;
	uint32_t mark;
};

static int tc_run(int prog_fd, const uint8_t *frame, size_t len, const void *meta, uint32_t meta_len,
		  uint32_t ifindex, struct tc_result *r)
{
	struct __sk_buff ctx = {.ifindex = ifindex};
	uint8_t out[FRAME_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx, .ctx_size_out = sizeof(ctx),
		    .repeat = 1);

	if (meta)
		memcpy(ctx.cb, meta, meta_len > 12 ? 12 : meta_len);
	ctx.cb[3] = meta_len;
	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "    TC test run: %s\n", strerror(errno));
		return -1;
	}
	r->ret = (int)opts.retval;
	r->mark = ctx.mark;
	return 0;
}

static int uplink_fd(void)
{
	return bpf_program__fd(xdp_tc_obj()->progs.sluice_tc_uplink_cbtag);
}

/* ---- a model with identities and one pod ------------------------------ */

static struct sluice_model model;
static struct identity_cfg idents[2];
static struct pod_cfg pod;
static struct policy_rule_cfg in_rules[4], eg_rules[2];

/* partner = 198.51.100.0/24 (id 1), internal = 10.0.0.0/8 (id 2); pod "web"
 * at 203.0.113.50 with the given ingress rules, default deny. */
static int set_model(const struct policy_rule_cfg *rules, size_t n, int default_allow)
{
	for (int i = 0; i < 2; i++)
		prefix_list_free(&idents[i].prefixes);
	prefix_list_free(&pod.addrs);
	memset(&model, 0, sizeof(model));
	memset(idents, 0, sizeof(idents));
	memset(&pod, 0, sizeof(pod));
	snprintf(idents[0].name, sizeof(idents[0].name), "partner");
	idents[0].id = 1;
	test_list_push(&idents[0].prefixes, "198.51.100.0/24", 0);
	snprintf(idents[1].name, sizeof(idents[1].name), "internal");
	idents[1].id = 2;
	test_list_push(&idents[1].prefixes, "10.0.0.0/8", 0);
	test_list_push(&idents[1].prefixes, "2001:db8:1::/48", 0);
	snprintf(pod.name, sizeof(pod.name), "web");
	test_list_push(&pod.addrs, "203.0.113.50", 0);
	test_list_push(&pod.addrs, "2001:db8:50::50", 0);
	memcpy(in_rules, rules, n * sizeof(*rules));
	pod.ingress = in_rules;
	pod.n_ingress = n;
	pod.ingress_default_allow = default_allow;
	pod.egress = eg_rules;
	pod.n_egress = 0;
	pod.egress_default_allow = 1;
	model.identities = idents;
	model.n_identities = 2;
	model.pods = &pod;
	model.n_pods = 1;
	return xdp_set_pods(&model);
}

/* XDP first, then the uplink TC program on what XDP passed up. */
static int through_both(const struct pkt_spec *s, struct run_result *xr, struct tc_result *tr)
{
	uint8_t frame[FRAME_MAX];
	size_t len = build_frame(s, frame, NULL);

	CHECK(xdp_tc_obj() != NULL);
	CHECK(xdp_run(frame, len, xr) == 0);
	CHECK_EQ(xr->action, XDP_PASS);
	CHECK(xr->tagged);
	return tc_run(uplink_fd(), xr->out, xr->out_len, &xr->meta, sizeof(xr->meta), 0, tr);
}

/* s through both with the model's identities and a pod without rules. */
static int through_both_without_rules(struct pkt_spec s, struct run_result *xr,
				      struct tc_result *tr)
{
	CHECK(set_model(NULL, 0, 0) == 0);
	return through_both(&s, xr, tr);
}

XDP_TEST(tc_reads_the_identity_the_xdp_tag_carries)
{
	struct run_result xr;
	struct tc_result tr;

	CHECK(through_both_without_rules(spec_tcp4("198.51.100.9", "192.0.2.1"), &xr, &tr) == 0);
	CHECK_EQ(xr.meta.identity, 1);
	CHECK_EQ(tr.ret, TC_ACT_OK);
	/* not a pod address: the node's own traffic, marked "host" */
	CHECK_EQ(tr.mark, SLUICE_MARK(1, SLUICE_MARK_HOST_FLAG, 0));
	CHECK_EQ(tr.mark >> 28, SLUICE_MARK_MAGIC);
	CHECK_EQ(tr.mark & 0xff, 1);
	return 0;
}

XDP_TEST(tc_identity_is_longest_prefix_and_v6_works)
{
	struct pkt_spec s = spec_udp6("2001:db8:1::9", "2001:db8::1");
	struct run_result xr;
	struct tc_result tr;

	CHECK(through_both_without_rules(s, &xr, &tr) == 0);
	CHECK_EQ(xr.meta.identity, 2);
	CHECK_EQ(tr.mark & 0xff, 2);
	CHECK_EQ((tr.mark >> 8) & 0xff, SMF_IPV6 | SLUICE_MARK_HOST_FLAG);
	return 0;
}

static int forged_case(const void *meta, uint32_t len)
{
	struct pkt_spec s = spec_tcp4("198.51.100.9", "203.0.113.50");
	uint8_t frame[FRAME_MAX];
	size_t flen = build_frame(&s, frame, NULL);
	struct policy_rule_cfg partner_only = {.identity = 1, .port_hi = 65535};
	struct tc_result tr;

	CHECK(set_model(&partner_only, 1, 0) == 0);
	CHECK(xdp_tc_obj() != NULL);
	CHECK(tc_run(uplink_fd(), frame, flen, meta, len, 0, &tr) == 0);
	/* an untrusted tag gives identity unknown: the partner rule does not
	 * match and the pod's default (deny) applies */
	CHECK_EQ(tr.ret, TC_ACT_SHOT);
	return 0;
}

XDP_TEST(tc_forged_magic_is_not_trusted)
{
	struct sluice_meta m = {.magic = 0x1234, .version = SLUICE_META_VERSION, .identity = 1};

	return forged_case(&m, sizeof(m));
}

XDP_TEST(tc_wrong_version_is_not_trusted)
{
	struct sluice_meta m = {.magic = SLUICE_META_MAGIC, .version = 99, .identity = 1};

	return forged_case(&m, sizeof(m));
}

XDP_TEST(tc_short_metadata_is_not_trusted)
{
	struct sluice_meta m = {.magic = SLUICE_META_MAGIC, .version = SLUICE_META_VERSION,
				.identity = 1};

	return forged_case(&m, 8);
}

XDP_TEST(tc_missing_metadata_is_identity_unknown)
{
	return forged_case(NULL, 0);
}

/* ---- policy rule kinds (ingress to the pod) ---------------------------- */

static int verdict_for(const char *src, uint8_t proto, uint16_t dport, int *ret)
{
	struct pkt_spec s = strchr(src, ':') ? spec_tcp6(src, "2001:db8:50::50")
					     : spec_tcp4(src, "203.0.113.50");
	struct run_result xr;
	struct tc_result tr;

	s.proto = proto;
	s.dport = dport;
	if (proto == IPPROTO_ICMP && strchr(src, ':'))
		s.proto = IPPROTO_ICMPV6;
	s.payload = proto == IPPROTO_TCP ? 0 : 8;
	CHECK(through_both(&s, &xr, &tr) == 0);
	*ret = tr.ret;
	if (tr.ret == TC_ACT_OK)
		CHECK_EQ((tr.mark >> 8) & SLUICE_MARK_HOST_FLAG, 0); /* to a pod */
	return 0;
}

#define EXPECT(src, proto, port, want)                                                             \
	do {                                                                                       \
		int ret_;                                                                          \
		CHECK(verdict_for(src, proto, port, &ret_) == 0);                                  \
		if (ret_ != (want))                                                                \
			fprintf(stderr, "    %s proto %d port %d: got %d\n", src, proto, port, ret_); \
		CHECK_EQ(ret_, want);                                                              \
	} while (0)

XDP_TEST(tc_rule_by_identity)
{
	struct policy_rule_cfg r = {.identity = 1, .port_hi = 65535};

	CHECK(set_model(&r, 1, 0) == 0);
	EXPECT("198.51.100.9", IPPROTO_TCP, 80, TC_ACT_OK);
	EXPECT("10.1.1.1", IPPROTO_TCP, 80, TC_ACT_SHOT);
	EXPECT("192.0.2.99", IPPROTO_TCP, 80, TC_ACT_SHOT);
	return 0;
}

/* The pod's one ingress rule: anything from cidr. */
static int set_cidr_rule(const char *cidr)
{
	struct policy_rule_cfg r = {.port_hi = 65535};
	char err[SLUICE_ERRLEN];

	CHECK(prefix_parse(cidr, &r.cidr, err, sizeof(err)) == 0);
	return set_model(&r, 1, 0);
}

XDP_TEST(tc_rule_by_cidr)
{
	CHECK(set_cidr_rule("192.0.2.0/28") == 0);
	EXPECT("192.0.2.15", IPPROTO_TCP, 80, TC_ACT_OK);
	EXPECT("192.0.2.16", IPPROTO_TCP, 80, TC_ACT_SHOT);
	EXPECT("2001:db8:1::9", IPPROTO_TCP, 80, TC_ACT_SHOT);
	return 0;
}

XDP_TEST(tc_rule_by_v6_cidr)
{
	CHECK(set_cidr_rule("2001:db8:1::/64") == 0);
	EXPECT("2001:db8:1::9", IPPROTO_TCP, 80, TC_ACT_OK);
	EXPECT("2001:db8:1:1::9", IPPROTO_TCP, 80, TC_ACT_SHOT);
	return 0;
}

XDP_TEST(tc_rule_by_protocol)
{
	struct policy_rule_cfg r = {.proto = IPPROTO_UDP, .port_hi = 65535};

	CHECK(set_model(&r, 1, 0) == 0);
	EXPECT("192.0.2.99", IPPROTO_UDP, 53, TC_ACT_OK);
	EXPECT("192.0.2.99", IPPROTO_TCP, 53, TC_ACT_SHOT);
	return 0;
}

XDP_TEST(tc_rule_by_port_range)
{
	struct policy_rule_cfg r = {.proto = IPPROTO_TCP, .port_lo = 8000, .port_hi = 8080};

	CHECK(set_model(&r, 1, 0) == 0);
	EXPECT("192.0.2.99", IPPROTO_TCP, 8000, TC_ACT_OK);
	EXPECT("192.0.2.99", IPPROTO_TCP, 8080, TC_ACT_OK);
	EXPECT("192.0.2.99", IPPROTO_TCP, 7999, TC_ACT_SHOT);
	EXPECT("192.0.2.99", IPPROTO_TCP, 8081, TC_ACT_SHOT);
	return 0;
}

XDP_TEST(tc_rule_conditions_are_all_required)
{
	struct policy_rule_cfg r = {.identity = 1, .proto = IPPROTO_TCP, .port_lo = 443,
				    .port_hi = 443};

	CHECK(set_model(&r, 1, 0) == 0);
	EXPECT("198.51.100.9", IPPROTO_TCP, 443, TC_ACT_OK);
	EXPECT("198.51.100.9", IPPROTO_TCP, 80, TC_ACT_SHOT);
	EXPECT("198.51.100.9", IPPROTO_UDP, 443, TC_ACT_SHOT);
	EXPECT("10.0.0.1", IPPROTO_TCP, 443, TC_ACT_SHOT);
	return 0;
}

XDP_TEST(tc_default_allow_pod_passes_what_no_rule_names)
{
	CHECK(set_model(NULL, 0, 1) == 0);
	EXPECT("192.0.2.99", IPPROTO_TCP, 22, TC_ACT_OK);
	return 0;
}

XDP_TEST(tc_default_deny_pod_drops_what_no_rule_names)
{
	CHECK(set_model(NULL, 0, 0) == 0);
	EXPECT("192.0.2.99", IPPROTO_TCP, 22, TC_ACT_SHOT);
	return 0;
}

/* ---- pod veths: accounting and egress policy --------------------------- */

XDP_TEST(tc_pod_veth_counts_rx_and_tx_and_enforces_egress)
{
	struct pkt_spec to = spec_tcp4("192.0.2.99", "203.0.113.50");
	struct pkt_spec from = spec_udp4("203.0.113.50", "192.0.2.99");
	uint8_t f1[FRAME_MAX], f2[FRAME_MAX];
	size_t l1 = build_frame(&to, f1, NULL), l2;
	uint32_t ifindex = (uint32_t)lbt_ifindex(), pod_id = 0;
	struct tc_result tr;
	char err[SLUICE_ERRLEN];

	CHECK(xdp_tc_obj() != NULL);
	eg_rules[0] = (struct policy_rule_cfg){.proto = IPPROTO_UDP, .port_lo = 53, .port_hi = 53};
	CHECK(set_model(NULL, 0, 1) == 0);
	pod.egress_default_allow = 0;
	pod.n_egress = 1;
	CHECK(xdp_set_pods(&model) == 0);
	/* the daemon's watcher would write this: the veth belongs to "web" */
	{
		struct {
			char name[64];
		} v;

		for (uint32_t id = 1; id < SLUICE_MAX_PODS && !pod_id; id++)
			if (!bpf_map_lookup_elem(xdp_map_fd("pod_names"), &id, &v) &&
			    !strcmp(v.name, "web"))
				pod_id = id;
	}
	CHECK(pod_id != 0);
	CHECK(bpf_map_update_elem(xdp_map_fd("pod_ifindex"), &ifindex, &pod_id, BPF_ANY) == 0);
	bpf_map_delete_elem(xdp_map_fd("pod_stats"), &pod_id);

	for (int i = 0; i < 3; i++) {
		CHECK(tc_run(bpf_program__fd(xdp_tc_obj()->progs.sluice_tc_pod_out), f1, l1, NULL, 0, ifindex,
			     &tr) == 0);
		CHECK_EQ(tr.ret, TC_ACT_OK);
	}
	from.dport = 53;
	l2 = build_frame(&from, f2, NULL);
	CHECK(tc_run(bpf_program__fd(xdp_tc_obj()->progs.sluice_tc_pod_in), f2, l2, NULL, 0, ifindex, &tr) ==
	      0);
	CHECK_EQ(tr.ret, TC_ACT_OK);
	from.dport = 123; /* not allowed out */
	l2 = build_frame(&from, f2, NULL);
	CHECK(tc_run(bpf_program__fd(xdp_tc_obj()->progs.sluice_tc_pod_in), f2, l2, NULL, 0, ifindex, &tr) ==
	      0);
	CHECK_EQ(tr.ret, TC_ACT_SHOT);

	CHECK_EQ(xdp_pod_stat(pod_id, PS_RX_PACKETS), 3);
	CHECK_EQ(xdp_pod_stat(pod_id, PS_RX_BYTES), 3 * l1);
	/* the denied one is not sent */
	CHECK_EQ(xdp_pod_stat(pod_id, PS_TX_PACKETS), 1);
	CHECK_EQ(xdp_pod_stat(pod_id, PS_TX_BYTES), l2);
	CHECK_EQ(xdp_pod_stat(pod_id, PS_EGRESS_DENIED), 1);
	bpf_map_delete_elem(xdp_map_fd("pod_ifindex"), &ifindex);
	(void)err;
	return 0;
}

/* ---- IPv6 extension headers: the policy sees the upper-layer header ---- */

XDP_TEST(tc_port_rule_sees_through_ipv6_extension_headers)
{
	struct policy_rule_cfg r = {.proto = IPPROTO_TCP, .port_lo = 443, .port_hi = 443};
	struct pkt_spec s = spec_tcp6("2001:db8:1::9", "2001:db8:50::50");
	struct run_result xr;
	struct tc_result tr;

	CHECK(set_model(&r, 1, 0) == 0);
	s = spec_with_ext(spec_with_ext(spec_with_ext(s, IPPROTO_HOPOPTS), IPPROTO_ROUTING),
			  IPPROTO_DSTOPTS);
	s.dport = 443;
	CHECK(through_both(&s, &xr, &tr) == 0);
	CHECK_EQ(tr.ret, TC_ACT_OK);
	CHECK_EQ((tr.mark >> 8) & SLUICE_MARK_HOST_FLAG, 0); /* to the pod */
	s.dport = 80;
	CHECK(through_both(&s, &xr, &tr) == 0);
	CHECK_EQ(tr.ret, TC_ACT_SHOT);
	/* a UDP datagram to 443 behind the same chain is not TCP */
	s.proto = IPPROTO_UDP;
	s.dport = 443;
	s.payload = 8;
	CHECK(through_both(&s, &xr, &tr) == 0);
	CHECK_EQ(tr.ret, TC_ACT_SHOT);
	return 0;
}

XDP_TEST(tc_ipv6_first_fragment_behind_extensions_has_no_ports)
{
	struct policy_rule_cfg r = {.proto = IPPROTO_TCP, .port_lo = 443, .port_hi = 443};
	struct policy_rule_cfg any_tcp = {.proto = IPPROTO_TCP, .port_hi = 65535};
	struct pkt_spec s = spec_tcp6("2001:db8:1::9", "2001:db8:50::50");
	struct run_result xr;
	struct tc_result tr;

	s = spec_with_ext(spec_with_ext(s, IPPROTO_HOPOPTS), IPPROTO_FRAGMENT);
	s.frag = FRAG_FIRST;
	s.dport = 443;
	CHECK(set_model(&r, 1, 0) == 0);
	CHECK(through_both(&s, &xr, &tr) == 0);
	CHECK_EQ(tr.ret, TC_ACT_SHOT); /* fragments carry no ports for the policy */
	CHECK(set_model(&any_tcp, 1, 0) == 0);
	CHECK(through_both(&s, &xr, &tr) == 0);
	CHECK_EQ(tr.ret, TC_ACT_OK); /* but the protocol is TCP, found behind both headers */
	return 0;
}

/* The XDP program drops a malformed chain on the uplink; a pod veth sees
 * no XDP, so the TC parser gives it a defined reading: protocol unknown. */
XDP_TEST(tc_malformed_ipv6_extension_chain_is_protocol_unknown)
{
	struct policy_rule_cfg tcp_rule = {.proto = IPPROTO_TCP, .port_hi = 65535};
	struct policy_rule_cfg any = {.port_hi = 65535};
	struct pkt_spec s = spec_tcp6("2001:db8:1::9", "2001:db8:50::50");
	uint8_t frame[FRAME_MAX];
	struct frame_layout lay;
	size_t len;
	struct tc_result tr;
	uint64_t bad_before;

	s = spec_with_ext(s, IPPROTO_HOPOPTS);
	len = build_frame(&s, frame, &lay);
	frame[lay.l3 + 40 + 1] = 200; /* hop-by-hop length past the payload */
	CHECK(set_model(&tcp_rule, 1, 0) == 0);
	bad_before = xdp_tc_count_packets(STR_V6_EXT_BAD);
	CHECK(bad_before != UINT64_MAX);
	CHECK(tc_run(uplink_fd(), frame, len, NULL, 0, 0, &tr) == 0);
	CHECK_EQ(tr.ret, TC_ACT_SHOT);
	CHECK(xdp_tc_count_packets(STR_V6_EXT_BAD) != UINT64_MAX);
	CHECK_EQ(xdp_tc_count_packets(STR_V6_EXT_BAD) - bad_before, 1);
	CHECK(set_model(&any, 1, 0) == 0);
	CHECK(tc_run(uplink_fd(), frame, len, NULL, 0, 0, &tr) == 0);
	CHECK_EQ(tr.ret, TC_ACT_OK);
	return 0;
}
