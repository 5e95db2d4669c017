/* SPDX-License-Identifier: GPL-2.0 */
/* fastpath.h - compile the verdict list into the data path's fast tables. */
#ifndef SLUICE_FASTPATH_H
#define SLUICE_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "prefix.h"
#include "sluice_maps.h"

/* Bytes of one generation of each mmapped fast-table array. */
#define FAST4_SUM_BYTES ((size_t)SLUICE_FAST4_SUM_WORDS * 8)
#define FAST4_DETAIL_BYTES ((size_t)SLUICE_FAST4_DETAIL * 8)
#define FAST4_CHUNK_BYTES 256
#define FAST4_CHUNKS_BYTES ((size_t)SLUICE_FAST4_CHUNKS * FAST4_CHUNK_BYTES)
#define FAST6_L1_BYTES ((size_t)SLUICE_FAST_WORDS * 8)
#define FAST6_RANK_BYTES ((size_t)SLUICE_FAST6_RANK_WORDS * 8)
#define FAST6_DENSE_BYTES ((size_t)SLUICE_FAST6_DENSE * sizeof(struct sluice_fast6_val))

/* One entry of the IPv6 hash (fast6_g<gen>). */
struct fast6_entry {
	struct sluice_fast6_key k;
	struct sluice_fast6_val v;
};

struct verdict_tables {
	/* IPv4 as the maps hold it (layout: sluice_maps.h) */
	uint64_t *sum; /* SLUICE_FAST4_SUM_WORDS: units of a rank + 48 2-bit codes */
	uint64_t *detail;		/* n_detail entries, /24 order */
	size_t n_detail, detail_limit;	/* used; array size */
	uint8_t *chunks;		/* n_chunks x 256 class bytes */
	size_t n_chunks, chunk_limit;	/* used; pool size */
	size_t ranges4;			/* detail entries of kind RANGES */
	/* IPv4 while painting: a class or scratch chunk per /24 (freed once packed) */
	uint32_t *fast4;
	uint8_t *touched; /* per unit of SLUICE_FAST4_UNIT /24s: painted at all */
	uint8_t *scratch;
	size_t n_scratch, scratch_cap;
	uint8_t *fast6;		      /* 2^24 bytes: class per top 24 bits */
	uint64_t *rank6;	      /* SLUICE_FAST6_RANK_WORDS: u32 per group */
	struct sluice_fast6_val *dense6; /* n_dense6 bucket entries, bucket order */
	size_t n_dense6, dense6_limit;
	struct fast6_entry *h6;	      /* sorted by key (for the C lookup) */
	size_t n_h6, h6_limit;
	struct sluice_verdict classes[SLUICE_CLASSES];
	unsigned n_classes;	 /* used: 1..n_classes */
	struct prefix_list trie; /* overflow entries, v4 and v6 */
	size_t deeper4, deeper6; /* /24 buckets left to the trie (pool full) */
	size_t buckets6;	 /* v6 /24 buckets with an entry (dense or hash) */
};

/* One generation's IPv4 arrays, wherever they are (built in memory, or
 * the maps mmapped): what fast4_class reads. */
struct fast4_view {
	const uint64_t *sum, *detail;
	const uint8_t *chunks;
};

/* The data path's IPv4 lookup (xdp/fast_lookup.h) in C: the class of a
 * (host order) address, 0 for none, SLUICE_CLASS_DEEPER for the trie. */
uint32_t fast4_class(const struct fast4_view *v, uint32_t addr);

/* The 2-bit summary code of /24 top (SLUICE_SUM_*) in sum. */
unsigned fast4_code(const uint64_t *sum, uint32_t top);

/* One generation's IPv6 bucket arrays (in memory or the maps mmapped). */
struct fast6_view {
	const uint8_t *l1;    /* class byte per top-24 bucket */
	const uint64_t *rank; /* DENSE bytes before each group */
	const struct sluice_fast6_val *dense;
	size_t n_dense;	      /* entries dense may be indexed with */
};

/* The entry of a DENSE bucket (top: the top 24 bits), NULL past the array. */
const struct sluice_fast6_val *fast6_dense_entry(const struct fast6_view *v, uint32_t top);

/* A longer prefix's hash entry: 0 and its class, or -1 (not there). */
typedef int (*fast6_find_fn)(const void *ctx, unsigned len, const uint8_t *masked,
			     uint32_t *cls);

/* The data path's walk of one IPv6 bucket entry in C: inline prefixes,
 * then the hash per length (find), longest first, then its painted class. */
uint32_t fast6_bucket_class(const struct sluice_fast6_val *b, const uint8_t *addr,
			    fast6_find_fn find, const void *ctx);

/* Limits for tests (0: the maps' sizes). */
struct verdict_limits {
	size_t chunks;	   /* IPv4 chunks */
	size_t details;	   /* IPv4 detail entries */
	size_t h6_entries; /* IPv6 hash entries */
	size_t dense6;	   /* IPv6 dense bucket entries */
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
	/* mmapped, preallocated; v6_dense: the ranks and the bucket entries */
	size_t v4_l1, v4_detail, v4_chunks, v6_l1, v6_dense;
	size_t chunks_total, details_total, dense6_total;    /* per generation */
};
void fast_mem_sizes(struct fast_mem *m);

/* What one generation's tables hold (written with it; `sluice status`). */
struct fast_stats {
	int known;	     /* 0: written before this process opened the maps */
	size_t chunks_used;  /* IPv4 chunks of the pool */
	size_t details_used; /* IPv4 detail entries */
	size_t ranges4;	     /* of which ranges (no chunk needed) */
	size_t deeper4;	     /* IPv4 /24s left to the trie: detail array or pool full */
	size_t buckets6;     /* IPv6 buckets with an entry */
	size_t dense6;	     /* of which in the dense array */
	size_t h6_entries;   /* IPv6 hash entries (buckets + prefixes) */
	size_t deeper6;	     /* IPv6 buckets left to the trie: hash full */
	size_t trie_entries; /* slow-path trie entries, both families */
	double build_ms;     /* compile + paint, in memory */
	double write_ms;     /* into the maps */
};

#endif
