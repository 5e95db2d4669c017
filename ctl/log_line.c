// SPDX-License-Identifier: GPL-2.0
/* log_line.c - "sluice: ..." lines: the CLI's errors, the daemon's log,
 * pod watch's reports. */
#include "log_line.h"

#include "cli.h"

void log_vline(FILE *f, const char *fmt, va_list ap)
{
	fputs("sluice: ", f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
}

int cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(stderr, fmt, ap);
	va_end(ap);
	return 1;
}
