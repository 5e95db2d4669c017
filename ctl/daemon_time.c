// SPDX-License-Identifier: GPL-2.0
/* daemon_time.c - clocks and durations ("10m") for runtime blocks. */
#include <ctype.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"
#include "daemon.h"

/* CLOCK_BOOTTIME: keeps counting through a suspend, so a TTL means wall
 * time; it restarts at boot, but so does everything in bpffs. */
uint64_t boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

int64_t parse_duration(const char *s)
{
	int64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > 10LL * 365 * 86400)
			return -1; /* ten years is "forever": leave the TTL out */
	}
	switch (*p) {
	case 0:
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return -1;
	}
	if (*p && p[1])
		return -1;
	return v > 10LL * 365 * 86400 ? -1 : v;
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
