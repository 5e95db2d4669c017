// SPDX-License-Identifier: GPL-2.0
/*
 * test_feeds.c - blocklist feeds: the published formats (Spamhaus DROP,
 * FireHOL netsets, plain CIDR), gzip by magic bytes, errors with file:line,
 * and which list a drop is attributed to.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "event_fmt.h"
#include "harness.h"
#include "prefix.h"

static const char spamhaus[] = "; Spamhaus DROP List 2026/11/26 - (c) 2026 The Spamhaus Project\n"
			       "; https://www.spamhaus.org/drop/drop.txt\n"
			       "198.51.100.0/24 ; SBL123456\n"
			       "203.0.113.128/25 ; SBL654321\n"
			       "2001:db8:bad::/48 ; SBL777\n";

static const char firehol[] = "#\n# firehol_level1\n#\n# Maintainer : FireHOL\n"
			      "192.0.2.7\n"
			      "192.0.2.64/26\n"
			      "2001:db8:f00d::1\n";

/* Write text to a temp file, gzip-compressed or not; returns its path. */
static char *write_list(const char *text, int gz)
{
	static char paths[8][64];
	static int next;
	char *path = paths[next++ % 8];
	int fd;

	snprintf(path, 64, "/tmp/sluice-feed-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (gz) {
		gzFile g = gzdopen(fd, "wb");

		gzwrite(g, text, (unsigned)strlen(text));
		gzclose(g);
	} else {
		if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
			close(fd);
			return NULL;
		}
		close(fd);
	}
	return path;
}

static int load(const char *text, int gz, struct prefix_list *l, char *err)
{
	char *path = write_list(text, gz);
	int rc;

	if (!path)
		return -1;
	rc = prefix_list_load_file(l, path, 7, err, SLUICE_ERRLEN);
	unlink(path);
	return rc;
}

static int same_lists(const struct prefix_list *a, const struct prefix_list *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!prefix_same(&a->v[i], &b->v[i]) || a->v[i].list_id != b->v[i].list_id)
			return 0;
	return 1;
}

TEST(feed_spamhaus_drop_format_reads_cidrs_and_skips_sbl_refs)
{
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN], buf[64];

	CHECK(load(spamhaus, 0, &l, err) == 0);
	CHECK_EQ(l.n, 3);
	prefix_format(&l.v[1], buf, sizeof(buf));
	CHECK(!strcmp(buf, "203.0.113.128/25"));
	CHECK_EQ(l.v[2].family, 6);
	CHECK_EQ(l.v[0].list_id, 7);
	prefix_list_free(&l);
	return 0;
}

TEST(feed_firehol_netset_bare_addresses_are_host_prefixes)
{
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN];

	CHECK(load(firehol, 0, &l, err) == 0);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(l.v[0].len, 32);
	CHECK_EQ(l.v[1].len, 26);
	CHECK_EQ(l.v[2].len, 128);
	prefix_list_free(&l);
	return 0;
}

TEST(feed_gzip_is_recognised_by_magic_and_reads_the_same)
{
	struct prefix_list plain = {0}, gz = {0};
	char err[SLUICE_ERRLEN];

	CHECK(load(spamhaus, 0, &plain, err) == 0);
	CHECK(load(spamhaus, 1, &gz, err) == 0); /* no .gz in the name */
	CHECK(same_lists(&plain, &gz));
	prefix_list_free(&plain);
	prefix_list_free(&gz);
	return 0;
}

TEST(feed_bad_line_in_gzip_file_names_file_line_and_column)
{
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN];
	const char *text = "198.51.100.0/24\n# fine\n  198.51.100.300/32 ; SBL1\n";
	char *path = write_list(text, 1);

	CHECK(path != NULL);
	CHECK(prefix_list_load_file(&l, path, 1, err, sizeof(err)) != 0);
	{
		char want[128];

		snprintf(want, sizeof(want), "%s:3:3: ", path);
		if (strncmp(err, want, strlen(want)))
			fprintf(stderr, "    got '%s'\n", err);
		CHECK(!strncmp(err, want, strlen(want)));
	}
	CHECK_EQ(l.n, 0); /* nothing half-loaded */
	unlink(path);
	return 0;
}

