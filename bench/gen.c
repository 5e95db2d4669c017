// SPDX-License-Identifier: GPL-2.0
/*
 * gen.c - sluice-gen, the benchmark traffic generator.
 *
 * Two engines:
 *  - live frames (default here): one frame, rewritten per packet by
 *    gen.bpf.c, sent by the kernel with BPF_PROG_RUN in
 *    BPF_F_TEST_XDP_LIVE_FRAMES mode: the program's XDP_TX puts every frame
 *    on the wire of --dev, to its veth peer.  Anything the options can say:
 *    SYN/ACK/UDP floods from random sources inside a list of prefixes (v4
 *    and v6 mixed), from a fixed set of sources, legit flows to a VIP, and
 *    mixes of both.
 *  - the kernel pktgen module, used when /proc/net/pktgen exists and the
 *    traffic is something pktgen can make (a UDP flood from one IPv4
 *    prefix, no legit share).  Otherwise sluice-gen says why it did not use
 *    it (on stderr) and uses live frames.
 * Flat out, or at a fixed offered rate (paced per packet inside the program),
 * for a duration or a packet count.  Reports what it sent, by kind, as one
 * JSON line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "gen.skel.h"

#define MAX_DST 2

struct prefix {
	int v6;
	int len;
	uint8_t addr[16];
};

struct opts {
	const char *dev;
	uint8_t dmac[6], smac[6];
	int have_dmac, have_smac;
	int udp, syn;
	/* flood */
	struct prefix *src;
	size_t n_src, cap_src;
	long fixed_sources;
	uint8_t dst[2][16];
	int have_dst[2];
	uint16_t dport;
	/* legit */
	struct prefix legit;
	int have_legit;
	int legit_pct;
	long legit_count;
	uint8_t legit_dst[16];
	int have_legit_dst;
	int legit_dport;
	int legit_udp, legit_syn;
	/* how much */
	int size;
	double rate, duration;
	uint64_t count;
	int cpu;
	const char *engine;
	uint64_t seed;
	const char *series;
	long series_ms;
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

