// SPDX-License-Identifier: GPL-2.0
/* hostwl.c - hostNetwork workloads: cgroup patterns -> hostwl_cgroups. */
#include "hostwl.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pods.h"
#include "sluice_maps.h"
#include "workloads.h"

bool hostwl_cgroup_matches(const char *pattern, const char *rel)
{
	size_t plen = strlen(pattern), rlen = strlen(rel);
	bool glob = strpbrk(pattern, "*?[") != NULL;
	char p[256], r[PATH_MAX];

	while (plen > 1 && pattern[plen - 1] == '/')
		plen--;
	if (!plen || plen >= sizeof(p) || rlen >= sizeof(r))
		return false;
	memcpy(p, pattern, plen);
	p[plen] = 0;
	if (!glob)
		return !strncmp(rel, p, plen) &&
		       (rel[plen] == 0 || rel[plen] == '/' || !strcmp(p, "/"));
	/* rel, then each ancestor of it, as a whole path */
	memcpy(r, rel, rlen + 1);
	for (;;) {
		char *slash;

		if (!fnmatch(p, r, 0))
			return true;
		slash = strrchr(r, '/');
		if (!slash || slash == r)
			return false;
		*slash = 0;
	}
}

/* The hostNetwork workload whose cgroup setting claims rel; NULL if none.
 * (A pod with a veth and a cgroup lives in its own network namespace: the
 * uplink never finds its sockets; its cgroup only names its counters.) */
static const struct pod_cfg *pod_of(const struct sluice_model *m, const char *rel)
{
	for (size_t i = 0; m && i < m->n_pods; i++)
		if (m->pods[i].host_network && hostwl_cgroup_matches(m->pods[i].cgroup, rel))
			return &m->pods[i];
	return NULL;
}

int hostwl_sync(int fd, int pod_names_fd, const struct workloads *w, const struct sluice_model *m)
{
	uint64_t key, next, *prev = NULL;
	int n = 0;

	if (fd < 0)
		return -EBADF;
	/* drop what no longer matches (or is gone), then write what does */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		const struct wl_cgroup *c = NULL;

		for (size_t i = 0; i < w->n && !c; i++)
			if (w->v[i].id == next && !w->v[i].gone_ns)
				c = &w->v[i];
		if (!c || !pod_of(m, c->rel)) {
			bpf_map_delete_elem(fd, &next);
			prev = NULL; /* restart: deleting breaks the walk */
			continue;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct pod_cfg *p;
		uint32_t id, have;

		if (w->v[i].gone_ns || !(p = pod_of(m, w->v[i].rel)))
			continue;
		id = pod_id_for(pod_names_fd, p->name);
		if (!id)
			continue;
		if (bpf_map_lookup_elem(fd, &w->v[i].id, &have) || have != id) {
			if (bpf_map_update_elem(fd, &w->v[i].id, &id, BPF_ANY))
				return -errno;
		}
		n++;
	}
	return n;
}
