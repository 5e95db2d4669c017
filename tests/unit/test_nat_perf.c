// SPDX-License-Identifier: GPL-2.0
/*
 * test_nat_perf.c - a reproducible micro-measurement of the NAT data path:
 * ns per packet of the real sluice program (BPF_PROG_TEST_RUN) for an
 * established flow's client -> VIP packet (DNAT), a backend's reply
 * (reverse NAT), and the bench's bare XDP_TX program (bench/sink.bpf.c
 * xdp_tx_count, build/sink.bpf.o) run the same way, so that a change to
 * xdp/lb.h can be compared before/after in seconds:
 *
 *   ./build/unit_tests nat_perf            (NAT_PERF_ROUNDS, NAT_PERF_REPEAT)
 *
 * Two methods, printed side by side:
 *  - rotate: 1024 established flows to a VIP with 8 backends (and their
 *    replies), one BPF_PROG_TEST_RUN per packet (repeat = 1), flows in turn,
 *    ROUNDS rounds; the median round's mean.  Caches see 1024 flows; each
 *    figure includes the kernel's timer reads around the run, as the bare
 *    program's does.  A round takes longer than LB_FC_FWD_AGE_MS, so each
 *    forward packet here also looks its connection entry up again (the cost
 *    of a flow with a packet every few ms); replies come from the slot.
 *  - repeat: one flow, .repeat = REPEAT in the kernel.  The program rewrites
 *    the frame in place and the kernel runs it again as it is, so the flow is
 *    made to cycle: service A (VIP a) has the single backend b, service B
 *    (VIP b) the single backend a.  A DNATed packet to a is a packet to VIP b,
 *    and a reply from a reverse-NATed to VIP b is a reply from backend b:
 *    every run is an established flow's DNAT (or reverse NAT), no timer per
 *    packet.  The median of 5 runs.
 * Timings are never asserted (the machine is shared); every measured packet
 * must have been counted under the expected verdict.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "prefix.h"
#include "services.h"

#define PERF_FLOWS 1024
#define PERF_BACKENDS 8
#define PERF_VIP "192.0.2.10"
#define PERF_CYC_A "203.0.113.21"
#define PERF_CYC_B "203.0.113.22"
#define PERF_CLIENT_NET "198.18.0.0/16" /* routed via LBT_CLIENT4, as in the bench */

struct perf_fixture {
	struct lb_service_cfg svc[3];
	struct lb_backend_cfg be[3][PERF_BACKENDS];
	struct lb_model model;
};

static int perf_env(const char *name, int dflt, int lo, int hi)
{
	const char *v = getenv(name);
	long n = v ? strtol(v, NULL, 10) : dflt;

	return n < lo ? lo : n > hi ? hi : (int)n;
}

static int add_svc(struct perf_fixture *f, const char *vip, const char *const *backends,
		   uint16_t be_port)
{
	struct lb_service_cfg *s = &f->svc[f->model.n];
	char err[SLUICE_ERRLEN];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "perf%zu", f->model.n);
	if (prefix_parse(vip, &s->vip, err, sizeof(err)))
		return -1;
	s->port = 80;
	s->proto = IPPROTO_TCP;
	s->mode = SLUICE_MODE_NAT;
	s->backends = f->be[f->model.n];
	for (; *backends; backends++) {
		struct lb_backend_cfg *b = &s->backends[s->n_backends++];

		if (prefix_parse(*backends, &b->addr, err, sizeof(err)))
			return -1;
		b->port = be_port;
		b->weight = 1;
		b->state = SLUICE_BE_ACTIVE;
	}
	f->model.svcs = f->svc;
	f->model.n++;
	return 0;
}

/* web: PERF_VIP:80 -> 203.0.113.11..18:8080; the cycling pair a <-> b. */
static int perf_setup(struct perf_fixture *f)
{
	static const char *const web[] = {"203.0.113.11", "203.0.113.12", "203.0.113.13",
					  "203.0.113.14", "203.0.113.15", "203.0.113.16",
					  "203.0.113.17", "203.0.113.18", NULL};
	static const char *const to_b[] = {PERF_CYC_B, NULL};
	static const char *const to_a[] = {PERF_CYC_A, NULL};

	if (system("for i in 15 16 17 18 21 22; do ip neigh replace 203.0.113.$i lladdr "
		   "02:00:00:00:be:01 nud permanent dev " LBT_DEV
		   "; done && ip route replace " PERF_CLIENT_NET " via " LBT_CLIENT4
		   " dev " LBT_DEV)) {
		fprintf(stderr, "    cannot add the measurement's neighbours and route\n");
		return -1;
	}
	memset(f, 0, sizeof(*f));
	if (add_svc(f, PERF_VIP, web, 8080) || add_svc(f, PERF_CYC_A, to_b, 80) ||
	    add_svc(f, PERF_CYC_B, to_a, 80))
		return -1;
	return xdp_set_services(&f->model);
}

