// SPDX-License-Identifier: GPL-2.0
/* stderr_line.c - "sluice: ..." lines on stderr: the CLI's errors and the
 * daemon's log lines. */
#include <stdio.h>

#include "cli.h"
#include "stderr_line.h"

void stderr_vline(const char *fmt, va_list ap)
{
	fputs("sluice: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

int cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	stderr_vline(fmt, ap);
	va_end(ap);
	return 1;
}
