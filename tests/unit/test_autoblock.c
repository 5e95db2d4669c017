// SPDX-License-Identifier: GPL-2.0
/*
 * test_autoblock.c - the SYN token bucket's arithmetic (xdp/syn_bucket.h,
 * the code XDP runs, driven with chosen clocks), the auto-block request
 * (one per source, none for allowlisted sources) read from the real ring
 * buffer, and SMF_FLOOD_MODE in the metadata tag while flood_mode is set.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <string.h>

#include "harness.h"
#include "model.h"
#include "prefix.h"
#include "syn_bucket.h"

#define MS 1000000ull
#define SEC 1000000000ull

/* ---- arithmetic ------------------------------------------------------------ */

/* tokens taken in a row from b at time now */
static int take_all(struct sluice_syn_bucket *b, __u64 now, __u32 rate, __u32 burst, int max)
{
	int n = 0;

	while (n < max && !syn_bucket_take(b, now, rate, burst))
		n++;
	return n;
}

TEST(bucket_refills_over_time_up_to_the_burst)
{
	struct sluice_syn_bucket b = {.milli_tokens = 0, .last_ns = 1000 * SEC};

	/* 100/s: 10 ms earn one token, 50 ms five */
	CHECK_EQ(take_all(&b, 1000 * SEC + 10 * MS, 100, 20, 100), 1);
	CHECK_EQ(take_all(&b, 1000 * SEC + 60 * MS, 100, 20, 100), 5);
	/* an hour idle: full, never more than the burst */
	CHECK_EQ(take_all(&b, 4600 * SEC, 100, 20, 100), 20);
	CHECK_EQ(take_all(&b, 4600 * SEC, 100, 20, 100), 0);
	return 0;
}

TEST(bucket_keeps_the_sub_millisecond_remainder)
{
	struct sluice_syn_bucket b = {.milli_tokens = 0, .last_ns = 0};
	int got = 0;

	/* 1000/s = one token per ms, asked every 1.5 ms for 3 s: 2000 tokens,
	 * not the 1000 that rounding the remainder away would give */
	for (__u64 t = 1500000; t <= 3 * SEC; t += 1500000)
		got += take_all(&b, t, 1000, 1, 10);
	CHECK(got >= 1999 && got <= 2000);
	return 0;
}

TEST(bucket_rate_zero_is_never_asked)
{
	/* rate 0 means "no limit" and the XDP guard returns before the
	 * bucket (syn_limit_zero_means_unlimited runs it); the arithmetic
	 * itself must still not divide by it: rate 1 is the smallest used */
	struct sluice_syn_bucket b = {.milli_tokens = 0, .last_ns = 0};

	CHECK_EQ(take_all(&b, 999 * MS, 1, 1, 10), 0);
	CHECK_EQ(take_all(&b, 1000 * MS, 1, 1, 10), 1);
	return 0;
}

TEST(bucket_is_overflow_free_at_large_rates_and_idle_times)
{
	struct sluice_syn_bucket b = {.milli_tokens = 0, .last_ns = 1};

	/* 10M/s (the config's maximum) after ~584 years of u64 nanoseconds */
	CHECK_EQ(take_all(&b, ~0ull, 10000000, 10000000, 5), 5);
	CHECK_EQ(b.milli_tokens, 10000000ull * 1000 - 5000);
	/* one ms at 10M/s: 10k tokens, capped at the burst of 3 */
	b = (struct sluice_syn_bucket){.milli_tokens = 0, .last_ns = 5 * SEC};
	CHECK_EQ(take_all(&b, 5 * SEC + MS, 10000000, 3, 100), 3);
	return 0;
}

TEST(bucket_ignores_a_clock_behind_the_last_writer)
{
	/* another CPU wrote last_ns a little ahead of this CPU's clock: no
	 * wrapped subtraction, no refill */
	struct sluice_syn_bucket b = {.milli_tokens = 0, .last_ns = 10 * SEC};

	CHECK_EQ(take_all(&b, 10 * SEC - 1000, 100, 50, 100), 0);
	CHECK_EQ(b.last_ns, 10 * SEC);
	return 0;
}

