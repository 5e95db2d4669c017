// SPDX-License-Identifier: GPL-2.0
/* control_counters.c - counter snapshots for the metrics, and the daemon's
 * own numbers for `sluice stats`, carried over the control socket. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int counters_read(int fd_counters, int fd_aux, struct ctl_snapshot *s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter *per_cpu;
	uint64_t *per_cpu_aux;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (ncpu <= 0)
		return -EINVAL;
	per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	per_cpu_aux = calloc((size_t)ncpu, sizeof(*per_cpu_aux));
	if (!per_cpu || !per_cpu_aux) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < SLUICE_COUNTER_SLOTS && !rc; i++) {
		if (bpf_map_lookup_elem(fd_counters, &i, per_cpu)) {
			rc = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			s->slot[i].packets += per_cpu[c].packets;
			s->slot[i].bytes += per_cpu[c].bytes;
		}
	}
	for (uint32_t i = 0; i < SA_MAX && !rc; i++) {
		if (bpf_map_lookup_elem(fd_aux, &i, per_cpu_aux)) {
			rc = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			s->aux[i] += per_cpu_aux[c];
	}
out:
	free(per_cpu);
	free(per_cpu_aux);
	return rc;
}

void daemon_stats_format(const struct ctl_daemon_stats *ds, struct buf *out)
{
	buf_printf(out, "pin_dir %s\n", ds->pin_dir);
	buf_printf(out, "daemon reloads_ok %" PRIu64 "\n", ds->reloads_ok);
	buf_printf(out, "daemon reload_failures %" PRIu64 "\n", ds->reload_failures);
	buf_printf(out, "daemon runtime_blocks %" PRIu64 "\n", ds->runtime_blocks);
	buf_printf(out, "daemon runtime_changes %" PRIu64 "\n", ds->runtime_changes);
	buf_printf(out, "daemon generation %u\n", ds->generation);
	buf_printf(out, "daemon serial %u\n", ds->serial);
	buf_printf(out, "daemon auto_blocks_active %" PRIu64 "\n", ds->auto_active);
	buf_printf(out, "daemon auto_blocks_added %" PRIu64 "\n", ds->auto_added);
	buf_printf(out, "daemon auto_blocks_expired %" PRIu64 "\n", ds->auto_expired);
	buf_printf(out, "daemon auto_blocks_capped %" PRIu64 "\n", ds->auto_capped);
	buf_printf(out, "daemon flood_mode %" PRIu64 "\n", ds->flood_mode);
	buf_printf(out, "daemon flood_mode_secs %" PRIu64 "\n", ds->flood_secs);
	buf_printf(out, "daemon flood_transitions %" PRIu64 "\n", ds->flood_transitions);
	buf_printf(out, "daemon syn_pps %" PRIu64 "\n", ds->syn_pps);
}

int daemon_stats_fetch(const char *sock, struct ctl_daemon_stats *ds)
{
	char *argv[] = {"stats"};
	struct buf reply = {0};
	bool ok;
	int rc = control_request(sock, 1, argv, &ok, &reply);

	memset(ds, 0, sizeof(*ds));
	if (!rc && !ok)
		rc = -EIO;
	for (const char *line = rc ? NULL : reply.s; line && *line;) {
		char key[32], val[4096];

		if (sscanf(line, "pin_dir %4095s", val) == 1) {
			snprintf(ds->pin_dir, sizeof(ds->pin_dir), "%s", val);
		} else if (sscanf(line, "daemon %31s %4095s", key, val) == 2) {
			uint64_t v = strtoull(val, NULL, 10);

			if (!strcmp(key, "reloads_ok"))
				ds->reloads_ok = v;
			else if (!strcmp(key, "reload_failures"))
				ds->reload_failures = v;
			else if (!strcmp(key, "runtime_blocks"))
				ds->runtime_blocks = v;
			else if (!strcmp(key, "runtime_changes"))
				ds->runtime_changes = v;
			else if (!strcmp(key, "generation"))
				ds->generation = (uint32_t)v;
			else if (!strcmp(key, "serial"))
				ds->serial = (uint32_t)v;
			else if (!strcmp(key, "auto_blocks_active"))
				ds->auto_active = v;
			else if (!strcmp(key, "auto_blocks_added"))
				ds->auto_added = v;
			else if (!strcmp(key, "auto_blocks_expired"))
				ds->auto_expired = v;
			else if (!strcmp(key, "auto_blocks_capped"))
				ds->auto_capped = v;
			else if (!strcmp(key, "flood_mode"))
				ds->flood_mode = v;
			else if (!strcmp(key, "flood_mode_secs"))
				ds->flood_secs = v;
			else if (!strcmp(key, "flood_transitions"))
				ds->flood_transitions = v;
			else if (!strcmp(key, "syn_pps"))
				ds->syn_pps = v;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	ds->have = rc == 0;
	buf_free(&reply);
	return rc;
}
