// SPDX-License-Identifier: GPL-2.0
/*
 * test_blocklist.c - source verdicts end to end: lists compiled and written
 * to the tries by xdp_set_lists(), then packets through the XDP program.
 * Inside a block prefix: dropped as blocklist; first address outside: passed;
 * inside an allow prefix: allowlisted, whatever blocks cover it.
 */
#include <netinet/in.h>
#include <string.h>

#include "harness.h"
#include "prefix.h"
#include "verdicts.h"

#define DST4 "203.0.113.1"
#define DST6 "2001:db8:ffff::1"

static const char *reason_name(int reason)
{
	if (reason < 0 || reason >= SR_REASON_MAX || !sluice_reason_names[reason])
		return "?";
	return sluice_reason_names[reason];
}

static struct pkt_spec udp_from(const char *src)
{
	return strchr(src, ':') ? spec_udp6(src, DST6) : spec_udp4(src, DST4);
}

/* Run s and check action, reason and (on pass) the metadata flags. */
static int expect(const struct pkt_spec *s, int action, int reason, int flags)
{
	struct run_result r;

	CHECK(xdp_run_spec(s, &r) >= 0);
	if (r.reason != reason || r.action != action)
		fprintf(stderr, "    source %s: got %s/%d, want %s/%d\n", s->src,
			reason_name(r.reason), r.action, reason_name(reason), action);
	CHECK_EQ(r.reason, reason);
	CHECK_EQ(r.action, action);
	if (action == XDP_PASS) {
		CHECK(r.tagged);
		CHECK_EQ(r.meta.reason, reason);
		CHECK_EQ(r.meta.flags, flags);
	} else {
		CHECK(!r.tagged);
	}
	return 0;
}

static int v6_flag(const char *src)
{
	return strchr(src, ':') ? SMF_IPV6 : 0;
}

static int expect_blocked(const char *src)
{
	struct pkt_spec s = udp_from(src);

	return expect(&s, XDP_DROP, SR_BLOCKLIST, 0);
}

static int expect_passed(const char *src)
{
	struct pkt_spec s = udp_from(src);

	return expect(&s, XDP_PASS, SR_PASS, v6_flag(src));
}

static int expect_allowed(const char *src)
{
	struct pkt_spec s = udp_from(src);

	return expect(&s, XDP_PASS, SR_ALLOWLISTED, SMF_ALLOWLISTED | v6_flag(src));
}

/* NULL-terminated address lists, so each test reads as a table. */
static int all_blocked(const char *const *srcs)
{
	for (; *srcs; srcs++)
		if (expect_blocked(*srcs))
			return -1;
	return 0;
}

static int all_passed(const char *const *srcs)
{
	for (; *srcs; srcs++)
		if (expect_passed(*srcs))
			return -1;
	return 0;
}

