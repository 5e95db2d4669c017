// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_pods.c - `sluice tc attach IFACE` (the uplink's tag reader and pod
 * ingress policy), `sluice pods [--json]` (the daemon's pods: how each is
 * found, its veths, addresses, labels, counters) and `sluice pods watch -c
 * FILE` (follow pod veths in the foreground; `sluice run` runs the same
 * watcher in its event loop).
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "model.h"
#include "podwatch.h"
#include "policy.skel.h"
#include "tcattach.h"

int cmd_tc(struct cli *c)
{
	struct policy *tc;
	char err[512];
	bool detach;
	int ifindex, rc;

	ifindex = cli_attach_detach(c, "tc", &detach);
	if (!ifindex)
		return 1;
	if (detach) {
		rc = tc_detach(ifindex);
		if (rc)
			return cli_err("tc: detach from %s: %s", c->argv[1], strerror(-rc));
		printf("sluice TC programs removed from %s\n", c->argv[1]);
		return 0;
	}
	libbpf_set_print(tc_libbpf_quiet);
	tc = tc_policy_load(c->pin_dir, err, sizeof(err));
	if (!tc)
		return cli_err("tc: %s", err);
	rc = tc_attach_uplink(tc, ifindex, err, sizeof(err));
	if (!rc)
		rc = tc_attach_uplink_egress(tc, ifindex, err, sizeof(err));
	policy__destroy(tc); /* the filter holds the program */
	if (rc)
		return cli_err("tc: %s", err);
	printf("sluice uplink TC program on %s ingress: reads the XDP tag, enforces pod ingress "
	       "policy, sets skb->mark; on egress: the node's own traffic by cgroup\n",
	       c->argv[1]);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

int cmd_pods(struct cli *c)
{
	const char *path = SLUICE_CONF_DEFAULT;
	struct sluice_model m;
	struct podwatch pw;
	struct policy *tc;
	char err[512], p1[PATH_MAX], p2[PATH_MAX];
	int fd_if, fd_names;

	/* `sluice pods [--json]`: the running daemon's view (ctl/pod_info.c) */
	if (c->argc == 0 || (c->argc == 1 && !strcmp(c->argv[0], "--json"))) {
		char *argv[2] = {"pods", c->argc ? "--json" : NULL};

		return control_call(control_socket_path(c->socket), c->argc + 1, argv);
	}
	if (strcmp(c->argv[0], "watch"))
		return cli_err("pods: usage: sluice pods [--json] | sluice pods watch [-c FILE]");
	libbpf_set_print(tc_libbpf_quiet);
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "-c") && i + 1 < c->argc)
			path = c->argv[++i];
		else
			return cli_err("pods: usage: sluice pods watch [-c FILE]");
	}
	if (cli_load_config(path, &m))
		return cli_err("pods: %s is not valid", path);
	snprintf(p1, sizeof(p1), "%s/pod_ifindex", c->pin_dir);
	snprintf(p2, sizeof(p2), "%s/pod_names", c->pin_dir);
	fd_if = bpf_obj_get(p1);
	fd_names = bpf_obj_get(p2);
	tc = fd_if >= 0 && fd_names >= 0 ? tc_policy_load_pods(c->pin_dir, err, sizeof(err)) : NULL;
	if (!tc) {
		model_free(&m);
		return cli_err("pods: no sluice state in %s: attach sluice first", c->pin_dir);
	}
	if (podwatch_open(&pw, tc, fd_if, fd_names, &m, stdout, err, sizeof(err))) {
		policy__destroy(tc);
		model_free(&m);
		return cli_err("pods: %s", err);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	podwatch_scan(&pw);
	printf("sluice: watching pod veths (Ctrl-C to stop)\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p = {.fd = pw.nl_fd, .events = POLLIN};

		if (poll(&p, 1, 500) > 0)
			podwatch_handle(&pw);
	}
	podwatch_close(&pw);
	policy__destroy(tc);
	model_free(&m);
	close(fd_if);
	close(fd_names);
	return 0;
}
