// SPDX-License-Identifier: GPL-2.0
/* main.c - `sluice` command line: global options, then a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sluice_maps.h"

static const struct {
	const char *name;
	int (*fn)(struct cli *);
	const char *usage;
} commands[] = {
	{"check", cmd_check, "check [-c FILE]                  validate a config file (default "
			     "/etc/sluice/sluice.conf)"},
	{"attach", cmd_attach, "attach IFACE [--allow-generic]   load XDP natively on IFACE"},
	{"detach", cmd_detach, "detach IFACE                     remove sluice from IFACE"},
	{"apply", cmd_apply, "apply [-c FILE]                  write a config's lists and services"},
	{"decap", cmd_decap, "decap attach|detach IFACE        DSR backend: unwrap sluice's IP-in-IP"},
	{"tc", cmd_tc, "tc attach|detach IFACE           uplink TC: XDP tag, pod ingress policy"},
	{"pods", cmd_pods, "pods watch [-c FILE]             attach pod TC to veths as they appear"},
	{"load", cmd_load, "load [--block FILE]... [--allow FILE]...  replace the lists"},
	{"stats", cmd_stats, "stats [--json] [--watch]         verdict counters"},
	{"unpin", cmd_unpin, "unpin                            remove the pinned maps"},
};

static void usage(FILE *to)
{
	fprintf(to, "usage: sluice [--pin-dir DIR] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(to, "  %s\n", commands[i].usage);
	fprintf(to, "\n--pin-dir DIR (or SLUICE_PIN_DIR): bpffs state directory, default %s\n",
		SLUICE_PIN_DIR);
}

int main(int argc, char **argv)
{
	struct cli c = {.pin_dir = getenv("SLUICE_PIN_DIR") ? getenv("SLUICE_PIN_DIR")
							    : SLUICE_PIN_DIR};
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--pin-dir")) {
			if (i + 1 >= argc)
				return cli_err("--pin-dir needs a directory (e.g. --pin-dir %s)",
					       SLUICE_PIN_DIR);
			c.pin_dir = argv[++i];
			continue;
		}
		return cli_err("unknown option %s (see sluice --help)", argv[i]);
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (!strcmp(argv[i], commands[k].name)) {
			c.argc = argc - i - 1;
			c.argv = argv + i + 1;
			return commands[k].fn(&c);
		}
	}
	return cli_err("unknown command '%s' (see sluice --help)", argv[i]);
}
