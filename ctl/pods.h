/* SPDX-License-Identifier: GPL-2.0 */
/* pods.h - identities and pods (addresses, policies) into a generation. */
#ifndef SLUICE_PODS_H
#define SLUICE_PODS_H

#include <stddef.h>

#include "model.h"

struct pods_target {
	int ident_trie[2];  /* [0] v4, [1] v6 of the shadow generation */
	int pod_addrs;      /* shadow generation's address -> pod id hash */
	int pod_policy;     /* policy array (both generations) */
	int pod_names;      /* pod id -> name (stable ids, not generation-switched) */
	int syn_limits;     /* per-identity SYN limits (both generations) */
	unsigned gen;
};

/* Pod id of name in the pod_names map, allocating a free one if needed
 * (ids are stable across reloads and restarts: counters keyed by pod id
 * keep meaning the same pod).  0 when the map is full. */
unsigned pod_id_for(int pod_names_fd, const char *name);

int pods_apply(const struct sluice_model *m, const struct pods_target *t, char *err, size_t errlen);

#endif
