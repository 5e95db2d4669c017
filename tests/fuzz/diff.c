// SPDX-License-Identifier: GPL-2.0
/*
 * diff.c - the differential tester (see diff.h and tests/fuzz/README.md).
 *
 * A pass is a run of configuration epochs.  Each epoch draws random
 * blocklists/allowlists and services (valid by the rules of
 * ctl/config_services.c), writes them through the real control path
 * (compile, fast tables, lb_apply, generation switch), hands the same
 * configuration to the model, and sends a few thousand generated frames
 * through both.  The connection table is never reset within a pass, so
 * flows carry over from epoch to epoch as they do across reloads.
 */
#define _GNU_SOURCE
#include "diff.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../model/model.h"
#include "../unit/harness.h"
#include "decap.skel.h"
#include "model.h"
#include "prefix.h"
#include "services.h"

#define MAX_SVC 6
#define MAX_BE 5
#define MAX_LIST 24
#define MAX_IDENT 4

/* The unit-test network namespace (tests/unit/harness.c netns_setup). */
static const uint8_t BACKEND_MAC[6] = {0x02, 0, 0, 0, 0xbe, 0x01};
static const uint8_t CLIENT_MAC[6] = {0x02, 0, 0, 0, 0xc1, 0x01};

/* Linear bytes BPF_PROG_TEST_RUN gives an XDP program without the frags
 * flag: PAGE_SIZE - XDP_PACKET_HEADROOM - skb_shared_info (4096 - 256 - 320);
 * the rest of a longer frame goes into fragments the program cannot see. */
#define TEST_RUN_LINEAR 3520

struct epoch {
	struct lb_service_cfg svc[MAX_SVC];
	struct lb_backend_cfg be[MAX_SVC][MAX_BE];
	struct lb_model lb;
	struct model_service msvc[MAX_SVC];
	struct model_backend mbe[MAX_SVC][MAX_BE];
	uint32_t table[MAX_SVC][SLUICE_RING_SIZE];
	struct model_prefix block[MAX_LIST], allow[MAX_LIST];
	size_t n_block, n_allow;
	char text[2 * MAX_LIST][64];
	const char *block_s[MAX_LIST + 1], *allow_s[MAX_LIST + 1];
	struct prefix_list pblock, pallow;
	/* identity classes */
	struct identity_cfg idc[MAX_IDENT];
	struct sluice_prefix idp[MAX_IDENT][3];
	struct model_prefix ident[MAX_IDENT * 3];
	size_t n_ident;
	struct pg_world world;
	struct model_config cfg;
};

/* ---- the environment: what the FIB in the test namespace answers ------- */

int diff_netns_fib(void *ctx, int family, const uint8_t *s, const uint8_t *d,
		   struct model_fib *o)
{
	static const uint8_t net6_1[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};
	static const uint8_t net6_20[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x20, 0, 0};
	static const uint8_t zero8[8] = {0};

	(void)ctx;
	memcpy(o->smac, "\x02\x00\x00\x00\x00\x01", 6); /* lbt0 */
	o->other_if = 0;
	if (family == 4) {
		int net1 = d[0] == 198 && d[1] == 51 && d[2] == 100;
		int net2 = d[0] == 203 && d[1] == 0 && d[2] == 113;

		if (!net1 && !net2) { /* no route (no default), or loopback: local */
			o->kind = MFIB_FAIL;
			return 0;
		}
		if (d[3] == 1 || d[3] == 255) { /* our own address, broadcast */
			o->kind = MFIB_FAIL;
			return 0;
		}
		if (net1 && d[3] == 7) {
			o->kind = MFIB_OK;
			memcpy(o->dmac, CLIENT_MAC, 6);
		} else if (net2 && d[3] >= 11 && d[3] <= 14) {
			o->kind = MFIB_OK;
			memcpy(o->dmac, BACKEND_MAC, 6);
		} else {
			o->kind = MFIB_NO_NEIGH;
		}
		return 0;
	}
	if (s[0] == 0xff) { /* a multicast source: the IPv6 FIB refuses the flow */
		o->kind = MFIB_FAIL;
		return 0;
	}
	if (!memcmp(d, net6_1, 8) || !memcmp(d, net6_20, 8)) {
		int iid_zero = !memcmp(d + 8, zero8, 8);
		int small = !memcmp(d + 8, zero8, 7);

		if (iid_zero || (small && d[15] == 1)) { /* subnet-router anycast, ours */
			o->kind = MFIB_FAIL;
		} else if (d[5] == 1 && small && d[15] == 7) {
			o->kind = MFIB_OK;
			memcpy(o->dmac, CLIENT_MAC, 6);
		} else if (d[5] == 0x20 && small && d[15] >= 0x11 && d[15] <= 0x14) {
			o->kind = MFIB_OK;
			memcpy(o->dmac, BACKEND_MAC, 6);
		} else {
			o->kind = MFIB_NO_NEIGH;
		}
		return 0;
	}
	if (d[0] == 0xfe && (d[1] & 0xc0) == 0x80) { /* link-local: two devices */
		o->kind = MFIB_UNKNOWN;
		return 0;
	}
	o->kind = MFIB_FAIL; /* multicast, loopback, no route */
	return 0;
}

/* ---- configurations ------------------------------------------------------ */

static void addr_set(uint8_t *a, int fam, const char *text)
{
	memset(a, 0, 16);
	inet_pton(fam == 4 ? AF_INET : AF_INET6, text, a);
}

static const char *const vips4[] = {"192.0.2.10", "192.0.2.11"};
static const char *const vips6[] = {"2001:db8:10::10", "2001:db8:10::11"};
/* backends: the first four have neighbours, then no neighbour, local, no route */
static const char *const bes4[] = {"203.0.113.11", "203.0.113.12", "203.0.113.13", "203.0.113.14",
				   "203.0.113.20", "203.0.113.1",  "192.0.2.200"};
static const char *const bes6[] = {"2001:db8:20::11", "2001:db8:20::12", "2001:db8:20::13",
				   "2001:db8:20::14", "2001:db8:20::20", "2001:db8:20::1",
				   "2001:db8:99::5"};

static int same_backend(const struct lb_backend_cfg *a, const struct lb_backend_cfg *b)
{
	return a->addr.family == b->addr.family && !memcmp(a->addr.addr, b->addr.addr, 16) &&
	       a->port == b->port;
}

