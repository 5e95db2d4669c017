// SPDX-License-Identifier: GPL-2.0
/*
 * compile.c - merge blocklists and allowlists into one LPM trie.
 *
 * Why one lookup is enough: a block prefix B that lies inside some allow
 * prefix A is left out.  Take an address x inside an allow prefix A.  Every
 * trie entry containing x is nested with A; a block entry containing x and
 * longer than A would lie inside A and so was left out.  Hence the longest
 * match for x is A or a longer allow entry: allow always wins.  For x inside
 * no allow prefix only block entries can match, so x is blocked iff it lies
 * in some block prefix.  Same prefix in both lists: allow.
 */
#include "compile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_maps.h"

/* Is p inside any prefix of allow (looked up at every length in use)? */
static int covered(const struct prefix_set *allow, const uint8_t *lens_used,
		   const struct sluice_prefix *p)
{
	struct sluice_prefix probe = *p;

	for (int len = 0; len <= p->len; len++) {
		if (!lens_used[len])
			continue;
		memcpy(probe.addr, p->addr, 16);
		prefix_mask(probe.addr, (unsigned)len);
		probe.len = (uint8_t)len;
		if (prefix_set_find(allow, &probe))
			return 1;
	}
	return 0;
}

int compile_verdicts(const struct prefix_list *block, const struct prefix_list *allow,
		     struct prefix_list *out)
{
	uint8_t lens_used[2][129] = {{0}};
	struct prefix_set aset;
	size_t w = 0;
	int rc;

	rc = prefix_set_init(&aset, allow->n + 1);
	if (rc)
		return rc;
	for (size_t i = 0; i < allow->n; i++) {
		struct sluice_prefix a = allow->v[i];

		a.action = SLUICE_ACT_ALLOW;
		lens_used[a.family == 6][a.len] = 1;
		if (prefix_set_add(&aset, &a) || prefix_list_push(out, &a)) {
			rc = -ENOMEM;
			goto done;
		}
	}
	for (size_t i = 0; i < block->n; i++) {
		struct sluice_prefix b = block->v[i];

		if (covered(&aset, lens_used[b.family == 6], &b))
			continue;
		b.action = SLUICE_ACT_BLOCK;
		if (prefix_list_push(out, &b)) {
			rc = -ENOMEM;
			goto done;
		}
	}

	/* Sort, then keep one entry per prefix: allow before block, then the
	 * lowest list id, so the result does not depend on input order. */
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), prefix_cmp);
	for (size_t i = 0; i < out->n; i++) {
		struct sluice_prefix *cur = &out->v[i];

		if (w && prefix_same(&out->v[w - 1], cur)) {
			struct sluice_prefix *keep = &out->v[w - 1];

			if (cur->action == SLUICE_ACT_ALLOW && keep->action != SLUICE_ACT_ALLOW)
				*keep = *cur;
			else if (cur->action == keep->action && cur->list_id < keep->list_id)
				keep->list_id = cur->list_id;
			continue;
		}
		out->v[w++] = *cur;
	}
	out->n = w;
done:
	prefix_set_free(&aset);
	return rc;
}
