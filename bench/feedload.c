// SPDX-License-Identifier: GPL-2.0
/*
 * feedload.c - where a big feed's load time goes (the bench's feedload
 * scenario).  The daemon's path, phase by phase, with the daemon's own
 * functions, into maps made like the data path's (xdp/sluice_maps.h: both
 * generations of fast_v4, fast4_chunks, fast_v6, fast6_rank, fast6_dense,
 * the fast6_g0/g1 hashes, fast6_masks, verdict_classes, the four overflow
 * tries):
 *   read + parse the config and its list files (model_load), of which
 *   inflating alone (zlib, no parsing); compile (compile_verdicts);
 *   build the fast tables in memory (verdict_tables_build); then each map
 *   write of dp_write_lists on its own, into generation 0: classes + masks,
 *   overflow tries (verdicts_apply), IPv6 hash (batches, as
 *   dataplane_lists.c), IPv4 chunks, the IPv4 and IPv6 tables (mmap
 *   copies); then dp_write_lists itself, the production function, into
 *   generation 1 (fresh maps: a start), dp_copy_lists of generation 1 into
 *   0 (what the daemon's first switch does after its commit), and
 *   dp_write_lists again into generation 0, which holds the same lists (a
 *   reload of an unchanged feed: hash drained and rewritten, tries diffed
 *   against what the daemon remembers).
 * Memory: the kernel's own account of each map (memlock in fdinfo: the
 * preallocated arrays, the hash's elements, the tries' nodes), the mmapped
 * bytes, and this process's peak RSS.
 *
 *   sluice-feedload CONFIG [--repeat N]     phases, one JSON object
 *   sluice-feedload --maps PIN_DIR          memlock of the pinned maps (JSON)
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "compile.h"
#include "dataplane.h"
#include "fastpath.h"
#include "model.h"
#include "verdicts.h"

static double now_ms(void)
{
	return (double)mono_ns() / 1e6;
}

/* Inflate a file and throw the bytes away: the zlib share of reading it. */
static long long inflate_only(const char *path)
{
	static char buf[1 << 18];
	long long total = 0;
	gzFile f = gzopen(path, "rb");
	int n;

	if (!f)
		return -1;
	gzbuffer(f, 256 * 1024);
	while ((n = gzread(f, buf, sizeof(buf))) > 0)
		total += n;
	gzclose(f);
	return total;
}

#define BATCH 8192

/* The list maps of the data path, made like xdp/sluice_maps.h's, in a
 * struct dataplane so that dp_write_lists can write them. */
struct maps {
	struct dataplane dp;
	/* fast_v4, fast4_chunks, fast_v6, fast4_detail, fast6_rank, fast6_dense:
	 * both gens */
	size_t mm_bytes[6];
};

static void maps_close(struct maps *m)
{
	struct dataplane *dp = &m->dp;
	void *mem[6] = {dp->fast_mem[0], dp->chunks_mem, dp->fast_mem[1], dp->detail_mem,
			dp->rank6_mem,	 dp->dense6_mem};
	int fds[] = {dp->fast_fd[0],	 dp->fast_fd[1],     dp->chunks_fd,	dp->fast6_fd[0],
		     dp->detail_fd,	 dp->rank6_fd,	     dp->dense6_fd,
		     dp->fast6_fd[1],	 dp->fast6_masks_fd, dp->classes_fd,	dp->trie_fd[0][0],
		     dp->trie_fd[0][1], dp->trie_fd[1][0], dp->trie_fd[1][1]};

	for (int i = 0; i < 6; i++)
		if (mem[i] && mem[i] != MAP_FAILED)
			munmap(mem[i], m->mm_bytes[i]);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	prefix_list_free(&dp->trie_have[0]);
	prefix_list_free(&dp->trie_have[1]);
	memset(m, 0, sizeof(*m));
}

