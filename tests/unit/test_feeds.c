// SPDX-License-Identifier: GPL-2.0
/*
 * test_feeds.c - blocklist feeds: the published formats (Spamhaus DROP,
 * FireHOL netsets, plain CIDR), gzip by magic bytes, errors with file:line,
 * and which list a drop is attributed to.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "compile.h"
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
	return xdp_map_packets("list_counters", list_id);
}

static int send_from(const char *src)
{
	struct pkt_spec s = spec_udp4(src, "192.0.2.1");
	struct run_result r;

	return xdp_run_spec(&s, &r);
}

/* Two block lists, one inside the other: list 3 (A) blocks the /24
 * 198.51.100.0/24, list 4 (B) the /16 around it; b gets both, a stays
 * empty. */
static int set_nested_block_lists(struct prefix_list *b, struct prefix_list *a)
{
	CHECK(test_list_push(b, "198.51.100.0/24", 3) == 0);
	CHECK(test_list_push(b, "198.51.0.0/16", 4) == 0);
	return xdp_set_prefix_lists(b, a);
}

XDP_TEST(feed_drop_is_attributed_to_the_list_of_the_longest_prefix)
{
	struct prefix_list b = {0}, a = {0};
	uint64_t a0 = list_drops(3), b0 = list_drops(4);

	CHECK(set_nested_block_lists(&b, &a) == 0);
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

	test_list_push(&b, "203.0.113.0/24", 9);
	test_list_push(&b, "203.0.113.0/24", 5);
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

	test_list_push(&b, "198.51.100.0/24", 10);
	test_list_push(&a, "198.51.100.7/32", 11);
	CHECK(xdp_set_prefix_lists(&b, &a) == 0);
	CHECK_EQ(send_from("198.51.100.7"), SR_ALLOWLISTED);
	CHECK_EQ(list_drops(11) - al, 1);
	prefix_list_free(&b);
	prefix_list_free(&a);
	return 0;
}

/* ---- the list in drop events --------------------------------------------- */

/* The event of one packet from src: its list id, or -1 without exactly one. */
static int event_list_of(const char *src)
{
	struct sluice_event ev;

	if (xdp_events_drain(NULL, 0) < 0 || send_from(src) != SR_BLOCKLIST ||
	    xdp_events_drain(&ev, 1) != 1 || ev.type != SE_DROP || ev.reason != SR_BLOCKLIST)
		return -1;
	return ev.list_id;
}

