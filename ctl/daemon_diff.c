// SPDX-License-Identifier: GPL-2.0
/* daemon_diff.c - what a reload changes, for the reload report and log. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"

#define SAMPLES 3 /* prefixes named per direction; the rest are counted */

static const char *const state_names[] = {"active", "draining", "down"};
static const char *const mode_names[] = {"nat", "dsr-ipip"};

/* Prefixes of b missing from a: count, and the first few in sample. */
static size_t missing(const struct prefix_list *a, const struct prefix_list *b, struct buf *sample,
		      const char *sign)
{
	struct prefix_set in_a;
	size_t n = 0;

	if (prefix_set_init(&in_a, a->n + 1))
		return 0;
	for (size_t i = 0; i < a->n; i++)
		prefix_set_add(&in_a, &a->v[i]);
	for (size_t i = 0; i < b->n; i++) {
		char txt[64];

		if (prefix_set_find(&in_a, &b->v[i]))
			continue;
		if (n < SAMPLES) {
			prefix_format(&b->v[i], txt, sizeof(txt));
			buf_printf(sample, " %s%s", sign, txt);
		}
		n++;
	}
	prefix_set_free(&in_a);
	return n;
}

static size_t diff_list(const char *what, const struct prefix_list *o, const struct prefix_list *n,
			struct buf *out)
{
	struct buf sample = {0};
	size_t added = missing(o, n, &sample, "+");
	size_t removed = missing(n, o, &sample, "-");

	if (added || removed)
		buf_printf(out, "  %s: +%zu -%zu prefixes (now %zu):%s%s\n", what, added, removed,
			   n->n, sample.s ? sample.s : "",
			   added + removed > 2 * SAMPLES ? " ..." : "");
	buf_free(&sample);
	return added || removed;
}

static const struct lb_backend_cfg *find_backend(const struct lb_service_cfg *s,
						 const struct lb_backend_cfg *b)
{
	for (size_t i = 0; i < s->n_backends; i++)
		if (prefix_same(&s->backends[i].addr, &b->addr) && s->backends[i].port == b->port)
			return &s->backends[i];
	return NULL;
}

static const struct lb_service_cfg *find_service(const struct lb_model *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->svcs[i].name, name))
			return &m->svcs[i];
	return NULL;
}

static size_t diff_service(const struct lb_service_cfg *o, const struct lb_service_cfg *n,
			   struct buf *out)
{
	size_t changes = 0;
	char txt[96];

	if (!prefix_same(&o->vip, &n->vip) || o->port != n->port || o->proto != n->proto) {
		char a[64], b[64];

		prefix_format(&o->vip, a, sizeof(a));
		prefix_format(&n->vip, b, sizeof(b));
		buf_printf(out, "  service %s: %s port %u proto %u -> %s port %u proto %u\n",
			   n->name, a, o->port, o->proto, b, n->port, n->proto);
		changes++;
	}
	if (o->mode != n->mode) {
		buf_printf(out, "  service %s: mode %s -> %s\n", n->name, mode_names[o->mode & 1],
			   mode_names[n->mode & 1]);
		changes++;
	}
	for (size_t i = 0; i < n->n_backends; i++) {
		const struct lb_backend_cfg *nb = &n->backends[i], *ob = find_backend(o, nb);

		addr_port_format(&nb->addr, nb->port, txt, sizeof(txt));
		if (!ob) {
			buf_printf(out, "  service %s: backend %s added (weight %u, %s)\n", n->name,
				   txt, nb->weight, state_names[nb->state % 3]);
			changes++;
			continue;
		}
		if (ob->weight != nb->weight) {
			buf_printf(out, "  service %s: backend %s weight %u -> %u\n", n->name, txt,
				   ob->weight, nb->weight);
			changes++;
		}
		if (ob->state != nb->state) {
			buf_printf(out, "  service %s: backend %s %s -> %s\n", n->name, txt,
				   state_names[ob->state % 3], state_names[nb->state % 3]);
			changes++;
		}
	}
	for (size_t i = 0; i < o->n_backends; i++) {
		if (find_backend(n, &o->backends[i]))
			continue;
		addr_port_format(&o->backends[i].addr, o->backends[i].port, txt, sizeof(txt));
		buf_printf(out, "  service %s: backend %s removed\n", n->name, txt);
		changes++;
	}
	return changes;
}

static size_t diff_services(const struct lb_model *o, const struct lb_model *n, struct buf *out)
{
	size_t changes = 0;

	for (size_t i = 0; i < n->n; i++) {
		const struct lb_service_cfg *os = find_service(o, n->svcs[i].name);
		char vip[64];

		if (os) {
			changes += diff_service(os, &n->svcs[i], out);
			continue;
		}
		prefix_format(&n->svcs[i].vip, vip, sizeof(vip));
		buf_printf(out, "  service %s: added (%s port %u, %zu backends)\n", n->svcs[i].name,
			   vip, n->svcs[i].port, n->svcs[i].n_backends);
		changes++;
	}
	for (size_t i = 0; i < o->n; i++) {
		if (find_service(n, o->svcs[i].name))
			continue;
		buf_printf(out, "  service %s: removed\n", o->svcs[i].name);
		changes++;
	}
	return changes;
}

