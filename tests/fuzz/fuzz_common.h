/* SPDX-License-Identifier: GPL-2.0 */
/* fuzz_common.h - a private scratch directory for the libFuzzer harnesses. */
#ifndef SLUICE_FUZZ_COMMON_H
#define SLUICE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* A directory (mode 0700) made once per process, holding two small list
 * files a fuzzed config may name ("block.txt", "allow.txt"). */
const char *fuzz_dir(void);
/* Write data to dir/name with mode 0600; returns the path (static buffer)
 * or NULL. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t size);

#endif