static void *map_mmap(int fd, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int maps_create(struct maps *m)
{
	struct dataplane *dp = &m->dp;
	LIBBPF_OPTS(bpf_map_create_opts, np, .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_create_opts, mm, .map_flags = BPF_F_MMAPABLE);
	LIBBPF_OPTS(bpf_map_create_opts, plain);

	memset(m, 0, sizeof(*m));
	m->mm_bytes[0] = SLUICE_GENS * FAST4_SUM_BYTES;
	m->mm_bytes[1] = SLUICE_GENS * FAST4_CHUNKS_BYTES;
	m->mm_bytes[2] = SLUICE_GENS * FAST6_L1_BYTES;
	m->mm_bytes[3] = SLUICE_GENS * FAST4_DETAIL_BYTES;
	m->mm_bytes[4] = SLUICE_GENS * FAST6_RANK_BYTES;
	m->mm_bytes[5] = SLUICE_GENS * FAST6_DENSE_BYTES;
	dp->fast_fd[0] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fast_v4", 4, 8,
					SLUICE_GENS * SLUICE_FAST4_SUM_WORDS, &mm);
	dp->detail_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fast4_detail", 4, 8,
				       SLUICE_GENS * SLUICE_FAST4_DETAIL, &mm);
	dp->chunks_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fast4_chunks", 4, 8,
				       SLUICE_GENS * SLUICE_FAST4_CHUNKS * SLUICE_CHUNK_WORDS, &mm);
	dp->fast_fd[1] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fast_v6", 4, 8,
					SLUICE_GENS * SLUICE_FAST_WORDS, &mm);
	dp->rank6_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fast6_rank", 4, 8,
				      SLUICE_GENS * SLUICE_FAST6_RANK_WORDS, &mm);
	dp->dense6_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fast6_dense", 4,
				       sizeof(struct sluice_fast6_val),
				       SLUICE_GENS * SLUICE_FAST6_DENSE, &mm);
	for (int g = 0; g < 2; g++) {
		dp->fast6_fd[g] = bpf_map_create(BPF_MAP_TYPE_HASH, g ? "fast6_g1" : "fast6_g0",
						 sizeof(struct sluice_fast6_key),
						 sizeof(struct sluice_fast6_val),
						 SLUICE_FAST6_ENTRIES, &np);
		dp->trie_fd[0][g] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, g ? "verdict_v4_g1" : "verdict_v4_g0",
						   sizeof(struct sluice_lpm_v4_key),
						   sizeof(struct sluice_verdict), SLUICE_VERDICT_V4_MAX, &np);
		dp->trie_fd[1][g] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, g ? "verdict_v6_g1" : "verdict_v6_g0",
						   sizeof(struct sluice_lpm_v6_key),
						   sizeof(struct sluice_verdict), SLUICE_VERDICT_V6_MAX, &np);
	}
	dp->fast6_masks_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fast6_masks", 4,
					    sizeof(struct sluice_fast6_mask), 129, &plain);
	dp->classes_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "verdict_classes", 4,
					sizeof(struct sluice_verdict), SLUICE_GENS * SLUICE_CLASSES,
					&plain);
	/* the rest of struct dataplane: not list maps, never touched here */
	dp->state_fd = dp->ring_fd = dp->backends_fd = -1;
	if (dp->fast_fd[0] < 0 || dp->fast_fd[1] < 0 || dp->chunks_fd < 0 || dp->fast6_fd[0] < 0 ||
	    dp->fast6_fd[1] < 0 || dp->trie_fd[0][0] < 0 || dp->trie_fd[0][1] < 0 ||
	    dp->trie_fd[1][0] < 0 || dp->trie_fd[1][1] < 0 || dp->fast6_masks_fd < 0 ||
	    dp->classes_fd < 0 || dp->detail_fd < 0 || dp->rank6_fd < 0 ||
	    dp->dense6_fd < 0)
		return -errno;
	dp->fast_mem[0] = map_mmap(dp->fast_fd[0], m->mm_bytes[0]);
	dp->chunks_mem = map_mmap(dp->chunks_fd, m->mm_bytes[1]);
	dp->fast_mem[1] = map_mmap(dp->fast_fd[1], m->mm_bytes[2]);
	dp->detail_mem = map_mmap(dp->detail_fd, m->mm_bytes[3]);
	dp->rank6_mem = map_mmap(dp->rank6_fd, m->mm_bytes[4]);
	dp->dense6_mem = map_mmap(dp->dense6_fd, m->mm_bytes[5]);
	if (!dp->fast_mem[0] || !dp->chunks_mem || !dp->fast_mem[1] || !dp->detail_mem ||
	    !dp->rank6_mem || !dp->dense6_mem)
		return -errno;
	return 0;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), by_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum {
	P_READ_PARSE,
	P_INFLATE,
	P_COMPILE,
	P_BUILD,
	P_CLASSES,
	P_TRIES,
	P_HASH6,
	P_CHUNKS,
	P_FAST4,
	P_FAST6,
	P_START,
	P_START_BUILD,
	P_START_WRITE,
	P_COPY,
	P_AGAIN,
	P_AGAIN_BUILD,
	P_AGAIN_WRITE,
	P_N
};
static const char *const phase_names[P_N] = {
    "read_parse_ms",	     "inflate_only_ms",	    "compile_ms",
    "build_ms",		     "write_classes_ms",    "write_tries_ms",
    "write_hash6_ms",	     "write_chunks_ms",	    "write_fast4_ms",
    "write_fast6_ms",	     "write_lists_start_ms", "write_lists_start_build_ms",
    "write_lists_start_write_ms", "copy_lists_after_start_ms", "write_lists_again_ms", "write_lists_again_build_ms",
    "write_lists_again_write_ms"};

