// SPDX-License-Identifier: GPL-2.0
/* cli_config.c - the config file, for the commands that act on it. */
#include "cli.h"
#include "model.h"

int cli_load_config(const char *path, struct sluice_model *m)
{
	struct diag d = {0};
	int rc = model_load(path, m, &d);

	if (rc)
		diag_print(&d);
	diag_free(&d);
	return rc;
}
