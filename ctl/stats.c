// SPDX-License-Identifier: GPL-2.0
/* stats.c - read the per-CPU verdict counters and print them. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "sluice_maps.h"

struct counter_snapshot {
	struct sluice_counter slot[SLUICE_COUNTER_SLOTS];
	__u64 aux[SA_MAX];
	struct sluice_counter list[SLUICE_MAX_LISTS];
};

static int fd_lists = -1;

/* What a running daemon adds (reloads, runtime blocks); have = false when
 * none answers on the control socket, or it serves another pin dir. */
static struct ctl_daemon_stats daemon_st;

static void fetch_daemon(struct cli *c)
{
	if (daemon_stats_fetch(control_socket_path(c->socket), &daemon_st))
		return;
	if (c->pin_dir_set && strcmp(c->pin_dir, daemon_st.pin_dir))
		daemon_st.have = false;
	else
		c->pin_dir = daemon_st.pin_dir; /* the daemon knows where its maps are */
}

static int read_snapshot(int fd_counters, int fd_aux, struct counter_snapshot *s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter per_cpu[ncpu];
	__u64 per_cpu_aux[ncpu];

	memset(s, 0, sizeof(*s));
	for (__u32 i = 0; i < SLUICE_COUNTER_SLOTS; i++) {
		if (bpf_map_lookup_elem(fd_counters, &i, per_cpu))
			return -errno;
		for (int c = 0; c < ncpu; c++) {
			s->slot[i].packets += per_cpu[c].packets;
			s->slot[i].bytes += per_cpu[c].bytes;
		}
	}
	for (__u32 i = 0; i < SA_MAX; i++) {
		if (bpf_map_lookup_elem(fd_aux, &i, per_cpu_aux))
			return -errno;
		for (int c = 0; c < ncpu; c++)
			s->aux[i] += per_cpu_aux[c];
	}
	for (__u32 i = 0; fd_lists >= 0 && i < SLUICE_MAX_LISTS; i++) {
		if (bpf_map_lookup_elem(fd_lists, &i, per_cpu))
			return -errno;
		for (int c = 0; c < ncpu; c++) {
			s->list[i].packets += per_cpu[c].packets;
			s->list[i].bytes += per_cpu[c].bytes;
		}
	}
	return 0;
}

static void print_json(const struct counter_snapshot *s)
{
	const char *sep = "";

	printf("{\"counters\":[");
	for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++) {
		if (!s->slot[i].packets)
			continue;
		printf("%s{\"reason\":\"%s\",\"action\":\"%s\",\"packets\":%llu,\"bytes\":%llu}",
		       sep, sluice_reason_names[i / SLUICE_ACTION_MAX],
		       sluice_action_names[i % SLUICE_ACTION_MAX],
		       (unsigned long long)s->slot[i].packets, (unsigned long long)s->slot[i].bytes);
		sep = ",";
	}
	printf("],\"aux\":{");
	for (int i = 0; i < SA_MAX; i++)
		printf("%s\"%s\":%llu", i ? "," : "", sluice_aux_names[i],
		       (unsigned long long)s->aux[i]);
	printf("},\"lists\":[");
	sep = "";
	for (int i = 0; i < SLUICE_MAX_LISTS; i++) {
		if (!s->list[i].packets)
			continue;
		printf("%s{\"list_id\":%d,\"packets\":%llu,\"bytes\":%llu}", sep, i,
		       (unsigned long long)s->list[i].packets, (unsigned long long)s->list[i].bytes);
		sep = ",";
	}
	printf("]");
	if (daemon_st.have)
		printf(",\"daemon\":{\"reloads_ok\":%llu,\"reload_failures\":%llu,"
		       "\"runtime_blocks\":%llu,\"runtime_changes\":%llu,\"generation\":%u,"
		       "\"serial\":%u}",
		       (unsigned long long)daemon_st.reloads_ok,
		       (unsigned long long)daemon_st.reload_failures,
		       (unsigned long long)daemon_st.runtime_blocks,
		       (unsigned long long)daemon_st.runtime_changes, daemon_st.generation,
		       daemon_st.serial);
	if (daemon_st.have)
		printf(",\"auto_block\":{\"active\":%llu,\"added\":%llu,\"expired\":%llu,"
		       "\"capped\":%llu},\"flood\":{\"mode\":\"%s\",\"seconds_in_state\":%llu,"
		       "\"transitions\":%llu,\"syn_pps\":%llu}",
		       (unsigned long long)daemon_st.auto_active,
		       (unsigned long long)daemon_st.auto_added,
		       (unsigned long long)daemon_st.auto_expired,
		       (unsigned long long)daemon_st.auto_capped,
		       daemon_st.flood_mode ? "on" : "off",
		       (unsigned long long)daemon_st.flood_secs,
		       (unsigned long long)daemon_st.flood_transitions,
		       (unsigned long long)daemon_st.syn_pps);
	printf("}\n");
}