XDP_TEST(feed_drop_event_names_the_list_of_the_longest_prefix)
{
	struct prefix_list b = {0}, a = {0};
	uint64_t a0 = list_drops(3), b0 = list_drops(4);

	CHECK(set_nested_block_lists(&b, &a) == 0);
	CHECK(xdp_events_sample(1, 0) == 0);
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
	struct sluice_event ev;

	CHECK(xdp_events_sample(1, 0) == 0);
	CHECK(xdp_events_drain(NULL, 0) >= 0);
	/* cut inside the TCP header: a malformed packet, dropped */
	CHECK(len > 14 + 20 + 4);
	CHECK_EQ(xdp_run_raw(f, 14 + 20 + 4, NULL, NULL), XDP_DROP);
	CHECK_EQ(xdp_events_drain(&ev, 1), 1);
	CHECK_EQ(ev.type, SE_DROP);
	CHECK(ev.reason >= SR_MAL_ETH && ev.reason <= SR_MAL_ICMP);
	CHECK_EQ(ev.list_id, 0);
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

/* ---- on_error = "warn": bad lines skipped and counted ------------------- */

static const char with_bad_lines[] = "# feed with bad lines\n"
				     "198.51.100.0/24 ; SBL1\n"
				     "banana\n"
				     "203.0.113.1/24\n"
				     "2001:db8:bad::/48\n"
				     "192.0.2.1 192.0.2.2\n"
				     "192.0.2.300\n"
				     "192.0.2.128/25\n";

static int read_lenient(const char *text, int gz, struct prefix_list *l, struct list_bad_lines *bad,
			char *path_out)
{
	char *path = write_list(text, gz), err[SLUICE_ERRLEN];
	int rc;

	if (!path)
		return -1;
	strcpy(path_out, path);
	rc = prefix_list_read(l, path, 7, bad, err, sizeof(err));
	unlink(path);
	return rc;
}

TEST(feed_warn_mode_skips_and_counts_bad_lines_with_file_line_col)
{
	static struct list_bad_lines bad;
	struct prefix_list l = {0};
	char path[64], want[256], buf[64];

	for (int gz = 0; gz < 2; gz++) {
		l.n = 0;
		CHECK_EQ(read_lenient(with_bad_lines, gz, &l, &bad, path), 0);
		CHECK_EQ(l.n, 3);
		prefix_format(&l.v[0], buf, sizeof(buf));
		CHECK(!strcmp(buf, "198.51.100.0/24"));
		prefix_format(&l.v[2], buf, sizeof(buf));
		CHECK(!strcmp(buf, "192.0.2.128/25"));
		CHECK_EQ(bad.n, 4);
		snprintf(want, sizeof(want), "%s:3:1: 'banana' is not", path);
		CHECK(!strncmp(bad.first[0], want, strlen(want)));
		snprintf(want, sizeof(want), "%s:4:1: '203.0.113.1/24' has host bits set", path);
		CHECK(!strncmp(bad.first[1], want, strlen(want)));
		snprintf(want, sizeof(want), "%s:6:1: one prefix per line", path);
		CHECK(!strncmp(bad.first[2], want, strlen(want)));
		snprintf(want, sizeof(want), "%s:7:1: '192.0.2.300' is not", path);
		CHECK(!strncmp(bad.first[3], want, strlen(want)));
	}
	prefix_list_free(&l);
	return 0;
}

TEST(feed_warn_mode_counts_past_the_kept_messages_and_skips_long_lines)
{
	static struct list_bad_lines bad;
	static char text[20000];
	struct prefix_list l = {0};
	char path[64], want[128];
	size_t n = 0;

	for (int i = 0; i < 10; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "bad%d\n", i);
	/* a line longer than the limit, then a good one: the rest of the long
	 * line must not be read as a line of its own */
	memset(text + n, '1', 9000);
	n += 9000;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\n198.51.100.7\n");
	CHECK_EQ(read_lenient(text, 1, &l, &bad, path), 0);
	CHECK_EQ(bad.n, 11);
	CHECK_EQ(l.n, 1);
	snprintf(want, sizeof(want), "%s:1:1: 'bad0'", path);
	CHECK(!strncmp(bad.first[0], want, strlen(want)));
	CHECK_EQ(l.v[0].len, 32);
	prefix_list_free(&l);
	return 0;
}

TEST(feed_reject_mode_still_rejects_and_corrupt_gzip_fails_in_warn_mode)
{
	static struct list_bad_lines bad;
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN], path[64];
	static char big[200000];
	uint8_t gzbuf[200000];
	uLongf glen = sizeof(gzbuf);
	size_t n = 0;
	int fd;

	CHECK(load(with_bad_lines, 0, &l, err) != 0);
	CHECK(strstr(err, ":3:1: 'banana'") != NULL);
	CHECK_EQ(l.n, 0);
	/* warn mode forgives lines, not a truncated gzip stream */
	for (int i = 0; n < sizeof(big) - 32; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "10.%d.%d.0/24\n", (i >> 8) & 255,
				      i & 255);
	{
		gzFile g;
		char *p = write_list("", 0);

		CHECK(p != NULL);
		strcpy(path, p);
		g = gzopen(path, "wb");
		gzwrite(g, big, (unsigned)n);
		gzclose(g);
		fd = open(path, O_RDONLY);
		glen = (uLongf)read(fd, gzbuf, sizeof(gzbuf));
		close(fd);
		fd = open(path, O_WRONLY | O_TRUNC);
		CHECK(write(fd, gzbuf, glen / 2) == (ssize_t)(glen / 2));
		close(fd);
	}
	CHECK(prefix_list_read(&l, path, 7, &bad, err, sizeof(err)) != 0);
	unlink(path);
	CHECK_EQ(l.n, 0);
	prefix_list_free(&l);
	return 0;
}

