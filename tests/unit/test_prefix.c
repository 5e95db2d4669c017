// SPDX-License-Identifier: GPL-2.0
/*
 * test_prefix.c - ctl/prefix.c (parse, mask, list files) and ctl/compile.c
 * (blocklists + allowlists -> one verdict list), in userspace only.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "harness.h"
#include "list_rule.h"
#include "prefix.h"

/* ---- prefix_parse -------------------------------------------------------- */

/* s parses as family/len and formats back as canon. */
static int parse_ok(const char *s, int family, int len, const char *canon)
{
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN] = "", buf[64];

	if (prefix_parse(s, &p, err, sizeof(err))) {
		fprintf(stderr, "    '%s' rejected: %s\n", s, err);
		return -1;
	}
	CHECK_EQ(p.family, family);
	CHECK_EQ(p.len, len);
	CHECK_EQ(p.action, 0);
	CHECK_EQ(p.list_id, 0);
	prefix_format(&p, buf, sizeof(buf));
	if (strcmp(buf, canon)) {
		fprintf(stderr, "    '%s' formats as '%s', want '%s'\n", s, buf, canon);
		return -1;
	}
	return 0;
}

/* s is rejected with a message containing needle. */
static int parse_fails(const char *s, const char *needle)
{
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN] = "";

	if (prefix_parse(s, &p, err, sizeof(err)) != -1) {
		fprintf(stderr, "    '%s' accepted\n", s);
		return -1;
	}
	if (!err[0] || (needle && !strstr(err, needle))) {
		fprintf(stderr, "    '%s': message '%s' lacks '%s'\n", s, err,
			needle ? needle : "");
		return -1;
	}
	return 0;
}

TEST(prefix_parse_accepts_v4_cidr)
{
	CHECK(parse_ok("192.0.2.0/24", 4, 24, "192.0.2.0/24") == 0);
	CHECK(parse_ok("10.0.0.0/8", 4, 8, "10.0.0.0/8") == 0);
	CHECK(parse_ok("0.0.0.0/0", 4, 0, "0.0.0.0/0") == 0);
	CHECK(parse_ok("203.0.113.9/32", 4, 32, "203.0.113.9/32") == 0);
	CHECK(parse_ok("192.0.2.128/25", 4, 25, "192.0.2.128/25") == 0);
	return parse_ok("198.51.100.0/023", 4, 23, "198.51.100.0/23");
}

TEST(prefix_parse_accepts_v6_cidr)
{
	CHECK(parse_ok("2001:db8::/32", 6, 32, "2001:db8::/32") == 0);
	CHECK(parse_ok("::/0", 6, 0, "::/0") == 0);
	CHECK(parse_ok("2001:db8:1:2::/64", 6, 64, "2001:db8:1:2::/64") == 0);
	CHECK(parse_ok("2001:DB8:0:0::/48", 6, 48, "2001:db8::/48") == 0);
	return parse_ok("2001:db8::8000/113", 6, 113, "2001:db8::8000/113");
}

TEST(prefix_parse_bare_address_is_host_prefix)
{
	CHECK(parse_ok("198.51.100.7", 4, 32, "198.51.100.7/32") == 0);
	CHECK(parse_ok("2001:db8::7", 6, 128, "2001:db8::7/128") == 0);
	/* a v4-mapped address is IPv6, not IPv4 */
	return parse_ok("::ffff:192.0.2.1", 6, 128, "::ffff:192.0.2.1/128");
}

TEST(prefix_parse_stores_network_order_v4_in_first_four_bytes)
{
	static const uint8_t want4[16] = {198, 51, 100, 0};
	static const uint8_t want6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN];

	CHECK(prefix_parse("198.51.100.0/24", &p, err, sizeof(err)) == 0);
	CHECK(memcmp(p.addr, want4, 16) == 0);
	CHECK(prefix_parse("2001:db8:1::/48", &p, err, sizeof(err)) == 0);
	CHECK(memcmp(p.addr, want6, 16) == 0);
	return 0;
}

