// SPDX-License-Identifier: GPL-2.0
/* podroute.c - a pod address -> the host-side veth it is routed through. */
#include "podroute.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Send req and read the one answer into buf; returns its length or -errno
 * (the kernel's own error for NLMSG_ERROR). */
static int nl_ask(const void *req, size_t len, char *buf, size_t buflen)
{
	struct timeval tv = {.tv_sec = 1};
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ssize_t n;

	if (s < 0)
		return -errno;
	/* the kernel answers at once; the timeout only guards a stuck socket */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(s, req, len, 0) < 0) {
		n = -errno;
		close(s);
		return (int)n;
	}
	n = recv(s, buf, buflen, 0);
	if (n < 0)
		n = -errno;
	close(s);
	if (n >= (ssize_t)sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nh = (const void *)buf;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			return e->error ? e->error : -ENOENT;
		}
	}
	return n < (ssize_t)sizeof(struct nlmsghdr) && n >= 0 ? -EIO : (int)n;
}

/* Output interface of a unicast route to addr; 0 for any other kind. */
static int route_oif(const struct sluice_prefix *addr)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req = {
	    .nh = {.nlmsg_type = RTM_GETROUTE, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1},
	    .rt = {.rtm_family = addr->family == 4 ? AF_INET : AF_INET6,
		   .rtm_dst_len = addr->family == 4 ? 32 : 128},
	};
	size_t alen = addr->family == 4 ? 4 : 16;
	struct rtattr *rta = (struct rtattr *)req.attrs;
	char buf[4096];
	int n, rlen, oif = 0;
	const struct nlmsghdr *nh = (const void *)buf;
	const struct rtmsg *rt;

	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), addr->addr, alen);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt)) + RTA_ALIGN(rta->rta_len);
	n = nl_ask(&req, req.nh.nlmsg_len, buf, sizeof(buf));
	if (n == -ENETUNREACH || n == -EHOSTUNREACH || n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	if (nh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	rt = NLMSG_DATA(nh);
	if (rt->rtm_type != RTN_UNICAST) /* local, blackhole, unreachable ... */
		return 0;
	rlen = (int)RTM_PAYLOAD(nh);
	for (rta = RTM_RTA(rt); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen))
		if (rta->rta_type == RTA_OIF)
			oif = *(int *)RTA_DATA(rta);
	return oif;
}

/* 1 when ifindex is a veth (its name in name), 0 when not, -errno. */
static int link_is_veth(int ifindex, char name[IF_NAMESIZE])
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
	    .nh = {.nlmsg_len = sizeof(req),
		   .nlmsg_type = RTM_GETLINK,
		   .nlmsg_flags = NLM_F_REQUEST,
		   .nlmsg_seq = 1},
	    .ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex},
	};
	char buf[8192];
	const struct nlmsghdr *nh = (const void *)buf;
	const struct rtattr *rta;
	int n = nl_ask(&req, sizeof(req), buf, sizeof(buf)), rlen, veth = 0;

	if (n < 0)
		return n == -ENODEV ? 0 : n;
	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	rlen = (int)IFLA_PAYLOAD(nh);
	for (rta = IFLA_RTA((const struct ifinfomsg *)NLMSG_DATA(nh)); RTA_OK(rta, rlen);
	     rta = RTA_NEXT(rta, rlen)) {
		if (rta->rta_type == IFLA_IFNAME) {
			snprintf(name, IF_NAMESIZE, "%s", (const char *)RTA_DATA(rta));
		} else if (rta->rta_type == IFLA_LINKINFO) {
			const struct rtattr *in = RTA_DATA(rta);
			int ilen = (int)RTA_PAYLOAD(rta);

			for (; RTA_OK(in, ilen); in = RTA_NEXT(in, ilen))
				if (in->rta_type == IFLA_INFO_KIND &&
				    !strncmp(RTA_DATA(in), "veth", RTA_PAYLOAD(in)))
					veth = 1;
		}
	}
	return veth;
}

int podroute_veth(const struct sluice_prefix *addr, char name[IF_NAMESIZE])
{
	int oif = route_oif(addr), rc;

	name[0] = 0;
	if (oif <= 0)
		return oif;
	rc = link_is_veth(oif, name);
	return rc == 1 ? oif : rc;
}