static int all_allowed(const char *const *srcs)
{
	for (; *srcs; srcs++)
		if (expect_allowed(*srcs))
			return -1;
	return 0;
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- prefix boundaries -------------------------------------------------- */

XDP_TEST(v4_slash0_block_drops_every_v4_address)
{
	CHECK(xdp_set_lists(LIST("0.0.0.0/0"), NULL) == 0);
	CHECK(all_blocked(LIST("0.0.0.0", "198.51.100.7", "255.255.255.255")) == 0);
	/* a v4 /0 says nothing about IPv6 */
	return all_passed(LIST("2001:db8::1"));
}

XDP_TEST(v4_slash8_block_drops_inside_and_passes_just_outside)
{
	CHECK(xdp_set_lists(LIST("10.0.0.0/8"), NULL) == 0);
	CHECK(all_blocked(LIST("10.0.0.0", "10.1.2.3", "10.255.255.255")) == 0);
	return all_passed(LIST("9.255.255.255", "11.0.0.0"));
}

XDP_TEST(v4_slash24_block_drops_inside_and_passes_just_outside)
{
	CHECK(xdp_set_lists(LIST("192.0.2.0/24"), NULL) == 0);
	CHECK(all_blocked(LIST("192.0.2.0", "192.0.2.77", "192.0.2.255")) == 0);
	return all_passed(LIST("192.0.1.255", "192.0.3.0"));
}

XDP_TEST(v4_slash32_block_drops_only_that_address)
{
	CHECK(xdp_set_lists(LIST("203.0.113.9/32"), NULL) == 0);
	CHECK(all_blocked(LIST("203.0.113.9")) == 0);
	return all_passed(LIST("203.0.113.8", "203.0.113.10"));
}

XDP_TEST(v6_slash0_block_drops_every_v6_address)
{
	CHECK(xdp_set_lists(LIST("::/0"), NULL) == 0);
	CHECK(all_blocked(LIST("::", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) ==
	      0);
	return all_passed(LIST("198.51.100.7"));
}

XDP_TEST(v6_slash48_block_drops_inside_and_passes_just_outside)
{
	CHECK(xdp_set_lists(LIST("2001:db8:1::/48"), NULL) == 0);
	CHECK(all_blocked(LIST("2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff")) == 0);
	return all_passed(LIST("2001:db8:0:ffff:ffff:ffff:ffff:ffff", "2001:db8:2::"));
}

XDP_TEST(v6_slash64_block_drops_inside_and_passes_just_outside)
{
	CHECK(xdp_set_lists(LIST("2001:db8:1:2::/64"), NULL) == 0);
	CHECK(all_blocked(LIST("2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff")) == 0);
	return all_passed(LIST("2001:db8:1:1:ffff:ffff:ffff:ffff", "2001:db8:1:3::"));
}

XDP_TEST(v6_slash128_block_drops_only_that_address)
{
	CHECK(xdp_set_lists(LIST("2001:db8::5/128"), NULL) == 0);
	CHECK(all_blocked(LIST("2001:db8::5")) == 0);
	return all_passed(LIST("2001:db8::4", "2001:db8::6"));
}

XDP_TEST(blocked_source_is_dropped_for_every_protocol)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 47 /* GRE */};

	CHECK(xdp_set_lists(LIST("198.51.100.0/24", "2001:db8:1::/48"), NULL) == 0);
	for (size_t i = 0; i < sizeof(protos); i++) {
		struct pkt_spec s = spec_udp4("198.51.100.7", DST4);
		struct pkt_spec s6 = spec_udp6("2001:db8:1::7", DST6);

		s.proto = protos[i];
		s6.proto = protos[i] == IPPROTO_ICMP ? IPPROTO_ICMPV6 : protos[i];
		CHECK(expect(&s, XDP_DROP, SR_BLOCKLIST, 0) == 0);
		CHECK(expect(&s6, XDP_DROP, SR_BLOCKLIST, 0) == 0);
	}
	return 0;
}

XDP_TEST(non_ip_frame_is_not_judged_by_source_lists)
{
	/* the ARP fixture's sender is 192.0.2.1 */
	struct pkt_spec arp = {0};

	CHECK(xdp_set_lists(LIST("0.0.0.0/0", "::/0"), NULL) == 0);
	return expect(&arp, XDP_PASS, SR_NON_IP, 0);
}

/* ---- allow over block --------------------------------------------------- */

XDP_TEST(allow_slash24_inside_block_slash8_is_allowlisted)
{
	CHECK(xdp_set_lists(LIST("10.0.0.0/8"), LIST("10.1.2.0/24")) == 0);
	CHECK(all_allowed(LIST("10.1.2.0", "10.1.2.255")) == 0);
	/* the rest of the /8 stays blocked */
	return all_blocked(LIST("10.1.1.255", "10.1.3.0"));
}

XDP_TEST(block_slash24_inside_allow_slash8_is_allowlisted)
{
	CHECK(xdp_set_lists(LIST("10.1.2.0/24"), LIST("10.0.0.0/8")) == 0);
	CHECK(all_allowed(LIST("10.1.2.0", "10.1.2.5", "10.1.2.255", "10.200.0.1")) == 0);
	return all_passed(LIST("11.0.0.0"));
}

XDP_TEST(same_prefix_in_block_and_allow_is_allowlisted)
{
	CHECK(xdp_set_lists(LIST("192.0.2.0/24", "2001:db8:1::/48"),
			    LIST("192.0.2.0/24", "2001:db8:1::/48")) == 0);
	return all_allowed(LIST("192.0.2.0", "192.0.2.255", "2001:db8:1::7"));
}

XDP_TEST(allowlisted_source_in_no_blocklist_is_allowlisted)
{
	CHECK(xdp_set_lists(NULL, LIST("198.51.100.0/24", "2001:db8:1::/48")) == 0);
	CHECK(all_allowed(LIST("198.51.100.7", "2001:db8:1::7")) == 0);
	return all_passed(LIST("198.51.101.0", "2001:db8:2::7"));
}

XDP_TEST(v6_allow_slash64_inside_block_slash32_is_allowlisted)
{
	CHECK(xdp_set_lists(LIST("2001:db8::/32"), LIST("2001:db8:1:2::/64")) == 0);
	CHECK(all_allowed(LIST("2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff")) == 0);
	return all_blocked(LIST("2001:db8:1:1:ffff:ffff:ffff:ffff", "2001:db8:1:3::"));
}

