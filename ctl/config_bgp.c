// SPDX-License-Identifier: GPL-2.0
/*
 * config_bgp.c - `bgp`: the VIPs this node announces through BIRD.
 *
 *   bgp = { include = "/run/sluice/bird-vips.conf"; socket = "/run/bird/bird.ctl";
 *           drain = "5s"; };
 *
 * include: the file the daemon writes (atomically) and the node's bird.conf
 * includes; socket: BIRD's control socket, where the daemon asks for a
 * reconfigure; drain: how long a stopping daemon waits between withdrawing
 * its VIPs and exiting, so the upstream router has moved the flows away
 * before anything of the data path changes.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "config_int.h"
#include "duration.h"

#define BGP_DRAIN_MAX_MS (10u * 60u * 1000u)

/* "5s", "500ms", "1m", or a bare number of seconds -> milliseconds; -1 if
 * it is none of those. */
/* a bare number is seconds */
/* Up to 10 minutes in all ("11m" and "601s" are refused, as the message
 * says). */
static const struct duration_form drain_duration = {.units = DUR_MS | DUR_S | DUR_M | DUR_BARE,
						    .max_ms = BGP_DRAIN_MAX_MS};

static bool absolute_path(struct cfg_ctx *c, const config_setting_t *g, const char *key,
			  const char *v)
{
	if (v[0] == '/' && v[strlen(v) - 1] != '/')
		return true;
	cfg_err(c, config_setting_get_member(g, key), "bgp.%s '%s' must be an absolute file path",
		key, v);
	return false;
}

void cfg_bgp(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {"include", "socket", "drain", NULL};
	const config_setting_t *g = config_setting_get_member(root, "bgp");
	struct bgp_cfg *b = &c->m->bgp;
	const char *v;
	long long ms;

	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, keys);
	b->line = (int)config_setting_source_line(g);
	snprintf(b->socket, sizeof(b->socket), "%s", SLUICE_BGP_SOCKET_DEFAULT);
	b->drain_ms = SLUICE_BGP_DRAIN_MS_DEFAULT;
	/* The temporary file beside it gets a suffix: leave room for it. */
	if (cfg_string(c, g, "include", true, sizeof(b->include) - 32, &v) > 0 &&
	    absolute_path(c, g, "include", v))
		snprintf(b->include, sizeof(b->include), "%s", v);
	if (cfg_string(c, g, "socket", false, sizeof(((struct sockaddr_un *)0)->sun_path) - 1, &v) >
		0 &&
	    absolute_path(c, g, "socket", v))
		snprintf(b->socket, sizeof(b->socket), "%s", v);
	if (cfg_string(c, g, "drain", false, 0, &v) > 0) {
		ms = duration_parse_ms(v, &drain_duration);
		if (ms < 0)
			cfg_err(
			    c, config_setting_get_member(g, "drain"),
			    "bgp.drain '%s' must be a duration up to 10m, e.g. \"5s\", \"500ms\"",
			    v);
		else
			b->drain_ms = (uint32_t)ms;
	}
	b->enabled = b->include[0] != 0;
}
