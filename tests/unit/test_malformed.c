// SPDX-License-Identifier: GPL-2.0
/*
 * test_malformed.c - every malformed-header rule of parsing.h drops the
 * packet under its own reason, counted once; a frame cut at any byte gets
 * the reason of the header the cut falls in and never passes as clean.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SRC4 "198.51.100.7"
#define DST4 "203.0.113.1"
#define SRC6 "2001:db8:1::7"
#define DST6 "2001:db8:2::1"

#define ETH_HDR 14
#define IP6_HDR 40

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static const char *reason_name(int reason)
{
	if (reason < 0 || reason >= SR_REASON_MAX || !sluice_reason_names[reason])
		return "?";
	return sluice_reason_names[reason];
}

/* Run len bytes of buf: dropped, under reason, untagged. */
static int expect_drop(const uint8_t *buf, size_t len, int reason)
{
	struct run_result r;

	CHECK(xdp_run(buf, len, &r) == 0);
	if (r.reason != reason)
		fprintf(stderr, "    got %s, want %s\n", reason_name(r.reason),
			reason_name(reason));
	CHECK_EQ(r.reason, reason);
	CHECK_EQ(r.action, XDP_DROP);
	CHECK(!r.tagged);
	return 0;
}

static int expect_spec_drop(const struct pkt_spec *s, int reason)
{
	uint8_t buf[FRAME_MAX];
	size_t len = build_frame(s, buf, NULL);

	return expect_drop(buf, len, reason);
}

/* Rewrite the IP length field so that the IP packet ends at byte c of the
 * frame (where the field is inside the cut), and keep the IPv4 header
 * checksum right. */
static void fit_ip_length(uint8_t *buf, const struct frame_layout *lay, int family, size_t c)
{
	size_t l3 = lay->l3;

	if (family == 4 && c >= l3 + 4) {
		put16(buf + l3 + 2, (uint16_t)(c - l3));
		if (c >= lay->l4) {
			put16(buf + l3 + 10, 0);
			put16(buf + l3 + 10, inet_csum(buf + l3, lay->l4 - l3, 0));
		}
	} else if (family == 6 && c >= l3 + IP6_HDR) {
		put16(buf + l3 + 4, (uint16_t)(c - l3 - IP6_HDR));
	}
}

/* The named fixture: a frame built from a spec, which a test corrupts
 * field by field and then runs. */
struct frame {
	struct pkt_spec s;
	struct frame_layout lay;
	size_t len;
	uint8_t buf[FRAME_MAX];
};

static void frame_build(struct frame *f, struct pkt_spec s)
{
	f->s = s;
	f->len = build_frame(&f->s, f->buf, &f->lay);
}

/* Rebuild f and cut it to c bytes with the IP length fitted to the cut;
 * returns c. */
static size_t frame_cut(struct frame *f, size_t c)
{
	frame_build(f, f->s);
	fit_ip_length(f->buf, &f->lay, f->s.family, c);
	return c;
}

static void set_ipv4_total_len(struct frame *f, uint16_t v)
{
	put16(f->buf + f->lay.l3 + 2, v);
}

static void set_ipv6_payload_len(struct frame *f, uint16_t v)
{
	put16(f->buf + f->lay.l3 + 4, v);
}

static void set_tcp_doff(struct frame *f, uint8_t doff)
{
	f->buf[f->lay.l4 + 12] = (uint8_t)(doff << 4);
}

static void set_udp_len(struct frame *f, uint16_t v)
{
	put16(f->buf + f->lay.l4 + 4, v);
}

/* Ethernet padding behind the packet: n zero bytes the IP length does
 * not cover. */
static void pad(struct frame *f, size_t n)
{
	memset(f->buf + f->len, 0, n);
}

static int expect_frame_drop(const struct frame *f, int reason)
{
	return expect_drop(f->buf, f->len, reason);
}

static int expect_cut_drop(struct frame *f, size_t c, int reason)
{
	return expect_drop(f->buf, frame_cut(f, c), reason);
}

/* ---- frames shorter than Ethernet ------------------------------------- */

