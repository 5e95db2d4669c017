// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_iface.c - the interfaces the daemon attaches to: what the driver
 * can do (ethtool ioctl: driver, channels; netdev netlink family: XDP
 * features), attach or adopt, and the live view for `sluice status`.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "daemon.h"

/* include/uapi/linux/netdev.h (kernel 6.3+; not in every libc's headers) */
#define NETDEV_GENL_NAME "netdev"
#define NETDEV_CMD_DEV_GET 1
#define NETDEV_A_DEV_IFINDEX 1
#define NETDEV_A_DEV_XDP_FEATURES 3
#define NETDEV_XDP_ACT_BASIC 1
#define NETDEV_XDP_ACT_REDIRECT 2
#define NETDEV_XDP_ACT_NDO_XMIT 4
#define NETDEV_XDP_ACT_XSK_ZEROCOPY 8

#define SLUICE_PROG_NAME "sluice_xdp"

static int ethtool_ioctl(const char *ifname, void *data)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	rc = ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
	close(fd);
	return rc;
}

/* ---- generic netlink: the netdev family's XDP feature bits --------------- */

struct nl_req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	char attrs[64];
};

static void nl_put(struct nl_req *r, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Send r, and hand the attributes of the (single) reply to want: returns
 * 0 when found, -errno otherwise (the kernel's error for an NLMSG_ERROR). */
static int nl_ask(int fd, struct nl_req *r, uint16_t want, void *out, size_t outlen)
{
	char reply[8192];
	ssize_t got;

	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	got = recv(fd, reply, sizeof(reply), 0);
	if (got < 0)
		return -errno;
	for (struct nlmsghdr *nh = (struct nlmsghdr *)reply; NLMSG_OK(nh, (size_t)got);
	     nh = NLMSG_NEXT(nh, got)) {
		struct nlattr *a;
		int left;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(nh);

			return e->error ? e->error : -ENOENT;
		}
		a = (struct nlattr *)((char *)NLMSG_DATA(nh) + GENL_HDRLEN);
		left = (int)nh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
		while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
			if ((a->nla_type & NLA_TYPE_MASK) == want &&
			    a->nla_len - NLA_HDRLEN >= (int)outlen) {
				memcpy(out, (char *)a + NLA_HDRLEN, outlen);
				return 0;
			}
			left -= NLA_ALIGN(a->nla_len);
			a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
		}
	}
	return -ENOENT;
}

static int xdp_features(int ifindex, uint64_t *features)
{
	struct nl_req r = {0};
	uint16_t family;
	uint32_t idx = (uint32_t)ifindex;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC), rc;
	struct timeval tv = {.tv_sec = 2};

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.nh.nlmsg_type = GENL_ID_CTRL;
	r.nh.nlmsg_flags = NLM_F_REQUEST;
	r.gh.cmd = CTRL_CMD_GETFAMILY;
	r.gh.version = 1;
	nl_put(&r, CTRL_ATTR_FAMILY_NAME, NETDEV_GENL_NAME, sizeof(NETDEV_GENL_NAME));
	rc = nl_ask(fd, &r, CTRL_ATTR_FAMILY_ID, &family, sizeof(family));
	if (!rc) {
		memset(&r, 0, sizeof(r));
		r.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
		r.nh.nlmsg_type = family;
		r.nh.nlmsg_flags = NLM_F_REQUEST;
		r.nh.nlmsg_seq = 1;
		r.gh.cmd = NETDEV_CMD_DEV_GET;
		r.gh.version = 1;
		nl_put(&r, NETDEV_A_DEV_IFINDEX, &idx, sizeof(idx));
		rc = nl_ask(fd, &r, NETDEV_A_DEV_XDP_FEATURES, features, sizeof(*features));
	}
	close(fd);
	return rc;
}

