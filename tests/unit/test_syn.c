// SPDX-License-Identifier: GPL-2.0
/*
 * test_syn.c - per-source SYN token buckets in XDP: burst, per-source and
 * per-/64 buckets, refill, identity classes with their own limits, and what
 * does not pay (allowlisted sources, non-SYN segments).
 */
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "model.h"
#include "prefix.h"

static struct sluice_model model;
static struct identity_cfg ident;

/* syn_guard for sources in no identity; "partner" 192.0.2.0/24 its own. */
static int set_limits(uint32_t rate, uint32_t burst, uint32_t partner_rate)
{
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN];

	prefix_list_free(&ident.prefixes);
	memset(&model, 0, sizeof(model));
	memset(&ident, 0, sizeof(ident));
	snprintf(ident.name, sizeof(ident.name), "partner");
	ident.id = 1;
	ident.syn_rate = partner_rate;
	ident.syn_burst = partner_rate;
	if (prefix_parse("192.0.2.0/24", &p, err, sizeof(err)))
		return -1;
	prefix_list_push(&ident.prefixes, &p);
	model.identities = &ident;
	model.n_identities = 1;
	model.syn_rate = rate;
	model.syn_burst = burst;
	return xdp_set_pods(&model);
}

/* n segments with TCP flags from src (fresh source ports: new flows). */
static int send_syns(const char *src, int n, uint8_t flags, int *passed, int *limited)
{
	*passed = *limited = 0;
	for (int i = 0; i < n; i++) {
		struct pkt_spec s = strchr(src, ':') ? spec_tcp6(src, "2001:db8::1")
						     : spec_tcp4(src, "203.0.113.1");
		struct run_result r;

		s.sport = (uint16_t)(30000 + i);
		s.tcp_flags = flags;
		if (xdp_run_spec(&s, &r) < 0)
			return -1;
		if (r.reason == SR_SYN_RATE && r.action == XDP_DROP)
			(*limited)++;
		else if (r.action == XDP_PASS)
			(*passed)++;
	}
	return 0;
}

enum { SYN = 0x02, ACK = 0x10, SYN_ACK = 0x12 };

/* n segments with flags from src: exactly want of them pass. */
static int expect_passed(const char *src, int n, uint8_t flags, int want)
{
	int ok, lim;

	CHECK(send_syns(src, n, flags, &ok, &lim) == 0);
	if (ok != want)
		fprintf(stderr, "    %d segments (flags 0x%02x) from %s\n", n, flags, src);
	CHECK_EQ(ok, want);
	return 0;
}

XDP_TEST(syn_burst_passes_then_the_rest_is_dropped)
{
	int ok, lim;

	CHECK(set_limits(10, 5, 0) == 0);
	CHECK(send_syns("198.51.100.9", 8, SYN, &ok, &lim) == 0);
	CHECK_EQ(ok, 5);
	CHECK_EQ(lim, 3);
	return 0;
}

XDP_TEST(syn_buckets_are_per_source)
{
	CHECK(set_limits(10, 3, 0) == 0);
	CHECK(expect_passed("198.51.100.9", 5, SYN, 3) == 0);
	CHECK(expect_passed("198.51.100.10", 5, SYN, 3) == 0);
	return 0;
}

XDP_TEST(syn_ipv6_bucket_covers_the_source_64)
{
	CHECK(set_limits(10, 4, 0) == 0);
	CHECK(expect_passed("2001:db8:1::1", 3, SYN, 3) == 0);
	CHECK(expect_passed("2001:db8:1::ffff", 3, SYN, 1) == 0); /* same /64 */
	CHECK(expect_passed("2001:db8:1:1::1", 3, SYN, 3) == 0);  /* next /64 */
	return 0;
}

XDP_TEST(syn_bucket_refills_at_its_rate)
{
	struct timespec pause = {0, 300000000}; /* >= 3 tokens at 10/s */
	int ok, lim;

	CHECK(set_limits(10, 5, 0) == 0);
	CHECK(expect_passed("198.51.100.9", 6, SYN, 5) == 0);
	nanosleep(&pause, NULL);
	CHECK(send_syns("198.51.100.9", 10, SYN, &ok, &lim) == 0);
	/* at least what 300 ms earn, never more than the burst */
	CHECK(ok >= 3 && ok <= 5);
	return 0;
}

XDP_TEST(syn_identity_class_has_its_own_limit)
{
	CHECK(set_limits(2, 2, 50) == 0);
	CHECK(expect_passed("192.0.2.77", 20, SYN, 20) == 0);  /* partner: 50/s */
	CHECK(expect_passed("198.51.100.9", 20, SYN, 2) == 0); /* unknown: 2/s */
	return 0;
}

XDP_TEST(syn_limit_zero_means_unlimited)
{
	CHECK(set_limits(0, 0, 0) == 0);
	return expect_passed("198.51.100.9", 30, SYN, 30);
}

XDP_TEST(syn_only_bare_syns_pay)
{
	CHECK(set_limits(1, 1, 0) == 0);
	CHECK(expect_passed("198.51.100.9", 10, ACK, 10) == 0);
	CHECK(expect_passed("198.51.100.9", 10, SYN_ACK, 10) == 0);
	return 0;
}

XDP_TEST(syn_allowlisted_sources_are_exempt)
{
	static const char *const none[] = {NULL}, *const allow[] = {"198.51.100.9/32", NULL};

	CHECK(set_limits(1, 1, 0) == 0);
	CHECK(xdp_set_lists(none, allow) == 0);
	return expect_passed("198.51.100.9", 10, SYN, 10);
}
