// SPDX-License-Identifier: GPL-2.0
/*
 * config_system.c - the appliance's own settings: `interfaces` (where XDP
 * attaches), `stats` (the counters endpoint) and `control` (the CLI socket
 * and the bpffs pin directory).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config_int.h"

static const char *const iface_keys[] = {"name", "allow_generic", NULL};

void cfg_interfaces(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *l = cfg_group_list(c, root, "interfaces", true);
	struct sluice_model *m = c->m;
	int n;

	if (!l)
		return;
	n = config_setting_length(l);
	if (n == 0) {
		cfg_err(c, l, "interfaces is empty: at least one interface is required");
		return;
	}
	m->ifaces = calloc((size_t)n, sizeof(*m->ifaces));
	if (!m->ifaces) {
		cfg_err(c, l, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		struct iface_cfg *ifc = &m->ifaces[m->n_ifaces];
		const char *name;

		cfg_known_keys(c, g, iface_keys);
		cfg_bool(c, g, "allow_generic", false, &ifc->allow_generic);
		if (cfg_string(c, g, "name", true, IF_NAMESIZE - 1, &name) <= 0 ||
		    !cfg_ifname_ok(c, config_setting_get_member(g, "name"), name))
			continue;
		for (size_t k = 0; k < m->n_ifaces; k++) {
			if (strcmp(m->ifaces[k].name, name))
				continue;
			cfg_err(c, config_setting_get_member(g, "name"),
				"interfaces[%d]: interface '%s' is listed twice (first at line %d)",
				i, name, m->ifaces[k].line);
			name = NULL;
			break;
		}
		if (!name)
			continue;
		snprintf(ifc->name, sizeof(ifc->name), "%s", name);
		ifc->line = (int)config_setting_source_line(g);
		m->n_ifaces++;
	}
}

/* "127.0.0.1:9541" or "[::1]:9541": the address must be loopback, since
 * the endpoint has no authentication of its own. */
static bool parse_listen(const char *v, char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	uint8_t addr[16];
	bool loopback;
	long pnum = 0;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		if (!close || close[1] != ':' || (size_t)(close - v - 1) >= sizeof(host)) {
			snprintf(why, whylen, "write an IPv6 address as [::1]:PORT");
			return false;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close - v - 1), v + 1);
		port = close + 2;
		if (inet_pton(AF_INET6, host, addr) != 1) {
			snprintf(why, whylen, "'%s' is not an IPv6 address", host);
			return false;
		}
		loopback = !memcmp(addr, &in6addr_loopback, 16);
	} else {
		colon = strrchr(v, ':');
		if (!colon || (size_t)(colon - v) >= sizeof(host)) {
			snprintf(why, whylen, "expected ADDRESS:PORT, e.g. 127.0.0.1:9541");
			return false;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - v), v);
		port = colon + 1;
		if (inet_pton(AF_INET, host, addr) != 1) {
			snprintf(why, whylen,
				 "'%s' is not an IPv4 address (IPv6 goes in brackets: [::1]:PORT)",
				 host);
			return false;
		}
		loopback = addr[0] == 127;
	}
	for (const char *p = port; *p && pnum <= 65535; p++)
		pnum = isdigit((unsigned char)*p) ? pnum * 10 + (*p - '0') : 65536;
	if (!*port || pnum < 1 || pnum > 65535) {
		snprintf(why, whylen, "port '%s' must be 1..65535", port);
		return false;
	}
	if (!loopback) {
		snprintf(why, whylen,
			 "'%s' is not a loopback address (127.0.0.0/8 or ::1): the stats endpoint "
			 "has no authentication, so it must not be reachable from the network",
			 host);
		return false;
	}
	return true;
}

void cfg_stats(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {"listen", NULL};
	const config_setting_t *g = config_setting_get_member(root, "stats");
	char why[256];
	const char *v;

	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, keys);
	if (cfg_string(c, g, "listen", false, sizeof(c->m->stats_listen) - 1, &v) <= 0)
		return;
	if (v[0] && !parse_listen(v, why, sizeof(why))) {
		cfg_err(c, config_setting_get_member(g, "listen"), "stats.listen '%s': %s", v, why);
		return;
	}
	snprintf(c->m->stats_listen, sizeof(c->m->stats_listen), "%s", v);
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

void cfg_control(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {"socket", "pin_dir", NULL};
	static const char bpffs[] = "/sys/fs/bpf/";
	const config_setting_t *g = config_setting_get_member(root, "control");
	struct sluice_model *m = c->m;
	const char *v;

	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, keys);
	/* sun_path holds the name and its NUL. */
	if (cfg_string(c, g, "socket", false, sizeof(((struct sockaddr_un *)0)->sun_path) - 1, &v) >
	    0) {
		if (v[0] != '/')
			cfg_err(c, config_setting_get_member(g, "socket"),
				"control.socket '%s' must be an absolute path", v);
		else
			snprintf(m->control_socket, sizeof(m->control_socket), "%s", v);
	}
	if (cfg_string(c, g, "pin_dir", false, sizeof(m->pin_dir) - 1, &v) > 0) {
		/* The maps are pinned in bpffs, which lives at /sys/fs/bpf. */
		if (strncmp(v, bpffs, sizeof(bpffs) - 1) || !v[sizeof(bpffs) - 1] || has_dotdot(v))
			cfg_err(
			    c, config_setting_get_member(g, "pin_dir"),
			    "control.pin_dir '%s' must be a directory under %s (bpffs), without "
			    "'..'",
			    v, bpffs);
		else
			snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", v);
	}
}
