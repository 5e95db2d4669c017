/* SPDX-License-Identifier: GPL-2.0 */
/* prefix.h - IPv4/IPv6 prefixes: parse, format, compare, and growable lists. */
#ifndef SLUICE_PREFIX_H
#define SLUICE_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLUICE_ERRLEN 512

struct sluice_prefix {
	uint8_t family;	/* 4 or 6 */
	uint8_t len;	/* prefix length in bits */
	uint8_t action; /* enum sluice_action, set by the compiler */
	uint8_t pad;
	uint32_t list_id;
	uint8_t addr[16]; /* network order; v4 in the first 4 bytes, rest 0 */
};

struct prefix_list {
	struct sluice_prefix *v;
	size_t n, cap;
};

/* Parse "a.b.c.d[/len]" or "v6addr[/len]"; a bare address is a host
 * prefix.  Host bits set below the length are an error, since the intended
 * prefix is ambiguous.  On error writes a message (without position) to err
 * and returns -1. */
int prefix_parse(const char *s, struct sluice_prefix *out, char *err, size_t errlen);
void prefix_format(const struct sluice_prefix *p, char *buf, size_t len);
/* p's address with a port: "192.0.2.1:80", "[2001:db8::1]:80" (the length
 * is left out). */
void addr_port_format(const struct sluice_prefix *p, uint16_t port, char *buf, size_t len);
/* Keep only the first len bits of addr. */
void prefix_mask(uint8_t *addr, unsigned len);
/* Total order: family, then address bytes, then length. */
int prefix_cmp(const void *a, const void *b);
bool prefix_same(const struct sluice_prefix *a, const struct sluice_prefix *b);
/* outer covers inner: same family, outer no longer, same leading bits */
bool prefix_covers(const struct sluice_prefix *outer, const struct sluice_prefix *inner);

int prefix_list_push(struct prefix_list *l, const struct sluice_prefix *p);
void prefix_list_free(struct prefix_list *l);
/* Read one CIDR per line ('#' and ';' start comments, blank lines skipped;
 * so Spamhaus DROP "CIDR ; SBL123" and FireHOL netsets read as they are; a
 * bare address is a host prefix), plain or gzip-compressed (recognised by
 * its magic bytes), and append to l with the given list id.  On the first bad line writes
 * "path:line:col: message" to err and returns -1, leaving l as it was. */
int prefix_list_load_file(struct prefix_list *l, const char *path, uint32_t list_id, char *err,
			  size_t errlen);

/* Bad lines kept word for word when they are skipped (the rest counted). */
#define LIST_BAD_KEEP 4

/* How one list file's bad lines went (on_error = "warn"). */
struct list_bad_lines {
	uint32_t n;                                /* lines skipped */
	char first[LIST_BAD_KEEP][SLUICE_ERRLEN]; /* "path:line:col: message" */
};

/* prefix_list_load_file, with a choice: bad == NULL rejects the list at the
 * first bad line; otherwise a bad line (not an IPv4/IPv6 prefix, host bits
 * set, two words, too long) is skipped and counted in *bad, the first
 * LIST_BAD_KEEP of them kept with file:line:col.  A file that cannot be
 * read or a corrupt gzip stream is an error either way. */
int prefix_list_read(struct prefix_list *l, const char *path, uint32_t list_id,
		     struct list_bad_lines *bad, char *err, size_t errlen);

/* A hash set of exact prefixes (family, len, addr); open addressing, a slot
 * with family 0 is empty.  Sized once by prefix_set_init for the number of
 * entries the caller will add. */
struct prefix_set {
	struct sluice_prefix *slots;
	size_t cap, n;
};

int prefix_set_init(struct prefix_set *s, size_t expected);
int prefix_set_add(struct prefix_set *s, const struct sluice_prefix *p);
const struct sluice_prefix *prefix_set_find(const struct prefix_set *s, const struct sluice_prefix *p);
void prefix_set_free(struct prefix_set *s);

#endif
