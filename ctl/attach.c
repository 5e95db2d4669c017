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
#include <xdp/libxdp.h>

#include "cli.h"
#include "sluice.skel.h"

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

int cmd_attach(struct cli *c)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = c->pin_dir);
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .prog_name = SLUICE_PROG_NAME);
	bool allow_generic = false;
	const char *ifname = NULL;
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	enum xdp_attach_mode mode = XDP_MODE_NATIVE;
	struct sluice *skel;
	char driver[64], errbuf[256];
	int ifindex, rc;

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
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex)
		return cli_err("attach: no interface named %s in this network namespace", ifname);
	if (pins_prepare(c->pin_dir))
		return 1;

	libxdp_set_print(quiet_libxdp);
	libbpf_set_print(quiet_libbpf);
	if (find_ours(ifindex, &mp)) {
		printf("sluice is already attached to %s (%s)\n", ifname, mode_name(mp));
		xdp_multiprog__close(mp);
		return 0;
	}
	xdp_multiprog__close(mp);

	skel = sluice__open_opts(&oopts);
	if (!skel)
		return cli_err("attach: cannot open the BPF object: %s", strerror(errno));
	xopts.obj = skel->obj;
	prog = xdp_program__create(&xopts);
	rc = (int)libxdp_get_error(prog);
	if (rc) {
		sluice__destroy(skel);
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		return cli_err("attach: %s", errbuf);
	}

	ifinfo_driver(ifname, driver, sizeof(driver));
	rc = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	if (rc && allow_generic) {
		fprintf(stderr,
			"sluice: warning: %s (driver %s) refused native XDP (%s); using generic "
			"(skb) mode, which is much slower\n",
			ifname, driver, strerror(-rc));
		mode = XDP_MODE_SKB;
		rc = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
	} else if (rc) {
		xdp_program__close(prog);
		sluice__destroy(skel);
		if (load_check(errbuf, sizeof(errbuf)))
			return cli_err("attach: %s", errbuf);
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		return cli_err("attach: native XDP on %s (driver %s) failed: %s%s%s; sluice does "
			       "not fall back to slow generic mode unless you pass --allow-generic",
			       ifname, driver, errbuf, kernel_reason[0] ? ": " : "", kernel_reason);
	}
	if (rc) {
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		xdp_program__close(prog);
		sluice__destroy(skel);
		return cli_err("attach: %s: %s", ifname, errbuf);
	}

	find_ours(ifindex, &mp);
	printf("attached sluice to %s (driver %s): %s mode, %s; maps pinned in %s\n", ifname,
	       driver, mode == XDP_MODE_NATIVE ? "native" : "generic", mode_name(mp), c->pin_dir);
	xdp_multiprog__close(mp);
	xdp_program__close(prog);
	sluice__destroy(skel);
	return 0;
}

int cmd_detach(struct cli *c)
{
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	const char *ifname;
	int ifindex, rc;
	char errbuf[256];

	if (c->argc != 1 || c->argv[0][0] == '-')
		return cli_err("detach: usage: sluice detach IFACE");
	ifname = c->argv[0];
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex)
		return cli_err("detach: no interface named %s in this network namespace", ifname);
	libxdp_set_print(quiet_libxdp);
	prog = find_ours(ifindex, &mp);
	if (!prog) {
		xdp_multiprog__close(mp);
		return cli_err("detach: sluice is not attached to %s", ifname);
	}
	if (xdp_multiprog__is_legacy(mp))
		rc = xdp_multiprog__detach(mp);
	else
		rc = xdp_program__detach(prog, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	if (rc) {
		libxdp_strerror(rc, errbuf, sizeof(errbuf));
		return cli_err("detach: %s: %s", ifname, errbuf);
	}
	printf("detached sluice from %s (maps stay pinned in %s; sluice unpin removes them)\n",
	       ifname, c->pin_dir);
	return 0;
}
