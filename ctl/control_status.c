// SPDX-License-Identifier: GPL-2.0
/* control_status.c - `sluice status`: what the daemon runs, and where. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"

#define MIB (1024.0 * 1024.0)

static int count_pins(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	while ((e = readdir(dp)))
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

static void utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm))
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void status_bad_line(void *ctx, const char *line)
{
	buf_printf(ctx, "  %s\n", line);
}

void status_text(struct daemon *d, struct buf *out)
{
	const struct sluice_model *m = &d->model;
	struct sluice_state st = {0};
	uint32_t zero = 0;
	size_t backends = 0;
	char when[40], up[32], caps[256];
	double ring = (double)SLUICE_GENS * SLUICE_MAX_SERVICES * SLUICE_RING_WORDS * 8 / MIB;
	double be = (double)SLUICE_GENS * SLUICE_MAX_BACKENDS * sizeof(struct sluice_backend) / MIB;

	for (size_t i = 0; i < m->lb.n; i++)
		backends += m->lb.svcs[i].n_backends;
	format_duration((uint64_t)(time(NULL) - d->started), up, sizeof(up));
	buf_printf(out, "sluice daemon: pid %d, up %s, config %s\n", (int)getpid(), up,
		   d->conf_path);
	utc(d->last_reload, when, sizeof(when));
	if (d->last_reload)
		buf_printf(out, "last reload:   %s: %s (%s)\n", when,
			   d->last_reload_ok ? "ok" : "FAILED", d->last_reload_msg);
	else
		buf_printf(out, "last reload:   none since start\n");
	buf_printf(out, "reloads:       %llu ok, %llu failed; runtime changes: %llu\n",
		   (unsigned long long)d->reloads_ok, (unsigned long long)d->reload_failures,
		   (unsigned long long)d->runtime_changes);
	if (bpf_map_lookup_elem(d->dp.state_fd, &zero, &st) == 0) {
		uint64_t now = mono_ns();
		double ago = st.switched_ns && now > st.switched_ns
				 ? (double)(now - st.switched_ns) / 1e9
				 : 0;

		buf_printf(out, "generation:    active %u, serial %u (last switch %.1f s ago)\n",
			   st.gen, st.serial, ago);
	}
	flood_status(d, out);
	autoblock_status(d, out);
	buf_printf(out, "interfaces:\n");
	iface_status(d, out);
	buf_printf(out,
		   "config:        %zu block + %zu allow prefixes, %zu service%s, %zu backend%s, "
		   "%zu identit%s, %zu pod%s\n",
		   m->block.n, m->allow.n, m->lb.n, m->lb.n == 1 ? "" : "s", backends,
		   backends == 1 ? "" : "s", m->n_identities, m->n_identities == 1 ? "y" : "ies",
		   m->n_pods, m->n_pods == 1 ? "" : "s");
	buf_printf(out, "runtime:       %zu block%s, %zu manual backend state%s\n", d->n_blocks,
		   d->n_blocks == 1 ? "" : "s", d->n_overrides, d->n_overrides == 1 ? "" : "s");
	fast_status_text(d, out);
	buf_printf(out, "lb tables:     Maglev tables %.1f MiB, backends %.2f MiB (mmapped)\n", ring,
		   be);
	buf_printf(out, "pin dir:       %s (%d pins)\n", d->pin_dir, count_pins(d->pin_dir));
	buf_printf(out, "control:       %s (0600)\n", d->sock_path);
	if (d->listen[0])
		buf_printf(out, "metrics:       http://%s/metrics\n", d->listen);
	else
		buf_printf(out, "metrics:       off (stats.listen = \"\")\n");
	caps_names(caps_effective(), caps, sizeof(caps));
	buf_printf(out, "capabilities:  %s\n", caps);
	if (d->n_blocks) {
		buf_printf(out, "runtime blocks:\n");
		blocks_list(d, out);
	}
	if (d->n_overrides) {
		buf_printf(out, "manual backend states:\n");
		overrides_list(d, out);
	}
	health_status(d, out);
	if (model_bad_lines(m, NULL, NULL)) {
		buf_printf(out, "list files:    %zu bad lines skipped (on_error = \"warn\"):\n",
			   model_bad_lines(m, NULL, NULL));
		model_bad_lines(m, status_bad_line, out);
	}
	workloads_status(d, out);
	announce_status(d, out);
}
