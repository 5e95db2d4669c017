// SPDX-License-Identifier: GPL-2.0
/* services.c - write services, backends, Maglev tables and reverse-NAT entries. */
#include "services.h"

#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "sluice_maps.h"

uint32_t lb_backend_table_weight(const struct lb_backend_cfg *b)
{
	return b->state == SLUICE_BE_ACTIVE ? b->weight : 0;
}

static void backend_key(const struct lb_backend_cfg *b, uint8_t key[18])
{
	memcpy(key, b->addr.addr, 16);
	key[16] = (uint8_t)(b->port >> 8);
	key[17] = (uint8_t)b->port;
}

int lb_service_table(const struct lb_service_cfg *s, const uint32_t *backend_ids, uint32_t *table)
{
	struct maglev_backend *mb = calloc(s->n_backends ? s->n_backends : 1, sizeof(*mb));
	int rc;

	if (!mb)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_backends; i++) {
		mb[i].id = backend_ids[i];
		mb[i].weight = lb_backend_table_weight(&s->backends[i]);
		backend_key(&s->backends[i], mb[i].key);
	}
	rc = maglev_build(mb, s->n_backends, table, SLUICE_RING_SIZE);
	free(mb);
	return rc;
}

static void svc_key(const struct lb_service_cfg *s, struct sluice_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, s->vip.addr, 16);
	k->port = htons(s->port);
	k->proto = s->proto;
	k->family = s->vip.family;
}

static bool backend_matches(const struct sluice_backend *v, const struct lb_backend_cfg *b)
{
	return v->family == b->addr.family && !memcmp(v->addr, b->addr.addr, 16) &&
	       v->port == htons(b->port);
}

/* The whole backends array, read in one batch (one syscall per entry would
 * cost tens of milliseconds per apply). */
static int read_backends(int fd, struct sluice_backend *cur)
{
	uint32_t *keys = calloc(SLUICE_MAX_BACKENDS, sizeof(*keys));
	uint32_t count = SLUICE_MAX_BACKENDS, out_batch;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int rc = 0;

	if (!keys)
		return -ENOMEM;
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, cur, &count, &opts) &&
	    errno != ENOENT) {
		for (uint32_t id = 0; id < SLUICE_MAX_BACKENDS && !rc; id++)
			if (bpf_map_lookup_elem(fd, &id, &cur[id]))
				rc = -errno;
	}
	free(keys);
	return rc;
}

/* Find or allocate the id of backend b; ids index the backends array, an
 * all-zero family marks a free id. */
static int backend_id(const struct sluice_backend *cur, const struct lb_backend_cfg *b,
		      uint8_t *taken, uint32_t *out)
{
	uint32_t free_id = 0;

	for (uint32_t id = 1; id < SLUICE_MAX_BACKENDS; id++) {
		const struct sluice_backend *v = &cur[id];

		if (v->family && backend_matches(v, b)) {
			*out = id;
			taken[id] = 1;
			return 0;
		}
		if (!v->family && !taken[id] && !free_id)
			free_id = id;
	}
	if (!free_id)
		return -ENOSPC;
	taken[free_id] = 1;
	*out = free_id;
	return 0;
}

static int write_ring(int fd, uint32_t svc_id, const uint32_t *table)
{
	uint32_t keys[SLUICE_RING_SIZE];
	uint32_t count = SLUICE_RING_SIZE;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (uint32_t i = 0; i < SLUICE_RING_SIZE; i++)
		keys[i] = svc_id * SLUICE_RING_SIZE + i;
	if (bpf_map_update_batch(fd, keys, table, &count, &opts) == 0)
		return 0;
	/* older kernels: one by one */
	for (uint32_t i = 0; i < SLUICE_RING_SIZE; i++)
		if (bpf_map_update_elem(fd, &keys[i], &table[i], BPF_ANY))
			return -errno;
	return 0;
}

