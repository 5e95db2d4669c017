// SPDX-License-Identifier: GPL-2.0
/* test_headers.c - every supported header combination is parsed and passed
 * with a valid metadata tag. */
#include <netinet/in.h>
#include <string.h>

#include "harness.h"

#define SRC4 "198.51.100.7"
#define DST4 "203.0.113.1"
#define SRC6 "2001:db8:1::7"
#define DST6 "2001:db8:2::1"

static int expect_pass(const struct pkt_spec *s, int reason, uint8_t want_flags)
{
	struct run_result r;
	uint8_t buf[FRAME_MAX];
	size_t len = build_frame(s, buf, NULL);
	uint64_t bytes_before = xdp_count_bytes(reason, XDP_PASS);

	CHECK(xdp_run(buf, len, &r) == 0);
	CHECK_EQ(r.action, XDP_PASS);
	CHECK_EQ(r.reason, reason);
	CHECK(r.tagged);
	CHECK_EQ(r.meta.version, SLUICE_META_VERSION);
	CHECK_EQ(r.meta.reason, reason);
	CHECK_EQ(r.meta.flags, want_flags);
	/* The packet itself is untouched. */
	CHECK_EQ(r.out_len, len);
	CHECK(memcmp(r.out, buf, len) == 0);
	CHECK_EQ(xdp_count_bytes(reason, XDP_PASS) - bytes_before, len);
	return 0;
}

XDP_TEST(ipv4_tcp_passes_tagged)
{
	struct pkt_spec s = spec_tcp4(SRC4, DST4);
	return expect_pass(&s, SR_PASS, 0);
}

XDP_TEST(ipv4_udp_passes_tagged)
{
	struct pkt_spec s = spec_udp4(SRC4, DST4);
	return expect_pass(&s, SR_PASS, 0);
}

XDP_TEST(ipv4_icmp_passes_tagged)
{
	struct pkt_spec s = spec_icmp4(SRC4, DST4);
	return expect_pass(&s, SR_PASS, 0);
}

