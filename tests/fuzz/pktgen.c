// SPDX-License-Identifier: GPL-2.0
/* pktgen.c - seeded frames for the differential tester (see pktgen.h). */
#include "pktgen.h"

#include <netinet/in.h>
#include <string.h>

#include "../unit/frames.h" /* inet_csum: the unit tests' independent checksum */

const char *const pg_kind_names[PK_KIND_MAX] = {
	[PK_STRUCTURED] = "structured", [PK_COMBO] = "combination", [PK_TRUNCATED] = "truncated",
	[PK_MUTATED] = "mutated",       [PK_RANDOM] = "random",
};

const char *const pg_mutation_names[PM_KIND_MAX] = {
	[PM_BITFLIP] = "bitflip",   [PM_BYTE] = "byte",         [PM_INTERESTING] = "interesting",
	[PM_HEADER_FIELD] = "field", [PM_LENGTH] = "length",     [PM_INSERT] = "insert",
	[PM_DELETE] = "delete",     [PM_TRUNCATE] = "truncate", [PM_EXTEND] = "extend",
	[PM_SPLICE] = "splice",     [PM_DUP_TAG] = "vlan-tag",  [PM_ADDR] = "address",
};

/* ---- random numbers (splitmix64) -------------------------------------- */

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

int rng_chance(struct rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- structured frames ------------------------------------------------- */

struct quote {
	int on;
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint16_t sport, dport;
	int opts; /* quoted IPv4 options bytes */
	int tail; /* quoted transport bytes (8 is what routers send) */
};

struct spec {
	int ntags;
	uint16_t tpid[3];
	uint16_t ethertype;
	int fam; /* 4, 6, or 0 (ethertype's own payload) */
	uint8_t src[16], dst[16];
	int v4_opts;
	uint8_t tos;
	int frag; /* 0 none, 1 first, 2 later, 3 later with MF */
	int n_ext;
	uint8_t ext[10], ext_units[10];
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	int tcp_opts;
	uint8_t icmp_type, icmp_code;
	struct quote q;
	int payload;
	int udp_no_csum, bad_csum;
	int pad, pad_random;
};

struct layout {
	size_t l3, l4, end, len;
	int fam;
	int ntags;
};

static void put_opts(struct rng *r, uint8_t *p, int n)
{
	for (int i = 0; i < n; i++) {
		uint32_t k = rng_below(r, 4);

		p[i] = k == 0 ? 1 : k == 1 ? 0 : (uint8_t)rng_next(r); /* NOP, EOL, junk */
	}
}

static uint32_t pseudo(const uint8_t *src, const uint8_t *dst, int fam, uint8_t proto, size_t len)
{
	uint32_t s = 0;
	int n = fam == 6 ? 16 : 4;

	for (int i = 0; i < n; i += 2) {
		s += (uint32_t)(src[i] << 8 | src[i + 1]);
		s += (uint32_t)(dst[i] << 8 | dst[i + 1]);
	}
	return s + proto + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
}

static size_t build(struct rng *r, const struct spec *s, uint8_t *b, struct layout *lay)
{
	size_t off = 12, l3, l4, end;
	int fam = s->fam;

	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\xc1\x01", 12);
	for (int i = 0; i < s->ntags; i++) {
		put16(b + off, s->tpid[i]);
		put16(b + off + 2, (uint16_t)(rng_below(r, 4096) | (rng_below(r, 8) << 13)));
		off += 4;
	}
	put16(b + off, s->ethertype);
	off += 2;
	l3 = off;
	if (fam == 4) {
		size_t hl = 20 + (size_t)s->v4_opts;

		memset(b + l3, 0, 20);
		b[l3] = (uint8_t)(0x40 | hl / 4);
		b[l3 + 1] = s->tos;
		put16(b + l3 + 4, (uint16_t)rng_next(r));
		put16(b + l3 + 6, s->frag == 1	 ? 0x2000
				  : s->frag == 2 ? (uint16_t)(1 + rng_below(r, 0x1fff))
				  : s->frag == 3 ? (uint16_t)(0x2000 | (1 + rng_below(r, 0x1fff)))
						 : (rng_chance(r, 70) ? 0x4000 : 0));
		b[l3 + 8] = (uint8_t)(1 + rng_below(r, 255));
		b[l3 + 9] = s->proto;
		memcpy(b + l3 + 12, s->src, 4);
		memcpy(b + l3 + 16, s->dst, 4);
		put_opts(r, b + l3 + 20, s->v4_opts);
		l4 = l3 + hl;
	} else if (fam == 6) {
		memset(b + l3, 0, 40);
		b[l3] = 0x60 | (uint8_t)rng_below(r, 16);
		b[l3 + 6] = s->n_ext ? s->ext[0] : s->proto;
		b[l3 + 7] = (uint8_t)(1 + rng_below(r, 255));
		memcpy(b + l3 + 8, s->src, 16);
		memcpy(b + l3 + 24, s->dst, 16);
		off = l3 + 40;
		for (int i = 0; i < s->n_ext; i++) {
			uint8_t next = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;
			size_t size;

			if (s->ext[i] == 44)
				size = 8;
			else if (s->ext[i] == 51)
				size = ((size_t)s->ext_units[i] + 2) * 4;
			else
				size = ((size_t)s->ext_units[i] + 1) * 8;
			memset(b + off, 0, size);
			b[off] = next;
			if (s->ext[i] == 44) {
				uint16_t fo = s->frag == 1   ? 1
					      : s->frag == 2 ? (uint16_t)((1 + rng_below(r, 0x1fff)) << 3)
					      : s->frag == 3 ? (uint16_t)((1 + rng_below(r, 0x1fff)) << 3 | 1)
							     : 0;

				put16(b + off + 2, fo);
				put16(b + off + 4, (uint16_t)rng_next(r));
			} else {
				b[off + 1] = s->ext_units[i];
				if (s->ext[i] != 51 && size >= 8) { /* PadN */
					b[off + 2] = 1;
					b[off + 3] = (uint8_t)(size - 4);
				}
			}
			off += size;
		}
		l4 = off;
	} else {
		l4 = l3;
	}

	/* transport */
	end = l4;
	if (fam && s->proto == IPPROTO_TCP) {
		size_t hl = 20 + (size_t)s->tcp_opts;

		memset(b + l4, 0, hl);
		put16(b + l4, s->sport);
		put16(b + l4 + 2, s->dport);
		put16(b + l4 + 4, (uint16_t)rng_next(r));
		put16(b + l4 + 8, (uint16_t)rng_next(r));
		b[l4 + 12] = (uint8_t)((hl / 4) << 4);
		b[l4 + 13] = s->tcp_flags;
		put16(b + l4 + 14, 65535);
		put_opts(r, b + l4 + 20, s->tcp_opts);
		end = l4 + hl;
	} else if (fam && s->proto == IPPROTO_UDP) {
		memset(b + l4, 0, 8);
		put16(b + l4, s->sport);
		put16(b + l4 + 2, s->dport);
		put16(b + l4 + 4, (uint16_t)(8 + s->payload));
		end = l4 + 8;
	} else if (fam && (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6)) {
		memset(b + l4, 0, 8);
		b[l4] = s->icmp_type;
		b[l4 + 1] = s->icmp_code;
		put16(b + l4 + 4, (uint16_t)rng_next(r));
		end = l4 + 8;
		if (s->q.on) {
			uint8_t *q = b + end;
			size_t qhl = fam == 4 ? 20 + (size_t)s->q.opts : 40;

			memset(q, 0, qhl);
			if (fam == 4) {
				q[0] = (uint8_t)(0x40 | qhl / 4);
				put16(q + 2, (uint16_t)(qhl + 8 + rng_below(r, 1400)));
				put16(q + 4, (uint16_t)rng_next(r));
				q[8] = (uint8_t)rng_below(r, 3);
				q[9] = s->q.proto;
				memcpy(q + 12, s->q.src, 4);
				memcpy(q + 16, s->q.dst, 4);
				put_opts(r, q + 20, s->q.opts);
				put16(q + 10, inet_csum(q, qhl, 0));
			} else {
				q[0] = 0x60;
				put16(q + 4, (uint16_t)(8 + rng_below(r, 1400)));
				q[6] = s->q.proto;
				q[7] = (uint8_t)rng_below(r, 3);
				memcpy(q + 8, s->q.src, 16);
				memcpy(q + 24, s->q.dst, 16);
			}
			q += qhl;
			for (int i = 0; i < s->q.tail; i++)
				q[i] = (uint8_t)rng_next(r);
			if (s->q.tail >= 4) {
				put16(q, s->q.sport);
				put16(q + 2, s->q.dport);
			}
			end += qhl + (size_t)s->q.tail;
		}
	}
	for (int i = 0; i < s->payload && end < PG_FRAME_MAX; i++)
		b[end++] = (uint8_t)(i * 7 + 0x41);

	/* lengths and checksums */
	if (fam == 4) {
		put16(b + l3 + 2, (uint16_t)(end - l3));
		put16(b + l3 + 10, inet_csum(b + l3, l4 - l3, 0));
	} else if (fam == 6) {
		put16(b + l3 + 4, (uint16_t)(end - l3 - 40));
	}
	if (fam) {
		const uint8_t *src = b + l3 + (fam == 4 ? 12 : 8), *dst = src + (fam == 4 ? 4 : 16);
		size_t l4len = end - l4;
		size_t at = s->proto == IPPROTO_TCP ? 16 : s->proto == IPPROTO_UDP ? 6 : 2;
		int has = s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP ||
			  s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6;

		if (has && l4len >= at + 2) {
			uint32_t seed = (s->proto == IPPROTO_ICMP) ? 0
								    : pseudo(src, dst, fam, s->proto, l4len);
			uint16_t v = inet_csum(b + l4, l4len, seed);

			if (s->proto == IPPROTO_UDP && v == 0)
				v = 0xffff;
			if (s->proto == IPPROTO_UDP && fam == 4 && s->udp_no_csum)
				v = 0;
			if (s->bad_csum)
				v = (uint16_t)rng_next(r);
			put16(b + l4 + at, v);
		}
	}
	if (s->pad) {
		for (int i = 0; i < s->pad && end < PG_FRAME_MAX; i++)
			b[end++] = s->pad_random ? (uint8_t)rng_next(r) : 0;
	}
	if (lay) {
		lay->l3 = l3;
		lay->l4 = l4;
		lay->end = end;
		lay->len = end;
		lay->fam = fam;
		lay->ntags = s->ntags;
	}
	return end;
}

/* ---- addresses ----------------------------------------------------------- */

static const uint8_t client4[4] = {198, 51, 100, 7};
static const uint8_t client6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};

