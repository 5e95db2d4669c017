// SPDX-License-Identifier: GPL-2.0
/* pods.c - identity tries, pod addresses and pod policies, written into the
 * inactive generation; pod ids kept stable by name. */
#include "pods.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_maps.h"

struct pod_name {
	char name[64];
};

unsigned pod_id_for(int fd, const char *name)
{
	unsigned free_id = 0;

	for (unsigned id = 1; id < SLUICE_MAX_PODS; id++) {
		struct pod_name v;

		if (bpf_map_lookup_elem(fd, &id, &v))
			return 0;
		if (!strncmp(v.name, name, sizeof(v.name)))
			return id;
		if (!v.name[0] && !free_id)
			free_id = id;
	}
	if (free_id) {
		struct pod_name v = {{0}};

		snprintf(v.name, sizeof(v.name), "%s", name);
		if (bpf_map_update_elem(fd, &free_id, &v, BPF_ANY))
			return 0;
	}
	return free_id;
}

/* Make an LPM trie of identities hold exactly the model's prefixes (small:
 * cleared and rewritten). */
static int write_ident_trie(int fd, int family, const struct sluice_model *m)
{
	struct sluice_lpm_v6_key key, next; /* big enough for either family */
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bpf_map_delete_elem(fd, &next);
		prev = NULL;
	}
	(void)key;
	for (size_t i = 0; i < m->n_identities; i++) {
		const struct identity_cfg *id = &m->identities[i];

		for (size_t k = 0; k < id->prefixes.n; k++) {
			const struct sluice_prefix *p = &id->prefixes.v[k];
			struct sluice_ident v = {.identity = id->id};
			struct sluice_lpm_v6_key kk = {.prefixlen = p->len};

			if (p->family != family)
				continue;
			memcpy(kk.addr, p->addr, family == 4 ? 4 : 16);
			if (bpf_map_update_elem(fd, &kk, &v, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

static void rule_of(const struct policy_rule_cfg *c, struct sluice_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->identity = c->identity;
	r->proto = c->proto;
	if (c->port_lo || c->port_hi != 65535) {
		r->port_lo = c->port_lo;
		r->port_hi = c->port_hi;
	}
	if (c->cidr.family) {
		r->family = c->cidr.family;
		r->plen = c->cidr.len;
		memcpy(r->addr, c->cidr.addr, 16);
	}
}

int pods_apply(const struct sluice_model *m, const struct pods_target *t, char *err, size_t errlen)
{
	struct sluice_addr_key key, next, *prev = NULL;
	unsigned *ids = calloc(m->n_pods + 1, sizeof(*ids));
	int rc = 0;

	if (!ids)
		return -ENOMEM;
	for (int f = 0; f < 2 && !rc; f++) {
		rc = write_ident_trie(t->ident_trie[f], f ? 6 : 4, m);
		if (rc)
			snprintf(err, errlen, "writing identities: %s", strerror(-rc));
	}
	/* SYN limits per identity: 0 = sources in no identity (syn_guard) */
	for (uint32_t id = 0; id < SLUICE_SYN_LIMITS && !rc && t->syn_limits >= 0; id++) {
		struct sluice_syn_limit v = {0};
		uint32_t k = t->gen * SLUICE_SYN_LIMITS + id;

		if (id == 0) {
			v.rate = m->syn_rate;
			v.burst = m->syn_burst;
		}
		for (size_t i = 0; i < m->n_identities; i++)
			if (m->identities[i].id == id) {
				v.rate = m->identities[i].syn_rate;
				v.burst = m->identities[i].syn_burst;
			}
		if (bpf_map_update_elem(t->syn_limits, &k, &v, BPF_ANY)) {
			rc = -errno;
			snprintf(err, errlen, "writing SYN limits: %s", strerror(errno));
		}
	}
	for (size_t i = 0; i < m->n_pods && !rc; i++) {
		const struct pod_cfg *p = &m->pods[i];

		ids[i] = pod_id_for(t->pod_names, p->name);
		if (!ids[i]) {
			snprintf(err, errlen, "no free pod id for %s", p->name);
			rc = -ENOSPC;
		} else if (p->n_ingress > SLUICE_MAX_RULES || p->n_egress > SLUICE_MAX_RULES) {
			snprintf(err, errlen, "pod %s: more than %d rules in one direction", p->name,
				 SLUICE_MAX_RULES);
			rc = -E2BIG;
		}
	}
	/* policies of every id in the shadow generation (unused ids zeroed) */
	for (unsigned id = 1; id < SLUICE_MAX_PODS && !rc; id++) {
		struct sluice_pod_policy pol;
		uint32_t idx = t->gen * SLUICE_MAX_PODS + id;
		const struct pod_cfg *p = NULL;

		memset(&pol, 0, sizeof(pol));
		for (size_t i = 0; i < m->n_pods && !p; i++)
			if (ids[i] == id)
				p = &m->pods[i];
		if (p) {
			pol.has_ingress = pol.has_egress = 1;
			pol.ingress_default_allow = p->ingress_default_allow;
			pol.egress_default_allow = p->egress_default_allow;
			pol.n_ingress = (uint8_t)p->n_ingress;
			pol.n_egress = (uint8_t)p->n_egress;
			for (size_t r = 0; r < p->n_ingress; r++)
				rule_of(&p->ingress[r], &pol.ingress[r]);
			for (size_t r = 0; r < p->n_egress; r++)
				rule_of(&p->egress[r], &pol.egress[r]);
		}
		if (bpf_map_update_elem(t->pod_policy, &idx, &pol, BPF_ANY)) {
			rc = -errno;
			snprintf(err, errlen, "writing pod policies: %s", strerror(errno));
		}
	}
	/* addresses: clear the shadow hash, then write */
	while (!rc && bpf_map_get_next_key(t->pod_addrs, prev, &next) == 0) {
		bpf_map_delete_elem(t->pod_addrs, &next);
		prev = NULL;
	}
	(void)key;
	for (size_t i = 0; i < m->n_pods && !rc; i++) {
		const struct pod_cfg *p = &m->pods[i];

		/* a hostNetwork workload has none: its traffic is found by the
		 * receiving socket's cgroup (hostwl_cgroups), never by address */
		for (size_t a = 0; a < p->addrs.n && !rc; a++) {
			struct sluice_addr_key k = {.family = p->addrs.v[a].family};
			uint32_t id = ids[i];

			memcpy(k.addr, p->addrs.v[a].addr, 16);
			if (bpf_map_update_elem(t->pod_addrs, &k, &id, BPF_ANY)) {
				rc = -errno;
				snprintf(err, errlen, "writing pod addresses: %s", strerror(errno));
			}
		}
	}
	free(ids);
	return rc;
}
