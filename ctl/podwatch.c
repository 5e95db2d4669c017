// SPDX-License-Identifier: GPL-2.0
/* podwatch.c - pod veths from rtnetlink link events. */
#include "podwatch.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fnmatch.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log_line.h"
#include "podroute.h"
#include "pods.h"
#include "tcattach.h"

int podwatch_open(struct podwatch *pw, struct policy *tc, int pod_ifindex_fd, int pod_names_fd,
		  const struct sluice_model *m, FILE *log, char *err, size_t errlen)
{
	/* routes too: a pod found by address moves with the route to it */
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};

	memset(pw, 0, sizeof(*pw));
	pw->tc = tc;
	pw->pod_ifindex_fd = pod_ifindex_fd;
	pw->pod_names_fd = pod_names_fd;
	pw->m = m;
	pw->log = log;
	pw->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (pw->nl_fd < 0 || bind(pw->nl_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "rtnetlink socket: %s", strerror(errno));
		if (pw->nl_fd >= 0)
			close(pw->nl_fd);
		pw->nl_fd = -1;
		return -errno;
	}
	return 0;
}

/* A line to the log podwatch_open was given, if any. */
static void pw_log(const struct podwatch *pw, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pw_log(const struct podwatch *pw, const char *fmt, ...)
{
	va_list ap;

	if (!pw->log)
		return;
	va_start(ap, fmt);
	log_vline(pw->log, fmt, ap);
	va_end(ap);
}

static int tracked(struct podwatch *pw, int ifindex)
{
	for (unsigned i = 0; i < pw->n_attached; i++)
		if (pw->attached[i] == ifindex)
			return (int)i;
	return -1;
}

static void forget(struct podwatch *pw, int ifindex, const char *name)
{
	int i = tracked(pw, ifindex);
	__u32 k = (__u32)ifindex;

	if (i < 0)
		return;
	bpf_map_delete_elem(pw->pod_ifindex_fd, &k);
	tc_detach(ifindex); /* renamed away or de-configured: no stale programs (gone: no-op) */
	pw->attached[i] = pw->attached[--pw->n_attached];
	pw->by_addr[i] = pw->by_addr[pw->n_attached];
	pw_log(pw, "pod veth %s (ifindex %d) is gone", name, ifindex);
}

/* Links seen by the current scan (to drop pod_ifindex entries of veths
 * that went away while nobody watched). */
static int scan_seen[4096];
static unsigned n_scan_seen;
static int scanning;

/* Attach the pod programs to veth ifindex and map it to the pod's id; a
 * failure is logged and the veth left alone. */
static bool attach_veth(struct podwatch *pw, const struct pod_cfg *pod, const char *name,
			int ifindex, __u32 id)
{
	__u32 k = (__u32)ifindex;
	char err[256];

	if (!id || tc_attach_pod(pw->tc, ifindex, err, sizeof(err))) {
		pw_log(pw, "pod %s: veth %s: %s", pod->name, name, id ? err : "no free pod id");
		return false;
	}
	bpf_map_update_elem(pw->pod_ifindex_fd, &k, &id, BPF_ANY);
	return true;
}

static void on_link(struct podwatch *pw, int ifindex, const char *name, int gone)
{
	const struct pod_cfg *pod = NULL;
	__u32 k = (__u32)ifindex, id;

	if (gone) {
		forget(pw, ifindex, name);
		return;
	}
	if (scanning && n_scan_seen < sizeof(scan_seen) / sizeof(scan_seen[0]))
		scan_seen[n_scan_seen++] = ifindex;
	for (size_t i = 0; pw->m && i < pw->m->n_pods && !pod; i++)
		if (pw->m->pods[i].veth[0] && !fnmatch(pw->m->pods[i].veth, name, 0))
			pod = &pw->m->pods[i];
	if (!pod) {
		int t = tracked(pw, ifindex);

		/* a veth found by route stays until the route says otherwise */
		if (t < 0 || !pw->by_addr[t])
			forget(pw, ifindex, name); /* renamed away, or its pod left the config */
		return;
	}
	id = pod_id_for(pw->pod_names_fd, pod->name);
	if (tracked(pw, ifindex) >= 0) {
		__u32 have;

		if (!bpf_map_lookup_elem(pw->pod_ifindex_fd, &k, &have) && have == id)
			return; /* an event about a link we already serve */
	} else if (pw->n_attached == PODWATCH_MAX_LINKS) {
		return;
	}
	if (!attach_veth(pw, pod, name, ifindex, id))
		return;
	if (tracked(pw, ifindex) < 0)
		pw->attached[pw->n_attached++] = ifindex;
	pw->by_addr[tracked(pw, ifindex)] = 0; /* a name pattern wins over a route */
	pw_log(pw, "pod %s: veth %s (ifindex %d) attached", pod->name, name, ifindex);
}

/* The pod found by address whose route goes out of ifindex, if any. */
static const struct pod_cfg *routed_pod(struct podwatch *pw, int ifindex, char name[IF_NAMESIZE])
{
	for (size_t i = 0; pw->m && i < pw->m->n_pods; i++) {
		const struct pod_cfg *pod = &pw->m->pods[i];

		if (!pod->match_address)
			continue;
		for (size_t a = 0; a < pod->addrs.n; a++)
			if (podroute_veth(&pod->addrs.v[a], name) == ifindex)
				return pod;
	}
	return NULL;
}

/* Pods found by address: attach to the veth each pod's address is routed
 * through now, and forget veths no route points at any more (the pod was
 * re-created behind a new veth, or left the config).  Cheap enough to run
 * after every batch of link and route events: a netlink route lookup per
 * pod address. */
static void resolve_by_address(struct podwatch *pw)
{
	char name[IF_NAMESIZE];

	/* veths we serve by route that no pod's route goes through any more */
	for (unsigned i = 0; i < pw->n_attached;) {
		int ifindex = pw->attached[i];

		if (pw->by_addr[i] && !routed_pod(pw, ifindex, name)) {
			snprintf(name, sizeof(name), "?");
			if_indextoname((unsigned)ifindex, name);
			forget(pw, ifindex, name);
			continue; /* forget moved another entry into i */
		}
		i++;
	}
	for (size_t i = 0; pw->m && i < pw->m->n_pods; i++) {
		const struct pod_cfg *pod = &pw->m->pods[i];
		__u32 id, k, have;
		int ifindex = 0, t;

		if (!pod->match_address)
			continue;
		for (size_t a = 0; a < pod->addrs.n && ifindex <= 0; a++)
			ifindex = podroute_veth(&pod->addrs.v[a], name);
		if (ifindex <= 0)
			continue; /* not (yet) routed through a veth */
		k = (__u32)ifindex;
		id = pod_id_for(pw->pod_names_fd, pod->name);
		t = tracked(pw, ifindex);
		if (t >= 0 && (!pw->by_addr[t] ||
			       (!bpf_map_lookup_elem(pw->pod_ifindex_fd, &k, &have) && have == id)))
			continue; /* already served (or a name pattern claims it) */
		if (t < 0 && pw->n_attached == PODWATCH_MAX_LINKS)
			continue;
		if (!attach_veth(pw, pod, name, ifindex, id))
			continue;
		if (t < 0) {
			t = (int)pw->n_attached++;
			pw->attached[t] = ifindex;
		}
		pw->by_addr[t] = 1;
		if (scanning && n_scan_seen < sizeof(scan_seen) / sizeof(scan_seen[0]))
			scan_seen[n_scan_seen++] = ifindex;
		pw_log(pw, "pod %s: veth %s (ifindex %d) attached (route to the pod's address)",
		       pod->name, name, ifindex);
	}
}

/* Act on every RTM_NEWLINK / RTM_DELLINK in buf. */
static void parse(struct podwatch *pw, const char *buf, ssize_t len)
{
	for (const struct nlmsghdr *nh = (const void *)buf; NLMSG_OK(nh, (unsigned)len);
	     nh = NLMSG_NEXT(nh, len)) {
		const struct ifinfomsg *ifi = NLMSG_DATA(nh);
		const struct rtattr *rta;
		char name[IF_NAMESIZE] = "";
		int rlen;

		if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK)
			continue;
		rlen = (int)IFLA_PAYLOAD(nh);
		for (rta = IFLA_RTA(ifi); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen))
			if (rta->rta_type == IFLA_IFNAME)
				snprintf(name, sizeof(name), "%s", (const char *)RTA_DATA(rta));
		if (name[0])
			on_link(pw, ifi->ifi_index, name, nh->nlmsg_type == RTM_DELLINK);
	}
}

