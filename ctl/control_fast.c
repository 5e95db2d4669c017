// SPDX-License-Identifier: GPL-2.0
/*
 * control_fast.c - the fast tables in `sluice status`: map sizes (memory)
 * and what the active generation holds, as text and as JSON
 * (`sluice status --json`).
 */
#include <bpf/bpf.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "fastpath.h"

#define MIB (1024.0 * 1024.0)

/* The IPv6 hash (buckets past the dense array, longer prefixes that are
 * not inline) is not preallocated: its memory is what the kernel counts
 * for the map (fdinfo "memlock:", per element allocated: ~212 B each), read from the active generation's map; when that cannot
 * be read, entries x (key + value + ~56 B of element overhead), which
 * undercounts (the kernel's per-element size is larger). */
static double hash6_mib(const struct daemon *d, size_t entries)
{
	long long bytes = dp_map_memlock(d->dp.fast6_fd[d->dp.active]);

	if (bytes >= 0)
		return (double)bytes / MIB;
	return (double)entries *
	       (sizeof(struct sluice_fast6_key) + sizeof(struct sluice_fast6_val) + 56) / MIB;
}

void fast_status_text(struct daemon *d, struct buf *out)
{
	const struct fast_stats *s = &d->dp.fast[d->dp.active];
	struct fast_mem m;

	fast_mem_sizes(&m);
	buf_printf(out,
		   "fast tables:   %.0f MiB mmapped (both generations): v4 /24 summary + rank %.0f, "
		   "v4 detail %.0f, v4 chunks %.0f, v6 top-24 bytes %.0f, v6 bucket entries + "
		   "rank %.0f\n",
		   (double)(m.v4_l1 + m.v4_detail + m.v4_chunks + m.v6_l1 + m.v6_dense) / MIB,
		   (double)m.v4_l1 / MIB, (double)m.v4_detail / MIB, (double)m.v4_chunks / MIB,
		   (double)m.v6_l1 / MIB, (double)m.v6_dense / MIB);
	if (!s->known) {
		buf_printf(out, "               (written before this daemon started)\n");
		return;
	}
	buf_printf(out,
		   "               v4 detailed /24s %zu of %zu (%zu as ranges), chunks %zu of %zu "
		   "(%zu /24s past them, in the trie); v6 "
		   "buckets %zu (%zu of %zu dense, the rest in the hash), hash %zu entries (~%.1f "
		   "MiB; %zu buckets in the trie); trie entries %zu\n",
		   s->details_used, m.details_total, s->ranges4, s->chunks_used, m.chunks_total,
		   s->deeper4, s->buckets6, s->dense6, m.dense6_total, s->h6_entries,
		   hash6_mib(d, s->h6_entries), s->deeper6, s->trie_entries);
	buf_printf(out,
		   "               last build %.0f ms (compile + paint), %.0f ms (map writes)\n",
		   s->build_ms, s->write_ms);
}

void status_json(struct daemon *d, struct buf *out)
{
	const struct fast_stats *s = &d->dp.fast[d->dp.active];
	struct sluice_state st = {0};
	uint32_t zero = 0;
	struct fast_mem m;

	fast_mem_sizes(&m);
	bpf_map_lookup_elem(d->dp.state_fd, &zero, &st);
	buf_printf(out, "{\"pid\": %d, \"generation\": %u, \"serial\": %u, ", (int)getpid(), st.gen,
		   st.serial);
	buf_printf(out,
		   "\"fast_tables\": {\"bytes\": {\"v4_l1\": %zu, \"v4_detail\": %zu, "
		   "\"v4_chunks\": %zu, \"v6_l1\": %zu, \"v6_dense\": %zu, "
		   "\"v6_hash_estimate\": %.0f}, ",
		   m.v4_l1, m.v4_detail, m.v4_chunks, m.v6_l1, m.v6_dense,
		   hash6_mib(d, s->h6_entries) * MIB);
	buf_printf(out,
		   "\"known\": %s, \"v4_details_used\": %zu, \"v4_details_total\": %zu, "
		   "\"v4_ranges\": %zu, \"v4_chunks_used\": %zu, \"v4_chunks_total\": %zu, "
		   "\"v4_overflow_24s\": %zu, \"v6_buckets\": %zu, \"v6_dense_buckets\": %zu, "
		   "\"v6_dense_total\": %zu, \"v6_hash_entries\": %zu, "
		   "\"v6_overflow_buckets\": %zu, \"trie_entries\": %zu, \"build_ms\": %.1f, "
		   "\"write_ms\": %.1f}, ",
		   s->known ? "true" : "false", s->details_used, m.details_total, s->ranges4,
		   s->chunks_used, m.chunks_total, s->deeper4,
		   s->buckets6, s->dense6, m.dense6_total, s->h6_entries, s->deeper6, s->trie_entries, s->build_ms,
		   s->write_ms);
	health_status_json(d, out);
	buf_printf(out, ", ");
	announce_status_json(d, out); /* "bgp": {...} */
	buf_printf(out, "}\n");
}