XDP_TEST(v6_block_slash64_inside_allow_slash32_is_allowlisted)
{
	CHECK(xdp_set_lists(LIST("2001:db8:1:2::/64"), LIST("2001:db8::/32")) == 0);
	return all_allowed(LIST("2001:db8:1:2::7", "2001:db8:ffff::1"));
}

/* ---- encapsulations and fragments --------------------------------------- */

XDP_TEST(ipv4_later_fragment_from_blocked_source_is_dropped)
{
	struct pkt_spec s = spec_udp4("192.0.2.7", DST4);

	s.frag = FRAG_LATER;
	CHECK(xdp_set_lists(LIST("192.0.2.0/24"), NULL) == 0);
	return expect(&s, XDP_DROP, SR_BLOCKLIST, 0);
}

XDP_TEST(ipv6_later_fragment_from_blocked_source_is_dropped)
{
	struct pkt_spec s = spec_udp6("2001:db8:1::7", DST6);

	s.ext[0] = IPPROTO_FRAGMENT;
	s.n_ext = 1;
	s.frag = FRAG_LATER;
	CHECK(xdp_set_lists(LIST("2001:db8:1::/48"), NULL) == 0);
	return expect(&s, XDP_DROP, SR_BLOCKLIST, 0);
}

XDP_TEST(vlan_tagged_blocked_source_is_dropped)
{
	struct pkt_spec s4 = spec_tcp4("192.0.2.7", DST4);
	struct pkt_spec s6 = spec_tcp6("2001:db8:1::7", DST6);

	s4.vlans = s6.vlans = 1;
	CHECK(xdp_set_lists(LIST("192.0.2.0/24", "2001:db8:1::/48"), NULL) == 0);
	CHECK(expect(&s4, XDP_DROP, SR_BLOCKLIST, 0) == 0);
	return expect(&s6, XDP_DROP, SR_BLOCKLIST, 0);
}

XDP_TEST(qinq_blocked_source_is_dropped)
{
	struct pkt_spec s4 = spec_udp4("192.0.2.7", DST4);
	struct pkt_spec s6 = spec_udp6("2001:db8:1::7", DST6);

	s4.vlans = s6.vlans = 2;
	s4.outer_tpid = s6.outer_tpid = 0x88a8;
	CHECK(xdp_set_lists(LIST("192.0.2.0/24", "2001:db8:1::/48"), NULL) == 0);
	CHECK(expect(&s4, XDP_DROP, SR_BLOCKLIST, 0) == 0);
	return expect(&s6, XDP_DROP, SR_BLOCKLIST, 0);
}

/* ---- replacing lists ----------------------------------------------------- */

XDP_TEST(replacing_blocklist_unblocks_old_entries)
{
	CHECK(xdp_set_lists(LIST("192.0.2.0/24", "2001:db8:1::/48"), NULL) == 0);
	CHECK(all_blocked(LIST("192.0.2.7", "2001:db8:1::7")) == 0);
	CHECK(xdp_set_lists(LIST("198.51.100.0/24", "2001:db8:2::/48"), NULL) == 0);
	CHECK(all_passed(LIST("192.0.2.7", "2001:db8:1::7")) == 0);
	return all_blocked(LIST("198.51.100.7", "2001:db8:2::7"));
}

XDP_TEST(replacing_allowlist_drops_old_allow_entries)
{
	CHECK(xdp_set_lists(LIST("10.0.0.0/8"), LIST("10.1.2.0/24")) == 0);
	CHECK(all_allowed(LIST("10.1.2.7")) == 0);
	/* same blocklist, allowlist gone: the hole in the /8 closes */
	CHECK(xdp_set_lists(LIST("10.0.0.0/8"), NULL) == 0);
	return all_blocked(LIST("10.1.2.7"));
}

XDP_TEST(replacing_block_with_allow_of_same_prefix_allows_it)
{
	CHECK(xdp_set_lists(LIST("192.0.2.0/24"), NULL) == 0);
	CHECK(all_blocked(LIST("192.0.2.7")) == 0);
	CHECK(xdp_set_lists(NULL, LIST("192.0.2.0/24")) == 0);
	return all_allowed(LIST("192.0.2.7"));
}

/* ---- v4 and v6 are separate --------------------------------------------- */

XDP_TEST(v4_block_does_not_match_v4_mapped_v6_source)
{
	CHECK(xdp_set_lists(LIST("192.0.2.0/24"), NULL) == 0);
	return all_passed(LIST("::ffff:192.0.2.7", "::192.0.2.7", "64:ff9b::192.0.2.7"));
}

XDP_TEST(v4_mapped_v6_block_does_not_match_v4_source)
{
	CHECK(xdp_set_lists(LIST("::ffff:192.0.2.0/120"), NULL) == 0);
	CHECK(all_blocked(LIST("::ffff:192.0.2.7")) == 0);
	return all_passed(LIST("192.0.2.7"));
}

