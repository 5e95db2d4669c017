// SPDX-License-Identifier: GPL-2.0
/*
 * test_fastpath.c - the compiled verdict table against a reference that
 * knows nothing of it: "allowed if inside any allow prefix, else blocked if
 * inside any block prefix".  Random overlapping lists of every length,
 * random and boundary addresses, v4 and v6; then a sample through the real
 * XDP program.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "fastpath.h"
#include "harness.h"
#include "list_rule.h"
#include "prefix.h"

static uint64_t rng = 0x5eed;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A random prefix clustered in a small space so that lists overlap a lot. */
static void random_prefix(int family, struct sluice_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family;
	if (family == 4) {
		static const uint8_t len4[] = {0,  8,  12, 16, 20, 22, 23, 24, 24,
					       24, 25, 26, 28, 30, 31, 32, 32};

		p->len = len4[rnd() % sizeof(len4)];
		p->addr[0] = (uint8_t)(rnd() % 4 ? 198 : rnd());
		p->addr[1] = (uint8_t)(rnd() % 4 ? 51 : rnd());
		p->addr[2] = (uint8_t)(rnd() % 8);
		p->addr[3] = (uint8_t)rnd();
	} else {
		static const uint8_t len6[] = {0,  16, 20, 24, 24, 28, 32,  40,
					       48, 48, 56, 64, 64, 96, 127, 128};

		p->len = len6[rnd() % sizeof(len6)];
		p->addr[0] = 0x20;
		p->addr[1] = 0x01;
		p->addr[2] = (uint8_t)(rnd() % 4 ? 0x0d : rnd());
		p->addr[3] = (uint8_t)(rnd() % 2 ? 0xb8 : rnd() % 4);
		for (int i = 4; i < 16; i++)
			p->addr[i] = (uint8_t)(rnd() % 3 ? rnd() % 4 : rnd());
	}
	prefix_mask(p->addr, p->len);
}

/* Addresses worth asking about: each prefix's first and last address and
 * their neighbours, plus random ones near the prefixes. */
static void probe_address(const struct prefix_list *all, int family, uint8_t *a)
{
	const struct sluice_prefix *p = &all->v[rnd() % all->n];
	int alen = family == 4 ? 4 : 16;

	memcpy(a, p->addr, 16);
	switch (rnd() % 4) {
	case 0: /* first address */
		break;
	case 1: /* last address */
		for (int bit = p->len; bit < alen * 8; bit++)
			a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		break;
	case 2: /* random inside, then maybe step one out */
		for (int bit = p->len; bit < alen * 8; bit++)
			if (rnd() & 1)
				a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		break;
	default: /* just past the end */
		for (int bit = p->len; bit < alen * 8; bit++)
			a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		for (int i = alen - 1; i >= 0 && ++a[i] == 0; i--)
			;
		break;
	}
	if (family == 4)
		memset(a + 4, 0, 12);
}

/* The tables against the reference at probes addresses near the prefixes:
 * the number of differences (stops at 5, printing each). */
static int table_diffs(const struct verdict_tables *t, const struct prefix_list *block,
		       const struct prefix_list *allow, const struct prefix_list *all, int family,
		       int probes)
{
	int diffs = 0;

	for (int i = 0; i < probes && diffs < 5; i++) {
		uint8_t a[16];
		const struct sluice_verdict *v;
		int want, got;

		probe_address(all, family, a);
		want = lists_rule(block, allow, family, a);
		v = verdict_tables_lookup(t, family, a);
		got = v ? (int)v->action : SLUICE_ACT_NONE;
		if (got != want) {
			char s[64];

			inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
			fprintf(stderr, "    %s: table says %d, reference %d\n", s, got, want);
			diffs++;
		}
	}
	return diffs;
}

/* Table limits of the next differential (0: the maps' sizes). */
static struct verdict_limits diff_limits;

/* The named fixture of these checks: a block and an allow list, all of
 * their prefixes together (what the probes aim at), the compiled list. */
struct lists {
	struct prefix_list block, allow, all, compiled;
};

/* Add p to one of l's lists (l->block or l->allow) and to l->all. */
static void lists_add(struct lists *l, struct prefix_list *to, const struct sluice_prefix *p)
{
	prefix_list_push(to, p);
	prefix_list_push(&l->all, p);
}

static void lists_free(struct lists *l)
{
	prefix_list_free(&l->block);
	prefix_list_free(&l->allow);
	prefix_list_free(&l->all);
	prefix_list_free(&l->compiled);
}