static void addr_random_near(struct rng *r, int fam, uint8_t *a)
{
	memset(a, 0, 16);
	if (fam == 4) {
		switch (rng_below(r, 6)) {
		case 0:
			memcpy(a, client4, 4);
			break;
		case 1:
			a[0] = 198, a[1] = 51, a[2] = 100, a[3] = (uint8_t)rng_next(r);
			break;
		case 2:
			a[0] = 203, a[1] = 0, a[2] = 113, a[3] = (uint8_t)rng_next(r);
			break;
		case 3:
			a[0] = 10, a[1] = (uint8_t)rng_below(r, 4), a[2] = (uint8_t)rng_next(r),
			a[3] = (uint8_t)rng_next(r);
			break;
		case 4:
			a[0] = 192, a[1] = 0, a[2] = 2, a[3] = (uint8_t)rng_next(r);
			break;
		default:
			for (int i = 0; i < 4; i++)
				a[i] = (uint8_t)rng_next(r);
		}
		return;
	}
	a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
	switch (rng_below(r, 6)) {
	case 0:
		memcpy(a, client6, 16);
		break;
	case 1:
		a[5] = 1, a[15] = (uint8_t)rng_next(r);
		break;
	case 2:
		a[5] = 0x20, a[15] = (uint8_t)rng_next(r);
		break;
	case 3:
		a[5] = 0x10, a[14] = (uint8_t)rng_below(r, 2), a[15] = (uint8_t)rng_next(r);
		break;
	case 4:
		a[5] = (uint8_t)rng_below(r, 4);
		for (int i = 8; i < 16; i++)
			a[i] = (uint8_t)rng_next(r);
		break;
	default:
		for (int i = 0; i < 16; i++)
			a[i] = (uint8_t)rng_next(r);
		if (a[0] == 0xfe || a[0] == 0xff)
			a[0] = 0x3f; /* keep off link-local and multicast */
	}
}