/* Random services that ctl/config_services.c would accept. */
static void gen_services(struct rng *r, struct epoch *e)
{
	int n = (int)rng_below(r, 100) < 10 ? 0 : (int)(1 + rng_below(r, MAX_SVC));

	memset(e->svc, 0, sizeof(e->svc));
	e->lb.svcs = e->svc;
	e->lb.n = 0;
	for (int i = 0; i < n; i++) {
		struct lb_service_cfg *s = &e->svc[e->lb.n];
		int fam = rng_chance(r, 50) ? 4 : 6, dup = 0;
		static const uint16_t ports[] = {80, 53, 443, 0};
		char err[SLUICE_ERRLEN];

		snprintf(s->name, sizeof(s->name), "s%d", i);
		prefix_parse(fam == 4 ? vips4[rng_below(r, 2)] : vips6[rng_below(r, 2)], &s->vip, err,
			     sizeof(err));
		s->port = ports[rng_below(r, 4)];
		s->proto = rng_chance(r, 50) ? IPPROTO_TCP : IPPROTO_UDP;
		s->mode = rng_chance(r, 75) ? SLUICE_MODE_NAT : SLUICE_MODE_DSR_IPIP;
		for (size_t k = 0; k < e->lb.n; k++)
			dup |= prefix_same(&e->svc[k].vip, &s->vip) && e->svc[k].port == s->port &&
			       e->svc[k].proto == s->proto;
		if (dup)
			continue;
		s->backends = e->be[e->lb.n];
		s->n_backends = 0;
		int nb = rng_chance(r, 8) ? 0 : (int)(1 + rng_below(r, MAX_BE));

		for (int k = 0; k < nb; k++) {
			struct lb_backend_cfg *b = &s->backends[s->n_backends];
			uint32_t pick = rng_below(r, 10);
			static const uint16_t bports[] = {8080, 5353, 0, 1};
			int bad = 0;

			memset(b, 0, sizeof(*b));
			pick = pick < 7 ? rng_below(r, 4) : 4 + rng_below(r, 3);
			prefix_parse(fam == 4 ? bes4[pick] : bes6[pick], &b->addr, err, sizeof(err));
			if (s->port == 0)
				b->port = 0;
			else if (s->mode == SLUICE_MODE_DSR_IPIP)
				b->port = s->port;
			else
				b->port = bports[rng_below(r, 4)] == 1 ? s->port : bports[rng_below(r, 3)];
			b->weight = rng_chance(r, 10) ? 0 : 1 + rng_below(r, 3);
			b->state = rng_chance(r, 80) ? SLUICE_BE_ACTIVE
				   : rng_chance(r, 50) ? SLUICE_BE_DRAINING : SLUICE_BE_DOWN;
			if (b->weight == 0 && b->state == SLUICE_BE_ACTIVE)
				b->state = SLUICE_BE_DRAINING;
			/* the config rules across services */
			for (size_t o = 0; o <= e->lb.n && !bad; o++) {
				const struct lb_service_cfg *os = &e->svc[o];
				size_t on = o == e->lb.n ? s->n_backends : os->n_backends;

				for (size_t q = 0; q < on; q++) {
					const struct lb_backend_cfg *ob = &os->backends[q];

					if (!same_backend(ob, b))
						continue;
					if (o == e->lb.n)
						bad = 1; /* twice in one service */
					else if (os->mode == SLUICE_MODE_NAT &&
						 s->mode == SLUICE_MODE_NAT && os->proto == s->proto)
						bad = 1; /* one NAT owner */
					else if ((ob->state == SLUICE_BE_DOWN) !=
						 (b->state == SLUICE_BE_DOWN))
						b->state = ob->state == SLUICE_BE_DOWN ? SLUICE_BE_DOWN
											: SLUICE_BE_ACTIVE;
				}
			}
			if (bad)
				continue;
			if (b->state == SLUICE_BE_ACTIVE && b->weight == 0)
				b->state = SLUICE_BE_DRAINING;
			s->n_backends++;
		}
		e->lb.n++;
	}
}

/* Backend entries of the active generation (ids are small here). */
#define ID_SCAN 512
static struct sluice_backend active_be[ID_SCAN];

static int read_backends(void)
{
	int fd = xdp_map_fd("lb_backends"), gen = xdp_active_gen();

	for (uint32_t id = 1; id < ID_SCAN; id++) {
		uint32_t k = (uint32_t)gen * SLUICE_MAX_BACKENDS + id;

		if (bpf_map_lookup_elem(fd, &k, &active_be[id]))
			return -1;
	}
	return 0;
}

/* The program's Maglev table of service id (16-bit ids, four a word). */
static int read_ring(uint32_t svc_id, uint32_t *ring)
{
	int fd = xdp_map_fd("lb_ring"), gen = xdp_active_gen();

	for (uint32_t w = 0; w < SLUICE_RING_WORDS; w++) {
		uint32_t k = ((uint32_t)gen * SLUICE_MAX_SERVICES + svc_id) * SLUICE_RING_WORDS + w;
		uint64_t v;

		if (bpf_map_lookup_elem(fd, &k, &v))
			return -1;
		for (uint32_t i = 0; i < 4 && w * 4 + i < SLUICE_RING_SIZE; i++)
			ring[w * 4 + i] = (uint32_t)(v >> (16 * i)) & 0xffff;
	}
	return 0;
}

/* Service and backend ids as the control path gave them, and the Maglev
 * tables (ctl/maglev.c through lb_service_table).  Returns the number of
 * control-plane problems found (a backend with two ids, a table that is not
 * the one the configuration asks for), or -1. */