int iface_facts_get(const char *ifname, struct iface_facts *f)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	int ifindex = (int)if_nametoindex(ifname);

	memset(f, 0, sizeof(*f));
	snprintf(f->driver, sizeof(f->driver), "?");
	if (!ifindex)
		return -ENODEV;
	if (ethtool_ioctl(ifname, &info) == 0)
		snprintf(f->driver, sizeof(f->driver), "%s", info.driver);
	if (ethtool_ioctl(ifname, &ch) == 0) {
		f->have_channels = true;
		f->rx = ch.rx_count;
		f->tx = ch.tx_count;
		f->combined = ch.combined_count;
		f->other = ch.other_count;
		f->max_rx = ch.max_rx;
		f->max_tx = ch.max_tx;
		f->max_combined = ch.max_combined;
	}
	f->have_xdp_features = xdp_features(ifindex, &f->xdp_features) == 0;
	return 0;
}

void iface_facts_xdp(const struct iface_facts *f, char *buf, size_t len)
{
	if (!f->have_xdp_features)
		snprintf(buf, len, "unknown (kernel without the netdev netlink family)");
	else if (!(f->xdp_features & NETDEV_XDP_ACT_BASIC))
		snprintf(buf, len, "none: generic (skb) XDP only");
	else
		snprintf(buf, len, "native%s%s%s",
			 f->xdp_features & NETDEV_XDP_ACT_REDIRECT ? " redirect" : "",
			 f->xdp_features & NETDEV_XDP_ACT_NDO_XMIT ? " ndo_xmit" : "",
			 f->xdp_features & NETDEV_XDP_ACT_XSK_ZEROCOPY ? " xsk_zerocopy" : "");
}

/* ---- attach / adopt -------------------------------------------------------- */