TEST(feed_truncated_gzip_is_an_error_not_a_short_list)
{
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN];
	char big[20000];
	char *path;
	FILE *f;
	long size;

	big[0] = 0;
	for (int i = 0; i < 800; i++) {
		char line[32];

		snprintf(line, sizeof(line), "10.%d.%d.0/24\n", i / 256, i % 256);
		strcat(big, line);
	}
	path = write_list(big, 1);
	CHECK(path != NULL);
	f = fopen(path, "r+");
	CHECK(f != NULL);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	CHECK(ftruncate(fileno(f), size / 2) == 0);
	fclose(f);
	CHECK(prefix_list_load_file(&l, path, 1, err, sizeof(err)) != 0);
	CHECK(strstr(err, path) != NULL);
	unlink(path);
	return 0;
}

/* ---- attribution ------------------------------------------------------- */

static uint64_t list_drops(uint32_t list_id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter v[ncpu];
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(xdp_map_fd("list_counters"), &list_id, v))
		return UINT64_MAX;
	for (int i = 0; i < ncpu; i++)
		sum += v[i].packets;
	return sum;
}

static void push(struct prefix_list *l, const char *cidr, uint32_t list_id)
{
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN];

	if (!prefix_parse(cidr, &p, err, sizeof(err))) {
		p.list_id = list_id;
		prefix_list_push(l, &p);
	}
}

static int send_from(const char *src)
{
	struct pkt_spec s = spec_udp4(src, "192.0.2.1");
	struct run_result r;

	return xdp_run_spec(&s, &r);
}

XDP_TEST(feed_drop_is_attributed_to_the_list_of_the_longest_prefix)
{
	struct prefix_list b = {0}, a = {0};
	uint64_t a0 = list_drops(3), b0 = list_drops(4);

	push(&b, "198.51.100.0/24", 3); /* list A: the /24 */
	push(&b, "198.51.0.0/16", 4);   /* list B: the /16 around it */
	CHECK(xdp_set_prefix_lists(&b, &a) == 0);
	CHECK_EQ(send_from("198.51.100.9"), SR_BLOCKLIST);
	CHECK_EQ(send_from("198.51.100.10"), SR_BLOCKLIST);
	CHECK_EQ(send_from("198.51.7.1"), SR_BLOCKLIST);
	CHECK_EQ(list_drops(3) - a0, 2); /* inside the /24: list A */
	CHECK_EQ(list_drops(4) - b0, 1); /* only in the /16: list B */
	prefix_list_free(&b);
	return 0;
}

XDP_TEST(feed_same_prefix_in_two_lists_is_attributed_to_the_lower_list_id)
{
	struct prefix_list b = {0}, a = {0};
	uint64_t lo = list_drops(5), hi = list_drops(9);

	push(&b, "203.0.113.0/24", 9);
	push(&b, "203.0.113.0/24", 5);
	CHECK(xdp_set_prefix_lists(&b, &a) == 0);
	CHECK_EQ(send_from("203.0.113.77"), SR_BLOCKLIST);
	CHECK_EQ(list_drops(5) - lo, 1);
	CHECK_EQ(list_drops(9) - hi, 0);
	prefix_list_free(&b);
	return 0;
}

XDP_TEST(feed_allowlist_matches_are_counted_for_the_allowlist)
{
	struct prefix_list b = {0}, a = {0};
	uint64_t al = list_drops(11);

	push(&b, "198.51.100.0/24", 10);
	push(&a, "198.51.100.7/32", 11);
	CHECK(xdp_set_prefix_lists(&b, &a) == 0);
	CHECK_EQ(send_from("198.51.100.7"), SR_ALLOWLISTED);
	CHECK_EQ(list_drops(11) - al, 1);
	prefix_list_free(&b);
	prefix_list_free(&a);
	return 0;
}

/* ---- the list in drop events --------------------------------------------- */

static struct sluice_event last_event;
static int n_events;

static int keep_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= sizeof(struct sluice_event))
		memcpy(&last_event, data, sizeof(last_event));
	n_events++;
	return 0;
}

/* Read (and so empty) the ring buffer; returns the number of records. */
static int drain_events(void)
{
	struct ring_buffer *rb = ring_buffer__new(xdp_map_fd("events"), keep_event, NULL, NULL);

	n_events = 0;
	if (!rb)
		return -1;
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return n_events;
}