/* xdp_run() treats a refused run as a failure, so these tests call
 * BPF_PROG_TEST_RUN on the fixture's program themselves. */
static int fixture_prog_fd(void)
{
	return xdp_prog_fd();
}

static uint64_t counted_total(void)
{
	return xdp_count_total();
}

static int test_run_raw(const uint8_t *buf, size_t len)
{
	uint8_t out[FRAME_MAX + 256];
	struct xdp_md ctx = {.data_end = (__u32)len};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	return bpf_prog_test_run_opts(fixture_prog_fd(), &opts) ? -errno : 0;
}

/* The kernel never hands XDP less than an Ethernet header (test runs,
 * bpf_xdp_adjust_head/tail all insist on ETH_HLEN), so SR_MAL_ETH is the
 * verifier-required bounds check: make sure such a frame is refused before
 * the program and nothing is counted. */
static int expect_refused(const uint8_t *buf, size_t len)
{
	uint64_t before = counted_total();

	CHECK_EQ(test_run_raw(buf, len), -EINVAL);
	CHECK_EQ(counted_total(), before);
	return 0;
}

XDP_TEST(frame_shorter_than_ethernet_never_reaches_the_program)
{
	uint8_t buf[ETH_HDR];

	memset(buf, 0, sizeof(buf));
	put16(buf + 12, 0x0800);
	CHECK(fixture_prog_fd() >= 0);
	for (size_t len = 0; len < ETH_HDR; len++)
		if (expect_refused(buf, len))
			return -1;
	/* same program, one byte more: it runs and counts */
	CHECK_EQ(test_run_raw(buf, ETH_HDR), 0);
	CHECK_EQ(xdp_count_packets(SR_MAL_IPV4_TRUNC, XDP_DROP), 1);
	return 0;
}

XDP_TEST(bare_ethernet_header_is_not_mal_eth)
{
	/* 14 bytes is a whole Ethernet header: an ARP ethertype with no body
	 * is non-IP, not malformed Ethernet. */
	uint8_t buf[ETH_HDR] = {0};
	struct run_result r;

	put16(buf + 12, 0x0806);
	CHECK(xdp_run(buf, sizeof(buf), &r) == 0);
	CHECK_EQ(r.reason, SR_NON_IP);
	CHECK_EQ(r.action, XDP_PASS);
	return 0;
}

/* ---- VLAN -------------------------------------------------------------- */

static struct pkt_spec tagged(struct pkt_spec s, int vlans)
{
	/* two tags are QinQ: 802.1ad outer, 802.1Q inner */
	return spec_vlans(s, vlans, vlans == 2 ? 0x88a8 : 0);
}

/* Every length from..to-1 of the frame built from s is a cut tag. */
static int expect_cut_tag(struct pkt_spec s, size_t from, size_t to)
{
	struct frame f;

	frame_build(&f, s);
	for (size_t len = from; len < to; len++)
		if (expect_drop(f.buf, len, SR_MAL_VLAN))
			return -1;
	return 0;
}

XDP_TEST(truncated_8021q_tag_is_mal_vlan)
{
	/* TPID present, TCI + inner ethertype missing or cut */
	return expect_cut_tag(tagged(spec_udp4(SRC4, DST4), 1), ETH_HDR, ETH_HDR + 4);
}

XDP_TEST(truncated_inner_qinq_tag_is_mal_vlan)
{
	return expect_cut_tag(tagged(spec_udp6(SRC6, DST6), 2), ETH_HDR + 4, ETH_HDR + 8);
}

XDP_TEST(three_8021q_tags_is_mal_vlan_depth)
{
	struct pkt_spec s = spec_vlans(spec_tcp4(SRC4, DST4), 3, 0);

	return expect_spec_drop(&s, SR_MAL_VLAN_DEPTH);
}

XDP_TEST(qinq_with_a_third_tag_is_mal_vlan_depth)
{
	struct pkt_spec s = spec_vlans(spec_udp6(SRC6, DST6), 3, 0x88a8);

	return expect_spec_drop(&s, SR_MAL_VLAN_DEPTH);
}

/* ---- IPv4 -------------------------------------------------------------- */

