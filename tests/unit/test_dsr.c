// SPDX-License-Identifier: GPL-2.0
/*
 * test_dsr.c - dsr-ipip mode: the XDP program wraps the client's packet,
 * untouched, in an outer header to the backend; the backend's TC decap
 * program (tc/decap.bpf.c) unwraps it back to the very same bytes.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <string.h>

#include "decap.skel.h"
#include "harness.h"
#include "prefix.h"
#include "services.h"

static struct lb_service_cfg dsr_svc;
static struct lb_backend_cfg dsr_be;

static int set_dsr_service(int family)
{
	struct lb_model m = {.svcs = &dsr_svc, .n = 1};
	char err[SLUICE_ERRLEN];

	memset(&dsr_svc, 0, sizeof(dsr_svc));
	memset(&dsr_be, 0, sizeof(dsr_be));
	if (prefix_parse(family == 4 ? "192.0.2.10" : "2001:db8:10::10", &dsr_svc.vip, err,
			 sizeof(err)) ||
	    prefix_parse(family == 4 ? "203.0.113.11" : "2001:db8:20::11", &dsr_be.addr, err,
			 sizeof(err)))
		return -1;
	dsr_svc.port = 80;
	dsr_svc.proto = IPPROTO_TCP;
	dsr_svc.mode = SLUICE_MODE_DSR_IPIP;
	dsr_svc.backends = &dsr_be;
	dsr_svc.n_backends = 1;
	dsr_be.port = 80;
	dsr_be.weight = 1;
	return xdp_set_services(&m);
}

static int run_decap(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len, int *ret)
{
	struct decap *skel = decap__open_and_load();
	struct __sk_buff ctx = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = FRAME_MAX, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int rc;

	if (!skel)
		return -1;
	rc = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_decap), &opts);
	decap__destroy(skel);
	*out_len = opts.data_size_out;
	*ret = (int)opts.retval;
	return rc;
}

static int dsr_case(int family)
{
	struct pkt_spec s = family == 4 ? spec_tcp4(LBT_CLIENT4, "192.0.2.10")
					: spec_tcp6(LBT_CLIENT6, "2001:db8:10::10");
	size_t hl = family == 4 ? 20 : 40, len, dlen;
	uint8_t in[FRAME_MAX], back[FRAME_MAX];
	struct frame_layout lay;
	struct run_result r;
	const uint8_t *o;
	uint8_t be[16];
	int tc_ret;

	CHECK(set_dsr_service(family) == 0);
	s.payload = 100;
	len = build_frame(&s, in, &lay);
	frame_fill_l4_csum(in, &lay, family, IPPROTO_TCP);
	CHECK(xdp_run(in, len, &r) == 0);
	CHECK_EQ(r.reason, SR_LB_FORWARD);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.out_len, len + hl);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	CHECK(memcmp(r.out + 6, lbt_dev_mac(), 6) == 0);
	o = r.out + 14;
	inet_pton(family == 4 ? AF_INET : AF_INET6,
		  family == 4 ? "203.0.113.11" : "2001:db8:20::11", be);
	if (family == 4) {
		CHECK_EQ(o[0], 0x45);
		CHECK_EQ(o[9], 4); /* IP in IP */
		CHECK_EQ((o[2] << 8 | o[3]), len - 14 + 20);
		CHECK(memcmp(o + 16, be, 4) == 0);
		CHECK(memcmp(o + 12, in + lay.l3 + 12, 4) == 0); /* outer src = client */
		CHECK(inet_csum(o, 20, 0) == 0);
	} else {
		CHECK_EQ(o[0] >> 4, 6);
		CHECK_EQ(o[6], 41); /* IPv6 in IPv6 */
		CHECK_EQ((o[4] << 8 | o[5]), len - 14);
		CHECK(memcmp(o + 24, be, 16) == 0);
	}
	/* the client's packet rides inside, byte for byte */
	CHECK(memcmp(r.out + 14 + hl, in + 14, len - 14) == 0);

	/* and the backend's decap gives it back */
	CHECK(run_decap(r.out, r.out_len, back, &dlen, &tc_ret) == 0);
	CHECK_EQ(tc_ret, TC_ACT_OK);
	CHECK_EQ(dlen, len);
	CHECK(memcmp(back + 14, in + 14, len - 14) == 0);
	return 0;
}

XDP_FAMILY_TESTS(dsr_ipip_v4_wraps_packet_for_backend_and_decap_unwraps_it,
		 dsr_ipip_v6_wraps_packet_for_backend_and_decap_unwraps_it, dsr_case)

XDP_TEST(dsr_vlan_tagged_frame_is_counted_encap_fail)
{
	struct pkt_spec s = spec_tcp4(LBT_CLIENT4, "192.0.2.10");
	struct run_result r;

	CHECK(set_dsr_service(4) == 0);
	s.vlans = 1;
	CHECK(xdp_run_spec(&s, &r) >= 0);
	CHECK_EQ(r.reason, SR_LB_ENCAP_FAIL);
	CHECK_EQ(r.action, XDP_DROP);
	return 0;
}

TEST(decap_leaves_plain_packets_alone)
{
	struct pkt_spec s = spec_udp4("198.51.100.7", "203.0.113.11");
	uint8_t in[FRAME_MAX], out[FRAME_MAX];
	size_t len = build_frame(&s, in, NULL), olen;
	int ret;

	CHECK(run_decap(in, len, out, &olen, &ret) == 0);
	CHECK_EQ(ret, TC_ACT_OK);
	CHECK_EQ(olen, len);
	CHECK(memcmp(in, out, len) == 0);
	return 0;
}
