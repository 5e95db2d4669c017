// SPDX-License-Identifier: GPL-2.0
/*
 * feedload.c - where a big feed's load time goes (the bench's feedload
 * scenario).  The daemon's path, phase by phase, with the daemon's own
 * functions: read + parse the config and its list files (model_load),
 * of which inflating alone (zlib, no parsing), compile (allowlist
 * precedence, duplicates), paint (the DIR-24 tables and the slow-path trie
 * entries) and the map writes (verdicts_apply into LPM tries made like the
 * data path's, twice: into empty maps as at start, and again into the
 * filled ones as a reload of an unchanged feed does; the two 16 MiB
 * tables copied into mmapped arrays).  Memory: the kernel's own account of
 * each map (memlock in fdinfo; for an LPM trie that is its nodes), and this
 * process's peak RSS.
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

#include "compile.h"
#include "fastpath.h"
#include "model.h"
#include "verdicts.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The kernel's memory account of a map (fdinfo "memlock:"), bytes. */
static long long memlock_of(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
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

struct maps {
	int v4, v6, fast4, fast6;
	void *mem4, *mem6;
};

static int maps_create(struct maps *m)
{
	size_t bytes = (size_t)SLUICE_FAST_WORDS * 8;
	LIBBPF_OPTS(bpf_map_create_opts, lpm, .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_create_opts, mm, .map_flags = BPF_F_MMAPABLE);

	m->v4 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "fl_v4", sizeof(struct sluice_lpm_v4_key),
			       sizeof(struct sluice_verdict), SLUICE_VERDICT_V4_MAX, &lpm);
	m->v6 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "fl_v6", sizeof(struct sluice_lpm_v6_key),
			       sizeof(struct sluice_verdict), SLUICE_VERDICT_V6_MAX, &lpm);
	m->fast4 = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fl_fast4", 4, 8, SLUICE_FAST_WORDS, &mm);
	m->fast6 = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fl_fast6", 4, 8, SLUICE_FAST_WORDS, &mm);
	if (m->v4 < 0 || m->v6 < 0 || m->fast4 < 0 || m->fast6 < 0)
		return -errno;
	m->mem4 = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->fast4, 0);
	m->mem6 = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->fast6, 0);
	if (m->mem4 == MAP_FAILED || m->mem6 == MAP_FAILED)
		return -errno;
	return 0;
}

static void maps_close(struct maps *m)
{
	if (m->v4 < 0)
		return;
	if (m->mem4 != MAP_FAILED)
		munmap(m->mem4, (size_t)SLUICE_FAST_WORDS * 8);
	if (m->mem6 != MAP_FAILED)
		munmap(m->mem6, (size_t)SLUICE_FAST_WORDS * 8);
	close(m->v4);
	close(m->v6);
	close(m->fast4);
	close(m->fast6);
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
	P_PAINT,
	P_TRIE_FRESH,
	P_TRIE_AGAIN,
	P_TRIE_V6,
	P_TABLES,
	P_N
};
static const char *const phase_names[P_N] = {
    "read_parse_ms",	   "inflate_only_ms",	      "compile_ms",
    "paint_ms",		   "trie_write_fresh_ms",     "trie_write_unchanged_ms",
    "trie_write_v6_only_ms", "table_copy_ms"};

/* The v6 share of the trie writes alone, into fresh maps: what is left of
 * them when IPv4 needs no trie entries (a second table level). */
static double v6_writes_ms(const struct prefix_list *trie)
{
	struct maps mm = {.v4 = -1, .v6 = -1, .fast4 = -1, .fast6 = -1,
			  .mem4 = MAP_FAILED, .mem6 = MAP_FAILED};
	struct prefix_list v6 = {0};
	struct verdict_apply_stats st;
	double t0, ms = -1;

	for (size_t i = 0; i < trie->n; i++)
		if (trie->v[i].family == 6 && prefix_list_push(&v6, &trie->v[i]))
			goto out;
	if (maps_create(&mm))
		goto out;
	t0 = now_ms();
	if (!verdicts_apply(mm.v4, mm.v6, &v6, &st))
		ms = now_ms() - t0;
out:
	maps_close(&mm);
	prefix_list_free(&v6);
	return ms;
}