XDP_TEST(ipv4_truncated_fixed_header_is_mal_ipv4_trunc)
{
	struct frame f;

	frame_build(&f, spec_tcp4(SRC4, DST4));
	/* a version/IHL byte but 19 bytes of header */
	return expect_cut_drop(&f, f.lay.l3 + 19, SR_MAL_IPV4_TRUNC);
}

XDP_TEST(ipv4_truncated_options_is_mal_ipv4_trunc)
{
	struct frame f;

	frame_build(&f, spec_with_ip_opts(spec_tcp4(SRC4, DST4), 12));
	/* fixed header whole, IHL says 32 bytes, frame ends inside options */
	for (size_t c = f.lay.l3 + 20; c < f.lay.l4; c++)
		if (expect_cut_drop(&f, c, SR_MAL_IPV4_TRUNC))
			return -1;
	return 0;
}

/* Run f once with each value of the version/IHL byte v from..to-1 that
 * is not skip (-1: none) written as (v << shift | low). */
static int expect_ip_first_byte_drop(struct frame *f, unsigned from, unsigned to, int skip,
				     int shift, uint8_t low, int reason)
{
	for (unsigned v = from; v < to; v++) {
		if ((int)v == skip)
			continue;
		f->buf[f->lay.l3] = (uint8_t)(v << shift | low);
		if (expect_frame_drop(f, reason))
			return -1;
	}
	return 0;
}

XDP_TEST(ipv4_ihl_below_five_is_mal_ipv4_ihl)
{
	struct frame f;

	frame_build(&f, spec_tcp4(SRC4, DST4));
	/* version 4, IHL 0..4 */
	return expect_ip_first_byte_drop(&f, 0x40, 0x45, -1, 0, 0, SR_MAL_IPV4_IHL);
}

XDP_TEST(ipv4_ethertype_with_other_version_is_mal_ipv4_version)
{
	struct frame f;

	frame_build(&f, spec_tcp4(SRC4, DST4));
	return expect_ip_first_byte_drop(&f, 0, 16, 4, 4, 5, SR_MAL_IPV4_VERSION);
}

XDP_TEST(ipv6_packet_under_ipv4_ethertype_is_mal_ipv4_version)
{
	struct frame f;

	frame_build(&f, spec_udp6(SRC6, DST6));
	put16(f.buf + 12, 0x0800);
	return expect_frame_drop(&f, SR_MAL_IPV4_VERSION);
}

XDP_TEST(ipv4_total_length_below_header_is_mal_ipv4_len)
{
	static const uint16_t bad[] = {0, 1, 19, 20, 20 + 8 - 1};
	struct frame f;

	/* header is 28 bytes: 27 is below it, 20 is not enough */
	frame_build(&f, spec_with_ip_opts(spec_udp4(SRC4, DST4), 8));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_ipv4_total_len(&f, bad[i]);
		if (expect_frame_drop(&f, SR_MAL_IPV4_LEN))
			return -1;
	}
	return 0;
}

XDP_TEST(ipv4_total_length_past_frame_is_mal_ipv4_len)
{
	struct frame f;

	frame_build(&f, spec_udp4(SRC4, DST4));
	set_ipv4_total_len(&f, (uint16_t)(f.len - f.lay.l3 + 1));
	if (expect_frame_drop(&f, SR_MAL_IPV4_LEN))
		return -1;
	set_ipv4_total_len(&f, 0xffff);
	return expect_frame_drop(&f, SR_MAL_IPV4_LEN);
}

/* ---- IPv6 -------------------------------------------------------------- */

XDP_TEST(ipv6_truncated_fixed_header_is_mal_ipv6_trunc)
{
	struct frame f;

	frame_build(&f, spec_udp6(SRC6, DST6));
	return expect_drop(f.buf, f.lay.l3 + IP6_HDR - 1, SR_MAL_IPV6_TRUNC);
}

XDP_TEST(ipv6_ethertype_with_other_version_is_mal_ipv6_version)
{
	struct frame f;

	frame_build(&f, spec_udp6(SRC6, DST6));
	return expect_ip_first_byte_drop(&f, 0, 16, 6, 4, 0, SR_MAL_IPV6_VERSION);
}