/* "a.b.c.d[/len]" or "x::y[/len]"; host bits are cleared. */
static int parse_prefix(const char *s, struct prefix *p)
{
	char buf[64], *slash;
	char *end;

	snprintf(buf, sizeof(buf), "%s", s);
	buf[strcspn(buf, " \t\r\n")] = 0;
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	memset(p, 0, sizeof(*p));
	p->v6 = strchr(buf, ':') != NULL;
	if (inet_pton(p->v6 ? AF_INET6 : AF_INET, buf, p->addr) != 1)
		return -1;
	p->len = p->v6 ? 128 : 32;
	if (slash) {
		long l = strtol(slash + 1, &end, 10);

		if (*end || end == slash + 1 || l < 0 || l > p->len)
			return -1;
		p->len = (int)l;
	}
	for (int bit = p->len; bit < (p->v6 ? 128 : 32); bit++)
		p->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

static int add_src(struct opts *o, const struct prefix *p)
{
	if (o->n_src == o->cap_src) {
		size_t cap = o->cap_src ? o->cap_src * 2 : 1024;
		struct prefix *n = realloc(o->src, cap * sizeof(*n));

		if (!n)
			return -1;
		o->src = n;
		o->cap_src = cap;
	}
	o->src[o->n_src++] = *p;
	return 0;
}

/* One CIDR per line; '#' and ';' start comments. */
static int load_src_list(struct opts *o, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	unsigned long ln = 0;

	if (!f) {
		fprintf(stderr, "sluice-gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct prefix p;
		char *s = line;

		ln++;
		s[strcspn(s, "#;\r\n")] = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			continue;
		if (parse_prefix(s, &p) || add_src(o, &p)) {
			fprintf(stderr, "sluice-gen: %s:%lu: not a prefix: %s\n", path, ln, s);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The program walks the sources in order (gen.bpf.c next_src): one seeded
 * shuffle here interleaves the lists (v4 and v6 files, given one after the
 * other) the way a random pick per packet would. */
static void shuffle_srcs(struct opts *o)
{
	uint64_t s = (o->seed ? o->seed : 1) ^ 0x9e3779b97f4a7c15ull;

	for (size_t i = o->n_src; i > 1; i--) {
		size_t j = xorshift(&s) % i;
		struct prefix t = o->src[i - 1];

		o->src[i - 1] = o->src[j];
		o->src[j] = t;
	}
}

/* --fixed-sources N: N addresses drawn (seeded) from the prefixes, each as a
 * full-length entry, so the flood comes from exactly N sources. */
static int fix_sources(struct opts *o)
{
	struct prefix *fixed = calloc((size_t)o->fixed_sources, sizeof(*fixed));
	uint64_t s = o->seed ? o->seed : 1;

	if (!fixed)
		return -1;
	for (long i = 0; i < o->fixed_sources; i++) {
		struct prefix p = o->src[xorshift(&s) % o->n_src];
		int bits = p.v6 ? 128 : 32;

		for (int bit = p.len; bit < bits; bit++)
			if (xorshift(&s) & 1)
				p.addr[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
		p.len = bits;
		fixed[i] = p;
	}
	free(o->src);
	o->src = fixed;
	o->n_src = o->cap_src = (size_t)o->fixed_sources;
	return 0;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold_not(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A template with source address and source port zero; the program adds
 * what it writes into both checksums. */
static void build_tpl(struct gen_tpl *t, const struct opts *o, int v6, int udp, int syn,
		      const uint8_t *dst, uint16_t dport, uint16_t sport, size_t flen)
{
	uint8_t *f = t->bytes;
	size_t l3 = 14, l4 = v6 ? 54 : 34, l4len = flen - l4;
	uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
	uint32_t s;
	uint16_t c;

	memset(t, 0, sizeof(*t));
	memcpy(f, o->dmac, 6);
	memcpy(f + 6, o->smac, 6);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)(l4len >> 8);
		f[l3 + 5] = (uint8_t)l4len;
		f[l3 + 6] = proto;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 24, dst, 16);
	} else {
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((flen - l3) >> 8);
		f[l3 + 3] = (uint8_t)(flen - l3);
		f[l3 + 6] = 0x40; /* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = proto;
		memcpy(f + l3 + 16, dst, 4);
		c = fold_not(sum16(f + l3, 20, 0));
		f[l3 + 10] = (uint8_t)(c >> 8);
		f[l3 + 11] = (uint8_t)c;
	}
	f[l4 + 2] = (uint8_t)(dport >> 8);
	f[l4 + 3] = (uint8_t)dport;
	if (udp) {
		f[l4 + 4] = (uint8_t)(l4len >> 8);
		f[l4 + 5] = (uint8_t)l4len;
		t->csum_off = (uint16_t)(l4 + 6);
	} else {
		f[l4 + 7] = 1;  /* seq */
		f[l4 + 11] = syn ? 0 : 1; /* ack */
		f[l4 + 12] = 5 << 4;
		f[l4 + 13] = syn ? 0x02 : 0x10;
		f[l4 + 14] = 0xff;
		f[l4 + 15] = 0xff;
		t->csum_off = (uint16_t)(l4 + 16);
	}
	/* pseudo header (source zero) + L4 header; the payload is zeros */
	s = sum16(dst, v6 ? 16 : 4, 0);
	s += proto;
	s += (uint32_t)l4len;
	s = sum16(f + l4, udp ? 8 : 20, s);
	c = fold_not(s);
	f[t->csum_off] = (uint8_t)(c >> 8);
	f[t->csum_off + 1] = (uint8_t)c;
	t->valid = 1;
	t->v6 = (uint8_t)v6;
	t->udp = (uint8_t)udp;
	t->sport = htons(sport);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sluice-gen --dev IF --dst-mac MAC --src-mac MAC --dst ADDR [--dst ADDR6]\n"
		"  flood:  --src PREFIX (repeatable) | --src-list FILE   sources: random in a\n"
		"          random prefix of the list (v4 and v6 may mix)\n"
		"          [--fixed-sources N (N sources drawn from the prefixes)]\n"
		"          [--udp] [--syn (else ACK)] [--dport N]\n"
		"  legit:  --legit ADDR --legit-pct N [--legit-count N flows: ADDR+0..N-1]\n"
		"          [--legit-dst VIP] [--legit-dport N] [--legit-udp] [--legit-syn]\n"
		"  [--size BYTES] [--rate PPS (0 = flat out)] [--duration S | --count N]\n"
		"  [--cpu N] [--engine auto|xdp|pktgen] [--seed N]\n"
		"  [--series FILE [--series-ms MS]]  \"UNIX_SECONDS FLOOD LEGIT\" sent so far,\n"
		"          every MS ms (default 20; live frames only)\n"
		"env: GEN_FIXED=1 sends the template unchanged (generator ceiling),\n"
		"     GEN_BATCH=N live-frames batch size (default 64)\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"dev", 1, 0, 'i'},         {"dst-mac", 1, 0, 'D'},    {"src-mac", 1, 0, 'S'},
		{"src", 1, 0, 's'},         {"src-list", 1, 0, 'L'},   {"dst", 1, 0, 'd'},
		{"v6", 0, 0, '6'},          {"udp", 0, 0, 'u'},        {"syn", 0, 0, 'y'},
		{"dport", 1, 0, 'p'},       {"size", 1, 0, 'z'},       {"legit", 1, 0, 'l'},
		{"legit-pct", 1, 0, 'P'},   {"legit-count", 1, 0, 'C'}, {"legit-dst", 1, 0, 'V'},
		{"legit-dport", 1, 0, 'Q'}, {"legit-udp", 0, 0, 'U'},  {"legit-syn", 0, 0, 'Y'},
		{"rate", 1, 0, 'r'},        {"duration", 1, 0, 't'},   {"count", 1, 0, 'n'},
		{"cpu", 1, 0, 'c'},         {"fixed-sources", 1, 0, 'F'}, {"engine", 1, 0, 'e'},
		{"seed", 1, 0, 'E'},        {"series", 1, 0, 'T'},     {"series-ms", 1, 0, 'M'},
		{0, 0, 0, 0},
	};
	struct prefix p;
	int ch;

	*o = (struct opts){.dport = 80, .size = 64, .duration = 5, .legit_count = 16,
			   .cpu = -1, .engine = "auto", .legit_dport = -1, .seed = 1,
			   .series_ms = 20};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'i': o->dev = optarg; break;
		case 'D': if (parse_mac(optarg, o->dmac)) return -1; o->have_dmac = 1; break;
		case 'S': if (parse_mac(optarg, o->smac)) return -1; o->have_smac = 1; break;
		case 's':
			if (parse_prefix(optarg, &p) || add_src(o, &p))
				return -1;
			break;
		case 'L': if (load_src_list(o, optarg)) return -1; break;
		case 'd':
			if (parse_prefix(optarg, &p) || p.len != (p.v6 ? 128 : 32))
				return -1;
			memcpy(o->dst[p.v6], p.addr, 16);
			o->have_dst[p.v6] = 1;
			break;
		case '6': break; /* the family comes from the addresses now */
		case 'u': o->udp = 1; break;
		case 'y': o->syn = 1; break;
		case 'p': o->dport = (uint16_t)atoi(optarg); break;
		case 'z': o->size = atoi(optarg); break;
		case 'l': if (parse_prefix(optarg, &o->legit)) return -1; o->have_legit = 1; break;
		case 'P': o->legit_pct = atoi(optarg); break;
		case 'C': o->legit_count = atol(optarg); break;
		case 'V':
			if (parse_prefix(optarg, &p))
				return -1;
			memcpy(o->legit_dst, p.addr, 16);
			o->have_legit_dst = 1;
			break;
		case 'Q': o->legit_dport = atoi(optarg); break;
		case 'U': o->legit_udp = 1; break;
		case 'Y': o->legit_syn = 1; break;
		case 'r': o->rate = atof(optarg); break;
		case 't': o->duration = atof(optarg); break;
		case 'n': o->count = strtoull(optarg, NULL, 10); break;
		case 'c': o->cpu = atoi(optarg); break;
		case 'F': o->fixed_sources = atol(optarg); break;
		case 'e': o->engine = optarg; break;
		case 'E': o->seed = strtoull(optarg, NULL, 10); break;
		case 'T': o->series = optarg; break;
		case 'M': o->series_ms = atol(optarg); break;
		default: return -1;
		}
	}
	if (optind != argc || !o->dev || !o->have_dmac || !o->have_smac)
		return -1;
	if (o->legit_pct < 0 || o->legit_pct > 100 || o->legit_count < 1 || o->fixed_sources < 0)
		return -1;
	if (o->legit_pct && !o->have_legit) {
		fprintf(stderr, "sluice-gen: --legit-pct needs --legit ADDR\n");
		return -1;
	}
	if (o->legit_pct < 100 && !o->n_src) {
		fprintf(stderr, "sluice-gen: flood traffic needs --src or --src-list\n");
		return -1;
	}
	if (o->size > 1500 || o->size < 0)
		return -1;
	return 0;
}

/* ---- the kernel pktgen module -------------------------------------------- */

static int pg_write(const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n, rc = 0;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (write(fd, buf, (size_t)n) != n)
		rc = -1;
	close(fd);
	if (rc)
		fprintf(stderr, "sluice-gen: pktgen: '%s' > %s: %s\n", buf, path, strerror(errno));
	return rc;
}

/* Why pktgen cannot make this traffic, or NULL if it can. */
static const char *pktgen_unfit(const struct opts *o)
{
	if (!o->udp)
		return "pktgen sends UDP only (TCP SYN/ACK floods need live frames)";
	if (o->legit_pct)
		return "pktgen cannot mix legit flows into a flood";
	if (o->n_src != 1 || o->src[0].v6)
		return "pktgen randomises sources within one IPv4 range only";
	return NULL;
}

static int run_pktgen(const struct opts *o, size_t flen, uint64_t *sent, double *elapsed)
{
	char thr[64], devf[128], line[512], lo[INET_ADDRSTRLEN], hi[INET_ADDRSTRLEN];
	const char *pgctrl = "/proc/net/pktgen/pgctrl";
	uint32_t base, host;
	double t0, t_end;
	pid_t child;
	FILE *f;
	int st;

	snprintf(thr, sizeof(thr), "/proc/net/pktgen/kpktgend_%d", o->cpu >= 0 ? o->cpu : 0);
	snprintf(devf, sizeof(devf), "/proc/net/pktgen/%s", o->dev);
	memcpy(&base, o->src[0].addr, 4);
	host = o->src[0].len >= 32 ? 0 : (uint32_t)((1ull << (32 - o->src[0].len)) - 1);
	inet_ntop(AF_INET, &base, lo, sizeof(lo));
	base = htonl(ntohl(base) | host);
	inet_ntop(AF_INET, &base, hi, sizeof(hi));
	if (pg_write(thr, "rem_device_all") || pg_write(thr, "add_device %s", o->dev) ||
	    pg_write(devf, "count %llu", (unsigned long long)o->count) ||
	    pg_write(devf, "pkt_size %zu", flen + 4) || /* pktgen counts the FCS */
	    pg_write(devf, "dst_mac %02x:%02x:%02x:%02x:%02x:%02x", o->dmac[0], o->dmac[1],
		     o->dmac[2], o->dmac[3], o->dmac[4], o->dmac[5]) ||
	    pg_write(devf, "src_mac %02x:%02x:%02x:%02x:%02x:%02x", o->smac[0], o->smac[1],
		     o->smac[2], o->smac[3], o->smac[4], o->smac[5]) ||
	    pg_write(devf, "dst %u.%u.%u.%u", o->dst[0][0], o->dst[0][1], o->dst[0][2],
		     o->dst[0][3]) ||
	    pg_write(devf, "src_min %s", lo) || pg_write(devf, "src_max %s", hi) ||
	    pg_write(devf, "flag IPSRC_RND") || pg_write(devf, "udp_dst_min %u", o->dport) ||
	    pg_write(devf, "udp_dst_max %u", o->dport) || pg_write(devf, "udp_src_min 1024") ||
	    pg_write(devf, "udp_src_max 65535") || pg_write(devf, "flag UDPSRC_RND") ||
	    (o->rate > 0 && pg_write(devf, "ratep %.0f", o->rate)))
		return -1;
	/* "start" blocks until the run ends: a child writes it, we stop it */
	t0 = now();
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0)
		_exit(pg_write(pgctrl, "start") ? 1 : 0);
	t_end = o->count ? 1e18 : t0 + o->duration;
	while (!stop && now() < t_end) {
		struct timespec ts = {0, 10000000};

		if (waitpid(child, &st, WNOHANG) == child) {
			child = 0;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (child) {
		pg_write(pgctrl, "stop");
		waitpid(child, &st, 0);
	}
	*elapsed = now() - t0;
	*sent = 0;
	f = fopen(devf, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *k = strstr(line, "pkts-sofar: ");

			if (k)
				*sent = strtoull(k + 12, NULL, 10);
		}
		fclose(f);
	}
	pg_write(thr, "rem_device_all");
	return 0;
}

/* ---- live frames ------------------------------------------------------------ */

static void read_sent(struct gen *skel, uint64_t *per_slot)
{
	int ncpu = libbpf_num_possible_cpus();

	for (uint32_t k = 0; k < GEN_SENT_SLOTS; k++) {
		uint64_t v[ncpu];

		per_slot[k] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.gen_sent), &k, v) == 0)
			for (int i = 0; i < ncpu; i++)
				per_slot[k] += v[i];
	}
}

