/* SPDX-License-Identifier: GPL-2.0 */
/* duration.h - durations as people write them: "250ms", "10s", "5m", "2h", "1d". */
#ifndef SLUICE_DURATION_H
#define SLUICE_DURATION_H

#include <stdint.h>

/* The units a value may be written in. */
enum {
	DUR_MS = 1 << 0,
	DUR_S = 1 << 1,
	DUR_M = 1 << 2,
	DUR_H = 1 << 3,
	DUR_D = 1 << 4,
	DUR_BARE = 1 << 5, /* a number without a unit, in seconds */
};

/* What one setting takes: its units, and how large a value still counts as
 * a duration at all (a larger one is "not a duration", like a typo; the
 * setting's own range check comes after).  0 = no limit. */
struct duration_form {
	unsigned units;
	uint64_t max_count; /* the number before the unit */
	uint64_t max_ms;    /* the whole duration */
};

/* Decimal digits and one of f's units, nothing else (no sign, no blanks):
 * the duration in milliseconds, or -1. */
int64_t duration_parse_ms(const char *s, const struct duration_form *f);

#endif