static int model_services(struct epoch *e, FILE *log)
{
	int gen = xdp_active_gen(), problems = 0;
	int fd = xdp_map_fd(gen ? "lb_services_g1" : "lb_services_g0");
	static uint32_t ring[SLUICE_RING_SIZE];

	if (read_backends())
		return -1;
	for (size_t i = 0; i < e->lb.n; i++) {
		const struct lb_service_cfg *s = &e->svc[i];
		struct model_service *m = &e->msvc[i];
		struct sluice_svc_key k;
		struct sluice_svc v;
		uint32_t ids[MAX_BE];

		memset(&k, 0, sizeof(k));
		memcpy(k.addr, s->vip.addr, 16);
		k.port = htons(s->port);
		k.proto = s->proto;
		k.family = s->vip.family;
		if (bpf_map_lookup_elem(fd, &k, &v) || read_ring(v.id, ring)) {
			fprintf(stderr, "    diff: service %s is not in the maps\n", s->name);
			return -1;
		}
		memset(m, 0, sizeof(*m));
		m->id = v.id;
		m->family = s->vip.family;
		memcpy(m->vip, s->vip.addr, 16);
		m->port = s->port;
		m->proto = s->proto;
		m->mode = s->mode;
		m->be = e->mbe[i];
		m->n_be = s->n_backends;
		m->table = e->table[i];
		for (size_t b = 0; b < s->n_backends; b++) {
			const struct lb_backend_cfg *bc = &s->backends[b];
			struct model_backend *mb = &e->mbe[i][b];
			uint32_t cand[8];
			int nc = 0;

			/* every id holding this backend; the one in this
			 * service's table is the one its flows use */
			for (uint32_t id = 1; id < ID_SCAN; id++)
				if (active_be[id].family == bc->addr.family &&
				    !memcmp(active_be[id].addr, bc->addr.addr, 16) &&
				    active_be[id].port == htons(bc->port) && nc < 8)
					cand[nc++] = id;
			if (!nc) {
				fprintf(stderr, "    diff: a backend of %s has no id\n", s->name);
				return -1;
			}
			ids[b] = cand[0];
			for (int c = 0; c < nc && nc > 1; c++)
				for (uint32_t slot = 0; slot < SLUICE_RING_SIZE; slot++)
					if (ring[slot] == cand[c]) {
						ids[b] = cand[c];
						break;
					}
			if (nc > 1) {
				char a[INET6_ADDRSTRLEN];

				inet_ntop(bc->addr.family == 4 ? AF_INET : AF_INET6, bc->addr.addr, a,
					  sizeof(a));
				if (log)
					fprintf(log, "    diff: control plane: backend %s port %u has %d ids "
						     "(%u, %u) in one generation\n",
						a, bc->port, nc, cand[0], cand[1]);
				problems++;
			}
			mb->id = ids[b];
			mb->family = bc->addr.family;
			memcpy(mb->addr, bc->addr.addr, 16);
			mb->port = bc->port;
			mb->state = bc->state;
			mb->weight = bc->weight;
		}
		if (lb_service_table(s, ids, e->table[i]))
			return -1;
		if (memcmp(ring, e->table[i], sizeof(ring))) {
			fprintf(stderr, "    diff: service %s: the Maglev table in the map is not the one "
					"its configuration gives\n", s->name);
			problems++;
		}
	}
	return problems;
}

static void random_prefix(struct rng *r, int fam, struct model_prefix *p)
{
	static const uint8_t len4[] = {0, 8, 16, 20, 24, 24, 25, 26, 28, 30, 31, 32, 32, 32};
	static const uint8_t len6[] = {0, 16, 32, 48, 56, 64, 64, 96, 120, 126, 127, 128, 128};
	struct pg_addr a;
	unsigned full, rest;

	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)fam;
	memset(&a, 0, sizeof(a));
	if (fam == 4) {
		static const char *const near[] = {"198.51.100.7", "198.51.100.0", "203.0.113.11",
						   "203.0.113.0", "10.1.2.3", "192.0.2.10"};

		addr_set(a.addr, 4, near[rng_below(r, 6)]);
		a.addr[3] ^= (uint8_t)(rng_chance(r, 50) ? rng_next(r) : 0);
		p->len = len4[rng_below(r, sizeof(len4))];
		if (p->len == 0 && rng_chance(r, 80))
			p->len = 32;
	} else {
		static const char *const near[] = {"2001:db8:1::7", "2001:db8:1::", "2001:db8:20::11",
						   "2001:db8:10::10", "2001:db8:2::1"};

		addr_set(a.addr, 6, near[rng_below(r, 5)]);
		a.addr[15] ^= (uint8_t)(rng_chance(r, 50) ? rng_next(r) : 0);
		p->len = len6[rng_below(r, sizeof(len6))];
		if (p->len == 0 && rng_chance(r, 80))
			p->len = 128;
	}
	memcpy(p->addr, a.addr, 16);
	full = p->len / 8;
	rest = p->len % 8;
	if (full < 16) {
		if (rest)
			p->addr[full] &= (uint8_t)(0xff00u >> rest);
		memset(p->addr + full + (rest ? 1 : 0), 0, 16 - full - (rest ? 1 : 0));
	}
}

static void add_source(struct pg_world *w, int fam, const uint8_t *a)
{
	if (w->n_sources >= (int)(sizeof(w->sources) / sizeof(w->sources[0])))
		return;
	w->sources[w->n_sources].family = (uint8_t)fam;
	memcpy(w->sources[w->n_sources].addr, a, 16);
	w->n_sources++;
}

static struct sluice_prefix to_prefix(const struct model_prefix *m)
{
	struct sluice_prefix p;

	memset(&p, 0, sizeof(p));
	p.family = m->family;
	p.len = m->len;
	p.list_id = m->tag;
	memcpy(p.addr, m->addr, 16);
	return p;
}

/* Blocklists (list ids 1-3) and allowlists (4-5), prefixes repeated across
 * lists now and then (the lowest id is credited). */
static void gen_lists(struct rng *r, struct epoch *e)
{
	size_t t = 0;

	e->n_block = rng_chance(r, 15) ? 0 : rng_below(r, 12);
	e->n_allow = rng_chance(r, 40) ? 0 : rng_below(r, 6);
	e->pblock.n = e->pallow.n = 0;
	for (size_t i = 0; i < e->n_block + e->n_allow; i++) {
		int allow = i >= e->n_block;
		struct model_prefix *p = allow ? &e->allow[i - e->n_block] : &e->block[i];
		struct sluice_prefix sp;
		char a[INET6_ADDRSTRLEN];

		if (i && rng_chance(r, 10)) /* the same prefix again, maybe another list */
			*p = i - 1 < e->n_block ? e->block[i - 1] : e->allow[i - 1 - e->n_block];
		else
			random_prefix(r, rng_chance(r, 50) ? 4 : 6, p);
		p->tag = (uint16_t)(allow ? 4 + rng_below(r, 2) : 1 + rng_below(r, 3));
		sp = to_prefix(p);
		if (prefix_list_push(allow ? &e->pallow : &e->pblock, &sp))
			abort();
		inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
		snprintf(e->text[t], sizeof(e->text[t]), "%s/%u(list %u)", a, p->len, p->tag);
		if (!allow)
			e->block_s[i] = e->text[t];
		else
			e->allow_s[i - e->n_block] = e->text[t];
		t++;
	}
	e->block_s[e->n_block] = NULL;
	e->allow_s[e->n_allow] = NULL;
}

