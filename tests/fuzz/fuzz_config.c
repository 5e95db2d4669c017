// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_config.c - libFuzzer harness: the config loader (ctl/config*.c,
 * model_load) on arbitrary text, written to a private 0600 file so the
 * loader's own mode check and file reading run as in `sluice check`.  A
 * valid result must also survive what the daemon does next with a model:
 * compiling its lists.  Seed corpus: tests/config/valid and invalid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "fuzz_common.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sluice_model m;
	struct diag d = {0};
	const char *path;

	if (size > 256 * 1024)
		return 0;
	path = fuzz_write("input.conf", data, size);
	if (!path)
		abort();
	if (model_load(path, &m, &d) == 0) {
		struct prefix_list out = {0};

		if (d.n) /* valid means no message at all */
			abort();
		if (compile_verdicts(&m.block, &m.allow, &out))
			abort();
		prefix_list_free(&out);
		model_free(&m);
	} else if (d.n == 0) {
		abort(); /* invalid without saying why */
	}
	diag_free(&d);
	return 0;
}
