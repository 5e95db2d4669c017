// SPDX-License-Identifier: GPL-2.0
/* harness.c - the test runner and the XDP fixture behind harness.h. */
#include "harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "prefix.h"
#include "sluice.skel.h"
#include "verdicts.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
	const char *needs;
} tests[MAX_TESTS];
static int n_tests;
static struct sluice *skel;
static int ncpus;

void register_test(const char *name, test_fn fn, const char *needs)
{
	if (n_tests < MAX_TESTS)
		tests[n_tests++] = (typeof(tests[0])){name, fn, needs};
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int fixture_load(void)
{
	struct bpf_map *map;

	libbpf_set_print(silent_print);
	skel = sluice__open();
	if (!skel) {
		fprintf(stderr, "cannot open the sluice BPF object: %s\n", strerror(errno));
		return -1;
	}
	/* Tests use private, unpinned maps: never touch a running sluice. */
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	if (sluice__load(skel)) {
		fprintf(stderr, "cannot load the sluice XDP program into this kernel (need root, "
				"BPF and BTF): %s\n",
			strerror(errno));
		sluice__destroy(skel);
		skel = NULL;
		return -1;
	}
	ncpus = libbpf_num_possible_cpus();
	return 0;
}

static int fixture_reset(void)
{
	static const char *const none[] = {NULL};
	struct sluice_counter zero_c[ncpus];
	__u64 zero_a[ncpus];

	memset(zero_c, 0, sizeof(zero_c));
	memset(zero_a, 0, sizeof(zero_a));
	for (__u32 i = 0; i < SLUICE_COUNTER_SLOTS; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.counters), &i, zero_c, 0))
			return -errno;
	for (__u32 i = 0; i < SA_MAX; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.aux_counters), &i, zero_a, 0))
			return -errno;
	return xdp_set_lists(none, none);
}

int xdp_map_fd(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, name);

	return m ? bpf_map__fd(m) : -1;
}

static uint64_t count_field(int reason, int action, int bytes)
{
	struct sluice_counter vals[ncpus];
	__u32 slot = (__u32)(reason * SLUICE_ACTION_MAX + action);
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &slot, vals))
		return UINT64_MAX;
	for (int i = 0; i < ncpus; i++)
		sum += bytes ? vals[i].bytes : vals[i].packets;
	return sum;
}

uint64_t xdp_count_packets(int reason, int action)
{
	return count_field(reason, action, 0);
}

uint64_t xdp_count_bytes(int reason, int action)
{
	return count_field(reason, action, 1);
}

int xdp_run(const uint8_t *frame, size_t len, struct run_result *r)
{
	uint64_t before[SLUICE_COUNTER_SLOTS];
	struct xdp_md ctx_in = {.data = 0, .data_end = (__u32)len};
	struct xdp_md ctx_out = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);
	int moved = 0;

	for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++)
		before[i] = count_field(i / SLUICE_ACTION_MAX, i % SLUICE_ACTION_MAX, 0);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_xdp), &opts)) {
		fprintf(stderr, "    BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
		return -1;
	}
	r->action = (int)opts.retval;
	r->reason = -1;
	for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++) {
		uint64_t now = count_field(i / SLUICE_ACTION_MAX, i % SLUICE_ACTION_MAX, 0);

		if (now != before[i]) {
			moved += (int)(now - before[i]);
			r->reason = i / SLUICE_ACTION_MAX;
			if (i % SLUICE_ACTION_MAX != r->action) {
				fprintf(stderr, "    counted under action %d but returned %d\n",
					i % SLUICE_ACTION_MAX, r->action);
				return -1;
			}
		}
	}
	if (moved != 1) {
		fprintf(stderr, "    packet counted %d times (want exactly once)\n", moved);
		return -1;
	}
	/* Output starts at data_meta; ctx_out.data is the metadata length. */
	r->tagged = 0;
	memset(&r->meta, 0, sizeof(r->meta));
	if (ctx_out.data == sizeof(struct sluice_meta)) {
		memcpy(&r->meta, r->out, sizeof(r->meta));
		r->tagged = r->meta.magic == SLUICE_META_MAGIC;
	}
	r->out_len = opts.data_size_out - ctx_out.data;
	memmove(r->out, r->out + ctx_out.data, r->out_len);
	return 0;
}

int xdp_run_spec(const struct pkt_spec *s, struct run_result *r)
{
	uint8_t buf[FRAME_MAX];
	size_t len = build_frame(s, buf, NULL);

	if (xdp_run(buf, len, r))
		return -1;
	return r->reason;
}

static int parse_all(const char *const *cidrs, struct prefix_list *l)
{
	for (; cidrs && *cidrs; cidrs++) {
		struct sluice_prefix p;
		char err[SLUICE_ERRLEN];

		if (prefix_parse(*cidrs, &p, err, sizeof(err))) {
			fprintf(stderr, "    bad fixture prefix: %s\n", err);
			return -1;
		}
		if (prefix_list_push(l, &p))
			return -1;
	}
	return 0;
}

int xdp_set_lists(const char *const *block, const char *const *allow)
{
	struct prefix_list b = {0}, a = {0}, out = {0};
	struct verdict_apply_stats st;
	int rc = -1;

	if (parse_all(block, &b) || parse_all(allow, &a))
		goto out;
	if (compile_verdicts(&b, &a, &out))
		goto out;
	rc = verdicts_apply(bpf_map__fd(skel->maps.verdict_v4), bpf_map__fd(skel->maps.verdict_v6),
			    &out, &st);
	if (rc)
		fprintf(stderr, "    verdicts_apply: %s\n", strerror(-rc));
out:
	prefix_list_free(&b);
	prefix_list_free(&a);
	prefix_list_free(&out);
	return rc;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0, loaded = 0;

	for (int i = 0; i < n_tests; i++) {
		int rc;

		if (filter && !strstr(tests[i].name, filter))
			continue;
		if (tests[i].needs && !loaded) {
			loaded = fixture_load() ? -1 : 1;
		}
		if (tests[i].needs && loaded < 0) {
			rc = -1;
		} else if (tests[i].needs && fixture_reset()) {
			fprintf(stderr, "    fixture reset failed: %s\n", strerror(errno));
			rc = -1;
		} else {
			rc = tests[i].fn();
		}
		printf("%s %s\n", rc ? "FAIL" : "ok  ", tests[i].name);
		fflush(stdout);
		if (rc)
			failed++;
		else
			passed++;
	}
	if (skel)
		sluice__destroy(skel);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
