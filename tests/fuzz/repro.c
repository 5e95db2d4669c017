// SPDX-License-Identifier: GPL-2.0
/*
 * repro.c - directed reproducers of the program bugs the differential
 * tester found (the model's quirks, tests/model/model.h, and one control
 * plane bug).  Each scenario configures the fixture, sends its frames to
 * the program and to the strict model, and says whether the program does
 * what the model says (fixed) or what the quirk describes (present); any
 * third behaviour is a failure.  Frames of a present bug go to out_dir as
 * pcaps (input, program output, model output).
 */
#define _GNU_SOURCE
#include "diff.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../model/model.h"
#include "../unit/harness.h"
#include "prefix.h"
#include "services.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void ip4(uint8_t *a, const char *t)
{
	memset(a, 0, 16);
	inet_pton(AF_INET, t, a);
}

static void ip6(uint8_t *a, const char *t)
{
	inet_pton(AF_INET6, t, a);
}

/* The Ethernet header of every frame here: from the client's MAC to the
 * node's, with ethertype type. */
static void eth_to_node(uint8_t *b, uint16_t type)
{
	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\xc1\x01", 12);
	put16(b + 12, type);
}

/* A 20-byte IPv4 header src -> dst (TTL 64) with its checksum. */
static void ip4_header(uint8_t *ip, uint8_t proto, uint16_t tot_len, const char *src,
		       const char *dst)
{
	uint8_t a[16];

	ip[0] = 0x45;
	put16(ip + 2, tot_len);
	ip[8] = 64;
	ip[9] = proto;
	ip4(a, src);
	memcpy(ip + 12, a, 4);
	ip4(a, dst);
	memcpy(ip + 16, a, 4);
	put16(ip + 10, inet_csum(ip, 20, 0));
}

/* Ethernet + IPv4 + TCP (20 bytes) + payload, checksums right. */
static size_t tcp4(uint8_t *b, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		   uint8_t flags)
{
	uint8_t *ip = b + 14, *t = ip + 20;
	uint32_t ps = 0;

	memset(b, 0, 14 + 20 + 20 + 8);
	eth_to_node(b, 0x0800);
	ip4_header(ip, IPPROTO_TCP, 48, src, dst);
	put16(t, sport);
	put16(t + 2, dport);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	memcpy(t + 20, "payload!", 8);
	for (int i = 12; i < 20; i += 2)
		ps += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	put16(t + 16, inet_csum(t, 28, ps + IPPROTO_TCP + 28));
	return 14 + 48;
}

/* ICMPv4 "fragmentation needed" from src to dst quoting a TCP/UDP header
 * qsrc:qsport -> qdst:qdport. */
static size_t icmp4_error(uint8_t *b, const char *src, const char *dst, const char *qsrc,
			  uint16_t qsport, const char *qdst, uint16_t qdport, uint8_t qproto)
{
	uint8_t *ip = b + 14, *ic = ip + 20, *q = ic + 8;

	memset(b, 0, 14 + 20 + 8 + 28);
	eth_to_node(b, 0x0800);
	ip4_header(ip, IPPROTO_ICMP, 56, src, dst);
	ic[0] = 3;
	ic[1] = 4;
	put16(ic + 6, 1400);
	ip4_header(q, qproto, 576, qsrc, qdst); /* the quoted packet was longer */
	put16(q + 20, qsport);
	put16(q + 22, qdport);
	put16(ic + 2, inet_csum(ic, 36, 0));
	return 14 + 56;
}

struct scenario {
	struct lb_service_cfg svc[2];
	struct lb_backend_cfg be[2][4];
	struct lb_model lb;
	struct model_service ms[2];
	struct model_backend mb[2][4];
	uint32_t table[2][SLUICE_RING_SIZE];
	struct model_config cfg;
	struct ref_model model;
};

static void add_svc(struct scenario *s, const char *vip, uint16_t port, uint8_t proto, int mode)
{
	struct lb_service_cfg *c = &s->svc[s->lb.n];
	char err[SLUICE_ERRLEN];

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "r%zu", s->lb.n);
	prefix_parse(vip, &c->vip, err, sizeof(err));
	c->port = port;
	c->proto = proto;
	c->mode = (uint8_t)mode;
	c->backends = s->be[s->lb.n];
	s->lb.svcs = s->svc;
	s->lb.n++;
}

