// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/* harness.c - the test runner and the XDP fixture behind harness.h. */
#include "harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "dataplane.h"
#include "model.h"
#include "services.h"
#include "prefix.h"
#include "policy.skel.h"
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
static struct dataplane dp;
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

static uint8_t dev_mac[6];
static int dev_ifindex;

const uint8_t *lbt_dev_mac(void)
{
	return dev_mac;
}

int lbt_ifindex(void)
{
	return dev_ifindex;
}

/* A private network namespace so that routes and neighbours for the load
 * balancer tests never touch the host's. */
static int netns_setup(void)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add " LBT_DEV " address 02:00:00:00:00:01 type veth peer name lbt1",
		"ip link set " LBT_DEV " up",
		"ip link set lbt1 up",
		"ip addr add 198.51.100.1/24 dev " LBT_DEV,
		"ip addr add 203.0.113.1/24 dev " LBT_DEV,
		"ip addr add 2001:db8:1::1/64 dev " LBT_DEV " nodad",
		"ip addr add 2001:db8:20::1/64 dev " LBT_DEV " nodad",
		"ip neigh replace 198.51.100.7 lladdr 02:00:00:00:c1:01 nud permanent dev " LBT_DEV,
		"ip neigh replace 2001:db8:1::7 lladdr 02:00:00:00:c1:01 nud permanent dev " LBT_DEV,
		"for i in 11 12 13 14; do ip neigh replace 203.0.113.$i lladdr 02:00:00:00:be:01 nud "
		"permanent dev " LBT_DEV "; ip neigh replace 2001:db8:20::$i lladdr 02:00:00:00:be:01 "
		"nud permanent dev " LBT_DEV "; done",
		"sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
	};

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "cannot create a network namespace for the tests: %s\n",
			strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s >/dev/null", cmds[i]);
		if (system(cmd)) {
			fprintf(stderr, "test netns setup failed: %s\n", cmds[i]);
			return -1;
		}
	}
	dev_ifindex = (int)if_nametoindex(LBT_DEV);
	memcpy(dev_mac, "\x02\x00\x00\x00\x00\x01", 6);
	return dev_ifindex ? 0 : -1;
}

static int fixture_load(void)
{
	struct bpf_map *map;

	if (netns_setup())
		return -1;
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
	{
		char err[SLUICE_ERRLEN];

		if (dp_open_obj(&dp, skel->obj, err, sizeof(err))) {
			fprintf(stderr, "cannot open the data path maps: %s\n", err);
			return -1;
		}
		dp.grace_ns = 0; /* BPF_PROG_TEST_RUN: no packet is ever in flight */
	}
	return 0;
}

/* Zero a per-CPU array in one batch (thousands of single updates per test
 * would dominate the run time). */
static int zero_percpu_array(int fd, __u32 n, size_t value_size)
{
	size_t vsz = (value_size + 7) / 8 * 8;
	__u32 *keys = calloc(n, sizeof(*keys));
	void *vals = calloc((size_t)n * (size_t)ncpus, vsz);
	__u32 count = n;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int rc;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (__u32 i = 0; i < n; i++)
		keys[i] = i;
	rc = bpf_map_update_batch(fd, keys, vals, &count, &opts);
	free(keys);
	free(vals);
	return rc;
}

