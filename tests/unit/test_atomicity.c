// SPDX-License-Identifier: GPL-2.0
/*
 * test_atomicity.c - no packet sees half of a change.  One thread floods
 * the XDP program (BPF_PROG_TEST_RUN, repeat) from one source while the
 * test switches between two list configurations as fast as it can.  The
 * two are built so that a mixed view is visible: in A the source's /24 has
 * verdict class 1 = "block (list 1)"; in B class 1 is "allow (list 2)" for
 * another /24 and the source's /24 is class 2 = "block (list 3)".  A packet
 * that took A's table and B's classes would be allowlisted, which neither
 * configuration ever says for this source.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "prefix.h"

static volatile int flooding;
static int flood_rc;
static uint64_t flood_packets;

static const char *flood_src = "198.51.100.9";

static void *flood(void *arg)
{
	struct pkt_spec s = strchr(flood_src, ':') ? spec_udp6(flood_src, "2001:db8::1")
						   : spec_udp4(flood_src, "192.0.2.1");
	uint8_t f[FRAME_MAX];
	size_t len = build_frame(&s, f, NULL);
	struct xdp_md ctx = {.data_end = (__u32)len, .ingress_ifindex = (__u32)lbt_ifindex()};

	(void)arg;
	while (flooding) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = (__u32)len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 20000);

		if (bpf_prog_test_run_opts(xdp_prog_fd(), &opts)) {
			flood_rc = -1;
			break;
		}
		if (opts.retval != XDP_DROP)
			flood_rc = -2;
		flood_packets += 20000;
	}
	return NULL;
}

/* A flood from src while the lists switch between A (a_blk blocked, list 1)
 * and B (b_alw allowed, list 2; b_blk blocked, list 3) under the production
 * grace period: every packet dropped, none allowlisted.  In A the source is
 * under a block prefix of class 1; in B class 1 is an allow prefix elsewhere,
 * so a table of one generation read with the other's classes says
 * "allowed". */
static int switch_flood(const char *src, const char *a_blk, const char *b_alw, const char *b_blk)
{
	struct prefix_list a_block = {0}, a_allow = {0}, b_block = {0}, b_allow = {0};
	uint64_t allow0 = xdp_count_packets(SR_ALLOWLISTED, XDP_PASS);
	uint64_t block0 = xdp_count_packets(SR_BLOCKLIST, XDP_DROP);
	pthread_t t;
	int switches = 0;

	test_list_push(&a_block, a_blk, 1);
	test_list_push(&b_allow, b_alw, 2);
	test_list_push(&b_block, b_blk, 3);
	flood_src = src;
	flood_packets = 0;
	CHECK(xdp_set_prefix_lists(&a_block, &a_allow) == 0);
	xdp_set_grace_ns(20000000ull);
	flooding = 1;
	CHECK(pthread_create(&t, NULL, flood, NULL) == 0);
	for (int i = 0; i < 40; i++) {
		CHECK(xdp_set_prefix_lists(i % 2 ? &a_block : &b_block, i % 2 ? &a_allow : &b_allow) ==
		      0);
		switches++;
	}
	flooding = 0;
	pthread_join(t, NULL);
	xdp_set_grace_ns(0);
	flood_src = "198.51.100.9";
	CHECK_EQ(flood_rc, 0);
	CHECK(flood_packets > 0);
	CHECK_EQ(xdp_count_packets(SR_ALLOWLISTED, XDP_PASS) - allow0, 0);
	CHECK_EQ(xdp_count_packets(SR_BLOCKLIST, XDP_DROP) - block0, flood_packets);
	fprintf(stderr, "    %s: %llu packets across %d generation switches, none mixed\n", src,
		(unsigned long long)flood_packets, switches);
	prefix_list_free(&a_block);
	prefix_list_free(&b_block);
	prefix_list_free(&b_allow);
	return 0;
}

XDP_TEST(flood_during_switches_never_sees_a_mixed_generation)
{
	/* the /24 decides in both generations: class 1 (the primary) in A, class
	 * 2 in B, where the allow /23 covers more /24s and so is class 1 */
	return switch_flood("198.51.100.9", "198.51.100.0/24", "203.0.112.0/23", "198.51.100.0/24");
}

/* The same through the second levels: the source's /24 has a detail entry
 * (IPv4) or its bucket an entry in the dense array (IPv6). */
XDP_TEST(flood_during_switches_through_v4_details_never_sees_a_mixed_generation)
{
	/* A: 198.51.100.0/24 is detail 0, ranges [class 1 (block) | none];
	 * B: the allow /16 covers the most /24s, so it is class 1 (primary),
	 * the block /29 class 2, and 198.51.100.0/24 is detail 0 again, ranges
	 * [none | class 2 | none].  A's detail read with B's classes says
	 * "allowed"; B's read with A's names a class A does not have. */
	return switch_flood("198.51.100.9", "198.51.100.0/28", "203.0.0.0/16", "198.51.100.8/29");
}

XDP_TEST(flood_during_switches_through_v6_bucket_entries_never_sees_a_mixed_generation)
{
	return switch_flood("2001:db8:0:1::9", "2001:db8:0:1::/64", "2001:db8:1::/48",
			    "2001:db8::/48");
}
