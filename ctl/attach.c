// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - put the XDP program on an interface and take it off, through
 * libxdp.  libxdp first tries its multiprog dispatcher (so other XDP programs
 * can share the interface); on kernels where the dispatcher's compatibility
 * check fails it falls back to attaching sluice alone.  Either way we report
 * which mode we got.  Maps are pinned by name under the pin directory, so a
 * second attach (another interface, or after a detach) reuses them.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "cli.h"
#include "sluice.skel.h"
#include "sluice_maps.h"

#define SLUICE_PROG_NAME "sluice_xdp"

static int quiet_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* The kernel's own reason for a refusal (netlink extack, e.g. "veth: Peer
 * MTU is too large to set XDP"), kept to say it in our one-line error. */
static char kernel_reason[256];

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	const char *k;

	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	k = strstr(line, "Kernel error message: ");
	if (k) {
		snprintf(kernel_reason, sizeof(kernel_reason), "%s", k + 22);
		kernel_reason[strcspn(kernel_reason, "\n")] = 0;
	}
	if (getenv("SLUICE_DEBUG"))
		fputs(line, stderr);
	return 0;
}

/* After a failed attach: does the kernel accept the program at all?  A
 * verifier refusal must be reported as what it is, not as an attach failure
 * that --allow-generic would fix.  (Loaded separately and unpinned, because
 * libxdp must load the attached copy itself to use its dispatcher.) */
static int load_check(char *why, size_t len)
{
	struct sluice *probe = sluice__open();
	struct bpf_map *map;
	int rc;

	if (!probe)
		return 0;
	bpf_object__for_each_map(map, probe->obj) bpf_map__set_pin_path(map, NULL);
	rc = sluice__load(probe);
	sluice__destroy(probe);
	if (rc)
		snprintf(why, len, "the kernel refused the XDP program (%s); run with "
				    "SLUICE_DEBUG=1 for the verifier log",
			 strerror(-rc));
	return rc;
}

/* Pins of another sluice build (a map whose type, sizes or flags changed)
 * cannot be reused: libbpf would refuse the load, and the attach would fail
 * with a misleading reason.  Say which map and what to do instead. */
static int pins_compatible(struct sluice *skel, const char *pin_dir, char *err, size_t errlen)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, skel->obj)
	{
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);
		char path[4200];
		int fd;

		if (!bpf_map__pin_path(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* not pinned yet: created on load */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		     info.value_size != bpf_map__value_size(map) ||
		     info.max_entries != bpf_map__max_entries(map) ||
		     info.map_flags != bpf_map__map_flags(map))) {
			snprintf(err, errlen,
				 "pinned map %s is from another sluice build (value size %u, "
				 "entries %u; this build: %u, %u); stop the daemon, detach sluice "
				 "from its interfaces and run `sluice unpin`, then attach again",
				 path, info.value_size, info.max_entries, bpf_map__value_size(map),
				 bpf_map__max_entries(map));
			close(fd);
			return -EEXIST;
		}
		close(fd);
	}
	return 0;
}

/* The sluice program attached to ifindex, as found through libxdp (NULL if
 * none).  *mp_out keeps the multiprog handle the program belongs to. */
static struct xdp_program *find_ours(int ifindex, struct xdp_multiprog **mp_out)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;

	*mp_out = NULL;
	if (libxdp_get_error(mp))
		return NULL;
	*mp_out = mp;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), SLUICE_PROG_NAME))
			return p;
		return NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), SLUICE_PROG_NAME))
			return p;
	return NULL;
}

static const char *mode_name(struct xdp_multiprog *mp)
{
	if (!mp)
		return "unknown";
	return xdp_multiprog__is_legacy(mp) ? "single-program (libxdp dispatcher unavailable)"
					     : "libxdp multiprog dispatcher";
}

/* A fresh event-sampling map starts with every reason off; give it the
 * documented default (1 in 1, 100 per second per CPU and reason). */
static void default_sampling(const char *pin_dir)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/event_sampling", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	for (__u32 k = 0; k < SLUICE_EV_SLOTS; k++) {
		struct sluice_sampling v;

		if (bpf_map_lookup_elem(fd, &k, &v) || v.every || v.cap_per_sec) {
			close(fd);
			return; /* configured before: leave it */
		}
	}
	for (__u32 k = 0; k < SLUICE_EV_SLOTS; k++) {
		struct sluice_sampling v = {.every = 1, .cap_per_sec = 100};

		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	}
	close(fd);
}

