// SPDX-License-Identifier: GPL-2.0
/*
 * config_get.c - read typed values out of libconfig settings.  Every getter
 * says what is wrong in words a user can act on and points at the line of the
 * offending setting; none stops at the first problem.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

/* Does line n (1-based) of the main file contain needle? */
static bool line_has(const struct cfg_ctx *c, unsigned n, const char *needle)
{
	size_t start = c->line_at[n - 1];
	size_t end = n < c->n_lines ? c->line_at[n] : strlen(c->text);

	return memmem(c->text + start, end - start, needle, strlen(needle)) != NULL;
}

int cfg_line(const struct cfg_ctx *c, const config_setting_t *s)
{
	unsigned line = config_setting_source_line(s), floor;
	const config_setting_t *prev;
	char needle[512];
	const char *v;
	int idx;

	/* Only anonymous strings need it. */
	if (s->name || s->type != CONFIG_TYPE_STRING || !s->parent || !c->line_at || line == 0 ||
	    line > c->n_lines)
		return (int)line;
	v = config_setting_get_string(s);
	/* A value with escapes is written differently in the file: keep the
	 * line libconfig gave rather than guess. */
	if (strpbrk(v, "\"\\\n\t") ||
	    snprintf(needle, sizeof(needle), "\"%s\"", v) >= (int)sizeof(needle))
		return (int)line;
	idx = config_setting_index(s);
	prev = idx > 0 ? config_setting_get_elem(s->parent, (unsigned)idx - 1) : NULL;
	floor = prev ? config_setting_source_line(prev) : config_setting_source_line(s->parent);
	for (unsigned n = line; n >= floor && n >= 1; n--)
		if (line_has(c, n, needle))
			return (int)n;
	return (int)line;
}

void cfg_err(struct cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->errors++;
	/* The root has no line of its own: point at the top of the file. */
	diag_add(c->d, c->file, s->parent ? cfg_line(c, s) : 1, "%s", msg);
}

void cfg_err_raw(struct cfg_ctx *c, int order_line, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->errors++;
	diag_add(c->d, NULL, order_line, "%s", msg);
}

const char *cfg_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = s->parent;
	char up[CFG_PATH_MAX];

	if (!parent) {
		snprintf(buf, len, "top level");
		return buf;
	}
	if (!parent->parent) {
		snprintf(buf, len, "%s", s->name ? s->name : "?");
		return buf;
	}
	cfg_path(parent, up, sizeof(up));
	if (config_setting_is_group(parent))
		snprintf(buf, len, "%s.%s", up, s->name);
	else
		snprintf(buf, len, "%s[%d]", up, config_setting_index(s));
	return buf;
}

/* "services[0].port" for member name of g, whether or not it exists. */
static const char *member_path(const config_setting_t *g, const char *name, char *buf, size_t len)
{
	char up[CFG_PATH_MAX];

	if (!g->parent)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s.%s", cfg_path(g, up, sizeof(up)), name);
	return buf;
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	}
	return "nothing";
}

bool cfg_known_keys(struct cfg_ctx *c, const config_setting_t *g, const char *const *keys)
{
	char where[CFG_PATH_MAX], expected[512] = "";
	bool ok = true;

	for (size_t k = 0; keys[k]; k++) {
		size_t used = strlen(expected);

		snprintf(expected + used, sizeof(expected) - used, "%s%s", k ? ", " : "", keys[k]);
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		size_t k = 0;

		while (keys[k] && strcmp(keys[k], m->name))
			k++;
		if (keys[k])
			continue;
		if (g->parent)
			cfg_err(c, m, "unknown key '%s' in %s (expected one of: %s)", m->name,
				cfg_path(g, where, sizeof(where)), expected);
		else
			cfg_err(c, m, "unknown top-level key '%s' (expected one of: %s)", m->name,
				expected);
		ok = false;
	}
	return ok;
}

bool cfg_is_group(struct cfg_ctx *c, const config_setting_t *g)
{
	char path[CFG_PATH_MAX];

	if (config_setting_is_group(g))
		return true;
	cfg_err(c, g, "%s must be a group { ... }, not %s", cfg_path(g, path, sizeof(path)),
		type_name(g->type));
	return false;
}

