// SPDX-License-Identifier: GPL-2.0
/* prefix.c - parse and format prefixes, lists of them and a hash set. */
#define _GNU_SOURCE
#include "prefix.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

void prefix_mask(uint8_t *addr, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		if (len >= 8) {
			len -= 8;
			continue;
		}
		addr[i] &= (uint8_t)(0xff00u >> len);
		len = 0;
	}
}

int prefix_parse(const char *s, struct sluice_prefix *out, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxlen, len;
	uint8_t masked[16];

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= INET6_ADDRSTRLEN) {
		snprintf(err, errlen, "'%s' is not an IP address or CIDR prefix", s);
		return -1;
	}
	memcpy(buf, s, alen);
	buf[alen] = 0;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 4;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		maxlen = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", buf);
		return -1;
	}
	len = maxlen;
	if (slash) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || errno || v > maxlen) {
			snprintf(err, errlen, "prefix length '%s' must be 0..%u", slash + 1, maxlen);
			return -1;
		}
		len = (unsigned)v;
	}
	out->len = (uint8_t)len;
	memcpy(masked, out->addr, 16);
	prefix_mask(masked, len);
	if (memcmp(masked, out->addr, 16)) {
		struct sluice_prefix want = *out;
		char wbuf[64];

		memcpy(want.addr, masked, 16);
		prefix_format(&want, wbuf, sizeof(wbuf));
		snprintf(err, errlen, "'%s' has host bits set (did you mean %s?)", s, wbuf);
		return -1;
	}
	return 0;
}

void prefix_format(const struct sluice_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
}

void addr_port_format(const struct sluice_prefix *p, uint16_t port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, len, p->family == 4 ? "%s:%u" : "[%s]:%u", a, port);
}

int prefix_cmp(const void *pa, const void *pb)
{
	const struct sluice_prefix *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return (int)a->len - (int)b->len;
}

bool prefix_same(const struct sluice_prefix *a, const struct sluice_prefix *b)
{
	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

bool prefix_covers(const struct sluice_prefix *outer, const struct sluice_prefix *inner)
{
	uint8_t a[16];

	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	memcpy(a, inner->addr, 16);
	prefix_mask(a, outer->len);
	return !memcmp(a, outer->addr, 16);
}

int prefix_list_push(struct prefix_list *l, const struct sluice_prefix *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct sluice_prefix *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}

void prefix_list_free(struct prefix_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Longest line accepted in a list file (feeds use short lines; a longer
 * one is a sign of the wrong file). */
#define LIST_LINE_MAX 4096

/* The common feed line, "a.b.c.d" or "a.b.c.d/len" written plainly, without
 * inet_pton and strtoul (a 1M-line feed spends most of its parse time
 * there).  Anything else, and any error, goes to prefix_parse: one
 * grammar, one set of messages. */
static int prefix_parse_fast(const char *s, size_t n, struct sluice_prefix *out, char *err,
			     size_t errlen)
{
	const char *c = s, *end = s + n;
	uint32_t a = 0, len = 32;

	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		while (c < end && *c >= '0' && *c <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*c++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255 || (digits > 1 && c[-(int)digits] == '0'))
			return prefix_parse(s, out, err, errlen);
		a = a << 8 | v;
		if (i < 3 && (c >= end || *c++ != '.'))
			return prefix_parse(s, out, err, errlen);
	}
	if (c < end) {
		unsigned digits = 0;

		if (*c++ != '/')
			return prefix_parse(s, out, err, errlen);
		len = 0;
		while (c < end && *c >= '0' && *c <= '9' && digits < 3) {
			len = len * 10 + (uint32_t)(*c++ - '0');
			digits++;
		}
		if (!digits || c != end || len > 32)
			return prefix_parse(s, out, err, errlen);
	}
	if (len < 32 && (a & (0xffffffffu >> len)))
		return prefix_parse(s, out, err, errlen); /* host bits: its message */
	memset(out, 0, sizeof(*out));
	out->family = 4;
	out->len = (uint8_t)len;
	out->addr[0] = (uint8_t)(a >> 24);
	out->addr[1] = (uint8_t)(a >> 16);
	out->addr[2] = (uint8_t)(a >> 8);
	out->addr[3] = (uint8_t)a;
	return 0;
}

/* A bad line: an error, or (lenient) counted and the first few kept. */
static void copy_msg(char *dst, size_t len, const char *msg)
{
	size_t n = strlen(msg);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, msg, n);
	dst[n] = 0;
}