int podwatch_handle(struct podwatch *pw)
{
	char buf[16384];
	ssize_t n;

	int any = 0, rc;

	while ((n = recv(pw->nl_fd, buf, sizeof(buf), 0)) > 0) {
		parse(pw, buf, n);
		any = 1;
	}
	rc = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? -errno : 0;
	/* ENOBUFS: events were lost; the route lookups below do not depend on
	 * which events arrived, only on the routes as they are now */
	if (any || rc == -ENOBUFS)
		resolve_by_address(pw);
	return rc;
}

int podwatch_scan(struct podwatch *pw)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
		.ifi = {.ifi_family = AF_UNSPEC},
	};
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	char buf[32768];
	int done = 0;

	if (s < 0)
		return -errno;
	scanning = 1;
	n_scan_seen = 0;
	if (send(s, &req, sizeof(req), 0) < 0) {
		close(s);
		return -errno;
	}
	while (!done) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		ssize_t left = n; /* NLMSG_NEXT consumes its length argument */

		for (const struct nlmsghdr *nh = (const void *)buf; NLMSG_OK(nh, (unsigned)left);
		     nh = NLMSG_NEXT(nh, left))
			if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR)
				done = 1;
		parse(pw, buf, n);
	}
	close(s);
	resolve_by_address(pw); /* also forgets route-found veths of pods now gone */
	scanning = 0;
	/* map entries for links that no longer exist: the veth went while no
	 * watcher ran */
	{
		__u32 key, next, *prev = NULL;

		while (done && bpf_map_get_next_key(pw->pod_ifindex_fd, prev, &next) == 0) {
			int alive = 0;

			for (unsigned i = 0; i < n_scan_seen && !alive; i++)
				alive = scan_seen[i] == (int)next;
			if (!alive) {
				bpf_map_delete_elem(pw->pod_ifindex_fd, &next);
				prev = NULL;
				continue;
			}
			key = next;
			prev = &key;
		}
	}
	return 0;
}

void podwatch_set_model(struct podwatch *pw, const struct sluice_model *m)
{
	pw->m = m;
	podwatch_scan(pw);
}

void podwatch_close(struct podwatch *pw)
{
	if (pw->nl_fd >= 0)
		close(pw->nl_fd);
	pw->nl_fd = -1;
}