XDP_TEST(ipv6_payload_length_past_frame_is_mal_ipv6_plen)
{
	struct frame f;

	frame_build(&f, spec_udp6(SRC6, DST6));
	set_ipv6_payload_len(&f, (uint16_t)(f.len - f.lay.l3 - IP6_HDR + 1));
	if (expect_frame_drop(&f, SR_MAL_IPV6_PLEN))
		return -1;
	set_ipv6_payload_len(&f, 0xffff);
	return expect_frame_drop(&f, SR_MAL_IPV6_PLEN);
}

XDP_TEST(ipv6_payload_length_zero_is_mal_ipv6_plen)
{
	/* jumbogram marker: cannot travel on Ethernet */
	struct frame f;

	frame_build(&f, spec_udp6(SRC6, DST6));
	set_ipv6_payload_len(&f, 0);
	return expect_frame_drop(&f, SR_MAL_IPV6_PLEN);
}

/* The frame built from s ends 1..7 bytes into its first (8-byte)
 * extension header, frame and payload length alike: below 2 even
 * next-header/length are missing. */
static int expect_cut_first_ext(struct pkt_spec s)
{
	struct frame f;

	frame_build(&f, s);
	for (size_t n = 1; n < 8; n++)
		if (expect_cut_drop(&f, f.lay.l3 + IP6_HDR + n, SR_MAL_IPV6_EXT))
			return -1;
	return 0;
}

XDP_TEST(ipv6_truncated_hop_by_hop_header_is_mal_ipv6_ext)
{
	return expect_cut_first_ext(spec_with_ext(spec_tcp6(SRC6, DST6), IPPROTO_HOPOPTS));
}

XDP_TEST(ipv6_truncated_fragment_header_is_mal_ipv6_ext)
{
	struct pkt_spec s = spec_with_ext(spec_udp6(SRC6, DST6), IPPROTO_FRAGMENT);

	s.frag = FRAG_FIRST;
	return expect_cut_first_ext(s);
}

XDP_TEST(ipv6_ext_header_longer_than_payload_length_is_mal_ipv6_ext)
{
	/* Ethernet padding behind the packet keeps the header inside the
	 * frame, so only the payload-length bound can catch it. */
	struct frame f;
	struct run_result r;

	frame_build(&f, spec_with_ext(spec_tcp6(SRC6, DST6), IPPROTO_HOPOPTS));
	pad(&f, 32);
	CHECK(xdp_run(f.buf, f.len + 32, &r) == 0); /* padding alone is fine */
	CHECK_EQ(r.reason, SR_PASS);
	f.buf[f.lay.l3 + IP6_HDR + 1] = 3; /* (3 + 1) * 8 = 32 > payload length 28 */
	return expect_drop(f.buf, f.len + 32, SR_MAL_IPV6_EXT);
}

XDP_TEST(ipv6_ah_header_longer_than_payload_length_is_mal_ipv6_ext)
{
	struct frame f;

	frame_build(&f, spec_with_ext(spec_udp6(SRC6, DST6), IPPROTO_AH));
	pad(&f, 64);
	/* AH counts 4-byte units minus 2: (14 + 2) * 4 = 64 > 12 + 24 */
	f.buf[f.lay.l3 + IP6_HDR + 1] = 14;
	return expect_drop(f.buf, f.len + 64, SR_MAL_IPV6_EXT);
}

XDP_TEST(ipv6_ext_chain_over_bound_is_mal_ipv6_ext_chain)
{
	struct pkt_spec s = spec_tcp6(SRC6, DST6);

	for (int i = 0; i < SLUICE_MAX_IPV6_EXT + 1; i++)
		s = spec_with_ext(s, IPPROTO_DSTOPTS);
	return expect_spec_drop(&s, SR_MAL_IPV6_EXT_CHAIN);
}

/* ---- TCP, UDP, ICMP headers cut short ----------------------------------- */

/* The frame built from s cut to l4 bytes from..to-1 of its L4 header. */
static int expect_l4_cuts(struct pkt_spec s, size_t from, size_t to, int reason)
{
	struct frame f;

	frame_build(&f, s);
	for (size_t n = from; n < to; n++)
		if (expect_cut_drop(&f, f.lay.l4 + n, reason))
			return -1;
	return 0;
}