int lb_apply(const struct lb_model *m, const struct lb_fds *fds, struct lb_apply_stats *st)
{
	uint8_t *be_taken = calloc(SLUICE_MAX_BACKENDS, 1);
	uint8_t *svc_taken = calloc(SLUICE_MAX_SERVICES, 1);
	uint8_t *be_used = calloc(SLUICE_MAX_BACKENDS, 1);
	uint32_t *svc_ids = calloc(m->n ? m->n : 1, sizeof(uint32_t));
	uint32_t *table = calloc(SLUICE_RING_SIZE, sizeof(uint32_t));
	struct sluice_backend *cur = calloc(SLUICE_MAX_BACKENDS, sizeof(*cur));
	struct sluice_svc_key key, next, *prev = NULL;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!be_taken || !svc_taken || !be_used || !svc_ids || !table || !cur) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_backends(fds->backends, cur);
	if (rc)
		goto out;
	/* Existing services keep their ids. */
	for (size_t i = 0; i < m->n; i++) {
		struct sluice_svc v;

		svc_key(&m->svcs[i], &key);
		if (bpf_map_lookup_elem(fds->services, &key, &v) == 0 && v.id &&
		    v.id < SLUICE_MAX_SERVICES && !svc_taken[v.id]) {
			svc_ids[i] = v.id;
			svc_taken[v.id] = 1;
		}
	}
	/* Ids of services about to disappear stay taken until they are gone,
	 * so a new service never reuses a live id's table mid-update. */
	while (bpf_map_get_next_key(fds->services, prev, &next) == 0) {
		struct sluice_svc v;

		if (bpf_map_lookup_elem(fds->services, &next, &v) == 0 && v.id < SLUICE_MAX_SERVICES)
			svc_taken[v.id] = 1;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (svc_ids[i])
			continue;
		for (uint32_t id = 1; id < SLUICE_MAX_SERVICES; id++) {
			if (!svc_taken[id]) {
				svc_ids[i] = id;
				svc_taken[id] = 1;
				break;
			}
		}
		if (!svc_ids[i]) {
			rc = -ENOSPC;
			goto out;
		}
	}

	for (size_t i = 0; i < m->n && !rc; i++) {
		const struct lb_service_cfg *s = &m->svcs[i];
		uint32_t ids[s->n_backends ? s->n_backends : 1];
		struct sluice_svc v = {.id = svc_ids[i], .mode = s->mode};

		/* 1. backends, so the table never names an unwritten id */
		for (size_t b = 0; b < s->n_backends && !rc; b++) {
			const struct lb_backend_cfg *bc = &s->backends[b];
			struct sluice_backend bv = {.family = bc->addr.family, .state = bc->state};

			rc = backend_id(cur, bc, be_taken, &ids[b]);
			if (rc)
				break;
			memcpy(bv.addr, bc->addr.addr, 16);
			bv.port = htons(bc->port);
			if (memcmp(&cur[ids[b]], &bv, sizeof(bv)) &&
			    bpf_map_update_elem(fds->backends, &ids[b], &bv, BPF_ANY))
				rc = -errno;
			cur[ids[b]] = bv;
			be_used[ids[b]] = 1;
			st->backends++;
		}
		/* 2. the Maglev table, 3. the service itself */
		if (!rc)
			rc = lb_service_table(s, ids, table);
		if (!rc)
			rc = write_ring(fds->ring, v.id, table);
		svc_key(s, &key);
		if (!rc && bpf_map_update_elem(fds->services, &key, &v, BPF_ANY))
			rc = -errno;
		/* 4. reverse NAT for the backends of NAT services */
		for (size_t b = 0; b < s->n_backends && !rc && s->mode == SLUICE_MODE_NAT; b++) {
			const struct lb_backend_cfg *bc = &s->backends[b];
			struct sluice_svc_key rk = {.proto = s->proto, .family = bc->addr.family};
			struct sluice_rev rv = {.vport = htons(s->port), .svc_id = (uint16_t)v.id};

			memcpy(rk.addr, bc->addr.addr, 16);
			rk.port = htons(bc->port);
			memcpy(rv.vip, s->vip.addr, 16);
			if (bpf_map_update_elem(fds->rev, &rk, &rv, BPF_ANY))
				rc = -errno;
		}
		st->services++;
	}
	if (rc)
		goto out;

	/* 5. remove services that are gone, then their tables */
	prev = NULL;
	while (bpf_map_get_next_key(fds->services, prev, &next) == 0) {
		struct sluice_svc v;
		bool keep = false;

		for (size_t i = 0; i < m->n && !keep; i++) {
			svc_key(&m->svcs[i], &key);
			keep = !memcmp(&key, &next, sizeof(key));
		}
		if (keep || bpf_map_lookup_elem(fds->services, &next, &v)) {
			key = next;
			prev = &key;
			continue;
		}
		if (bpf_map_delete_elem(fds->services, &next)) {
			rc = -errno;
			goto out;
		}
		memset(table, 0, SLUICE_RING_SIZE * sizeof(*table));
		if (v.id < SLUICE_MAX_SERVICES)
			write_ring(fds->ring, v.id, table);
		st->services_removed++;
		prev = NULL; /* restart: the key we stood on is gone */
	}
	/* 6. reverse entries of backends no longer in a NAT service */
	prev = NULL;
	while (bpf_map_get_next_key(fds->rev, prev, &next) == 0) {
		bool keep = false;

		for (size_t i = 0; i < m->n && !keep; i++) {
			const struct lb_service_cfg *s = &m->svcs[i];

			for (size_t b = 0; b < s->n_backends && !keep && s->mode == SLUICE_MODE_NAT; b++) {
				const struct lb_backend_cfg *bc = &s->backends[b];

				keep = next.proto == s->proto && next.family == bc->addr.family &&
				       next.port == htons(bc->port) && !memcmp(next.addr, bc->addr.addr, 16);
			}
		}
		if (!keep) {
			bpf_map_delete_elem(fds->rev, &next);
			prev = NULL;
			continue;
		}
		key = next;
		prev = &key;
	}
	/* 7. backends no longer used by any service: free their ids */
	for (uint32_t id = 1; id < SLUICE_MAX_BACKENDS; id++) {
		struct sluice_backend none = {0};

		if (be_used[id] || !cur[id].family)
			continue;
		bpf_map_update_elem(fds->backends, &id, &none, BPF_ANY);
	}
out:
	free(cur);
	free(be_taken);
	free(svc_taken);
	free(be_used);
	free(svc_ids);
	free(table);
	return rc;
}

void lb_model_free(struct lb_model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->svcs[i].backends);
	free(m->svcs);
	memset(m, 0, sizeof(*m));
}
