// SPDX-License-Identifier: GPL-2.0
/*
 * dataplane_lists.c - the source verdict structures of a generation: write
 * them from a compiled list (fast tables, IPv4 chunks, IPv6 hash, overflow
 * tries, classes), carry them over, and read them the way the XDP program
 * does (xdp/fast_lookup.h).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dataplane.h"
#include "sluice_maps.h"

#define CHUNK FAST4_CHUNK_BYTES
/* Entries per batch syscall on the IPv6 hash.  This kernel does not preempt
 * a task inside a syscall (PREEMPT_NONE by default), and a daemon sharing a
 * CPU with a receive queue holds that queue's NAPI off for the whole call:
 * 8192 entries took 6.8 ms to write and up to 37 ms to drain (1M buckets
 * scanned), time in which a 256-frame veth ring at 0.5 Mpps overflowed
 * (the bench's reload scenario lost legit packets before the switch).  256
 * entries: ~0.35 ms a call, about the same total (measured on a 2^20-bucket
 * hash like fast6_g0 holding 10k entries:
 * 8.3 vs 10.3 ms to write, 8.1 vs 8.4 ms to drain). */
#define BATCH 256

static double now_ms(void)
{
	return (double)mono_ns() / 1e6;
}

static uint32_t mask_word(int bits)
{
	if (bits <= 0)
		return 0;
	return bits >= 32 ? 0xffffffffu : 0xffffffffu << (32 - bits);
}