static int fixture_reset(void)
{
	static const char *const none[] = {NULL};
	struct sluice_counter zero_c[ncpus];
	__u64 zero_a[ncpus];

	memset(zero_c, 0, sizeof(zero_c));
	memset(zero_a, 0, sizeof(zero_a));
	memset(&dp.limits, 0, sizeof(dp.limits));
	for (__u32 i = 0; i < SLUICE_COUNTER_SLOTS; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.counters), &i, zero_c, 0))
			return -errno;
	for (__u32 i = 0; i < SA_MAX; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.aux_counters), &i, zero_a, 0))
			return -errno;
	if (zero_percpu_array(bpf_map__fd(skel->maps.lb_svc_stats), SLUICE_MAX_SERVICES,
			      sizeof(struct sluice_lb_counter)) ||
	    zero_percpu_array(bpf_map__fd(skel->maps.lb_backend_stats), SLUICE_MAX_BACKENDS,
			      sizeof(struct sluice_lb_counter)))
		return -errno;
	{
		struct lb_model empty = {0};
		int fd = bpf_map__fd(skel->maps.lb_conns);
		struct sluice_flow_key *keys = calloc(SLUICE_CONN_MAX, sizeof(*keys));
		size_t n = 0;

		struct prefix_list no_lists = {0};
		struct verdict_apply_stats vs;
		struct lb_apply_stats ls;
		char err[SLUICE_ERRLEN];

		/* one switch to an empty generation */
		struct sluice_model no_pods;

		memset(&no_pods, 0, sizeof(no_pods));
		if (!keys || dp_begin(&dp) || dp_write_lists(&dp, &no_lists, &vs, err, sizeof(err)) ||
		    dp_write_services(&dp, &empty, &ls) ||
		    dp_write_pods(&dp, &no_pods, err, sizeof(err)) || dp_commit(&dp))
			return -1;
		/* collect, then delete: restarting the walk after each delete
		 * would be quadratic in the table size */
		while (n < SLUICE_CONN_MAX &&
		       bpf_map_get_next_key(fd, n ? &keys[n - 1] : NULL, &keys[n]) == 0)
			n++;
		for (size_t i = 0; i < n; i++)
			bpf_map_delete_elem(fd, &keys[i]);
		free(keys);
		/* SYN token buckets too: each test starts with full buckets */
		{
			int bfd = bpf_map__fd(skel->maps.syn_buckets);
			struct sluice_syn_key bk, bnext;
			void *bprev = NULL;

			while (bpf_map_get_next_key(bfd, bprev, &bnext) == 0) {
				bpf_map_delete_elem(bfd, &bnext);
				bprev = NULL;
				(void)bk;
			}
		}
	}
	(void)none;
	return 0;
}

/* Every change goes through a generation switch, as in production: begin,
 * write one part, copy the others (KEEP_*) into the new generation, commit. */
enum { KEEP_LISTS = 1, KEEP_SERVICES = 2, KEEP_PODS = 4 };

/* The rest of a switch whose write step returned rc; what names the part
 * written, for the message. */
static int finish_switch(int rc, unsigned keep, const char *what)
{
	if (!rc && (keep & KEEP_LISTS))
		rc = dp_copy_lists(&dp);
	if (!rc && (keep & KEEP_SERVICES))
		rc = dp_copy_services(&dp);
	if (!rc && (keep & KEEP_PODS))
		rc = dp_copy_pods(&dp);
	if (!rc)
		rc = dp_commit(&dp);
	if (rc)
		fprintf(stderr, "    setting %s: %s\n", what, strerror(-rc));
	return rc;
}

int xdp_set_services(const struct lb_model *m)
{
	struct lb_apply_stats st;
	int rc = dp_begin(&dp);

	if (!rc)
		rc = dp_write_services(&dp, m, &st);
	return finish_switch(rc, KEEP_LISTS | KEEP_PODS, "services");
}

static struct policy *tc_skel;

struct policy *xdp_tc_obj(void)
{
	struct bpf_map *m;

	if (tc_skel || !skel)
		return tc_skel;
	tc_skel = policy__open();
	if (!tc_skel)
		return NULL;
	bpf_object__for_each_map(m, tc_skel->obj)
	{
		int fd = xdp_map_fd(bpf_map__name(m));

		bpf_map__set_pin_path(m, NULL);
		if (fd >= 0)
			bpf_map__reuse_fd(m, fd);
	}
	if (policy__load(tc_skel)) {
		policy__destroy(tc_skel);
		tc_skel = NULL;
	}
	return tc_skel;
}

int xdp_set_pods(const struct sluice_model *m)
{
	char err[SLUICE_ERRLEN];
	int rc = dp_begin(&dp);

	if (!rc)
		rc = dp_write_pods(&dp, m, err, sizeof(err));
	return finish_switch(rc, KEEP_LISTS | KEEP_SERVICES, "pods");
}

uint32_t xdp_backend_id(const char *addr, uint16_t port)
{
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN];

	if (prefix_parse(addr, &p, err, sizeof(err)))
		return 0;
	for (uint32_t id = 1; id < SLUICE_MAX_BACKENDS; id++) {
		struct sluice_backend b;

		uint32_t k = dp.active * SLUICE_MAX_BACKENDS + id;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.lb_backends), &k, &b))
			return 0;
		if (b.family == p.family && !memcmp(b.addr, p.addr, 16) && b.port == htons(port))
			return id;
	}
	return 0;
}

