/* SPDX-License-Identifier: GPL-2.0 */
/* stderr_line.h - one "sluice: ..." line on stderr. */
#ifndef SLUICE_STDERR_LINE_H
#define SLUICE_STDERR_LINE_H

#include <stdarg.h>

/* What the CLI's errors (cli_err) and the daemon's log (dlog) both write:
 * "sluice: " fmt "\n", flushed, so lines from both stay whole and in order. */
void stderr_vline(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
