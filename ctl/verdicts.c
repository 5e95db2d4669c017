// SPDX-License-Identifier: GPL-2.0
/* verdicts.c - sync the compiled verdict list into the LPM tries. */
#include "verdicts.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_maps.h"

static void to_key(const struct sluice_prefix *p, void *key)
{
	if (p->family == 4) {
		struct sluice_lpm_v4_key *k = key;

		k->prefixlen = p->len;
		memcpy(&k->addr, p->addr, 4);
	} else {
		struct sluice_lpm_v6_key *k = key;

		k->prefixlen = p->len;
		memcpy(k->addr, p->addr, 16);
	}
}

static void from_key(int family, const void *key, const struct sluice_verdict *v,
		     struct sluice_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family;
	if (family == 4) {
		const struct sluice_lpm_v4_key *k = key;

		p->len = (uint8_t)k->prefixlen;
		memcpy(p->addr, &k->addr, 4);
	} else {
		const struct sluice_lpm_v6_key *k = key;

		p->len = (uint8_t)k->prefixlen;
		memcpy(p->addr, k->addr, 16);
	}
	if (v) {
		p->action = (uint8_t)v->action;
		p->list_id = v->list_id;
	}
}

/* Collect every entry of one trie.  Keys are gathered before anything is
 * deleted: deleting during get_next_key iteration would restart it. */
static int dump_one(int fd, int family, struct prefix_list *out)
{
	struct sluice_lpm_v6_key key, next; /* big enough for either family */
	void *prev = NULL;
	int rc;

	while ((rc = bpf_map_get_next_key(fd, prev, &next)) == 0) {
		struct sluice_verdict v;
		struct sluice_prefix p;

		if (bpf_map_lookup_elem(fd, &next, &v))
			memset(&v, 0, sizeof(v));
		from_key(family, &next, &v, &p);
		if (prefix_list_push(out, &p))
			return -ENOMEM;
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int verdicts_dump(int fd_v4, int fd_v6, struct prefix_list *out)
{
	int rc = dump_one(fd_v4, 4, out);

	if (!rc)
		rc = dump_one(fd_v6, 6, out);
	if (!rc && out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), prefix_cmp);
	return rc;
}

int verdicts_apply(int fd_v4, int fd_v6, const struct prefix_list *compiled,
		   struct verdict_apply_stats *st)
{
	struct prefix_list old = {0};
	int rc = verdicts_dump(fd_v4, fd_v6, &old);

	if (!rc)
		rc = verdicts_apply_diff(fd_v4, fd_v6, compiled, &old, st);
	prefix_list_free(&old);
	return rc;
}

int verdicts_apply_diff(int fd_v4, int fd_v6, const struct prefix_list *compiled,
			const struct prefix_list *oldp, struct verdict_apply_stats *st)
{
	const struct prefix_list old = *oldp;
	struct prefix_set want, have = {0};
	int rc;

	memset(st, 0, sizeof(*st));
	rc = prefix_set_init(&want, compiled->n + 1);
	if (rc)
		return rc;
	for (size_t i = 0; i < compiled->n && !rc; i++)
		rc = prefix_set_add(&want, &compiled->v[i]);

	/* entries already there with the same value need no write (a reload
	 * of a big, mostly unchanged list writes only the difference) */
	if (!rc)
		rc = prefix_set_init(&have, old.n + 1);
	for (size_t i = 0; i < old.n && !rc; i++)
		rc = prefix_set_add(&have, &old.v[i]);
	for (size_t i = 0; i < compiled->n && !rc; i++) {
		const struct sluice_prefix *p = &compiled->v[i];
		const struct sluice_prefix *o = prefix_set_find(&have, p);
		struct sluice_verdict v = {.action = p->action, .list_id = p->list_id};
		struct sluice_lpm_v6_key key;

		if (o && o->action == p->action && o->list_id == p->list_id)
			continue;
		to_key(p, &key);
		if (bpf_map_update_elem(p->family == 4 ? fd_v4 : fd_v6, &key, &v, BPF_ANY))
			rc = -errno;
		else
			st->added_or_updated++;
	}
	for (size_t i = 0; i < old.n && !rc; i++) {
		const struct sluice_prefix *p = &old.v[i];
		struct sluice_lpm_v6_key key;

		if (prefix_set_find(&want, p))
			continue;
		to_key(p, &key);
		if (bpf_map_delete_elem(p->family == 4 ? fd_v4 : fd_v6, &key) && errno != ENOENT)
			rc = -errno;
		else
			st->removed++;
	}
	prefix_set_free(&want);
	prefix_set_free(&have);
	return rc;
}