void xdp_set_grace_ns(uint64_t ns)
{
	dp.grace_ns = ns;
}

int xdp_active_gen(void)
{
	return (int)dp.active;
}

int xdp_prog_fd(void)
{
	return bpf_program__fd(skel->progs.sluice_xdp);
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

uint64_t xdp_map_packets(const char *map, uint32_t key)
{
	struct sluice_counter v[ncpus];
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(xdp_map_fd(map), &key, v))
		return UINT64_MAX;
	for (int c = 0; c < ncpus; c++)
		sum += v[c].packets;
	return sum;
}

uint64_t xdp_tc_count_packets(uint32_t reason)
{
	return xdp_map_packets("tc_counters", reason);
}

_Static_assert(sizeof(struct sluice_pod_stats) == (PS_EGRESS_DENIED + 1) * sizeof(uint64_t),
	       "enum pod_stat_field names every field of struct sluice_pod_stats");

uint64_t xdp_pod_stat(uint32_t pod_id, enum pod_stat_field field)
{
	struct sluice_pod_stats v[ncpus];
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(xdp_map_fd("pod_stats"), &pod_id, v))
		return 0;
	for (int c = 0; c < ncpus; c++)
		sum += ((const uint64_t *)&v[c])[field];
	return sum;
}

int xdp_read_slot_packets(uint64_t *out)
{
	static struct sluice_counter *vals;
	static __u32 keys[SLUICE_COUNTER_SLOTS];
	__u32 count = SLUICE_COUNTER_SLOTS, out_batch;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (!vals)
		vals = calloc((size_t)SLUICE_COUNTER_SLOTS * (size_t)ncpus, sizeof(*vals));
	if (!vals)
		return -1;
	if (bpf_map_lookup_batch(bpf_map__fd(skel->maps.counters), NULL, &out_batch, keys, vals,
				 &count, &opts) &&
	    errno != ENOENT)
		return -1;
	for (__u32 i = 0; i < count; i++) {
		out[keys[i]] = 0;
		for (int c = 0; c < ncpus; c++)
			out[keys[i]] += vals[(size_t)i * (size_t)ncpus + (size_t)c].packets;
	}
	return count == SLUICE_COUNTER_SLOTS ? 0 : -1;
}

uint64_t xdp_count_total(void)
{
	uint64_t all[SLUICE_COUNTER_SLOTS], n = 0;

	if (xdp_read_slot_packets(all))
		return UINT64_MAX;
	for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++)
		n += all[i];
	return n;
}

int xdp_run(const uint8_t *frame, size_t len, struct run_result *r)
{
	uint64_t before[SLUICE_COUNTER_SLOTS], after[SLUICE_COUNTER_SLOTS];
	struct xdp_md ctx_in = {.data = 0, .data_end = (__u32)len,
				.ingress_ifindex = (__u32)dev_ifindex};
	struct xdp_md ctx_out = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);

	if (xdp_read_slot_packets(before)) {
		fprintf(stderr, "    reading counters failed: %s\n", strerror(errno));
		return -1;
	}
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_xdp), &opts)) {
		fprintf(stderr, "    BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
		return -1;
	}
	r->action = (int)opts.retval;
	if (xdp_read_slot_packets(after))
		return -1;
	return xdp_settle_result(r, before, after, ctx_out.data, opts.data_size_out);
}

int xdp_settle_result(struct run_result *r, const uint64_t *before, const uint64_t *after,
		      uint32_t meta_len, uint32_t data_size_out)
{
	int moved = 0;

	r->reason = -1;
	for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++) {
		if (after[i] == before[i])
			continue;
		moved += (int)(after[i] - before[i]);
		r->reason = i / SLUICE_ACTION_MAX;
		if (i % SLUICE_ACTION_MAX != r->action) {
			fprintf(stderr, "    counted under action %d but returned %d\n",
				i % SLUICE_ACTION_MAX, r->action);
			return -1;
		}
	}
	if (moved != 1) {
		fprintf(stderr, "    packet counted %d times (want exactly once)\n", moved);
		return -1;
	}
	/* Output starts at data_meta; meta_len (ctx_out.data) is the metadata
	 * length. */
	r->tagged = 0;
	memset(&r->meta, 0, sizeof(r->meta));
	if (meta_len == sizeof(struct sluice_meta)) {
		memcpy(&r->meta, r->out, sizeof(r->meta));
		r->tagged = r->meta.magic == SLUICE_META_MAGIC;
	}
	r->out_len = data_size_out - meta_len;
	memmove(r->out, r->out + meta_len, r->out_len);
	return 0;
}

