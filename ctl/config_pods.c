// SPDX-License-Identifier: GPL-2.0
/*
 * config_pods.c - `pods`: the workloads sluice guards, each with its own
 * addresses, where to find it (veth or cgroup), and an ingress and an egress
 * policy: a default (allow or deny) plus allow rules.  A pod without an
 * ingress or egress block gets no policy in that direction (allow all), as
 * a Kubernetes pod no NetworkPolicy selects.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "sluice_maps.h"

#define POD_NAME_MAX 63

static const char *const pod_keys[] = {"name",    "addresses", "veth",  "match", "cgroup",
				       "labels",  "ingress",   "egress", NULL};
static const char *const policy_keys[] = {"default", "allow", NULL};
static const char *const rule_keys[] = {"identity", "cidr", "protocol", "ports", "from_labels",
					NULL};
static const char *const match_names[] = {"veth", "address", NULL};
static const char *const default_names[] = {"deny", "allow", NULL};
static const char *const rule_proto_names[] = {"tcp", "udp", "icmp", "icmpv6", NULL};
static const uint8_t rule_proto_values[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6};

/* "N" or "LO-HI", each 0..65535. */
static bool parse_port(const char **p, uint16_t *out)
{
	unsigned long v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s) && v <= 65535; s++)
		v = v * 10 + (unsigned long)(*s - '0');
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	*p = s;
	return true;
}

static bool parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	if (!parse_port(&s, lo))
		return false;
	*hi = *lo;
	if (*s == '-') {
		s++;
		if (!parse_port(&s, hi))
			return false;
	}
	return !*s;
}

static void load_ports(struct cfg_ctx *c, const config_setting_t *g, const char *where,
		       struct policy_rule_cfg *r)
{
	const config_setting_t *s = config_setting_get_member(g, "ports");
	r->port_lo = 0;
	r->port_hi = 65535;
	if (!s)
		return;
	/* ports = 443 reads naturally too. */
	if (s->type == CONFIG_TYPE_INT || s->type == CONFIG_TYPE_INT64) {
		long long v;

		if (cfg_int(c, g, "ports", false, 0, 65535, &v) > 0)
			r->port_lo = r->port_hi = (uint16_t)v;
	} else if (s->type != CONFIG_TYPE_STRING) {
		cfg_err(c, s,
			"%s.ports must be a port or a range as a string (\"80\", \"8000-8080\")",
			where);
		return;
	} else {
		const char *v = config_setting_get_string(s);

		if (!parse_ports(v, &r->port_lo, &r->port_hi)) {
			cfg_err(c, s,
				"%s.ports '%s' is not a port or port range (N or LO-HI, each "
				"0..65535)",
				where, v);
			return;
		}
		if (r->port_lo > r->port_hi) {
			cfg_err(c, s, "%s.ports '%s' is an empty range: %u > %u", where, v,
				r->port_lo, r->port_hi);
			return;
		}
	}
	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		cfg_err(c, s,
			"%s.ports needs protocol \"tcp\" or \"udp\": other protocols have "
			"no ports",
			where);
}

/* labels = { app = "web"; tier = "front"; }: string values, 0..63 of
 * letters, digits, '.', '_' and '-' (Kubernetes label values); the keys
 * are libconfig names.  Also reads a rule's from_labels selector. */
static size_t load_labels(struct cfg_ctx *c, const config_setting_t *g, const char *key,
			  struct pod_label *out)
{
	const config_setting_t *l = config_setting_get_member(g, key);
	char where[CFG_PATH_MAX];
	int n;

	if (!l)
		return 0;
	cfg_path(l, where, sizeof(where));
	if (!config_setting_is_group(l)) {
		cfg_err(c, l, "%s must be a group of labels: %s = { app = \"web\"; }", where, key);
		return 0;
	}
	n = config_setting_length(l);
	if (n > POD_LABELS_MAX) {
		cfg_err(c, l, "%s has %d labels: at most %d", where, n, POD_LABELS_MAX);
		n = POD_LABELS_MAX;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *name = config_setting_name(e), *v;
		bool ok = true;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_err(c, e, "%s.%s must be a string (\"web\")", where, name);
			continue;
		}
		v = config_setting_get_string(e);
		if (strlen(name) >= POD_LABEL_LEN || strlen(v) >= POD_LABEL_LEN)
			ok = false;
		for (const char *p = v; *p && ok; p++)
			ok = isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-';
		if (!ok) {
			cfg_err(c, e,
				"%s.%s '%s' must be 0..%d letters, digits, '.', '_' or '-'", where,
				name, v, POD_LABEL_LEN - 1);
			continue;
		}
		snprintf(out[i].key, sizeof(out[i].key), "%s", name);
		snprintf(out[i].value, sizeof(out[i].value), "%s", v);
	}
	return (size_t)n;
}

