// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_reload.c - SIGHUP / `sluice reload`: parse and validate the file
 * into a new model beside the running one; if anything is wrong, say what,
 * count it, and change nothing.  Otherwise build the new state in the
 * inactive generation and switch, then report what changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "hostwl.h"

/* Whoever can change the config, or a list file it names, or replace
 * either in its directory, decides what the appliance drops and where it
 * forwards: that must be nobody but us (or root). */
static void check_file(const char *path, const char *what, struct diag *dg, int *bad)
{
	char copy[PATH_MAX], *dir;
	struct stat st;
	uid_t me = geteuid();

	if (stat(path, &st))
		return; /* model_load already said it cannot be read */
	if (st.st_uid != me && st.st_uid != 0) {
		diag_add(dg, path, 0,
			 "%s is owned by uid %u, not by root or the daemon's user: "
			 "refusing it (run: chown root %s)",
			 what, (unsigned)st.st_uid, path);
		(*bad)++;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		diag_add(dg, path, 0,
			 "%s is writable by %s (mode %04o): refusing it (run: chmod go-w "
			 "%s)",
			 what, st.st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777), path);
		(*bad)++;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &st))
		return;
	/* a sticky directory (like /tmp) lets nobody else replace our file */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		diag_add(dg, path, 0,
			 "its directory %s is writable by %s (mode %04o), so anyone there "
			 "could replace the %s: refusing it",
			 dir, st.st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777), what);
		(*bad)++;
	} else if (st.st_uid != me && st.st_uid != 0 && !(st.st_mode & S_ISVTX)) {
		diag_add(dg, path, 0,
			 "its directory %s is owned by uid %u, who could replace the %s: "
			 "refusing it",
			 dir, (unsigned)st.st_uid, what);
		(*bad)++;
	}
}

int config_trusted(const struct sluice_model *m, struct diag *dg)
{
	int bad = 0;

	check_file(m->path, "config file", dg, &bad);
	for (size_t i = 0; i < m->n_list_sources; i++) {
		const char *what = m->list_sources[i].what;

		/* inline prefixes are named by their setting, files by their path */
		if (strcmp(what, "blocklist.prefixes") && strcmp(what, "allowlist.prefixes"))
			check_file(what, "list file", dg, &bad);
	}
	return bad ? -EPERM : 0;
}