/* The fast IPv4 reader and prefix_parse agree on every line: the same
 * prefix, or both refuse it (with prefix_parse's message). */
TEST(feed_fast_v4_reader_agrees_with_prefix_parse)
{
	static const char *const odd[] = {
	    "0.0.0.0/0", "1.2.3.4", "1.2.3.4/32", "1.2.3.0/24", "01.2.3.4", "1.2.3.04/32",
	    "1.2.3.4/08", "1.2.3.4/008", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/",
	    "1.2.3.4/33", "1.2.3.4/24", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4x", "1..2.3",
	    "255.255.255.255", "255.255.255.255/31", "0.0.0.0", "1.2.3.4//8", "1.2.3.4/1a",
	    "1234.1.1.1", "0x1.2.3.4", "::1.2.3.4", "10.0.0.0/8", "192.0.2.0/0", "9.9.9.9/0",
	    "0.0.0.0/00", "128.0.0.0/1", "1.2.3.4/99999999999"};
	static struct list_bad_lines bad;
	static char text[1 << 20];
	static const char *lines[20000];
	static char store[20000][24];
	struct prefix_list l = {0};
	size_t n = 0, nl = 0, got = 0, refused = 0;
	char path[64];
	uint32_t seed = 12345;

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		lines[nl++] = odd[i];
	while (nl < 20000) {
		unsigned a, b, c, d, len;

		seed = seed * 1103515245u + 12345u;
		a = seed >> 24;
		b = (seed >> 16) & 255;
		c = (seed >> 8) & 255;
		d = seed & 255 & ((seed >> 3) & 1 ? 0 : 255);
		len = (seed >> 11) % 34;
		snprintf(store[nl], sizeof(store[0]), len == 33 ? "%u.%u.%u.%u" : "%u.%u.%u.%u/%u",
			 a, b, c, d, len);
		lines[nl] = store[nl];
		nl++;
	}
	for (size_t i = 0; i < nl; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\n", lines[i]);
	CHECK_EQ(read_lenient(text, 0, &l, &bad, path), 0);
	for (size_t i = 0; i < nl; i++) {
		struct sluice_prefix want;
		char err[SLUICE_ERRLEN];

		if (prefix_parse(lines[i], &want, err, sizeof(err))) {
			refused++;
			continue;
		}
		CHECK(got < l.n);
		if (!prefix_same(&l.v[got], &want) || l.v[got].pad || l.v[got].action) {
			fprintf(stderr, "    line %zu '%s' read differently\n", i + 1, lines[i]);
			return -1;
		}
		got++;
	}
	CHECK_EQ(got, l.n);
	CHECK_EQ(refused, bad.n);
	CHECK(refused > 1000 && got > 1000); /* both paths exercised */
	prefix_list_free(&l);
	return 0;
}

/* compile_verdicts sorts v4 by radix: its output is exactly what the plain
 * qsort with prefix_cmp and the merge rules give, on a big mixed list with
 * duplicates across lists and both actions. */
TEST(feed_compile_radix_order_matches_prefix_cmp)
{
	struct prefix_list block = {0}, allow = {0}, out = {0}, want = {0};
	uint32_t seed = 777;

	for (int i = 0; i < 300000; i++) {
		struct sluice_prefix p = {0};

		seed = seed * 1103515245u + 12345u;
		p.family = (seed >> 5) % 5 ? 4 : 6;
		p.len = (uint8_t)(p.family == 4 ? 8 + (seed >> 8) % 25 : 16 + (seed >> 8) % 113);
		if (i % 50 == 0) /* allow entries: long, so they cover little */
			p.len = (uint8_t)(p.family == 4 ? 28 + p.len % 5 : 120 + p.len % 9);
		for (int b = 0; b < (p.family == 4 ? 4 : 16); b++) {
			seed = seed * 1103515245u + 12345u;
			/* a small first byte: short prefixes collide (duplicates) */
			p.addr[b] = (uint8_t)(b == 0 ? (seed >> 16) & 15 : seed >> 16);
		}
		prefix_mask(p.addr, p.len);
		p.list_id = 1 + (seed >> 9) % 7;
		CHECK(prefix_list_push(i % 50 ? &block : &allow, &p) == 0);
	}
	CHECK(compile_verdicts(&block, &allow, &out) == 0);
	/* the reference: the same entries, qsort, then the documented merge */
	for (size_t i = 0; i < out.n; i++)
		CHECK(prefix_list_push(&want, &out.v[i]) == 0);
	qsort(want.v, want.n, sizeof(want.v[0]), prefix_cmp);
	for (size_t i = 0; i < out.n; i++) {
		CHECK(prefix_same(&out.v[i], &want.v[i]));
		if (i)
			CHECK(prefix_cmp(&out.v[i - 1], &out.v[i]) < 0); /* sorted, no duplicates */
	}
	CHECK(out.n > 100000);
	prefix_list_free(&block);
	prefix_list_free(&allow);
	prefix_list_free(&out);
	prefix_list_free(&want);
	return 0;
}

/* The hash set under the diff and the map writes: every added prefix is
 * found (with its list id), absent ones are not, duplicates count once,
 * and it refuses more than it was sized for. */
TEST(feed_prefix_set_finds_what_was_added_and_nothing_else)
{
	static struct sluice_prefix in[50000];
	struct prefix_set s;
	uint32_t seed = 99;
	size_t found = 0;

	for (int i = 0; i < 50000; i++) {
		struct sluice_prefix p = {0};

		seed = seed * 1103515245u + 12345u;
		p.family = i % 4 ? 4 : 6;
		p.len = (uint8_t)(p.family == 4 ? 16 + seed % 17 : 32 + seed % 97);
		for (int b = 0; b < 16; b++) {
			seed = seed * 1103515245u + 12345u;
			p.addr[b] = (uint8_t)(b < (p.family == 4 ? 4 : 16) ? seed >> 16 : 0);
		}
		prefix_mask(p.addr, p.len);
		p.list_id = (uint32_t)i;
		in[i] = p;
	}
	CHECK(prefix_set_init(&s, 25001) == 0);
	for (int i = 0; i < 25000; i++)
		CHECK(prefix_set_add(&s, &in[i]) == 0);
	/* (the random prefixes repeat now and then: the first copy stays) */
	CHECK(s.n > 24000 && s.n <= 25000);
	{
		size_t n = s.n;

		CHECK(prefix_set_add(&s, &in[7]) == 0); /* again: no second copy */
		CHECK_EQ(s.n, n);
	}
	for (int i = 0; i < 50000; i++) {
		const struct sluice_prefix *f = prefix_set_find(&s, &in[i]);

		if (i < 25000) {
			CHECK(f != NULL && prefix_same(f, &in[i]) && f->list_id <= (uint32_t)i);
			found++;
		} else {
			/* only an equal prefix added earlier */
			CHECK(f == NULL || (prefix_same(f, &in[i]) && f->list_id < 25000));
		}
	}
	CHECK_EQ(found, 25000);
	/* past its size it refuses (-ENOSPC) while slots are still free: a
	 * full open-addressing table would probe forever */
	{
		int rc = 0;

		for (int i = 25000; i < 50000 && !rc; i++)
			rc = prefix_set_add(&s, &in[i]);
		CHECK_EQ(rc, -ENOSPC);
		CHECK(s.n * 3 <= s.cap * 2 && s.n < s.cap);
	}
	prefix_set_free(&s);
	return 0;
}