static int write_classes(int fd, const struct sluice_verdict *cls)
{
	for (uint32_t i = 0; i < SLUICE_CLASSES; i++)
		if (bpf_map_update_elem(fd, &i, &cls[i], BPF_ANY))
			return -errno;
	return 0;
}

/* counts: prefixes, compiled, chunks, buckets6, h6 entries, trie v4, trie
 * v6, deeper4, deeper6 */
enum { C_PREFIXES, C_COMPILED, C_CHUNKS, C_BUCKETS6, C_H6, C_TRIE4, C_TRIE6, C_DEEPER4, C_DEEPER6,
       C_DETAILS, C_RANGES, C_DENSE6, C_N };
static const char *const count_names[C_N] = {
    "prefixes",	       "compiled",	  "chunks_v4", "buckets_v6", "hash_v6_entries",
    "trie_v4_entries", "trie_v6_entries", "deeper_v4", "deeper_v6", "details_v4", "ranges_v4",
    "dense_v6"};

struct mem {
	long long fast_v4, chunks, fast_v6, hash6, trie4, trie6, classes;
	size_t mmapped;
};

static int run_once(const char *conf, double *ms, size_t *counts, struct mem *mem)
{
	struct prefix_list compiled = {0};
	struct verdict_apply_stats st;
	struct verdict_tables t = {0};
	struct sluice_model m;
	struct maps mm;
	struct dataplane *dp = &mm.dp;
	struct diag dg = {0};
	char err[SLUICE_ERRLEN];
	double t0;
	int rc, built = 0;

	t0 = now_ms();
	if (model_load(conf, &m, &dg)) {
		for (size_t i = 0; i < dg.n; i++)
			fprintf(stderr, "%s\n", dg.msgs[i]);
		return -1;
	}
	ms[P_READ_PARSE] = now_ms() - t0;
	diag_free(&dg);
	t0 = now_ms();
	for (size_t i = 0; i < m.n_list_sources; i++)
		if (strchr(m.list_sources[i].what, '/'))
			inflate_only(m.list_sources[i].what);
	ms[P_INFLATE] = now_ms() - t0;

	t0 = now_ms();
	rc = compile_verdicts(&m.block, &m.allow, &compiled);
	ms[P_COMPILE] = now_ms() - t0;
	if (rc)
		goto out;
	t0 = now_ms();
	rc = verdict_tables_build(&compiled, &t, err, sizeof(err));
	ms[P_BUILD] = now_ms() - t0;
	if (rc) {
		fprintf(stderr, "sluice-feedload: %s\n", err);
		goto out;
	}
	built = 1;
	rc = maps_create(&mm);
	if (rc) {
		fprintf(stderr, "sluice-feedload: creating maps: %s\n", strerror(-rc));
		goto out_maps;
	}

	/* each write of dp_write_lists on its own, into generation 0 */
	t0 = now_ms();
	rc = write_classes(dp->classes_fd, t.classes);
	ms[P_CLASSES] = now_ms() - t0;
	t0 = now_ms();
	if (!rc)
		rc = verdicts_apply(dp->trie_fd[0][0], dp->trie_fd[1][0], &t.trie, &st);
	ms[P_TRIES] = now_ms() - t0;
	t0 = now_ms();
	if (!rc)
		rc = dp_write_hash6(dp->fast6_fd[0], t.h6, t.n_h6);
	ms[P_HASH6] = now_ms() - t0;
	if (rc) {
		fprintf(stderr, "sluice-feedload: writing the maps: %s\n", strerror(-rc));
		goto out_maps;
	}
	t0 = now_ms();
	if (t.n_chunks)
		memcpy(dp->chunks_mem, t.chunks, t.n_chunks * 256);
	ms[P_CHUNKS] = now_ms() - t0;
	t0 = now_ms();
	memcpy(dp->fast_mem[0], t.sum, FAST4_SUM_BYTES);
	if (t.n_detail)
		memcpy(dp->detail_mem, t.detail, t.n_detail * sizeof(*t.detail));
	ms[P_FAST4] = now_ms() - t0;
	t0 = now_ms();
	memcpy(dp->fast_mem[1], t.fast6, FAST6_L1_BYTES);
	memcpy(dp->rank6_mem, t.rank6, FAST6_RANK_BYTES);
	if (t.n_dense6)
		memcpy(dp->dense6_mem, t.dense6, t.n_dense6 * sizeof(*t.dense6));
	ms[P_FAST6] = now_ms() - t0;

	/* the production function: generation 1 fresh (a start), then
	 * generation 0 again over the same lists (a reload, feed unchanged) */
	for (int pass = 0; pass < 2; pass++) {
		int p = pass ? P_AGAIN : P_START;

		dp->shadow = pass ? 0 : 1;
		dp->active = !dp->shadow;
		t0 = now_ms();
		rc = dp_write_lists(dp, &compiled, &st, err, sizeof(err));
		ms[p] = now_ms() - t0;
		if (rc) {
			fprintf(stderr, "sluice-feedload: dp_write_lists: %s\n", err);
			goto out_maps;
		}
		ms[p + 1] = dp->fast[dp->shadow].build_ms;
		ms[p + 2] = dp->fast[dp->shadow].write_ms;
		if (pass)
			continue;
		/* what the daemon's first switch does after its commit: the
		 * active lists copied into the other generation (daemon_apply.c) */
		dp->active = 1;
		dp->shadow = 0;
		t0 = now_ms();
		rc = dp_copy_lists(dp);
		ms[P_COPY] = now_ms() - t0;
		if (rc) {
			fprintf(stderr, "sluice-feedload: dp_copy_lists: %s\n", strerror(-rc));
			goto out_maps;
		}
	}

	counts[C_PREFIXES] = m.block.n + m.allow.n;
	counts[C_COMPILED] = compiled.n;
	counts[C_CHUNKS] = t.n_chunks;
	counts[C_DETAILS] = t.n_detail;
	counts[C_RANGES] = t.ranges4;
	counts[C_BUCKETS6] = t.buckets6;
	counts[C_H6] = t.n_h6;
	counts[C_DENSE6] = t.n_dense6;
	counts[C_TRIE4] = counts[C_TRIE6] = 0;
	for (size_t i = 0; i < t.trie.n; i++)
		counts[t.trie.v[i].family == 6 ? C_TRIE6 : C_TRIE4]++;
	counts[C_DEEPER4] = t.deeper4;
	counts[C_DEEPER6] = t.deeper6;
	mem->fast_v4 = dp_map_memlock(dp->fast_fd[0]) + dp_map_memlock(dp->detail_fd);
	mem->chunks = dp_map_memlock(dp->chunks_fd);
	mem->fast_v6 = dp_map_memlock(dp->fast_fd[1]) + dp_map_memlock(dp->rank6_fd) +
		       dp_map_memlock(dp->dense6_fd);
	mem->hash6 = dp_map_memlock(dp->fast6_fd[0]) + dp_map_memlock(dp->fast6_fd[1]);
	mem->trie4 = dp_map_memlock(dp->trie_fd[0][0]) + dp_map_memlock(dp->trie_fd[0][1]);
	mem->trie6 = dp_map_memlock(dp->trie_fd[1][0]) + dp_map_memlock(dp->trie_fd[1][1]);
	mem->classes = dp_map_memlock(dp->classes_fd);
	mem->mmapped = mm.mm_bytes[0] + mm.mm_bytes[1] + mm.mm_bytes[2] + mm.mm_bytes[3] +
		       mm.mm_bytes[4] + mm.mm_bytes[5];
out_maps:
	maps_close(&mm);
out:
	if (built)
		verdict_tables_free(&t);
	prefix_list_free(&compiled);
	model_free(&m);
	return rc;
}