TEST(auto_block_trigger_counts_drops_per_window_once)
{
	struct sluice_auto_cfg cfg = {.threshold = 3, .window_ns = SEC, .rearm_ns = 60 * SEC};
	struct sluice_syn_bucket b = {0};

	CHECK_EQ(syn_bucket_note_drop(&b, 1 * SEC, &cfg), 0);
	CHECK_EQ(syn_bucket_note_drop(&b, 1 * SEC + MS, &cfg), 0);
	/* the window ends: the count starts again */
	CHECK_EQ(syn_bucket_note_drop(&b, 2 * SEC + 2 * MS, &cfg), 0);
	CHECK_EQ(syn_bucket_note_drop(&b, 2 * SEC + 3 * MS, &cfg), 0);
	CHECK_EQ(syn_bucket_note_drop(&b, 2 * SEC + 4 * MS, &cfg), 1);
	b.reported_ns = 2 * SEC + 4 * MS;
	CHECK_EQ(syn_bucket_note_drop(&b, 2 * SEC + 5 * MS, &cfg), 0);
	/* after rearm_ns (the TTL), a source still flooding is asked for again */
	CHECK_EQ(syn_bucket_note_drop(&b, 70 * SEC, &cfg), 0);
	CHECK_EQ(syn_bucket_note_drop(&b, 70 * SEC + 1, &cfg), 0);
	CHECK_EQ(syn_bucket_note_drop(&b, 70 * SEC + 2, &cfg), 1);
	cfg.threshold = 0; /* off */
	CHECK_EQ(syn_bucket_note_drop(&b, 200 * SEC, &cfg), 0);
	return 0;
}

/* ---- through the XDP program ------------------------------------------------- */

static struct sluice_model model;

static int set_guard(uint32_t rate, uint32_t burst, uint32_t threshold)
{
	struct sluice_auto_cfg cfg = {
	    .threshold = threshold, .window_ns = 10 * SEC, .rearm_ns = 600 * SEC};
	__u32 zero = 0;

	memset(&model, 0, sizeof(model));
	model.syn_rate = rate;
	model.syn_burst = burst;
	if (xdp_set_pods(&model))
		return -1;
	return bpf_map_update_elem(xdp_map_fd("syn_auto"), &zero, &cfg, BPF_ANY);
}

struct reqs {
	int n;
	struct sluice_autoblock_req v[16];
};

static int on_req(void *ctx, void *data, size_t len)
{
	struct reqs *r = ctx;

	if (len >= sizeof(r->v[0]) && r->n < 16)
		memcpy(&r->v[r->n], data, sizeof(r->v[0]));
	r->n++;
	return 0;
}

/* Everything in the ring now (earlier tests' requests are drained first). */
static int read_reqs(struct reqs *r)
{
	struct ring_buffer *rb;

	memset(r, 0, sizeof(*r));
	rb = ring_buffer__new(xdp_map_fd("autoblock_rb"), on_req, r, NULL);
	if (!rb)
		return -1;
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return 0;
}

static int send_syns(const char *src, int n)
{
	for (int i = 0; i < n; i++) {
		struct pkt_spec s = strchr(src, ':') ? spec_tcp6(src, "2001:db8::1")
						     : spec_tcp4(src, "203.0.113.1");
		struct run_result r;

		s.sport = (uint16_t)(40000 + i);
		s.tcp_flags = 0x02;
		if (xdp_run_spec(&s, &r) < 0)
			return -1;
	}
	return 0;
}

XDP_TEST(auto_block_request_sent_once_per_source)
{
	struct reqs r;
	uint8_t want[4] = {198, 51, 100, 21};

	CHECK(read_reqs(&r) == 0); /* drain */
	CHECK(set_guard(1, 2, 5) == 0);
	/* 2 pass (burst), 4 dropped: under the threshold of 5 */
	CHECK(send_syns("198.51.100.21", 6) == 0);
	CHECK(read_reqs(&r) == 0);
	CHECK_EQ(r.n, 0);
	/* the 5th drop sends it; 50 more send nothing */
	CHECK(send_syns("198.51.100.21", 51) == 0);
	CHECK(read_reqs(&r) == 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.v[0].family, 4);
	CHECK_EQ(r.v[0].drops, 5);
	CHECK(!memcmp(r.v[0].addr, want, 4));
	CHECK_EQ(xdp_count_packets(SR_SYN_RATE, XDP_DROP), 55);
	/* another source has its own request */
	CHECK(send_syns("2001:db8:5:6::9", 20) == 0);
	CHECK(read_reqs(&r) == 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.v[0].family, 6);
	CHECK_EQ(r.v[0].addr[2], 0); /* the /64: low half zero */
	return 0;
}

