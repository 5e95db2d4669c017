// SPDX-License-Identifier: GPL-2.0
/*
 * config_scan.c - what must be caught in the raw text, before libconfig
 * parses it, because libconfig 1.5 itself gets it wrong:
 *
 *  - Integers: a plain integer (no L suffix) is stored in a C int, so
 *    "port = 4294967376;" parses as port 80 without a word.  Every such
 *    literal that does not fit in 32 bits is an error.
 *  - @include: an included directory (`@include ""`) makes its scanner call
 *    exit(2) ("input in flex scanner failed"), absolute paths are glued to
 *    the include dir, and an included file escapes the mode check.  One file
 *    is also easier to review, so the directive is refused, and blanked out
 *    here so that libconfig never acts on it and the rest is still checked.
 *
 * The walk follows libconfig's lexer: strings with escapes, three comment
 * styles, names (which may hold digits and '-'), numbers.
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
static char *check_number(struct cfg_ctx *c, int line, char *p)
{
	char *start = p, *end;
	bool negative = false, hex;
	unsigned long long v;

	if (*p == '+' || *p == '-')
		negative = *p++ == '-';
	hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	errno = 0;
	v = strtoull(p, &end, hex ? 16 : 10);
	if (!hex && (*end == '.' || *end == 'e' || *end == 'E')) {
		/* a float: skip it whole */
		while (isalnum((unsigned char)*end) || *end == '.' || *end == '+' || *end == '-')
			end++;
		return end;
	}
	if (*end == 'L') /* 64-bit literal: libconfig keeps it whole */
		return end + 1 + (end[1] == 'L');
	/* libconfig reads hex as a 32-bit pattern (0xffffffff is -1). */
	if (errno == ERANGE ||
	    (hex ? v > UINT32_MAX : v > (negative ? 2147483648ull : INT32_MAX))) {
		c->errors++;
		diag_add(c->d, c->file, line,
			 "integer %.*s does not fit in 32 bits (libconfig would silently "
			 "truncate it; append L for a 64-bit value)",
			 (int)(end - start), start);
	}
	return end;
}

/* p is at '@' at the start of a line (after blanks): refuse an @include
 * and blank the whole line out.  Returns where scanning goes on. */
static char *refuse_include(struct cfg_ctx *c, int line, char *p)
{
	static const char directive[] = "@include";
	char *eol = p + strcspn(p, "\n");

	if (strncmp(p, directive, sizeof(directive) - 1))
		return p + 1; /* a stray '@': libconfig reports the syntax error */
	c->errors++;
	diag_add(c->d, c->file, line,
		 "@include is not supported: keep the config in one file (prefix lists can "
		 "live in their own files: blocklist.files, allowlist.files)");
	memset(p, ' ', (size_t)(eol - p));
	return eol;
}

void cfg_scan_text(struct cfg_ctx *c, char *text)
{
	bool line_start = true; /* only blanks so far on this line */
	int line = 1;

	for (char *p = text; *p;) {
		if (*p == '\n') {
			line++;
			line_start = true;
			p++;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\r') {
			p++;
			continue;
		}
		if (*p == '@' && line_start) {
			p = refuse_include(c, line, p);
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
			p = check_number(c, line, p);
		} else {
			p++;
		}
		line_start = false;
	}
}