/* The IPv6 walk's masks by length (constant; written with every change). */
static int write_masks(struct dataplane *dp)
{
	for (uint32_t len = 0; len <= 128; len++) {
		struct sluice_fast6_mask m;

		for (int w = 0; w < 4; w++)
			m.w[w] = htonl(mask_word((int)len - 32 * w));
		if (bpf_map_update_elem(dp->fast6_masks_fd, &len, &m, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int write_classes(struct dataplane *dp, uint32_t gen, const struct sluice_verdict *cls)
{
	uint32_t keys[SLUICE_CLASSES], count = SLUICE_CLASSES;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (uint32_t i = 0; i < SLUICE_CLASSES; i++)
		keys[i] = gen * SLUICE_CLASSES + i;
	if (bpf_map_update_batch(dp->classes_fd, keys, cls, &count, &opts) == 0)
		return 0;
	for (uint32_t i = 0; i < SLUICE_CLASSES; i++)
		if (bpf_map_update_elem(dp->classes_fd, &keys[i], &cls[i], BPF_ANY))
			return -errno;
	return 0;
}

/* What generation g's tries hold: the remembered copy, or read back. */
static int tries_known(struct dataplane *dp, uint32_t g)
{
	int rc;

	if (dp->trie_known[g])
		return 0;
	prefix_list_free(&dp->trie_have[g]);
	rc = verdicts_dump(dp->trie_fd[0][g], dp->trie_fd[1][g], &dp->trie_have[g]);
	if (rc) {
		prefix_list_free(&dp->trie_have[g]);
		return rc;
	}
	dp->trie_known[g] = 1;
	return 0;
}

/* Make the shadow generation's tries hold exactly want, writing only the
 * difference from what they hold (no read-back), and remember want. */
static int tries_sync(struct dataplane *dp, const struct prefix_list *want,
		      struct verdict_apply_stats *st)
{
	uint32_t g = dp->shadow;
	struct prefix_list *have = &dp->trie_have[g];
	int rc = tries_known(dp, g);

	if (rc)
		return rc;
	rc = verdicts_apply_diff(dp->trie_fd[0][g], dp->trie_fd[1][g], want, have, st);
	/* after a failure the tries hold some mix: read them back next time */
	prefix_list_free(have);
	dp->trie_known[g] = 0;
	if (rc)
		return rc;
	for (size_t i = 0; i < want->n; i++)
		if (prefix_list_push(have, &want->v[i])) {
			prefix_list_free(have);
			return 0; /* written; only the memory of it is lost */
		}
	dp->trie_known[g] = 1;
	return 0;
}

/* Read (and with del, empty) an IPv6 hash; out may be NULL. */
static int drain_hash6(int fd, int del, struct fast6_entry **out, size_t *n)
{
	struct sluice_fast6_key *keys = malloc(BATCH * sizeof(*keys));
	struct sluice_fast6_val *vals = malloc(BATCH * sizeof(*vals));
	uint32_t token = 0;
	size_t cap = 0;
	void *in = NULL;
	int rc = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (n)
		*n = 0;
	if (out)
		*out = NULL;
	if (!keys || !vals) {
		rc = -ENOMEM;
		goto done;
	}
	for (;;) {
		uint32_t count = BATCH;
		int r =
		    del ? bpf_map_lookup_and_delete_batch(fd, in, &token, keys, vals, &count, &opts)
			: bpf_map_lookup_batch(fd, in, &token, keys, vals, &count, &opts);
		int last = r && errno == ENOENT;

		if (r && !last) {
			rc = -errno;
			break;
		}
		if (out && count) {
			if (*n + count > cap) {
				struct fast6_entry *m;

				cap = (*n + count) * 2;
				m = realloc(*out, cap * sizeof(*m));
				if (!m) {
					rc = -ENOMEM;
					break;
				}
				*out = m;
			}
			for (uint32_t i = 0; i < count; i++) {
				(*out)[*n + i].k = keys[i];
				(*out)[*n + i].v = vals[i];
			}
			*n += count;
		}
		if (last)
			break;
		in = &token;
	}
done:
	free(keys);
	free(vals);
	return rc;
}

/* The IPv6 hash in batches of BATCH (also the feedload bench's writer). */
int dp_write_hash6(int fd, const struct fast6_entry *e, size_t n)
{
	struct sluice_fast6_key *keys = malloc(BATCH * sizeof(*keys));
	struct sluice_fast6_val *vals = malloc(BATCH * sizeof(*vals));
	int rc = keys && vals ? 0 : -ENOMEM;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (size_t i = 0; i < n && !rc; i += BATCH) {
		uint32_t count = (uint32_t)(n - i < BATCH ? n - i : BATCH);

		for (uint32_t j = 0; j < count; j++) {
			keys[j] = e[i + j].k;
			vals[j] = e[i + j].v;
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, &opts))
			rc = -errno;
	}
	free(keys);
	free(vals);
	return rc;
}

static int replace_hash6(int fd, const struct fast6_entry *e, size_t n)
{
	int rc = drain_hash6(fd, 1, NULL, NULL);

	return rc ? rc : dp_write_hash6(fd, e, n);
}

int dp_write_lists(struct dataplane *dp, const struct prefix_list *compiled,
		   struct verdict_apply_stats *st, char *err, size_t errlen)
{
	struct verdict_tables t;
	struct fast_stats *fs = &dp->fast[dp->shadow];
	double t0 = now_ms(), t1;
	int rc = verdict_tables_build_limited(compiled, &dp->limits, &t, err, errlen);

	if (rc)
		return rc;
	t1 = now_ms();
	/* the shadow generation is read by no packet: order does not matter,
	 * but classes first anyway so that no table names an unwritten one */
	rc = write_masks(dp);
	if (!rc)
		rc = write_classes(dp, dp->shadow, t.classes);
	if (!rc)
		rc = tries_sync(dp, &t.trie, st);
	if (!rc)
		rc = replace_hash6(dp->fast6_fd[dp->shadow], t.h6, t.n_h6);
	if (!rc) {
		if (t.n_chunks)
			memcpy((uint8_t *)dp->chunks_mem + dp->shadow * FAST4_CHUNKS_BYTES, t.chunks,
			       t.n_chunks * CHUNK);
		if (t.n_detail)
			memcpy((uint8_t *)dp->detail_mem + dp->shadow * FAST4_DETAIL_BYTES, t.detail,
			       t.n_detail * sizeof(*t.detail));
		memcpy((uint8_t *)dp->fast_mem[0] + dp->shadow * FAST4_SUM_BYTES, t.sum,
		       FAST4_SUM_BYTES);
		if (t.n_dense6)
			memcpy(dp->dense6_mem + (size_t)dp->shadow * SLUICE_FAST6_DENSE, t.dense6,
			       t.n_dense6 * sizeof(*t.dense6));
		memcpy(dp->rank6_mem + (size_t)dp->shadow * SLUICE_FAST6_RANK_WORDS, t.rank6,
		       FAST6_RANK_BYTES);
		memcpy((uint8_t *)dp->fast_mem[1] + dp->shadow * FAST6_L1_BYTES, t.fast6,
		       FAST6_L1_BYTES);
		*fs = (struct fast_stats){
		    .known = 1,
		    .chunks_used = t.n_chunks,
		    .details_used = t.n_detail,
		    .ranges4 = t.ranges4,
		    .deeper4 = t.deeper4,
		    .buckets6 = t.buckets6,
		    .dense6 = t.n_dense6,
		    .h6_entries = t.n_h6,
		    .deeper6 = t.deeper6,
		    .trie_entries = t.trie.n,
		    .build_ms = t1 - t0,
		    .write_ms = now_ms() - t1,
		};
	} else {
		snprintf(err, errlen, "writing the verdict maps: %s", strerror(-rc));
	}
	verdict_tables_free(&t);
	return rc;
}

/* After a switch: the other generation's tries made to hold (and known to
 * hold) what the active ones do, so that the next change writes only its
 * difference there.  Only the tries: dp_write_lists rewrites the tables and
 * the IPv6 hash whole and dp_copy_lists copies them, so copying those here
 * (0.4-0.5 s for a 248k-entry hash) would be work thrown away. */
int dp_prime_tries(struct dataplane *dp)
{
	struct prefix_list trie = {0};
	struct verdict_apply_stats st;
	int rc = tries_known(dp, dp->active);

	for (size_t i = 0; !rc && i < dp->trie_have[dp->active].n; i++)
		rc = prefix_list_push(&trie, &dp->trie_have[dp->active].v[i]) ? -ENOMEM : 0;
	if (!rc)
		rc = tries_sync(dp, &trie, &st);
	prefix_list_free(&trie);
	return rc;
}

int dp_copy_lists(struct dataplane *dp)
{
	struct sluice_verdict cls[SLUICE_CLASSES];
	struct prefix_list trie = {0};
	struct verdict_apply_stats st;
	struct fast6_entry *h6 = NULL;
	size_t n_h6 = 0, chunks, details, dense6;
	int rc;

	for (uint32_t i = 0; i < SLUICE_CLASSES; i++) {
		uint32_t k = dp->active * SLUICE_CLASSES + i;

		if (bpf_map_lookup_elem(dp->classes_fd, &k, &cls[i]))
			return -errno;
	}
	rc = write_masks(dp);
	if (!rc)
		rc = write_classes(dp, dp->shadow, cls);
	if (!rc)
		rc = tries_known(dp, dp->active);
	/* copied out first: tries_sync replaces the shadow's remembered list */
	for (size_t i = 0; !rc && i < dp->trie_have[dp->active].n; i++)
		rc = prefix_list_push(&trie, &dp->trie_have[dp->active].v[i]) ? -ENOMEM : 0;
	if (!rc)
		rc = tries_sync(dp, &trie, &st);
	prefix_list_free(&trie);
	if (!rc)
		rc = drain_hash6(dp->fast6_fd[dp->active], 0, &h6, &n_h6);
	if (!rc)
		rc = replace_hash6(dp->fast6_fd[dp->shadow], h6, n_h6);
	free(h6);
	if (rc)
		return rc;
	/* chunks and details in use: all of them when the active generation
	 * was written before this process opened the maps */
	chunks =
	    dp->fast[dp->active].known ? dp->fast[dp->active].chunks_used : SLUICE_FAST4_CHUNKS;
	details =
	    dp->fast[dp->active].known ? dp->fast[dp->active].details_used : SLUICE_FAST4_DETAIL;
	dense6 = dp->fast[dp->active].known ? dp->fast[dp->active].dense6 : SLUICE_FAST6_DENSE;
	memcpy(dp->dense6_mem + (size_t)dp->shadow * SLUICE_FAST6_DENSE,
	       dp->dense6_mem + (size_t)dp->active * SLUICE_FAST6_DENSE,
	       dense6 * sizeof(*dp->dense6_mem));
	memcpy(dp->rank6_mem + (size_t)dp->shadow * SLUICE_FAST6_RANK_WORDS,
	       dp->rank6_mem + (size_t)dp->active * SLUICE_FAST6_RANK_WORDS, FAST6_RANK_BYTES);
	memcpy((uint8_t *)dp->chunks_mem + dp->shadow * FAST4_CHUNKS_BYTES,
	       (uint8_t *)dp->chunks_mem + dp->active * FAST4_CHUNKS_BYTES, chunks * CHUNK);
	memcpy((uint8_t *)dp->detail_mem + dp->shadow * FAST4_DETAIL_BYTES,
	       (uint8_t *)dp->detail_mem + dp->active * FAST4_DETAIL_BYTES, details * 8);
	memcpy((uint8_t *)dp->fast_mem[0] + dp->shadow * FAST4_SUM_BYTES,
	       (uint8_t *)dp->fast_mem[0] + dp->active * FAST4_SUM_BYTES, FAST4_SUM_BYTES);
	memcpy((uint8_t *)dp->fast_mem[1] + dp->shadow * FAST6_L1_BYTES,
	       (uint8_t *)dp->fast_mem[1] + dp->active * FAST6_L1_BYTES, FAST6_L1_BYTES);
	dp->fast[dp->shadow] = dp->fast[dp->active];
	return 0;
}

/* A longer IPv6 prefix's hash entry, through the syscall (ctx: the fd). */
static int map_find6(const void *ctx, unsigned len, const uint8_t *masked, uint32_t *cls)
{
	struct sluice_fast6_key k = {.len = len};
	struct sluice_fast6_val v;

	memcpy(k.addr, masked, 16);
	if (bpf_map_lookup_elem(*(const int *)ctx, &k, &v))
		return -1;
	*cls = v.cls;
	return 0;
}

/* The IPv6 bucket walk of xdp/fast_lookup.h: the entry from the dense
 * array (mmapped) or the hash, the longer prefixes through the syscall. */
static uint32_t dp_fast6(const struct dataplane *dp, const uint8_t *addr, uint32_t cls)
{
	const int fd = dp->fast6_fd[dp->active];
	const struct sluice_fast6_val *b;
	struct sluice_fast6_val v;

	if (cls == SLUICE_CLASS_DENSE) {
		struct fast6_view view = {
		    .l1 = (const uint8_t *)dp->fast_mem[1] + dp->active * FAST6_L1_BYTES,
		    .rank = dp->rank6_mem + (size_t)dp->active * SLUICE_FAST6_RANK_WORDS,
		    .dense = dp->dense6_mem + (size_t)dp->active * SLUICE_FAST6_DENSE,
		    .n_dense = SLUICE_FAST6_DENSE,
		};

		b = fast6_dense_entry(&view, (uint32_t)addr[0] << 16 | (uint32_t)addr[1] << 8 |
						 addr[2]);
	} else {
		struct sluice_fast6_key k = {.len = 24};

		memcpy(k.addr, addr, 3);
		b = bpf_map_lookup_elem(fd, &k, &v) ? NULL : &v;
	}
	return b ? fast6_bucket_class(b, addr, map_find6, &fd) : SLUICE_CLASS_DEEPER;
}

int dp_source_verdict(const struct dataplane *dp, int family, const uint8_t *addr,
		      struct sluice_verdict *v)
{
	uint32_t top = (uint32_t)addr[0] << 16 | (uint32_t)addr[1] << 8 | addr[2], cls;

	memset(v, 0, sizeof(*v));
	if (family == 4) {
		struct fast4_view fv = {
		    .sum = (const uint64_t *)((const uint8_t *)dp->fast_mem[0] +
					      dp->active * FAST4_SUM_BYTES),
		    .detail = (const uint64_t *)((const uint8_t *)dp->detail_mem +
						 dp->active * FAST4_DETAIL_BYTES),
		    .chunks = (const uint8_t *)dp->chunks_mem + dp->active * FAST4_CHUNKS_BYTES,
		};

		cls = fast4_class(&fv, top << 8 | addr[3]);
	} else {
		cls = ((const uint8_t *)dp->fast_mem[1])[dp->active * FAST6_L1_BYTES + top];
		if (cls == SLUICE_CLASS_HASH || cls == SLUICE_CLASS_DENSE)
			cls = dp_fast6(dp, addr, cls);
	}
	if (!cls)
		return 0;
	if (cls != SLUICE_CLASS_DEEPER) {
		uint32_t k = dp->active * SLUICE_CLASSES + (cls & 0xff);

		return bpf_map_lookup_elem(dp->classes_fd, &k, v) ? -1 : 1;
	}
	{
		struct sluice_lpm_v6_key k = {.prefixlen = family == 6 ? 128 : 32};

		memcpy(k.addr, addr, 16);
		return bpf_map_lookup_elem(dp->trie_fd[family == 6][dp->active], &k, v) ? 0 : 1;
	}
}
