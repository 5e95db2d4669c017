// SPDX-License-Identifier: GPL-2.0
/* pod_info.c - `sluice pods` and the sluice_pod_info metric. */
#include "pod_info.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "observe.h"
#include "prefix.h"

static const char *match_of(const struct pod_cfg *p)
{
	if (p->cgroup[0])
		return "cgroup";
	return p->match_address ? "address" : "veth";
}

/* The veths that serve pod id now (the watcher's, as pod_ifindex maps
 * them), comma-separated; "" when none. */
static void veths_of(const struct daemon *d, uint32_t id, bool json, char *out, size_t len)
{
	size_t used = 0;

	out[0] = 0;
	for (unsigned i = 0; id && d->pw.nl_fd >= 0 && i < d->pw.n_attached; i++) {
		uint32_t k = (uint32_t)d->pw.attached[i], have;
		char name[IF_NAMESIZE];

		if (bpf_map_lookup_elem(d->dp.pod_ifindex_fd, &k, &have) || have != id)
			continue;
		if (!if_indextoname(k, name))
			snprintf(name, sizeof(name), "if%u", k);
		used += (size_t)snprintf(out + used, used < len ? len - used : 0,
					 json ? "%s\"%s\"" : "%s%s", used ? "," : "", name);
	}
}

static void addrs_of(const struct pod_cfg *p, bool json, char *out, size_t len)
{
	size_t used = 0;

	out[0] = 0;
	for (size_t a = 0; a < p->addrs.n; a++) {
		struct sluice_prefix host = p->addrs.v[a];
		char s[64];

		prefix_format(&host, s, sizeof(s));
		/* host prefixes: the address is enough */
		if (strchr(s, '/'))
			*strchr(s, '/') = 0;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0,
					 json ? "%s\"%s\"" : "%s%s", used ? "," : "", s);
	}
}

/* Label keys and values are validated to [A-Za-z0-9._-] (values) and
 * libconfig names (keys): nothing to escape in JSON or text. */
static void labels_of(const struct pod_cfg *p, bool json, char *out, size_t len)
{
	size_t used = 0;

	out[0] = 0;
	for (size_t l = 0; l < p->n_labels; l++)
		used += (size_t)snprintf(out + used, used < len ? len - used : 0,
					 json ? "%s\"%s\":\"%s\"" : "%s%s=%s", used ? "," : "",
					 p->labels[l].key, p->labels[l].value);
}

int req_pods(struct daemon *d, int argc, char **argv, struct buf *out)
{
	bool json = argc == 1 && !strcmp(argv[0], "--json");
	struct obs_pod *st = NULL;
	size_t n_st = 0;

	if (argc > 1 || (argc == 1 && !json)) {
		buf_printf(out, "usage: sluice pods [--json]\n");
		return -EINVAL;
	}
	if (obs_pods(d, &st, &n_st))
		n_st = 0;
	if (json)
		buf_printf(out, "{\"pods\":[");
	for (size_t i = 0; i < d->model.n_pods; i++) {
		const struct pod_cfg *p = &d->model.pods[i];
		const struct obs_pod *c = NULL;
		char veths[512], addrs[1024], labels[2 * POD_LABELS_MAX * (POD_LABEL_LEN + 4)];
		uint32_t id = 0;

		for (size_t k = 0; k < n_st && !c; k++)
			if (!strcmp(st[k].name, p->name))
				c = &st[k];
		id = c ? c->id : 0;
		veths_of(d, id, json, veths, sizeof(veths));
		addrs_of(p, json, addrs, sizeof(addrs));
		labels_of(p, json, labels, sizeof(labels));
		if (json) {
			buf_printf(
			    out,
			    "%s{\"name\":\"%s\",\"id\":%u,\"match\":\"%s\",\"veth_pattern\":"
			    "\"%s\",\"veths\":[%s],\"addresses\":[%s],\"labels\":{%s},"
			    "\"rx_packets\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,"
			    "\"tx_bytes\":%llu,\"ingress_denied\":%llu,\"egress_denied\":%llu}",
			    i ? "," : "", p->name, id, match_of(p), p->veth, veths, addrs, labels,
			    c ? (unsigned long long)c->rx_packets : 0,
			    c ? (unsigned long long)c->rx_bytes : 0,
			    c ? (unsigned long long)c->tx_packets : 0,
			    c ? (unsigned long long)c->tx_bytes : 0,
			    c ? (unsigned long long)c->ingress_denied : 0,
			    c ? (unsigned long long)c->egress_denied : 0);
		} else {
			buf_printf(out,
				   "%-16s id %-4u match %-7s veth %-12s addresses %s  labels %s\n",
				   p->name, id, match_of(p), veths[0] ? veths : "-", addrs,
				   labels[0] ? labels : "-");
		}
	}
	if (json)
		buf_printf(out, "]}\n");
	else if (!d->model.n_pods)
		buf_printf(out, "no pods configured\n");
	free(st);
	return 0;
}

/* A Prometheus label name from a pod label key: label_ + the key with
 * anything but [A-Za-z0-9_] as '_' (libconfig names may hold '-', '*'). */
static void prom_key(const char *key, char *out, size_t len)
{
	size_t i = (size_t)snprintf(out, len, "label_");

	for (; *key && i + 1 < len; key++, i++) {
		char ch = *key;

		out[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				 (ch >= '0' && ch <= '9') || ch == '_'
			     ? ch
			     : '_';
	}
	out[i < len ? i : len - 1] = 0;
}

void pods_render_info(const struct daemon *d, struct buf *o)
{
	if (!d->model.n_pods)
		return;
	prom_help(o, "sluice_pod_info", "gauge",
		  "Configured pods: how each is found, and its labels (label_KEY) to join with "
		  "the per-pod counters on pod.");
	for (size_t i = 0; i < d->model.n_pods; i++) {
		const struct pod_cfg *p = &d->model.pods[i];

		buf_printf(o, "sluice_pod_info{pod=\"%s\",match=\"%s\"", p->name, match_of(p));
		for (size_t l = 0; l < p->n_labels; l++) {
			char k[POD_LABEL_LEN + 8];

			prom_key(p->labels[l].key, k, sizeof(k));
			buf_printf(o, ",%s=\"%s\"", k, p->labels[l].value);
		}
		buf_printf(o, "} 1\n");
	}
}