/* The interfaces of a that b lacks, each " name" in list; how many. */
static size_t ifaces_missing(const struct sluice_model *a, const struct sluice_model *b,
			     struct buf *list)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n_ifaces; i++) {
		bool found = false;

		for (size_t k = 0; k < b->n_ifaces && !found; k++)
			found = !strcmp(b->ifaces[k].name, a->ifaces[i].name);
		if (!found) {
			buf_printf(list, " %s", a->ifaces[i].name);
			n++;
		}
	}
	return n;
}

static size_t diff_ifaces(const struct sluice_model *o, const struct sluice_model *n,
			  struct buf *out)
{
	struct buf added = {0}, removed = {0};
	size_t changes = ifaces_missing(n, o, &added) + ifaces_missing(o, n, &removed);

	if (changes)
		buf_printf(out,
			   "  interfaces:%s%s%s%s: WARNING: takes effect at the next restart (the "
			   "running daemon has dropped the privileges attaching needs); until then "
			   "XDP stays where it is\n",
			   added.s ? " added" : "", added.s ? added.s : "",
			   removed.s ? " removed" : "", removed.s ? removed.s : "");
	buf_free(&added);
	buf_free(&removed);
	return changes;
}

/* auto_block and syn_flood: said whole, old -> new (a handful of numbers) */
static size_t diff_syn_defences(const struct sluice_model *o, const struct sluice_model *n,
				struct buf *out)
{
	const struct auto_block_cfg *ao = &o->auto_block, *an = &n->auto_block;
	const struct syn_flood_cfg *fo = &o->syn_flood, *fn = &n->syn_flood;
	size_t changes = 0;

	if (ao->on != an->on || ao->threshold != an->threshold || ao->window_ms != an->window_ms ||
	    ao->ttl_ms != an->ttl_ms || ao->prefix4 != an->prefix4 || ao->prefix6 != an->prefix6 ||
	    ao->max != an->max) {
		if (!an->on)
			buf_printf(out, "  auto_block: off (auto blocks in force keep their TTL)\n");
		else
			buf_printf(out,
				   "  auto_block: threshold %u in %llu ms, ttl %llu s, /%u /%u, max %u "
				   "(new blocks; blocks in force keep theirs)\n",
				   an->threshold, (unsigned long long)an->window_ms,
				   (unsigned long long)(an->ttl_ms / 1000), an->prefix4, an->prefix6,
				   an->max);
		changes++;
	}
	if (fo->on != fn->on || fo->on_pps != fn->on_pps || fo->off_pps != fn->off_pps ||
	    fo->on_for_ms != fn->on_for_ms || fo->off_for_ms != fn->off_for_ms) {
		if (!fn->on)
			buf_printf(out, "  syn_flood: off (flood mode goes off)\n");
		else
			buf_printf(out,
				   "  syn_flood: on >= %llu SYN/s for %llu ms, off < %llu for %llu ms\n",
				   (unsigned long long)fn->on_pps, (unsigned long long)fn->on_for_ms,
				   (unsigned long long)fn->off_pps, (unsigned long long)fn->off_for_ms);
		changes++;
	}
	return changes;
}

/* A setting the daemon reads only when it starts: say that it changed, and
 * that it does nothing until then. */
static size_t diff_at_restart(const char *key, const char *o, const char *n, const char *note,
			      struct buf *out)
{
	if (!strcmp(o, n))
		return 0;
	buf_printf(out, "  %s '%s' -> '%s': WARNING: takes effect at the next restart%s\n", key, o,
		   n, note);
	return 1;
}

size_t model_diff(const struct sluice_model *o, const struct sluice_model *n, struct buf *out)
{
	size_t changes = 0;

	changes += diff_ifaces(o, n, out);
	changes += diff_list("blocklist", &o->block, &n->block, out);
	changes += diff_list("allowlist", &o->allow, &n->allow, out);
	changes += diff_services(&o->lb, &n->lb, out);
	if (o->n_identities != n->n_identities || o->n_pods != n->n_pods) {
		buf_printf(out, "  identities %zu -> %zu, pods %zu -> %zu\n", o->n_identities,
			   n->n_identities, o->n_pods, n->n_pods);
		changes++;
	}
	changes += diff_syn_defences(o, n, out);
	changes += diff_at_restart("stats.listen", o->stats_listen, n->stats_listen, "", out);
	changes += diff_at_restart("control.socket", o->control_socket, n->control_socket, "", out);
	changes += diff_at_restart("control.pin_dir", o->pin_dir, n->pin_dir,
				   " (the state stays where it is until then)", out);
	if (o->bgp.enabled != n->bgp.enabled || strcmp(o->bgp.include, n->bgp.include) ||
	    strcmp(o->bgp.socket, n->bgp.socket) || o->bgp.drain_ms != n->bgp.drain_ms) {
		buf_printf(out, "  bgp: WARNING: changes take effect at the next restart\n");
		changes++;
	}
	return changes;
}