static int bad_line(struct list_bad_lines *bad, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The message is formatted here (a long path or line is cut to fit, never
 * an overflow): "path:line:col: what". */
static int bad_line(struct list_bad_lines *bad, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[SLUICE_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!bad) {
		copy_msg(err, errlen, msg);
		return -1;
	}
	if (bad->n < LIST_BAD_KEEP)
		copy_msg(bad->first[bad->n], sizeof(bad->first[0]), msg);
	bad->n++;
	return 0;
}

/* Lists are read through zlib: gzip-compressed files are recognised by
 * their magic bytes and inflated, anything else is read as it is. */
int prefix_list_read(struct prefix_list *l, const char *path, uint32_t list_id,
		     struct list_bad_lines *bad, char *err, size_t errlen)
{
	size_t n_before = l->n;
	char line[LIST_LINE_MAX + 2];
	unsigned lineno = 0;
	struct stat st;
	gzFile f;
	int rc = 0, zerr = Z_OK;

	if (bad)
		memset(bad, 0, sizeof(*bad));
	/* a device or FIFO would never end (/dev/zero reads as endless blank
	 * lines): lists are regular files */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	f = gzopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib");
		return -1;
	}
	/* zlib's default 8 KiB buffers make a 10 MB feed cost thousands of
	 * read(2) calls and inflate steps: 256 KiB is measurably faster */
	gzbuffer(f, 256 * 1024);
	while (!rc && gzgets(f, line, sizeof(line))) {
		struct sluice_prefix p;
		char why[SLUICE_ERRLEN];
		size_t n = strlen(line);
		char *s = line, *e;

		lineno++;
		if (n > LIST_LINE_MAX) {
			rc = bad_line(bad, err, errlen, "%s:%u:1: line longer than %d bytes", path,
				      lineno, LIST_LINE_MAX);
			/* skipped: read past the rest of it */
			while (!rc && line[n - 1] != '\n' && gzgets(f, line, sizeof(line)))
				n = strlen(line);
			continue;
		}
		e = s + strcspn(s, "#;\r\n");
		*e = 0;
		while (isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = 0;
		if (!*s)
			continue;
		if (strpbrk(s, " \t")) {
			rc = bad_line(bad, err, errlen,
				      "%s:%u:%ld: one prefix per line expected, got '%s'", path, lineno,
				      (long)(s - line) + 1, s);
			continue;
		}
		if (prefix_parse_fast(s, (size_t)(e - s), &p, why, sizeof(why))) {
			rc = bad_line(bad, err, errlen, "%s:%u:%ld: %s", path, lineno,
				      (long)(s - line) + 1, why);
			continue;
		}
		p.list_id = list_id;
		if (prefix_list_push(l, &p)) {
			snprintf(err, errlen, "%s: out of memory", path);
			rc = -1;
		}
	}
	/* a truncated or corrupt stream: gzgets stops early, and zlib keeps the
	 * error (gzeof alone can be true after "unexpected end of file") */
	if (!rc && (gzerror(f, &zerr), zerr != Z_OK || !gzeof(f))) {
		const char *zmsg = gzerror(f, &zerr);

		snprintf(err, errlen, "%s:%u: cannot read: %s", path, lineno + 1,
			 zerr == Z_ERRNO ? strerror(errno) : zmsg);
		rc = -1;
	}
	gzclose(f);
	if (rc)
		l->n = n_before;
	return rc;
}

int prefix_list_load_file(struct prefix_list *l, const char *path, uint32_t list_id, char *err,
			  size_t errlen)
{
	return prefix_list_read(l, path, list_id, NULL, err, errlen);
}

/* A 1M-entry set is built and probed millions of times in a reload (the
 * diff, the map writes): two 64-bit multiplies instead of a byte-wise FNV,
 * and the slot itself says whether it is used (family 0: empty), so a
 * probe touches one cache line, not two arrays. */
static uint64_t prefix_hash(const struct sluice_prefix *p)
{
	uint64_t a, b, h;

	memcpy(&a, p->addr, 8);
	memcpy(&b, p->addr + 8, 8);
	h = (a ^ ((uint64_t)p->family << 56 | (uint64_t)p->len << 48)) * 0x9e3779b97f4a7c15ull;
	h ^= b * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93ull;
	return h ^ (h >> 32);
}

int prefix_set_init(struct prefix_set *s, size_t expected)
{
	size_t cap = 16;

	/* at most 2/3 full: short probe runs, half the memory of 1/2 */
	while (cap * 2 < expected * 3)
		cap <<= 1;
	s->slots = calloc(cap, sizeof(*s->slots));
	s->cap = cap;
	s->n = 0;
	if (!s->slots) {
		prefix_set_free(s);
		return -ENOMEM;
	}
	return 0;
}

int prefix_set_add(struct prefix_set *s, const struct sluice_prefix *p)
{
	size_t i = prefix_hash(p) & (s->cap - 1);

	if ((s->n + 1) * 3 > s->cap * 2)
		return -ENOSPC; /* sized at init; callers know their count */
	if (!p->family)
		return -EINVAL; /* family 0 marks an empty slot */
	while (s->slots[i].family) {
		if (prefix_same(&s->slots[i], p))
			return 0;
		i = (i + 1) & (s->cap - 1);
	}
	s->slots[i] = *p;
	s->n++;
	return 0;
}

const struct sluice_prefix *prefix_set_find(const struct prefix_set *s, const struct sluice_prefix *p)
{
	size_t i = prefix_hash(p) & (s->cap - 1);

	while (s->slots[i].family) {
		if (prefix_same(&s->slots[i], p))
			return &s->slots[i];
		i = (i + 1) & (s->cap - 1);
	}
	return NULL;
}

void prefix_set_free(struct prefix_set *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}
