// SPDX-License-Identifier: GPL-2.0
/*
 * config_services.c - `services`: load-balanced VIPs and their backends,
 * into struct lb_model.  Besides each field, checks what the data path
 * relies on across services: one service per (VIP, port, protocol), one NAT
 * owner per backend (the reverse NAT is stateless), one state per backend
 * (the backends map holds one), and the map sizes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "sluice_maps.h"

#define SERVICE_NAME_MAX 63

static const char *const service_keys[] = {"name", "vip", "port", "protocol", "mode",
					   "backends", "health", "syn_cookies", NULL};
static const char *const backend_keys[] = {"address", "port", "weight", "state", NULL};

static const char *const proto_names[] = {"tcp", "udp", NULL};
static const uint8_t proto_values[] = {IPPROTO_TCP, IPPROTO_UDP};
static const char *const mode_names[] = {"nat", "dsr-ipip", NULL};
static const uint8_t mode_values[] = {SLUICE_MODE_NAT, SLUICE_MODE_DSR_IPIP};
static const char *const state_names[] = {"active", "draining", "down", NULL};
static const uint8_t state_values[] = {SLUICE_BE_ACTIVE, SLUICE_BE_DRAINING, SLUICE_BE_DOWN};

/* What the cross-checks need beyond the model: which fields parsed. */
struct service_check {
	const config_setting_t *g, *backends;
	bool name_ok; /* name comparable */
	bool key_ok;  /* vip, port and protocol all valid: the key comparable */
	bool port_ok;
};

static void load_backend(struct cfg_ctx *c, const struct lb_service_cfg *s,
			 const struct service_check *sc, const config_setting_t *g,
			 struct lb_backend_cfg *b)
{
	char where[CFG_PATH_MAX];
	long long v;
	int idx;

	cfg_path(g, where, sizeof(where));
	b->line = (int)config_setting_source_line(g);
	b->port = s->port; /* default: the service's port */
	b->weight = 1;
	b->state = SLUICE_BE_ACTIVE;
	cfg_known_keys(c, g, backend_keys);
	if (cfg_prefix(c, g, "address", true, true, &b->addr) > 0 && s->vip.family &&
	    b->addr.family != s->vip.family) {
		cfg_err(c, config_setting_get_member(g, "address"),
			"%s.address is IPv%u but the service's VIP is IPv%u: a backend must have "
			"the VIP's address family",
			where, b->addr.family, s->vip.family);
		b->addr.family = 0; /* keep it out of the cross-checks */
	}
	if (cfg_int(c, g, "port", false, 0, 65535, &v) > 0 && sc->port_ok) {
		const config_setting_t *at = config_setting_get_member(g, "port");

		/* A port-wildcard service keeps each client's port; there is no
		 * single port to send to. */
		if (s->port == 0 && v != 0)
			cfg_err(c, at,
				"%s.port is %lld but service port 0 (every port) keeps the "
				"client's port: leave the backend port out",
				where, v);
		/* DSR sends the client's packet unchanged inside an IPIP tunnel:
		 * the backend answers on the VIP's own port. */
		else if (s->mode == SLUICE_MODE_DSR_IPIP && v != s->port)
			cfg_err(c, at,
				"%s.port is %lld but a dsr-ipip service cannot change ports: the "
				"backend must listen on the service port %u",
				where, v, s->port);
		b->port = (uint16_t)v;
	}
	if (cfg_int(c, g, "weight", false, 0, 65535, &v) > 0)
		b->weight = (uint32_t)v;
	if (cfg_enum(c, g, "state", false, state_names, &idx) > 0)
		b->state = state_values[idx];
	/* Weight 0 takes the backend out of the table but keeps its flows:
	 * that is what draining means, so say it in the state too. */
	if (b->weight == 0 && b->state == SLUICE_BE_ACTIVE)
		b->state = SLUICE_BE_DRAINING;
}

static void load_service(struct cfg_ctx *c, const config_setting_t *g, struct lb_service_cfg *s,
			 struct service_check *sc)
{
	bool vip_ok, proto_ok;
	const char *name;
	long long v;
	int idx, n;

