// SPDX-License-Identifier: GPL-2.0
/*
 * config_lists.c - `blocklist` and `allowlist`: inline prefixes and list
 * files, each source with its own list id so a verdict can be traced back to
 * where it came from.  Ids are fixed by position, not by which sources
 * happen to be present: blocklist.prefixes is 1, the blocklist files follow
 * in order, then allowlist.prefixes, then the allowlist files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_int.h"
#include "duration.h"
#include "sluice_maps.h"

static const char *const list_keys[] = {"prefixes", "files", "refresh", "on_error", NULL};
static const char *const on_error_names[] = {"reject", "warn", NULL};

static struct list_source_cfg *add_source(struct cfg_ctx *c, uint32_t id, bool allow,
					  const char *what, const config_setting_t *s)
{
	struct sluice_model *m = c->m;
	struct list_source_cfg *v = realloc(m->list_sources, (m->n_list_sources + 1) * sizeof(*v));

	if (!v) {
		cfg_err(c, s, "out of memory");
		return NULL;
	}
	m->list_sources = v;
	v = &m->list_sources[m->n_list_sources++];
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->allow = allow;
	v->line = cfg_line(c, s);
	snprintf(v->what, sizeof(v->what), "%s", what);
	return v;
}

static void load_inline(struct cfg_ctx *c, const config_setting_t *g, const char *key, bool allow,
			uint32_t id, struct prefix_list *out)
{
	const config_setting_t *l = cfg_string_list(c, g, "prefixes", false);
	char what[64];

	if (!l)
		return;
	snprintf(what, sizeof(what), "%s.prefixes", key);
	add_source(c, id, allow, what, l);
	for (int i = 0; i < config_setting_length(l); i++) {
		struct sluice_prefix p;

		if (cfg_prefix_elem(c, l, i, false, &p))
			continue;
		p.list_id = id;
		if (prefix_list_push(out, &p)) {
			cfg_err(c, l, "out of memory");
			return;
		}
	}
}

static void load_file(struct cfg_ctx *c, const config_setting_t *e, bool allow, bool warn,
		      uint32_t id, struct prefix_list *out)
{
	struct list_source_cfg *src;
	const char *name = config_setting_get_string(e), *dir, *sep;
	char path[PATH_MAX], where[CFG_PATH_MAX], err[SLUICE_ERRLEN];
	struct stat st;

	cfg_path(e, where, sizeof(where));
	if (!name[0]) {
		cfg_err(c, e, "%s: empty file name", where);
		return;
	}
	/* Relative to the config, not to wherever sluice was started from. */
	dir = name[0] == '/' ? "" : c->dir;
	sep = !dir[0] || dir[strlen(dir) - 1] == '/' ? "" : "/";
	if (snprintf(path, sizeof(path), "%s%s%s", dir, sep, name) >= (int)sizeof(path)) {
		cfg_err(c, e, "%s: path too long", where);
		return;
	}
	/* A directory opens fine and reads as empty: catch it here. */
	if (stat(path, &st)) {
		cfg_err(c, e, "%s: cannot open '%s': %s", where, path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_err(c, e, "%s: '%s' is not a regular file", where, path);
		return;
	}
	src = add_source(c, id, allow, path, e);
	if (!src)
		return;
	src->warn = warn;
	/* warn: bad lines are skipped and counted (src->bad), the rest loads */
	if (prefix_list_read(out, path, id, warn ? &src->bad : NULL, err, sizeof(err)))
		/* err is "path:line:col: message" (or "path: cannot open"). */
		cfg_err_raw(c, cfg_line(c, e), "%s (%s, %s:%d)", err, where, c->file,
			    cfg_line(c, e));
}

/* refresh = "10m": how often the daemon looks at the list files (mtime,
 * size, content hash) and reloads when one changed.  The shortest of the
 * blocklist's and the allowlist's intervals applies to all list files. */
static void load_refresh(struct cfg_ctx *c, const config_setting_t *g)
{
	/* whole seconds and up (a bare number is seconds); "10ms" or "10m
	 * later" are not durations here, not 10 minutes */
	static const struct duration_form refresh_duration = {
	    .units = DUR_S | DUR_M | DUR_H | DUR_D | DUR_BARE};
	const config_setting_t *r = config_setting_get_member(g, "refresh");
	int64_t ms;
	long secs;

	if (!r)
		return;
	ms = duration_parse_ms(config_setting_get_string(r), &refresh_duration);
	if (ms <= 0) {
		cfg_err(c, r, "refresh must be a duration like \"30s\", \"10m\", \"1h\" or \"1d\"");
		return;
	}
	if (ms < 5000 || ms > 7 * 86400 * 1000ll) {
		cfg_err(c, r, "refresh must be between 5s and 7d");
		return;
	}
	secs = (long)(ms / 1000);
	if (!c->m->list_refresh_secs || (uint32_t)secs < c->m->list_refresh_secs)
		c->m->list_refresh_secs = (uint32_t)secs;
}

