// SPDX-License-Identifier: GPL-2.0
/*
 * config_health.c - a service's `health = { ... }`: how the daemon checks
 * its backends (health.c runs the checks).  Semantics as in haproxy and
 * keepalived: `rise` consecutive successes bring a backend up, `fall`
 * consecutive failures take it down.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "duration.h"

#define HC_INTERVAL_MIN_MS 100u
#define HC_INTERVAL_MAX_MS 3600000u
#define HC_TIMEOUT_MIN_MS 10u

static const char *const health_keys[] = {"type",    "port", "path", "expect", "interval",
					  "timeout", "rise", "fall", NULL};
static const char *const type_names[] = {"tcp", "http", NULL};
static const uint8_t type_values[] = {HC_TCP, HC_HTTP};

/* "2s", "500ms", "1m"; a bare number would leave its unit to guessing */
static const struct duration_form health_duration = {.units = DUR_MS | DUR_S | DUR_M,
						     .max_count = 86400000};

/* A duration member: 1 when set (out filled), 0 when absent, -1 after an
 * error.  Strings only: a bare number would leave its unit to guessing. */
static int cfg_duration_ms(struct cfg_ctx *c, const config_setting_t *g, const char *name,
			   unsigned lo, unsigned hi, uint32_t *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	char where[CFG_PATH_MAX];
	const char *v;
	long long ms;

	if (!s)
		return 0;
	cfg_path(s, where, sizeof(where));
	v = config_setting_get_string(s);
	ms = duration_parse_ms(v, &health_duration);
	if (ms < 0) {
		cfg_err(c, s, "%s must be a duration string like \"2s\" or \"500ms\"", where);
		return -1;
	}
	if (ms < lo || ms > hi) {
		cfg_err(c, s, "%s is %s: must be between %ums and %us", where, v, lo, hi / 1000);
		return -1;
	}
	*out = (uint32_t)ms;
	return 1;
}

/* An HTTP path we send as is: absolute, visible ASCII, no spaces. */
static bool path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

void cfg_health(struct cfg_ctx *c, const config_setting_t *svc, struct lb_service_cfg *s,
		bool port_ok)
{
	const config_setting_t *g = config_setting_get_member(svc, "health");
	struct lb_health_cfg *h = &s->health;
	char where[CFG_PATH_MAX];
	const char *path;
	bool typed, interval_ok;
	long long v;
	int idx;

	memset(h, 0, sizeof(*h));
	if (!g)
		return;
	cfg_path(g, where, sizeof(where));
	if (!config_setting_is_group(g)) {
		cfg_err(c, g, "%s must be a group { type = \"tcp\" | \"http\"; ... }", where);
		return;
	}
	h->line = (int)config_setting_source_line(g);
	cfg_known_keys(c, g, health_keys);
	h->rise = 2;
	h->fall = 3;
	h->interval_ms = 2000;
	h->timeout_ms = 1000;
	h->expect = 200;
	snprintf(h->path, sizeof(h->path), "/");
	/* A bad type still lets the other keys be checked; the service is
	 * then not checked at all (the config is refused anyway). */
	typed = cfg_enum(c, g, "type", true, type_names, &idx) > 0;
	h->type = typed ? type_values[idx] : HC_NONE;
	if (cfg_int(c, g, "port", false, 1, 65535, &v) > 0)
		h->port = (uint16_t)v;
	if (cfg_string(c, g, "path", false, HC_PATH_MAX - 1, &path) > 0) {
		if (typed && h->type != HC_HTTP)
			cfg_err(c, config_setting_get_member(g, "path"),
				"%s.path is for type \"http\" only", where);
		else if (!path_ok(path))
			cfg_err(c, config_setting_get_member(g, "path"),
				"%s.path must start with '/' and hold no spaces or control "
				"characters (got '%s')",
				where, path);
		else
			snprintf(h->path, sizeof(h->path), "%s", path);
	}
	if (cfg_int(c, g, "expect", false, 100, 599, &v) > 0) {
		if (typed && h->type != HC_HTTP)
			cfg_err(c, config_setting_get_member(g, "expect"),
				"%s.expect is for type \"http\" only", where);
		h->expect = (uint16_t)v;
	}
	interval_ok = cfg_duration_ms(c, g, "interval", HC_INTERVAL_MIN_MS, HC_INTERVAL_MAX_MS,
				      &h->interval_ms) >= 0;
	if (cfg_duration_ms(c, g, "timeout", HC_TIMEOUT_MIN_MS, HC_INTERVAL_MAX_MS,
			    &h->timeout_ms) > 0 &&
	    interval_ok && h->timeout_ms > h->interval_ms)
		/* one check at a time per backend: the next starts when this
		 * one has had its chance */
		cfg_err(c, config_setting_get_member(g, "timeout"),
			"%s.timeout (%ums) is longer than the interval (%ums): a check must "
			"end before the next one starts",
			where, h->timeout_ms, h->interval_ms);
	if (cfg_int(c, g, "rise", false, 1, 100, &v) > 0)
		h->rise = (uint8_t)v;
	if (cfg_int(c, g, "fall", false, 1, 100, &v) > 0)
		h->fall = (uint8_t)v;
	/* A port-wildcard service's backends have no port of their own. */
	if (!h->port && port_ok && s->port == 0)
		cfg_err(c, g,
			"%s has no port, and service port 0 (every port) gives its backends "
			"none: set health.port",
			where);
}