/* Every event, no cap, sampling state reset on every CPU. */
static int sample_all(void)
{
	int ncpu = libbpf_num_possible_cpus();

	for (__u32 k = 0; k < SLUICE_EV_SLOTS; k++) {
		struct sluice_sampling v = {.every = 1};
		struct sluice_sample_state zero[ncpu];

		memset(zero, 0, sizeof(zero));
		if (bpf_map_update_elem(xdp_map_fd("event_sampling"), &k, &v, BPF_ANY) ||
		    bpf_map_update_elem(xdp_map_fd("event_state"), &k, zero, BPF_ANY))
			return -1;
	}
	return 0;
}

/* The event of one packet from src: its list id, or -1 without exactly one. */
static int event_list_of(const char *src)
{
	if (drain_events() < 0 || send_from(src) != SR_BLOCKLIST || drain_events() != 1 ||
	    last_event.type != SE_DROP || last_event.reason != SR_BLOCKLIST)
		return -1;
	return last_event.list_id;
}

XDP_TEST(feed_drop_event_names_the_list_of_the_longest_prefix)
{
	struct prefix_list b = {0}, a = {0};
	uint64_t a0 = list_drops(3), b0 = list_drops(4);

	push(&b, "198.51.100.0/24", 3); /* list A: the /24 */
	push(&b, "198.51.0.0/16", 4);   /* list B: the /16 around it */
	CHECK(xdp_set_prefix_lists(&b, &a) == 0);
	CHECK(sample_all() == 0);
	CHECK_EQ(event_list_of("198.51.100.9"), 3);
	CHECK_EQ(event_list_of("198.51.7.1"), 4);
	CHECK_EQ(event_list_of("198.51.255.254"), 4);
	/* the same attribution as the per-list counters */
	CHECK_EQ(list_drops(3) - a0, 1);
	CHECK_EQ(list_drops(4) - b0, 2);
	prefix_list_free(&b);
	return 0;
}

XDP_TEST(feed_drop_event_of_a_malformed_packet_names_no_list)
{
	struct pkt_spec s = spec_tcp4("203.0.113.5", "192.0.2.1");
	uint8_t f[FRAME_MAX];
	size_t len = build_frame(&s, f, NULL);

	CHECK(sample_all() == 0);
	CHECK(drain_events() >= 0);
	/* cut inside the TCP header: a malformed packet, dropped */
	CHECK(len > 14 + 20 + 4);
	CHECK_EQ(xdp_run_raw(f, 14 + 20 + 4, NULL, NULL), XDP_DROP);
	CHECK_EQ(drain_events(), 1);
	CHECK_EQ(last_event.type, SE_DROP);
	CHECK(last_event.reason >= SR_MAL_ETH && last_event.reason <= SR_MAL_ICMP);
	CHECK_EQ(last_event.list_id, 0);
	return 0;
}

TEST(feed_event_text_and_json_carry_the_list_name)
{
	struct sluice_event e = {.type = SE_DROP, .reason = SR_BLOCKLIST, .family = 4,
				 .proto = 17, .ifindex = 2, .list_id = 3};
	char line[1024];

	inet_pton(AF_INET, "198.51.100.9", e.saddr);
	inet_pton(AF_INET, "192.0.2.1", e.daddr);
	event_format(&e, false, NULL, "block /etc/sluice/drop \"v2\".txt.gz", line, sizeof(line));
	CHECK(strstr(line, " list 3 (block /etc/sluice/drop \"v2\".txt.gz)\n") != NULL);
	event_format(&e, true, NULL, "block /etc/sluice/drop \"v2\".txt.gz", line, sizeof(line));
	CHECK(strstr(line, ",\"list_id\":3,\"list\":\"block /etc/sluice/drop \\\"v2\\\".txt.gz\"}\n") !=
	      NULL);
	/* without a daemon (the CLI on the ring buffer): the id alone */
	event_format(&e, false, NULL, NULL, line, sizeof(line));
	CHECK(strstr(line, " list 3\n") != NULL);
	/* other drops have no list */
	e.reason = SR_MAL_TCP;
	event_format(&e, true, NULL, NULL, line, sizeof(line));
	CHECK(strstr(line, "list") == NULL);
	return 0;
}