static void pick_source(struct pktgen *g, int fam, uint8_t *a)
{
	const struct pg_world *w = g->w;

	if (w->n_sources && rng_chance(&g->rng, 40)) {
		for (int tries = 0; tries < 8; tries++) {
			const struct pg_addr *p = &w->sources[rng_below(&g->rng, (uint32_t)w->n_sources)];

			if (p->family == fam) {
				memcpy(a, p->addr, 16);
				return;
			}
		}
	}
	addr_random_near(&g->rng, fam, a);
}

static uint16_t random_port(struct rng *r)
{
	static const uint16_t common[] = {80, 53, 443, 8080, 5353, 0, 1, 65535};

	return rng_chance(r, 30) ? common[rng_below(r, 8)] : (uint16_t)(1024 + rng_below(r, 64000));
}

static uint8_t random_flags(struct rng *r)
{
	static const uint8_t f[] = {0x02, 0x02, 0x10, 0x10, 0x18, 0x12, 0x11, 0x04, 0x00, 0x03};

	return rng_chance(r, 90) ? f[rng_below(r, sizeof(f))] : (uint8_t)rng_next(r);
}

/* ---- random header combinations ---------------------------------------- */

static void decorate(struct pktgen *g, struct spec *s)
{
	struct rng *r = &g->rng;
	uint32_t k = rng_below(r, 100);

	s->ntags = k < 80 ? 0 : k < 90 ? 1 : k < 97 ? 2 : 3;
	for (int i = 0; i < s->ntags; i++)
		s->tpid[i] = i == 0 && rng_chance(r, 40) ? 0x88a8 : rng_chance(r, 3) ? 0x9100 : 0x8100;
	g->st.vlan_depth[s->ntags]++;
	if (s->fam == 4 && rng_chance(r, 10)) {
		s->v4_opts = 4 * (int)(1 + rng_below(r, 10));
		g->st.ipv4_options++;
	}
	if (rng_chance(r, 8)) {
		s->frag = (int)(1 + rng_below(r, 3));
		g->st.fragments++;
	}
	if (s->fam == 6 && (rng_chance(r, 15) || s->frag)) {
		static const uint8_t kinds[] = {0, 43, 60, 44, 51, 135, 60, 0};
		int has_frag = 0;

		s->n_ext = (int)(1 + rng_below(r, rng_chance(r, 20) ? 10 : 3));
		for (int i = 0; i < s->n_ext; i++) {
			s->ext[i] = kinds[rng_below(r, sizeof(kinds))];
			s->ext_units[i] = (uint8_t)(rng_chance(r, 70) ? rng_below(r, 2) * 2
								    : rng_below(r, rng_chance(r, 10) ? 256 : 8));
			has_frag |= s->ext[i] == 44;
		}
		if (s->frag && !has_frag)
			s->ext[rng_below(r, (uint32_t)s->n_ext)] = 44;
		g->st.ipv6_ext_chains++;
	}
	if (s->proto == IPPROTO_TCP && rng_chance(r, 10))
		s->tcp_opts = 4 * (int)(1 + rng_below(r, 10));
	k = rng_below(r, 100);
	s->payload = k < 70 ? (int)rng_below(r, 65) : k < 90 ? (int)(65 + rng_below(r, 1400))
		     : k < 97 ? (int)(1400 + rng_below(r, 2200)) : (int)(3600 + rng_below(r, 5400));
	if (s->payload > 3400)
		g->st.jumbo++;
	if (rng_chance(r, 10)) {
		s->pad = (int)(1 + rng_below(r, 40));
		s->pad_random = rng_chance(r, 50);
	}
	s->udp_no_csum = rng_chance(r, 10);
	s->bad_csum = rng_chance(r, 4);
	s->tos = (uint8_t)(rng_chance(r, 80) ? 0 : rng_next(r));
}