/* Identity classes 1..n, nested prefixes allowed, never one prefix twice. */
static void gen_identities(struct rng *r, struct epoch *e, struct sluice_model *sm)
{
	size_t n = rng_chance(r, 30) ? 0 : 1 + rng_below(r, MAX_IDENT);

	memset(sm, 0, sizeof(*sm));
	e->n_ident = 0;
	for (size_t i = 0; i < n; i++) {
		struct identity_cfg *id = &e->idc[i];
		size_t np = 1 + rng_below(r, 3);

		memset(id, 0, sizeof(*id));
		snprintf(id->name, sizeof(id->name), "id%zu", i + 1);
		id->id = (uint16_t)(i + 1);
		id->prefixes.v = e->idp[i];
		id->prefixes.cap = 3;
		for (size_t k = 0; k < np; k++) {
			struct model_prefix *p = &e->ident[e->n_ident];
			int dup = 0;

			random_prefix(r, rng_chance(r, 50) ? 4 : 6, p);
			for (size_t q = 0; q < e->n_ident; q++)
				dup |= e->ident[q].family == p->family && e->ident[q].len == p->len &&
				       !memcmp(e->ident[q].addr, p->addr, 16);
			if (dup)
				continue;
			p->tag = id->id;
			e->idp[i][id->prefixes.n++] = to_prefix(p);
			e->n_ident++;
		}
	}
	sm->identities = e->idc;
	sm->n_identities = n;
}

/* What the generator aims at: the services and the list edges. */
static void make_world(struct epoch *e)
{
	struct pg_world *w = &e->world;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < e->lb.n && i < 8; i++) {
		const struct lb_service_cfg *s = &e->svc[i];
		struct pg_service *p = &w->svc[w->n_svc++];

		p->vip.family = s->vip.family;
		memcpy(p->vip.addr, s->vip.addr, 16);
		p->port = s->port;
		p->proto = s->proto;
		p->dsr = s->mode == SLUICE_MODE_DSR_IPIP;
		for (size_t b = 0; b < s->n_backends && b < 8; b++) {
			p->backend[p->n_backend].family = s->backends[b].addr.family;
			memcpy(p->backend[p->n_backend].addr, s->backends[b].addr.addr, 16);
			p->backend_port[p->n_backend] = s->backends[b].port;
			p->n_backend++;
		}
	}
	for (size_t i = 0; i < e->n_block + e->n_allow; i++) {
		const struct model_prefix *p = i < e->n_block ? &e->block[i] : &e->allow[i - e->n_block];
		uint8_t a[16];
		int bits = p->family == 4 ? 32 : 128;

		memcpy(a, p->addr, 16);
		add_source(w, p->family, a); /* first address */
		for (int b = p->len; b < bits; b++)
			a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		add_source(w, p->family, a); /* last address */
		for (int k = (bits / 8) - 1; k >= 0 && ++a[k] == 0; k--)
			;
		add_source(w, p->family, a); /* just past it */
	}
}

static int apply_epoch(struct rng *r, struct epoch *e, long *ctl_problems, FILE *log)
{
	int p;

	struct sluice_model sm;

	gen_lists(r, e);
	gen_services(r, e);
	gen_identities(r, e, &sm);
	if (xdp_set_prefix_lists(&e->pblock, &e->pallow) || xdp_set_services(&e->lb) ||
	    xdp_set_pods(&sm))
		return -1;
	p = model_services(e, log);
	if (p < 0)
		return -1;
	*ctl_problems += p;
	make_world(e);
	memset(&e->cfg, 0, sizeof(e->cfg));
	e->cfg.block = e->block;
	e->cfg.n_block = e->n_block;
	e->cfg.allow = e->allow;
	e->cfg.n_allow = e->n_allow;
	e->cfg.ident = e->ident;
	e->cfg.n_ident = e->n_ident;
	e->cfg.svcs = e->msvc;
	e->cfg.n_svcs = e->lb.n;
	e->cfg.fib = diff_netns_fib;
	e->cfg.linear_max = TEST_RUN_LINEAR;
	return 0;
}

/* ---- comparison and reports ------------------------------------------------ */

static const char *const quirk_names[] = {
	"dsr-icmp-nat",  "icmp-quote-past-ip", "icmp-cross-family",      "icmp-deep",
	"icmp-udp-conn", "icmp-drain-delete",  "decap-outer-version",
};


/* Differences grouped by what differed, for the closing report. */
#define DIFF_KINDS 32
static struct {
	char what[160];
	long n;
	long first;
} kinds[DIFF_KINDS];
static int n_kinds;

/* Returns 1 for the first difference of its kind. */
static int count_kind(const char *why, const struct model_result *m, long index)
{
	char what[160];
	int len = strncmp(why, "output", 6) ? (int)strlen(why) : (int)strcspn(why, ":");
	const char *known = strstr(why, " = known bug");

	if (known && known - why < len)
		known = NULL;
	snprintf(what, sizeof(what), "%.*s%s%s [%.*s]", len, why,
		 strstr(why, "checksum") ? " (checksum)" : "", known ? known : "",
		 (int)strcspn(m->path, " "), m->path);
	for (int i = 0; i < n_kinds; i++)
		if (!strcmp(kinds[i].what, what)) {
			kinds[i].n++;
			return 0;
		}
	if (n_kinds < DIFF_KINDS) {
		snprintf(kinds[n_kinds].what, sizeof(kinds[n_kinds].what), "%s", what);
		kinds[n_kinds].n = 1;
		kinds[n_kinds].first = index;
		n_kinds++;
	}
	return 1;
}

static int oc_equal(uint16_t a, uint16_t b)
{
	return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0);
}

static int is_sum(const struct model_result *m, size_t off, int *exact)
{
	for (int i = 0; i < m->n_sums; i++)
		if (off == m->sums[i].off || off == m->sums[i].off + 1) {
			*exact = m->sums[i].exact;
			return 1;
		}
	return 0;
}

/* 0 when the program did what the model says; else what differs. */
int diff_compare(const struct run_result *a, const struct model_result *m, char *why, size_t n)
{
	if (a->action != m->action || a->reason != m->reason) {
		snprintf(why, n, "verdict: program %s/%s, model %s/%s",
			 a->action >= 0 && a->action < SLUICE_ACTION_MAX ? sluice_action_names[a->action]
									 : "?",
			 a->reason >= 0 && a->reason < SR_REASON_MAX ? sluice_reason_names[a->reason] : "?",
			 sluice_action_names[m->action], sluice_reason_names[m->reason]);
		return 1;
	}
	if (m->tagged) {
		if (!a->tagged) {
			snprintf(why, n, "no metadata tag on XDP_PASS");
			return 1;
		}
		if (memcmp(&a->meta, &m->meta, sizeof(m->meta))) {
			snprintf(why, n,
				 "tag: program flags %#x identity %u service %u reason %u pad %u, model "
				 "flags %#x identity %u service %u reason %u",
				 a->meta.flags, a->meta.identity, a->meta.service, a->meta.reason,
				 a->meta.pad, m->meta.flags, m->meta.identity, m->meta.service,
				 m->meta.reason);
			return 1;
		}
	}
	if (!m->bytes_checked)
		return 0;
	if (a->out_len != m->out_len) {
		snprintf(why, n, "output length: program %zu, model %zu", a->out_len, m->out_len);
		return 1;
	}
	for (size_t i = 0; i < m->out_len; i++) {
		int exact = 1;

		if (a->out[i] == m->out[i])
			continue;
		if (is_sum(m, i, &exact) && !exact) {
			size_t at = i;

			for (int k = 0; k < m->n_sums; k++)
				if (i == m->sums[k].off + 1)
					at = m->sums[k].off;
			if (oc_equal((uint16_t)(a->out[at] << 8 | a->out[at + 1]),
				     (uint16_t)(m->out[at] << 8 | m->out[at + 1]))) {
				i = at + 1;
				continue;
			}
		}
		snprintf(why, n, "output byte %zu: program %02x, model %02x%s", i, a->out[i], m->out[i],
			 is_sum(m, i, &exact) ? " (a checksum)" : "");
		return 1;
	}
	return 0;
}

