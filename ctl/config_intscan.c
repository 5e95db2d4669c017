// SPDX-License-Identifier: GPL-2.0
/*
 * config_intscan.c - catch integer literals that libconfig 1.5 would
 * silently truncate.  Its scanner stores a plain integer (no L suffix) in a
 * C int, so "port = 4294967376;" parses as port 80 without a word.  A checker
 * that lets that through is worse than none, so before parsing we walk the
 * text the way libconfig's lexer does (strings, three comment styles, names,
 * numbers) and report every plain integer that does not fit in 32 bits.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

static bool name_start(char ch)
{
	return isalpha((unsigned char)ch) || ch == '*';
}

static bool name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '*' || ch == '_' || ch == '-';
}

/* Check the number starting at p (sign included); returns its end. */
static const char *check_number(struct cfg_ctx *c, const char *file, int line, const char *p)
{
	const char *start = p, *digits;
	bool negative = false, hex;
	unsigned long long v;
	char *end;

	if (*p == '+' || *p == '-')
		negative = *p++ == '-';
	digits = p;
	hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	errno = 0;
	v = strtoull(digits, &end, hex ? 16 : 10);
	if (!hex && (*end == '.' || *end == 'e' || *end == 'E')) {
		/* a float: skip it whole */
		while (isalnum((unsigned char)*end) || *end == '.' || *end == '+' || *end == '-')
			end++;
		return end;
	}
	if (*end == 'L') /* 64-bit literal: libconfig keeps it whole */
		return end + 1 + (end[1] == 'L');
	/* libconfig reads hex as a 32-bit pattern (0xffffffff is -1). */
	if (errno == ERANGE || (hex ? v > UINT32_MAX : v > (negative ? 2147483648ull : INT32_MAX))) {
		c->errors++;
		diag_add(c->d, file, line,
			 "integer %.*s does not fit in 32 bits (libconfig would silently "
			 "truncate it; append L for a 64-bit value)",
			 (int)(end - start), start);
	}
	return end;
}

void cfg_scan_ints(struct cfg_ctx *c, const char *file, const char *text)
{
	int line = 1;

	for (const char *p = text; *p;) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p)
				p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p)
				p += 2;
		} else if (name_start(*p)) {
			while (name_char(*p))
				p++;
		} else if (isdigit((unsigned char)*p) ||
			   ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))) {
			p = check_number(c, file, line, p);
		} else {
			p++;
		}
	}
}
