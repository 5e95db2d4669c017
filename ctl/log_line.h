/* SPDX-License-Identifier: GPL-2.0 */
/* log_line.h - one "sluice: ..." line. */
#ifndef SLUICE_LOG_LINE_H
#define SLUICE_LOG_LINE_H

#include <stdarg.h>
#include <stdio.h>

/* What the CLI's errors (cli_err), the daemon's log (dlog) and `pods
 * watch` write: "sluice: " fmt "\n" to f, flushed, so lines from all of
 * them stay whole and in order. */
void log_vline(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
