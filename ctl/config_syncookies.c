// SPDX-License-Identifier: GPL-2.0
/*
 * config_syncookies.c - the syn_cookies section:
 *
 *   syn_cookies = {
 *     mode = "always";   # "off" (default) | "flood" | "always"
 *     local = ( { address = "198.51.100.1"; ports = [ 80, 443 ]; } );
 *   };
 *
 * Local services are answered with SYN cookies from XDP (xdp/syncookie.h);
 * the node's SYNPROXY rules complete the handshake (docs/syn-cookies.md).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "sluice_maps.h"

static const char *const section_keys[] = {"mode", "local", NULL};
static const char *const local_keys[] = {"address", "ports", NULL};
static const char *const mode_names[] = {"off", "flood", "always", NULL};

static int push_local(struct cfg_ctx *c, const config_setting_t *at,
		      const struct syncookie_local_cfg *e)
{
	struct sluice_model *m = c->m;
	struct syncookie_local_cfg *more;

	more = realloc(m->syncookie_local, (m->n_syncookie_local + 1) * sizeof(*more));
	if (!more) {
		cfg_err(c, at, "out of memory");
		return -1;
	}
	m->syncookie_local = more;
	m->syncookie_local[m->n_syncookie_local++] = *e;
	return 0;
}

/* One port of local[i].ports: 1..65535, not given twice for the address. */
static void load_port(struct cfg_ctx *c, const config_setting_t *e, const char *where,
		      const struct sluice_prefix *addr)
{
	struct syncookie_local_cfg l = {.addr = *addr, .line = cfg_line(c, e)};
	char buf[64];
	int v;

	if (config_setting_type(e) != CONFIG_TYPE_INT) {
		cfg_err(c, e, "%s: a port must be an integer 1..65535", where);
		return;
	}
	v = config_setting_get_int(e);
	if (v < 1 || v > 65535) {
		cfg_err(c, e, "%s: port %d is out of range 1..65535", where, v);
		return;
	}
	l.port = (uint16_t)v;
	for (size_t k = 0; k < c->m->n_syncookie_local; k++) {
		const struct syncookie_local_cfg *o = &c->m->syncookie_local[k];

		if (o->port == l.port && prefix_same(&o->addr, &l.addr)) {
			prefix_format(&l.addr, buf, sizeof(buf));
			cfg_err(c, e, "%s: %s port %d is already protected (line %d)", where, buf,
				v, o->line);
			return;
		}
	}
	if (c->m->n_syncookie_local >= SLUICE_COOKIE_MAX) {
		cfg_err(c, e, "%s: more than %u protected local services", where,
			SLUICE_COOKIE_MAX);
		return;
	}
	push_local(c, e, &l);
}

static void load_local(struct cfg_ctx *c, const config_setting_t *g)
{
	char where[CFG_PATH_MAX];
	struct sluice_prefix addr;
	const config_setting_t *ports;

	cfg_path(g, where, sizeof(where));
	if (!cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, local_keys);
	if (cfg_prefix(c, g, "address", true, true, &addr) <= 0)
		return;
	ports = config_setting_get_member(g, "ports");
	if (!ports) {
		cfg_err(c, g, "%s has no 'ports' (required): the TCP ports to protect", where);
		return;
	}
	if (!config_setting_is_aggregate(ports) || config_setting_is_group(ports)) {
		cfg_err(c, ports, "%s.ports must be a list of ports [ 80, 443 ]", where);
		return;
	}
	if (config_setting_length(ports) == 0) {
		cfg_err(c, ports, "%s.ports is empty: name at least one TCP port", where);
		return;
	}
	for (int i = 0; i < config_setting_length(ports); i++)
		load_port(c, config_setting_get_elem(ports, (unsigned)i), where, &addr);
}

void cfg_syn_cookies(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *g = config_setting_get_member(root, "syn_cookies");
	const config_setting_t *l;
	int idx;

	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, section_keys);
	if (cfg_enum(c, g, "mode", false, mode_names, &idx) > 0)
		c->m->syncookie_mode = (uint32_t)idx; /* same order as enum sluice_cookie_mode */
	l = cfg_group_list(c, g, "local", false);
	if (!l)
		return;
	for (int i = 0; i < config_setting_length(l); i++)
		load_local(c, config_setting_get_elem(l, (unsigned)i));
}

/* services[i].syn_cookies = true: sluice answers the VIP's SYNs with
 * cookies and opens the backend connection itself once the client's ACK
 * proves its address (xdp/synproxy.h).  That needs the backend's SYN-ACK
 * to come back through sluice, which only NAT mode does. */
void cfg_service_syn_cookies(struct cfg_ctx *c, const config_setting_t *g, struct lb_service_cfg *s)
{
	char where[CFG_PATH_MAX];
	bool on = false;

	if (cfg_bool(c, g, "syn_cookies", false, &on) <= 0 || !on)
		return;
	cfg_path(g, where, sizeof(where));
	if (s->mode != SLUICE_MODE_NAT) {
		cfg_err(
		    c, config_setting_get_member(g, "syn_cookies"),
		    "%s: syn_cookies needs mode \"nat\": in dsr-ipip the backend answers the "
		    "client directly, so sluice never sees the backend's SYN-ACK it must splice "
		    "onto the cookie handshake",
		    where);
		return;
	}
	if (s->proto && s->proto != IPPROTO_TCP) {
		cfg_err(c, config_setting_get_member(g, "syn_cookies"),
			"%s: syn_cookies is for TCP services only", where);
		return;
	}
	s->syn_cookies = true;
}