static int differential(int family, int n_block, int n_allow, int probes, int through_xdp)
{
	struct lists l = {0};
	struct prefix_list *block = &l.block, *allow = &l.allow;
	struct verdict_tables t;
	char err[SLUICE_ERRLEN];
	int diffs = 0;

	for (int i = 0; i < n_block; i++) {
		struct sluice_prefix p;

		random_prefix(family, &p);
		p.list_id = 1 + rnd() % 3;
		lists_add(&l, block, &p);
	}
	for (int i = 0; i < n_allow; i++) {
		struct sluice_prefix p;

		random_prefix(family, &p);
		if (p.len < 8)
			p.len = 8, prefix_mask(p.addr, 8);
		lists_add(&l, allow, &p);
	}
	CHECK(compile_verdicts(block, allow, &l.compiled) == 0);
	CHECK(verdict_tables_build_limited(&l.compiled, &diff_limits, &t, err, sizeof(err)) == 0);
	if (diff_limits.dense6)
		CHECK(t.n_dense6 == diff_limits.dense6 && t.buckets6 > t.n_dense6);
	diffs = table_diffs(&t, block, allow, &l.all, family, probes);
	if (through_xdp && !diffs) {
		xdp_set_table_limits(&diff_limits);
		/* load the same lists into the data path and ask it too */
		{
			char **bs = calloc((size_t)block->n + 1, sizeof(char *));
			char **as = calloc((size_t)allow->n + 1, sizeof(char *));

			for (size_t i = 0; i < block->n; i++) {
				bs[i] = malloc(64);
				prefix_format(&block->v[i], bs[i], 64);
			}
			for (size_t i = 0; i < allow->n; i++) {
				as[i] = malloc(64);
				prefix_format(&allow->v[i], as[i], 64);
			}
			CHECK(xdp_set_lists((const char *const *)bs, (const char *const *)as) == 0);
			for (size_t i = 0; i < block->n; i++)
				free(bs[i]);
			for (size_t i = 0; i < allow->n; i++)
				free(as[i]);
			free(bs);
			free(as);
		}
		for (int i = 0; i < through_xdp && diffs < 5; i++) {
			uint8_t a[16], frame[FRAME_MAX];
			char src[64];
			struct pkt_spec s;
			size_t len;
			int want, act;

			probe_address(&l.all, family, a);
			inet_ntop(family == 4 ? AF_INET : AF_INET6, a, src, sizeof(src));
			s = family == 4 ? spec_udp4(src, "192.0.2.1")
					: spec_udp6(src, "2001:db8::1");
			len = build_frame(&s, frame, NULL);
			want = lists_rule(block, allow, family, a);
			act = xdp_run_raw(frame, len, NULL, NULL);
			if ((want == SLUICE_ACT_BLOCK) != (act == XDP_DROP)) {
				fprintf(stderr, "    %s: XDP action %d, reference %d\n", src, act,
					want);
				diffs++;
			}
		}
	}
	verdict_tables_free(&t);
	lists_free(&l);
	CHECK_EQ(diffs, 0);
	return 0;
}

TEST(fast_table_v4_matches_reference_on_200k_addresses)
{
	for (int round = 0; round < 4; round++)
		if (differential(4, 300, 60, 50000, 0))
			return -1;
	return 0;
}

TEST(fast_table_v6_matches_reference_on_200k_addresses)
{
	for (int round = 0; round < 4; round++)
		if (differential(6, 300, 60, 50000, 0))
			return -1;
	return 0;
}

XDP_TEST(xdp_verdicts_match_reference_v4)
{
	return differential(4, 400, 80, 2000, 20000);
}

XDP_TEST(xdp_verdicts_match_reference_v6)
{
	return differential(6, 400, 80, 2000, 20000);
}

/* A dense array of 2 (3) entries: the first buckets made (shortest
 * prefixes first) are dense, the rest (11 to 50 here) in the hash: both
 * walks and ranks counted across words and groups, in C and in the data
 * path. */
TEST(fast_table_v6_dense_array_full_puts_buckets_in_the_hash)
{
	int rc = 0;

	diff_limits = (struct verdict_limits){.dense6 = 2};
	for (int round = 0; round < 4 && !rc; round++)
		rc = differential(6, 300, 60, 50000, 0);
	diff_limits = (struct verdict_limits){0};
	return rc;
}

XDP_TEST(xdp_verdicts_match_reference_v6_dense_and_hashed_buckets)
{
	int rc;

	diff_limits = (struct verdict_limits){.dense6 = 3};
	rc = differential(6, 400, 80, 2000, 20000);
	diff_limits = (struct verdict_limits){0};
	return rc;
}

/* Tables built with a tiny chunk pool and hash: /24s past them go to the
 * trie, counted, and every answer is still the reference's. */