static void pcap_record(FILE *f, const uint8_t *b, size_t len, uint32_t sec)
{
	uint32_t h[4] = {sec, 0, (uint32_t)len, (uint32_t)len};

	fwrite(h, sizeof(h), 1, f);
	fwrite(b, 1, len, f);
}

static int write_case(const struct diff_opts *o, const struct epoch *e, long index, long epoch,
		      int kind, const uint8_t *in, size_t len, const struct run_result *a,
		      const struct model_result *m, const char *why, int room)
{
	char path[512];
	FILE *f;

	if (!o->out_dir || !o->out_dir[0] || !room)
		return 0;
	mkdir(o->out_dir, 0755);
	snprintf(path, sizeof(path), "%s/diff-%016llx-%ld.pcap", o->out_dir,
		 (unsigned long long)o->seed, index);
	f = fopen(path, "wb");
	if (f) {
		uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};

		fwrite(gh, sizeof(gh), 1, f);
		pcap_record(f, in, len, 1);         /* the input */
		pcap_record(f, a->out, a->out_len, 2); /* what the program sent */
		if (m->bytes_checked)
			pcap_record(f, m->out, m->out_len, 3); /* what the model expects */
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/diff-%016llx-%ld.txt", o->out_dir,
		 (unsigned long long)o->seed, index);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "seed %#018llx packet %ld (epoch %ld, %s, %zu bytes)\n", (unsigned long long)o->seed,
		index, epoch, pg_kind_names[kind], len);
	fprintf(f, "reproduce: SLUICE_DIFF_SEED=%#llx SLUICE_DIFF_PACKETS=%ld%s build/unit_tests "
		   "differential\n",
		(unsigned long long)o->seed, index + 1, o->quirks ? "" : " SLUICE_DIFF_STRICT=1");
	fprintf(f, "difference: %s\nmodel: %s\n", why, m->path);
	fprintf(f, "pcap: packet 1 input, 2 program output, 3 model output\nblocklist:");
	for (size_t i = 0; i < e->n_block; i++)
		fprintf(f, " %s", e->block_s[i]);
	fprintf(f, "\nallowlist:");
	for (size_t i = 0; i < e->n_allow; i++)
		fprintf(f, " %s", e->allow_s[i]);
	fprintf(f, "\n");
	for (size_t i = 0; i < e->lb.n; i++) {
		const struct lb_service_cfg *s = &e->svc[i];
		char a[INET6_ADDRSTRLEN];

		inet_ntop(s->vip.family == 4 ? AF_INET : AF_INET6, s->vip.addr, a, sizeof(a));
		fprintf(f, "service id %u %s port %u %s %s:", e->msvc[i].id, a, s->port,
			s->proto == IPPROTO_TCP ? "tcp" : "udp",
			s->mode == SLUICE_MODE_NAT ? "nat" : "dsr-ipip");
		for (size_t b = 0; b < s->n_backends; b++) {
			inet_ntop(s->vip.family == 4 ? AF_INET : AF_INET6, s->backends[b].addr.addr, a,
				  sizeof(a));
			fprintf(f, " [id %u %s port %u weight %u state %u]", e->mbe[i][b].id, a,
				s->backends[b].port, s->backends[b].weight, s->backends[b].state);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return 1;
}

/* A difference in strict mode: would a known program bug explain it?  The
 * model decides again with every quirk on, leaving its state alone. */
static void explain(struct ref_model *model, const struct model_config *cfg, const uint8_t *buf,
		    size_t len, const struct run_result *a, char *why, size_t n)
{
	static struct model_result q;
	struct model_config c = *cfg;
	char again[256];
	size_t used = strlen(why);

	if (cfg->quirks == MQ_ALL)
		return;
	c.quirks = MQ_ALL;
	c.dry = 1;
	ref_run(model, &c, buf, len, &q);
	if (diff_compare(a, &q, again, sizeof(again)) || !q.quirks_hit)
		return;
	snprintf(why + used, n - used, " = known bug");
	for (int i = 0; i < 6; i++)
		if (q.quirks_hit & (1u << i)) {
			used = strlen(why);
			snprintf(why + used, n - used, " %s", quirk_names[i]);
		}
}

/* ---- load balancer counters ---------------------------------------------------- */

struct lb_tally {
	uint64_t packets, bytes, new_flows;
};

/* The program's counters as they are: a pass starts from them (the
 * fixture does not zero every map between tests). */
static int baseline(struct lb_tally *lists, struct lb_tally *svc, struct lb_tally *be)
{
	int ncpu = libbpf_num_possible_cpus(), fd = xdp_map_fd("list_counters");
	struct sluice_counter c[ncpu];
	struct sluice_lb_counter l[ncpu];

	for (uint32_t id = 0; fd >= 0 && id < 8; id++) {
		if (bpf_map_lookup_elem(fd, &id, c))
			return -1;
		for (int k = 0; k < ncpu; k++) {
			lists[id].packets += c[k].packets;
			lists[id].bytes += c[k].bytes;
		}
	}
	for (int which = 0; which < 2; which++) {
		struct lb_tally *t = which ? be : svc;

		fd = xdp_map_fd(which ? "lb_backend_stats" : "lb_svc_stats");
		for (uint32_t id = 1; id < 64; id++) {
			if (bpf_map_lookup_elem(fd, &id, l))
				return -1;
			for (int k = 0; k < ncpu; k++) {
				t[id].packets += l[k].packets;
				t[id].bytes += l[k].bytes;
				t[id].new_flows += l[k].new_flows;
			}
		}
	}
	/* no SYN rate limits in these configurations (if the data path has
	 * them): whatever an earlier test left is cleared */
	fd = xdp_map_fd("syn_limits");
	if (fd >= 0) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		uint8_t zero[64] = {0};

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.value_size > sizeof(zero))
			return -1;
		for (uint32_t k = 0; k < info.max_entries; k++)
			if (bpf_map_update_elem(fd, &k, zero, BPF_ANY))
				return -1;
	}
	return 0;
}

