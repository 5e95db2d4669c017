// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_prefix.c - libFuzzer harness: prefix_parse on arbitrary strings
 * (each accepted prefix must format and parse back to itself, with no host
 * bits), and prefix_list_load_file on arbitrary list files, whose result is
 * compiled (compile_verdicts) with the first half as blocklist and the
 * second as allowlist and checked against list semantics.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "fuzz_common.h"
#include "prefix.h"
#include "sluice_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const struct sluice_prefix *p, const struct sluice_prefix *x)
{
	uint8_t m[16];

	if (p->family != x->family || p->len > x->len)
		return 0;
	memcpy(m, x->addr, 16);
	prefix_mask(m, p->len);
	return !memcmp(m, p->addr, 16);
}

static void roundtrip(const char *s)
{
	struct sluice_prefix p, q;
	char err[SLUICE_ERRLEN], text[64];
	uint8_t m[16];

	if (prefix_parse(s, &p, err, sizeof(err))) {
		if (!err[0])
			abort();
		return;
	}
	if ((p.family != 4 && p.family != 6) || p.len > (p.family == 4 ? 32 : 128))
		abort();
	memcpy(m, p.addr, 16);
	prefix_mask(m, p.len);
	if (memcmp(m, p.addr, 16) || (p.family == 4 && memcmp(p.addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12)))
		abort();
	prefix_format(&p, text, sizeof(text));
	if (prefix_parse(text, &q, err, sizeof(err)) || !prefix_same(&p, &q))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prefix_list l = {0}, block = {0}, allow = {0}, out = {0};
	char err[SLUICE_ERRLEN];
	const char *path;

	if (size > 64 * 1024)
		return 0;
	if (size < 128) {
		char s[128];

		memcpy(s, data, size);
		s[size] = 0;
		roundtrip(s);
	}
	path = fuzz_write("input.txt", data, size);
	if (!path)
		abort();
	if (prefix_list_load_file(&l, path, 7, err, sizeof(err))) {
		if (l.n || !err[0])
			abort(); /* a bad file leaves the list as it was, and says why */
		prefix_list_free(&l);
		return 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].list_id != 7)
			abort();
		if (prefix_list_push(i < l.n / 2 ? &block : &allow, &l.v[i]))
			abort();
	}
	if (compile_verdicts(&block, &allow, &out))
		abort();
	/* every compiled entry is one of the inputs; allow entries are
	 * allowlist prefixes; no block entry lies inside an allow prefix */
	for (size_t i = 0; i < out.n; i++) {
		const struct sluice_prefix *c = &out.v[i];
		const struct prefix_list *from = c->action == SLUICE_ACT_ALLOW ? &allow : &block;
		int found = 0;

		for (size_t k = 0; k < from->n && !found; k++)
			found = prefix_same(&from->v[k], c);
		if (!found)
			abort();
		for (size_t k = 0; c->action == SLUICE_ACT_BLOCK && k < allow.n; k++)
			if (inside(&allow.v[k], c))
				abort();
	}
	prefix_list_free(&l);
	prefix_list_free(&block);
	prefix_list_free(&allow);
	prefix_list_free(&out);
	return 0;
}
