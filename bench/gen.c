// SPDX-License-Identifier: GPL-2.0
/*
 * gen.c - sluice-gen, the benchmark traffic generator.
 *
 * Builds one template frame, then has the kernel send it (rewritten per
 * packet by gen.bpf.c) with BPF_PROG_RUN in BPF_F_TEST_XDP_LIVE_FRAMES mode:
 * the program's XDP_TX puts every frame on the wire of --dev, to its veth
 * peer.  Flat out, or at a fixed offered rate (sent in 1 ms slices), for a
 * duration or a packet count.  Reports what it sent, by kind, as JSON.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "gen.skel.h"

struct opts {
	const char *dev;
	uint8_t dmac[6], smac[6];
	int v6;
	int proto; /* IPPROTO_TCP / IPPROTO_UDP */
	int syn;
	const char *src, *dst, *legit;
	int legit_pct, legit_count;
	uint16_t dport;
	int size;
	double rate, duration;
	uint64_t count;
	int cpu;
};

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
		      &m[5]) == 6
		       ? 0
		       : -1;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* "a.b.c.d/len" or v6: base address and how many low bits are random. */
static int parse_prefix(const char *s, int v6, uint8_t *addr, int *len)
{
	char buf[64];
	const char *slash = strchr(s, '/');

	snprintf(buf, sizeof(buf), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	*len = slash ? atoi(slash + 1) : (v6 ? 128 : 32);
	return inet_pton(v6 ? AF_INET6 : AF_INET, buf, addr) == 1 ? 0 : -1;
}

static size_t build_template(const struct opts *o, uint8_t *f)
{
	size_t l3 = 14, l4, len = (size_t)o->size;
	uint8_t src[16] = {0}, dst[16] = {0};
	int plen;

	memset(f, 0, len);
	memcpy(f, o->dmac, 6);
	memcpy(f + 6, o->smac, 6);
	f[12] = o->v6 ? 0x86 : 0x08;
	f[13] = o->v6 ? 0xdd : 0x00;
	parse_prefix(o->src, o->v6, src, &plen);
	parse_prefix(o->dst, o->v6, dst, &plen);
	if (o->v6) {
		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)((len - l3 - 40) >> 8);
		f[l3 + 5] = (uint8_t)(len - l3 - 40);
		f[l3 + 6] = (uint8_t)o->proto;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 8, src, 16);
		memcpy(f + l3 + 24, dst, 16);
		l4 = l3 + 40;
	} else {
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((len - l3) >> 8);
		f[l3 + 3] = (uint8_t)(len - l3);
		f[l3 + 6] = 0x40;
		f[l3 + 8] = 64;
		f[l3 + 9] = (uint8_t)o->proto;
		memcpy(f + l3 + 12, src, 4);
		memcpy(f + l3 + 16, dst, 4);
		{
			uint16_t c = csum(f + l3, 20);

			f[l3 + 10] = (uint8_t)(c >> 8);
			f[l3 + 11] = (uint8_t)c;
		}
		l4 = l3 + 20;
	}
	f[l4] = 0x9c;
	f[l4 + 1] = 0x40; /* sport 40000 */
	f[l4 + 2] = (uint8_t)(o->dport >> 8);
	f[l4 + 3] = (uint8_t)o->dport;
	if (o->proto == IPPROTO_TCP) {
		f[l4 + 4] = 0x12;
		f[l4 + 12] = 5 << 4;
		f[l4 + 13] = o->syn ? 0x02 : 0x10;
		f[l4 + 14] = 0xff;
	} else {
		f[l4 + 4] = (uint8_t)((len - l4) >> 8);
		f[l4 + 5] = (uint8_t)(len - l4);
	}
	return len;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sluice-gen --dev IF --dst-mac MAC --src-mac MAC --src PREFIX --dst ADDR\n"
		"       [--v6] [--udp] [--syn] [--dport N] [--size BYTES]\n"
		"       [--legit PREFIX --legit-pct N --legit-count N]\n"
		"       [--rate PPS (0 = flat out)] [--duration S | --count N] [--cpu N]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"dev", 1, 0, 'i'},     {"dst-mac", 1, 0, 'D'},   {"src-mac", 1, 0, 'S'},
		{"src", 1, 0, 's'},     {"dst", 1, 0, 'd'},       {"v6", 0, 0, '6'},
		{"udp", 0, 0, 'u'},     {"syn", 0, 0, 'y'},       {"dport", 1, 0, 'p'},
		{"size", 1, 0, 'z'},    {"legit", 1, 0, 'l'},     {"legit-pct", 1, 0, 'P'},
		{"legit-count", 1, 0, 'C'}, {"rate", 1, 0, 'r'},  {"duration", 1, 0, 't'},
		{"count", 1, 0, 'n'},   {"cpu", 1, 0, 'c'},       {0, 0, 0, 0},
	};
	int ch;

	*o = (struct opts){.proto = IPPROTO_TCP, .dport = 80, .size = 64, .duration = 5,
			   .legit_count = 16, .cpu = -1};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'i': o->dev = optarg; break;
		case 'D': if (parse_mac(optarg, o->dmac)) return -1; break;
		case 'S': if (parse_mac(optarg, o->smac)) return -1; break;
		case 's': o->src = optarg; break;
		case 'd': o->dst = optarg; break;
		case '6': o->v6 = 1; break;
		case 'u': o->proto = IPPROTO_UDP; break;
		case 'y': o->syn = 1; break;
		case 'p': o->dport = (uint16_t)atoi(optarg); break;
		case 'z': o->size = atoi(optarg); break;
		case 'l': o->legit = optarg; break;
		case 'P': o->legit_pct = atoi(optarg); break;
		case 'C': o->legit_count = atoi(optarg); break;
		case 'r': o->rate = atof(optarg); break;
		case 't': o->duration = atof(optarg); break;
		case 'n': o->count = strtoull(optarg, NULL, 10); break;
		case 'c': o->cpu = atoi(optarg); break;
		default: return -1;
		}
	}
	if (!o->dev || !o->src || !o->dst)
		return -1;
	if (o->size < (o->v6 ? 74 : 60))
		o->size = o->v6 ? 74 : 60; /* headers + 4 bytes of payload minimum */
	if (o->size > 1500)
		return -1;
	return 0;
}