static void set_family(struct spec *s, int fam)
{
	s->fam = fam;
	s->ethertype = fam == 4 ? 0x0800 : 0x86dd;
}

static void remember_flow(struct pktgen *g, const struct pg_service *sv, const uint8_t *client,
			  uint16_t cport, uint16_t vport)
{
	int i = g->n_flows < 64 ? g->n_flows++ : (int)rng_below(&g->rng, 64);

	g->flows[i].client.family = sv->vip.family;
	memcpy(g->flows[i].client.addr, client, 16);
	g->flows[i].vip = sv->vip;
	g->flows[i].cport = cport;
	g->flows[i].vport = vport;
	g->flows[i].proto = sv->proto;
}

/* A flow to service sv seen before (maybe under an earlier configuration),
 * or a new one: client address and port, and the VIP port. */
static void client_of(struct pktgen *g, const struct pg_service *sv, uint8_t *client,
		      uint16_t *cport, uint16_t *vport)
{
	for (int tries = 0; g->n_flows && tries < 8 && rng_chance(&g->rng, 65); tries++) {
		int i = (int)rng_below(&g->rng, (uint32_t)g->n_flows);

		if (g->flows[i].vip.family == sv->vip.family && g->flows[i].proto == sv->proto &&
		    !memcmp(g->flows[i].vip.addr, sv->vip.addr, 16) &&
		    (!sv->port || sv->port == g->flows[i].vport)) {
			memcpy(client, g->flows[i].client.addr, 16);
			*cport = g->flows[i].cport;
			*vport = g->flows[i].vport;
			return;
		}
	}
	pick_source(g, sv->vip.family, client);
	*cport = random_port(&g->rng);
	*vport = sv->port ? sv->port : random_port(&g->rng);
	remember_flow(g, sv, client, *cport, *vport);
}