/* The member, or NULL; reports a missing required one at the group's line. */
static config_setting_t *member(struct cfg_ctx *c, const config_setting_t *g, const char *name,
				bool required)
{
	config_setting_t *s = config_setting_get_member(g, name);
	char where[CFG_PATH_MAX];

	if (!s && required) {
		if (g->parent)
			cfg_err(c, g, "%s has no '%s' (required)",
				cfg_path(g, where, sizeof(where)), name);
		else
			cfg_err(c, g, "missing required top-level key '%s'", name);
	}
	return s;
}

int cfg_int(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	    long long lo, long long hi, long long *out)
{
	config_setting_t *s = member(c, g, name, required);
	char path[CFG_PATH_MAX];
	long long v;

	if (!s)
		return required ? -1 : 0;
	member_path(g, name, path, sizeof(path));
	if (s->type != CONFIG_TYPE_INT && s->type != CONFIG_TYPE_INT64) {
		cfg_err(c, s, "%s must be an integer %lld..%lld, not %s", path, lo, hi,
			type_name(s->type));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		cfg_err(c, s, "%s must be %lld..%lld, got %lld", path, lo, hi, v);
		return -1;
	}
	*out = v;
	return 1;
}

int cfg_bool(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	     bool *out)
{
	config_setting_t *s = member(c, g, name, required);
	char path[CFG_PATH_MAX];

	if (!s)
		return required ? -1 : 0;
	if (s->type != CONFIG_TYPE_BOOL) {
		cfg_err(c, s, "%s must be true or false, not %s",
			member_path(g, name, path, sizeof(path)), type_name(s->type));
		return -1;
	}
	*out = config_setting_get_bool(s);
	return 1;
}

int cfg_string(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	       size_t maxlen, const char **out)
{
	config_setting_t *s = member(c, g, name, required);
	char path[CFG_PATH_MAX];
	const char *v;

	if (!s)
		return required ? -1 : 0;
	member_path(g, name, path, sizeof(path));
	if (s->type != CONFIG_TYPE_STRING) {
		cfg_err(c, s, "%s must be a string, not %s", path, type_name(s->type));
		return -1;
	}
	v = config_setting_get_string(s);
	if (maxlen && strlen(v) > maxlen) {
		cfg_err(c, s, "%s is %zu characters long, at most %zu allowed", path, strlen(v),
			maxlen);
		return -1;
	}
	*out = v;
	return 1;
}

int cfg_enum(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	     const char *const *names, int *idx)
{
	char path[CFG_PATH_MAX], choices[256] = "";
	const char *v;
	int rc = cfg_string(c, g, name, required, 0, &v);

	if (rc <= 0)
		return rc;
	for (int i = 0; names[i]; i++) {
		size_t used = strlen(choices);

		if (!strcmp(v, names[i])) {
			*idx = i;
			return 1;
		}
		snprintf(choices + used, sizeof(choices) - used, "%s%s", i ? ", " : "", names[i]);
	}
	cfg_err(c, config_setting_get_member(g, name), "%s must be one of %s; got '%s'",
		member_path(g, name, path, sizeof(path)), choices, v);
	return -1;
}

/* A list whose every element is of one kind: what it takes, and how the
 * messages name the list and an element. */
struct list_kind {
	bool arrays_too; /* [ ... ] as well as ( ... ) */
	int elem_type;	 /* CONFIG_TYPE_* */
	const char *list_text, *elem_text;
};

static const struct list_kind group_list = {
    .elem_type = CONFIG_TYPE_GROUP,
    .list_text = "a list of groups ( { ... }, ... )",
    .elem_text = "a group { ... }",
};

static const struct list_kind string_list = {
    .arrays_too = true,
    .elem_type = CONFIG_TYPE_STRING,
    .list_text = "an array of strings [ \"...\", ... ]",
    .elem_text = "a string",
};