TEST(prefix_parse_rejects_bad_address)
{
	static const char *const bad[] = {
	    "192.0.2",	    "192.0.2.256", "192.0.2.1.5", "example.com", "2001:db8::g",
	    "2001:db8:::1", " 192.0.2.1",  "192.0.2.1 ",  "1.2.3.04",	 "-",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_fails(bad[i], "not an IPv4 or IPv6 address"))
			return -1;
	/* nothing before the slash, or nothing at all */
	CHECK(parse_fails("", "not an IP address") == 0);
	return parse_fails("/24", "not an IP address");
}

TEST(prefix_parse_rejects_length_over_family_maximum)
{
	CHECK(parse_fails("192.0.2.0/33", "must be 0..32") == 0);
	CHECK(parse_fails("192.0.2.0/128", "must be 0..32") == 0);
	CHECK(parse_fails("2001:db8::/129", "must be 0..128") == 0);
	/* would wrap to 0 in 32 bits */
	return parse_fails("192.0.2.0/4294967296", "must be 0..32");
}

TEST(prefix_parse_rejects_non_numeric_length)
{
	static const char *const bad[] = {
	    "192.0.2.0/abc", "192.0.2.0/",    "192.0.2.0/-1",	"192.0.2.0/+24",   "192.0.2.0/24x",
	    "192.0.2.0/ 24", "192.0.2.0/2 4", "192.0.2.0/24/8", "2001:db8::/0x20",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_fails(bad[i], "prefix length"))
			return -1;
	return 0;
}

TEST(prefix_parse_host_bits_set_names_intended_prefix)
{
	CHECK(parse_fails("192.0.2.1/24", "did you mean 192.0.2.0/24?") == 0);
	CHECK(parse_fails("10.1.2.3/8", "did you mean 10.0.0.0/8?") == 0);
	CHECK(parse_fails("192.0.2.64/25", "did you mean 192.0.2.0/25?") == 0);
	CHECK(parse_fails("0.0.0.1/0", "did you mean 0.0.0.0/0?") == 0);
	CHECK(parse_fails("2001:db8::1/64", "did you mean 2001:db8::/64?") == 0);
	CHECK(parse_fails("2001:db8:1:2:3::/48", "did you mean 2001:db8:1::/48?") == 0);
	/* and quotes what was given */
	return parse_fails("2001:db8::1/64", "'2001:db8::1/64' has host bits set");
}

TEST(prefix_mask_keeps_exactly_len_leading_bits)
{
	for (unsigned len = 0; len <= 128; len++) {
		uint8_t a[16];
		unsigned ones = 0;

		memset(a, 0xff, sizeof(a));
		prefix_mask(a, len);
		for (int i = 0; i < 16; i++)
			for (int b = 7; b >= 0; b--)
				ones += (a[i] >> b) & 1;
		CHECK_EQ(ones, len);
		/* and they are the leading ones */
		CHECK(len == 0 || (a[(len - 1) / 8] >> (7 - (len - 1) % 8)) & 1);
	}
	return 0;
}

/* ---- prefix_list_load_file ----------------------------------------------- */