/* Per-list counters (packets and bytes credited to each list id). */
static int check_list_counters(struct lb_tally *lists)
{
	int ncpu = libbpf_num_possible_cpus(), bad = 0, fd = xdp_map_fd("list_counters");
	struct sluice_counter c[ncpu];

	if (fd < 0)
		return 0; /* a data path without per-list counters */
	for (uint32_t id = 0; id < 8; id++) {
		uint64_t p = 0, b = 0;

		if (bpf_map_lookup_elem(fd, &id, c))
			return -1;
		for (int k = 0; k < ncpu; k++) {
			p += c[k].packets;
			b += c[k].bytes;
		}
		if (p != lists[id].packets || b != lists[id].bytes) {
			if (bad < 4)
				fprintf(stderr,
					"    diff: list %u counters: program %llu packets %llu bytes, "
					"model %llu / %llu\n",
					id, (unsigned long long)p, (unsigned long long)b,
					(unsigned long long)lists[id].packets,
					(unsigned long long)lists[id].bytes);
			lists[id].packets = p;
			lists[id].bytes = b;
			bad++;
		}
	}
	return bad;
}

static int check_lb_counters(struct lb_tally *svc, struct lb_tally *be)
{
	int ncpu = libbpf_num_possible_cpus(), bad = 0;
	struct sluice_lb_counter c[ncpu];

	for (int which = 0; which < 2; which++) {
		int fd = xdp_map_fd(which ? "lb_backend_stats" : "lb_svc_stats");
		uint32_t max = which ? SLUICE_MAX_BACKENDS : SLUICE_MAX_SERVICES;
		struct lb_tally *t = which ? be : svc;

		for (uint32_t id = 1; id < max && id < 64; id++) {
			uint64_t p = 0, b = 0, nf = 0;

			if (bpf_map_lookup_elem(fd, &id, c))
				return -1;
			for (int k = 0; k < ncpu; k++) {
				p += c[k].packets;
				b += c[k].bytes;
				nf += c[k].new_flows;
			}
			if (p != t[id].packets || b != t[id].bytes || nf != t[id].new_flows) {
				if (bad < 4)
					fprintf(stderr,
					"    diff: %s %u counters: program %llu packets %llu bytes %llu "
					"new flows, model %llu / %llu / %llu\n",
					which ? "backend" : "service", id, (unsigned long long)p,
					(unsigned long long)b, (unsigned long long)nf,
					(unsigned long long)t[id].packets, (unsigned long long)t[id].bytes,
					(unsigned long long)t[id].new_flows);
				/* report each discrepancy once: take the program's */
				t[id].packets = p;
				t[id].bytes = b;
				t[id].new_flows = nf;
				bad++;
			}
		}
	}
	return bad;
}

/* ---- running one frame -------------------------------------------------------- */

/* xdp_run (tests/unit/harness.c) with one counter read per packet instead of
 * two: the counters after one packet are the counters before the next.
 * Same checks: exactly one (reason, action) slot moves, under the action
 * the program returned. */
static uint64_t slots_before[SLUICE_COUNTER_SLOTS];
static int slots_valid;

void diff_runner_reset(void)
{
	slots_valid = 0;
}

int diff_run_frame(const uint8_t *frame, size_t len, struct run_result *r)
{
	uint64_t before[SLUICE_COUNTER_SLOTS], after[SLUICE_COUNTER_SLOTS];
	struct xdp_md ctx_in = {.data = 0, .data_end = (__u32)len,
				.ingress_ifindex = (__u32)lbt_ifindex()};
	struct xdp_md ctx_out = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);

	if (!slots_valid && xdp_read_slot_packets(slots_before))
		return -1;
	slots_valid = 1;
	if (bpf_prog_test_run_opts(xdp_prog_fd(), &opts)) {
		fprintf(stderr, "    BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
		slots_valid = 0;
		return -1;
	}
	r->action = (int)opts.retval;
	if (xdp_read_slot_packets(after)) {
		slots_valid = 0;
		return -1;
	}
	memcpy(before, slots_before, sizeof(before));
	/* the next frame's baseline, also when this one failed */
	memcpy(slots_before, after, sizeof(after));
	return xdp_settle_result(r, before, after, ctx_out.data, opts.data_size_out);
}

/* ---- TC: the DSR backend's decapsulation --------------------------------------- */

static struct decap *decap_skel;

/* One frame through tc/decap.bpf.c; *counter: which decap_stats slot moved
 * (0 decapsulated, 1 refused, -1 none, -2 more than one). */
static int run_decap(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len, int *action,
		     int *counter)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t before[2] = {0}, after[2] = {0};
	uint64_t v[ncpu];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = PG_FRAME_MAX + 64, .repeat = 1);

	if (!decap_skel) {
		decap_skel = decap__open_and_load();
		if (!decap_skel) {
			fprintf(stderr, "    diff: cannot load tc/decap.bpf.c: %s\n", strerror(errno));
			return -1;
		}
	}
	fd = bpf_map__fd(decap_skel->maps.decap_stats);
	for (uint32_t k = 0; k < 2; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			return -1;
		for (int c = 0; c < ncpu; c++)
			before[k] += v[c];
	}
	if (bpf_prog_test_run_opts(bpf_program__fd(decap_skel->progs.sluice_decap), &opts)) {
		fprintf(stderr, "    diff: BPF_PROG_TEST_RUN (tc decap, %zu bytes) failed: %s\n", len,
			strerror(errno));
		return -1;
	}
	for (uint32_t k = 0; k < 2; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			return -1;
		for (int c = 0; c < ncpu; c++)
			after[k] += v[c];
	}
	*action = (int)opts.retval;
	*out_len = opts.data_size_out;
	*counter = after[0] - before[0] + after[1] - before[1] > 1 ? -2
		   : after[0] != before[0]			  ? 0
		   : after[1] != before[1]			  ? 1
								  : -1;
	return 0;
}