XDP_TEST(ipv4_truncated_tcp_header_is_mal_tcp)
{
	return expect_l4_cuts(spec_tcp4(SRC4, DST4), 0, 20, SR_MAL_TCP);
}

XDP_TEST(ipv6_truncated_tcp_header_is_mal_tcp)
{
	/* n = 0 is payload length 0 */
	return expect_l4_cuts(spec_tcp6(SRC6, DST6), 1, 20, SR_MAL_TCP);
}

XDP_TEST(tcp_header_beyond_ip_total_length_is_mal_tcp)
{
	/* whole header in the frame, but IP says it ends one byte early */
	struct frame f;

	frame_build(&f, spec_tcp4(SRC4, DST4));
	fit_ip_length(f.buf, &f.lay, 4, f.len - 1);
	return expect_frame_drop(&f, SR_MAL_TCP);
}

XDP_TEST(tcp_data_offset_below_five_is_mal_tcp_doff)
{
	struct frame f;

	frame_build(&f, spec_tcp4(SRC4, DST4));
	for (uint8_t doff = 0; doff < 5; doff++) {
		set_tcp_doff(&f, doff);
		if (expect_frame_drop(&f, SR_MAL_TCP_DOFF))
			return -1;
	}
	return 0;
}

XDP_TEST(tcp_data_offset_past_packet_is_mal_tcp_doff)
{
	struct pkt_spec s = spec_tcp4(SRC4, DST4);
	struct frame f;

	s.payload = 3; /* 23 bytes of segment: doff 6 (24) is one too many */
	frame_build(&f, s);
	pad(&f, 64);
	set_tcp_doff(&f, 6);
	if (expect_frame_drop(&f, SR_MAL_TCP_DOFF))
		return -1;
	/* Ethernet padding covers the options but the IP packet does not */
	if (expect_drop(f.buf, f.len + 64, SR_MAL_TCP_DOFF))
		return -1;
	set_tcp_doff(&f, 15);
	return expect_frame_drop(&f, SR_MAL_TCP_DOFF);
}

XDP_TEST(ipv6_tcp_data_offset_past_packet_is_mal_tcp_doff)
{
	struct frame f;

	frame_build(&f, spec_with_ext(spec_tcp6(SRC6, DST6), IPPROTO_HOPOPTS));
	set_tcp_doff(&f, 6);
	return expect_frame_drop(&f, SR_MAL_TCP_DOFF);
}

XDP_TEST(ipv4_truncated_udp_header_is_mal_udp)
{
	return expect_l4_cuts(spec_udp4(SRC4, DST4), 0, 8, SR_MAL_UDP);
}

XDP_TEST(ipv6_truncated_udp_header_is_mal_udp)
{
	return expect_l4_cuts(spec_udp6(SRC6, DST6), 1, 8, SR_MAL_UDP);
}

XDP_TEST(udp_length_below_eight_is_mal_udp_len)
{
	struct frame f;

	frame_build(&f, spec_udp4(SRC4, DST4));
	for (uint16_t ulen = 0; ulen < 8; ulen++) {
		set_udp_len(&f, ulen);
		if (expect_frame_drop(&f, SR_MAL_UDP_LEN))
			return -1;
	}
	return 0;
}

XDP_TEST(udp_length_past_ip_payload_is_mal_udp_len)
{
	struct frame f;

	frame_build(&f, spec_udp4(SRC4, DST4));
	/* one byte past the IP payload; Ethernet padding does not help */
	set_udp_len(&f, (uint16_t)(f.len - f.lay.l4 + 1));
	pad(&f, 16);
	if (expect_frame_drop(&f, SR_MAL_UDP_LEN))
		return -1;
	return expect_drop(f.buf, f.len + 16, SR_MAL_UDP_LEN);
}

XDP_TEST(ipv6_udp_length_past_ip_payload_is_mal_udp_len)
{
	struct frame f;

	frame_build(&f, spec_udp6(SRC6, DST6));
	set_udp_len(&f, (uint16_t)(f.len - f.lay.l4 + 1));
	return expect_frame_drop(&f, SR_MAL_UDP_LEN);
}

