// SPDX-License-Identifier: GPL-2.0
/* syncookies.c - protected local services into one generation of the
 * syncookie maps (the generation is part of the key: one hash holds both). */
#include "syncookies.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "sluice_maps.h"

#define ALL_KEYS (SLUICE_GENS * SLUICE_COOKIE_MAX)

/* The keys of generation gen (collected first: the walk must not see the
 * map change under it).  Returns how many, or -errno. */
static int keys_of_gen(int fd, uint32_t gen, struct sluice_cookie_key *keys)
{
	struct sluice_cookie_key k, next;
	void *prev = NULL;
	int n = 0;

	while (n < ALL_KEYS && bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next.gen == gen)
			keys[n++] = next;
		k = next;
		prev = &k;
	}
	return n;
}

/* Delete every entry of generation gen (the other one is live: untouched). */
static int clear_gen(int fd, uint32_t gen)
{
	struct sluice_cookie_key *keys = calloc(ALL_KEYS, sizeof(*keys));
	int n, rc = 0;

	if (!keys)
		return -ENOMEM;
	n = keys_of_gen(fd, gen, keys);
	for (int i = 0; i < n && !rc; i++)
		if (bpf_map_delete_elem(fd, &keys[i]) && errno != ENOENT)
			rc = -errno;
	free(keys);
	return rc;
}

static int set_mode(int gen_fd, uint32_t gen, uint32_t mode)
{
	return bpf_map_update_elem(gen_fd, &gen, &mode, BPF_ANY) ? -errno : 0;
}

int syncookies_write(int local_fd, int gen_fd, uint32_t gen, const struct sluice_model *m)
{
	uint32_t mode = m->n_syncookie_local ? m->syncookie_mode : SLUICE_COOKIE_OFF;
	int rc = clear_gen(local_fd, gen);

	for (size_t i = 0; i < m->n_syncookie_local && !rc && mode != SLUICE_COOKIE_OFF; i++) {
		const struct syncookie_local_cfg *l = &m->syncookie_local[i];
		struct sluice_cookie_key k;
		struct sluice_cookie_svc v = {.mode = mode};

		memset(&k, 0, sizeof(k));
		memcpy(k.addr, l->addr.addr, 16);
		k.port = htons(l->port);
		k.family = l->addr.family;
		k.gen = (uint8_t)gen;
		if (bpf_map_update_elem(local_fd, &k, &v, BPF_ANY))
			rc = -errno;
	}
	return rc ? rc : set_mode(gen_fd, gen, mode);
}

int syncookies_copy(int local_fd, int gen_fd, uint32_t from, uint32_t to)
{
	struct sluice_cookie_key *keys = calloc(ALL_KEYS, sizeof(*keys));
	uint32_t mode = SLUICE_COOKIE_OFF;
	int n, rc;

	if (!keys)
		return -ENOMEM;
	rc = clear_gen(local_fd, to);
	n = rc ? 0 : keys_of_gen(local_fd, from, keys);
	for (int i = 0; i < n && !rc; i++) {
		struct sluice_cookie_svc v;

		if (bpf_map_lookup_elem(local_fd, &keys[i], &v))
			continue;
		keys[i].gen = (uint8_t)to;
		if (bpf_map_update_elem(local_fd, &keys[i], &v, BPF_ANY))
			rc = -errno;
	}
	free(keys);
	if (!rc && bpf_map_lookup_elem(gen_fd, &from, &mode))
		rc = -errno;
	return rc ? rc : set_mode(gen_fd, to, mode);
}