/* Decap of frame by program and model; 0 same, 1 different (why). */
static int check_decap(const uint8_t *frame, size_t len, uint8_t *pout, size_t *plen, char *why,
		       size_t n, unsigned quirks, struct diff_stats *st)
{
	unsigned hit = 0;
	static uint8_t mout[PG_FRAME_MAX + 64];
	size_t mlen;
	int pact, pcnt, mcnt, mact;
	uint16_t et = len >= 14 ? (uint16_t)(frame[12] << 8 | frame[13]) : 0;

	/* BPF_PROG_TEST_RUN of an skb program wants the whole fixed IP header
	 * of an IP ethertype, and one page at most */
	if (len < 14 || (et == 0x0800 && len < 34) || (et == 0x86dd && len < 54) || len > 3500)
		return 2;
	if (run_decap(frame, len, pout, plen, &pact, &pcnt))
		return -1;
	mact = ref_decap(frame, len, mout, &mlen, &mcnt, quirks, &hit);
	if (hit)
		st->quirk_packets[6]++;
	if (!(quirks & MQ_DECAP_OUTER_VERSION) &&
	    (pact != mact || pcnt != mcnt || (mact == 0 && *plen != mlen))) {
		unsigned h2 = 0;
		int c2, a2 = ref_decap(frame, len, mout, &mlen, &c2, MQ_DECAP_OUTER_VERSION, &h2);

		if (a2 == pact && c2 == pcnt && h2) {
			snprintf(why, n, "tc decap: program action %d counter %d, model action %d "
					 "counter %d = known bug decap-outer-version",
				 pact, pcnt, mact, mcnt);
			return 1;
		}
		mact = ref_decap(frame, len, mout, &mlen, &mcnt, quirks, &hit);
	}
	if (pact != mact || pcnt != mcnt) {
		snprintf(why, n, "tc decap: program action %d counter %d, model action %d counter %d",
			 pact, pcnt, mact, mcnt);
		return 1;
	}
	if (mact == 0 && (*plen != mlen || memcmp(pout, mout, mlen))) {
		snprintf(why, n, "tc decap: output differs (program %zu bytes, model %zu)", *plen,
			 mlen);
		return 1;
	}
	return 0;
}

/* ---- the pass -------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	struct rng r = {x};

	return rng_next(&r);
}

int diff_run(const struct diff_opts *o, struct diff_stats *st)
{
	struct epoch *e = calloc(1, sizeof(*e));
	struct pktgen *g = calloc(1, sizeof(*g));
	struct run_result *a = calloc(1, sizeof(*a));
	struct model_result *m = calloc(1, sizeof(*m));
	struct lb_tally *svc_t = calloc(SLUICE_MAX_SERVICES, sizeof(*svc_t));
	struct lb_tally *be_t = calloc(SLUICE_MAX_BACKENDS, sizeof(*be_t));
	struct lb_tally *list_t = calloc(SLUICE_MAX_LISTS, sizeof(*list_t));
	uint8_t *buf = calloc(1, PG_FRAME_MAX + 64);
	struct rng cfg_rng = {mix64(o->seed ^ 0x636f6e666967ull)};
	struct ref_model model;
	struct timespec t0, t1;
	int written = 0, printed = 0, rc = 0;
	long index = 0, ctl_seen = 0;
	unsigned combos = pktgen_combos();

	memset(st, 0, sizeof(*st));
	n_kinds = 0;
	slots_valid = 0;
	ref_init(&model);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!e || !g || !a || !m || !svc_t || !be_t || !list_t || !buf ||
	    baseline(list_t, svc_t, be_t)) {
		rc = -1;
		goto out;
	}
	while (index < o->packets) {
		long n = o->epoch_packets;

		if (apply_epoch(&cfg_rng, e, &st->ctl_problems,
				(o->quirks & DIFF_ACCEPT_CTL_DUP_IDS) ? NULL : stderr)) {
			fprintf(stderr, "    diff: cannot apply epoch %ld's configuration\n", st->epochs);
			rc = -1;
			break;
		}
		e->cfg.quirks = o->quirks & MQ_ALL;
		if (!(o->quirks & DIFF_ACCEPT_CTL_DUP_IDS) && st->ctl_problems > ctl_seen)
			st->differences += st->ctl_problems - ctl_seen;
		ctl_seen = st->ctl_problems;
		pktgen_world(g, mix64(o->seed + (uint64_t)st->epochs * 0x9e3779b97f4a7c15ull), &e->world);
		if (n > o->packets - index)
			n = o->packets - index;
		for (long i = 0; i < n; i++, index++) {
			char why[256];
			int kind, first;
			size_t len;

			if (st->epochs == 0 && (unsigned long)i < combos) {
				len = pktgen_combo(g, (unsigned)i, buf);
				kind = PK_COMBO;
			} else {
				len = pktgen_next(g, buf, &kind);
			}
			st->packets++;
			if (diff_run_frame(buf, len, a)) {
				st->harness_errors++;
				st->differences++;
				fprintf(stderr, "    diff: packet %ld: the harness refused the run\n", index);
				if (st->harness_errors > 10)
					goto out;
				continue;
			}
			ref_run(&model, &e->cfg, buf, len, m);
			if (m->svc) {
				svc_t[m->svc].packets++;
				svc_t[m->svc].bytes += len < TEST_RUN_LINEAR ? len : TEST_RUN_LINEAR;
				svc_t[m->svc].new_flows += (uint64_t)m->new_flow;
			}
			if (m->list_counted) {
				list_t[m->list_id % SLUICE_MAX_LISTS].packets++;
				list_t[m->list_id % SLUICE_MAX_LISTS].bytes +=
					len < TEST_RUN_LINEAR ? len : TEST_RUN_LINEAR;
			}
			if (m->backend) {
				be_t[m->backend].packets++;
				be_t[m->backend].bytes += len < TEST_RUN_LINEAR ? len : TEST_RUN_LINEAR;
				be_t[m->backend].new_flows += (uint64_t)m->new_flow;
			}
			for (int q = 0; q < 8; q++)
				if (m->quirks_hit & (1u << q))
					st->quirk_packets[q]++;
			if (m->unknown) {
				st->unknown++;
				continue;
			}
			st->compared++;
			st->by_reason[m->reason]++;
			st->by_action[m->action]++;
			if (!diff_compare(a, m, why, sizeof(why))) {
				static uint8_t dout[PG_FRAME_MAX + 64];
				size_t dlen;
				int rc = 0;

				/* TC: the backend's decapsulation, of every frame XDP
				 * tunnelled (and back to the frame the client sent),
				 * and of one in eight generated frames */
				if (m->bytes_checked && a->out_len == len + (buf[12] == 0x86 ? 40 : 20) &&
				    (m->reason == SR_LB_FORWARD || m->reason == SR_LB_ICMP)) {
					rc = check_decap(a->out, a->out_len, dout, &dlen, why, sizeof(why),
							 o->quirks, st);
					st->decap_roundtrips += rc != 2;
					if (!rc && (dlen != len || memcmp(dout + 12, buf + 12, len - 12))) {
						snprintf(why, sizeof(why),
							 "tc decap of the dsr-ipip frame is not the "
							 "client's frame");
						rc = 1;
					}
				} else if ((index & 7) == 0) {
					rc = check_decap(buf, len, dout, &dlen, why, sizeof(why), o->quirks,
							 st);
					st->decap_runs += rc != 2;
				}
				if (rc < 0) {
					st->harness_errors++;
					st->differences++;
				}
				if (rc <= 0 || rc == 2)
					continue;
			}
			st->differences++;
			explain(&model, &e->cfg, buf, len, a, why, sizeof(why));
			first = count_kind(why, m, index);
			if (first || printed < o->max_printed / 2)
				written += write_case(o, e, index, st->epochs, kind, buf, len, a, m, why,
						      written < o->max_written);
			if (printed++ < o->max_printed)
				fprintf(stderr, "    diff: seed %#llx packet %ld (%s, %zu bytes): %s [model: %s]\n",
					(unsigned long long)o->seed, index, pg_kind_names[kind], len, why,
					m->path);

		}
		{
			int bad = check_lb_counters(svc_t, be_t), lbad = check_list_counters(list_t);

			if (lbad) {
				st->list_stat_errors += lbad < 0 ? 1 : lbad;
				st->differences++;
			}

			if (bad) {
				st->lb_stat_errors += bad < 0 ? 1 : bad;
				st->differences++;
			}
		}
		st->epochs++;
	}
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (g)
		st->gen = g->st;
	ref_free(&model);
	if (e) {
		prefix_list_free(&e->pblock);
		prefix_list_free(&e->pallow);
	}
	free(e);
	free(g);
	free(a);
	free(m);
	free(svc_t);
	free(be_t);
	free(list_t);
	free(buf);
	return rc;
}