static int phases(const char *conf, int repeat)
{
	double ms[16][P_N], col[16];
	size_t counts[C_N] = {0};
	struct mem mem = {0};
	struct rusage ru;
	const char *sep = "";

	if (repeat < 1 || repeat > 16)
		repeat = 3;
	for (int r = 0; r < repeat; r++)
		if (run_once(conf, ms[r], counts, &mem))
			return 1;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"repeat\":%d,", repeat);
	for (int p = 0; p < P_N; p++) {
		for (int r = 0; r < repeat; r++)
			col[r] = ms[r][p];
		printf("%s\"%s\":%.1f", sep, phase_names[p], median(col, repeat));
		sep = ",";
	}
	for (int c = 0; c < C_N; c++)
		printf(",\"%s\":%zu", count_names[c], counts[c]);
	printf(",\"memlock\":{\"fast_v4\":%lld,\"fast4_chunks\":%lld,\"fast_v6\":%lld,"
	       "\"fast6_g0_g1\":%lld,\"verdict_v4_g0_g1\":%lld,\"verdict_v6_g0_g1\":%lld,"
	       "\"verdict_classes\":%lld,\"total\":%lld},\"mmapped_bytes\":%zu,\"peak_rss_kib\":%ld}\n",
	       mem.fast_v4, mem.chunks, mem.fast_v6, mem.hash6, mem.trie4, mem.trie6, mem.classes,
	       mem.fast_v4 + mem.chunks + mem.fast_v6 + mem.hash6 + mem.trie4 + mem.trie6 +
		   mem.classes,
	       mem.mmapped, ru.ru_maxrss);
	return 0;
}

/* Every pinned map of a running data path: its memlock. */
static int pinned_maps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long long total = 0;
	const char *sep = "";

	if (!d) {
		fprintf(stderr, "sluice-feedload: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	printf("{\"maps\":{");
	while ((e = readdir(d))) {
		char path[4096 + 256];
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);
		long long ml;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd); /* a pinned program or link, not a map */
			continue;
		}
		ml = dp_map_memlock(fd);
		close(fd);
		if (ml < 0)
			continue;
		total += ml;
		printf("%s\"%s\":%lld", sep, e->d_name, ml);
		sep = ",";
	}
	closedir(d);
	printf("},\"memlock_total\":%lld}\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--maps"))
		return pinned_maps(argv[2]);
	if (argc == 2)
		return phases(argv[1], 3);
	if (argc == 4 && !strcmp(argv[2], "--repeat"))
		return phases(argv[1], atoi(argv[3]));
	fprintf(stderr, "usage: sluice-feedload CONFIG [--repeat N] | --maps PIN_DIR\n");
	return 2;
}