/* Write content to a fresh temp file; path gets its name. */
static int write_temp(char *path, const char *content)
{
	int fd;
	size_t n = strlen(content);

	strcpy(path, "/tmp/sluice-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, content, n) != (ssize_t)n) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static int entry_is(const struct prefix_list *l, size_t i, const char *cidr, uint32_t list_id)
{
	char buf[64];

	CHECK(i < l->n);
	prefix_format(&l->v[i], buf, sizeof(buf));
	if (strcmp(buf, cidr)) {
		fprintf(stderr, "    entry %zu is %s, want %s\n", i, buf, cidr);
		return -1;
	}
	CHECK_EQ(l->v[i].list_id, list_id);
	return 0;
}

/* Load content as a file with list id 7; on failure err holds the message
 * with the temp path replaced by "F". */
static int load(const char *content, struct prefix_list *l, char *err, size_t errlen)
{
	char path[32], raw[SLUICE_ERRLEN] = "";
	int rc;

	if (write_temp(path, content)) {
		snprintf(err, errlen, "cannot write temp file");
		return -2;
	}
	rc = prefix_list_load_file(l, path, 7, raw, sizeof(raw));
	unlink(path);
	if (!strncmp(raw, path, strlen(path)))
		snprintf(err, errlen, "F%s", raw + strlen(path));
	else
		snprintf(err, errlen, "%s", raw);
	return rc;
}

TEST(load_file_skips_comments_blank_lines_and_crlf)
{
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN] = "";
	int rc = load("# test blocklist\n"
		      "192.0.2.0/24\n"
		      "; other comment style\n"
		      "\n"
		      "   \t  \n"
		      "  198.51.100.7   # trailing comment\n"
		      "2001:db8::/32\r\n"
		      "\r\n"
		      "203.0.113.0/24;inline\n"
		      "# 10.0.0.0/8 commented out\n"
		      "2001:db8:1::1", /* no final newline */
		      &l, err, sizeof(err));

	if (rc)
		fprintf(stderr, "    %s\n", err);
	CHECK_EQ(rc, 0);
	CHECK_EQ(l.n, 5);
	CHECK(entry_is(&l, 0, "192.0.2.0/24", 7) == 0);
	CHECK(entry_is(&l, 1, "198.51.100.7/32", 7) == 0);
	CHECK(entry_is(&l, 2, "2001:db8::/32", 7) == 0);
	CHECK(entry_is(&l, 3, "203.0.113.0/24", 7) == 0);
	CHECK(entry_is(&l, 4, "2001:db8:1::1/128", 7) == 0);
	prefix_list_free(&l);
	return 0;
}

TEST(load_file_of_only_comments_adds_nothing)
{
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN] = "";

	CHECK_EQ(load("# nothing here\n;\n\n\r\n", &l, err, sizeof(err)), 0);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(load("", &l, err, sizeof(err)), 0);
	CHECK_EQ(l.n, 0);
	return 0;
}

TEST(load_file_appends_to_existing_list)
{
	struct prefix_list l = {0};
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN] = "";

	CHECK(prefix_parse("10.0.0.0/8", &p, err, sizeof(err)) == 0);
	p.list_id = 1;
	CHECK(prefix_list_push(&l, &p) == 0);
	CHECK_EQ(load("192.0.2.0/24\n", &l, err, sizeof(err)), 0);
	CHECK_EQ(l.n, 2);
	CHECK(entry_is(&l, 0, "10.0.0.0/8", 1) == 0);
	CHECK(entry_is(&l, 1, "192.0.2.0/24", 7) == 0);
	prefix_list_free(&l);
	return 0;
}

/* content fails with exactly want (path shown as F); the list keeps only
 * the entry it had before. */
static int load_fails_with(const char *content, const char *want)
{
	struct prefix_list l = {0};
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN] = "";
	int rc;

	CHECK(prefix_parse("10.0.0.0/8", &p, err, sizeof(err)) == 0);
	CHECK(prefix_list_push(&l, &p) == 0);
	rc = load(content, &l, err, sizeof(err));
	if (strcmp(err, want))
		fprintf(stderr, "    message '%s'\n    want    '%s'\n", err, want);
	CHECK_EQ(rc, -1);
	CHECK(strcmp(err, want) == 0);
	CHECK_EQ(l.n, 1);
	CHECK(entry_is(&l, 0, "10.0.0.0/8", 0) == 0);
	prefix_list_free(&l);
	return 0;
}

TEST(load_file_bad_line_reports_path_line_and_column)
{
	return load_fails_with(
	    "192.0.2.0/24\n"
	    "# fine\n"
	    "\n"
	    "   192.0.2.1/24   # typo\n"
	    "198.51.100.0/24\n",
	    "F:4:4: '192.0.2.1/24' has host bits set (did you mean 192.0.2.0/24?)");
}

TEST(load_file_bad_line_after_crlf_lines_counts_lines_right)
{
	return load_fails_with("192.0.2.0/24\r\n\r\nbogus\r\n",
			       "F:3:1: 'bogus' is not an IPv4 or IPv6 address");
}

