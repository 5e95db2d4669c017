// SPDX-License-Identifier: GPL-2.0
/* top_parse.c - the `top` reply into rows (top.h has the format). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

static const struct {
	const char *kind;
	int nums;
} kinds[] = {
    {"daemon", 5},   {"reason", 3},
    {"tc", 2},	     {"evstat", 3},
    {"sampling", 2}, {"evstream", 2},
    {"source", 4},   {"prefix", 2},
    {"list", 3},     {"service", 3},
    {"backend", 3},  {"pod", 6},
    {"workload", 4}, {"workload_overflow", 2},
};

static int nums_of(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].kind, kind))
			return kinds[i].nums;
	return -1;
}

static int parse_line(const char *line, struct top_row *r)
{
	const char *p = line;
	int n, used;

	memset(r, 0, sizeof(*r));
	if (sscanf(p, "%19s%n", r->kind, &used) != 1)
		return -1;
	p += used;
	n = nums_of(r->kind);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		unsigned long long v;

		if (sscanf(p, " %llu%n", &v, &used) != 1)
			return -1;
		r->v[i] = v;
		p += used;
	}
	while (*p == ' ')
		p++;
	snprintf(r->name, sizeof(r->name), "%.*s", (int)strcspn(p, "\n"), p);
	return 0;
}

int top_parse(const char *text, struct top_snap *s)
{
	s->rows = NULL;
	s->n = s->cap = 0;
	for (const char *line = text; line && *line;) {
		struct top_row r;

		if (parse_line(line, &r) == 0) {
			if (s->n == s->cap) {
				size_t cap = s->cap ? 2 * s->cap : 64;
				struct top_row *more = realloc(s->rows, cap * sizeof(*more));

				if (!more)
					return -ENOMEM;
				s->rows = more;
				s->cap = cap;
			}
			s->rows[s->n++] = r;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

void top_snap_free(struct top_snap *s)
{
	free(s->rows);
	s->rows = NULL;
	s->n = s->cap = 0;
}

const struct top_row *top_find(const struct top_snap *s, const char *kind, const char *name)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!strcmp(s->rows[i].kind, kind) && (!name || !strcmp(s->rows[i].name, name)))
			return &s->rows[i];
	return NULL;
}
