// SPDX-License-Identifier: GPL-2.0
/* duration.c - one parser for every duration sluice reads: the config's
 * (health checks, SYN-flood blocks, bgp.drain) and the CLI's block TTLs. */
#include <string.h>

#include "duration.h"

static const struct {
	const char *suffix;
	unsigned unit;
	uint64_t ms;
} units[] = {
    {"ms", DUR_MS, 1},	       {"s", DUR_S, 1000},	   {"m", DUR_M, 60 * 1000},
    {"h", DUR_H, 3600 * 1000}, {"d", DUR_D, 86400 * 1000}, {"", DUR_BARE, 1000},
};

int64_t duration_parse_ms(const char *s, const struct duration_form *f)
{
	uint64_t n = 0, ms = 0;
	const char *p = s;

	if (!s || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
		if (f->max_count && n > f->max_count)
			return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if ((f->units & units[i].unit) && !strcmp(p, units[i].suffix))
			ms = units[i].ms;
	if (!ms || n > (uint64_t)INT64_MAX / ms)
		return -1;
	if (f->max_ms && n * ms > f->max_ms)
		return -1;
	return (int64_t)(n * ms);
}