static void random_spec(struct pktgen *g, struct spec *s)
{
	struct rng *r = &g->rng;
	const struct pg_world *w = g->w;
	uint32_t role = rng_below(r, 100);

	memset(s, 0, sizeof(*s));
	if (rng_chance(r, 3)) { /* not IP */
		static const uint16_t et[] = {0x0806, 0x88cc, 0x8847, 0x86de, 0x0801, 0x9000};

		s->ethertype = et[rng_below(r, sizeof(et) / sizeof(et[0]))];
		s->payload = (int)rng_below(r, 80);
		decorate(g, s);
		s->fam = 0;
		return;
	}
	if (w->n_svc && role < 70) {
		int si = (int)rng_below(r, (uint32_t)w->n_svc);
		const struct pg_service *sv = &w->svc[si];
		uint8_t client[16];
		uint16_t cport, vport;
		int fam = sv->vip.family;

		set_family(s, fam);
		client_of(g, sv, client, &cport, &vport);
		if (role < 35 || !sv->n_backend) { /* client -> VIP */
			g->st.lb_roles[0]++;
			memcpy(s->src, client, 16);
			memcpy(s->dst, sv->vip.addr, 16);
			s->proto = rng_chance(r, 92) ? sv->proto : (rng_chance(r, 50) ? IPPROTO_TCP : IPPROTO_UDP);
			s->sport = cport;
			s->dport = rng_chance(r, 90) ? vport : random_port(r);
			s->tcp_flags = random_flags(r);
		} else {
			int bi = (int)rng_below(r, (uint32_t)sv->n_backend);
			uint16_t bport = sv->backend_port[bi] ? sv->backend_port[bi] : vport;

			if (role < 55) { /* backend -> client */
				g->st.lb_roles[1]++;
				memcpy(s->src, sv->backend[bi].addr, 16);
				memcpy(s->dst, client, 16);
				s->proto = rng_chance(r, 95) ? sv->proto : IPPROTO_TCP;
				s->sport = rng_chance(r, 85) ? bport : random_port(r);
				s->dport = cport;
				s->tcp_flags = random_flags(r);
			} else { /* ICMP error about the flow */
				int to_vip = role < 63;

				g->st.lb_roles[to_vip ? 2 : 3]++;
				g->st.icmp_errors++;
				s->proto = fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
				if (rng_chance(r, 3))
					s->proto = fam == 4 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
				if (fam == 4) {
					static const uint8_t t4[] = {3, 3, 11, 12, 0, 8, 5};

					s->icmp_type = t4[rng_below(r, sizeof(t4))];
				} else {
					static const uint8_t t6[] = {1, 2, 3, 4, 1, 128, 129, 135};

					s->icmp_type = t6[rng_below(r, sizeof(t6))];
				}
				s->icmp_code = (uint8_t)rng_below(r, 5);
				s->q.on = 1;
				s->q.proto = rng_chance(r, 92) ? sv->proto : (uint8_t)rng_below(r, 20);
				s->q.tail = rng_chance(r, 85) ? 8 : (int)rng_below(r, 40);
				s->q.opts = fam == 4 && rng_chance(r, 8) ? 4 * (int)(1 + rng_below(r, 4)) : 0;
				if (to_vip) {
					pick_source(g, fam, s->src); /* a router on the way */
					if (rng_chance(r, 30))
						memcpy(s->src, client, 16);
					memcpy(s->dst, sv->vip.addr, 16);
					memcpy(s->q.src, sv->vip.addr, 16);
					memcpy(s->q.dst, client, 16);
					s->q.sport = vport;
					s->q.dport = cport;
				} else {
					if (rng_chance(r, 60))
						memcpy(s->src, sv->backend[bi].addr, 16);
					else
						pick_source(g, fam, s->src);
					memcpy(s->dst, client, 16);
					memcpy(s->q.src, client, 16);
					memcpy(s->q.dst, sv->backend[bi].addr, 16);
					s->q.sport = cport;
					s->q.dport = rng_chance(r, 90) ? bport : random_port(r);
				}
			}
		}
	} else { /* anything else */
		static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6,
						 47, 50, 132, 59, 255, 0, 41, 4};
		int fam = rng_chance(r, 50) ? 4 : 6;

		g->st.lb_roles[4]++;
		set_family(s, fam);
		pick_source(g, fam, s->src);
		addr_random_near(r, fam, s->dst);
		s->proto = protos[rng_below(r, sizeof(protos))];
		if (rng_chance(r, 60))
			s->proto = rng_chance(r, 50) ? IPPROTO_TCP : IPPROTO_UDP;
		if (rng_chance(r, 50) && (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6))
			s->proto = fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		s->sport = random_port(r);
		s->dport = random_port(r);
		s->tcp_flags = random_flags(r);
		s->icmp_type = (uint8_t)(rng_chance(r, 50) ? (fam == 4 ? 8 : 128) : rng_below(r, 256));
	}
	decorate(g, s);
	if (s->q.on && s->payload > 64)
		s->payload = (int)rng_below(r, 64);
}

/* ---- corpus and mutations ------------------------------------------------- */

static void corpus_add(struct pktgen *g, const uint8_t *b, size_t len)
{
	int i;

	if (len > sizeof(g->corpus[0]))
		return;
	i = g->n_corpus < 32 ? g->n_corpus++ : (int)rng_below(&g->rng, 32);
	memcpy(g->corpus[i], b, len);
	g->corpus_len[i] = len;
}

/* Where the headers are, found by a quick walk (mutations aim there). */
static void locate(const uint8_t *b, size_t len, struct layout *lay)
{
	size_t off = 12;
	uint16_t t;

	memset(lay, 0, sizeof(*lay));
	lay->len = len;
	lay->l3 = lay->l4 = len < 14 ? len : 14;
	if (len < 14)
		return;
	t = get16(b + 12);
	while ((t == 0x8100 || t == 0x88a8) && off + 6 <= len && lay->ntags < 4) {
		off += 4;
		t = get16(b + off);
		lay->ntags++;
	}
	lay->l3 = off + 2 <= len ? off + 2 : len;
	lay->l4 = lay->l3;
	if (t == 0x0800 && lay->l3 + 20 <= len) {
		lay->fam = 4;
		lay->l4 = lay->l3 + (size_t)(b[lay->l3] & 15) * 4;
	} else if (t == 0x86dd && lay->l3 + 40 <= len) {
		lay->fam = 6;
		lay->l4 = lay->l3 + 40;
	}
	if (lay->l4 > len)
		lay->l4 = len;
}

static size_t header_pos(struct rng *r, const struct layout *lay)
{
	size_t lim = lay->l4 + 48;

	if (lim > lay->len)
		lim = lay->len;
	if (!lim)
		return 0;
	return rng_chance(r, 80) ? rng_below(r, (uint32_t)lim) : rng_below(r, (uint32_t)lay->len);
}

