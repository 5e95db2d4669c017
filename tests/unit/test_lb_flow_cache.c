// SPDX-License-Identifier: GPL-2.0
/*
 * test_lb_flow_cache.c - the NAT flow cache (lb_flow_cache, xdp/lb_flow_cache.h)
 * through the real XDP program: an established flow's packets are translated
 * from its slot (proved by poisoning the slot's MAC), a generation switch or
 * a backend change invalidates it, a bare SYN forgets it, two flows in the
 * same slot each keep their own backend, and replies are cached the same way.
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

#define FC_VIP "192.0.2.10"
#define FC_POISON "\x02\x00\x00\x00\xca\xfe" /* a MAC no neighbour entry has */

/* FC_VIP:80/tcp -> the given backends (the first draining if drain_first). */
static int fc_services(struct web_service *f, const char *const *addrs, int drain_first)
{
	return web_service_load(f, FC_VIP, addrs, drain_first);
}

/* A client -> VIP packet of flow sport with these TCP flags. */
static int fc_send(uint16_t sport, uint8_t flags, struct run_result *r, struct frame_layout *lay)
{
	uint8_t in[FRAME_MAX];
	struct pkt_spec s = spec_tcp4(LBT_CLIENT4, FC_VIP);
	size_t len;

	s.sport = sport;
	s.dport = 80;
	s.tcp_flags = flags;
	s.payload = 24;
	len = build_frame(&s, in, lay);
	frame_fill_l4_csum(in, lay, 4, IPPROTO_TCP);
	return xdp_run(in, len, r);
}

/* A reply from backend (port 8080) to the client's port dport. */
static int fc_reply(const char *backend, uint16_t dport, struct run_result *r,
		    struct frame_layout *lay)
{
	uint8_t in[FRAME_MAX];
	struct pkt_spec s = spec_tcp4(backend, LBT_CLIENT4);
	size_t len;

	s.sport = 8080;
	s.dport = dport;
	s.tcp_flags = 0x10;
	s.payload = 24;
	len = build_frame(&s, in, lay);
	frame_fill_l4_csum(in, lay, 4, IPPROTO_TCP);
	return xdp_run(in, len, r);
}

/* The slot of a tuple as lb_fc_index computes it, recomputed here
 * independently of the BPF code. */
static uint32_t fc_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t fc_index(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport)
{
	/* words as the program sees them: network byte order in memory */
	uint32_t ports = ((uint32_t)htons(sport) << 16) | htons(dport);

	return fc_mix(saddr ^ daddr * 0x9e3779b1u ^ ports * 0x85ebca6bu ^ IPPROTO_TCP) &
	       (LB_FC_SLOTS - 1);
}

static uint32_t fc_slot(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint32_t a, b;

	inet_pton(AF_INET, src, &a);
	inet_pton(AF_INET, dst, &b);
	return fc_index(a, b, sport, dport);
}

/* Overwrite the destination MAC of slot idx on every CPU that has it
 * filled: a packet leaving with it was translated from the cache.  Returns
 * how many CPUs had it filled, or -1. */
static int fc_poison(uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus(), fd = xdp_map_fd("lb_flow_cache"), n = 0;
	struct sluice_flow_slot *all = calloc((size_t)ncpu, sizeof(*all));

	if (!all || fd < 0 || bpf_map_lookup_elem(fd, &idx, all)) {
		free(all);
		return -1;
	}
	for (int c = 0; c < ncpu; c++)
		if (all[c].dir) {
			memcpy(all[c].dmac, FC_POISON, 6);
			n++;
		}
	if (n && bpf_map_update_elem(fd, &idx, all, 0))
		n = -1;
	free(all);
	return n;
}

/* A client -> VIP slot lives LB_FC_FWD_AGE_MS (one to two ticks): fill,
 * poison and send again until the poisoned slot answered in time (a test
 * preempted past the age gets another try; 5 misses fail). */
static int fc_send_from_slot(uint16_t sport, struct run_result *r, struct frame_layout *lay)
{
	uint32_t idx = fc_slot(LBT_CLIENT4, FC_VIP, sport, 80);

	for (int i = 0; i < 5; i++) {
		if (fc_send(sport, 0x10, r, lay) || fc_poison(idx) < 1 ||
		    fc_send(sport, 0x10, r, lay))
			return -1;
		if (!memcmp(r->out, FC_POISON, 6))
			return 0;
	}
	fprintf(stderr, "    flow %u: never translated from its slot\n", sport);
	return -1;
}