void diff_report(FILE *to, const struct diff_opts *o, const struct diff_stats *st)
{
	fprintf(to, "    differential: seed %#llx, %ld packets (%ld compared, %ld environment-unknown) "
		    "in %ld configurations, %.1f s (%.0f packets/s)\n",
		(unsigned long long)o->seed, st->packets, st->compared, st->unknown, st->epochs,
		st->seconds, st->seconds > 0 ? st->packets / st->seconds : 0.0);
	fprintf(to, "    tc decap: %ld dsr-ipip round trips (xdp encap -> tc decap), %ld other frames\n",
		st->decap_roundtrips, st->decap_runs);
	fprintf(to, "    frames:");
	for (int k = 0; k < PK_KIND_MAX; k++)
		fprintf(to, " %s %lu", pg_kind_names[k], st->gen.kinds[k]);
	fprintf(to, "\n    mutations:");
	for (int k = 0; k < PM_KIND_MAX; k++)
		fprintf(to, " %s %lu", pg_mutation_names[k], st->gen.mutations[k]);
	fprintf(to, "\n    structured: vlan tags 0/1/2/3 %lu/%lu/%lu/%lu, ipv4 options %lu, ipv6 "
		    "extension chains %lu, fragments %lu, >3400 bytes %lu, icmp errors %lu; lb roles "
		    "to-vip %lu reply %lu icmp-to-vip %lu icmp-from-backend %lu other %lu\n",
		st->gen.vlan_depth[0], st->gen.vlan_depth[1], st->gen.vlan_depth[2],
		st->gen.vlan_depth[3], st->gen.ipv4_options, st->gen.ipv6_ext_chains,
		st->gen.fragments, st->gen.jumbo, st->gen.icmp_errors, st->gen.lb_roles[0],
		st->gen.lb_roles[1], st->gen.lb_roles[2], st->gen.lb_roles[3], st->gen.lb_roles[4]);
	fprintf(to, "    verdicts:");
	for (int k = 0; k < SR_REASON_MAX; k++)
		if (st->by_reason[k])
			fprintf(to, " %s %ld", sluice_reason_names[k], st->by_reason[k]);
	fprintf(to, "\n    actions:");
	for (int k = 0; k < SLUICE_ACTION_MAX; k++)
		fprintf(to, " %s %ld", sluice_action_names[k], st->by_action[k]);
	fprintf(to, "\n");
	for (int q = 0; q < 7; q++)
		if (st->quirk_packets[q])
			fprintf(to, "    known program bug %s (%s): %ld packets\n", quirk_names[q],
				o->quirks & (1u << q) ? "accepted" : "counted as differences",
				st->quirk_packets[q]);
	if (st->ctl_problems)
		fprintf(to, "    known control-plane bug ctl-dup-backend-id (%s): %ld backends with two ids\n",
			o->quirks & DIFF_ACCEPT_CTL_DUP_IDS ? "accepted" : "counted as differences",
			st->ctl_problems);
	fprintf(to, "    differences: %ld (harness errors %ld, lb counter mismatches %ld, list "
		    "counter mismatches %ld)\n",
		st->differences, st->harness_errors, st->lb_stat_errors, st->list_stat_errors);
	for (int i = 0; i < n_kinds; i++)
		fprintf(to, "      %6ld x %s (first: packet %ld)\n", kinds[i].n, kinds[i].what,
			kinds[i].first);
}

void diff_opts_from_env(struct diff_opts *o, uint64_t seed, long packets)
{
	const char *v;

	memset(o, 0, sizeof(*o));
	o->seed = seed;
	o->packets = packets;
	o->epoch_packets = 5000;
	/* the known bugs still present in the program (tests/fuzz/README.md);
	 * fixed ones are no longer accepted: ICMP deep/UDP-conn/drain-delete,
	 * decap outer version, duplicate backend ids */
	o->quirks = 0;
	o->out_dir = "build/diff-failures";
	o->max_written = 40;
	o->max_printed = 20;
	if ((v = getenv("SLUICE_DIFF_SEED")) && *v)
		o->seed = strtoull(v, NULL, 0);
	if ((v = getenv("SLUICE_DIFF_PACKETS")) && *v)
		o->packets = strtol(v, NULL, 0);
	if ((v = getenv("SLUICE_DIFF_EPOCH")) && *v)
		o->epoch_packets = strtol(v, NULL, 0);
	if ((v = getenv("SLUICE_DIFF_STRICT")) && *v && strcmp(v, "0"))
		o->quirks = 0;
	if ((v = getenv("SLUICE_DIFF_OUT")))
		o->out_dir = v;
	if (o->epoch_packets < 1)
		o->epoch_packets = 5000;
}
