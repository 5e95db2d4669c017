/* SPDX-License-Identifier: GPL-2.0 */
/* fastpath.h - compile the verdict list into the data path's fast tables. */
#ifndef SLUICE_FASTPATH_H
#define SLUICE_FASTPATH_H

#include <stdint.h>

#include "prefix.h"
#include "sluice_maps.h"

struct verdict_tables {
	uint8_t *fast4;                          /* 2^24 bytes: class per /24 */
	uint8_t *fast6;                          /* 2^24 bytes: class per top 24 bits */
	struct sluice_verdict classes[SLUICE_CLASSES];
	unsigned n_classes;                      /* used: 1..n_classes */
	struct prefix_list trie;                 /* slow-path entries, v4 and v6 */
	size_t deeper4, deeper6;                 /* /24 buckets needing the trie */
};

/* Build from a compiled list (compile_verdicts output).  Fails with a
 * message when more than 254 distinct (action, list) classes are needed. */
int verdict_tables_build(const struct prefix_list *compiled, struct verdict_tables *t, char *err,
			 size_t errlen);
void verdict_tables_free(struct verdict_tables *t);

/* What the tables say for one address (the data path's lookup, in C, for
 * tests and `sluice block test`): the matching class's verdict, or NULL. */
const struct sluice_verdict *verdict_tables_lookup(const struct verdict_tables *t, int family,
						   const uint8_t *addr);

#endif