static void load_rule(struct cfg_ctx *c, const config_setting_t *g, struct policy_rule_cfg *r)
{
	const struct sluice_model *m = c->m;
	char where[CFG_PATH_MAX];
	const char *name;
	int idx;

	cfg_path(g, where, sizeof(where));
	r->line = (int)config_setting_source_line(g);
	cfg_known_keys(c, g, rule_keys);
	if (cfg_string(c, g, "identity", false, 0, &name) > 0) {
		for (size_t i = 0; i < m->n_identities && !r->identity; i++)
			if (!strcmp(m->identities[i].name, name))
				r->identity = m->identities[i].id;
		if (!r->identity) {
			char known[512] = "";

			for (size_t i = 0; i < m->n_identities; i++) {
				size_t used = strlen(known);

				if (m->identities[i].name[0]) /* "" when its name was bad */
					snprintf(known + used, sizeof(known) - used, "%s%s",
						 used ? ", " : "", m->identities[i].name);
			}
			cfg_err(c, config_setting_get_member(g, "identity"),
				"%s.identity '%s' is not a configured identity (configured: %s)",
				where, name, known[0] ? known : "none");
		}
	}
	cfg_prefix(c, g, "cidr", false, false, &r->cidr);
	if (cfg_enum(c, g, "protocol", false, rule_proto_names, &idx) > 0)
		r->proto = rule_proto_values[idx];
	load_ports(c, g, where, r);
	if (config_setting_get_member(g, "from_labels")) {
		const config_setting_t *fl = config_setting_get_member(g, "from_labels");

		r->n_from_labels = load_labels(c, g, "from_labels", r->from_labels);
		if (config_setting_is_group(fl) && config_setting_length(fl) == 0)
			cfg_err(c, fl,
				"%s.from_labels is empty: it would select every pod; name at least "
				"one label",
				where);
		if (r->cidr.family)
			cfg_err(c, fl,
				"%s: from_labels and cidr cannot be combined (both name the peer's "
				"address); write two rules",
				where);
	}
}

/* ingress or egress: absent = allow all, no rules. */
static void load_policy(struct cfg_ctx *c, const config_setting_t *pod, const char *key,
			bool *default_allow, struct policy_rule_cfg **rules, size_t *n_rules)
{
	const config_setting_t *g = config_setting_get_member(pod, key), *l;
	int idx, n;

	*default_allow = true;
	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, policy_keys);
	/* No implicit default: which way a policy fails must be written down. */
	if (cfg_enum(c, g, "default", true, default_names, &idx) > 0)
		*default_allow = idx == 1;
	l = cfg_group_list(c, g, "allow", false);
	if (!l)
		return;
	n = config_setting_length(l);
	*rules = calloc(n ? (size_t)n : 1, sizeof(**rules));
	if (!*rules) {
		cfg_err(c, l, "out of memory");
		return;
	}
	*n_rules = (size_t)n;
	if (n > SLUICE_MAX_RULES)
		cfg_err(c, l, "%s.allow has %d rules: the data path takes at most %d per direction",
			key, n, SLUICE_MAX_RULES);
	for (int i = 0; i < n; i++) {
		const config_setting_t *r = config_setting_get_elem(l, (unsigned)i);

		load_rule(c, r, &(*rules)[i]);
		/* egress rules name destinations; identities are classes of
		 * sources, known only for traffic arriving through the uplink */
		if (!strcmp(key, "egress") && config_setting_get_member(r, "identity"))
			cfg_err(c, config_setting_get_member(r, "identity"),
				"egress rules cannot match an identity (identities classify "
				"sources); use cidr");
	}
}

