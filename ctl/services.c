// SPDX-License-Identifier: GPL-2.0
/* services.c - write services, backends, Maglev tables and reverse-NAT
 * entries into the inactive generation. */
#include "services.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
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

/* Find or allocate the id of backend b: the active generation's id when it
 * has one, else an id free there and not yet handed out. */
/* FNV-1a: the hash of the small indexes below (keys are ours, not an
 * attacker's choice). */
static uint32_t fnv1a(const uint8_t *p, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Backend ids by (family, address, port): open addressing over ids, so
 * that giving 3000 backends their ids is linear (a scan of all 4095 ids
 * per backend, twice, took ~0.1 s at 1000 services). */
#define BE_INDEX_SLOTS (2 * SLUICE_MAX_BACKENDS) /* power of two, half full at most */

struct be_index {
	const struct sluice_backend *tab; /* indexed by id */
	uint16_t slot[BE_INDEX_SLOTS];    /* 0 = empty, else an id */
};

static uint32_t be_hash(uint8_t family, const uint8_t *addr, uint16_t port_be)
{
	return fnv1a((const uint8_t *)&port_be, 2, fnv1a(addr, 16, 2166136261u ^ family));
}

static void be_index_add(struct be_index *ix, uint32_t id)
{
	const struct sluice_backend *v = &ix->tab[id];
	uint32_t h = be_hash(v->family, v->addr, v->port);

	while (ix->slot[h & (BE_INDEX_SLOTS - 1)])
		h++;
	ix->slot[h & (BE_INDEX_SLOTS - 1)] = (uint16_t)id;
}

static uint32_t be_index_find(const struct be_index *ix, const struct lb_backend_cfg *b)
{
	uint32_t h = be_hash(b->addr.family, b->addr.addr, htons(b->port)), id;

	while ((id = ix->slot[h & (BE_INDEX_SLOTS - 1)])) {
		if (backend_matches(&ix->tab[id], b))
			return id;
		h++;
	}
	return 0;
}

struct be_ids {
	struct be_index active, want;
	uint32_t next_free; /* ids below it are in use or taken */
};

static int backend_id(struct be_ids *ix, const struct sluice_backend *active,
		      const struct lb_backend_cfg *b, uint8_t *taken, uint32_t *out)
{
	uint32_t id;

	/* a backend listed in several services has one id: the one an earlier
	 * service of this apply gave it, else the active generation's */
	if ((id = be_index_find(&ix->want, b)))
		goto found;
	if ((id = be_index_find(&ix->active, b))) {
		taken[id] = 1;
		goto found;
	}
	/* the lowest id free in the active generation and not yet taken:
	 * neither ever becomes free again during one apply */
	while (ix->next_free < SLUICE_MAX_BACKENDS &&
	       (active[ix->next_free].family || taken[ix->next_free]))
		ix->next_free++;
	if (ix->next_free >= SLUICE_MAX_BACKENDS)
		return -ENOSPC;
	id = ix->next_free;
	taken[id] = 1;
found:
	*out = id;
	return 0;
}

/* Make the hash map hold exactly keys -> vals: delete the keys not wanted
 * (collected first: deleting under get_next_key restarts the walk), then
 * write every wanted entry.  Wanted keys are found by an index, not a scan
 * (3000 reverse-NAT keys against 3000 entries was 9M compares). */
static int sync_hash(int fd, const void *keys, const void *vals, size_t n, size_t ksz, size_t vsz)
{
	uint8_t key[64], next[64], *gone = NULL;
	size_t cap = 16, n_gone = 0, nslots = 16;
	uint32_t *slot;
	void *prev = NULL;
	int rc = 0;

	while (nslots < 2 * n)
		nslots *= 2;
	slot = calloc(nslots, sizeof(*slot));
	gone = malloc(cap * ksz);
	if (!slot || !gone) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t h = fnv1a((const uint8_t *)keys + i * ksz, ksz, 2166136261u);

		while (slot[h & (nslots - 1)])
			h++;
		slot[h & (nslots - 1)] = (uint32_t)i + 1;
	}
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t h = fnv1a(next, ksz, 2166136261u), i;
		bool want = false;

		while (!want && (i = slot[h & (nslots - 1)])) {
			want = !memcmp((const uint8_t *)keys + (i - 1) * ksz, next, ksz);
			h++;
		}
		if (!want) {
			if (n_gone == cap) {
				uint8_t *g2 = realloc(gone, 2 * cap * ksz);

				if (!g2) {
					rc = -ENOMEM;
					goto out;
				}
				gone = g2;
				cap *= 2;
			}
			memcpy(gone + n_gone++ * ksz, next, ksz);
		}
		memcpy(key, next, ksz);
		prev = key;
	}
	for (size_t i = 0; i < n_gone; i++)
		bpf_map_delete_elem(fd, gone + i * ksz);
	for (size_t i = 0; i < n && !rc; i++)
		if (bpf_map_update_elem(fd, (const uint8_t *)keys + i * ksz,
					(const uint8_t *)vals + i * vsz, BPF_ANY))
			rc = -errno;