XDP_TEST(auto_block_no_request_for_allowlisted_sources)
{
	static const char *const allow[] = {"198.51.100.0/24", NULL};
	struct reqs r;

	CHECK(read_reqs(&r) == 0);
	CHECK(set_guard(1, 1, 2) == 0);
	CHECK(xdp_set_lists(NULL, allow) == 0);
	CHECK(send_syns("198.51.100.30", 40) == 0);
	CHECK(read_reqs(&r) == 0);
	CHECK_EQ(r.n, 0);
	CHECK_EQ(xdp_count_packets(SR_SYN_RATE, XDP_DROP), 0);
	/* a source outside it, same limits: requested */
	CHECK(send_syns("203.0.113.30", 40) == 0);
	CHECK(read_reqs(&r) == 0);
	CHECK_EQ(r.n, 1);
	return 0;
}

XDP_TEST(auto_block_off_sends_nothing)
{
	struct reqs r;

	CHECK(read_reqs(&r) == 0);
	CHECK(set_guard(1, 1, 0) == 0);
	CHECK(send_syns("198.51.100.40", 30) == 0);
	CHECK(read_reqs(&r) == 0);
	CHECK_EQ(r.n, 0);
	CHECK_EQ(xdp_count_packets(SR_SYN_RATE, XDP_DROP), 29);
	return 0;
}

static int set_flood(uint32_t on)
{
	struct sluice_state st;
	__u32 zero = 0;
	int fd = xdp_map_fd("sluice_state");

	if (bpf_map_lookup_elem(fd, &zero, &st))
		return -1;
	st.flood_mode = on;
	return bpf_map_update_elem(fd, &zero, &st, BPF_ANY);
}

XDP_TEST(flood_mode_sets_the_tag_flag)
{
	struct pkt_spec s = spec_tcp4("198.51.100.50", "203.0.113.1");
	struct run_result r;

	CHECK(set_guard(0, 0, 0) == 0);
	CHECK(xdp_run_spec(&s, &r) >= 0);
	CHECK(r.tagged);
	CHECK_EQ(r.meta.flags & SMF_FLOOD_MODE, 0);
	CHECK(set_flood(1) == 0);
	/* a generation switch in flood mode keeps it (flood_mode is not the
	 * generation's) */
	CHECK(set_guard(0, 0, 0) == 0);
	CHECK(xdp_run_spec(&s, &r) >= 0);
	CHECK(r.tagged);
	CHECK_EQ(r.meta.flags & SMF_FLOOD_MODE, SMF_FLOOD_MODE);
	s = spec_tcp6("2001:db8::50", "2001:db8::1");
	CHECK(xdp_run_spec(&s, &r) >= 0);
	CHECK_EQ(r.meta.flags & (SMF_FLOOD_MODE | SMF_IPV6), SMF_FLOOD_MODE | SMF_IPV6);
	CHECK(set_flood(0) == 0);
	CHECK(xdp_run_spec(&s, &r) >= 0);
	CHECK_EQ(r.meta.flags & SMF_FLOOD_MODE, 0);
	return 0;
}

XDP_TEST(syn_seen_counts_every_syn_blocked_or_not)
{
	static const char *const block[] = {"198.51.100.60/32", NULL};
	uint64_t before[1], after[1];
	__u32 k = 0;
	int ncpu = libbpf_num_possible_cpus();
	__u64 per_cpu[ncpu];

	CHECK(set_guard(0, 0, 0) == 0);
	CHECK(xdp_set_lists(block, NULL) == 0);
	before[0] = 0;
	CHECK(bpf_map_lookup_elem(xdp_map_fd("syn_seen"), &k, per_cpu) == 0);
	for (int c = 0; c < ncpu; c++)
		before[0] += per_cpu[c];
	CHECK(send_syns("198.51.100.61", 7) == 0);
	CHECK(send_syns("198.51.100.60", 5) == 0); /* blocked: seen too */
	after[0] = 0;
	CHECK(bpf_map_lookup_elem(xdp_map_fd("syn_seen"), &k, per_cpu) == 0);
	for (int c = 0; c < ncpu; c++)
		after[0] += per_cpu[c];
	CHECK_EQ(after[0] - before[0], 12);
	/* a blocked non-SYN is not a SYN */
	{
		struct pkt_spec s = spec_tcp4("198.51.100.60", "203.0.113.1");
		struct run_result r;

		s.tcp_flags = 0x10;
		CHECK(xdp_run_spec(&s, &r) >= 0);
		CHECK_EQ(r.reason, SR_BLOCKLIST);
	}
	after[0] = 0;
	CHECK(bpf_map_lookup_elem(xdp_map_fd("syn_seen"), &k, per_cpu) == 0);
	for (int c = 0; c < ncpu; c++)
		after[0] += per_cpu[c];
	CHECK_EQ(after[0] - before[0], 12);
	return 0;
}