static void load_pod(struct cfg_ctx *c, const config_setting_t *g, size_t i)
{
	struct pod_cfg *pod = &c->m->pods[i];
	const config_setting_t *l;
	char where[CFG_PATH_MAX];
	const char *v;

	cfg_path(g, where, sizeof(where));
	pod->line = (int)config_setting_source_line(g);
	cfg_known_keys(c, g, pod_keys);
	if (cfg_string(c, g, "name", true, POD_NAME_MAX, &v) > 0 &&
	    cfg_name_ok(c, config_setting_get_member(g, "name"), v, POD_NAME_MAX, true)) {
		for (size_t k = 0; k < i; k++)
			if (!strcmp(c->m->pods[k].name, v))
				cfg_err(c, config_setting_get_member(g, "name"),
					"%s: pod name '%s' is already used (line %d)", where, v,
					c->m->pods[k].line);
		snprintf(pod->name, sizeof(pod->name), "%s", v);
	}
	/* cgroup first: a hostNetwork workload (cgroup, no veth) has no
	 * addresses of its own */
	if (cfg_string(c, g, "cgroup", false, sizeof(pod->cgroup) - 1, &v) > 0) {
		if (v[0] && v[0] != '/' && v[0] != '*')
			cfg_err(c, config_setting_get_member(g, "cgroup"),
				"%s.cgroup '%s' must be an absolute cgroup path (\"/...\"), a pattern "
				"(\"*/docker-*.scope\") or \"\"",
				where, v);
		else
			snprintf(pod->cgroup, sizeof(pod->cgroup), "%s", v);
	}
	{
		const config_setting_t *vs = config_setting_get_member(g, "veth");

		pod->host_network = pod->cgroup[0] &&
				    (!vs || (config_setting_type(vs) == CONFIG_TYPE_STRING &&
					     !config_setting_get_string(vs)[0]));
	}
	if (pod->host_network) {
		if (config_setting_get_member(g, "addresses"))
			cfg_err(c, config_setting_get_member(g, "addresses"),
				"%s: a hostNetwork workload (cgroup, no veth) shares the node's "
				"addresses and is told apart by its sockets: drop addresses",
				where);
		if (config_setting_get_member(g, "match"))
			cfg_err(c, config_setting_get_member(g, "match"),
				"%s: a hostNetwork workload (cgroup, no veth) is found by its "
				"sockets' cgroup: drop match",
				where);
	}
	l = pod->host_network ? NULL : cfg_string_list(c, g, "addresses", true);
	if (l && config_setting_length(l) == 0)
		cfg_err(c, l, "%s.addresses is empty: a pod needs at least one address", where);
	for (int k = 0; l && k < config_setting_length(l); k++) {
		struct sluice_prefix p;

		if (cfg_prefix_elem(c, l, k, true, &p))
			continue;
		if (prefix_list_push(&pod->addrs, &p)) {
			cfg_err(c, l, "out of memory");
			break;
		}
	}
	if (cfg_string(c, g, "veth", false, IF_NAMESIZE - 1, &v) > 0 &&
	    (!v[0] || cfg_ifname_ok(c, config_setting_get_member(g, "veth"), v)))
		snprintf(pod->veth, sizeof(pod->veth), "%s", v);
	{
		int idx = -1;

		if (cfg_enum(c, g, "match", false, match_names, &idx) > 0 && idx == 0 &&
		    !pod->veth[0])
			cfg_err(c, config_setting_get_member(g, "match"),
				"%s: match = \"veth\" needs a veth name or pattern", where);
		if (idx == 1 && pod->veth[0])
			cfg_err(c, config_setting_get_member(g, "veth"),
				"%s: match = \"address\" finds the veth from the route to the "
				"pod's address: drop veth",
				where);
		/* no veth pattern: found by address (a hostNetwork pod has no veth) */
		pod->match_address = idx == 1 || (idx != 0 && !pod->veth[0]);
	}
	pod->n_labels = load_labels(c, g, "labels", pod->labels);
	if (pod->host_network) /* no veth to find */
		pod->match_address = false;
	load_policy(c, g, "ingress", &pod->ingress_default_allow, &pod->ingress, &pod->n_ingress);
	load_policy(c, g, "egress", &pod->egress_default_allow, &pod->egress, &pod->n_egress);
}

/* An address or a veth belongs to one pod, or traffic could not be told
 * apart. */
