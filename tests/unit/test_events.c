// SPDX-License-Identifier: GPL-2.0
/*
 * test_events.c - the sampled event stream: records written by real
 * BPF_PROG_TEST_RUN runs read back from the ring buffer field by field;
 * 1-in-N and the per-second cap; the lost counter when the buffer is full.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>

#include "harness.h"

#define MAX_SEEN 8192

static struct sluice_event seen[64];

/* Empty the ring buffer, keeping the first records in seen. */
static int drain(void)
{
	return xdp_events_drain(seen, 64);
}

static uint64_t ev_stat(__u32 which)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 v[ncpu], sum = 0;

	if (bpf_map_lookup_elem(xdp_map_fd("event_stats"), &which, v))
		return UINT64_MAX;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

/* Per-CPU sampling state: keep the test on one CPU so counts are exact. */
static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int blocked_runs(int n)
{
	static const char *const block[] = {"198.51.100.0/24", NULL}, *const none[] = {NULL};
	struct pkt_spec s = spec_tcp4("198.51.100.9", "192.0.2.1");
	uint8_t f[FRAME_MAX];
	size_t len;

	if (xdp_set_lists(block, none))
		return -1;
	s.sport = 4242;
	s.dport = 443;
	len = build_frame(&s, f, NULL);
	for (int i = 0; i < n; i++)
		if (xdp_run_raw(f, len, NULL, NULL) != XDP_DROP)
			return -1;
	return 0;
}

XDP_TEST(event_drop_record_has_every_field)
{
	uint8_t a[4];

	pin_cpu0();
	CHECK(xdp_events_sample(1, 0) == 0);
	CHECK(drain() >= 0);
	CHECK(blocked_runs(1) == 0);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(seen[0].type, SE_DROP);
	CHECK_EQ(seen[0].reason, SR_BLOCKLIST);
	CHECK_EQ(seen[0].family, 4);
	CHECK_EQ(seen[0].proto, IPPROTO_TCP);
	CHECK_EQ(ntohs(seen[0].sport), 4242);
	CHECK_EQ(ntohs(seen[0].dport), 443);
	CHECK_EQ(seen[0].ifindex, lbt_ifindex());
	inet_pton(AF_INET, "198.51.100.9", a);
	CHECK(!memcmp(seen[0].saddr, a, 4));
	inet_pton(AF_INET, "192.0.2.1", a);
	CHECK(!memcmp(seen[0].daddr, a, 4));
	CHECK(seen[0].ts_ns > 0);
	return 0;
}

XDP_TEST(event_sampling_one_in_n)
{
	pin_cpu0();
	CHECK(xdp_events_sample(3, 0) == 0);
	CHECK(drain() >= 0);
	CHECK(blocked_runs(9) == 0);
	CHECK_EQ(drain(), 3);
	return 0;
}

XDP_TEST(event_sampling_cap_per_second)
{
	uint64_t out0 = ev_stat(SES_SAMPLED_OUT);

	pin_cpu0();
	CHECK(xdp_events_sample(1, 5) == 0);
	CHECK(drain() >= 0);
	CHECK(blocked_runs(20) == 0); /* well within one second */
	CHECK_EQ(drain(), 5);
	CHECK_EQ(ev_stat(SES_SAMPLED_OUT) - out0, 15);
	return 0;
}

XDP_TEST(event_sampling_off_sends_nothing)
{
	CHECK(xdp_events_sample(0, 0) == 0);
	CHECK(drain() >= 0);
	CHECK(blocked_runs(5) == 0);
	CHECK_EQ(drain(), 0);
	return 0;
}

XDP_TEST(event_lost_counter_moves_when_the_buffer_is_full)
{
	static const char *const block[] = {"198.51.100.0/24", NULL}, *const none[] = {NULL};
	struct pkt_spec s = spec_tcp4("198.51.100.9", "192.0.2.1");
	uint8_t f[FRAME_MAX];
	size_t len = build_frame(&s, f, NULL);
	uint64_t lost0 = ev_stat(SES_LOST), sent0 = ev_stat(SES_SENT);
	struct xdp_md ctx = {.data_end = (__u32)len, .ingress_ifindex = (__u32)lbt_ifindex()};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = (__u32)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 6000);
	int got;

	pin_cpu0();
	CHECK(xdp_events_sample(1, 0) == 0);
	CHECK(drain() >= 0);
	CHECK(xdp_set_lists(block, none) == 0);
	/* 6000 drops in one run, nobody reading: more than 256 KiB of records */
	CHECK(bpf_prog_test_run_opts(xdp_prog_fd(), &opts) == 0);
	CHECK(ev_stat(SES_LOST) - lost0 > 0);
	CHECK_EQ(ev_stat(SES_LOST) - lost0 + ev_stat(SES_SENT) - sent0, 6000);
	got = drain();
	CHECK_EQ((uint64_t)got, ev_stat(SES_SENT) - sent0);
	return 0;
}