static void add_be(struct scenario *s, const char *addr, uint16_t port, uint32_t weight,
		   uint8_t state)
{
	struct lb_service_cfg *c = &s->svc[s->lb.n - 1];
	struct lb_backend_cfg *b = &c->backends[c->n_backends++];
	char err[SLUICE_ERRLEN];

	memset(b, 0, sizeof(*b));
	prefix_parse(addr, &b->addr, err, sizeof(err));
	b->port = port;
	b->weight = weight;
	b->state = state;
}

/* Apply the services and give the model the same (ids from the maps). */
static int apply(struct scenario *s)
{
	int fd;

	if (xdp_set_services(&s->lb))
		return -1;
	fd = xdp_map_fd(xdp_active_gen() ? "lb_services_g1" : "lb_services_g0");
	for (size_t i = 0; i < s->lb.n; i++) {
		const struct lb_service_cfg *c = &s->svc[i];
		struct sluice_svc_key k;
		struct sluice_svc v;
		uint32_t ids[4];

		memset(&k, 0, sizeof(k));
		memcpy(k.addr, c->vip.addr, 16);
		k.port = htons(c->port);
		k.proto = c->proto;
		k.family = c->vip.family;
		if (bpf_map_lookup_elem(fd, &k, &v))
			return -1;
		s->ms[i] = (struct model_service){.id = v.id, .family = c->vip.family, .port = c->port,
						  .proto = c->proto, .mode = c->mode, .be = s->mb[i],
						  .n_be = c->n_backends, .table = s->table[i]};
		memcpy(s->ms[i].vip, c->vip.addr, 16);
		for (size_t b = 0; b < c->n_backends; b++) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(c->vip.family == 4 ? AF_INET : AF_INET6, c->backends[b].addr.addr, a,
				  sizeof(a));
			ids[b] = xdp_backend_id(a, c->backends[b].port);
			s->mb[i][b] = (struct model_backend){.id = ids[b], .family = c->vip.family,
							    .port = c->backends[b].port,
							    .state = c->backends[b].state,
							    .weight = c->backends[b].weight};
			memcpy(s->mb[i][b].addr, c->backends[b].addr.addr, 16);
		}
		if (lb_service_table(c, ids, s->table[i]))
			return -1;
	}
	s->cfg.svcs = s->ms;
	s->cfg.n_svcs = s->lb.n;
	s->cfg.fib = diff_netns_fib;
	s->cfg.linear_max = 3520;
	return 0;
}