TEST(load_file_bad_length_reports_column_after_indent)
{
	return load_fails_with("\t10.0.0.0/33\n", "F:1:2: prefix length '33' must be 0..32");
}

TEST(load_file_two_prefixes_on_a_line_is_an_error)
{
	return load_fails_with("192.0.2.0/24\n  192.0.2.0/24 198.51.100.0/24\n",
			       "F:2:3: one prefix per line expected, got "
			       "'192.0.2.0/24 198.51.100.0/24'");
}

TEST(load_file_missing_file_names_it)
{
	struct prefix_list l = {0};
	char err[SLUICE_ERRLEN] = "";

	CHECK_EQ(prefix_list_load_file(&l, "/nonexistent/sluice-list", 1, err, sizeof(err)), -1);
	CHECK(strcmp(err, "/nonexistent/sluice-list: cannot open: No such file or directory") == 0);
	CHECK_EQ(l.n, 0);
	return 0;
}

/* ---- compile_verdicts ----------------------------------------------------- */

static int add(struct prefix_list *l, const char *cidr, uint32_t list_id)
{
	struct sluice_prefix p;
	char err[SLUICE_ERRLEN];

	if (prefix_parse(cidr, &p, err, sizeof(err))) {
		fprintf(stderr, "    bad test prefix: %s\n", err);
		return -1;
	}
	p.list_id = list_id;
	return prefix_list_push(l, &p);
}

static const char *action_name(int a)
{
	return a == SLUICE_ACT_BLOCK ? "block" : a == SLUICE_ACT_ALLOW ? "allow" : "none";
}

/* out holds exactly want, in order: "cidr action list_id" strings. */
static int compiled_is(const struct prefix_list *out, const char *const *want)
{
	size_t n = 0;

	while (want[n])
		n++;
	for (size_t i = 0; i < out->n || i < n; i++) {
		char pfx[64], got[96] = "(none)";

		if (i < out->n) {
			prefix_format(&out->v[i], pfx, sizeof(pfx));
			snprintf(got, sizeof(got), "%s %s %u", pfx, action_name(out->v[i].action),
				 out->v[i].list_id);
		}
		if (i >= n || strcmp(got, want[i])) {
			fprintf(stderr, "    entry %zu: '%s', want '%s'\n", i, got,
				i < n ? want[i] : "(none)");
			return -1;
		}
	}
	return 0;
}

