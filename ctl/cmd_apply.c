// SPDX-License-Identifier: GPL-2.0
/* cmd_apply.c - `sluice apply -c FILE`: validate a config and write its
 * lists and services into the running data path (no daemon needed). */
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "apply.h"
#include "cli.h"

int cmd_apply(struct cli *c)
{
	const char *path = SLUICE_CONF_DEFAULT;
	struct sluice_model m;
	struct apply_report rep;
	char err[512];
	int rc;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "-c") && i + 1 < c->argc)
			path = c->argv[++i];
		else
			return cli_err("apply: usage: sluice apply [-c FILE]");
	}
	if (cli_load_config(path, &m))
		return cli_err("apply: %s is not valid; nothing was changed", path);
	{
		int lock = pins_lock(c->pin_dir);

		if (lock < 0) {
			model_free(&m);
			return 1;
		}
		rc = apply_model(&m, c->pin_dir, &rep, err, sizeof(err));
		close(lock);
	}
	model_free(&m);
	if (rc)
		return cli_err("apply: %s", err);
	printf("applied %s: %zu block + %zu allow prefixes (%zu trie entries written, %zu "
	       "removed), %zu services, %zu backends (%zu services removed)\n",
	       path, rep.block, rep.allow, rep.lists.added_or_updated, rep.lists.removed,
	       rep.lb.services, rep.lb.backends, rep.lb.services_removed);
	return 0;
}