int sluice_attach_iface(const char *pin_dir, const char *ifname, bool allow_generic,
			struct attach_result *res, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = pin_dir);
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .prog_name = SLUICE_PROG_NAME);
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	struct sluice *skel;
	char errbuf[256];
	int ifindex, rc;

	memset(res, 0, sizeof(*res));
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		snprintf(err, errlen, "no interface named %s in this network namespace", ifname);
		return -ENODEV;
	}
	libxdp_set_print(quiet_libxdp);
	libbpf_set_print(quiet_libbpf);
	ifinfo_driver(ifname, res->driver, sizeof(res->driver));
	if (find_ours(ifindex, &mp)) {
		res->already = true;
		res->generic = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB;
		snprintf(res->mode, sizeof(res->mode), "%s", mode_name(mp));
		xdp_multiprog__close(mp);
		return 0;
	}
	xdp_multiprog__close(mp);

	skel = sluice__open_opts(&oopts);
	if (!skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	rc = pins_compatible(skel, pin_dir, err, errlen);
	if (rc) {
		sluice__destroy(skel);
		return rc;
	}
	xopts.obj = skel->obj;
	prog = xdp_program__create(&xopts);
	rc = (int)libxdp_get_error(prog);
	if (rc) {
		sluice__destroy(skel);
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		snprintf(err, errlen, "%s", errbuf);
		return rc;
	}
	kernel_reason[0] = 0;
	rc = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	if (rc && allow_generic) {
		fprintf(stderr,
			"sluice: warning: %s (driver %s) refused native XDP (%s); using generic "
			"(skb) mode, which is much slower\n",
			ifname, res->driver, strerror(-rc));
		res->generic = true;
		rc = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
	} else if (rc) {
		xdp_program__close(prog);
		sluice__destroy(skel);
		if (load_check(errbuf, sizeof(errbuf))) {
			snprintf(err, errlen, "%s", errbuf);
			return rc;
		}
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		snprintf(err, errlen,
			 "native XDP on %s (driver %s) failed: %s%s%s; sluice does not fall back to "
			 "slow generic mode unless you pass --allow-generic",
			 ifname, res->driver, errbuf, kernel_reason[0] ? ": " : "", kernel_reason);
		return rc;
	}
	if (rc) {
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		xdp_program__close(prog);
		sluice__destroy(skel);
		snprintf(err, errlen, "%s: %s", ifname, errbuf);
		return rc;
	}
	default_sampling(pin_dir);
	find_ours(ifindex, &mp);
	snprintf(res->mode, sizeof(res->mode), "%s", mode_name(mp));
	xdp_multiprog__close(mp);
	xdp_program__close(prog);
	sluice__destroy(skel);
	return 0;
}

int sluice_detach_iface(const char *ifname, char *err, size_t errlen)
{
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	int ifindex, rc;
	char errbuf[256];

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		snprintf(err, errlen, "no interface named %s in this network namespace", ifname);
		return -ENODEV;
	}
	libxdp_set_print(quiet_libxdp);
	prog = find_ours(ifindex, &mp);
	if (!prog) {
		xdp_multiprog__close(mp);
		snprintf(err, errlen, "sluice is not attached to %s", ifname);
		return -ENOENT;
	}
	if (xdp_multiprog__is_legacy(mp))
		rc = xdp_multiprog__detach(mp);
	else
		rc = xdp_program__detach(prog, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	if (rc) {
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		snprintf(err, errlen, "%s: %s", ifname, errbuf);
	}
	return rc;
}

int cmd_attach(struct cli *c)
{
	bool allow_generic = false;
	const char *ifname = NULL;
	struct attach_result res;
	char err[512];

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--allow-generic"))
			allow_generic = true;
		else if (c->argv[i][0] == '-')
			return cli_err("attach: unknown option %s (usage: sluice attach IFACE "
				       "[--allow-generic])",
				       c->argv[i]);
		else if (!ifname)
			ifname = c->argv[i];
		else
			return cli_err("attach: one interface at a time (got %s and %s)", ifname,
				       c->argv[i]);
	}
	if (!ifname)
		return cli_err("attach: which interface? (usage: sluice attach IFACE)");
	if (pins_prepare(c->pin_dir))
		return 1;
	if (sluice_attach_iface(c->pin_dir, ifname, allow_generic, &res, err, sizeof(err)))
		return cli_err("attach: %s", err);
	if (res.already)
		printf("sluice is already attached to %s (%s)\n", ifname, res.mode);
	else
		printf("attached sluice to %s (driver %s): %s mode, %s; maps pinned in %s\n",
		       ifname, res.driver, res.generic ? "generic" : "native", res.mode, c->pin_dir);
	return 0;
}

int cmd_detach(struct cli *c)
{
	char err[512];

	if (c->argc != 1 || c->argv[0][0] == '-')
		return cli_err("detach: usage: sluice detach IFACE");
	if (sluice_detach_iface(c->argv[0], err, sizeof(err)))
		return cli_err("detach: %s", err);
	printf("detached sluice from %s (maps stay pinned in %s; sluice unpin removes them)\n",
	       c->argv[0], c->pin_dir);
	return 0;
}