static size_t mutate(struct pktgen *g, uint8_t *b, size_t len, int kind)
{
	struct rng *r = &g->rng;
	struct layout lay;
	size_t pos;

	locate(b, len, &lay);
	switch (kind) {
	case PM_BITFLIP:
		if (len) {
			pos = header_pos(r, &lay);
			b[pos] ^= (uint8_t)(1u << rng_below(r, 8));
		}
		break;
	case PM_BYTE:
		if (len)
			b[header_pos(r, &lay)] = (uint8_t)rng_next(r);
		break;
	case PM_INTERESTING: {
		static const uint16_t v16[] = {0, 1, 0x7fff, 0x8000, 0xffff, 0x00ff, 0xff00, 20, 40, 8};
		static const uint8_t v8[] = {0, 1, 0x7f, 0x80, 0xff, 0x40, 0x45, 0x60, 0x0f};

		if (!len)
			break;
		pos = header_pos(r, &lay);
		if (rng_chance(r, 50) && pos + 2 <= len)
			put16(b + pos, v16[rng_below(r, sizeof(v16) / 2)]);
		else
			b[pos] = v8[rng_below(r, sizeof(v8))];
		break;
	}
	case PM_HEADER_FIELD: {
		static const uint16_t ets[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x9100};
		static const uint8_t nhs[] = {0, 43, 44, 51, 60, 135, 6, 17, 1, 58, 59, 50, 4, 41};
		size_t l3 = lay.l3, l4 = lay.l4;
		uint32_t which = rng_below(r, 8);

		if (which == 0 && l3 >= 2 && l3 <= len) { /* ethertype / TPID */
			size_t at = 12 + 4 * rng_below(r, (uint32_t)lay.ntags + 1);

			if (at + 2 <= len)
				put16(b + at, ets[rng_below(r, 6)]);
		} else if (which == 1 && l3 < len) { /* version / IHL / traffic class */
			static const uint8_t vb[] = {0x45, 0x44, 0x40, 0x4f, 0x46, 0x65, 0x60, 0x55, 0x35, 0x05};

			b[l3] = vb[rng_below(r, sizeof(vb))];
		} else if (which == 2 && lay.fam && l3 + 10 <= len) { /* protocol / next header */
			b[l3 + (lay.fam == 4 ? 9 : 6)] = nhs[rng_below(r, sizeof(nhs))];
		} else if (which == 3 && lay.fam == 4 && l3 + 8 <= len) { /* fragment field */
			static const uint16_t fv[] = {0x2000, 0x0001, 0x3fff, 0x4000, 0x1fff, 0x2001, 0x8000};

			put16(b + l3 + 6, fv[rng_below(r, sizeof(fv) / 2)]);
		} else if (which == 4 && l4 + 14 <= len) { /* TCP doff / flags */
			b[l4 + 12] = (uint8_t)(rng_below(r, 16) << 4);
			b[l4 + 13] = random_flags(r);
		} else if (which == 5 && l4 + 2 <= len) { /* ICMP type/code, ext next/len */
			b[l4] = (uint8_t)(rng_chance(r, 50) ? rng_below(r, 5) : rng_next(r));
			b[l4 + 1] = (uint8_t)rng_below(r, rng_chance(r, 50) ? 4 : 256);
		} else if (which == 6 && lay.fam == 4 && l3 + 20 <= len) { /* IHL only */
			b[l3] = (uint8_t)(0x40 | rng_below(r, 16));
		} else if (l4 + 4 <= len) { /* ports */
			put16(b + l4 + 2 * rng_below(r, 2), random_port(r));
		}
		break;
	}
	case PM_LENGTH: {
		size_t at = 0;
		uint16_t v;

		if (lay.fam == 4 && lay.l3 + 4 <= len)
			at = lay.l3 + 2;
		else if (lay.fam == 6 && lay.l3 + 6 <= len)
			at = lay.l3 + 4;
		if (rng_chance(r, 30) && lay.l4 + 6 <= len && lay.fam)
			at = lay.l4 + 4; /* UDP length */
		if (!at)
			break;
		v = get16(b + at);
		switch (rng_below(r, 4)) {
		case 0:
			v = (uint16_t)(v + rng_below(r, 5) - 2);
			break;
		case 1:
			v = rng_chance(r, 50) ? 0 : 0xffff;
			break;
		case 2:
			v = (uint16_t)(len - lay.l3 + rng_below(r, 5) - 2);
			break;
		default:
			v = (uint16_t)rng_below(r, 64);
		}
		put16(b + at, v);
		break;
	}
	case PM_INSERT: {
		size_t n = 1 + rng_below(r, 8);

		if (len + n > PG_FRAME_MAX)
			break;
		pos = header_pos(r, &lay);
		memmove(b + pos + n, b + pos, len - pos);
		for (size_t i = 0; i < n; i++)
			b[pos + i] = (uint8_t)rng_next(r);
		len += n;
		break;
	}
	case PM_DELETE: {
		size_t n = 1 + rng_below(r, 8);

		if (!len)
			break;
		pos = header_pos(r, &lay);
		if (pos + n > len)
			n = len - pos;
		memmove(b + pos, b + pos + n, len - pos - n);
		len -= n;
		break;
	}
	case PM_TRUNCATE:
		len = rng_below(r, (uint32_t)len + 1);
		break;
	case PM_EXTEND: {
		size_t n = 1 + rng_below(r, 64);
		int zero = rng_chance(r, 50);

		if (len + n > PG_FRAME_MAX)
			break;
		for (size_t i = 0; i < n; i++)
			b[len + i] = zero ? 0 : (uint8_t)rng_next(r);
		len += n;
		break;
	}
	case PM_SPLICE:
		if (g->n_corpus) {
			int i = (int)rng_below(r, (uint32_t)g->n_corpus);
			size_t cut = rng_below(r, (uint32_t)len + 1);
			size_t from = rng_below(r, (uint32_t)g->corpus_len[i] + 1);
			size_t n = g->corpus_len[i] - from;

			if (cut + n > PG_FRAME_MAX)
				n = PG_FRAME_MAX - cut;
			memcpy(b + cut, g->corpus[i] + from, n);
			len = cut + n;
		}
		break;
	case PM_DUP_TAG:
		if (len >= 14 && len + 4 <= PG_FRAME_MAX) {
			memmove(b + 16, b + 12, len - 12);
			put16(b + 12, rng_chance(r, 50) ? 0x8100 : 0x88a8);
			put16(b + 14, (uint16_t)rng_below(r, 4096));
			len += 4;
		}
		break;
	case PM_ADDR:
		if (lay.fam && lay.l4 <= len && g->w->n_svc) {
			const struct pg_service *sv = &g->w->svc[rng_below(r, (uint32_t)g->w->n_svc)];
			size_t alen = lay.fam == 4 ? 4 : 16;
			size_t at = lay.l3 + (lay.fam == 4 ? 12 : 8) + (rng_chance(r, 50) ? alen : 0);
			const uint8_t *a = sv->vip.addr;

			if (sv->vip.family != lay.fam || at + alen > len)
				break;
			if (sv->n_backend && rng_chance(r, 50))
				a = sv->backend[rng_below(r, (uint32_t)sv->n_backend)].addr;
			memcpy(b + at, a, alen);
		}
		break;
	}
	return len;
}