/* Client i of the 1024: 198.18.16.0 + i (the bench's legit sources). */
static size_t flow_frame(uint8_t *buf, int i, int reply, const char *vip, int backend)
{
	char client[32], be[32];
	struct pkt_spec s;
	struct frame_layout lay;
	size_t len;

	snprintf(client, sizeof(client), "198.18.%d.%d", 16 + i / 256, i % 256);
	snprintf(be, sizeof(be), "203.0.113.%d", 11 + backend);
	s = reply ? spec_tcp4(be, client) : spec_tcp4(client, vip);
	s.sport = reply ? 8080 : (uint16_t)(40000 + i);
	s.dport = reply ? (uint16_t)(40000 + i) : 80;
	s.tcp_flags = 0x10; /* ACK: an established flow's packet */
	s.payload = 18;	    /* 64-byte frames on the wire, like the bench */
	len = build_frame(&s, buf, &lay);
	frame_fill_l4_csum(buf, &lay, 4, IPPROTO_TCP);
	return len;
}

/* One BPF_PROG_TEST_RUN: *ns = the kernel's per-run mean. */
static int run_prog(int fd, const uint8_t *frame, size_t len, int repeat, uint32_t *ns,
		    uint8_t *out)
{
	struct xdp_md ctx_in = {
	    .data = 0, .data_end = (__u32)len, .ingress_ifindex = (__u32)lbt_ifindex()};
	uint8_t scratch[FRAME_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out ? out : scratch, .data_size_out = sizeof(scratch),
		    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1;
	*ns = opts.duration;
	return (int)opts.retval;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t median(uint32_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

/* rotate: the median over rounds of the mean ns of one pass over frames. */
static int rotate(int fd, uint8_t (*frames)[128], const size_t *lens, int n, int rounds,
		  uint32_t *ns_out)
{
	uint32_t means[64];

	for (int r = 0; r < rounds; r++) {
		uint64_t sum = 0;

		for (int i = 0; i < n; i++) {
			uint32_t ns;

			if (run_prog(fd, frames[i], lens[i], 1, &ns, NULL) != XDP_TX)
				return -1;
			sum += ns;
		}
		means[r] = (uint32_t)(sum / (uint64_t)n);
	}
	*ns_out = median(means, rounds);
	return 0;
}

/* repeat: the median of 5 in-kernel loops over one frame. */
static int repeat5(int fd, const uint8_t *frame, size_t len, int repeat, uint32_t *ns_out)
{
	uint32_t v[5];

	for (int i = 0; i < 5; i++)
		if (run_prog(fd, frame, len, repeat, &v[i], NULL) != XDP_TX)
			return -1;
	*ns_out = median(v, 5);
	return 0;
}

/* The bench's bare XDP_TX program, from the build directory next to us. */
static int bare_xdp_tx(struct bpf_object **objp)
{
	char exe[PATH_MAX], path[PATH_MAX + 16];
	struct bpf_program *p, *want = NULL;
	struct bpf_object *obj;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(path, sizeof(path), "%s/sink.bpf.o", exe);
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "    cannot open %s (make builds it): %s\n", path, strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(p, obj)
	{
		int mine = !strcmp(bpf_program__name(p), "xdp_tx_count");

		bpf_program__set_autoload(p, mine);
		if (mine)
			want = p;
	}
	if (!want || bpf_object__load(obj)) {
		fprintf(stderr, "    cannot load xdp_tx_count from %s\n", path);
		bpf_object__close(obj);
		return -1;
	}
	*objp = obj;
	return bpf_program__fd(want);
}

XDP_TEST(nat_perf_established_dnat_and_reply_vs_bare_xdp_tx)
{
	static uint8_t fwd[PERF_FLOWS][128], rev[PERF_FLOWS][128];
	static size_t fwd_len[PERF_FLOWS], rev_len[PERF_FLOWS];
	int rounds = perf_env("NAT_PERF_ROUNDS", 9, 1, 64);
	int repeat = perf_env("NAT_PERF_REPEAT", 200000, 1, 100000000);
	int prog = xdp_prog_fd(), bare;
	uint32_t r_fwd, r_rev, r_bare, c_fwd, c_rev, c_bare;
	uint64_t fwd0, rev0, fwd_runs, rev_runs;
	struct perf_fixture f;
	struct bpf_object *bare_obj = NULL;
	uint8_t cyc_fwd[128], cyc_rev[128];
	size_t cyc_fwd_len, cyc_rev_len;
	uint32_t ns;

	CHECK(perf_setup(&f) == 0);
	bare = bare_xdp_tx(&bare_obj);
	CHECK(bare >= 0);
	for (int i = 0; i < PERF_FLOWS; i++) {
		fwd_len[i] = flow_frame(fwd[i], i, 0, PERF_VIP, 0);
		rev_len[i] = flow_frame(rev[i], i, 1, NULL, i % PERF_BACKENDS);
		/* the flow's first packet makes its connection entry */
		CHECK_EQ(run_prog(prog, fwd[i], fwd_len[i], 1, &ns, NULL), XDP_TX);
	}
	cyc_fwd_len = flow_frame(cyc_fwd, 0, 0, PERF_CYC_A, 0);
	{
		/* a reply from backend a (of service B) to client 0 */
		struct pkt_spec s = spec_tcp4(PERF_CYC_A, "198.18.16.0");
		struct frame_layout lay;

		s.sport = 80;
		s.dport = 40000;
		s.tcp_flags = 0x10;
		s.payload = 18;
		cyc_rev_len = build_frame(&s, cyc_rev, &lay);
		frame_fill_l4_csum(cyc_rev, &lay, 4, IPPROTO_TCP);
	}
	/* both halves of the cycle get their connection entries */
	CHECK_EQ(run_prog(prog, cyc_fwd, cyc_fwd_len, 2, &ns, NULL), XDP_TX);

	fwd0 = xdp_count_packets(SR_LB_FORWARD, XDP_TX);
	rev0 = xdp_count_packets(SR_LB_REPLY, XDP_TX);
	/* interleaved, so that noise from elsewhere spreads over all three */
	CHECK(rotate(bare, fwd, fwd_len, PERF_FLOWS, rounds, &r_bare) == 0);
	CHECK(rotate(prog, fwd, fwd_len, PERF_FLOWS, rounds, &r_fwd) == 0);
	CHECK(rotate(prog, rev, rev_len, PERF_FLOWS, rounds, &r_rev) == 0);
	CHECK(repeat5(bare, cyc_fwd, cyc_fwd_len, repeat, &c_bare) == 0);
	CHECK(repeat5(prog, cyc_fwd, cyc_fwd_len, repeat, &c_fwd) == 0);
	CHECK(repeat5(prog, cyc_rev, cyc_rev_len, repeat, &c_rev) == 0);
	bpf_object__close(bare_obj);

	/* every measured packet took the path it was meant to measure */
	fwd_runs = (uint64_t)rounds * PERF_FLOWS + 5ull * (uint64_t)repeat;
	rev_runs = (uint64_t)rounds * PERF_FLOWS + 5ull * (uint64_t)repeat;
	CHECK_EQ(xdp_count_packets(SR_LB_FORWARD, XDP_TX) - fwd0, fwd_runs);
	CHECK_EQ(xdp_count_packets(SR_LB_REPLY, XDP_TX) - rev0, rev_runs);

	fprintf(stderr,
		"    ns/pkt          rotate (1024 flows, repeat 1, %d rounds)   repeat (1 flow, %d "
		"x 5)\n"
		"    bare XDP_TX     %6u                                     %6u\n"
		"    NAT forward     %6u  (%.2fx bare)                       %6u  (%.2fx bare)\n"
		"    reverse NAT     %6u  (%.2fx bare)                       %6u  (%.2fx bare)\n",
		rounds, repeat, r_bare, c_bare, r_fwd, r_fwd ? (double)r_bare / r_fwd : 0.0, c_fwd,
		c_fwd ? (double)c_bare / c_fwd : 0.0, r_rev, r_rev ? (double)r_bare / r_rev : 0.0,
		c_rev, c_rev ? (double)c_bare / c_rev : 0.0);
	return 0;
}
