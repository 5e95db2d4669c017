// SPDX-License-Identifier: GPL-2.0
/* diag.c - collect config errors as "file:line: message" lines. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "model.h"

void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	char *body = NULL, *msg = NULL, **msgs;
	int *lines;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return; /* out of memory: the caller counts errors on its own */
	if (!file)
		msg = body, body = NULL;
	else if (line > 0)
		rc = asprintf(&msg, "%s:%d: %s", file, line, body);
	else
		rc = asprintf(&msg, "%s: %s", file, body);
	free(body);
	if (rc < 0 || !msg)
		return;
	msgs = realloc(d->msgs, (d->n + 1) * sizeof(*msgs));
	if (msgs)
		d->msgs = msgs;
	lines = realloc(d->lines, (d->n + 1) * sizeof(*lines));
	if (lines)
		d->lines = lines;
	if (!msgs || !lines) {
		free(msg);
		return;
	}
	d->msgs[d->n] = msg;
	d->lines[d->n] = line;
	d->n++;
}

void diag_print(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s\n", d->msgs[i]);
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	free(d->lines);
	memset(d, 0, sizeof(*d));
}

struct diag_entry {
	char *msg;
	int line;
	size_t seq; /* tie-break: qsort is not stable, the report must be */
};

static int diag_entry_cmp(const void *pa, const void *pb)
{
	const struct diag_entry *a = pa, *b = pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void diag_sort(struct diag *d, size_t from)
{
	size_t n = d->n - from;
	struct diag_entry *e;

	if (d->n <= from + 1)
		return;
	e = calloc(n, sizeof(*e));
	if (!e)
		return; /* unsorted is still complete */
	for (size_t i = 0; i < n; i++)
		e[i] = (struct diag_entry){d->msgs[from + i], d->lines[from + i], i};
	qsort(e, n, sizeof(*e), diag_entry_cmp);
	for (size_t i = 0; i < n; i++) {
		d->msgs[from + i] = e[i].msg;
		d->lines[from + i] = e[i].line;
	}
	free(e);
}