/* ---- the systematic sweep ---------------------------------------------- */

#define COMBO_TAGS 6
#define COMBO_L3 9
#define COMBO_L4 7
#define COMBO_ROLES 4

unsigned pktgen_combos(void)
{
	return COMBO_TAGS * COMBO_L3 * COMBO_L4 * COMBO_ROLES;
}

size_t pktgen_combo(struct pktgen *g, unsigned i, uint8_t *buf)
{
	static const uint16_t tags[COMBO_TAGS][4] = {
		{0}, {1, 0x8100}, {1, 0x88a8}, {2, 0x88a8, 0x8100}, {2, 0x8100, 0x8100},
		{3, 0x88a8, 0x8100, 0x8100},
	};
	unsigned t = i % COMBO_TAGS, l3 = (i / COMBO_TAGS) % COMBO_L3;
	unsigned l4 = (i / (COMBO_TAGS * COMBO_L3)) % COMBO_L4;
	unsigned role = (i / (COMBO_TAGS * COMBO_L3 * COMBO_L4)) % COMBO_ROLES;
	const struct pg_world *w = g->w;
	struct spec s;
	int fam = l3 < 4 ? 4 : 6;
	const struct pg_service *sv = NULL;

	memset(&s, 0, sizeof(s));
	s.ntags = tags[t][0];
	for (int k = 0; k < s.ntags; k++)
		s.tpid[k] = tags[t][1 + k];
	set_family(&s, fam);
	switch (l3) {
	case 1: /* IPv4 options */
		s.v4_opts = 12;
		break;
	case 2: /* IPv4 first fragment */
		s.frag = 1;
		break;
	case 3: /* IPv4 later fragment */
		s.frag = 2;
		break;
	case 5: /* hop-by-hop + destination options + routing */
		s.n_ext = 3;
		s.ext[0] = 0, s.ext[1] = 60, s.ext[2] = 43;
		s.ext_units[2] = 2;
		break;
	case 6: /* fragment header, first */
		s.n_ext = 1, s.ext[0] = 44, s.frag = 1;
		break;
	case 7: /* fragment header, later */
		s.n_ext = 2, s.ext[0] = 0, s.ext[1] = 44, s.frag = 2;
		break;
	case 8: /* AH + mobility, then 7 more: past the chain bound */
		s.n_ext = 9;
		for (int k = 0; k < 9; k++)
			s.ext[k] = k == 0 ? 51 : k == 1 ? 135 : 60;
		s.ext_units[0] = 2;
		break;
	}
	for (unsigned k = 0; k < (unsigned)w->n_svc; k++)
		if (w->svc[(k + i) % (unsigned)w->n_svc].vip.family == fam) {
			sv = &w->svc[(k + i) % (unsigned)w->n_svc];
			break;
		}
	addr_random_near(&g->rng, fam, s.src);
	addr_random_near(&g->rng, fam, s.dst);
	s.sport = 40000 + (uint16_t)(i & 0xff);
	s.dport = 80;
	s.tcp_flags = i & 1 ? 0x10 : 0x02;
	s.payload = (int)(i % 3 == 0 ? 0 : i % 3 == 1 ? 17 : 1000);
	switch (l4) {
	case 0:
		s.proto = IPPROTO_TCP;
		break;
	case 1:
		s.proto = IPPROTO_UDP;
		break;
	case 2: /* echo */
		s.proto = fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		s.icmp_type = fam == 4 ? 8 : 128;
		break;
	case 3: /* error with a quote */
	case 4: /* error, the other family's protocol number */
		s.proto = (fam == 4) == (l4 == 3) ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		s.icmp_type = s.proto == IPPROTO_ICMP ? 3 : 1;
		s.q.on = 1;
		s.q.proto = IPPROTO_TCP;
		s.q.tail = 8;
		memcpy(s.q.src, s.dst, 16);
		memcpy(s.q.dst, s.src, 16);
		s.q.sport = 80;
		s.q.dport = s.sport;
		s.payload = 0;
		break;
	case 5:
		s.proto = 47; /* GRE */
		break;
	default:
		s.proto = 59; /* no next header */
		break;
	}
	if (sv) {
		uint8_t proto = s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP ? s.proto : sv->proto;

		if (role == 1) { /* to the VIP */
			memcpy(s.dst, sv->vip.addr, 16);
			if (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP)
				s.proto = sv->proto;
			s.dport = sv->port ? sv->port : 4242;
			if (s.q.on) {
				memcpy(s.q.src, sv->vip.addr, 16);
				s.q.sport = s.dport;
				s.q.proto = proto;
			}
		} else if (role == 2 && sv->n_backend) { /* from a backend */
			memcpy(s.src, sv->backend[0].addr, 16);
			if (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP)
				s.proto = sv->proto;
			s.sport = sv->backend_port[0] ? sv->backend_port[0] : sv->port ? sv->port : 4242;
			if (s.q.on) {
				memcpy(s.q.dst, sv->backend[0].addr, 16);
				s.q.dport = s.sport;
				s.q.proto = proto;
			}
		}
	}
	g->st.kinds[PK_COMBO]++;
	return build(&g->rng, &s, buf, NULL);
}