	sc->g = g;
	s->line = (int)config_setting_source_line(g);
	s->mode = SLUICE_MODE_NAT;
	cfg_known_keys(c, g, service_keys);
	if (cfg_string(c, g, "name", true, SERVICE_NAME_MAX, &name) > 0 &&
	    cfg_name_ok(c, config_setting_get_member(g, "name"), name, SERVICE_NAME_MAX, true)) {
		snprintf(s->name, sizeof(s->name), "%s", name);
		sc->name_ok = true;
	}
	vip_ok = cfg_prefix(c, g, "vip", true, true, &s->vip) > 0;
	if (cfg_int(c, g, "port", true, 0, 65535, &v) > 0) {
		s->port = (uint16_t)v;
		sc->port_ok = true;
	}
	proto_ok = cfg_enum(c, g, "protocol", true, proto_names, &idx) > 0;
	if (proto_ok)
		s->proto = proto_values[idx];
	sc->key_ok = vip_ok && sc->port_ok && proto_ok;
	if (cfg_enum(c, g, "mode", false, mode_names, &idx) > 0)
		s->mode = mode_values[idx];
	cfg_health(c, g, s, sc->port_ok);
	cfg_service_syn_cookies(c, g, s); /* config_syncookies.c */

	/* An empty list is allowed: the VIP then drops (lb_no_backend). */
	sc->backends = cfg_group_list(c, g, "backends", true);
	if (!sc->backends)
		return;
	n = config_setting_length(sc->backends);
	s->backends = calloc(n ? (size_t)n : 1, sizeof(*s->backends));
	if (!s->backends) {
		cfg_err(c, sc->backends, "out of memory");
		return;
	}
	s->n_backends = (size_t)n;
	for (int b = 0; b < n; b++)
		load_backend(c, s, sc, config_setting_get_elem(sc->backends, (unsigned)b),
			     &s->backends[b]);
}

static void check_services(struct cfg_ctx *c, const config_setting_t *l,
			   const struct service_check *sc)
{
	const struct lb_model *lb = &c->m->lb;
	char where[CFG_PATH_MAX], ep[64];

	for (size_t i = 0; i < lb->n; i++) {
		const struct lb_service_cfg *s = &lb->svcs[i];

		cfg_path(sc[i].g, where, sizeof(where));
		for (size_t k = 0; k < i && sc[i].name_ok; k++) {
			if (!sc[k].name_ok || strcmp(lb->svcs[k].name, s->name))
				continue;
			cfg_err(c, config_setting_get_member(sc[i].g, "name"),
				"%s: service name '%s' is already used (line %d)", where, s->name,
				lb->svcs[k].line);
			break;
		}
		for (size_t k = 0; k < i && sc[i].key_ok; k++) {
			const struct lb_service_cfg *o = &lb->svcs[k];

			if (!sc[k].key_ok || !prefix_same(&o->vip, &s->vip) || o->port != s->port ||
			    o->proto != s->proto)
				continue;
			addr_port_format(&s->vip, s->port, ep, sizeof(ep));
			cfg_err(c, config_setting_get_member(sc[i].g, "vip"),
				"%s: %s/%s is already service '%s' (line %d): one service per VIP, "
				"port and protocol",
				where, ep, s->proto == IPPROTO_TCP ? "tcp" : "udp", o->name,
				o->line);
			break;
		}
	}
	if (lb->n > c->m->limits.services_max) {
		const config_setting_t *at = c->limit_set[CFG_LIM_SERVICES];

		cfg_err(c, at ? at : config_setting_get_elem(l, c->m->limits.services_max),
			"%zu services configured, more than limits.services = %u%s", lb->n,
			c->m->limits.services_max,
			at ? "" : " (the compiled-in maximum; this service is the first too many)");
	}
}

/* ---- checks across all backends ---------------------------------------- */

struct backend_ref {
	const struct lb_backend_cfg *b;
	const struct lb_service_cfg *s;
	const config_setting_t *at;
	size_t seq; /* config order */
};

static bool same_endpoint(const struct backend_ref *x, const struct backend_ref *y)
{
	return prefix_same(&x->b->addr, &y->b->addr) && x->b->port == y->b->port;
}

