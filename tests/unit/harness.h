/* SPDX-License-Identifier: GPL-2.0 */
/*
 * harness.h - a small test runner: TEST() registers a function, CHECK*()
 * fail it with file:line and the values involved, and the XDP fixture runs
 * crafted frames through the real sluice object with BPF_PROG_TEST_RUN.
 */
#ifndef SLUICE_TEST_HARNESS_H
#define SLUICE_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <linux/bpf.h>

#include "frames.h"
#include "sluice_maps.h"

typedef int (*test_fn)(void);
void register_test(const char *name, test_fn fn, const char *needs);

/* needs: NULL for pure userspace tests, "xdp" for tests that use the XDP
 * fixture (loaded once, reset before each such test). */
#define TEST_NEEDS(name, needs)                                                                    \
	static int name(void);                                                                     \
	__attribute__((constructor)) static void reg_##name(void)                                  \
	{                                                                                          \
		register_test(#name, name, needs);                                                 \
	}                                                                                          \
	static int name(void)
#define TEST(name) TEST_NEEDS(name, NULL)
#define XDP_TEST(name) TEST_NEEDS(name, "xdp")
/* The IPv4 and the IPv6 test of one case function: name4 returns fn(4),
 * name6 fn(6). */
#define XDP_FAMILY_TESTS(name4, name6, fn)                                                         \
	XDP_TEST(name4)                                                                            \
	{                                                                                          \
		return fn(4);                                                                      \
	}                                                                                          \
	XDP_TEST(name6)                                                                            \
	{                                                                                          \
		return fn(6);                                                                      \
	}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long va_ = (long long)(a), vb_ = (long long)(b);                              \
		if (va_ != vb_) {                                                                  \
			fprintf(stderr, "    %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,         \
				__LINE__, #a, #b, va_, vb_);                                       \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

/* ---- XDP fixture ------------------------------------------------------ */

struct run_result {
	int action;
	int reason;          /* from the counter delta: which slot moved */
	int tagged;          /* a valid sluice_meta was in front of the data */
	struct sluice_meta meta;
	size_t out_len;      /* packet bytes after the metadata */
	uint8_t out[FRAME_MAX + 256];
};

/* Run one frame through the XDP program; fills r (action, reason, meta). */
int xdp_run(const uint8_t *frame, size_t len, struct run_result *r);
/* Run one frame without counter bookkeeping (for bulk tests): returns the
 * XDP action or -1; out receives the packet (no metadata). */
int xdp_run_raw(const uint8_t *frame, size_t len, uint8_t *out, size_t *out_len);
/* Build spec, run it, return the result's reason (or -1 on run failure). */
int xdp_run_spec(const struct pkt_spec *s, struct run_result *r);
/* Replace the verdict tries with these lists (NULL-terminated CIDR arrays). */
int xdp_set_lists(const char *const *block, const char *const *allow);
/* The same with parsed lists (list ids kept: per-list attribution). */
struct prefix_list;
int xdp_set_prefix_lists(const struct prefix_list *block, const struct prefix_list *allow);
/* Fast-table limits for the next list writes (0: the maps' sizes; every
 * test starts with none). */
struct verdict_limits;
void xdp_set_table_limits(const struct verdict_limits *lim);
/* Read (and so empty) the events ring buffer: the first max records go to
 * seen (NULL with max 0: none kept); returns how many there were, or -1. */
int xdp_events_drain(struct sluice_event *seen, int max);
/* Sample one event in every (0: none), at most cap a second (0: no cap),
 * on every event slot, with the per-CPU sampling state reset. */
int xdp_events_sample(unsigned every, unsigned cap);
/* Parse cidr and push it onto l under list_id (0: no list); -1 if it
 * does not parse. */
int test_list_push(struct prefix_list *l, const char *cidr, uint32_t list_id);
/* Packets/bytes counted for (reason, action), summed over CPUs. */
uint64_t xdp_count_packets(int reason, int action);
uint64_t xdp_count_bytes(int reason, int action);
/* Packets counted under every (reason, action), summed: one batch read. */
uint64_t xdp_count_total(void);
/* Packets of every counter slot, summed over CPUs, in one batch read. */
int xdp_read_slot_packets(uint64_t *out);
/* Packets of entry key of a per-CPU map of struct sluice_counter (as
 * "tc_counters", "list_counters"), summed over CPUs; UINT64_MAX if the
 * entry cannot be read. */
uint64_t xdp_map_packets(const char *map, uint32_t key);
/* Packets the TC programs counted under reason (enum sluice_tc_reason). */
uint64_t xdp_tc_count_packets(uint32_t reason);
/* The fields of struct sluice_pod_stats, in its order. */
enum pod_stat_field {
	PS_RX_PACKETS,
	PS_RX_BYTES,
	PS_TX_PACKETS,
	PS_TX_BYTES,
	PS_INGRESS_DENIED,
	PS_EGRESS_DENIED,
};
/* One field of a pod's pod_stats entry, summed over CPUs; 0 while the
 * map has no entry for pod_id (nothing counted yet). */
uint64_t xdp_pod_stat(uint32_t pod_id, enum pod_stat_field field);
/* After a BPF_PROG_TEST_RUN of the XDP program into r->out, r->action set:
 * the one counter slot that moved from before to after gives r->reason
 * (-1 with a message when not exactly one packet was counted, or under
 * another action); the meta_len bytes of metadata in front of the
 * data_size_out output bytes fill r->tagged and r->meta, the rest r->out. */
int xdp_settle_result(struct run_result *r, const uint64_t *before, const uint64_t *after,
		      uint32_t meta_len, uint32_t data_size_out);
/* File descriptors of the loaded fixture's maps, for tests that read them. */
int xdp_map_fd(const char *name);
/* Grace period after a switch before the old generation is rewritten (the
 * fixture uses 0: no packet is in flight between test runs). */
void xdp_set_grace_ns(uint64_t ns);
/* The active configuration generation (which _g0/_g1 maps are live). */
int xdp_active_gen(void);
/* The fixture's XDP program, for tests that call BPF_PROG_TEST_RUN themselves. */
int xdp_prog_fd(void);

/* ---- load balancer fixture ---------------------------------------------
 * The XDP fixture runs in a private network namespace with one veth pair:
 * packets "arrive" on LBT_DEV, which has the addresses below, and the FIB
 * knows permanent neighbours for the clients and backends, so the program's
 * bpf_fib_lookup resolves real next hops. */
#define LBT_DEV "lbt0"
#define LBT_CLIENT4 "198.51.100.7"
#define LBT_CLIENT6 "2001:db8:1::7"
#define LBT_CLIENT_MAC "\x02\x00\x00\x00\xc1\x01"
#define LBT_BACKEND_MAC "\x02\x00\x00\x00\xbe\x01" /* every backend's MAC */
/* The MAC of LBT_DEV (source MAC of everything the program transmits). */
const uint8_t *lbt_dev_mac(void);
int lbt_ifindex(void);

struct lb_model;
/* Replace the services (lb_apply into the fixture's maps). */
int xdp_set_services(const struct lb_model *m);
struct policy;
/* The TC programs (tc/policy.bpf.c), loaded once on the fixture's maps. */
struct policy *xdp_tc_obj(void);

struct sluice_model;
/* Replace identities and pods (their addresses and policies). */
int xdp_set_pods(const struct sluice_model *m);
/* Backend id the maps gave (address, port), or 0. */
uint32_t xdp_backend_id(const char *addr, uint16_t port);

#endif
