// SPDX-License-Identifier: GPL-2.0
/*
 * config_syn.c - the SYN-flood blocks beyond the token buckets:
 *
 *   auto_block = { threshold = 200; window = "1s"; ttl = "10m";
 *                  prefix4 = 32; prefix6 = 64; max = 65536; };
 *   syn_flood  = { on_pps = 50000; off_pps = 20000; on_for = "1s"; off_for = "10s"; };
 *
 * Either block's presence turns its feature on; every key has a default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "duration.h"

/* a bare number is seconds; ten years is the most that counts as a duration */
static const struct duration_form syn_duration = {
    .units = DUR_MS | DUR_S | DUR_M | DUR_H | DUR_D | DUR_BARE,
    .max_ms = 10ull * 365 * 86400 * 1000,
};

/* A duration member between lo and hi milliseconds; 1 when set. */
static int cfg_duration(struct cfg_ctx *c, const config_setting_t *g, const char *where,
			const char *name, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *txt;
	int64_t ms;
	int rc = cfg_string(c, g, name, false, 32, &txt);

	if (rc <= 0)
		return rc;
	ms = duration_parse_ms(txt, &syn_duration);
	if (ms < 0) {
		cfg_err(c, config_setting_get_member(g, name),
			"%s.%s = \"%s\" is not a duration: write e.g. \"250ms\", \"1s\", \"10m\", "
			"\"2h\"",
			where, name, txt);
		return -1;
	}
	if ((uint64_t)ms < lo || (uint64_t)ms > hi) {
		cfg_err(c, config_setting_get_member(g, name),
			"%s.%s = \"%s\" is out of range: between %llums and %llus", where, name,
			txt, (unsigned long long)lo, (unsigned long long)(hi / 1000));
		return -1;
	}
	*out = (uint64_t)ms;
	return 1;
}

/* Does any SYN token bucket have a rate (else nothing is ever dropped)? */
static bool any_syn_limit(const struct sluice_model *m)
{
	if (m->syn_rate)
		return true;
	for (size_t i = 0; i < m->n_identities; i++)
		if (m->identities[i].syn_rate)
			return true;
	return false;
}

void cfg_auto_block(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {"threshold", "window", "ttl", "prefix4",
					   "prefix6",	"max",	  NULL};
	const config_setting_t *g = config_setting_get_member(root, "auto_block");
	struct auto_block_cfg *a = &c->m->auto_block;
	long long v;

	*a = (struct auto_block_cfg){.threshold = 200,
				     .window_ms = 1000,
				     .ttl_ms = 600000,
				     .prefix4 = 32,
				     .prefix6 = 64,
				     .max = 65536};
	if (!g || !cfg_is_group(c, g))
		return;
	a->on = true;
	a->line = (int)config_setting_source_line(g);
	cfg_known_keys(c, g, keys);
	if (cfg_int(c, g, "threshold", false, 1, 10000000, &v) > 0)
		a->threshold = (uint32_t)v;
	cfg_duration(c, g, "auto_block", "window", 10, 3600 * 1000, &a->window_ms);
	cfg_duration(c, g, "auto_block", "ttl", 1000, 30ull * 86400 * 1000, &a->ttl_ms);
	if (cfg_int(c, g, "prefix4", false, 8, 32, &v) > 0)
		a->prefix4 = (uint8_t)v;
	if (cfg_int(c, g, "prefix6", false, 32, 128, &v) > 0)
		a->prefix6 = (uint8_t)v;
	if (cfg_int(c, g, "max", false, 1, 65536, &v) > 0)
		a->max = (uint32_t)v;
	if (!any_syn_limit(c->m))
		cfg_err(c, g,
			"auto_block acts on SYNs over a source's token bucket, and no bucket has "
			"a rate: set syn_guard.syn_rate (or an identity's syn_rate)");
}

void cfg_syn_flood(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const keys[] = {"on_pps", "off_pps", "on_for", "off_for", NULL};
	const config_setting_t *g = config_setting_get_member(root, "syn_flood");
	struct syn_flood_cfg *f = &c->m->syn_flood;
	long long v;

	*f = (struct syn_flood_cfg){.on_for_ms = 1000, .off_for_ms = 10000};
	if (!g || !cfg_is_group(c, g))
		return;
	f->on = true;
	f->line = (int)config_setting_source_line(g);
	cfg_known_keys(c, g, keys);
	if (cfg_int(c, g, "on_pps", true, 1, 1000000000000LL, &v) > 0)
		f->on_pps = (uint64_t)v;
	f->off_pps = f->on_pps / 2;
	if (cfg_int(c, g, "off_pps", false, 0, 1000000000000LL, &v) > 0) {
		f->off_pps = (uint64_t)v;
		if (f->on_pps && f->off_pps > f->on_pps)
			cfg_err(c, config_setting_get_member(g, "off_pps"),
				"syn_flood.off_pps (%llu) is above on_pps (%llu): flood mode would "
				"flap; set it at or below on_pps",
				(unsigned long long)f->off_pps, (unsigned long long)f->on_pps);
	}
	/* the daemon samples every 100 ms: shorter holds could not be told */
	cfg_duration(c, g, "syn_flood", "on_for", 100, 3600 * 1000, &f->on_for_ms);
	cfg_duration(c, g, "syn_flood", "off_for", 100, 3600 * 1000, &f->off_for_ms);
}