static void fill_cfg(const struct opts *o, struct gen_cfg *c)
{
	uint8_t a[16] = {0};
	int len;

	memset(c, 0, sizeof(*c));
	c->v6 = (uint32_t)o->v6;
	c->rand_sport = 1;
	parse_prefix(o->src, o->v6, a, &len);
	if (o->v6) {
		memcpy(c->src_base6, a, 16);
		c->src_rand6_lo = len >= 128 ? 0 : len <= 96 ? 0xffffffffu : (uint32_t)((1ull << (128 - len)) - 1);
		c->src_rand6_hi = len >= 96 ? 0 : len <= 64 ? 0xffffffffu : (uint32_t)((1ull << (96 - len)) - 1);
	} else {
		uint32_t b;

		memcpy(&b, a, 4);
		c->src_base4 = ntohl(b);
		c->src_rand4 = len >= 32 ? 0 : len == 0 ? 0xffffffffu : (uint32_t)((1ull << (32 - len)) - 1);
		c->src_base4 &= ~c->src_rand4;
	}
	if (o->legit && o->legit_pct) {
		parse_prefix(o->legit, o->v6, a, &len);
		c->legit_pct = (uint32_t)o->legit_pct;
		c->legit_count = (uint32_t)o->legit_count;
		if (o->v6) {
			uint32_t w;

			memcpy(c->legit_base6, a, 16);
			memcpy(&w, a + 12, 4);
			c->legit_base6_low = ntohl(w);
		} else {
			uint32_t b;

			memcpy(&b, a, 4);
			c->legit_base4 = ntohl(b);
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct gen *skel;
	uint8_t frame[1536];
	size_t flen;
	uint64_t sent = 0, per_kind[GEN_KIND_MAX] = {0};
	double t0, t_end, elapsed;
	int ifindex, prog_fd, rc, ncpu;

	if (parse_opts(argc, argv, &o)) {
		usage();
		return 2;
	}
	ifindex = (int)if_nametoindex(o.dev);
	if (!ifindex) {
		fprintf(stderr, "sluice-gen: no interface %s here\n", o.dev);
		return 1;
	}
	if (o.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	skel = gen__open();
	if (!skel)
		return 1;
	fill_cfg(&o, (struct gen_cfg *)&skel->rodata->cfg);
	if (gen__load(skel)) {
		fprintf(stderr, "sluice-gen: cannot load the generator program: %s\n", strerror(errno));
		return 1;
	}
	prog_fd = bpf_program__fd(getenv("GEN_FIXED") ? skel->progs.gen_xdp_fixed : skel->progs.gen_xdp);
	flen = build_template(&o, frame);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	t0 = now();
	t_end = o.count ? 1e18 : t0 + o.duration;
	while (!stop) {
		struct xdp_md ctx = {.data_end = (__u32)flen, .ingress_ifindex = (__u32)ifindex};
		double t = now();
		uint32_t batch;

		if (t >= t_end || (o.count && sent >= o.count))
			break;
		if (o.rate > 0) {
			/* 1 ms slices: send what the rate owes by now */
			double owed = (t - t0) * o.rate - (double)sent;

			if (owed < 1) {
				struct timespec ts = {0, 200000};

				nanosleep(&ts, NULL);
				continue;
			}
			batch = owed > 1e6 ? 1000000 : (uint32_t)owed;
		} else {
			batch = 1 << 16;
		}
		if (o.count && sent + batch > o.count)
			batch = (uint32_t)(o.count - sent);
		{
			LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame,
				    .data_size_in = (__u32)flen, .ctx_in = &ctx,
				    .ctx_size_in = sizeof(ctx), .repeat = batch,
				    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
				    .batch_size = getenv("GEN_BATCH") ? (__u32)atoi(getenv("GEN_BATCH")) : 64);

			rc = bpf_prog_test_run_opts(prog_fd, &topts);
			if (rc) {
				fprintf(stderr, "sluice-gen: BPF_PROG_RUN live frames: %s\n",
					strerror(errno));
				return 1;
			}
		}
		sent += batch;
	}
	elapsed = now() - t0;
	ncpu = libbpf_num_possible_cpus();
	for (uint32_t k = 0; k < GEN_KIND_MAX; k++) {
		uint64_t v[ncpu];

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.gen_sent), &k, v) == 0)
			for (int c = 0; c < ncpu; c++)
				per_kind[k] += v[c];
	}
	printf("{\"sent\":%llu,\"flood\":%llu,\"legit\":%llu,\"seconds\":%.3f,\"pps\":%.0f,"
	       "\"frame_bytes\":%zu}\n",
	       (unsigned long long)sent, (unsigned long long)per_kind[GEN_KIND_FLOOD],
	       (unsigned long long)per_kind[GEN_KIND_LEGIT], elapsed, (double)sent / elapsed,
	       flen);
	gen__destroy(skel);
	return 0;
}
