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

/* Build s, run it: passed under reason, tagged with want_flags, the
 * packet untouched and its bytes counted. */
static int expect_pass(struct pkt_spec s, int reason, uint8_t want_flags)
{
	struct run_result r;
	uint8_t buf[FRAME_MAX];
	size_t len = build_frame(&s, buf, NULL);
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

/* A clean IPv4 or IPv6 packet passes under SR_PASS, IPv6 flagged. */
static int expect_clean4(struct pkt_spec s)
{
	return expect_pass(s, SR_PASS, 0);
}

static int expect_clean6(struct pkt_spec s)
{
	return expect_pass(s, SR_PASS, SMF_IPV6);
}

/* s carrying proto with 8 bytes of payload, a protocol sluice does not
 * parse. */
static struct pkt_spec with_other_l4(struct pkt_spec s, uint8_t proto)
{
	s.proto = proto;
	s.payload = 8;
	return s;
}

/* s as a fragment (frag: enum frag_kind) */
static struct pkt_spec fragment(struct pkt_spec s, int frag)
{
	s.frag = frag;
	return s;
}

static const struct pkt_spec arp; /* family 0: build_frame's ARP frame */

XDP_TEST(ipv4_tcp_passes_tagged)
{
	return expect_clean4(spec_tcp4(SRC4, DST4));
}

XDP_TEST(ipv4_udp_passes_tagged)
{
	return expect_clean4(spec_udp4(SRC4, DST4));
}

XDP_TEST(ipv4_icmp_passes_tagged)
{
	return expect_clean4(spec_icmp4(SRC4, DST4));
}

XDP_TEST(ipv6_tcp_passes_tagged)
{
	return expect_clean6(spec_tcp6(SRC6, DST6));
}

XDP_TEST(ipv6_udp_passes_tagged)
{
	return expect_clean6(spec_udp6(SRC6, DST6));
}

XDP_TEST(ipv6_icmpv6_passes_tagged)
{
	return expect_clean6(spec_icmp6(SRC6, DST6));
}

XDP_TEST(arp_is_non_ip_and_passes)
{
	return expect_pass(arp, SR_NON_IP, 0);
}

XDP_TEST(ipv4_gre_is_l4_other_and_passes)
{
	return expect_pass(with_other_l4(spec_tcp4(SRC4, DST4), 47), SR_L4_OTHER, 0);
}

XDP_TEST(ipv6_no_next_header_is_l4_other)
{
	return expect_pass(with_other_l4(spec_tcp6(SRC6, DST6), 59), SR_L4_OTHER, SMF_IPV6);
}

XDP_TEST(vlan_8021q_ipv4_tcp)
{
	return expect_clean4(spec_vlans(spec_tcp4(SRC4, DST4), 1, 0));
}

XDP_TEST(vlan_8021q_ipv6_udp)
{
	return expect_clean6(spec_vlans(spec_udp6(SRC6, DST6), 1, 0));
}

XDP_TEST(qinq_8021ad_ipv4_udp)
{
	return expect_clean4(spec_vlans(spec_udp4(SRC4, DST4), 2, 0x88a8));
}

XDP_TEST(qinq_8021ad_ipv6_tcp)
{
	return expect_clean6(spec_vlans(spec_tcp6(SRC6, DST6), 2, 0x88a8));
}

XDP_TEST(double_8021q_icmp)
{
	return expect_clean4(spec_vlans(spec_icmp4(SRC4, DST4), 2, 0));
}

XDP_TEST(vlan_arp_is_non_ip)
{
	return expect_pass(spec_vlans(arp, 1, 0), SR_NON_IP, 0);
}

XDP_TEST(ipv4_options_every_length)
{
	for (int opts = 4; opts <= 40; opts += 4) {
		struct pkt_spec s = spec_with_ip_opts(spec_tcp4(SRC4, DST4), opts);

		if (expect_clean4(s))
			return -1;
		s.proto = IPPROTO_UDP;
		s.payload = 3;
		if (expect_clean4(s))
			return -1;
	}
	return 0;
}

XDP_TEST(ipv4_first_fragment_parses_l4)
{
	return expect_pass(fragment(spec_udp4(SRC4, DST4), FRAG_FIRST), SR_PASS, SMF_FRAGMENT);
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
	return expect_clean6(spec_with_ext(spec_tcp6(SRC6, DST6), IPPROTO_HOPOPTS));
}

XDP_TEST(ipv6_routing_and_dstopts_udp)
{
	static const uint8_t chain[] = {IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING,
					IPPROTO_DSTOPTS};
	struct pkt_spec s = spec_udp6(SRC6, DST6);

	for (size_t i = 0; i < sizeof(chain); i++)
		s = spec_with_ext(s, chain[i]);
	return expect_clean6(s);
}

XDP_TEST(ipv6_ah_icmpv6)
{
	return expect_clean6(spec_with_ext(spec_icmp6(SRC6, DST6), IPPROTO_AH));
}

XDP_TEST(ipv6_first_fragment_parses_l4)
{
	struct pkt_spec s = spec_with_ext(spec_udp6(SRC6, DST6), IPPROTO_FRAGMENT);

	return expect_pass(fragment(s, FRAG_FIRST), SR_PASS, SMF_IPV6 | SMF_FRAGMENT);
}

XDP_TEST(ipv6_atomic_fragment_parses_l4)
{
	/* offset 0, M clear: a whole packet in a fragment header */
	return expect_clean6(spec_with_ext(spec_tcp6(SRC6, DST6), IPPROTO_FRAGMENT));
}

XDP_TEST(ipv6_later_fragment_has_no_l4)
{
	struct pkt_spec s =
	    spec_with_ext(spec_with_ext(spec_udp6(SRC6, DST6), IPPROTO_HOPOPTS), IPPROTO_FRAGMENT);

	return expect_pass(fragment(s, FRAG_LATER), SR_FRAGMENT, SMF_IPV6 | SMF_FRAGMENT);
}

XDP_TEST(ipv6_ext_chain_at_bound_passes)
{
	struct pkt_spec s = spec_tcp6(SRC6, DST6);

	for (int i = 0; i < SLUICE_MAX_IPV6_EXT; i++)
		s = spec_with_ext(s, IPPROTO_DSTOPTS);
	return expect_clean6(s);
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