/* Map ids the sluice program on ifindex uses (0 when none is found). */
static int attached_map_ids(int ifindex, uint32_t *ids, uint32_t max)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p = NULL;
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	int n = 0;

	if (libxdp_get_error(mp))
		return 0;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && strcmp(xdp_program__name(p), SLUICE_PROG_NAME))
			p = NULL;
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
			if (!strcmp(xdp_program__name(p), SLUICE_PROG_NAME))
				break;
	}
	if (p) {
		info.nr_map_ids = max;
		info.map_ids = (uint64_t)(uintptr_t)ids;
		if (bpf_obj_get_info_by_fd(xdp_program__fd(p), &info, &len) == 0)
			n = (int)(info.nr_map_ids < max ? info.nr_map_ids : max);
	}
	xdp_multiprog__close(mp);
	return n;
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static uint32_t pinned_state_id(const char *pin_dir)
{
	char path[PATH_MAX + 64];
	uint32_t id;
	int fd;

	snprintf(path, sizeof(path), "%s/sluice_state", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	id = map_id(fd);
	close(fd);
	return id;
}

/* An adopted program must use the maps pinned in our pin dir: a program
 * left behind by a run whose pins were since removed (or that used another
 * pin dir) would ignore every switch we make. */
static bool uses_our_maps(int ifindex, const char *pin_dir)
{
	uint32_t ids[64], state = pinned_state_id(pin_dir);
	int n = attached_map_ids(ifindex, ids, 64);

	for (int i = 0; i < n; i++)
		if (state && ids[i] == state)
			return true;
	return false;
}

int iface_attach(struct daemon *d, const struct iface_cfg *cfg, struct daemon_iface *out, char *err,
		 size_t errlen)
{
	struct bpf_xdp_query_opts q = {.sz = sizeof(q)};
	struct attach_result res;
	char xdp[96];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", cfg->name);
	out->ifindex = (int)if_nametoindex(cfg->name);
	if (!out->ifindex) {
		snprintf(err, errlen,
			 "interface %s (config line %d) does not exist in this network "
			 "namespace",
			 cfg->name, cfg->line);
		return -ENODEV;
	}
	iface_facts_get(cfg->name, &out->facts);
	iface_facts_xdp(&out->facts, xdp, sizeof(xdp));
	if (out->facts.have_xdp_features && !(out->facts.xdp_features & NETDEV_XDP_ACT_BASIC)) {
		if (!cfg->allow_generic) {
			snprintf(
			    err, errlen,
			    "%s (driver %s) has no native XDP support: only generic (skb) XDP is "
			    "possible, which is much slower; set allow_generic = true for %s in %s "
			    "(line %d) to accept that",
			    cfg->name, out->facts.driver, cfg->name, d->conf_path, cfg->line);
			return -EOPNOTSUPP;
		}
		/* allow_generic: sluice_attach_iface tries native, warns, falls back */
	}
	rc = sluice_attach_iface(d->pin_dir, cfg->name, cfg->allow_generic, &res, err, errlen);
	if (rc)
		return rc;
	if (res.already && !uses_our_maps(out->ifindex, d->pin_dir)) {
		/* Nothing to adopt: the program there serves maps we cannot reach.
		 * Replacing it costs a moment without filtering, so say so. */
		dlog("warning: the sluice program on %s does not use the maps pinned in %s (pins "
		     "removed, or another pin dir): re-attaching it",
		     cfg->name, d->pin_dir);
		rc = sluice_detach_iface(cfg->name, err, errlen);
		if (!rc)
			rc = sluice_attach_iface(d->pin_dir, cfg->name, cfg->allow_generic, &res,
						 err, errlen);
		if (rc)
			return rc;
		res.already = false;
	}
	out->adopted = res.already;
	out->generic = res.generic;
	snprintf(out->libxdp_mode, sizeof(out->libxdp_mode), "%s", res.mode);
	if (bpf_xdp_query(out->ifindex, 0, &q) == 0)
		out->prog_id = q.prog_id;
	dlog("%s %s (driver %s, XDP features: %s): %s XDP, %s",
	     res.already ? "adopted" : "attached to", cfg->name, out->facts.driver, xdp,
	     res.generic ? "generic" : "native", res.mode);
	return 0;
}

static const char *attach_mode_name(uint8_t mode)
{
	switch (mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offloaded";
	case XDP_ATTACHED_MULTI:
		return "multi";
	default:
		return "none";
	}
}

void iface_status(const struct daemon *d, struct buf *out)
{
	for (size_t i = 0; i < d->n_ifaces; i++) {
		const struct daemon_iface *f = &d->ifaces[i];
		struct bpf_xdp_query_opts q = {.sz = sizeof(q)};
		int ifindex = (int)if_nametoindex(f->name);
		char xdp[96], now[96];

		iface_facts_xdp(&f->facts, xdp, sizeof(xdp));
		if (!ifindex)
			snprintf(now, sizeof(now), "GONE (the interface no longer exists)");
		else if (bpf_xdp_query(ifindex, 0, &q))
			snprintf(now, sizeof(now), "unknown (netlink query failed: %s)",
				 strerror(errno));
		else if (!q.prog_id)
			snprintf(now, sizeof(now),
				 "NOT ATTACHED (removed behind the daemon's back)");
		else if (q.prog_id != f->prog_id)
			snprintf(now, sizeof(now), "%s XDP, prog id %u (CHANGED: was %u at start)",
				 attach_mode_name(q.attach_mode), q.prog_id, f->prog_id);
		else
			snprintf(now, sizeof(now), "%s XDP, prog id %u",
				 attach_mode_name(q.attach_mode), q.prog_id);
		buf_printf(out, "  %-10s driver %s; %s; libxdp %s%s\n", f->name, f->facts.driver,
			   now, f->libxdp_mode, f->adopted ? "; adopted at start" : "");
		buf_printf(out, "  %-10s XDP features: %s", "", xdp);
		if (f->facts.have_channels)
			buf_printf(out, "; channels rx %u tx %u combined %u (max %u/%u/%u)",
				   f->facts.rx, f->facts.tx, f->facts.combined, f->facts.max_rx,
				   f->facts.max_tx, f->facts.max_combined);
		else
			buf_printf(out, "; channels: not reported by the driver");
		buf_printf(out, "\n");
	}
}