/* One list: inline prefixes get id *next_id, each file the ids after. */
static void load_list(struct cfg_ctx *c, const config_setting_t *root, const char *key, bool allow,
		      struct prefix_list *out, uint32_t *next_id)
{
	const config_setting_t *g = config_setting_get_member(root, key), *files;
	uint32_t inline_id = (*next_id)++;
	int on_error = 0; /* reject */

	if (!g || !cfg_is_group(c, g))
		return;
	cfg_known_keys(c, g, list_keys);
	load_refresh(c, g);
	/* on_error = "warn" is for the files (published feeds with the odd bad
	 * line); inline prefixes are the config itself: always checked */
	cfg_enum(c, g, "on_error", false, on_error_names, &on_error);
	load_inline(c, g, key, allow, inline_id, out);
	files = cfg_string_list(c, g, "files", false);
	for (int i = 0; files && i < config_setting_length(files); i++) {
		const config_setting_t *f = config_setting_get_elem(files, (unsigned)i);

		/* per-list counters have SLUICE_MAX_LISTS slots; the last one
		 * belongs to the daemon's runtime blocks */
		if (*next_id >= SLUICE_MAX_LISTS - 1) {
			cfg_err(c, f, "too many list sources: at most %d (inline prefixes and files of "
				      "blocklist and allowlist together)",
				SLUICE_MAX_LISTS - 2);
			return;
		}
		load_file(c, f, allow, on_error == 1, (*next_id)++, out);
	}
}

static size_t count_family(const struct prefix_list *l, int family)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].family == family;
	return n;
}

/* Map sizes vs entries: the compiled trie never holds more entries than
 * the block and allow prefixes together, so that sum must fit. */
static void check_fit(struct cfg_ctx *c, const config_setting_t *root, int family,
		      enum cfg_limit_idx lim, uint32_t max)
{
	size_t n = count_family(&c->m->block, family) + count_family(&c->m->allow, family);
	const config_setting_t *at = c->limit_set[lim];

	if (n <= max)
		return;
	if (!at)
		at = config_setting_get_member(root, "blocklist");
	if (!at)
		at = config_setting_get_member(root, "allowlist");
	cfg_err(c, at,
		"blocklist and allowlist hold %zu IPv%d prefixes, more than limits.verdict_v%d = "
		"%u entries",
		n, family, family, max);
}

void cfg_verdict_lists(struct cfg_ctx *c, const config_setting_t *root)
{
	uint32_t next_id = 1; /* 0 is `sluice load` from the command line */

	load_list(c, root, "blocklist", false, &c->m->block, &next_id);
	load_list(c, root, "allowlist", true, &c->m->allow, &next_id);
	check_fit(c, root, 4, CFG_LIM_V4, c->m->limits.verdict_v4_max);
	check_fit(c, root, 6, CFG_LIM_V6, c->m->limits.verdict_v6_max);
}

size_t model_bad_lines(const struct sluice_model *m, void (*fn)(void *ctx, const char *line),
		       void *ctx)
{
	char line[SLUICE_ERRLEN + PATH_MAX + 96];
	size_t total = 0;

	for (size_t i = 0; i < m->n_list_sources; i++) {
		const struct list_source_cfg *s = &m->list_sources[i];

		if (!s->bad.n)
			continue;
		total += s->bad.n;
		if (!fn)
			continue;
		for (uint32_t k = 0; k < s->bad.n && k < LIST_BAD_KEEP; k++) {
			snprintf(line, sizeof(line), "warning: %s (line skipped: on_error = \"warn\")",
				 s->bad.first[k]);
			fn(ctx, line);
		}
		snprintf(line, sizeof(line),
			 "warning: %s: %u bad line%s skipped%s (list %u, on_error = \"warn\")", s->what,
			 s->bad.n, s->bad.n == 1 ? "" : "s",
			 s->bad.n > LIST_BAD_KEEP ? ", the first ones shown" : "", s->id);
		fn(ctx, line);
	}
	return total;
}
