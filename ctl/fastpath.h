/* SPDX-License-Identifier: GPL-2.0 */
/* fastpath.h - compile the verdict list into the data path's fast tables. */
#ifndef SLUICE_FASTPATH_H
#define SLUICE_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "prefix.h"
#include "sluice_maps.h"

/* One entry of the IPv6 hash (fast6_g<gen>). */
struct fast6_entry {
	struct sluice_fast6_key k;
	struct sluice_fast6_val v;
};

struct verdict_tables {
	uint32_t *fast4;	      /* 2^24 entries: class or chunk per /24 */
	uint8_t *chunks;	      /* n_chunks x 256 class bytes */
	size_t n_chunks, chunk_limit; /* used; pool size */
	uint8_t *fast6;		      /* 2^24 bytes: class per top 24 bits */
	struct fast6_entry *h6;	      /* sorted by key (for the C lookup) */
	size_t n_h6, h6_limit;
	struct sluice_verdict classes[SLUICE_CLASSES];
	unsigned n_classes;	 /* used: 1..n_classes */
	struct prefix_list trie; /* overflow entries, v4 and v6 */
	size_t deeper4, deeper6; /* /24 buckets left to the trie (pool full) */
	size_t buckets6;	 /* v6 /24 buckets in the hash */
};

/* Limits for tests (0: the maps' sizes). */
struct verdict_limits {
	size_t chunks;	   /* IPv4 chunks */
	size_t h6_entries; /* IPv6 hash entries */
};

/* Build from a compiled list (compile_verdicts output).  Fails with a
 * message when more than SLUICE_CLASS_MAX distinct (action, list) classes
 * are needed.  A full chunk pool or hash is not an error: the rest goes to
 * the trie (deeper4 / deeper6 say how many /24s). */
int verdict_tables_build(const struct prefix_list *compiled, struct verdict_tables *t, char *err,
			 size_t errlen);
int verdict_tables_build_limited(const struct prefix_list *compiled,
				 const struct verdict_limits *lim, struct verdict_tables *t,
				 char *err, size_t errlen);
void verdict_tables_free(struct verdict_tables *t);

/* What the tables say for one address (the data path's lookup, in C, for
 * tests): the matching class's verdict, or NULL. */
const struct sluice_verdict *verdict_tables_lookup(const struct verdict_tables *t, int family,
						   const uint8_t *addr);

/* Bytes of the fast-table maps (both generations), for `sluice status`. */
struct fast_mem {
	size_t v4_l1, v4_chunks, v6_l1; /* mmapped arrays, preallocated */
	size_t chunks_total;		/* per generation */
};
void fast_mem_sizes(struct fast_mem *m);

/* What one generation's tables hold (written with it; `sluice status`). */
struct fast_stats {
	int known;	     /* 0: written before this process opened the maps */
	size_t chunks_used;  /* IPv4 chunks of the pool */
	size_t deeper4;	     /* IPv4 /24s left to the trie: pool exhausted */
	size_t buckets6;     /* IPv6 buckets in the hash */
	size_t h6_entries;   /* IPv6 hash entries (buckets + prefixes) */
	size_t deeper6;	     /* IPv6 buckets left to the trie: hash full */
	size_t trie_entries; /* slow-path trie entries, both families */
	double build_ms;     /* compile + paint, in memory */
	double write_ms;     /* into the maps */
};

#endif
