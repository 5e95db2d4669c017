// SPDX-License-Identifier: GPL-2.0
/* observe.c - the daemon's readers of the data path's counters, shared by
 * the metrics, `sluice status` and `sluice top` (observe.h). */
#include "observe.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

static int open_optional(const struct daemon *d, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, name);
	return bpf_obj_get(path);
}

void observe_open(struct daemon *d)
{
	int cg, ovf;

	d->fd_tc = open_optional(d, "tc_counters");
	d->fd_pod_stats = open_optional(d, "pod_stats");
	d->fd_ev_stats = open_optional(d, "event_stats");
	d->fd_ev_sampling = open_optional(d, "event_sampling");
	cg = open_optional(d, "cgroup_stats");
	ovf = open_optional(d, "cgroup_overflow");
	workloads_open(&d->wl, NULL, cg, ovf, &d->model);
	if (cg < 0)
		dlog("warning: no cgroup_stats map in %s: no per-workload counters", d->pin_dir);
	else if (!d->wl.root[0])
		dlog("warning: no cgroup2 mount found: workloads are shown by cgroup id");
	else
		dlog("workloads: %zu cgroups under %s%s", d->wl.n, d->wl.root,
		     d->wl.ino_fd < 0 ? " (no inotify: short-lived ones may go unnamed)" : "");
}

void observe_close(struct daemon *d)
{
	int fds[] = {d->fd_tc,		d->fd_pod_stats, d->fd_ev_stats,
		     d->fd_ev_sampling, d->wl.map_fd,	 d->wl.overflow_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	d->fd_tc = d->fd_pod_stats = d->fd_ev_stats = d->fd_ev_sampling = -1;
	workloads_close(&d->wl);
	d->wl.map_fd = d->wl.overflow_fd = -1;
}

int obs_percpu_sum(int fd, const void *key, size_t value_size, uint64_t *out, size_t nfields)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (value_size + 7) / 8 * 8;
	uint8_t *v;
	int rc = 0;

	memset(out, 0, nfields * sizeof(*out));
	if (fd < 0 || ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, stride);
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		rc = -errno;
	} else {
		for (int c = 0; c < ncpu; c++)
			for (size_t f = 0; f < nfields; f++) {
				uint64_t x;

				memcpy(&x, v + (size_t)c * stride + f * 8, 8);
				out[f] += x;
			}
	}
	free(v);
	return rc;
}

uint32_t obs_service_id(const struct daemon *d, const struct lb_service_cfg *s)
{
	struct sluice_svc_key k = {0};
	struct sluice_svc v;

	memcpy(k.addr, s->vip.addr, 16);
	k.port = htons(s->port);
	k.proto = s->proto;
	k.family = s->vip.family;
	if (bpf_map_lookup_elem(d->dp.svc_fd[d->dp.active], &k, &v))
		return 0;
	return v.id;
}

uint32_t obs_backend_id(const struct daemon *d, const struct lb_backend_cfg *b)
{
	const struct sluice_backend *be = d->dp.backends_mem + d->dp.active * SLUICE_MAX_BACKENDS;

	for (uint32_t id = 1; id < SLUICE_MAX_BACKENDS; id++)
		if (be[id].family == b->addr.family && !memcmp(be[id].addr, b->addr.addr, 16) &&
		    be[id].port == htons(b->port))
			return id;
	return 0;
}

void obs_list_source(const struct daemon *d, uint32_t id, char *buf, size_t len)
{
	if (id == SLUICE_LIST_RUNTIME) {
		snprintf(buf, len, "runtime (sluice block add)");
		return;
	}
	if (id == 0) {
		snprintf(buf, len, "sluice load");
		return;
	}
	for (size_t i = 0; i < d->model.n_list_sources; i++)
		if (d->model.list_sources[i].id == id) {
			snprintf(buf, len, "%s %s",
				 d->model.list_sources[i].allow ? "allow" : "block",
				 d->model.list_sources[i].what);
			return;
		}
	snprintf(buf, len, "?");
}

void obs_pod_name(const struct daemon *d, uint32_t id, char *buf, size_t len)
{
	char name[64] = "";

	if (id && id < SLUICE_MAX_PODS && bpf_map_lookup_elem(d->dp.pod_names_fd, &id, name) == 0)
		name[sizeof(name) - 1] = 0;
	snprintf(buf, len, "%s", name);
}

uint32_t obs_pod_id(const struct daemon *d, const char *name)
{
	for (uint32_t id = 1; id < SLUICE_MAX_PODS; id++) {
		char v[64];

		if (bpf_map_lookup_elem(d->dp.pod_names_fd, &id, v))
			return 0;
		if (!strncmp(v, name, sizeof(v)))
			return id;
	}
	return 0;
}

static int push_pod(struct obs_pod **v, size_t *n, size_t *cap, const char *name, uint32_t id)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct obs_pod *more = realloc(*v, nc * sizeof(*more));

		if (!more)
			return -ENOMEM;
		*v = more;
		*cap = nc;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
	(*v)[(*n)++].id = id;
	return 0;
}

static void fill_pod(const struct daemon *d, struct obs_pod *p)
{
	uint64_t f[6];

	if (!p->id ||
	    obs_percpu_sum(d->fd_pod_stats, &p->id, sizeof(struct sluice_pod_stats), f, 6))
		return;
	p->rx_packets = f[0];
	p->rx_bytes = f[1];
	p->tx_packets = f[2];
	p->tx_bytes = f[3];
	p->ingress_denied = f[4];
	p->egress_denied = f[5];
}

int obs_pods(const struct daemon *d, struct obs_pod **v, size_t *n)
{
	uint32_t key, prev = 0;
	size_t cap = 0;
	bool first = true;
	int rc = 0;

	*v = NULL;
	*n = 0;
	for (size_t i = 0; i < d->model.n_pods && !rc; i++)
		rc = push_pod(v, n, &cap, d->model.pods[i].name,
			      obs_pod_id(d, d->model.pods[i].name));
	/* counters of pods the config no longer has (ids are never reused
	 * for another name, so the old numbers stay meaningful) */
	while (!rc && d->fd_pod_stats >= 0 &&
	       bpf_map_get_next_key(d->fd_pod_stats, first ? NULL : &prev, &key) == 0) {
		bool known = false;
		char name[64];

		first = false;
		prev = key;
		for (size_t i = 0; i < *n && !known; i++)
			known = (*v)[i].id == key;
		if (known)
			continue;
		obs_pod_name(d, key, name, sizeof(name));
		if (!name[0])
			snprintf(name, sizeof(name), "pod-%u", key);
		rc = push_pod(v, n, &cap, name, key);
	}
	for (size_t i = 0; i < *n && !rc; i++)
		fill_pod(d, &(*v)[i]);
	if (rc) {
		free(*v);
		*v = NULL;
		*n = 0;
	}
	return rc;
}

void obs_label(const char *in, char *out, size_t len)
{
	size_t k = 0;

	if (!len)
		return;
	for (const char *p = in; *p && k + 3 < len; p++) {
		if (*p == '\\' || *p == '"') {
			out[k++] = '\\';
			out[k++] = *p;
		} else if (*p == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = *p;
		}
	}
	out[k] = 0;
}