XDP_TEST(truncated_icmp_header_is_mal_icmp)
{
	return expect_l4_cuts(spec_icmp4(SRC4, DST4), 0, 8, SR_MAL_ICMP);
}

XDP_TEST(truncated_icmpv6_header_is_mal_icmp)
{
	return expect_l4_cuts(spec_icmp6(SRC6, DST6), 1, 8, SR_MAL_ICMP);
}

/* ---- the source decides before L4 -------------------------------------- */

/* f built from s with block and allow lists (NULL-terminated) in place. */
static int frame_with_lists(struct frame *f, struct pkt_spec s, const char *const *block,
			    const char *const *allow)
{
	CHECK(xdp_set_lists(block, allow) == 0);
	frame_build(f, s);
	return 0;
}

XDP_TEST(blocklisted_source_with_malformed_tcp_is_counted_as_blocklist)
{
	static const char *const block[] = {SRC4 "/32", NULL};
	struct frame f;

	CHECK(frame_with_lists(&f, spec_tcp4(SRC4, DST4), block, NULL) == 0);
	set_tcp_doff(&f, 2);
	return expect_frame_drop(&f, SR_BLOCKLIST);
}

XDP_TEST(blocklisted_v6_source_with_malformed_udp_is_counted_as_blocklist)
{
	static const char *const block[] = {"2001:db8:1::/48", NULL};
	struct frame f;

	CHECK(frame_with_lists(&f, spec_udp6(SRC6, DST6), block, NULL) == 0);
	set_udp_len(&f, 3);
	return expect_frame_drop(&f, SR_BLOCKLIST);
}

XDP_TEST(blocklisted_v6_source_with_truncated_ext_header_is_counted_as_blocklist)
{
	/* extension headers are walked only after the source was judged */
	static const char *const block[] = {SRC6, NULL};
	struct pkt_spec s = spec_with_ext(spec_udp6(SRC6, DST6), IPPROTO_HOPOPTS);
	struct frame f;

	CHECK(frame_with_lists(&f, s, block, NULL) == 0);
	return expect_cut_drop(&f, f.lay.l3 + IP6_HDR + 4, SR_BLOCKLIST);
}

XDP_TEST(blocklisted_source_in_malformed_ipv4_header_is_counted_as_malformed)
{
	/* until the IP header is valid its source address is not trusted */
	static const char *const block[] = {SRC4, NULL};
	struct frame f;

	CHECK(frame_with_lists(&f, spec_udp4(SRC4, DST4), block, NULL) == 0);
	set_ipv4_total_len(&f, 0xffff);
	return expect_frame_drop(&f, SR_MAL_IPV4_LEN);
}

XDP_TEST(allowlisted_source_with_malformed_tcp_is_still_dropped)
{
	static const char *const allow[] = {SRC4 "/32", NULL};
	struct frame f;

	CHECK(frame_with_lists(&f, spec_tcp4(SRC4, DST4), NULL, allow) == 0);
	set_tcp_doff(&f, 2);
	return expect_frame_drop(&f, SR_MAL_TCP_DOFF);
}

/* ---- counters ----------------------------------------------------------- */

/* One row of the counter test: a frame, what it must get, how often. */
struct counted_frame {
	struct frame f;
	int reason, action, times;
};

static struct counted_frame *counted(struct counted_frame *c, int reason, int action, int times)
{
	c->reason = reason, c->action = action, c->times = times;
	return c;
}

