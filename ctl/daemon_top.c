// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_top.c - the `top` request: one snapshot of every counter `sluice
 * top` shows, as plain lines (the client computes the rates from two
 * snapshots), and the workload lines of `sluice status`.  Both read the
 * per-cgroup counters: a gone cgroup's last numbers are in one of them.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "observe.h"

static void top_counters(const struct daemon *d, struct buf *out)
{
	struct ctl_snapshot s;

	if (counters_read(d->fd_counters, d->fd_aux, &s) == 0)
		for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++)
			if (s.slot[i].packets)
				buf_printf(out, "reason %d %llu %llu %s\n", i % SLUICE_ACTION_MAX,
					   (unsigned long long)s.slot[i].packets,
					   (unsigned long long)s.slot[i].bytes,
					   sluice_reason_names[i / SLUICE_ACTION_MAX]);
	for (uint32_t r = 0; d->fd_tc >= 0 && r < STR_REASON_MAX; r++) {
		uint64_t f[2];

		if (obs_percpu_sum(d->fd_tc, &r, sizeof(struct sluice_counter), f, 2) == 0 && f[0])
			buf_printf(out, "tc %llu %llu %s\n", (unsigned long long)f[0],
				   (unsigned long long)f[1], sluice_tc_reason_names[r]);
	}
	if (d->fd_ev_stats >= 0) {
		uint64_t v[SES_MAX];

		for (uint32_t i = 0; i < SES_MAX; i++)
			obs_percpu_sum(d->fd_ev_stats, &i, sizeof(uint64_t), &v[i], 1);
		buf_printf(out, "evstat %llu %llu %llu\n", (unsigned long long)v[SES_SENT],
			   (unsigned long long)v[SES_SAMPLED_OUT], (unsigned long long)v[SES_LOST]);
	}
	if (d->fd_ev_sampling >= 0) {
		struct sluice_sampling smp;
		uint32_t k = SR_BLOCKLIST;

		if (bpf_map_lookup_elem(d->fd_ev_sampling, &k, &smp) == 0)
			buf_printf(out, "sampling %u %u\n", smp.every, smp.cap_per_sec);
	}
}

static void top_lists(const struct daemon *d, struct buf *out)
{
	for (uint32_t id = 0; d->fd_lists >= 0 && id < SLUICE_MAX_LISTS; id++) {
		char src[PATH_MAX + 32];
		uint64_t f[2];

		if (obs_percpu_sum(d->fd_lists, &id, sizeof(struct sluice_counter), f, 2) || !f[0])
			continue;
		obs_list_source(d, id, src, sizeof(src));
		buf_printf(out, "list %u %llu %llu %s\n", id, (unsigned long long)f[0],
			   (unsigned long long)f[1], src);
	}
}

static void top_services(const struct daemon *d, struct buf *out)
{
	const struct lb_model *m = &d->model.lb;

	for (size_t i = 0; i < m->n; i++) {
		uint32_t id = obs_service_id(d, &m->svcs[i]);
		uint64_t f[3];

		if (id && obs_percpu_sum(d->fd_svc_stats, &id, sizeof(struct sluice_lb_counter), f,
					 3) == 0)
			buf_printf(out, "service %llu %llu %llu %s\n", (unsigned long long)f[0],
				   (unsigned long long)f[1], (unsigned long long)f[2],
				   m->svcs[i].name);
	}
	/* a backend is counted once, over all its services (as the metrics) */
	for (size_t i = 0; i < m->n; i++)
		for (size_t b = 0; b < m->svcs[i].n_backends; b++) {
			const struct lb_backend_cfg *be = &m->svcs[i].backends[b];
			bool first = true;
			char txt[96];
			uint32_t id;
			uint64_t f[3];

			for (size_t k = 0; k < i && first; k++)
				for (size_t j = 0; j < m->svcs[k].n_backends && first; j++)
					first = !(
					    prefix_same(&m->svcs[k].backends[j].addr, &be->addr) &&
					    m->svcs[k].backends[j].port == be->port);
			for (size_t j = 0; j < b && first; j++)
				first = !(prefix_same(&m->svcs[i].backends[j].addr, &be->addr) &&
					  m->svcs[i].backends[j].port == be->port);
			id = first ? obs_backend_id(d, be) : 0;
			if (!id || obs_percpu_sum(d->fd_be_stats, &id,
						  sizeof(struct sluice_lb_counter), f, 3))
				continue;
			addr_port_format(&be->addr, be->port, txt, sizeof(txt));
			buf_printf(out, "backend %llu %llu %llu %s\n", (unsigned long long)f[0],
				   (unsigned long long)f[1], (unsigned long long)f[2], txt);
		}
}

static void top_pods(const struct daemon *d, struct buf *out)
{
	struct obs_pod *p;
	size_t n;

	if (obs_pods(d, &p, &n))
		return;
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "pod %llu %llu %llu %llu %llu %llu %s\n",
			   (unsigned long long)p[i].rx_packets, (unsigned long long)p[i].rx_bytes,
			   (unsigned long long)p[i].tx_packets, (unsigned long long)p[i].tx_bytes,
			   (unsigned long long)p[i].ingress_denied,
			   (unsigned long long)p[i].egress_denied, p[i].name);
	free(p);
}

static void top_workloads(struct daemon *d, struct buf *out)
{
	uint64_t op, ob;
	struct wl_row *r;
	size_t n;

	if (d->wl.map_fd < 0 || workloads_read(&d->wl, &r, &n, &op, &ob))
		return;
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "workload %llu %llu %u %d %s\n", (unsigned long long)r[i].packets,
			   (unsigned long long)r[i].bytes, r[i].cgroups, r[i].gone, r[i].name);
	buf_printf(out, "workload_overflow %llu %llu\n", (unsigned long long)op,
		   (unsigned long long)ob);
	free(r);
}

void top_snapshot(struct daemon *d, struct buf *out)
{
	buf_printf(out, "daemon %d %lld %u %u %d %s\n", (int)getpid(),
		   (long long)(time(NULL) - d->started), d->dp.active, d->dp.serial,
		   libbpf_num_possible_cpus(), d->conf_path);
	top_counters(d, out);
	evstream_report(d, out);
	top_lists(d, out);
	top_services(d, out);
	top_pods(d, out);
	top_workloads(d, out);
}

void workloads_status(struct daemon *d, struct buf *out)
{
	uint64_t op, ob;
	struct wl_row *r;
	size_t n, shown = 0;

	if (d->wl.map_fd < 0)
		return;
	if (workloads_read(&d->wl, &r, &n, &op, &ob)) {
		buf_printf(out, "workloads:     (reading the per-cgroup counters failed)\n");
		return;
	}
	buf_printf(out,
		   "workloads:     the node's own traffic out of the uplinks, by cgroup (%s%s)\n",
		   d->wl.root[0] ? "cgroup2 at " : "no cgroup2 mount: ids only", d->wl.root);
	if (!n)
		buf_printf(out, "  (nothing counted)\n");
	for (size_t i = 0; i < n; i++) {
		if (shown++ == 20) {
			buf_printf(out,
				   "  ... and %zu more (sluice top, or the metrics, show all)\n",
				   n - 20);
			break;
		}
		buf_printf(out, "  %-40s %10llu packets %14llu bytes%s\n", r[i].name,
			   (unsigned long long)r[i].packets, (unsigned long long)r[i].bytes,
			   r[i].gone ? "  (gone: last report)" : "");
	}
	if (op)
		buf_printf(out, "  (table full: %llu packets not attributed)\n",
			   (unsigned long long)op);
	free(r);
}
