// SPDX-License-Identifier: GPL-2.0
/*
 * config_limits.c - `limits`: how many entries each data-path map may hold.
 * The compiled-in map sizes are the ceiling; a lower limit makes `sluice
 * check` refuse a config that outgrows what the operator planned for.  The
 * list and service sections compare their entry counts against these.
 */
#include "config_int.h"
#include "sluice_maps.h"

/* Indexed by enum cfg_limit_idx. */
static const char *const limit_keys[] = {
    [CFG_LIM_V4] = "verdict_v4",     [CFG_LIM_V6] = "verdict_v6", [CFG_LIM_SERVICES] = "services",
    [CFG_LIM_BACKENDS] = "backends", [CFG_LIM_CONNS] = "conns",	  NULL,
};

static const unsigned long long limit_ceiling[] = {
    [CFG_LIM_V4] = SLUICE_VERDICT_V4_MAX,
    [CFG_LIM_V6] = SLUICE_VERDICT_V6_MAX,
    [CFG_LIM_SERVICES] = SLUICE_MAX_SERVICES - 1, /* id 0 means "no service" */
    [CFG_LIM_BACKENDS] = SLUICE_MAX_BACKENDS - 1, /* id 0 means "no backend" */
    [CFG_LIM_CONNS] = SLUICE_CONN_MAX,
};

void cfg_limits(struct cfg_ctx *c, const config_setting_t *root)
{
	const config_setting_t *g = config_setting_get_member(root, "limits");
	struct limits_cfg *l = &c->m->limits;
	uint32_t *const dst[] = {
	    [CFG_LIM_V4] = &l->verdict_v4_max,	   [CFG_LIM_V6] = &l->verdict_v6_max,
	    [CFG_LIM_SERVICES] = &l->services_max, [CFG_LIM_BACKENDS] = &l->backends_max,
	    [CFG_LIM_CONNS] = &l->conns_max,
	};

	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, limit_keys);
	for (int i = 0; limit_keys[i]; i++) {
		long long v;

		/* 0 would be a map that can hold nothing: refuse it as well. */
		if (cfg_int(c, g, limit_keys[i], false, 1, (long long)limit_ceiling[i], &v) <= 0)
			continue;
		*dst[i] = (uint32_t)v;
		c->limit_set[i] = config_setting_get_member(g, limit_keys[i]);
	}
}
