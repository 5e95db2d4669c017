// SPDX-License-Identifier: GPL-2.0
/* control_buf.c - a growable text buffer for replies and reports. */
#include <stdio.h>
#include <stdlib.h>

#include "control.h"

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int need;

	if (b->oom)
		return;
	va_copy(again, ap);
	need = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
	if (need < 0) {
		va_end(again);
		return;
	}
	if (!b->s || b->len + (size_t)need + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *more;

		while (cap < b->len + (size_t)need + 1)
			cap *= 2;
		more = realloc(b->s, cap);
		if (!more) {
			b->oom = true;
			va_end(again);
			return;
		}
		b->s = more;
		b->cap = cap;
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, again);
	}
	b->len += (size_t)need;
	va_end(again);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_free(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

void buf_json_str(struct buf *b, const char *s)
{
	buf_printf(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\u%04x", (unsigned char)*s);
		else
			buf_printf(b, "%c", *s);
	}
	buf_printf(b, "\"");
}
