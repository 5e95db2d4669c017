// SPDX-License-Identifier: GPL-2.0
/* control_counters.c - counter snapshots for the metrics, and the daemon's
 * own numbers for `sluice stats`, carried over the control socket. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
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

/* The "daemon KEY VALUE" lines of the `stats` reply, in their order: the
 * one list both ends of the protocol read. */
#define DAEMON_KEY(key, field)                                                                     \
	{                                                                                          \
		key, offsetof(struct ctl_daemon_stats, field),                                     \
		    sizeof(((struct ctl_daemon_stats *)0)->field)                                  \
	}
static const struct {
	const char *key;
	size_t off, size; /* a uint64_t or a uint32_t field */
} daemon_keys[] = {
    DAEMON_KEY("reloads_ok", reloads_ok),
    DAEMON_KEY("reload_failures", reload_failures),
    DAEMON_KEY("runtime_blocks", runtime_blocks),
    DAEMON_KEY("runtime_changes", runtime_changes),
    DAEMON_KEY("generation", generation),
    DAEMON_KEY("serial", serial),
    DAEMON_KEY("auto_blocks_active", auto_active),
    DAEMON_KEY("auto_blocks_added", auto_added),
    DAEMON_KEY("auto_blocks_expired", auto_expired),
    DAEMON_KEY("auto_blocks_capped", auto_capped),
    DAEMON_KEY("flood_mode", flood_mode),
    DAEMON_KEY("flood_mode_secs", flood_secs),
    DAEMON_KEY("flood_transitions", flood_transitions),
    DAEMON_KEY("syn_pps", syn_pps),
};
#define N_DAEMON_KEYS (sizeof(daemon_keys) / sizeof(daemon_keys[0]))

static uint64_t daemon_key_get(const struct ctl_daemon_stats *ds, size_t k)
{
	const char *at = (const char *)ds + daemon_keys[k].off;
	uint64_t v64;
	uint32_t v32;

	if (daemon_keys[k].size == sizeof(v64)) {
		memcpy(&v64, at, sizeof(v64));
		return v64;
	}
	memcpy(&v32, at, sizeof(v32));
	return v32;
}

static void daemon_key_set(struct ctl_daemon_stats *ds, size_t k, uint64_t v)
{
	char *at = (char *)ds + daemon_keys[k].off;
	uint32_t v32 = (uint32_t)v;

	if (daemon_keys[k].size == sizeof(v))
		memcpy(at, &v, sizeof(v));
	else
		memcpy(at, &v32, sizeof(v32));
}

void daemon_stats_format(const struct ctl_daemon_stats *ds, struct buf *out)
{
	buf_printf(out, "pin_dir %s\n", ds->pin_dir);
	for (size_t k = 0; k < N_DAEMON_KEYS; k++)
		buf_printf(out, "daemon %s %" PRIu64 "\n", daemon_keys[k].key,
			   daemon_key_get(ds, k));
	for (uint32_t id = 0; id < SLUICE_MAX_LISTS; id++)
		if (ds->list_bad[id])
			buf_printf(out, "list_bad %u %u\n", id, ds->list_bad[id]);
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

		unsigned id, n;

		if (sscanf(line, "list_bad %u %u", &id, &n) == 2) {
			if (id < SLUICE_MAX_LISTS)
				ds->list_bad[id] = n;
		} else if (sscanf(line, "pin_dir %4095s", val) == 1) {
			snprintf(ds->pin_dir, sizeof(ds->pin_dir), "%s", val);
		} else if (sscanf(line, "daemon %31s %4095s", key, val) == 2) {
			for (size_t k = 0; k < N_DAEMON_KEYS; k++)
				if (!strcmp(key, daemon_keys[k].key))
					daemon_key_set(ds, k, strtoull(val, NULL, 10));
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	ds->have = rc == 0;
	buf_free(&reply);
	return rc;
}