static double realtime(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One line of the --series file: what has been sent by now, by kind. */
static void series_line(FILE *f, struct gen *skel)
{
	uint64_t s[GEN_SENT_SLOTS];

	read_sent(skel, s);
	fprintf(f, "%.4f %llu %llu\n", realtime(), (unsigned long long)(s[0] + s[1]),
		(unsigned long long)(s[2] + s[3]));
	fflush(f);
}

/* Flood prefixes into gen_srcs, in batches (a 1M-prefix list would take a
 * second one syscall per entry). */
static int src4_only(const struct opts *o)
{
	for (size_t i = 0; i < o->n_src; i++)
		if (o->src[i].v6)
			return 0;
	return o->n_src > 0;
}

static uint32_t host_mask(int len, int w)
{
	int keep = len - w * 32; /* network bits in this word */

	return htonl(keep >= 32 ? 0 : keep <= 0 ? 0xffffffffu : (uint32_t)((1ull << (32 - keep)) - 1));
}

static int load_srcs(struct gen *skel, const struct opts *o)
{
	enum { CHUNK = 65536 };
	int four = src4_only(o);
	int fd = bpf_map__fd(four ? skel->maps.gen_srcs4 : skel->maps.gen_srcs);
	size_t vsize = four ? sizeof(struct gen_src4) : sizeof(struct gen_src);
	uint8_t *vals = calloc(CHUNK, vsize);
	uint32_t *keys = calloc(CHUNK, sizeof(*keys));
	int rc = 0;

	if (!vals || !keys) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t base = 0; base < o->n_src && !rc; base += CHUNK) {
		uint32_t n = (uint32_t)(o->n_src - base < CHUNK ? o->n_src - base : CHUNK);

		memset(vals, 0, n * vsize);
		for (uint32_t i = 0; i < n; i++) {
			const struct prefix *p = &o->src[base + i];

			keys[i] = (uint32_t)(base + i);
			if (four) {
				struct gen_src4 *s = (struct gen_src4 *)(vals + i * vsize);

				memcpy(&s->addr, p->addr, 4);
				s->mask = host_mask(p->len, 0);
				continue;
			}
			struct gen_src *s = (struct gen_src *)(vals + i * vsize);

			s->v6 = (uint32_t)p->v6;
			memcpy(s->addr, p->addr, p->v6 ? 16 : 4);
			for (int w = 0; w < (p->v6 ? 4 : 1); w++)
				s->mask[w] = host_mask(p->len, w);
		}
		if (bpf_map_update_batch(fd, keys, vals, &n, NULL))
			rc = -errno;
	}
out:
	free(vals);
	free(keys);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct gen *skel = NULL;
	struct bpf_program *prog;
	struct bpf_link *lo_link = NULL;
	struct gen_cfg *c;
	uint8_t frame[1536] = {0};
	size_t flen;
	uint64_t sent = 0, per_slot[GEN_SENT_SLOTS] = {0};
	double t0, t_end, t_last, elapsed = 0;
	FILE *series = NULL;
	int ifindex, prog_fd, rc, need_v6 = 0, use_pktgen = 0;
	const char *why;

	if (parse_opts(argc, argv, &o)) {
		usage();
		return 2;
	}
	if (o.fixed_sources && o.n_src && fix_sources(&o))
		return 1;
	shuffle_srcs(&o);
	for (size_t i = 0; i < o.n_src && o.legit_pct < 100; i++) {
		if (!o.have_dst[o.src[i].v6]) {
			fprintf(stderr, "sluice-gen: IPv%d flood sources need an IPv%d --dst\n",
				o.src[i].v6 ? 6 : 4, o.src[i].v6 ? 6 : 4);
			return 2;
		}
		need_v6 |= o.src[i].v6;
	}
	if (o.legit_pct) {
		need_v6 |= o.legit.v6;
		if (!o.have_legit_dst) {
			if (!o.have_dst[o.legit.v6]) {
				fprintf(stderr, "sluice-gen: legit flows need --legit-dst or a --dst of "
						"their family\n");
				return 2;
			}
			memcpy(o.legit_dst, o.dst[o.legit.v6], 16);
		}
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
	/* headers, plus 4 bytes of payload; IPv6 in the mix sets the size */
	flen = (size_t)o.size;
	if (flen < (need_v6 ? GEN_HDR_V6 + 4 : 60))
		flen = need_v6 ? GEN_HDR_V6 + 4 : 60;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* Engine choice: pktgen if asked (or auto) and it can do the job. */
	if (strcmp(o.engine, "xdp")) {
		why = access("/proc/net/pktgen/pgctrl", W_OK)
			      ? "no pktgen module (/proc/net/pktgen missing)"
			      : pktgen_unfit(&o);
		if (!why)
			use_pktgen = 1;
		else if (!strcmp(o.engine, "pktgen")) {
			fprintf(stderr, "sluice-gen: --engine pktgen: %s\n", why);
			return 2;
		} else if (!getenv("GEN_QUIET"))
			fprintf(stderr, "sluice-gen: %s: using BPF_PROG_RUN live frames\n", why);
	}
	if (use_pktgen) {
		if (run_pktgen(&o, flen, &sent, &elapsed))
			return 1;
		per_slot[GEN_KIND_FLOOD * 2] = sent;
		goto report;
	}

	skel = gen__open();
	if (!skel)
		return 1;
	bpf_map__set_max_entries(src4_only(&o) ? skel->maps.gen_srcs4 : skel->maps.gen_srcs,
				 o.n_src ? (uint32_t)o.n_src : 1);
	c = (struct gen_cfg *)&skel->rodata->cfg;
	memset(c, 0, sizeof(*c));
	if (o.legit_pct < 100) {
		for (int v6 = 0; v6 < 2; v6++)
			if (o.have_dst[v6])
				build_tpl(&c->tpl[GEN_KIND_FLOOD][v6], &o, v6, o.udp, o.syn,
					  o.dst[v6], o.dport, 0, flen);
		c->n_src = (uint32_t)o.n_src;
		c->src4 = (uint32_t)src4_only(&o);
	}
	if (o.legit_pct) {
		build_tpl(&c->tpl[GEN_KIND_LEGIT][o.legit.v6], &o, o.legit.v6, o.legit_udp,
			  o.legit_syn, o.legit_dst,
			  (uint16_t)(o.legit_dport >= 0 ? o.legit_dport : o.dport), 40000, flen);
		c->legit_pct = (uint32_t)o.legit_pct;
		c->legit_v6 = (uint32_t)o.legit.v6;
		c->legit_count = (uint32_t)o.legit_count;
		memcpy(c->legit_base, o.legit.addr, 16);
	}
	c->long_copy = flen >= GEN_HDR_V6;
	if (o.rate > 0)
		c->interval_fp = (uint64_t)(65536.0 * 1e9 / o.rate);
	if (o.rate > 0 && o.count)
		c->max_sent = o.count;
	c->ifindex = (uint32_t)ifindex;
	if (gen__load(skel)) {
		fprintf(stderr, "sluice-gen: cannot load the generator program: %s\n", strerror(errno));
		return 1;
	}
	rc = load_srcs(skel, &o);
	if (rc) {
		fprintf(stderr, "sluice-gen: loading %zu source prefixes: %s\n", o.n_src,
			strerror(-rc));
		return 1;
	}
	prog = getenv("GEN_FIXED") ? skel->progs.gen_xdp_fixed : skel->progs.gen_xdp;
	prog_fd = bpf_program__fd(prog);
	/* Every BPF_PROG_RUN of an XDP program puts it into the kernel's XDP
	 * dispatcher and takes it out again, two synchronize_rcu() per call:
	 * that left the generator idle two thirds of the time.  A program that
	 * is attached somewhere stays in the dispatcher, so both become no-ops:
	 * attach it (generic mode, as a link that goes away when we exit) to
	 * this namespace's loopback, where it passes everything (the program
	 * only acts on frames from --dev, which lo never sees). */
	lo_link = bpf_program__attach_xdp(prog, (int)if_nametoindex("lo"));
	if (libbpf_get_error(lo_link)) {
		lo_link = NULL;
		fprintf(stderr, "sluice-gen: warning: cannot park the program on lo (%s): every "
				"batch pays two RCU grace periods\n", strerror(errno));
	}
	/* the initial frame content: any template (payload stays zero) */
	for (int k = 0; k < GEN_KIND_MAX; k++)
		for (int v6 = 0; v6 < 2; v6++)
			if (c->tpl[k][v6].valid)
				memcpy(frame, c->tpl[k][v6].bytes, c->long_copy ? GEN_HDR_V6 : GEN_HDR_V4);

	if (o.series) {
		series = fopen(o.series, "w");
		if (!series) {
			fprintf(stderr, "sluice-gen: %s: %s\n", o.series, strerror(errno));
			return 1;
		}
		series_line(series, skel);
	}
	t0 = now();
	t_last = t0;
	t_end = o.count ? 1e18 : t0 + o.duration;
	while (!stop) {
		struct xdp_md ctx = {.data_end = (__u32)flen, .ingress_ifindex = (__u32)ifindex};
		double t = now();
		uint32_t batch;

		if (t >= t_end || (o.count && sent >= o.count))
			break;
		/* Flat out: every run sends, so runs = packets.  Paced: the
		 * program sends when a packet is due and skips otherwise; a
		 * chunk of runs is a few ms, and what went out is counted in
		 * gen_sent. */
		batch = 1 << 16;
		if (o.count && !c->interval_fp && sent + batch > o.count)
			batch = (uint32_t)(o.count - sent);
		{
			LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame,
				    .data_size_in = (__u32)flen, .ctx_in = &ctx,
				    .ctx_size_in = sizeof(ctx), .repeat = batch,
				    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
				    .batch_size = getenv("GEN_BATCH") ? (__u32)atoi(getenv("GEN_BATCH")) : 64);

			rc = bpf_prog_test_run_opts(prog_fd, &topts);
			if (rc && errno == EINTR)
				break; /* SIGINT/SIGTERM mid-run: report what went out */
			if (rc) {
				fprintf(stderr, "sluice-gen: BPF_PROG_RUN live frames: %s\n",
					strerror(errno));
				return 1;
			}
		}
		if (c->interval_fp) {
			uint64_t s[GEN_SENT_SLOTS];

			read_sent(skel, s);
			sent = s[0] + s[1] + s[2] + s[3];
		} else {
			sent += batch;
		}
		if (series && t - t_last >= o.series_ms / 1e3) {
			series_line(series, skel);
			t_last = t;
		}
	}
	elapsed = now() - t0;
	if (series) {
		series_line(series, skel);
		fclose(series);
	}
	read_sent(skel, per_slot);
	if (getenv("GEN_FIXED"))
		per_slot[GEN_KIND_FLOOD * 2] = sent; /* the fixed program counts nothing */
	else /* what the program sent (an interrupted batch did not run whole) */
		sent = per_slot[0] + per_slot[1] + per_slot[2] + per_slot[3];
report:
	printf("{\"engine\":\"%s\",\"sent\":%llu,\"flood\":%llu,\"legit\":%llu,"
	       "\"flood_v4\":%llu,\"flood_v6\":%llu,\"legit_v4\":%llu,\"legit_v6\":%llu,"
	       "\"seconds\":%.3f,\"pps\":%.0f,\"frame_bytes\":%zu}\n",
	       use_pktgen ? "pktgen" : "xdp-live-frames", (unsigned long long)sent,
	       (unsigned long long)(per_slot[0] + per_slot[1]),
	       (unsigned long long)(per_slot[2] + per_slot[3]), (unsigned long long)per_slot[0],
	       (unsigned long long)per_slot[1], (unsigned long long)per_slot[2],
	       (unsigned long long)per_slot[3], elapsed, elapsed > 0 ? (double)sent / elapsed : 0,
	       flen);
	if (skel) {
		bpf_link__destroy(lo_link);
		gen__destroy(skel);
	}
	free(o.src);
	return 0;
}