/* ---- entry points ----------------------------------------------------------- */

void pktgen_world(struct pktgen *g, uint64_t seed, const struct pg_world *w)
{
	g->rng.s = seed;
	g->w = w;
	g->n_corpus = 0;
	g->trunc_len = 0;
	g->trunc_next = 0;
}

void pktgen_init(struct pktgen *g, uint64_t seed, const struct pg_world *w)
{
	struct pg_stats keep = g->st;

	memset(g, 0, sizeof(*g));
	g->st = keep;
	g->rng.s = seed;
	g->w = w;
}

static size_t next_frame(struct pktgen *g, uint8_t *buf, int *kind)
{
	struct rng *r = &g->rng;
	struct spec s;
	size_t len;
	uint32_t k;

	/* a truncation sweep in progress: every length of one valid frame */
	if (g->trunc_len && g->trunc_next <= g->trunc_len) {
		if (g->trunc_next < 14) /* BPF_PROG_TEST_RUN takes >= ETH_HLEN */
			g->trunc_next = 14;
		len = g->trunc_next++;
		memcpy(buf, g->trunc_src, len);
		if (g->trunc_next > g->trunc_len)
			g->trunc_len = 0;
		*kind = PK_TRUNCATED;
		g->st.kinds[PK_TRUNCATED]++;
		return len;
	}
	k = rng_below(r, 1000);
	if (k < 4 || g->n_corpus < 4) { /* start a truncation sweep */
		random_spec(g, &s);
		if (s.payload > 200)
			s.payload = (int)rng_below(r, 40);
		s.pad = 0;
		len = build(r, &s, buf, NULL);
		corpus_add(g, buf, len);
		if (k < 4 && len <= sizeof(g->trunc_src)) {
			memcpy(g->trunc_src, buf, len);
			g->trunc_len = len;
			g->trunc_next = 0;
		}
		*kind = PK_STRUCTURED;
		g->st.kinds[PK_STRUCTURED]++;
		return len;
	}
	if (k < 30) { /* random bytes after an Ethernet header */
		static const uint16_t et[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806};

		len = rng_below(r, 200);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(r);
		if (len >= 14)
			put16(buf + 12, et[rng_below(r, 5)]);
		*kind = PK_RANDOM;
		g->st.kinds[PK_RANDOM]++;
		return len;
	}
	if (k < 450) { /* a mutated corpus frame */
		int i = (int)rng_below(r, (uint32_t)g->n_corpus), n = (int)(1 + rng_below(r, 4));

		len = g->corpus_len[i];
		memcpy(buf, g->corpus[i], len);
		for (int m = 0; m < n; m++) {
			int mk = (int)rng_below(r, PM_KIND_MAX);

			len = mutate(g, buf, len, mk);
			g->st.mutations[mk]++;
		}
		*kind = PK_MUTATED;
		g->st.kinds[PK_MUTATED]++;
		return len;
	}
	random_spec(g, &s);
	len = build(r, &s, buf, NULL);
	if (len <= 400)
		corpus_add(g, buf, len);
	*kind = PK_STRUCTURED;
	g->st.kinds[PK_STRUCTURED]++;
	return len;
}

size_t pktgen_next(struct pktgen *g, uint8_t *buf, int *kind)
{
	size_t len = next_frame(g, buf, kind);

	/* BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header */
	if (len < 14) {
		memset(buf + len, 0, 14 - len);
		len = 14;
	}
	return len;
}