XDP_TEST(ipv6_tcp_passes_tagged)
{
	struct pkt_spec s = spec_tcp6(SRC6, DST6);
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(ipv6_udp_passes_tagged)
{
	struct pkt_spec s = spec_udp6(SRC6, DST6);
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(ipv6_icmpv6_passes_tagged)
{
	struct pkt_spec s = spec_icmp6(SRC6, DST6);
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(arp_is_non_ip_and_passes)
{
	struct pkt_spec s = {0};
	return expect_pass(&s, SR_NON_IP, 0);
}

XDP_TEST(ipv4_gre_is_l4_other_and_passes)
{
	struct pkt_spec s = spec_tcp4(SRC4, DST4);
	s.proto = 47;
	s.payload = 8;
	return expect_pass(&s, SR_L4_OTHER, 0);
}

XDP_TEST(ipv6_no_next_header_is_l4_other)
{
	struct pkt_spec s = spec_tcp6(SRC6, DST6);
	s.proto = 59;
	s.payload = 8;
	return expect_pass(&s, SR_L4_OTHER, SMF_IPV6);
}

XDP_TEST(vlan_8021q_ipv4_tcp)
{
	struct pkt_spec s = spec_tcp4(SRC4, DST4);
	s.vlans = 1;
	return expect_pass(&s, SR_PASS, 0);
}

XDP_TEST(vlan_8021q_ipv6_udp)
{
	struct pkt_spec s = spec_udp6(SRC6, DST6);
	s.vlans = 1;
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(qinq_8021ad_ipv4_udp)
{
	struct pkt_spec s = spec_udp4(SRC4, DST4);
	s.vlans = 2;
	s.outer_tpid = 0x88a8;
	return expect_pass(&s, SR_PASS, 0);
}

XDP_TEST(qinq_8021ad_ipv6_tcp)
{
	struct pkt_spec s = spec_tcp6(SRC6, DST6);
	s.vlans = 2;
	s.outer_tpid = 0x88a8;
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(double_8021q_icmp)
{
	struct pkt_spec s = spec_icmp4(SRC4, DST4);
	s.vlans = 2;
	return expect_pass(&s, SR_PASS, 0);
}

XDP_TEST(vlan_arp_is_non_ip)
{
	struct pkt_spec s = {0};
	s.vlans = 1;
	return expect_pass(&s, SR_NON_IP, 0);
}

XDP_TEST(ipv4_options_every_length)
{
	for (int opts = 4; opts <= 40; opts += 4) {
		struct pkt_spec s = spec_tcp4(SRC4, DST4);
		s.ip_opts = opts;
		if (expect_pass(&s, SR_PASS, 0))
			return -1;
		s.proto = IPPROTO_UDP;
		s.payload = 3;
		if (expect_pass(&s, SR_PASS, 0))
			return -1;
	}
	return 0;
}

XDP_TEST(ipv4_first_fragment_parses_l4)
{
	struct pkt_spec s = spec_udp4(SRC4, DST4);
	s.frag = FRAG_FIRST;
	return expect_pass(&s, SR_PASS, SMF_FRAGMENT);
}

XDP_TEST(ipv4_later_fragment_has_no_l4)
{
	/* A later fragment's payload would be a bogus UDP header (len 0): it
	 * must not be parsed as one. */
	struct pkt_spec s = spec_udp4(SRC4, DST4);
	s.frag = FRAG_LATER;
	s.proto = IPPROTO_TCP;
	s.payload = 4;
	uint8_t buf[FRAME_MAX];
	struct frame_layout lay;
	size_t len = build_frame(&s, buf, &lay);
	struct run_result r;

	buf[lay.l4 + 12] = 0x10; /* doff 1 would be malformed if parsed */
	CHECK(xdp_run(buf, len, &r) == 0);
	CHECK_EQ(r.action, XDP_PASS);
	CHECK_EQ(r.reason, SR_FRAGMENT);
	CHECK(r.tagged);
	CHECK_EQ(r.meta.flags, SMF_FRAGMENT);
	return 0;
}

XDP_TEST(ipv6_hop_by_hop_tcp)
{
	struct pkt_spec s = spec_tcp6(SRC6, DST6);
	s.ext[0] = IPPROTO_HOPOPTS;
	s.n_ext = 1;
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(ipv6_routing_and_dstopts_udp)
{
	struct pkt_spec s = spec_udp6(SRC6, DST6);
	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_DSTOPTS;
	s.ext[2] = IPPROTO_ROUTING;
	s.ext[3] = IPPROTO_DSTOPTS;
	s.n_ext = 4;
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(ipv6_ah_icmpv6)
{
	struct pkt_spec s = spec_icmp6(SRC6, DST6);
	s.ext[0] = IPPROTO_AH;
	s.n_ext = 1;
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(ipv6_first_fragment_parses_l4)
{
	struct pkt_spec s = spec_udp6(SRC6, DST6);
	s.ext[0] = IPPROTO_FRAGMENT;
	s.n_ext = 1;
	s.frag = FRAG_FIRST;
	return expect_pass(&s, SR_PASS, SMF_IPV6 | SMF_FRAGMENT);
}

XDP_TEST(ipv6_atomic_fragment_parses_l4)
{
	/* offset 0, M clear: a whole packet in a fragment header */
	struct pkt_spec s = spec_tcp6(SRC6, DST6);
	s.ext[0] = IPPROTO_FRAGMENT;
	s.n_ext = 1;
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(ipv6_later_fragment_has_no_l4)
{
	struct pkt_spec s = spec_udp6(SRC6, DST6);
	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_FRAGMENT;
	s.n_ext = 2;
	s.frag = FRAG_LATER;
	return expect_pass(&s, SR_FRAGMENT, SMF_IPV6 | SMF_FRAGMENT);
}

XDP_TEST(ipv6_ext_chain_at_bound_passes)
{
	struct pkt_spec s = spec_tcp6(SRC6, DST6);
	for (int i = 0; i < SLUICE_MAX_IPV6_EXT; i++)
		s.ext[i] = IPPROTO_DSTOPTS;
	s.n_ext = SLUICE_MAX_IPV6_EXT;
	return expect_pass(&s, SR_PASS, SMF_IPV6);
}

XDP_TEST(ethernet_padding_after_short_ipv4_is_fine)
{
	struct pkt_spec s = spec_udp4(SRC4, DST4);
	uint8_t buf[FRAME_MAX];
	struct run_result r;
	size_t len;

	s.payload = 0;
	len = build_frame(&s, buf, NULL); /* 42 bytes */
	memset(buf + len, 0, 60 - len);
	CHECK(xdp_run(buf, 60, &r) == 0);
	CHECK_EQ(r.action, XDP_PASS);
	CHECK_EQ(r.reason, SR_PASS);
	return 0;
}
