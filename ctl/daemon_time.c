// SPDX-License-Identifier: GPL-2.0
/* daemon_time.c - clocks and durations ("10m") for runtime blocks. */
#include <ctype.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"
#include "daemon.h"
#include "duration.h"

/* CLOCK_BOOTTIME: keeps counting through a suspend, so a TTL means wall
 * time; it restarts at boot, but so does everything in bpffs. */
uint64_t boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

/* ten years is "forever": leave the TTL out */
static const struct duration_form ttl_duration = {
    .units = DUR_S | DUR_M | DUR_H | DUR_D | DUR_BARE,
    .max_count = 10ull * 365 * 86400,
    .max_ms = 10ull * 365 * 86400 * 1000,
};

int64_t parse_duration(const char *s)
{
	int64_t ms = duration_parse_ms(s, &ttl_duration);

	return ms < 0 ? -1 : ms / 1000;
}

void format_duration(uint64_t secs, char *buf, size_t len)
{
	if (secs >= 86400)
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(secs / 86400),
			 (unsigned long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(secs / 3600),
			 (unsigned long long)(secs % 3600 / 60));
	else if (secs >= 60)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(secs / 60),
			 (unsigned long long)(secs % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)secs);
}
