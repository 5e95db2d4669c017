// SPDX-License-Identifier: GPL-2.0
/* cmd_check.c - `sluice check`: parse and validate a config, like nginx -t.
 * Touches nothing: no maps, no interfaces. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model.h"

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void warn_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

static void print_summary(const struct sluice_model *m)
{
	size_t backends = 0, rules = 0;

	for (size_t i = 0; i < m->lb.n; i++)
		backends += m->lb.svcs[i].n_backends;
	for (size_t i = 0; i < m->n_pods; i++)
		rules += m->pods[i].n_ingress + m->pods[i].n_egress;
	printf("%s: ok: %zu %s, %zu block + %zu allow prefixes, %zu %s, %zu %s, %zu %s, "
	       "%zu %s (%zu %s)\n",
	       m->path, m->n_ifaces, plural(m->n_ifaces, "interface", "interfaces"), m->block.n,
	       m->allow.n, m->n_identities, plural(m->n_identities, "identity", "identities"),
	       m->lb.n, plural(m->lb.n, "service", "services"), backends,
	       plural(backends, "backend", "backends"), m->n_pods, plural(m->n_pods, "pod", "pods"),
	       rules, plural(rules, "rule", "rules"));
}

int cmd_check(struct cli *c)
{
	const char *path = SLUICE_CONF_DEFAULT;
	struct sluice_model m;
	struct diag d = {0};

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "-c") || !strcmp(c->argv[i], "--config")) {
			if (i + 1 >= c->argc)
				return cli_err("check: %s needs a file name", c->argv[i]);
			path = c->argv[++i];
			continue;
		}
		return cli_err("check: unknown argument %s (usage: sluice check [-c FILE])",
			       c->argv[i]);
	}
	if (model_load(path, &m, &d)) {
		diag_print(&d);
		if (d.n == 0) /* only if even the messages ran out of memory */
			fprintf(stderr, "%s: invalid (out of memory reporting why)\n", path);
		cli_err("check: %s is invalid (%zu %s)", path, d.n, plural(d.n, "error", "errors"));
		diag_free(&d);
		return 1;
	}
	print_summary(&m);
	fflush(stdout);
	model_bad_lines(&m, warn_line, NULL); /* on_error = "warn" lists: after "ok" */
	model_free(&m);
	diag_free(&d);
	return 0;
}
