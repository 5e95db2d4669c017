// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - load a sluice config file into a new model: read it (refusing a
 * file others may write), parse it with libconfig, hand each top-level key to
 * its section parser, and collect every problem as "file:line: message".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"
#include "sluice_maps.h"

static const char *const top_keys[] = {
    "interfaces", "blocklist", "allowlist", "identities", "services",
    "pods",	  "limits",    "stats",	    "control",	  "syn_guard", "auto_block", "syn_flood",
    "syn_cookies", "bgp", NULL,
};

static void model_defaults(struct sluice_model *m)
{
	m->limits = (struct limits_cfg){
	    .verdict_v4_max = SLUICE_VERDICT_V4_MAX,
	    .verdict_v6_max = SLUICE_VERDICT_V6_MAX,
	    .services_max = SLUICE_MAX_SERVICES - 1, /* id 0 means "no service" */
	    .backends_max = SLUICE_MAX_BACKENDS - 1, /* id 0 means "no backend" */
	    .conns_max = SLUICE_CONN_MAX,
	};
	snprintf(m->stats_listen, sizeof(m->stats_listen), "%s", SLUICE_STATS_LISTEN_DEFAULT);
	snprintf(m->control_socket, sizeof(m->control_socket), "%s", SLUICE_CONTROL_SOCKET_DEFAULT);
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", SLUICE_PIN_DIR);
}

/* Least privilege: whoever can write the config decides what the appliance
 * drops and where it forwards, so only its owner may be able to. */
static void check_mode(struct cfg_ctx *c, const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		c->errors++;
		diag_add(c->d, path, 0, "not a regular file");
		return;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		c->errors++;
		diag_add(c->d, path, 0,
			 "writable by %s (mode %04o): refusing a config that others can change; "
			 "run: chmod go-w %s",
			 (st->st_mode & S_IWOTH) ? "others" : "its group",
			 (unsigned)(st->st_mode & 07777), path);
	}
}

/* The whole file as a string, or NULL after reporting why not. */
static char *read_config(struct cfg_ctx *c, const char *path)
{
	/* O_NONBLOCK: a FIFO must not hang the check; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	size_t len = 0, cap = 0;
	char *text = NULL;
	struct stat st;

	if (fd < 0) {
		c->errors++;
		diag_add(c->d, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	/* fstat the open file: the mode checked is the mode of what we read. */
	if (fstat(fd, &st)) {
		c->errors++;
		diag_add(c->d, path, 0, "cannot stat: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	check_mode(c, path, &st);
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t got;

		if (len + 1 >= cap) {
			size_t bigger = cap ? cap * 2 : 65536;
			char *more = realloc(text, bigger);

			if (!more) {
				c->errors++;
				diag_add(c->d, path, 0, "out of memory reading it");
				goto fail;
			}
			text = more;
			cap = bigger;
		}
		got = read(fd, text + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			c->errors++;
			diag_add(c->d, path, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	text[len] = 0;
	if (memchr(text, 0, len)) { /* libconfig would stop there, unseen */
		c->errors++;
		diag_add(c->d, path, 0, "contains a NUL byte: not a text file");
		free(text);
		return NULL;
	}
	return text;
fail:
	close(fd);
	free(text);
	return NULL;
}

static void config_dir(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		dir[0] = 0;
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Where each line starts, for cfg_line(). */
static void index_lines(struct cfg_ctx *c, const char *text)
{
	size_t n = 1;

	for (const char *p = text; *p; p++)
		n += *p == '\n';
	c->line_at = calloc(n, sizeof(*c->line_at));
	if (!c->line_at)
		return; /* lines then stay as libconfig gave them */
	c->text = text;
	c->n_lines = 1;
	for (const char *p = text; *p; p++)
		if (*p == '\n' && p[1])
			c->line_at[c->n_lines++] = (size_t)(p + 1 - text);
}

static void load_root(struct cfg_ctx *c, const config_setting_t *root)
{
	cfg_known_keys(c, root, top_keys);
	cfg_limits(c, root);
	cfg_interfaces(c, root);
	cfg_verdict_lists(c, root);
	cfg_identities(c, root); /* before pods: their rules name identities */
	cfg_syn_guard(c, root);
	cfg_auto_block(c, root);
	cfg_syn_flood(c, root);
	cfg_services(c, root);
	cfg_syn_cookies(c, root);
	cfg_pods(c, root);
	cfg_stats(c, root);
	cfg_control(c, root);
	cfg_bgp(c, root);
}

int model_load(const char *path, struct sluice_model *m, struct diag *d)
{
	struct cfg_ctx c = {.m = m, .d = d, .file = path};
	size_t first = d->n;
	char *text;

	memset(m, 0, sizeof(*m));
	snprintf(m->path, sizeof(m->path), "%s", path);
	model_defaults(m);
	config_dir(path, c.dir, sizeof(c.dir));
	text = read_config(&c, path);
	if (text) {
		config_t cfg;

		cfg_scan_text(&c, text);
		index_lines(&c, text);
		config_init(&cfg);
		if (config_read_string(&cfg, text)) {
			load_root(&c, config_root_setting(&cfg));
		} else {
			int line = config_error_line(&cfg);

			/* An error at end of input (say, a string never closed) comes
			 * one past the last line: name a line that exists. */
			if (line > (int)c.n_lines && c.n_lines)
				line = (int)c.n_lines;
			c.errors++;
			diag_add(d, path, line, "%s", config_error_text(&cfg));
		}
		config_destroy(&cfg);
		free(c.line_at);
		free(text);
	}
	diag_sort(d, first);
	if (c.errors) {
		model_free(m);
		return -1;
	}
	return 0;
}

void model_free(struct sluice_model *m)
{
	free(m->ifaces);
	prefix_list_free(&m->block);
	prefix_list_free(&m->allow);
	free(m->list_sources);
	for (size_t i = 0; i < m->n_identities; i++)
		prefix_list_free(&m->identities[i].prefixes);
	free(m->identities);
	lb_model_free(&m->lb);
	for (size_t i = 0; i < m->n_pods; i++) {
		prefix_list_free(&m->pods[i].addrs);
		free(m->pods[i].ingress);
		free(m->pods[i].egress);
	}
	free(m->pods);
	free(m->syncookie_local);
	memset(m, 0, sizeof(*m));
}