static void record(struct daemon *d, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void record(struct daemon *d, bool ok, const char *fmt, ...)
{
	va_list ap;

	d->last_reload = time(NULL);
	d->last_reload_ok = ok;
	va_start(ap, fmt);
	vsnprintf(d->last_reload_msg, sizeof(d->last_reload_msg), fmt, ap);
	va_end(ap);
	if (ok)
		d->reloads_ok++;
	else
		d->reload_failures++;
}

static int failed(struct daemon *d, struct diag *dg, struct buf *out, const char *why)
{
	for (size_t i = 0; i < dg->n; i++) {
		dlog("reload: %s", dg->msgs[i]);
		buf_printf(out, "%s\n", dg->msgs[i]);
	}
	record(d, false, "%s", why);
	dlog("reload FAILED (%s): %s; the running config stays in force (failure #%llu)",
	     d->conf_path, why, (unsigned long long)d->reload_failures);
	buf_printf(out,
		   "sluice: reload: %s: %s; the running config stays in force (reload "
		   "failures so far: %llu)\n",
		   d->conf_path, why, (unsigned long long)d->reload_failures);
	diag_free(dg);
	return -1;
}

static uint64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

static void buf_bad_line(void *ctx, const char *line)
{
	buf_printf(ctx, "  %s\n", line);
}

int daemon_reload(struct daemon *d, const char *why, struct buf *out)
{
	struct backend_override *saved = NULL;
	struct buf changes = {0}, dropped = {0};
	struct sluice_model nm;
	struct apply_report rep;
	struct diag dg = {0};
	char err[SLUICE_ERRLEN], msg[SLUICE_ERRLEN + 64];
	uint64_t t0 = mono_ms(), t_read, t_checked, t_switched;
	uint32_t old_gen = d->dp.active;
	size_t n_saved = d->n_overrides, n_changes;
	int rc;

	dlog("reload (%s): reading %s", why, d->conf_path);
	rc = model_load(d->conf_path, &nm, &dg);
	if (rc) {
		snprintf(msg, sizeof(msg), "invalid config (%zu error%s)", dg.n,
			 dg.n == 1 ? "" : "s");
		return failed(d, &dg, out, msg);
	}
	t_read = mono_ms();
	if (config_trusted(&nm, &dg)) {
		model_free(&nm);
		return failed(d, &dg, out, "untrusted file permissions");
	}
	diag_free(&dg);
	t_checked = mono_ms();
	saved = malloc((n_saved ? n_saved : 1) * sizeof(*saved));
	if (!saved) {
		model_free(&nm);
		return failed(d, &dg, out, "out of memory");
	}
	memcpy(saved, d->overrides, n_saved * sizeof(*saved));
	overrides_rebase(d, &nm, &dropped);
	rc = daemon_switch(d, &nm, SW_ALL, &rep, err, sizeof(err));
	t_switched = mono_ms();
	if (rc) {
		/* nothing switched: the active generation is the old config */
		memcpy(d->overrides, saved, n_saved * sizeof(*saved));
		d->n_overrides = n_saved;
		free(saved);
		buf_free(&dropped);
		model_free(&nm);
		snprintf(msg, sizeof(msg), "applying failed: %s", err);
		return failed(d, &dg, out, msg);
	}
	free(saved);
	t_switched = mono_ms();
	overrides_persist(d);
	n_changes = model_diff(&d->model, &nm, &changes);
	model_free(&d->model);
	d->model = nm;
	if (d->pw.nl_fd >= 0)
		podwatch_set_model(&d->pw, &d->model); /* pods and patterns may have changed */
	workloads_set_model(&d->wl, &d->model);        /* pods' cgroups name workloads */
	daemon_hostwl_sync(d);                         /* ... and find hostNetwork ones */
	daemon_refresh_arm(d); /* the interval, and the files, may have changed */
	daemon_health_reload(d); /* backends and their checks may have changed */
	autoblock_configure(d);
	flood_configure(d);
	record(d, true, "ok: %zu change%s", n_changes, n_changes == 1 ? "" : "s");
	buf_printf(out,
		   "reloaded %s in %llu ms (read and checked in %llu, switched %llu ms after "
		   "the start): generation %u -> %u (serial %u); %zu block + %zu "
		   "allow prefixes, %zu runtime blocks, %zu services, %zu backends\n",
		   d->conf_path, (unsigned long long)(mono_ms() - t0),
		   (unsigned long long)(t_checked - t0), (unsigned long long)(t_switched - t0),
		   old_gen, d->dp.active,
		   d->dp.serial, rep.block, rep.allow, d->n_blocks, rep.lb.services,
		   rep.lb.backends);
	/* where a big feed's reload spends its time (docs/feeds.md, bench) */
	buf_printf(out,
		   "  took: read + parse %llu ms, file checks %llu ms, compile + tables + map "
		   "writes + switch %llu ms, diff %llu ms\n",
		   (unsigned long long)(t_read - t0), (unsigned long long)(t_checked - t_read),
		   (unsigned long long)(t_switched - t_checked),
		   (unsigned long long)(mono_ms() - t_switched));
	if (n_changes)
		buf_printf(out, "%s", changes.s);
	else
		buf_printf(out, "  no change in the config\n");
	if (dropped.s)
		buf_printf(out, "%s", dropped.s);
	model_bad_lines(&d->model, buf_bad_line, out); /* on_error = "warn" lists */
	dlog_lines(out->s); /* the same report in the log */
	buf_free(&changes);
	buf_free(&dropped);
	return 0;
}