static int run_once(const char *conf, double *ms, struct maps *mm, size_t *counts, long long *mem)
{
	struct prefix_list compiled = {0};
	struct verdict_apply_stats st;
	struct verdict_tables t;
	struct sluice_model m;
	struct diag dg = {0};
	char err[SLUICE_ERRLEN];
	double t0;
	int rc;

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
		if (m.list_sources[i].what[0] == '/' || strchr(m.list_sources[i].what, '/'))
			inflate_only(m.list_sources[i].what);
	ms[P_INFLATE] = now_ms() - t0;

	t0 = now_ms();
	rc = compile_verdicts(&m.block, &m.allow, &compiled);
	ms[P_COMPILE] = now_ms() - t0;
	if (rc)
		return rc;
	t0 = now_ms();
	rc = verdict_tables_build(&compiled, &t, err, sizeof(err));
	ms[P_PAINT] = now_ms() - t0;
	if (rc) {
		fprintf(stderr, "sluice-feedload: %s\n", err);
		return rc;
	}
	if (maps_create(mm)) {
		fprintf(stderr, "sluice-feedload: creating maps: %s\n", strerror(errno));
		return -1;
	}
	t0 = now_ms();
	rc = verdicts_apply(mm->v4, mm->v6, &t.trie, &st);
	ms[P_TRIE_FRESH] = now_ms() - t0;
	t0 = now_ms();
	if (!rc)
		rc = verdicts_apply(mm->v4, mm->v6, &t.trie, &st);
	ms[P_TRIE_AGAIN] = now_ms() - t0;
	ms[P_TRIE_V6] = v6_writes_ms(&t.trie);
	t0 = now_ms();
	memcpy(mm->mem4, t.fast4, (size_t)SLUICE_FAST_WORDS * 8);
	memcpy(mm->mem6, t.fast6, (size_t)SLUICE_FAST_WORDS * 8);
	ms[P_TABLES] = now_ms() - t0;
	counts[0] = m.block.n;
	counts[1] = compiled.n;
	counts[2] = 0;
	counts[3] = 0;
	for (size_t i = 0; i < t.trie.n; i++)
		counts[t.trie.v[i].family == 6 ? 3 : 2]++;
	counts[4] = t.deeper4;
	mem[0] = memlock_of(mm->v4);
	mem[1] = memlock_of(mm->v6);
	mem[2] = memlock_of(mm->fast4) + memlock_of(mm->fast6);
	maps_close(mm);
	verdict_tables_free(&t);
	prefix_list_free(&compiled);
	model_free(&m);
	return rc;
}

static int phases(const char *conf, int repeat)
{
	double ms[16][P_N], col[16];
	size_t counts[5] = {0};
	long long mem[3] = {0};
	struct rusage ru;
	struct maps mm = {.v4 = -1, .v6 = -1, .fast4 = -1, .fast6 = -1,
			  .mem4 = MAP_FAILED, .mem6 = MAP_FAILED};
	const char *sep = "";

	if (repeat < 1 || repeat > 16)
		repeat = 3;
	for (int r = 0; r < repeat; r++)
		if (run_once(conf, ms[r], &mm, counts, mem))
			return 1;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"repeat\":%d,", repeat);
	for (int p = 0; p < P_N; p++) {
		for (int r = 0; r < repeat; r++)
			col[r] = ms[r][p];
		printf("%s\"%s\":%.1f", sep, phase_names[p], median(col, repeat));
		sep = ",";
	}
	printf(",\"prefixes\":%zu,\"compiled\":%zu,\"trie_v4_entries\":%zu,\"trie_v6_entries\":%zu,"
	       "\"deeper_v4_buckets\":%zu,\"memlock_trie_v4\":%lld,\"memlock_trie_v6\":%lld,"
	       "\"memlock_fast_tables_one_gen\":%lld,\"peak_rss_kib\":%ld}\n",
	       counts[0], counts[1], counts[2], counts[3], counts[4], mem[0], mem[1], mem[2],
	       ru.ru_maxrss);
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
		ml = memlock_of(fd);
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
