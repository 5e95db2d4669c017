// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_pods.c - the daemon's TC side: the uplink programs on every
 * configured interface (ingress: XDP tag -> pod ingress policy, skb->mark;
 * egress: the node's own traffic by cgroup, ctl/workloads.c) and the
 * netlink watcher that puts the pod programs on pods' host-side veths as
 * they appear.  Needs CAP_NET_ADMIN for as long as pods can come and go.
 */
#include <bpf/libbpf.h>
#include <net/if.h>
#include <string.h>

#include "daemon.h"
#include "policy.skel.h"
#include "tcattach.h"

int daemon_pods_setup(struct daemon *d)
{
	char err[256];

	d->pw.nl_fd = -1;
	libbpf_set_print(tc_libbpf_quiet);
	d->tc = tc_policy_load(d->pin_dir, err, sizeof(err));
	if (!d->tc) {
		dlog("error: %s", err);
		return -1;
	}
	for (size_t i = 0; i < d->model.n_ifaces; i++) {
		int ifindex = (int)if_nametoindex(d->model.ifaces[i].name);

		if (!ifindex || tc_attach_uplink(d->tc, ifindex, err, sizeof(err)) ||
		    tc_attach_uplink_egress(d->tc, ifindex, err, sizeof(err))) {
			dlog("error: uplink TC on %s: %s", d->model.ifaces[i].name,
			     ifindex ? err : "no such interface");
			return -1;
		}
	}
	if (podwatch_open(&d->pw, d->tc, d->dp.pod_ifindex_fd, d->dp.pod_names_fd, &d->model,
			  stderr, err, sizeof(err))) {
		dlog("error: %s", err);
		return -1;
	}
	podwatch_scan(&d->pw);
	return 0;
}

void daemon_pods_teardown(struct daemon *d)
{
	if (d->pw.nl_fd >= 0)
		podwatch_close(&d->pw);
	if (d->tc)
		policy__destroy(d->tc); /* attached filters keep their programs */
	d->tc = NULL;
}