out:
	free(slot);
	free(gone);
	return rc;
}

int lb_apply(const struct lb_model *m, const struct lb_gen_target *t, struct lb_apply_stats *st)
{
	const struct sluice_backend *active = t->backends_active;
	struct sluice_backend *want = calloc(SLUICE_MAX_BACKENDS, sizeof(*want));
	uint8_t *be_taken = calloc(SLUICE_MAX_BACKENDS, 1);
	uint8_t *svc_taken = calloc(SLUICE_MAX_SERVICES, 1);
	struct sluice_svc_key *skeys = calloc(m->n + 1, sizeof(*skeys));
	struct sluice_svc *svals = calloc(m->n + 1, sizeof(*svals));
	size_t nrev = 0, rev_cap = 16;
	struct sluice_svc_key *rkeys = calloc(rev_cap, sizeof(*rkeys));
	struct sluice_rev *rvals = calloc(rev_cap, sizeof(*rvals));
	uint32_t *table = calloc(SLUICE_RING_SIZE, sizeof(uint32_t));
	struct be_ids *ix = calloc(1, sizeof(*ix));
	struct sluice_svc_key key, next, *prev = NULL;
	size_t active_services = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!want || !be_taken || !svc_taken || !skeys || !svals || !rkeys ||
	    !rvals || !table || !ix) {
		rc = -ENOMEM;
		goto out;
	}
	ix->active.tab = active;
	ix->want.tab = want;
	ix->next_free = 1;
	for (uint32_t id = 1; id < SLUICE_MAX_BACKENDS; id++)
		if (active[id].family)
			be_index_add(&ix->active, id);

	/* Service ids: those of the active generation carry over; ids in use
	 * there are not handed to new services (their connections may still
	 * be in the table). */
	while (bpf_map_get_next_key(t->services_active, prev, &next) == 0) {
		struct sluice_svc v;

		if (bpf_map_lookup_elem(t->services_active, &next, &v) == 0 &&
		    v.id < SLUICE_MAX_SERVICES)
			svc_taken[v.id] = 1;
		active_services++;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < m->n; i++) {
		struct sluice_svc v;

		svc_key(&m->svcs[i], &skeys[i]);
		svals[i].mode = m->svcs[i].mode;
		svals[i].flags = m->svcs[i].syn_cookies ? SLUICE_SVC_SYNCOOKIE : 0;
		if (bpf_map_lookup_elem(t->services_active, &skeys[i], &v) == 0 && v.id &&
		    v.id < SLUICE_MAX_SERVICES)
			svals[i].id = v.id;
	}
	for (size_t i = 0; i < m->n; i++) {
		for (uint32_t id = 1; !svals[i].id && id < SLUICE_MAX_SERVICES; id++) {
			if (!svc_taken[id]) {
				svals[i].id = id;
				svc_taken[id] = 1;
			}
		}
		if (!svals[i].id) {
			rc = -ENOSPC;
			goto out;
		}
	}

	/* Backends, Maglev tables and reverse-NAT entries of every service.
	 * The shadow generation's tables are rebuilt whole. */
	memset(t->ring, 0, (size_t)SLUICE_MAX_SERVICES * SLUICE_RING_WORDS * 8);
	for (size_t i = 0; i < m->n && !rc; i++) {
		const struct lb_service_cfg *s = &m->svcs[i];
		uint32_t ids[s->n_backends ? s->n_backends : 1];
		uint16_t *ring16 = (uint16_t *)(t->ring + (size_t)svals[i].id * SLUICE_RING_WORDS);

		for (size_t b = 0; b < s->n_backends && !rc; b++) {
			const struct lb_backend_cfg *bc = &s->backends[b];

			rc = backend_id(ix, active, bc, be_taken, &ids[b]);
			if (rc)
				break;
			if (!want[ids[b]].family) {
				want[ids[b]].family = bc->addr.family;
				memcpy(want[ids[b]].addr, bc->addr.addr, 16);
				want[ids[b]].port = htons(bc->port);
				be_index_add(&ix->want, ids[b]);
			}
			want[ids[b]].state = bc->state;
			st->backends++;
			if (s->mode != SLUICE_MODE_NAT)
				continue;
			if (nrev == rev_cap) {
				void *k2 = realloc(rkeys, rev_cap * 2 * sizeof(*rkeys));
				void *v2 = k2 ? realloc(rvals, rev_cap * 2 * sizeof(*rvals)) : NULL;

				if (k2)
					rkeys = k2;
				if (!v2) {
					rc = -ENOMEM;
					break;
				}
				rvals = v2;
				rev_cap *= 2;
			}
			memset(&rkeys[nrev], 0, sizeof(rkeys[nrev]));
			memset(&rvals[nrev], 0, sizeof(rvals[nrev]));
			memcpy(rkeys[nrev].addr, bc->addr.addr, 16);
			rkeys[nrev].port = htons(bc->port);
			rkeys[nrev].proto = s->proto;
			rkeys[nrev].family = bc->addr.family;
			memcpy(rvals[nrev].vip, s->vip.addr, 16);
			rvals[nrev].vport = htons(s->port);
			rvals[nrev].svc_id = (uint16_t)svals[i].id;
			rvals[nrev].flags = svals[i].flags;
			nrev++;
		}
		if (!rc)
			rc = lb_service_table(s, ids, table);
		/* ids fit 16 bits (SLUICE_MAX_BACKENDS <= 65536); little-endian
		 * u16 slots inside each u64 word, as lb.h reads them */
		for (uint32_t slot = 0; slot < SLUICE_RING_SIZE && !rc; slot++)
			ring16[slot] = (uint16_t)table[slot];
		st->services++;
	}
	if (!rc) /* the shadow slice is not read by the data path: plain copy */
		memcpy(t->backends, want, SLUICE_MAX_BACKENDS * sizeof(*want));
	if (!rc)
		rc = sync_hash(t->rev, rkeys, rvals, nrev, sizeof(*rkeys), sizeof(*rvals));
	if (!rc)
		rc = sync_hash(t->services, skeys, svals, m->n, sizeof(*skeys), sizeof(*svals));
	if (!rc && active_services > m->n)
		st->services_removed = active_services - m->n;
out:
	free(want);
	free(be_taken);
	free(svc_taken);
	free(skeys);
	free(svals);
	free(rkeys);
	free(rvals);
	free(table);
	free(ix);
	return rc;
}

void lb_model_free(struct lb_model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->svcs[i].backends);
	free(m->svcs);
	memset(m, 0, sizeof(*m));
}
