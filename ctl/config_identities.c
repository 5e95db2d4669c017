// SPDX-License-Identifier: GPL-2.0
/*
 * config_identities.c - `identities`: named classes of source prefixes
 * (internet, partner, internal, ...).  Ids are 1.. in config order; 0 is
 * "unknown" (a source in no identity), so that name is reserved.  Pod rules
 * refer to identities by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "sluice_maps.h"

#define IDENTITY_NAME_MAX 31
/* The id travels in a 16-bit metadata field; 0 is taken by "unknown". */
/* the tag and skb->mark carry identity ids in 8 bits */
#define IDENTITY_MAX SLUICE_MAX_IDENTITIES

static const char *const identity_keys[] = {"name", "prefixes", "syn_rate", "syn_burst", NULL};

/* Every identity prefix with where it was written: the same prefix in two
 * identities would put a source in both, so it is refused. */
struct owned_prefix {
	struct sluice_prefix p;
	size_t identity;
	size_t seq; /* config order, for a stable sort */
	const config_setting_t *at;
};

struct owned_list {
	struct owned_prefix *v;
	size_t n, cap;
};

static int owned_push(struct owned_list *l, const struct owned_prefix *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct owned_prefix *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = *o;
	l->v[l->n].seq = l->n;
	l->n++;
	return 0;
}

static int owned_cmp(const void *pa, const void *pb)
{
	const struct owned_prefix *a = pa, *b = pb;
	int c = prefix_cmp(&a->p, &b->p);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void check_shared_prefixes(struct cfg_ctx *c, struct owned_list *all)
{
	const struct sluice_model *m = c->m;

	size_t run = 0; /* first entry of the current run of equal prefixes */

	if (all->n < 2)
		return;
	qsort(all->v, all->n, sizeof(*all->v), owned_cmp);
	for (size_t i = 1; i < all->n; i++) {
		const struct owned_prefix *first = &all->v[run], *o = &all->v[i];
		char where[CFG_PATH_MAX], buf[64];

		if (!prefix_same(&first->p, &o->p)) {
			run = i;
			continue;
		}
		if (first->identity == o->identity)
			continue; /* said twice, meant once: harmless */
		prefix_format(&o->p, buf, sizeof(buf));
		cfg_err(c, o->at,
			"%s: %s is already in identity '%s' (line %d): a source can be in one "
			"identity only",
			cfg_path(o->at, where, sizeof(where)), buf,
			m->identities[first->identity].name, cfg_line(c, first->at));
	}
}

/* syn_rate / syn_burst: SYNs per second per source (/32, /64) and the
 * bucket's depth; burst defaults to the rate. */
void cfg_syn_limit(struct cfg_ctx *c, const config_setting_t *g, const char *where,
		   uint32_t *rate, uint32_t *burst)
{
	long long r = 0, b = 0;

	if (cfg_int(c, g, "syn_rate", false, 0, 10000000, &r) > 0)
		*rate = (uint32_t)r;
	if (cfg_int(c, g, "syn_burst", false, 1, 10000000, &b) > 0) {
		if (!*rate)
			cfg_err(c, config_setting_get_member(g, "syn_burst"),
				"%s.syn_burst without syn_rate: set the rate too", where);
		*burst = (uint32_t)b;
	}
	if (*rate && !*burst)
		*burst = *rate;
}

static void load_identity(struct cfg_ctx *c, const config_setting_t *g, size_t i,
			  struct owned_list *all)
{
	struct identity_cfg *id = &c->m->identities[i];
	const config_setting_t *l;
	char where[CFG_PATH_MAX];
	const char *name;

	cfg_path(g, where, sizeof(where));
	id->id = (uint16_t)(i + 1);
	id->line = (int)config_setting_source_line(g);
	cfg_known_keys(c, g, identity_keys);
	if (cfg_string(c, g, "name", true, 0, &name) > 0 &&
	    cfg_name_ok(c, config_setting_get_member(g, "name"), name, IDENTITY_NAME_MAX, false)) {
		if (!strcmp(name, "unknown"))
			cfg_err(c, config_setting_get_member(g, "name"),
				"%s: identity name 'unknown' is reserved (id 0: sources in no "
				"identity)",
				where);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(c->m->identities[k].name, name))
				cfg_err(c, config_setting_get_member(g, "name"),
					"%s: identity '%s' is defined twice (first at line %d)",
					where, name, c->m->identities[k].line);
		snprintf(id->name, sizeof(id->name), "%s", name);
	}
	cfg_syn_limit(c, g, where, &id->syn_rate, &id->syn_burst);
	l = cfg_string_list(c, g, "prefixes", true);
	if (!l)
		return;
	if (config_setting_length(l) == 0) {
		cfg_err(c, l, "%s.prefixes is empty: the identity would never match", where);
		return;
	}
	for (int k = 0; k < config_setting_length(l); k++) {
		struct owned_prefix o = {.identity = i,
					 .at = config_setting_get_elem(l, (unsigned)k)};

		if (cfg_prefix_elem(c, l, k, false, &o.p))
			continue;
		o.p.list_id = id->id; /* the prefix carries its identity's id */
		if (prefix_list_push(&id->prefixes, &o.p) || owned_push(all, &o)) {
			cfg_err(c, l, "out of memory");
			return;
		}
	}
}

void cfg_identities(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l = cfg_group_list(c, root, "identities", false);
	struct owned_list all = {0};
	int n;

	if (!l)
		return;
	n = config_setting_length(l);
	if (n > IDENTITY_MAX) {
		cfg_err(c, l, "%d identities configured, at most %d possible", n, IDENTITY_MAX);
		return;
	}
	c->m->identities = calloc((size_t)n ? (size_t)n : 1, sizeof(*c->m->identities));
	if (!c->m->identities) {
		cfg_err(c, l, "out of memory");
		return;
	}
	/* Ids are positions, so every entry counts, valid or not. */
	c->m->n_identities = (size_t)n;
	for (int i = 0; i < n; i++)
		load_identity(c, config_setting_get_elem(l, (unsigned)i), (size_t)i, &all);
	check_shared_prefixes(c, &all);
	free(all.v);
}

/* syn_guard = { syn_rate = N; syn_burst = M; }: the limit for sources in no
 * identity class (identity "unknown"). */
void cfg_syn_guard(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {"syn_rate", "syn_burst", NULL};
	const config_setting_t *g = config_setting_get_member(root, "syn_guard");

	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, keys);
	cfg_syn_limit(c, g, "syn_guard", &c->m->syn_rate, &c->m->syn_burst);
}
