// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_ctl.c - the CLI commands that talk to a running daemon over its
 * control socket: status, reload, block, backend, stop.  Every change is
 * in force when the command returns (the daemon replies after the switch).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "control.h"
#include "model.h"

static int forward(struct cli *c, const char *word)
{
	char *argv[20];
	int argc = 0;

	if (c->argc > 18)
		return cli_err("%s: too many arguments", word);
	argv[argc++] = (char *)word;
	for (int i = 0; i < c->argc; i++)
		argv[argc++] = c->argv[i];
	return control_call(control_socket_path(c->socket), argc, argv);
}

int cmd_status(struct cli *c)
{
	if (c->argc && !(c->argc == 1 && !strcmp(c->argv[0], "--json")))
		return cli_err("status: usage: sluice status [--json]");
	return forward(c, "status");
}

int cmd_reload(struct cli *c)
{
	if (c->argc)
		return cli_err("reload: takes no arguments (the daemon re-reads the file it was "
			       "started with)");
	return forward(c, "reload");
}

int cmd_block(struct cli *c)
{
	/* `block test` asks the maps and the config, no daemon needed */
	if (c->argc >= 1 && !strcmp(c->argv[0], "test")) {
		struct cli sub = *c;

		sub.argc--;
		sub.argv++;
		return cmd_block_test(&sub);
	}
	if (c->argc < 1)
		return cli_err("block: usage: sluice block add CIDR [--ttl 10m] | block del CIDR | "
			       "block list");
	return forward(c, "block");
}

int cmd_backend(struct cli *c)
{
	if (c->argc < 1)
		return cli_err(
		    "backend: usage: sluice backend drain|up|down [SERVICE] ADDR[:PORT] | "
		    "backend list");
	return forward(c, "backend");
}

/* The interfaces of a config file, for `stop --detach` with no daemon. */
static int detach_from_config(struct cli *c, const char *conf)
{
	struct sluice_model m;
	struct cli unpin = *c;
	char err[512];
	int bad = 0;

	if (cli_load_config(conf, &m))
		return cli_err("stop: no daemon runs, and %s is not valid: cannot tell which "
			       "interfaces to detach",
			       conf);
	for (size_t i = 0; i < m.n_ifaces; i++) {
		if (sluice_detach_iface(m.ifaces[i].name, err, sizeof(err))) {
			if (!strstr(err, "not attached"))
				bad = cli_err("stop: %s", err);
		} else {
			printf("detached sluice from %s\n", m.ifaces[i].name);
		}
	}
	if (!c->pin_dir_set)
		unpin.pin_dir = m.pin_dir;
	bad |= cmd_unpin(&unpin);
	model_free(&m);
	return bad;
}

int cmd_stop(struct cli *c)
{
	const char *conf = NULL, *path = control_socket_path(c->socket);
	bool detach = false, ok;
	struct buf reply = {0};
	char *argv[2] = {"stop", "--detach"};
	char pin_dir[PATH_MAX] = "";
	unsigned serial = 0;
	int pid = 0, rc, bad = 0;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--detach"))
			detach = true;
		else if (!strcmp(c->argv[i], "-c") && i + 1 < c->argc)
			conf = c->argv[++i];
		else
			return cli_err("stop: usage: sluice stop [--detach [-c FILE]]");
	}
	/* Reading until EOF waits for the daemon to exit: it holds this
	 * connection open until its last moment. */
	rc = control_request(path, detach ? 2 : 1, argv, &ok, &reply);
	if ((rc == -ENOENT || rc == -ECONNREFUSED) && detach && conf) {
		buf_free(&reply);
		printf("no daemon answers on %s: detaching the interfaces of %s\n", path, conf);
		return detach_from_config(c, conf);
	}
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		buf_free(&reply);
		return cli_err("stop: no sluice daemon answers on %s%s", path,
			       detach ? " (with -c FILE, stop --detach removes a dead daemon's "
					"interfaces and pins)"
				      : "");
	}
	if (rc || !ok) {
		if (reply.s)
			fputs(reply.s, stderr);
		buf_free(&reply);
		return cli_err("stop: %s", rc ? strerror(-rc) : "refused");
	}
	for (char *line = reply.s; line && *line;) {
		char *nl = strchr(line, '\n');
		char word[16], val[PATH_MAX];

		if (nl)
			*nl = 0;
		if (sscanf(line, "%15s %4095s", word, val) == 2) {
			if (!strcmp(word, "pid"))
				pid = atoi(val);
			else if (!strcmp(word, "serial"))
				serial = (unsigned)strtoul(val, NULL, 10);
			else if (!strcmp(word, "pin_dir"))
				snprintf(pin_dir, sizeof(pin_dir), "%s", val);
			else if (!strcmp(word, "iface") && detach) {
				char err[512];

				if (sluice_detach_iface(val, err, sizeof(err)))
					bad = cli_err("stop: %s", err);
				else
					printf("detached sluice from %s\n", val);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!detach) {
		printf("sluice daemon (pid %d) stopped; XDP stays attached under the last config "
		       "(serial %u) and traffic keeps flowing; sluice run adopts it, sluice stop "
		       "--detach -c FILE removes it\n",
		       pid, serial);
	} else if (pin_dir[0]) {
		struct cli unpin = *c;

		unpin.pin_dir = pin_dir;
		bad |= cmd_unpin(&unpin);
		printf("sluice daemon (pid %d) stopped and removed\n", pid);
	}
	buf_free(&reply);
	return bad;
}