static void pcap(const struct diff_opts *o, const char *name, const uint8_t *in, size_t len,
		 const struct run_result *a, const struct model_result *m)
{
	char path[512];
	uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	FILE *f;

	if (!o->out_dir || !o->out_dir[0])
		return;
	mkdir(o->out_dir, 0755);
	snprintf(path, sizeof(path), "%s/known-bug-%s.pcap", o->out_dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(gh, sizeof(gh), 1, f);
	for (int i = 0; i < 3; i++) {
		const uint8_t *b = i == 0 ? in : i == 1 ? a->out : m->out;
		uint32_t n = (uint32_t)(i == 0 ? len : i == 1 ? a->out_len : m->out_len);
		uint32_t h[4] = {(uint32_t)i + 1, 0, n, n};

		if (i == 2 && !m->bytes_checked)
			break;
		fwrite(h, sizeof(h), 1, f);
		fwrite(b, 1, n, f);
	}
	fclose(f);
}

/* Run one frame through both; 0 = same, 1 = different. */
static int both(struct scenario *s, const uint8_t *b, size_t len, struct run_result *a,
		struct model_result *m, char *why, size_t n)
{
	if (diff_run_frame(b, len, a))
		return -1;
	ref_run(&s->model, &s->cfg, b, len, m);
	return diff_compare(a, m, why, n) ? 1 : 0;
}

/* Result of one scenario: 0 fixed, 1 present, -1 neither (a failure). */
static int report(FILE *log, const char *name, int present, int spec, const char *what)
{
	fprintf(log, "    known bug %-18s %s%s\n", name,
		present ? "PRESENT: " : spec ? "fixed" : "UNEXPECTED behaviour: ", present || !spec ? what : "");
	return present ? 1 : spec ? 0 : -1;
}

/* A: an ICMP error about a TCP flow on a draining backend deletes the flow's
 * connection: its next packet goes elsewhere. */
static int drain_delete(const struct diff_opts *o, FILE *log, struct run_result *a,
			struct model_result *m)
{
	static struct scenario s;
	uint8_t b[256];
	char why[256];
	uint16_t port = 0;
	int first = -1, after_model, after_prog, rc;
	size_t len;

	memset(&s, 0, sizeof(s));
	add_svc(&s, "192.0.2.10", 80, IPPROTO_TCP, SLUICE_MODE_NAT);
	add_be(&s, "203.0.113.11", 8080, 1, SLUICE_BE_ACTIVE);
	add_be(&s, "203.0.113.12", 8080, 1, SLUICE_BE_ACTIVE);
	if (apply(&s))
		return -1;
	/* a client port that Maglev puts on .12; its ACK makes the entry */
	for (port = 20000; port < 21000 && first != 12; port++) {
		len = tcp4(b, LBT_CLIENT4, port, "192.0.2.10", 80, 0x10);
		if (both(&s, b, len, a, m, why, sizeof(why)))
			return -1;
		first = a->out[14 + 19];
	}
	port--;
	s.be[0][1].weight = 0; /* .12 drains: keeps its connections */
	s.be[0][1].state = SLUICE_BE_DRAINING;
	if (apply(&s))
		return -1;
	len = icmp4_error(b, "198.51.100.99", "192.0.2.10", "192.0.2.10", 80, LBT_CLIENT4, port,
			  IPPROTO_TCP);
	rc = both(&s, b, len, a, m, why, sizeof(why));
	if (rc < 0)
		return -1;
	len = tcp4(b, LBT_CLIENT4, port, "192.0.2.10", 80, 0x10);
	rc = both(&s, b, len, a, m, why, sizeof(why));
	if (rc < 0)
		return -1;
	after_prog = a->out[14 + 19];
	after_model = m->out[14 + 19];
	if (rc)
		pcap(o, "icmp-drain-delete", b, len, a, m);
	ref_free(&s.model);
	return report(log, "icmp-drain-delete", rc && after_model == 12 && after_prog == 11, !rc,
		      "after an ICMP error about it, an established flow on a draining backend "
		      "(203.0.113.12) moved to 203.0.113.11");
}

/* B: an ICMP error about a UDP flow makes a connection entry. */
static int udp_conn(const struct diff_opts *o, FILE *log, struct run_result *a,
		    struct model_result *m)
{
	static struct scenario s;
	struct sluice_flow_key k;
	struct sluice_conn c;
	uint8_t b[256];
	char why[256];
	int rc, entry;
	size_t len;

	(void)o;
	memset(&s, 0, sizeof(s));
	add_svc(&s, "192.0.2.11", 53, IPPROTO_UDP, SLUICE_MODE_NAT);
	add_be(&s, "203.0.113.13", 5353, 1, SLUICE_BE_ACTIVE);
	if (apply(&s))
		return -1;
	len = icmp4_error(b, "198.51.100.99", "192.0.2.11", "192.0.2.11", 53, LBT_CLIENT4, 33333,
			  IPPROTO_UDP);
	rc = both(&s, b, len, a, m, why, sizeof(why));
	if (rc)
		return -1; /* the packet itself is translated the same */
	memset(&k, 0, sizeof(k));
	inet_pton(AF_INET, LBT_CLIENT4, &k.src[0]);
	inet_pton(AF_INET, "192.0.2.11", &k.dst[0]);
	k.sport = htons(33333);
	k.dport = htons(53);
	k.proto = IPPROTO_UDP;
	k.family = 4;
	entry = bpf_map_lookup_elem(xdp_map_fd("lb_conns"), &k, &c) == 0;
	ref_free(&s.model);
	return report(log, "icmp-udp-conn", entry, !entry,
		      "an ICMP error about 198.51.100.7:33333 -> 192.0.2.11:53/udp (from anyone) "
		      "created a connection-table entry for that flow");
}

/* C: ICMPv6 deeper than 2 KiB: the program reads "the ICMP header" at the
 * offset masked to 11 bits, inside a hop-by-hop option it does not own. */
static int deep(const struct diff_opts *o, FILE *log, struct run_result *a, struct model_result *m)
{
	static struct scenario s;
	static uint8_t b[2400];
	uint8_t *ip = b + 14, *hbh = ip + 40, *fake, *q, *icmp;
	char why[256];
	size_t len, l4;
	int rc;

	memset(&s, 0, sizeof(s));
	add_svc(&s, "2001:db8:10::10", 80, IPPROTO_TCP, SLUICE_MODE_NAT);
	add_be(&s, "2001:db8:20::11", 8080, 1, SLUICE_BE_ACTIVE);
	if (apply(&s))
		return -1;
	memset(b, 0, sizeof(b));
	eth_to_node(b, 0x86dd);
	ip[0] = 0x60;
	ip[6] = 0; /* hop-by-hop */
	ip[7] = 64;
	ip6(ip + 8, "2001:db8:1::7");
	ip6(ip + 24, "2001:db8:10::10");
	/* hop-by-hop, 2048 bytes: one PadN option over all of it */
	hbh[0] = 60; /* then destination options */
	hbh[1] = 255;
	hbh[2] = 1;
	hbh[3] = 0; /* PadN data follows; its content is ours */
	/* a destination options header of 8 bytes, then ICMPv6 echo */
	hbh[2048] = 58;
	hbh[2049] = 0;
	l4 = 14 + 40 + 2048 + 8;
	icmp = b + l4;
	icmp[0] = 128; /* echo request: not load-balanced */
	put16(icmp + 4, 0x1234);
	/* what sits at l4 & 2047: a fake ICMPv6 error towards the VIP */
	fake = b + (l4 & 2047);
	fake[0] = 1;
	q = fake + 8;
	q[0] = 0x60;
	q[6] = IPPROTO_TCP;
	ip6(q + 8, "2001:db8:10::10");
	ip6(q + 24, "2001:db8:1::7");
	put16(q + 40, 80);
	put16(q + 42, 40000);
	len = l4 + 8 + 16;
	put16(ip + 4, (uint16_t)(len - 14 - 40));
	{
		uint32_t ps = 0;
		size_t n = len - l4;

		for (int i = 8; i < 40; i += 2)
			ps += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		put16(icmp + 2, inet_csum(icmp, n, ps + 58 + (uint32_t)n));
	}
	rc = both(&s, b, len, a, m, why, sizeof(why));
	if (rc < 0)
		return -1;
	if (rc)
		pcap(o, "icmp-deep", b, len, a, m);
	ref_free(&s.model);
	return report(log, "icmp-deep", rc && a->reason == SR_LB_ICMP, !rc,
		      "an ICMPv6 echo request to the VIP behind a 2 KiB hop-by-hop header was "
		      "sent to the backend, rewritten inside the option bytes (lb_icmp)");
}

/* D: a backend new in a generation and in two services gets two ids. */
static int dup_ids(FILE *log)
{
	static struct scenario s;
	int fd = xdp_map_fd("lb_backends"), gen, n = 0;

	memset(&s, 0, sizeof(s));
	add_svc(&s, "192.0.2.10", 443, IPPROTO_TCP, SLUICE_MODE_DSR_IPIP);
	add_be(&s, "203.0.113.14", 443, 1, SLUICE_BE_ACTIVE);
	add_svc(&s, "192.0.2.11", 443, IPPROTO_TCP, SLUICE_MODE_DSR_IPIP);
	add_be(&s, "203.0.113.14", 443, 1, SLUICE_BE_ACTIVE);
	if (xdp_set_services(&s.lb))
		return -1;
	gen = xdp_active_gen();
	for (uint32_t id = 1; id < 256; id++) {
		struct sluice_backend v;
		uint32_t k = (uint32_t)gen * SLUICE_MAX_BACKENDS + id;
		uint8_t want[16] = {203, 0, 113, 14};

		if (bpf_map_lookup_elem(fd, &k, &v))
			return -1;
		n += v.family == 4 && !memcmp(v.addr, want, 16) && v.port == htons(443);
	}
	return report(log, "ctl-dup-backend-id", n == 2, n == 1,
		      "203.0.113.14:443, new and in two services, got two backend ids "
		      "(lb_apply: ctl/services.c backend_id)");
}

int diff_known_bugs(const struct diff_opts *o, FILE *log, int *present)
{
	struct run_result *a = calloc(1, sizeof(*a));
	struct model_result *m = calloc(1, sizeof(*m));
	int r[4], bad = 0;

	*present = 0;
	diff_runner_reset();
	if (!a || !m) {
		free(a);
		free(m);
		return -1;
	}
	r[0] = drain_delete(o, log, a, m);
	r[1] = udp_conn(o, log, a, m);
	r[2] = deep(o, log, a, m);
	r[3] = dup_ids(log);
	for (int i = 0; i < 4; i++) {
		bad += r[i] < 0;
		*present += r[i] > 0;
	}
	free(a);
	free(m);
	return bad ? -1 : 0;
}