static const config_setting_t *kind_list(struct cfg_ctx *c, const config_setting_t *g,
					 const char *name, bool required, const struct list_kind *k)
{
	config_setting_t *s = member(c, g, name, required);
	char path[CFG_PATH_MAX];

	if (!s)
		return NULL;
	member_path(g, name, path, sizeof(path));
	if (s->type != CONFIG_TYPE_LIST && !(k->arrays_too && s->type == CONFIG_TYPE_ARRAY)) {
		cfg_err(c, s, "%s must be %s, not %s", path, k->list_text, type_name(s->type));
		return NULL;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (e->type != k->elem_type) {
			cfg_err(c, e, "%s[%d] must be %s, not %s", path, i, k->elem_text,
				type_name(e->type));
			return NULL;
		}
	}
	return s;
}

const config_setting_t *cfg_group_list(struct cfg_ctx *c, const config_setting_t *g,
				       const char *name, bool required)
{
	return kind_list(c, g, name, required, &group_list);
}

const config_setting_t *cfg_string_list(struct cfg_ctx *c, const config_setting_t *g,
					const char *name, bool required)
{
	return kind_list(c, g, name, required, &string_list);
}

/* Parse string setting s (named path in messages) as a prefix. */
static int parse_prefix_setting(struct cfg_ctx *c, const config_setting_t *s, const char *path,
				bool host, struct sluice_prefix *out)
{
	const char *v = config_setting_get_string(s);
	char err[SLUICE_ERRLEN];

	if (prefix_parse(v, out, err, sizeof(err))) {
		cfg_err(c, s, "%s: %s", path, err);
		memset(out, 0, sizeof(*out)); /* family 0: "not valid" to the cross-checks */
		return -1;
	}
	if (host && out->len != (out->family == 4 ? 32 : 128)) {
		cfg_err(c, s, "%s: '%s' must be a single address, not a /%u prefix", path, v,
			out->len);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

int cfg_prefix_elem(struct cfg_ctx *c, const config_setting_t *list, int i, bool host,
		    struct sluice_prefix *out)
{
	const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
	char path[CFG_PATH_MAX];

	return parse_prefix_setting(c, e, cfg_path(e, path, sizeof(path)), host, out);
}

int cfg_prefix(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	       bool host, struct sluice_prefix *out)
{
	char path[CFG_PATH_MAX];
	const char *v;
	int rc = cfg_string(c, g, name, required, 0, &v);

	if (rc <= 0)
		return rc;
	member_path(g, name, path, sizeof(path));
	return parse_prefix_setting(c, config_setting_get_member(g, name), path, host, out) ? -1
											    : 1;
}

bool cfg_name_ok(struct cfg_ctx *c, const config_setting_t *s, const char *v, size_t maxlen,
		 bool loose)
{
	char path[CFG_PATH_MAX];
	size_t len = strlen(v);

	cfg_path(s, path, sizeof(path));
	if (len == 0 || len > maxlen) {
		cfg_err(c, s, "%s '%s' must be 1..%zu characters long", path, v, maxlen);
		return false;
	}
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (islower(ch) || isdigit(ch) || ch == '_' || ch == '-')
			continue;
		if (loose && (isupper(ch) || ch == '.'))
			continue;
		cfg_err(c, s, "%s '%s' may only contain %s", path, v,
			loose ? "letters, digits, '.', '_' and '-'"
			      : "lower-case letters, digits, '_' and '-'");
		return false;
	}
	return true;
}

bool cfg_ifname_ok(struct cfg_ctx *c, const config_setting_t *s, const char *v)
{
	char path[CFG_PATH_MAX];
	size_t len = strlen(v);

	cfg_path(s, path, sizeof(path));
	/* The kernel's dev_valid_name(): 1..IFNAMSIZ-1 bytes, no '/', ':' or
	 * white space, not "." or "..". */
	if (len == 0 || len >= IF_NAMESIZE) {
		cfg_err(c, s, "%s: interface name '%s' must be 1..%d characters long", path, v,
			IF_NAMESIZE - 1);
		return false;
	}
	if (!strcmp(v, ".") || !strcmp(v, "..") || strpbrk(v, "/: \t\n\r\f\v")) {
		cfg_err(c, s, "%s: '%s' is not a valid interface name (no '/', ':' or spaces)",
			path, v);
		return false;
	}
	return true;
}