XDP_TEST(counters_hold_exact_packets_and_bytes_per_reason_and_action)
{
	static struct counted_frame f[6];
	uint64_t want_pkts[SLUICE_COUNTER_SLOTS] = {0}, want_bytes[SLUICE_COUNTER_SLOTS] = {0};
	int n = 0;

	/* two sizes under one slot: bytes must add up, not be overwritten */
	frame_build(&counted(&f[n], SR_MAL_TCP_DOFF, XDP_DROP, 3)->f, spec_tcp4(SRC4, DST4));
	set_tcp_doff(&f[n++].f, 1);
	frame_build(&counted(&f[n], SR_MAL_TCP_DOFF, XDP_DROP, 2)->f,
		    tagged(spec_tcp4(SRC4, DST4), 1));
	set_tcp_doff(&f[n++].f, 1);

	frame_build(&counted(&f[n], SR_MAL_UDP_LEN, XDP_DROP, 4)->f, spec_udp6(SRC6, DST6));
	set_udp_len(&f[n++].f, 3);

	frame_build(&counted(&f[n], SR_MAL_ICMP, XDP_DROP, 1)->f, spec_icmp4(SRC4, DST4));
	f[n].f.len = frame_cut(&f[n].f, f[n].f.lay.l4 + 5);
	n++;

	frame_build(&counted(&f[n++], SR_PASS, XDP_PASS, 2)->f, spec_udp4(SRC4, DST4));
	frame_build(&counted(&f[n++], SR_NON_IP, XDP_PASS, 1)->f, (struct pkt_spec){0}); /* ARP */

	for (int i = 0; i < n; i++) {
		int slot = f[i].reason * SLUICE_ACTION_MAX + f[i].action;

		for (int k = 0; k < f[i].times; k++) {
			struct run_result r;

			CHECK(xdp_run(f[i].f.buf, f[i].f.len, &r) == 0);
			CHECK_EQ(r.reason, f[i].reason);
			CHECK_EQ(r.action, f[i].action);
		}
		want_pkts[slot] += (uint64_t)f[i].times;
		want_bytes[slot] += (uint64_t)f[i].times * f[i].f.len;
	}
	/* every slot, including the ones that must have stayed at zero */
	for (int slot = 0; slot < SLUICE_COUNTER_SLOTS; slot++) {
		int reason = slot / SLUICE_ACTION_MAX, action = slot % SLUICE_ACTION_MAX;

		CHECK_EQ(xdp_count_packets(reason, action), want_pkts[slot]);
		CHECK_EQ(xdp_count_bytes(reason, action), want_bytes[slot]);
	}
	return 0;
}

/* ---- truncation at every byte ------------------------------------------ */

enum { REFUSED = -2 }; /* shorter than Ethernet: the kernel refuses it */

static size_t ext_len(uint8_t type)
{
	return type == IPPROTO_AH ? 12 : 8;
}

/* The reason parsing.h must give for the first c bytes of the frame built
 * from s; fitted: the IP length field was rewritten to end at the cut. */
static int expected_cut_reason(const struct pkt_spec *s, const struct frame_layout *lay, size_t c,
			       int fitted)
{
	size_t l4_len;

	if (c < ETH_HDR)
		return REFUSED;
	if (c < lay->l3)
		return SR_MAL_VLAN;
	if (s->family == 4) {
		if (c < lay->l4) /* fixed header or options */
			return SR_MAL_IPV4_TRUNC;
		if (!fitted)
			return SR_MAL_IPV4_LEN; /* total length still says full size */
	} else {
		size_t off = lay->l3 + IP6_HDR;

		if (c < off)
			return SR_MAL_IPV6_TRUNC;
		/* payload length past the frame, or fitted to 0 */
		if (!fitted || c == off)
			return SR_MAL_IPV6_PLEN;
		for (int i = 0; i < s->n_ext; i++) {
			off += ext_len(s->ext[i]);
			if (c < off)
				return SR_MAL_IPV6_EXT;
		}
	}
	l4_len = c - lay->l4;
	switch (s->proto) {
	case IPPROTO_TCP:
		return l4_len < 20 ? SR_MAL_TCP : SR_PASS;
	case IPPROTO_UDP:
		if (l4_len < 8)
			return SR_MAL_UDP;
		/* the UDP length field still counts the cut payload */
		return l4_len < 8 + (size_t)s->payload ? SR_MAL_UDP_LEN : SR_PASS;
	default:
		return l4_len < 8 ? SR_MAL_ICMP : SR_PASS;
	}
}

/* Run the first c bytes of full (IP length fitted if asked) and check the
 * outcome is exactly want. */