/* Human table; with prev, adds a packets-per-second column. */
static void print_table(const struct counter_snapshot *s, const struct counter_snapshot *prev,
			double secs)
{
	__u64 total = 0;

	printf("%-26s %-6s %14s %16s%s\n", "reason", "action", "packets", "bytes",
	       prev ? "        pkts/s" : "");
	for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++) {
		if (!s->slot[i].packets)
			continue;
		total += s->slot[i].packets;
		printf("%-26s %-6s %14llu %16llu", sluice_reason_names[i / SLUICE_ACTION_MAX],
		       sluice_action_names[i % SLUICE_ACTION_MAX],
		       (unsigned long long)s->slot[i].packets,
		       (unsigned long long)s->slot[i].bytes);
		if (prev)
			printf(" %13.0f", (double)(s->slot[i].packets - prev->slot[i].packets) / secs);
		printf("\n");
	}
	printf("%-26s %-6s %14llu\n", "total", "", (unsigned long long)total);
	for (int i = 0; i < SA_MAX; i++)
		if (s->aux[i])
			printf("%s: %llu\n", sluice_aux_names[i], (unsigned long long)s->aux[i]);
	for (int i = 0; i < SLUICE_MAX_LISTS; i++)
		if (s->list[i].packets)
			printf("list %-3d (blocked or allowed by its prefixes) %14llu %16llu\n", i,
			       (unsigned long long)s->list[i].packets,
			       (unsigned long long)s->list[i].bytes);
	if (daemon_st.have)
		printf("daemon: %llu reloads ok, %llu failed; %llu runtime blocks; generation %u, "
		       "serial %u\n",
		       (unsigned long long)daemon_st.reloads_ok,
		       (unsigned long long)daemon_st.reload_failures,
		       (unsigned long long)daemon_st.runtime_blocks, daemon_st.generation,
		       daemon_st.serial);
	if (daemon_st.have) {
		printf("auto-block: %llu active; %llu added, %llu expired, %llu capped\n",
		       (unsigned long long)daemon_st.auto_active,
		       (unsigned long long)daemon_st.auto_added,
		       (unsigned long long)daemon_st.auto_expired,
		       (unsigned long long)daemon_st.auto_capped);
		printf("flood mode: %s for %llu s, %llu transitions; %llu SYN/s\n",
		       daemon_st.flood_mode ? "ON" : "off",
		       (unsigned long long)daemon_st.flood_secs,
		       (unsigned long long)daemon_st.flood_transitions,
		       (unsigned long long)daemon_st.syn_pps);
	}
}

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

int cmd_stats(struct cli *c)
{
	bool json = false, watch = false;
	struct counter_snapshot now, prev;
	int fd_c, fd_a, rc;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--json"))
			json = true;
		else if (!strcmp(c->argv[i], "--watch"))
			watch = true;
		else
			return cli_err("stats: unknown argument %s (usage: sluice stats [--json] "
				       "[--watch])",
				       c->argv[i]);
	}
	fetch_daemon(c);
	fd_c = pins_open_map(c->pin_dir, "counters");
	if (fd_c < 0)
		return 1;
	fd_a = pins_open_map(c->pin_dir, "aux_counters");
	if (fd_a < 0)
		return 1;
	{
		char path[4200];

		snprintf(path, sizeof(path), "%s/list_counters", c->pin_dir);
		fd_lists = bpf_obj_get(path); /* older pins may lack it: then no list rows */
	}
	rc = read_snapshot(fd_c, fd_a, &now);
	if (rc)
		return cli_err("stats: reading counters: %s", strerror(-rc));
	if (!watch) {
		if (json)
			print_json(&now);
		else
			print_table(&now, NULL, 0);
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop_watch) {
		prev = now;
		sleep(1);
		fetch_daemon(c);
		if (read_snapshot(fd_c, fd_a, &now))
			break;
		if (json) {
			print_json(&now);
		} else {
			printf("\033[H\033[J");
			print_table(&now, &prev, 1.0);
		}
		fflush(stdout);
	}
	return 0;
}
