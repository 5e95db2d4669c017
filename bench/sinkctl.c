// SPDX-License-Identifier: GPL-2.0
/*
 * sinkctl.c - sluice-sink, puts the bench's baseline XDP programs
 * (bench/sink.bpf.c) on an interface and reads their counter:
 *
 *   sluice-sink attach IFACE PROG PIN_DIR [--lpm FILE | --lpm-keep]
 *       load sink.bpf.o, fill the LPM trie from FILE (IPv4 CIDRs, one a
 *       line; others skipped) before the program sees a packet, or with
 *       --lpm-keep use the trie pinned in PIN_DIR by an earlier attach (a
 *       1M-prefix trie takes seconds to fill), pin
 *       sink_count and sink_lpm into PIN_DIR, attach PROG natively (it
 *       replaces a plain XDP program; never a libxdp dispatcher: detach
 *       sluice first)
 *   sluice-sink detach IFACE
 *   sluice-sink count PIN_DIR      packets PROG has counted (all CPUs)
 *   sluice-sink watch PIN_DIR MS   "UNIX_SECONDS COUNT" every MS ms
 *
 * The program stays attached after we exit: the netlink attachment holds
 * it.  Run inside the interface's network namespace.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sink.skel.h"

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && getenv("SINK_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* IPv4 CIDRs from FILE into the trie, in batches. */
static int lpm_load(int fd, const char *path, unsigned long *loaded)
{
	enum { CHUNK = 65536 };
	struct lpm_key *keys = calloc(CHUNK, sizeof(*keys));
	__u32 *vals = calloc(CHUNK, sizeof(*vals));
	char line[256];
	FILE *f = fopen(path, "r");
	__u32 n = 0;
	int rc = 0;

	*loaded = 0;
	if (!f || !keys || !vals) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		char *got = fgets(line, sizeof(line), f), *slash;
		struct in_addr a;

		if (got) {
			line[strcspn(line, "#;\r\n \t")] = 0;
			slash = strchr(line, '/');
			if (!line[0] || strchr(line, ':'))
				continue;
			if (slash)
				*slash = 0;
			if (inet_pton(AF_INET, line, &a) != 1) {
				fprintf(stderr, "sluice-sink: %s: not an IPv4 prefix: %s\n", path, line);
				rc = -EINVAL;
				goto out;
			}
			keys[n].prefixlen = slash ? (__u32)atoi(slash + 1) : 32;
			keys[n].addr = a.s_addr;
			vals[n] = 1;
			n++;
		}
		if (n && (n == CHUNK || !got)) {
			__u32 cnt = n;

			if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL)) {
				rc = -errno;
				goto out;
			}
			*loaded += n;
			n = 0;
		}
		if (!got)
			break;
	}
out:
	if (f)
		fclose(f);
	free(keys);
	free(vals);
	return rc;
}

static int pin_fresh(struct bpf_map *map, const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
	unlink(path);
	return bpf_map__pin(map, path);
}

static int cmd_attach(int argc, char **argv)
{
	const char *ifname = argv[0], *prog_name = argv[1], *dir = argv[2], *lpm = NULL;
	struct bpf_program *prog;
	struct sink *skel;
	int ifindex, rc, keep = 0;

	if (argc == 5 && !strcmp(argv[3], "--lpm"))
		lpm = argv[4];
	else if (argc == 4 && !strcmp(argv[3], "--lpm-keep"))
		keep = 1;
	else if (argc != 3)
		return 2;
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "sluice-sink: no interface %s here\n", ifname);
		return 1;
	}
	skel = sink__open();
	if (!skel) {
		fprintf(stderr, "sluice-sink: cannot open sink.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	if (keep) {
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/sink_lpm", dir);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_map__reuse_fd(skel->maps.sink_lpm, fd)) {
			fprintf(stderr, "sluice-sink: --lpm-keep: no trie at %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	if (sink__load(skel)) {
		fprintf(stderr, "sluice-sink: cannot load sink.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(skel->obj, prog_name);
	if (!prog) {
		fprintf(stderr, "sluice-sink: no program %s in sink.bpf.o\n", prog_name);
		return 1;
	}
	if (lpm) {
		unsigned long n;

		rc = lpm_load(bpf_map__fd(skel->maps.sink_lpm), lpm, &n);
		if (rc) {
			fprintf(stderr, "sluice-sink: loading %s into sink_lpm: %s\n", lpm,
				strerror(-rc));
			return 1;
		}
		printf("sink_lpm: %lu IPv4 prefixes\n", n);
	}
	mkdir(dir, 0700);
	if (pin_fresh(skel->maps.sink_count, dir) || pin_fresh(skel->maps.sink_lpm, dir)) {
		fprintf(stderr, "sluice-sink: cannot pin the maps in %s: %s\n", dir, strerror(errno));
		return 1;
	}
	rc = bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL);
	if (rc) {
		fprintf(stderr, "sluice-sink: attach %s to %s (native): %s\n", prog_name, ifname,
			strerror(-rc));
		return 1;
	}
	printf("attached %s to %s (native)\n", prog_name, ifname);
	sink__destroy(skel);
	return 0;
}

static int cmd_detach(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);

	if (!ifindex || bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "sluice-sink: detach %s failed\n", ifname);
		return 1;
	}
	return 0;
}

static int open_count(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/sink_count", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "sluice-sink: cannot open %s: %s\n", path, strerror(errno));
	return fd;
}

static int read_count(int fd, unsigned long long *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 v[ncpu > 0 ? ncpu : 1];
	__u32 k = 0;

	*sum = 0;
	if (bpf_map_lookup_elem(fd, &k, v)) {
		fprintf(stderr, "sluice-sink: reading sink_count: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < ncpu; i++)
		*sum += v[i];
	return 0;
}

static int cmd_count(const char *dir)
{
	unsigned long long sum;
	int fd = open_count(dir);

	if (fd < 0 || read_count(fd, &sum))
		return 1;
	printf("%llu\n", sum);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

/* "SECONDS COUNT" every interval until SIGTERM/SIGINT: a time series of
 * what the sink received (the reload scenario).  CLOCK_REALTIME, so that
 * bash's $EPOCHREALTIME can mark events on the same axis. */
static int cmd_watch(const char *dir, const char *interval_ms)
{
	long ms = atol(interval_ms);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	unsigned long long sum;
	int fd = open_count(dir);

	if (fd < 0 || ms <= 0)
		return 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop) {
		struct timespec now;

		if (read_count(fd, &sum))
			return 1;
		clock_gettime(CLOCK_REALTIME, &now);
		printf("%.4f %llu\n", (double)now.tv_sec + (double)now.tv_nsec / 1e9, sum);
		nanosleep(&ts, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(quiet);
	if (argc >= 5 && !strcmp(argv[1], "attach")) {
		int rc = cmd_attach(argc - 2, argv + 2);

		if (rc != 2)
			return rc;
	} else if (argc == 3 && !strcmp(argv[1], "detach")) {
		return cmd_detach(argv[2]);
	} else if (argc == 3 && !strcmp(argv[1], "count")) {
		return cmd_count(argv[2]);
	} else if (argc == 4 && !strcmp(argv[1], "watch")) {
		return cmd_watch(argv[2], argv[3]);
	}
	fprintf(stderr, "usage: sluice-sink attach IFACE PROG PIN_DIR [--lpm FILE | --lpm-keep]\n"
			"       sluice-sink detach IFACE\n"
			"       sluice-sink count PIN_DIR\n"
			"       sluice-sink watch PIN_DIR INTERVAL_MS\n");
	return 2;
}