XDP_TEST(v4_block_does_not_match_v6_source_with_same_leading_bytes)
{
	/* 32.1.13.184 is 0x20010db8: the first four bytes of 2001:db8:: */
	CHECK(xdp_set_lists(LIST("32.1.13.184/32", "32.1.0.0/16"), NULL) == 0);
	CHECK(all_blocked(LIST("32.1.13.184")) == 0);
	return all_passed(LIST("2001:db8::", "2001:db8::1"));
}

XDP_TEST(v6_block_does_not_match_v4_source_with_same_leading_bytes)
{
	CHECK(xdp_set_lists(LIST("2001:db8::/32", "2000::/3"), NULL) == 0);
	CHECK(all_blocked(LIST("2001:db8::1")) == 0);
	return all_passed(LIST("32.1.13.184"));
}

XDP_TEST(v4_allow_does_not_override_v6_block)
{
	CHECK(xdp_set_lists(LIST("::/0"), LIST("0.0.0.0/0")) == 0);
	CHECK(all_allowed(LIST("192.0.2.7")) == 0);
	return all_blocked(LIST("2001:db8::1", "::ffff:192.0.2.7"));
}

/* ---- the slow-path tries of the active generation ------------------------
 * The fast tables answer for every address (IPv4 chunks, IPv6 hash): the
 * tries only hold /24s past the chunk pool or the hash (test_fastpath.c
 * tests that overflow), so here they stay empty. */

static int expect_tries(const char *const *want_prefix, const int *want_action)
{
	struct prefix_list got = {0};
	size_t n = 0;
	int rc = -1;

	while (want_prefix[n])
		n++;
	int g = xdp_active_gen();

	if (verdicts_dump(xdp_map_fd(g ? "verdict_v4_g1" : "verdict_v4_g0"),
			  xdp_map_fd(g ? "verdict_v6_g1" : "verdict_v6_g0"), &got)) {
		fprintf(stderr, "    verdicts_dump failed\n");
		goto out;
	}
	for (size_t i = 0; i < got.n; i++) {
		char buf[64];

		prefix_format(&got.v[i], buf, sizeof(buf));
		if (i >= n || strcmp(buf, want_prefix[i]) || got.v[i].action != want_action[i] ||
		    got.v[i].list_id != 0) {
			fprintf(stderr,
				"    trie entry %zu: %s action %u list %u, want %s action %d\n", i,
				buf, got.v[i].action, got.v[i].list_id,
				i < n ? want_prefix[i] : "(none)", i < n ? want_action[i] : -1);
			goto out;
		}
	}
	if (got.n != n) {
		fprintf(stderr, "    %zu trie entries, want %zu\n", got.n, n);
		goto out;
	}
	rc = 0;
out:
	prefix_list_free(&got);
	return rc;
}

XDP_TEST(verdict_tries_hold_exactly_the_compiled_entries)
{
	static const char *const want[] = {NULL};
	static const int act[] = {0};

	/* 10.1.2.0/24 and 2001:db8:1:2::/64 lie inside allow prefixes and
	 * 203.0.113.0/24 is in both lists: none of them is a block entry; the
	 * /24s without a longer prefix inside never reach the IPv4 trie */
	CHECK(xdp_set_lists(LIST("10.1.2.0/24", "192.0.2.0/24", "203.0.113.0/24", "2001:db8::/32",
				 "2001:db8:1:2::/64", "198.51.100.0/24"),
			    LIST("10.0.0.0/8", "203.0.113.0/24", "2001:db8:1::/48",
				 "198.51.100.16/28")) == 0);
	CHECK(expect_tries(want, act) == 0);
	CHECK(all_blocked(LIST("198.51.100.15", "198.51.100.32", "192.0.2.1")) == 0);
	return all_allowed(LIST("198.51.100.16", "198.51.100.31", "10.1.2.3"));
}

XDP_TEST(verdict_tries_after_replacement_hold_only_the_new_entries)
{
	static const char *const want[] = {NULL};
	static const int act[] = {0};

	CHECK(xdp_set_lists(LIST("192.0.2.0/24", "2001:db8::/32", "192.0.2.128/25"),
			    LIST("10.0.0.0/8", "192.0.2.200/32")) == 0);
	CHECK(xdp_set_lists(LIST("198.51.100.0/24"), LIST("2001:db8:2::/48", "198.51.100.7")) == 0);
	CHECK(expect_tries(want, act) == 0);
	CHECK(all_blocked(LIST("198.51.100.6", "198.51.100.8")) == 0);
	return all_allowed(LIST("198.51.100.7", "2001:db8:2::1"));
}
