// SPDX-License-Identifier: GPL-2.0
/* main.c - `sluice` command line: global options, then a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model.h"
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
	{"tc", cmd_tc, "tc attach|detach IFACE           uplink TC: XDP tag, pod policy, workloads"},
	{"pods", cmd_pods, "pods [--json] | pods watch [-c FILE]  the daemon's pods | attach pod TC to veths"},
	{"events", cmd_events, "events [--json] [--reason R] [--pod P]  live tail of sampled events"},
	{"top", cmd_top, "top [--interval S] [--count N]   live view: rates, top sources, pods, workloads"},
	{"load", cmd_load, "load [--block FILE]... [--allow FILE]...  replace the lists"},
	{"stats", cmd_stats, "stats [--json] [--watch]         verdict counters"},
	{"unpin", cmd_unpin, "unpin                            remove the pinned maps"},
	{"run", cmd_run, "run [-c FILE]                    the daemon: attach, apply, serve (foreground)"},
	{"status", cmd_status, "status [--json]                  what the daemon runs (over its socket)"},
	{"reload", cmd_reload, "reload                           daemon: re-read and switch in its config"},
	{"block", cmd_block, "block add CIDR [--ttl 10m] | del CIDR | list | test ADDRESS"},
	{"backend", cmd_backend, "backend drain|up|down [SERVICE] ADDR[:PORT] | list"},
	{"stop", cmd_stop, "stop [--detach [-c FILE]]        stop the daemon (--detach: and remove sluice)"},
	{"debug", cmd_debug, "debug dump                       digest of every pinned config map"},
};

static void usage(FILE *to)
{
	fprintf(to, "usage: sluice [--pin-dir DIR] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(to, "  %s\n", commands[i].usage);
	fprintf(to, "\n--pin-dir DIR (or SLUICE_PIN_DIR): bpffs state directory, default %s\n",
		SLUICE_PIN_DIR);
	fprintf(to, "--socket PATH (or SLUICE_SOCKET): the daemon's control socket, default %s\n",
		SLUICE_CONTROL_SOCKET_DEFAULT);
}

int main(int argc, char **argv)
{
	struct cli c = {.pin_dir = getenv("SLUICE_PIN_DIR") ? getenv("SLUICE_PIN_DIR")
							    : SLUICE_PIN_DIR,
			.pin_dir_set = getenv("SLUICE_PIN_DIR") != NULL};
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
			c.pin_dir_set = true;
			continue;
		}
		if (!strcmp(argv[i], "--socket")) {
			if (i + 1 >= argc)
				return cli_err("--socket needs a path (e.g. --socket %s)",
					       SLUICE_CONTROL_SOCKET_DEFAULT);
			c.socket = argv[++i];
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
