// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_decap.c - `sluice decap attach|detach IFACE`: the DSR backend side.
 * Puts tc/decap.bpf.c on IFACE's clsact ingress through libbpf's TC API
 * (netlink, no tc binary).
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "decap.skel.h"

#define DECAP_HANDLE 0x51ce
#define DECAP_PRIO 1

int cmd_decap(struct cli *c)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DECAP_HANDLE, .priority = DECAP_PRIO);
	struct decap *skel;
	bool detach;
	int rc;

	hook.ifindex = cli_attach_detach(c, "decap", &detach);
	if (!hook.ifindex)
		return 1;
	if (detach) {
		rc = bpf_tc_detach(&hook, &opts);
		if (rc && rc != -ENOENT)
			return cli_err("decap: detach from %s: %s", c->argv[1], strerror(-rc));
		printf("decap detached from %s\n", c->argv[1]);
		return 0;
	}
	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST)
		return cli_err("decap: cannot create clsact on %s: %s", c->argv[1], strerror(-rc));
	skel = decap__open_and_load();
	if (!skel)
		return cli_err("decap: cannot load the decap program: %s", strerror(errno));
	opts.prog_fd = bpf_program__fd(skel->progs.sluice_decap);
	opts.flags = BPF_TC_F_REPLACE;
	rc = bpf_tc_attach(&hook, &opts);
	decap__destroy(skel); /* the filter keeps the program alive */
	if (rc)
		return cli_err("decap: attach to %s: %s", c->argv[1], strerror(-rc));
	printf("decap attached to %s ingress: IP-in-IP and IPv6-in-IPv6 from sluice dsr-ipip "
	       "services are unwrapped\n",
	       c->argv[1]);
	return 0;
}