/* The same for a reply from backend:8080 to the client's port dport. */
static int fc_reply_from_slot(const char *backend, uint16_t dport, struct run_result *r,
			      struct frame_layout *lay)
{
	uint32_t idx = fc_slot(backend, LBT_CLIENT4, 8080, dport);

	for (int i = 0; i < 5; i++) {
		if (fc_reply(backend, dport, r, lay) || fc_poison(idx) < 1 ||
		    fc_reply(backend, dport, r, lay))
			return -1;
		if (!memcmp(r->out, FC_POISON, 6))
			return 0;
	}
	fprintf(stderr, "    reply from %s: never translated from its slot\n", backend);
	return -1;
}

static int out_backend(const struct run_result *r, const struct frame_layout *lay)
{
	return r->out[lay->l3 + 19];
}

XDP_TEST(lb_flow_cache_established_flow_is_translated_from_its_slot)
{
	static const char *const two[] = {"203.0.113.11", "203.0.113.12", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	uint8_t first[FRAME_MAX];
	int be;

	CHECK(fc_services(&f, two, 0) == 0);
	CHECK(fc_send(41000, 0x10, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_FORWARD);
	be = out_backend(&r, &lay);
	memcpy(first, r.out, r.out_len);
	CHECK(fc_send_from_slot(41000, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_FORWARD);
	CHECK(memcmp(r.out, FC_POISON, 6) == 0);
	/* apart from the poisoned MAC, byte for byte what the full path made */
	CHECK(memcmp(r.out + 6, first + 6, r.out_len - 6) == 0);
	CHECK_EQ(out_backend(&r, &lay), be);
	CHECK(frame_ipv4_csum_ok(r.out, &lay));
	CHECK(frame_l4_csum_ok(r.out, &lay, 4, IPPROTO_TCP));
	return 0;
}

XDP_TEST(lb_flow_cache_reply_is_translated_from_its_slot)
{
	static const char *const one[] = {"203.0.113.12", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	uint8_t first[FRAME_MAX];

	CHECK(fc_services(&f, one, 0) == 0);
	CHECK(fc_reply("203.0.113.12", 41000, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_REPLY);
	CHECK(memcmp(r.out, LBT_CLIENT_MAC, 6) == 0);
	memcpy(first, r.out, r.out_len);
	CHECK(fc_reply_from_slot("203.0.113.12", 41000, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_REPLY);
	CHECK(memcmp(r.out, FC_POISON, 6) == 0);
	CHECK(memcmp(r.out + 6, first + 6, r.out_len - 6) == 0);
	CHECK(frame_ipv4_csum_ok(r.out, &lay));
	CHECK(frame_l4_csum_ok(r.out, &lay, 4, IPPROTO_TCP));
	return 0;
}

XDP_TEST(lb_flow_cache_is_invalidated_by_a_generation_switch)
{
	static const char *const one[] = {"203.0.113.11", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;

	CHECK(fc_services(&f, one, 0) == 0);
	CHECK(fc_send_from_slot(41000, &r, &lay) == 0);
	CHECK(fc_reply_from_slot("203.0.113.11", 41000, &r, &lay) == 0);
	CHECK(fc_poison(fc_slot(LBT_CLIENT4, FC_VIP, 41000, 80)) >= 1);
	CHECK(fc_poison(fc_slot("203.0.113.11", LBT_CLIENT4, 8080, 41000)) >= 1);
	/* the same services again: only the generation (serial) changes (the
	 * reply's slot would be young enough still: 250 ms) */
	CHECK(xdp_set_services(&f.model) == 0);
	CHECK(fc_send(41000, 0x10, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	CHECK(fc_reply("203.0.113.11", 41000, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK(memcmp(r.out, LBT_CLIENT_MAC, 6) == 0);
	return 0;
}

XDP_TEST(lb_flow_cache_is_invalidated_when_the_backend_goes_down)
{
	static const char *const two[] = {"203.0.113.11", "203.0.113.12", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	int be, other;

	CHECK(fc_services(&f, two, 0) == 0);
	CHECK(fc_send(41000, 0x10, &r, &lay) == 0);
	be = out_backend(&r, &lay);
	CHECK(be == 11 || be == 12);
	CHECK(fc_send(41000, 0x10, &r, &lay) == 0); /* from the slot now */
	CHECK_EQ(out_backend(&r, &lay), be);
	/* the flow's backend goes down: its packets move to the other one */
	f.be[be == 11 ? 0 : 1].state = SLUICE_BE_DOWN;
	CHECK(xdp_set_services(&f.model) == 0);
	other = be == 11 ? 12 : 11;
	for (int i = 0; i < 2; i++) {
		CHECK(fc_send(41000, 0x10, &r, &lay) == 0);
		CHECK_EQ(r.action, XDP_TX);
		CHECK_EQ(out_backend(&r, &lay), other);
	}
	return 0;
}

XDP_TEST(lb_flow_cache_bare_syn_reusing_a_tuple_avoids_the_draining_backend)
{
	static const char *const two[] = {"203.0.113.11", "203.0.113.12", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	uint16_t sport = 0;

	/* a flow on .11, established and cached */
	CHECK(fc_services(&f, two, 0) == 0);
	for (uint16_t p = 41000; p < 41100 && !sport; p++) {
		CHECK(fc_send(p, 0x10, &r, &lay) == 0);
		if (out_backend(&r, &lay) == 11)
			sport = p;
	}
	CHECK(sport != 0);
	CHECK(fc_send(sport, 0x10, &r, &lay) == 0);
	CHECK_EQ(out_backend(&r, &lay), 11);
	/* .11 drains: the established flow stays there, from the slot */
	CHECK(fc_services(&f, two, 1) == 0);
	for (int i = 0; i < 2; i++) {
		CHECK(fc_send(sport, 0x10, &r, &lay) == 0);
		CHECK_EQ(out_backend(&r, &lay), 11);
	}
	/* a new connection reusing the tuple: its SYN and the ACK after it go
	 * to the active backend, not the slot's draining one */
	CHECK(fc_send(sport, 0x02, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(out_backend(&r, &lay), 12);
	CHECK(fc_send(sport, 0x10, &r, &lay) == 0);
	CHECK_EQ(out_backend(&r, &lay), 12);
	CHECK(fc_send(sport, 0x10, &r, &lay) == 0);
	CHECK_EQ(out_backend(&r, &lay), 12);
	return 0;
}

XDP_TEST(lb_flow_cache_two_flows_in_one_slot_each_keep_their_backend)
{
	static const char *const four[] = {"203.0.113.11", "203.0.113.12", "203.0.113.13",
					   "203.0.113.14", NULL};
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	uint32_t c, v, slot_of[65536];
	uint16_t a = 0, b = 0;
	int be_a = -1, be_b = -1;

	inet_pton(AF_INET, LBT_CLIENT4, &c);
	inet_pton(AF_INET, FC_VIP, &v);
	CHECK(fc_services(&f, four, 0) == 0);
	/* the first pair of ports in one slot whose flows Maglev puts on
	 * different backends */
	for (uint32_t p = 40000; p < 60000 && !b; p++) {
		slot_of[p] = fc_index(c, v, (uint16_t)p, 80);
		for (uint32_t q = 40000; q < p && !b; q++) {
			if (slot_of[q] != slot_of[p])
				continue;
			CHECK(fc_send((uint16_t)q, 0x10, &r, &lay) == 0);
			be_a = out_backend(&r, &lay);
			CHECK(fc_send((uint16_t)p, 0x10, &r, &lay) == 0);
			be_b = out_backend(&r, &lay);
			if (be_a != be_b) {
				a = (uint16_t)q;
				b = (uint16_t)p;
			}
		}
	}
	CHECK(b != 0);
	/* alternating: each evicts the other from the slot, each keeps its backend */
	for (int i = 0; i < 4; i++) {
		CHECK(fc_send(a, 0x10, &r, &lay) == 0);
		CHECK_EQ(r.action, XDP_TX);
		CHECK_EQ(out_backend(&r, &lay), be_a);
		CHECK(frame_l4_csum_ok(r.out, &lay, 4, IPPROTO_TCP));
		CHECK(fc_send(b, 0x10, &r, &lay) == 0);
		CHECK_EQ(r.action, XDP_TX);
		CHECK_EQ(out_backend(&r, &lay), be_b);
		CHECK(frame_l4_csum_ok(r.out, &lay, 4, IPPROTO_TCP));
	}
	/* and from the slot: the second flow holds it now */
	CHECK(fc_send_from_slot(b, &r, &lay) == 0);
	CHECK_EQ(out_backend(&r, &lay), be_b);
	CHECK(fc_send(a, 0x10, &r, &lay) == 0);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	CHECK_EQ(out_backend(&r, &lay), be_a);
	return 0;
}

/* The connection entry of a cached client -> VIP flow, by key. */
static int fc_conn(uint16_t sport, int del)
{
	struct sluice_flow_key k = {
	    .sport = htons(sport), .dport = htons(80), .proto = IPPROTO_TCP, .family = 4};
	struct sluice_conn c;
	int fd = xdp_map_fd("lb_conns");

	inet_pton(AF_INET, LBT_CLIENT4, k.src);
	inet_pton(AF_INET, FC_VIP, k.dst);
	if (del)
		return bpf_map_delete_elem(fd, &k);
	return bpf_map_lookup_elem(fd, &k, &c);
}

XDP_TEST(lb_flow_cache_slot_looks_the_connection_up_again_after_its_age)
{
	static const char *const one[] = {"203.0.113.11", NULL};
	struct timespec past_age = {.tv_nsec = (long)(LB_FC_FWD_AGE_MS + 20) * 1000000L};
	uint32_t idx = fc_slot(LBT_CLIENT4, FC_VIP, 41000, 80);
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	int served = 0;

	CHECK(fc_services(&f, one, 0) == 0);
	/* past the age, with the entry there: looked up, and the slot serves on
	 * (slots are per CPU: a test moved to the other CPU while it slept gets
	 * another try) */
	for (int i = 0; i < 5 && !served; i++) {
		CHECK(fc_send_from_slot(41000, &r, &lay) == 0);
		CHECK(fc_poison(idx) >= 1);
		nanosleep(&past_age, NULL);
		CHECK(fc_send(41000, 0x10, &r, &lay) == 0);
		CHECK_EQ(r.action, XDP_TX);
		served = !memcmp(r.out, FC_POISON, 6);
	}
	CHECK(served);
	/* the entry gone (LRU eviction): past the age the slot is not used, the
	 * full path makes the entry again */
	CHECK(fc_conn(41000, 1) == 0);
	CHECK(fc_poison(idx) >= 1);
	nanosleep(&past_age, NULL);
	CHECK(fc_send(41000, 0x10, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_FORWARD);
	CHECK(memcmp(r.out, LBT_BACKEND_MAC, 6) == 0);
	CHECK(fc_conn(41000, 0) == 0);
	return 0;
}

/* IPv6 runs the same slot code; its index folds the four address words. */
#define FC_VIP6 "2001:db8:10::10"

static int fc_send6(uint16_t sport, struct run_result *r, struct frame_layout *lay)
{
	uint8_t in[FRAME_MAX];
	struct pkt_spec s = spec_tcp6(LBT_CLIENT6, FC_VIP6);
	size_t len;

	s.sport = sport;
	s.dport = 80;
	s.tcp_flags = 0x10;
	s.payload = 24;
	len = build_frame(&s, in, lay);
	frame_fill_l4_csum(in, lay, 6, IPPROTO_TCP);
	return xdp_run(in, len, r);
}

static uint32_t fc_fold6(const char *addr)
{
	uint32_t w[4];

	inet_pton(AF_INET6, addr, w);
	return w[0] ^ w[1] ^ w[2] ^ w[3];
}

XDP_TEST(lb_flow_cache_ipv6_flow_is_translated_from_its_slot)
{
	static const char *const two[] = {"2001:db8:20::11", "2001:db8:20::12", NULL};
	uint32_t idx = fc_index(fc_fold6(LBT_CLIENT6), fc_fold6(FC_VIP6), 41006, 80);
	struct web_service f;
	struct frame_layout lay;
	struct run_result r;
	uint8_t first[FRAME_MAX];
	int tries = 0;

	CHECK(web_service_load(&f, FC_VIP6, two, 0) == 0);
	CHECK(fc_send6(41006, &r, &lay) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(r.reason, SR_LB_FORWARD);
	memcpy(first, r.out, r.out_len);
	do { /* fill, poison, send again within the slot's age (see fc_send_from_slot) */
		CHECK(fc_send6(41006, &r, &lay) == 0);
		CHECK(fc_poison(idx) >= 1);
		CHECK(fc_send6(41006, &r, &lay) == 0);
	} while (memcmp(r.out, FC_POISON, 6) && ++tries < 5);
	CHECK(memcmp(r.out, FC_POISON, 6) == 0);
	CHECK_EQ(r.action, XDP_TX);
	/* apart from the poisoned MAC, byte for byte what the full path made */
	CHECK(memcmp(r.out + 6, first + 6, r.out_len - 6) == 0);
	CHECK(frame_l4_csum_ok(r.out, &lay, 6, IPPROTO_TCP));
	return 0;
}
