// SPDX-License-Identifier: GPL-2.0
/*
 * test_lb_nexthop.c - the load balancer's per-CPU next-hop cache
 * (lb_nexthop, xdp/lb.h lb_nh_out) through the real XDP program: a FIB
 * answer is cached per backend and used by the next packets; a generation
 * switch, a changed backend and age invalidate it; FIB failures keep their
 * verdicts and are never cached.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "prefix.h"
#include "services.h"
#include "web_service.h"

#define NH_VIP "192.0.2.10"
#define NH_POISON "\x02\x00\x00\x00\xca\xfe" /* a MAC no neighbour entry has */

/* NH_VIP:80/tcp -> the given backends. */
static int nh_services(struct web_service *f, const char *const *addrs)
{
	return web_service_load(f, NH_VIP, addrs, 0);
}

/* An established flow's packet (ACK) from the test client to the VIP.
 * Every call is a flow of its own (client port): a flow's second packet is
 * translated from the NAT flow cache (test_lb_flow_cache.c), which holds
 * the next hop too, and would not show what lb_nexthop does. */
static int nh_send(struct run_result *r, struct frame_layout *lay)
{
	static uint16_t next_port = 41000;

	uint8_t in[FRAME_MAX];
	struct pkt_spec s = spec_tcp4(LBT_CLIENT4, NH_VIP);
	size_t len;

	s.sport = next_port++;
	if (next_port < 41000)
		next_port = 41000;
	s.dport = 80;
	s.tcp_flags = 0x10;
	s.payload = 24;
	len = build_frame(&s, in, lay);
	frame_fill_l4_csum(in, lay, 4, IPPROTO_TCP);
	return xdp_run(in, len, r);
}

/* The configuration serial packets run under now. */
static int nh_serial(uint32_t *serial)
{
	struct sluice_state st;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(xdp_map_fd("sluice_state"), &zero, &st))
		return -1;
	*serial = st.serial;
	return 0;
}

/* The cache entries of backend bid on every CPU; returns how many CPUs hold
 * one filled under the current serial (the first is copied to *first).
 * Entries of earlier tests (same backend id, older serial) do not count:
 * the data path ignores them too. */
static int nh_read(uint32_t bid, struct sluice_nexthop *all, int ncpu,
		   struct sluice_nexthop *first)
{
	int fd = xdp_map_fd("lb_nexthop"), n = 0;
	uint32_t serial;

	if (fd < 0 || bpf_map_lookup_elem(fd, &bid, all) || nh_serial(&serial))
		return -1;
	for (int i = 0; i < ncpu; i++)
		if (all[i].filled_ns && all[i].serial == serial) {
			if (!n++)
				*first = all[i];
		}
	return n;
}

/* Overwrite the cached destination MAC of backend bid on every CPU that has
 * an entry: a packet carrying it afterwards got its next hop from the cache. */
static int nh_poison(uint32_t bid)
{
	int ncpu = libbpf_num_possible_cpus(), fd = xdp_map_fd("lb_nexthop");
	struct sluice_nexthop *all = calloc((size_t)ncpu, sizeof(*all)), first;
	int rc = -1;

	if (all && nh_read(bid, all, ncpu, &first) > 0) {
		for (int i = 0; i < ncpu; i++)
			memcpy(all[i].dmac, NH_POISON, 6);
		rc = bpf_map_update_elem(fd, &bid, all, 0);
	}
	free(all);
	return rc;
}

static int nh_entry(uint32_t bid, struct sluice_nexthop *first)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_nexthop *all = calloc((size_t)ncpu, sizeof(*all));
	int n = all ? nh_read(bid, all, ncpu, first) : -1;

	free(all);
	return n;
}