static int check_cut(const struct pkt_spec *s, const uint8_t *full, const struct frame_layout *lay,
		     size_t c, int fitted, int want)
{
	int is_icmp = s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6;
	uint8_t buf[FRAME_MAX];
	struct run_result r;

	memcpy(buf, full, c);
	if (fitted)
		fit_ip_length(buf, lay, s->family, c);
	if (want == REFUSED)
		return expect_refused(buf, c);
	CHECK(xdp_run(buf, c, &r) == 0);
	CHECK_EQ(r.reason, want);
	/* Clean only when nothing contradicts the cut: an ICMP echo has no
	 * length of its own, so cutting its data with the IP length fitted
	 * leaves a valid, shorter echo. */
	if (r.action == XDP_PASS && r.reason == SR_PASS)
		CHECK(fitted && is_icmp && c >= lay->l4 + 8);
	else
		CHECK_EQ(r.action, XDP_DROP);
	return 0;
}

/* Cut the frame built from s to every length 0..full-1 and check each cut
 * gets exactly the reason of the header the cut falls in. */
static int check_every_cut(const struct pkt_spec *s, int fitted)
{
	uint8_t full[FRAME_MAX];
	struct frame_layout lay;
	size_t len = build_frame(s, full, &lay);

	for (size_t c = 0; c < len; c++) {
		int want = expected_cut_reason(s, &lay, c, fitted);

		if (check_cut(s, full, &lay, c, fitted, want)) {
			fprintf(stderr, "    cut at %zu of %zu bytes (l3 %zu, l4 %zu), want %s\n",
				c, len, lay.l3, lay.l4,
				want == REFUSED ? "refused" : reason_name(want));
			return -1;
		}
	}
	return 0;
}

#define CUT_TESTS(name, spec_expr)                                                                 \
	XDP_TEST(name##_cut_at_every_offset_gets_reason_of_cut_header)                             \
	{                                                                                          \
		struct pkt_spec s = spec_expr;                                                     \
		return check_every_cut(&s, 0);                                                     \
	}                                                                                          \
	XDP_TEST(name##_cut_with_fitted_ip_length_gets_reason_of_cut_header)                       \
	{                                                                                          \
		struct pkt_spec s = spec_expr;                                                     \
		return check_every_cut(&s, 1);                                                     \
	}

#define TCP4 spec_tcp4(SRC4, DST4)
#define UDP4 spec_udp4(SRC4, DST4)
#define ICMP4 spec_icmp4(SRC4, DST4)
#define TCP6_HBH spec_with_ext(spec_tcp6(SRC6, DST6), IPPROTO_HOPOPTS)
#define UDP6 spec_udp6(SRC6, DST6)
#define ICMP6 spec_icmp6(SRC6, DST6)

CUT_TESTS(tcp4, TCP4)
CUT_TESTS(tcp4_options, spec_with_ip_opts(TCP4, 12))
CUT_TESTS(udp4, UDP4)
CUT_TESTS(icmp4, ICMP4)
CUT_TESTS(tcp6_hop_by_hop, TCP6_HBH)
CUT_TESTS(udp6, UDP6)
CUT_TESTS(icmp6, ICMP6)
CUT_TESTS(vlan_tcp4, tagged(TCP4, 1))
CUT_TESTS(vlan_udp4, tagged(UDP4, 1))
CUT_TESTS(vlan_icmp4, tagged(ICMP4, 1))
CUT_TESTS(vlan_tcp6_hop_by_hop, tagged(TCP6_HBH, 1))
CUT_TESTS(vlan_udp6, tagged(UDP6, 1))
CUT_TESTS(vlan_icmp6, tagged(ICMP6, 1))
CUT_TESTS(qinq_tcp4, tagged(TCP4, 2))
CUT_TESTS(qinq_udp4, tagged(UDP4, 2))
CUT_TESTS(qinq_icmp4, tagged(ICMP4, 2))
CUT_TESTS(qinq_tcp6_hop_by_hop, tagged(TCP6_HBH, 2))
CUT_TESTS(qinq_udp6, tagged(UDP6, 2))
CUT_TESTS(qinq_icmp6, tagged(ICMP6, 2))