static int exhaustion(int family, struct verdict_limits lim)
{
	struct lists l = {0};
	struct verdict_tables t;
	char err[SLUICE_ERRLEN];
	int diffs = 0;

	for (int i = 0; i < 400; i++) {
		struct sluice_prefix p;

		random_prefix(family, &p);
		p.list_id = 1 + rnd() % 3;
		lists_add(&l, i % 5 ? &l.block : &l.allow, &p);
	}
	/* v4: two /24s of scattered allowed /32s (more than four ranges:
	 * chunks; allowed, so that no block list's /0 makes them redundant) */
	for (int i = 0; family == 4 && i < 40; i++) {
		struct sluice_prefix p = {.family = 4, .len = 32, .list_id = 9};

		p.addr[0] = i % 2 ? 192 : 203;
		p.addr[1] = 0;
		p.addr[2] = i % 2 ? 2 : 113;
		p.addr[3] = (uint8_t)(i * 6);
		lists_add(&l, &l.allow, &p);
	}
	CHECK(compile_verdicts(&l.block, &l.allow, &l.compiled) == 0);
	CHECK(verdict_tables_build_limited(&l.compiled, &lim, &t, err, sizeof(err)) == 0);
	if (family == 4) {
		CHECK(t.n_chunks <= t.chunk_limit);
		CHECK(t.n_detail <= t.detail_limit);
		CHECK(t.n_chunks == t.chunk_limit || t.n_detail == t.detail_limit);
		CHECK(t.deeper4 > 0);
	} else {
		CHECK(t.n_h6 <= 8);
		CHECK(t.deeper6 > 0);
	}
	diffs = table_diffs(&t, &l.block, &l.allow, &l.all, family, 200000);
	verdict_tables_free(&t);
	lists_free(&l);
	CHECK_EQ(diffs, 0);
	return 0;
}

TEST(fast_table_chunk_pool_exhaustion_falls_back_to_the_trie_v4)
{
	return exhaustion(4, (struct verdict_limits){.chunks = 1});
}

TEST(fast_table_detail_exhaustion_falls_back_to_the_trie_v4)
{
	return exhaustion(4, (struct verdict_limits){.details = 40});
}

TEST(fast_table_hash_exhaustion_falls_back_to_the_trie_v6)
{
	return exhaustion(6, (struct verdict_limits){.h6_entries = 8});
}

/* The packed IPv4 form, entry by entry: the primary class is the one
 * covering most /24s (one summary code); another class, a /24 of a few
 * ranges and one of many get a detail each, in /24 order. */
static int code_of(const struct verdict_tables *t, uint32_t top)
{
	return (int)fast4_code(t->sum, top);
}

TEST(fast_table_v4_packs_primary_ranges_and_chunks)
{
	static const char *const block[] = {"198.51.0.0/16", "192.0.2.16/28"};
	static const char *const allow[] = {"198.51.7.0/24", "198.51.9.0/32", "198.51.9.7/32",
					    "198.51.9.90/31"};
	struct prefix_list b = {0}, a = {0}, compiled = {0};
	struct verdict_tables t;
	char err[SLUICE_ERRLEN];
	uint8_t addr[16] = {0};

	for (size_t i = 0; i < 6; i++) {
		struct sluice_prefix p;

		CHECK(prefix_parse(i < 2 ? block[i] : allow[i - 2], &p, err, sizeof(err)) == 0);
		p.list_id = i < 2 ? 1 : 2;
		CHECK(prefix_list_push(i < 2 ? &b : &a, &p) == 0);
	}
	CHECK(compile_verdicts(&b, &a, &compiled) == 0);
	CHECK(verdict_tables_build(&compiled, &t, err, sizeof(err)) == 0);
	CHECK_EQ(t.classes[SLUICE_CLASS_PRIMARY].action, SLUICE_ACT_BLOCK);
	CHECK_EQ(code_of(&t, 198u << 16 | 51 << 8 | 200), SLUICE_SUM_PRIMARY);
	CHECK_EQ(code_of(&t, 198u << 16 | 52 << 8), SLUICE_SUM_NONE);
	/* 192.0.2.0/24: three ranges; 198.51.7.0/24: the allow class;
	 * 198.51.9.0/24: 6 ranges, a chunk */
	CHECK_EQ(code_of(&t, 192u << 16 | 0 << 8 | 2), SLUICE_SUM_DETAIL);
	CHECK_EQ(code_of(&t, 198u << 16 | 51 << 8 | 7), SLUICE_SUM_DETAIL);
	CHECK_EQ(code_of(&t, 198u << 16 | 51 << 8 | 9), SLUICE_SUM_DETAIL);
	CHECK_EQ(t.n_detail, 3);
	/* 198.51.7.0 and .9.0 share the unit of 48 /24s from 198.51.0.0
	 * (12989184 = 48 x 270608), whose rank counts 192.0.2.0/24 */
	CHECK_EQ((uint32_t)t.sum[2 * ((198u << 16 | 51 << 8) / SLUICE_FAST4_UNIT)], 1);
	CHECK_EQ(t.ranges4, 1);
	CHECK_EQ(t.n_chunks, 1);
	CHECK_EQ(t.detail[0] >> SLUICE_DETAIL_KIND_SHIFT, SLUICE_DETAIL_RANGES);
	CHECK_EQ(t.detail[1] >> SLUICE_DETAIL_KIND_SHIFT, SLUICE_DETAIL_CLASS);
	CHECK_EQ(t.detail[2] >> SLUICE_DETAIL_KIND_SHIFT, SLUICE_DETAIL_CHUNK);
	addr[0] = 192, addr[1] = 0, addr[2] = 2, addr[3] = 31;
	CHECK(verdict_tables_lookup(&t, 4, addr)->action == SLUICE_ACT_BLOCK);
	addr[3] = 32;
	CHECK(verdict_tables_lookup(&t, 4, addr) == NULL);
	addr[0] = 198, addr[1] = 51, addr[2] = 9, addr[3] = 91;
	CHECK(verdict_tables_lookup(&t, 4, addr)->action == SLUICE_ACT_ALLOW);
	addr[3] = 92;
	CHECK(verdict_tables_lookup(&t, 4, addr)->action == SLUICE_ACT_BLOCK);
	verdict_tables_free(&t);
	prefix_list_free(&b);
	prefix_list_free(&a);
	prefix_list_free(&compiled);
	return 0;
}