int xdp_run_raw(const uint8_t *frame, size_t len, uint8_t *out, size_t *out_len)
{
	struct xdp_md ctx_in = {.data = 0, .data_end = (__u32)len,
				.ingress_ifindex = (__u32)dev_ifindex};
	struct xdp_md ctx_out = {0};
	uint8_t buf[FRAME_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = buf, .data_size_out = sizeof(buf), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_xdp), &opts))
		return -1;
	if (out && out_len) {
		*out_len = opts.data_size_out - ctx_out.data;
		memcpy(out, buf + ctx_out.data, *out_len);
	}
	return (int)opts.retval;
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

int xdp_set_prefix_lists(const struct prefix_list *b, const struct prefix_list *a)
{
	struct prefix_list out = {0};
	struct verdict_apply_stats st;
	char err[SLUICE_ERRLEN];
	int rc = compile_verdicts(b, a, &out);

	if (!rc)
		rc = dp_begin(&dp);
	if (!rc)
		rc = dp_write_lists(&dp, &out, &st, err, sizeof(err));
	rc = finish_switch(rc, KEEP_SERVICES | KEEP_PODS, "lists");
	prefix_list_free(&out);
	return rc;
}

void xdp_set_table_limits(const struct verdict_limits *lim)
{
	dp.limits = *lim;
}

int xdp_set_lists(const char *const *block, const char *const *allow)
{
	struct prefix_list b = {0}, a = {0};
	int rc = -1;

	if (!parse_all(block, &b) && !parse_all(allow, &a))
		rc = xdp_set_prefix_lists(&b, &a);
	prefix_list_free(&b);
	prefix_list_free(&a);
	return rc;
}

/* Where xdp_events_drain's callback keeps what it reads. */
struct drained {
	struct sluice_event *seen;
	int max, n;
};

static int keep_event(void *ctx, void *data, size_t len)
{
	struct drained *d = ctx;

	if (d->n < d->max && len >= sizeof(struct sluice_event))
		memcpy(&d->seen[d->n], data, sizeof(struct sluice_event));
	d->n++;
	return 0;
}

int xdp_events_drain(struct sluice_event *seen, int max)
{
	struct drained d = {.seen = seen, .max = max};
	struct ring_buffer *rb = ring_buffer__new(xdp_map_fd("events"), keep_event, &d, NULL);

	if (!rb)
		return -1;
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return d.n;
}

int xdp_events_sample(unsigned every, unsigned cap)
{
	for (__u32 k = 0; k < SLUICE_EV_SLOTS; k++) {
		struct sluice_sampling v = {.every = every, .cap_per_sec = cap};
		struct sluice_sample_state zero[ncpus];

		memset(zero, 0, sizeof(zero));
		if (bpf_map_update_elem(xdp_map_fd("event_sampling"), &k, &v, BPF_ANY) ||
		    bpf_map_update_elem(xdp_map_fd("event_state"), &k, zero, BPF_ANY))
			return -1;
	}
	return 0;
}

int test_list_push(struct prefix_list *l, const char *cidr, uint32_t list_id)
{
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN];

	if (prefix_parse(cidr, &p, err, sizeof(err)))
		return -1;
	p.list_id = list_id;
	return prefix_list_push(l, &p);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0, loaded = 0;

	for (int i = 0; i < n_tests; i++) {
		struct timespec t0, t1;
		int rc;

		if (filter && !strstr(tests[i].name, filter))
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
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
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (getenv("SLUICE_TEST_TIMING"))
			printf("%8.1f ms ", (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
						     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		printf("%s %s\n", rc ? "FAIL" : "ok  ", tests[i].name);
		fflush(stdout);
		if (rc)
			failed++;
		else
			passed++;
	}
	if (skel) {
		dp_close(&dp);
		sluice__destroy(skel);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