static void check_pods(struct cfg_ctx *c, const config_setting_t *l)
{
	const struct sluice_model *m = c->m;

	for (size_t i = 0; i < m->n_pods; i++) {
		const struct pod_cfg *pod = &m->pods[i];
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		char where[CFG_PATH_MAX], buf[64];

		cfg_path(g, where, sizeof(where));
		for (size_t k = 0; k < i; k++) {
			const struct pod_cfg *o = &m->pods[k];

			if (pod->veth[0] && !strcmp(pod->veth, o->veth))
				cfg_err(c, config_setting_get_member(g, "veth"),
					"%s: veth '%s' already belongs to pod '%s' (line %d)",
					where, pod->veth, o->name, o->line);
			for (size_t a = 0; a < pod->addrs.n; a++)
				for (size_t b = 0; b < o->addrs.n; b++) {
					if (!prefix_same(&pod->addrs.v[a], &o->addrs.v[b]))
						continue;
					prefix_format(&pod->addrs.v[a], buf, sizeof(buf));
					cfg_err(
					    c, config_setting_get_member(g, "addresses"),
					    "%s: address %s already belongs to pod '%s' (line %d)",
					    where, buf, o->name, o->line);
				}
		}
	}
}

static bool pod_selected(const struct pod_cfg *p, const struct policy_rule_cfg *r)
{
	for (size_t i = 0; i < r->n_from_labels; i++) {
		bool found = false;

		for (size_t k = 0; k < p->n_labels && !found; k++)
			found = !strcmp(p->labels[k].key, r->from_labels[i].key) &&
				!strcmp(p->labels[k].value, r->from_labels[i].value);
		if (!found)
			return false;
	}
	return true;
}

/* Replace each from_labels rule of one direction by one cidr rule per
 * address of every pod it selects (the pod itself included), so the data
 * path only ever sees addresses.  A selector that matches no pod leaves no
 * rule: it allows nothing (never "any peer"). */
static void resolve_selectors(struct cfg_ctx *c, const config_setting_t *pod_g, const char *key,
			      struct policy_rule_cfg **rules, size_t *n_rules)
{
	const struct sluice_model *m = c->m;
	struct policy_rule_cfg *out;
	size_t n = 0, cap = 0;
	bool any = false;

	for (size_t r = 0; r < *n_rules; r++) {
		if (!(*rules)[r].n_from_labels) {
			cap++;
			continue;
		}
		any = true;
		for (size_t p = 0; p < m->n_pods; p++)
			if (pod_selected(&m->pods[p], &(*rules)[r]))
				cap += m->pods[p].addrs.n;
	}
	if (!any)
		return;
	out = calloc(cap ? cap : 1, sizeof(*out));
	if (!out) {
		cfg_err(c, pod_g, "out of memory");
		return;
	}
	for (size_t r = 0; r < *n_rules; r++) {
		const struct policy_rule_cfg *in = &(*rules)[r];

		if (!in->n_from_labels) {
			out[n++] = *in;
			continue;
		}
		for (size_t p = 0; p < m->n_pods; p++) {
			if (!pod_selected(&m->pods[p], in))
				continue;
			for (size_t a = 0; a < m->pods[p].addrs.n; a++) {
				out[n] = *in;
				out[n].cidr = m->pods[p].addrs.v[a];
				n++;
			}
		}
	}
	if (n > SLUICE_MAX_RULES && *n_rules <= SLUICE_MAX_RULES) {
		const config_setting_t *g = config_setting_get_member(pod_g, key);
		const config_setting_t *l = g ? config_setting_get_member(g, "allow") : NULL;
		char where[CFG_PATH_MAX];

		cfg_path(pod_g, where, sizeof(where));
		cfg_err(c, l ? l : pod_g,
			"%s.%s.allow: with from_labels resolved to one rule per selected pod "
			"address it has %zu rules; the data path takes at most %d per direction",
			where, key, n, SLUICE_MAX_RULES);
	}
	free(*rules);
	*rules = out;
	*n_rules = n;
}

void cfg_pods(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l = cfg_group_list(c, root, "pods", false);
	int n;

	if (!l)
		return;
	n = config_setting_length(l);
	c->m->pods = calloc(n ? (size_t)n : 1, sizeof(*c->m->pods));
	if (!c->m->pods) {
		cfg_err(c, l, "out of memory");
		return;
	}
	c->m->n_pods = (size_t)n;
	for (int i = 0; i < n; i++)
		load_pod(c, config_setting_get_elem(l, (unsigned)i), (size_t)i);
	check_pods(c, l);
	/* selectors last: they name the labels and addresses of any pod */
	for (int i = 0; i < n; i++) {
		struct pod_cfg *p = &c->m->pods[i];
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);

		resolve_selectors(c, g, "ingress", &p->ingress, &p->n_ingress);
		resolve_selectors(c, g, "egress", &p->egress, &p->n_egress);
	}
}