/* Millions: every length, heavy overlap, v4 and v6. */
TEST(fast_table_matches_reference_on_2m_addresses)
{
	for (int round = 0; round < 4; round++)
		if (differential(4, 2000, 300, 250000, 0) || differential(6, 2000, 300, 250000, 0))
			return -1;
	return 0;
}

/* The bench's size: 1M v4 + 256k v6 random prefixes (the length mix of
 * bench/inputs.py) compile and paint in memory well under the 2 s budget
 * (the map writes come on top: `sluice status` reports both). */
TEST(fast_table_builds_1m_v4_256k_v6_with_no_overflow)
{
	static const uint8_t len4[] = {16, 18, 20, 22, 23, 24, 24, 24, 24, 24, 24,
				       24, 24, 25, 27, 28, 29, 30, 32, 32, 32};
	static const uint8_t len6[] = {32, 40, 44, 48, 48, 48, 48, 56, 56, 64, 64, 96, 128};
	struct prefix_list l = {0};
	struct verdict_tables t;
	char err[SLUICE_ERRLEN];
	struct timespec a, b;
	double ms;

	for (int i = 0; i < 1000000 + 262144; i++) {
		struct sluice_prefix p = {.action = SLUICE_ACT_BLOCK, .list_id = 1};

		if (i < 1000000) {
			uint32_t x = rnd() ^ rnd() << 16;

			p.family = 4;
			p.len = len4[rnd() % sizeof(len4)];
			memcpy(p.addr, &x, 4);
		} else {
			p.family = 6;
			p.len = len6[rnd() % sizeof(len6)];
			for (int j = 0; j < 16; j++)
				p.addr[j] = (uint8_t)rnd();
			p.addr[0] = 0x20 | (p.addr[0] & 0x1f);
		}
		prefix_mask(p.addr, p.len);
		prefix_list_push(&l, &p);
	}
	{
		/* compile_verdicts dedups what random drew twice */
		struct prefix_list none = {0}, comp = {0};

		CHECK(compile_verdicts(&l, &none, &comp) == 0);
		prefix_list_free(&l);
		l = comp;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(verdict_tables_build(&l, &t, err, sizeof(err)) == 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	fprintf(stderr,
		"    %zu prefixes: %.0f ms (timed by the bench's feedload scenario, not "
		"judged here), %zu detailed /24s (%zu ranges), %zu chunks, %zu v6 buckets, %zu "
		"hash entries, %zu trie entries\n",
		l.n, ms, t.n_detail, t.ranges4, t.n_chunks, t.buckets6, t.n_h6, t.trie.n);
	CHECK(t.n_detail > 250000 && t.ranges4 > 200000 && t.n_chunks > 0);
	CHECK_EQ(t.deeper4, 0);
	CHECK_EQ(t.deeper6, 0);
	verdict_tables_free(&t);
	prefix_list_free(&l);
	return 0;
}
