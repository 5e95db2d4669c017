/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config_int.h - inside the config loader: the parse context, typed getters
 * that report what is wrong and where, and one parser per top-level key.
 * Only ctl/config*.c use this; everyone else goes through model.h.
 */
#ifndef SLUICE_CONFIG_INT_H
#define SLUICE_CONFIG_INT_H

#include <libconfig.h>
#include <limits.h>
#include <stdbool.h>

#include "model.h"

struct cfg_ctx {
	struct sluice_model *m;
	struct diag *d;
	const char *file;   /* config path as given: what messages name */
	char dir[PATH_MAX]; /* its directory ("" for the cwd): relative list
			     * files resolve against it */
	const char *text;   /* the main file, to correct element lines */
	size_t *line_at;    /* offset in text where line n+1 starts */
	unsigned n_lines;
	size_t errors; /* counted here too, so a failed diag_add (out of
			* memory) can never turn an error into "ok" */
	/* Settings that were given explicitly, for the size checks to point
	 * at; NULL when the default applies. */
	const config_setting_t *limit_set[5];
};

enum cfg_limit_idx { CFG_LIM_V4, CFG_LIM_V6, CFG_LIM_SERVICES, CFG_LIM_BACKENDS, CFG_LIM_CONNS };

/* ---- reporting ------------------------------------------------------ */

/* Add "file:line: message" for setting s (its own file when @included). */
void cfg_err(struct cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for a message that carries its own position (file NULL in diag). */
void cfg_err_raw(struct cfg_ctx *c, int order_line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line setting s was written on.  libconfig stamps a scalar list or
 * array element with the line of the token after it, so the last element of
 * a multi-line array would point at the closing bracket; this finds the
 * element's own line. */
int cfg_line(const struct cfg_ctx *c, const config_setting_t *s);
/* "services[0].backends[2]": how messages name a setting. */
const char *cfg_path(const config_setting_t *s, char *buf, size_t len);
#define CFG_PATH_MAX 256

/* Diagnostics added since index from, in line order. */
void diag_sort(struct diag *d, size_t from);

/* ---- typed getters ----------------------------------------------------
 * Each looks up member name of group g.  They return 1 when the value is
 * there and valid (out filled), 0 when it is absent (an error only when
 * required), -1 after reporting an error. */

/* Every member of g must be in keys (NULL-terminated); reports each stranger. */
bool cfg_known_keys(struct cfg_ctx *c, const config_setting_t *g, const char *const *keys);
/* g must be a group; reports "<what> must be a group { ... }" otherwise. */
bool cfg_is_group(struct cfg_ctx *c, const config_setting_t *g);

int cfg_int(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	    long long lo, long long hi, long long *out);
int cfg_bool(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	     bool *out);
/* A string of at most maxlen bytes (0: no limit); *out points into the
 * parsed config, so copy it before config_destroy. */
int cfg_string(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	       size_t maxlen, const char **out);
/* A string that must be one of names (NULL-terminated): *idx its index. */
int cfg_enum(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	     const char *const *names, int *idx);
/* A list ( ... ) whose elements are groups; returns the setting or NULL. */
const config_setting_t *cfg_group_list(struct cfg_ctx *c, const config_setting_t *g,
				       const char *name, bool required);
/* An array [ ... ] or list ( ... ) of strings; returns the setting or NULL.
 * Elements are checked to be strings here. */
const config_setting_t *cfg_string_list(struct cfg_ctx *c, const config_setting_t *g,
					const char *name, bool required);
/* Parse element i of a string list as a prefix; host = address only. */
int cfg_prefix_elem(struct cfg_ctx *c, const config_setting_t *list, int i, bool host,
		    struct sluice_prefix *out);
/* A string member parsed as a prefix (host: a single address only). */
int cfg_prefix(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	       bool host, struct sluice_prefix *out);
/* Names: 1..maxlen bytes of [a-z0-9_-] (plus A-Z and '.' when loose). */
bool cfg_name_ok(struct cfg_ctx *c, const config_setting_t *s, const char *v, size_t maxlen,
		 bool loose);
/* Interface names as the kernel takes them (also patterns with '*'). */
bool cfg_ifname_ok(struct cfg_ctx *c, const config_setting_t *s, const char *v);

/* ---- sections (config_*.c) ------------------------------------------ */

/* Checks on the raw text before libconfig sees it (see config_scan.c):
 * integers it would truncate, and @include, which is refused and blanked
 * out of text. */
void cfg_scan_text(struct cfg_ctx *c, char *text);

/* Each takes the root group and reads its own key(s); absent optional keys
 * keep the defaults model_load filled in.  Limits come first: the other
 * sections check their sizes against them. */
void cfg_limits(struct cfg_ctx *c, const config_setting_t *root);
void cfg_interfaces(struct cfg_ctx *c, const config_setting_t *root);
void cfg_stats(struct cfg_ctx *c, const config_setting_t *root);
void cfg_control(struct cfg_ctx *c, const config_setting_t *root);
void cfg_verdict_lists(struct cfg_ctx *c, const config_setting_t *root);
void cfg_identities(struct cfg_ctx *c, const config_setting_t *root);
void cfg_syn_guard(struct cfg_ctx *c, const config_setting_t *root);
void cfg_auto_block(struct cfg_ctx *c, const config_setting_t *root);
void cfg_syn_flood(struct cfg_ctx *c, const config_setting_t *root);
void cfg_syn_limit(struct cfg_ctx *c, const config_setting_t *g, const char *where,
		   uint32_t *rate, uint32_t *burst);
void cfg_services(struct cfg_ctx *c, const config_setting_t *root);
/* A service's health = { ... } into s->health (config_health.c). */
void cfg_health(struct cfg_ctx *c, const config_setting_t *svc, struct lb_service_cfg *s,
		bool port_ok);
void cfg_pods(struct cfg_ctx *c, const config_setting_t *root);
/* syn_cookies = { mode; local }: after services (config_syncookies.c). */
void cfg_syn_cookies(struct cfg_ctx *c, const config_setting_t *root);
/* A service's `syn_cookies = true;` (NAT mode only). */
void cfg_service_syn_cookies(struct cfg_ctx *c, const config_setting_t *g,
			     struct lb_service_cfg *s);
void cfg_bgp(struct cfg_ctx *c, const config_setting_t *root);

#endif