/* Compile block/allow (id 0 unless given as "cidr@id") and compare. */
static int compile_expect(const char *const *block, const char *const *allow,
			  const char *const *want)
{
	struct prefix_list b = {0}, a = {0}, out = {0};
	int rc = -1;

	for (int pass = 0; pass < 2; pass++) {
		const char *const *src = pass ? allow : block;
		struct prefix_list *dst = pass ? &a : &b;

		for (; *src; src++) {
			char cidr[64];
			const char *at = strchr(*src, '@');
			size_t len = at ? (size_t)(at - *src) : strlen(*src);

			snprintf(cidr, sizeof(cidr), "%.*s", (int)len, *src);
			if (add(dst, cidr, at ? (uint32_t)atoi(at + 1) : 0))
				goto out;
		}
	}
	if (compile_verdicts(&b, &a, &out)) {
		fprintf(stderr, "    compile_verdicts failed\n");
		goto out;
	}
	rc = compiled_is(&out, want);
out:
	prefix_list_free(&b);
	prefix_list_free(&a);
	prefix_list_free(&out);
	return rc;
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

TEST(compile_empty_lists_give_nothing)
{
	return compile_expect(NONE, NONE, NONE);
}

TEST(compile_mixed_families_sorted_v4_first)
{
	return compile_expect(LIST("2001:db8::/32", "198.51.100.0/24", "192.0.2.0/24"),
			      LIST("2001:db8:1::/48", "203.0.113.0/24"),
			      LIST("192.0.2.0/24 block 0", "198.51.100.0/24 block 0",
				   "203.0.113.0/24 allow 0", "2001:db8::/32 block 0",
				   "2001:db8:1::/48 allow 0"));
}

TEST(compile_drops_block_prefixes_inside_allow_prefixes)
{
	/* covered blocks go; blocks that cover the allow prefix stay */
	return compile_expect(LIST("10.1.0.0/16", "10.1.2.3/32", "10.0.0.0/9", "10.0.0.0/8",
				   "11.0.0.0/8", "0.0.0.0/0", "2001:db8:1::/48", "2001:db8::/31"),
			      LIST("10.0.0.0/8", "2001:db8::/32"),
			      LIST("0.0.0.0/0 block 0", "10.0.0.0/8 allow 0", "11.0.0.0/8 block 0",
				   "2001:db8::/31 block 0", "2001:db8::/32 allow 0"));
}

TEST(compile_same_prefix_in_both_lists_is_one_allow_entry)
{
	return compile_expect(LIST("192.0.2.0/24@1", "2001:db8::/32@2"),
			      LIST("192.0.2.0/24@4", "2001:db8::/32@3"),
			      LIST("192.0.2.0/24 allow 4", "2001:db8::/32 allow 3"));
}

TEST(compile_duplicates_keep_lowest_list_id)
{
	return compile_expect(
	    LIST("192.0.2.0/24@3", "192.0.2.0/24@1", "192.0.2.0/24@2", "2001:db8::/32@2",
		 "2001:db8::/32@0"),
	    LIST("198.51.100.0/24@7", "198.51.100.0/24@5", "198.51.100.0/24@9"),
	    LIST("192.0.2.0/24 block 1", "198.51.100.0/24 allow 5", "2001:db8::/32 block 0"));
}

TEST(compile_allow_of_one_family_does_not_cover_the_other)
{
	CHECK(compile_expect(LIST("::/0", "2001:db8::/32"), LIST("0.0.0.0/0"),
			     LIST("0.0.0.0/0 allow 0", "::/0 block 0", "2001:db8::/32 block 0")) ==
	      0);
	/* ::ffff:0:0/96 holds the v4-mapped addresses, not IPv4 itself */
	return compile_expect(LIST("192.0.2.0/24", "0.0.0.0/0"), LIST("::/0", "::ffff:0:0/96"),
			      LIST("0.0.0.0/0 block 0", "192.0.2.0/24 block 0", "::/0 allow 0",
				   "::ffff:0.0.0.0/96 allow 0"));
}

/* A small deterministic PRNG (xorshift32) so failures reproduce. */
static uint32_t rng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void shuffle(struct prefix_list *l, uint32_t *seed)
{
	for (size_t i = l->n; i > 1; i--) {
		size_t j = rng(seed) % i;
		struct sluice_prefix t = l->v[i - 1];

		l->v[i - 1] = l->v[j];
		l->v[j] = t;
	}
}

static int same_entries(const struct prefix_list *x, const struct prefix_list *y)
{
	CHECK_EQ(x->n, y->n);
	for (size_t i = 0; i < x->n; i++) {
		CHECK(prefix_same(&x->v[i], &y->v[i]));
		CHECK_EQ(x->v[i].action, y->v[i].action);
		CHECK_EQ(x->v[i].list_id, y->v[i].list_id);
	}
	return 0;
}

/* Random prefixes inside 10.0.0.0/12 or 2001:db8::/36, lengths from /16 or
 * /40 up to the family maximum, list ids 0..3: few enough bits to nest and
 * collide often, long enough to leave addresses outside every prefix. */
static void random_prefix(struct sluice_prefix *p, uint32_t *seed)
{
	uint32_t r = rng(seed);

	memset(p, 0, sizeof(*p));
	p->list_id = r % 4;
	if (r & 0x10) {
		p->family = 4;
		p->addr[0] = 10;
		p->addr[1] = (uint8_t)(rng(seed) & 0x0f);
		p->addr[2] = (uint8_t)rng(seed);
		p->addr[3] = (uint8_t)rng(seed);
		p->len = (uint8_t)(16 + rng(seed) % 17);
	} else {
		p->family = 6;
		memcpy(p->addr, "\x20\x01\x0d\xb8", 4);
		p->addr[4] = (uint8_t)(rng(seed) & 0x0f);
		p->addr[5] = (uint8_t)rng(seed);
		p->addr[15] = (uint8_t)rng(seed);
		p->len = (uint8_t)(40 + rng(seed) % 89);
	}
	prefix_mask(p->addr, p->len);
}

static int random_lists(struct prefix_list *b, struct prefix_list *a, uint32_t seed, size_t nb,
			size_t na)
{
	for (size_t i = 0; i < nb + na; i++) {
		struct sluice_prefix p;

		random_prefix(&p, &seed);
		if (prefix_list_push(i < nb ? b : a, &p))
			return -1;
	}
	/* exact duplicates, across and within lists */
	for (size_t i = 0; i < nb / 4 && i < na; i++) {
		struct sluice_prefix p = a->v[i];

		p.list_id = 3 - p.list_id;
		if (prefix_list_push(b, &p) || prefix_list_push(a, &p))
			return -1;
	}
	return 0;
}

TEST(compile_is_independent_of_input_order)
{
	struct prefix_list b = {0}, a = {0}, first = {0};
	uint32_t seed = 0x5eed;
	int rc = -1;

	if (random_lists(&b, &a, 12345, 200, 60) || compile_verdicts(&b, &a, &first))
		goto out;
	for (int round = 0; round < 50; round++) {
		struct prefix_list again = {0};

		shuffle(&b, &seed);
		shuffle(&a, &seed);
		if (compile_verdicts(&b, &a, &again) || same_entries(&first, &again)) {
			fprintf(stderr, "    differs after shuffle %d\n", round);
			prefix_list_free(&again);
			goto out;
		}
		prefix_list_free(&again);
	}
	rc = 0;
out:
	prefix_list_free(&b);
	prefix_list_free(&a);
	prefix_list_free(&first);
	return rc;
}

/* What the data path does: one longest-prefix match. */
static int lpm(const struct prefix_list *out, int family, const uint8_t *addr)
{
	int best = -1, action = SLUICE_ACT_NONE;

	for (size_t i = 0; i < out->n; i++) {
		if (prefix_holds(&out->v[i], family, addr) && (int)out->v[i].len > best) {
			best = out->v[i].len;
			action = out->v[i].action;
		}
	}
	return action;
}

TEST(compile_longest_match_is_allow_inside_any_allow_else_block)
{
	struct prefix_list b = {0}, a = {0}, out = {0};
	uint32_t seed = 777;
	int rc = -1, seen[3] = {0};

	if (random_lists(&b, &a, 4242, 300, 80) || compile_verdicts(&b, &a, &out))
		goto out;
	/* probe every prefix's first and last address, and random ones */
	for (size_t i = 0; i < b.n + a.n + 4000; i++) {
		struct sluice_prefix probe;
		int family, got, want;

		if (i < b.n + a.n) {
			probe = i < b.n ? b.v[i] : a.v[i - b.n];
			if (i & 1) /* last address: set every host bit */
				for (unsigned bit = probe.len;
				     bit < (probe.family == 4 ? 32u : 128u); bit++)
					probe.addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		} else {
			random_prefix(&probe, &seed);
			probe.addr[probe.family == 4 ? 3 : 15] ^= (uint8_t)rng(&seed);
		}
		family = probe.family;
		got = lpm(&out, family, probe.addr);
		want = lists_rule(&b, &a, family, probe.addr);
		seen[want]++;
		if (got != want) {
			char buf[64];

			probe.len = family == 4 ? 32 : 128;
			prefix_format(&probe, buf, sizeof(buf));
			fprintf(stderr, "    %s: longest match %s, lists say %s\n", buf,
				action_name(got), action_name(want));
			goto out;
		}
	}
	/* the probes exercised all three outcomes */
	if (!seen[SLUICE_ACT_NONE] || !seen[SLUICE_ACT_BLOCK] || !seen[SLUICE_ACT_ALLOW]) {
		fprintf(stderr, "    outcomes none %d block %d allow %d\n", seen[0], seen[1],
			seen[2]);
		goto out;
	}
	rc = 0;
out:
	prefix_list_free(&b);
	prefix_list_free(&a);
	prefix_list_free(&out);
	return rc;
}