static int backend_ref_cmp(const void *pa, const void *pb)
{
	const struct backend_ref *x = pa, *y = pb;
	int c = prefix_cmp(&x->b->addr, &y->b->addr);

	if (c)
		return c;
	if (x->b->port != y->b->port)
		return x->b->port < y->b->port ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int size_cmp(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return a < b ? -1 : a > b;
}

/* The backends map holds one entry per (address, port): count those. */
static void check_backend_count(struct cfg_ctx *c, const struct backend_ref *v, size_t n,
				const struct backend_ref *by_seq)
{
	uint32_t max = c->m->limits.backends_max;
	size_t *firsts = calloc(n ? n : 1, sizeof(*firsts));
	size_t distinct = 0;

	if (!firsts)
		return;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || !same_endpoint(&v[i - 1], &v[i]))
			firsts[distinct++] = v[i].seq;
	if (distinct > max) {
		const config_setting_t *at = c->limit_set[CFG_LIM_BACKENDS];
		char where[CFG_PATH_MAX];

		/* Blame the first backend that does not fit, in config order. */
		qsort(firsts, distinct, sizeof(*firsts), size_cmp);
		if (!at)
			at = by_seq[firsts[max]].at;
		cfg_err(c, at,
			"%zu distinct backends (address, port) configured, more than "
			"limits.backends = %u (the first one too many is %s)",
			distinct, max, cfg_path(by_seq[firsts[max]].at, where, sizeof(where)));
	}
	free(firsts);
}

static void check_backends(struct cfg_ctx *c, const struct service_check *sc)
{
	const struct lb_model *lb = &c->m->lb;
	struct backend_ref *by_seq, *v;
	size_t n = 0, run = 0;

	for (size_t i = 0; i < lb->n; i++)
		n += lb->svcs[i].n_backends;
	by_seq = calloc(n ? n : 1, sizeof(*by_seq));
	v = calloc(n ? n : 1, sizeof(*v));
	if (!by_seq || !v)
		goto out;
	n = 0;
	for (size_t i = 0; i < lb->n; i++) {
		for (size_t b = 0; b < lb->svcs[i].n_backends; b++) {
			if (!lb->svcs[i].backends[b].addr.family)
				continue; /* already reported */
			by_seq[n] = (struct backend_ref){
			    .b = &lb->svcs[i].backends[b],
			    .s = &lb->svcs[i],
			    .at = config_setting_get_elem(sc[i].backends, (unsigned)b),
			    .seq = n,
			};
			n++;
		}
	}
	memcpy(v, by_seq, n * sizeof(*v));
	qsort(v, n, sizeof(*v), backend_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct backend_ref *r = &v[i];
		char where[CFG_PATH_MAX], ep[64];

		if (!same_endpoint(&v[run], r)) {
			run = i;
			continue;
		}
		cfg_path(r->at, where, sizeof(where));
		addr_port_format(&r->b->addr, r->b->port, ep, sizeof(ep));
		/* Within the run, compare with each earlier entry: the first
		 * conflict found is the one reported. */
		for (size_t k = run; k < i; k++) {
			const struct backend_ref *o = &v[k];

			if (o->s == r->s) {
				cfg_err(c, r->at,
					"%s: %s is listed twice in service '%s' (first at line %d)",
					where, ep, r->s->name, o->b->line);
				break;
			}
			if (o->s->mode == SLUICE_MODE_NAT && r->s->mode == SLUICE_MODE_NAT &&
			    o->s->proto == r->s->proto) {
				cfg_err(c, r->at,
					"%s: %s/%s is already a backend of NAT service '%s' (line "
					"%d): the reverse NAT needs one owner per backend address, "
					"port and protocol",
					where, ep, r->s->proto == IPPROTO_TCP ? "tcp" : "udp",
					o->s->name, o->b->line);
				break;
			}
			if ((o->b->state == SLUICE_BE_DOWN) != (r->b->state == SLUICE_BE_DOWN)) {
				cfg_err(
				    c, r->at,
				    "%s: %s is '%s' here but '%s' in service '%s' (line %d): the "
				    "data path keeps one state per backend, so mark it down in "
				    "every service or in none",
				    where, ep, state_names[r->b->state], state_names[o->b->state],
				    o->s->name, o->b->line);
				break;
			}
		}
	}
	check_backend_count(c, v, n, by_seq);
out:
	free(by_seq);
	free(v);
}

void cfg_services(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l = cfg_group_list(c, root, "services", false);
	struct lb_model *lb = &c->m->lb;
	struct service_check *sc;
	int n;

	if (!l)
		return;
	n = config_setting_length(l);
	lb->svcs = calloc(n ? (size_t)n : 1, sizeof(*lb->svcs));
	sc = calloc(n ? (size_t)n : 1, sizeof(*sc));
	if (!lb->svcs || !sc) {
		cfg_err(c, l, "out of memory");
		free(sc);
		return;
	}
	lb->n = (size_t)n;
	for (int i = 0; i < n; i++)
		load_service(c, config_setting_get_elem(l, (unsigned)i), &lb->svcs[i], &sc[i]);
	check_services(c, l, sc);
	check_backends(c, sc);
	free(sc);
}