XDP_TEST(lb_nexthop_fib_answer_is_cached_and_used_by_the_next_packet)
{
	static const char *const one[] = {"203.0.113.11", NULL};
	struct sluice_nexthop e;
	struct frame_layout lay;
	struct run_result r;
	uint32_t bid, want[4] = {0};

	CHECK(nh_services(&(struct web_service){0}, one) == 0);
	bid = xdp_backend_id("203.0.113.11", 8080);
	CHECK(bid != 0);
	CHECK_EQ(nh_entry(bid, &e), 0); /* nothing cached before the first packet */
	CHECK(nh_send(&r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_FORWARD);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	/* the FIB's answer, for this backend, arriving on this device */
	CHECK_EQ(nh_entry(bid, &e), 1);
	CHECK_EQ(e.out_ifindex, lbt_ifindex());
	CHECK_EQ(e.in_ifindex, lbt_ifindex());
	CHECK(memcmp(e.dmac, LBT_BACKEND_MAC, 6) == 0);
	CHECK(memcmp(e.smac, lbt_dev_mac(), 6) == 0);
	inet_pton(AF_INET, "203.0.113.11", want);
	CHECK(memcmp(e.addr, want, 16) == 0);
	/* the next packet takes its MACs from the cache, not from the FIB */
	CHECK(nh_poison(bid) == 0);
	CHECK(nh_send(&r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_FORWARD);
	CHECK(memcmp(r.out, NH_POISON, 6) == 0);
	CHECK(memcmp(r.out + 6, lbt_dev_mac(), 6) == 0);
	CHECK(frame_ipv4_csum_ok(r.out, &lay));
	CHECK(frame_l4_csum_ok(r.out, &lay, 4, IPPROTO_TCP));
	return 0;
}

XDP_TEST(lb_nexthop_cache_is_invalidated_when_the_backend_changes)
{
	static const char *const before[] = {"203.0.113.11", NULL};
	static const char *const after[] = {"203.0.113.12", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	uint32_t bid;

	CHECK(nh_services(&f, before) == 0);
	CHECK(nh_send(&r, &lay) == 0);
	bid = xdp_backend_id("203.0.113.11", 8080);
	CHECK(nh_poison(bid) == 0);
	/* the service's backend is replaced: the flow moves, and its packets
	 * get the new backend's next hop from the FIB, not the old entry */
	CHECK(nh_services(&f, after) == 0);
	CHECK(nh_send(&r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.out[lay.l3 + 19], 12);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	return 0;
}

XDP_TEST(lb_nexthop_cache_is_invalidated_by_a_generation_switch)
{
	static const char *const one[] = {"203.0.113.11", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	uint32_t bid;

	CHECK(nh_services(&f, one) == 0);
	CHECK(nh_send(&r, &lay) == 0);
	bid = xdp_backend_id("203.0.113.11", 8080);
	CHECK(nh_poison(bid) == 0);
	CHECK(nh_send(&r, &lay) == 0);
	CHECK(memcmp(r.out, NH_POISON, 6) == 0);
	/* the same services again: only the generation (serial) changes */
	CHECK(xdp_set_services(&f.model) == 0);
	CHECK(nh_send(&r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	return 0;
}

XDP_TEST(lb_nexthop_neighbour_change_is_seen_within_the_age_bound)
{
	static const char *const one[] = {"203.0.113.11", NULL};
	struct frame_layout lay;
	struct run_result r;
	struct timespec wait = {.tv_sec = 0,
				.tv_nsec = (long)(LB_NH_MAX_AGE_NS + 50000000ull)};
	int rc = 0;

	CHECK(nh_services(&(struct web_service){0}, one) == 0);
	CHECK(nh_send(&r, &lay) == 0);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	CHECK(system("ip neigh replace 203.0.113.11 lladdr 02:00:00:00:be:02 nud permanent "
		     "dev " LBT_DEV) == 0);
	nanosleep(&wait, NULL);
	if (nh_send(&r, &lay) || r.action != XDP_TX ||
	    memcmp(r.out, "\x02\x00\x00\x00\xbe\x02", 6) != 0) {
		fprintf(stderr, "    the new neighbour MAC was not used %llu ms after the change\n",
			(unsigned long long)(wait.tv_nsec / 1000000));
		rc = -1;
	}
	/* the other tests expect every backend at the shared MAC */
	CHECK(system("ip neigh replace 203.0.113.11 lladdr 02:00:00:00:be:01 nud permanent "
		     "dev " LBT_DEV) == 0);
	return rc;
}

XDP_TEST(lb_nexthop_fib_failures_keep_their_verdicts_and_are_not_cached)
{
	/* 192.0.2.99: no route in the test namespace; 203.0.113.99: on the
	 * link but without a neighbour entry */
	static const char *const unroutable[] = {"192.0.2.99", NULL};
	static const char *const no_neigh[] = {"203.0.113.99", NULL};
	struct sluice_nexthop e;
	struct frame_layout lay;
	struct run_result r;
	uint32_t bid;

	CHECK(nh_services(&(struct web_service){0}, unroutable) == 0);
	bid = xdp_backend_id("192.0.2.99", 8080);
	for (int i = 0; i < 2; i++) {
		CHECK(nh_send(&r, &lay) == 0);
		CHECK_EQ(r.action, XDP_DROP);
		CHECK_EQ(r.reason, SR_LB_FIB_FAIL);
		CHECK_EQ(nh_entry(bid, &e), 0);
	}
	CHECK(nh_services(&(struct web_service){0}, no_neigh) == 0);
	bid = xdp_backend_id("203.0.113.99", 8080);
	for (int i = 0; i < 2; i++) {
		CHECK(nh_send(&r, &lay) == 0);
		CHECK_EQ(r.action, XDP_PASS); /* the stack resolves the neighbour */
		CHECK_EQ(r.reason, SR_LB_FORWARD);
		CHECK_EQ(nh_entry(bid, &e), 0);
	}
	return 0;
}
