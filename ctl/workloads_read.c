// SPDX-License-Identifier: GPL-2.0
/*
 * workloads_read.c - one report of the per-cgroup counters: entries named,
 * summed by workload name, and the entries of cgroups that are gone taken
 * out of the map once they have been reported (so a container that lived
 * two seconds is in exactly one report after it went away, and the table
 * does not fill up with the dead).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "sluice_maps.h"
#include "workloads.h"

/* A gone cgroup's name is kept this long: a TCP socket can still send
 * (FIN, retransmits) after its cgroup was removed, and its packets should
 * keep the name. */
#define WL_GONE_KEEP_NS (600ull * 1000000000ull)

static void sum(const struct sluice_counter *pc, int ncpu, uint64_t *packets, uint64_t *bytes)
{
	*packets = *bytes = 0;
	for (int c = 0; c < ncpu; c++) {
		*packets += pc[c].packets;
		*bytes += pc[c].bytes;
	}
}

static int add_row(struct wl_row **rows, size_t *n, size_t *cap, const char *name, uint64_t packets,
		   uint64_t bytes, bool gone)
{
	struct wl_row *r = NULL;

	for (size_t i = 0; i < *n && !r; i++)
		if (!strcmp((*rows)[i].name, name))
			r = &(*rows)[i];
	if (!r) {
		if (*n == *cap) {
			size_t nc = *cap ? 2 * *cap : 32;
			struct wl_row *more = realloc(*rows, nc * sizeof(*more));

			if (!more)
				return -ENOMEM;
			*rows = more;
			*cap = nc;
		}
		r = &(*rows)[(*n)++];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->gone = true;
	}
	r->packets += packets;
	r->bytes += bytes;
	r->cgroups++;
	r->gone = r->gone && gone;
	return 0;
}

static int by_bytes(const void *a, const void *b)
{
	const struct wl_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Forget gone cgroups whose grace time is over. */
static void prune(struct workloads *w, uint64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].gone_ns && now - w->v[i].gone_ns > WL_GONE_KEEP_NS) {
			free(w->v[i].rel);
			continue;
		}
		w->v[k++] = w->v[i];
	}
	w->n = k;
}

/* Every key of the map, collected before anything is deleted from it. */
static int keys_of(int fd, uint64_t **keys, size_t *n)
{
	size_t cap = 64;
	uint64_t *k = malloc(cap * sizeof(*k)), prev = 0;

	*n = 0;
	if (!k)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, *n ? &prev : NULL, &k[*n]) == 0) {
		prev = k[(*n)++];
		if (*n == cap) {
			uint64_t *more = realloc(k, 2 * cap * sizeof(*k));

			if (!more)
				break;
			k = more;
			cap *= 2;
		}
	}
	*keys = k;
	return 0;
}

int workloads_read(struct workloads *w, struct wl_row **rows, size_t *n, uint64_t *ovf_packets,
		   uint64_t *ovf_bytes)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter *pc;
	uint64_t *keys = NULL, now = mono_ns();
	size_t nk = 0, cap = 0;
	bool walked = false;
	uint32_t zero = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	*ovf_packets = *ovf_bytes = 0;
	if (ncpu <= 0)
		return -EINVAL;
	pc = calloc((size_t)ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	if (w->overflow_fd >= 0 && bpf_map_lookup_elem(w->overflow_fd, &zero, pc) == 0)
		sum(pc, ncpu, ovf_packets, ovf_bytes);
	rc = keys_of(w->map_fd, &keys, &nk);
	for (size_t i = 0; i < nk && !rc; i++) {
		struct wl_cgroup *c = keys[i] ? wl_find(w, keys[i]) : NULL;
		char name[WL_NAME_MAX];
		uint64_t packets, bytes;
		bool gone = false;

		if (keys[i] && !c && !walked && w->root[0]) {
			workloads_walk(w); /* made after the last walk, unseen by inotify */
			walked = true;
			c = wl_find(w, keys[i]);
		}
		if (!keys[i])
			snprintf(name, sizeof(name), WL_NO_SOCKET);
		else if (c)
			snprintf(name, sizeof(name), "%s", c->name);
		else
			snprintf(name, sizeof(name), "cgroup-%llu", (unsigned long long)keys[i]);
		if (keys[i] && w->root[0] && (!c || !wl_alive(w, c))) {
			gone = true;
			if (c && !c->gone_ns)
				c->gone_ns = now;
		}
		/* a gone cgroup's last packets and its deletion in one step */
		if (gone && bpf_map_lookup_and_delete_elem(w->map_fd, &keys[i], pc) == 0) {
			sum(pc, ncpu, &packets, &bytes);
		} else if (bpf_map_lookup_elem(w->map_fd, &keys[i], pc) == 0) {
			sum(pc, ncpu, &packets, &bytes);
			if (gone)
				bpf_map_delete_elem(w->map_fd, &keys[i]);
		} else {
			continue; /* deleted meanwhile */
		}
		rc = add_row(rows, n, &cap, name, packets, bytes, gone);
	}
	free(keys);
	free(pc);
	prune(w, now);
	if (rc) {
		free(*rows);
		*rows = NULL;
		*n = 0;
		return rc;
	}
	if (*n)
		qsort(*rows, *n, sizeof(**rows), by_bytes);
	return 0;
}
