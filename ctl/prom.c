// SPDX-License-Identifier: GPL-2.0
/*
 * prom.c - the Prometheus endpoint: GET /metrics on stats.listen (loopback
 * only, as the config check insists: there is no authentication), text
 * exposition format 0.0.4.  Served from the event loop, one short
 * connection at a time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "observe.h"
#include "pod_info.h"

int prom_listen(const char *listen_on, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	char host[64];
	const char *colon = strrchr(listen_on, ':');
	socklen_t slen;
	int fd, one = 1, port;

	if (!colon) {
		snprintf(err, errlen, "stats.listen '%s' is not ADDRESS:PORT", listen_on);
		return -EINVAL;
	}
	port = atoi(colon + 1);
	if (listen_on[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		snprintf(host, sizeof(host), "%.*s", (int)(colon - listen_on - 2), listen_on + 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		slen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		snprintf(host, sizeof(host), "%.*s", (int)(colon - listen_on), listen_on);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		slen = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, slen) || listen(fd, 16)) {
		snprintf(err, errlen, "cannot listen on %s for metrics: %s%s", listen_on,
			 strerror(errno),
			 errno == EADDRNOTAVAIL ? " (is the loopback interface up in this network "
						  "namespace?)"
						: "");
		close(fd);
		return -errno;
	}
	return fd;
bad:
	snprintf(err, errlen, "stats.listen '%s': bad address", listen_on);
	return -EINVAL;
}

/* ---- rendering ----------------------------------------------------------- */

void prom_help(struct buf *o, const char *name, const char *type, const char *text)
{
	buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

void prom_results(struct buf *o, const char *name, const char *text, const struct prom_result *r,
		  size_t n)
{
	prom_help(o, name, "counter", text);
	for (size_t i = 0; i < n; i++)
		buf_printf(o, "%s{result=\"%s\"} %llu\n", name, r[i].result, r[i].n);
}

static int lb_counter(int fd, uint32_t id, struct sluice_lb_counter *sum)
{
	uint64_t f[3];
	int rc = obs_percpu_sum(fd, &id, sizeof(*sum), f, 3);

	sum->packets = f[0];
	sum->bytes = f[1];
	sum->new_flows = f[2];
	return rc;
}

/* One line per (reason, action) that saw packets, and always the two a
 * dashboard keys on (passed, blocklist-dropped), so they exist from 0. */
static void render_slots(struct buf *o, const struct ctl_snapshot *s, const char *name, bool bytes)
{
	for (int i = 0; i < SLUICE_COUNTER_SLOTS; i++) {
		int r = i / SLUICE_ACTION_MAX, a = i % SLUICE_ACTION_MAX;
		bool baseline = (r == SR_PASS && a == 2) || (r == SR_BLOCKLIST && a == 1);
		uint64_t v = bytes ? s->slot[i].bytes : s->slot[i].packets;

		if (s->slot[i].packets || baseline)
			buf_printf(o, "%s{reason=\"%s\",action=\"%s\"} %llu\n", name,
				   sluice_reason_names[r], sluice_action_names[a],
				   (unsigned long long)v);
	}
}

static void render_counters(const struct daemon *d, struct buf *o)
{
	struct ctl_snapshot s;

	if (counters_read(d->fd_counters, d->fd_aux, &s))
		return;
	prom_help(o, "sluice_packets_total", "counter",
	     "Packets the XDP program saw, by the reason that decided their fate and the XDP "
	     "action they got.");
	render_slots(o, &s, "sluice_packets_total", false);
	prom_help(o, "sluice_bytes_total", "counter", "Bytes of those packets (Ethernet header on).");
	render_slots(o, &s, "sluice_bytes_total", true);
	prom_help(o, "sluice_events_total", "counter",
	     "Things that happened to packets besides "
	     "their verdict.");
	for (int i = 0; i < SA_MAX; i++)
		buf_printf(o, "sluice_events_total{event=\"%s\"} %llu\n", sluice_aux_names[i],
			   (unsigned long long)s.aux[i]);
}

static void render_lists(const struct daemon *d, struct buf *o)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter *v;

	if (d->fd_lists < 0 || ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	prom_help(o, "sluice_list_packets_total", "counter",
	     "Packets dropped (blocklists) or let through (allowlists) because of a prefix of "
	     "that list: the list of the longest matching prefix.");
	for (int w = 0; w < 2; w++) {
		if (w == 1)
			prom_help(o, "sluice_list_bytes_total", "counter", "Bytes of those packets.");
		for (uint32_t id = 0; id < SLUICE_MAX_LISTS; id++) {
			uint64_t packets = 0, bytes = 0;
			char src[PATH_MAX + 32], esc[2 * PATH_MAX];

			if (bpf_map_lookup_elem(d->fd_lists, &id, v))
				continue;
			for (int c = 0; c < ncpu; c++) {
				packets += v[c].packets;
				bytes += v[c].bytes;
			}
			if (!packets)
				continue;
			obs_list_source(d, id, src, sizeof(src));
			obs_label(src, esc, sizeof(esc));
			buf_printf(o, "sluice_list_%s_total{list_id=\"%u\",source=\"%s\"} %llu\n",
				   w ? "bytes" : "packets", id, esc,
				   (unsigned long long)(w ? bytes : packets));
		}
	}
	free(v);
}

/* on_error = "warn" list files: lines skipped at the last (re)load. */
static void render_list_bad_lines(const struct daemon *d, struct buf *o)
{
	prom_help(o, "sluice_list_bad_lines", "gauge",
	     "Bad lines skipped in a list file with on_error = \"warn\" (last load).");
	for (size_t i = 0; i < d->model.n_list_sources; i++) {
		const struct list_source_cfg *s = &d->model.list_sources[i];
		char src[PATH_MAX + 32], esc[2 * PATH_MAX];

		if (!s->warn)
			continue;
		obs_list_source(d, s->id, src, sizeof(src));
		obs_label(src, esc, sizeof(esc));
		buf_printf(o, "sluice_list_bad_lines{list_id=\"%u\",source=\"%s\"} %u\n", s->id,
			   esc, s->bad.n);
	}
}

static const char *proto_name(uint8_t p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : "other";
}

static void render_services(const struct daemon *d, struct buf *o)
{
	static const char *const what[] = {"packets", "bytes", "new_flows"};
	static const char *const states[] = {"active", "draining", "down"};
	const struct lb_model *m = &d->model.lb;
	struct lb_model eff;

	if (!m->n)
		return;
	for (int w = 0; w < 3; w++) {
		char name[64];

		snprintf(name, sizeof(name), "sluice_service_%s_total", what[w]);
		prom_help(o, name, "counter",
		     w == 2 ? "New flows to the service (connection table "
			      "entries made)."
			    : "Load-balanced traffic to the service.");
		for (size_t i = 0; i < m->n; i++) {
			const struct lb_service_cfg *s = &m->svcs[i];
			struct sluice_lb_counter c;
			uint32_t id = obs_service_id(d, s);
			char vip[64];

			if (!id || lb_counter(d->fd_svc_stats, id, &c))
				continue;
			inet_ntop(s->vip.family == 4 ? AF_INET : AF_INET6, s->vip.addr, vip,
				  sizeof(vip));
			buf_printf(
			    o, "%s{service=\"%s\",vip=\"%s\",port=\"%u\",protocol=\"%s\"} %llu\n",
			    name, s->name, vip, s->port, proto_name(s->proto),
			    (unsigned long long)(w == 0	  ? c.packets
						 : w == 1 ? c.bytes
							  : c.new_flows));
		}
	}
	/* backends are counted per backend (address, port), over all services */
	for (int w = 0; w < 3; w++) {
		char name[64];

		snprintf(name, sizeof(name), "sluice_backend_%s_total", what[w]);
		prom_help(o, name, "counter",
		     w == 2 ? "New flows sent to the backend (all services)."
			    : "Load-balanced traffic sent to the backend (all services).");
		for (size_t i = 0; i < m->n; i++)
			for (size_t b = 0; b < m->svcs[i].n_backends; b++) {
				const struct lb_backend_cfg *be = &m->svcs[i].backends[b];
				struct sluice_lb_counter c;
				bool first = true;
				uint32_t id;
				char txt[96];

				/* once per backend: skip it if an earlier service had it */
				for (size_t k = 0; k < i && first; k++)
					for (size_t j = 0; j < m->svcs[k].n_backends && first; j++)
						first = !(prefix_same(&m->svcs[k].backends[j].addr,
								      &be->addr) &&
							  m->svcs[k].backends[j].port == be->port);
				id = first ? obs_backend_id(d, be) : 0;
				if (!id || lb_counter(d->fd_be_stats, id, &c))
					continue;
				addr_port_format(&be->addr, be->port, txt, sizeof(txt));
				buf_printf(o, "%s{backend=\"%s\"} %llu\n", name, txt,
					   (unsigned long long)(w == 0	 ? c.packets
								: w == 1 ? c.bytes
									 : c.new_flows));
			}
	}
	if (overrides_effective(d, m, &eff))
		return;
	prom_help(o, "sluice_backend_state", "gauge",
	     "1 for the state the backend is in, in that service (manual: set with sluice "
	     "backend).");
	for (size_t i = 0; i < eff.n; i++)
		for (size_t b = 0; b < eff.svcs[i].n_backends; b++) {
			const struct lb_backend_cfg *be = &eff.svcs[i].backends[b];
			char txt[96];

			addr_port_format(&be->addr, be->port, txt, sizeof(txt));
			for (int st = 0; st < 3; st++)
				buf_printf(o,
					   "sluice_backend_state{service=\"%s\",backend=\"%s\","
					   "state=\"%s\","
					   "manual=\"%s\"} %d\n",
					   eff.svcs[i].name, txt, states[st],
					   backend_is_manual(d, eff.svcs[i].name, be) ? "yes" : "no",
					   be->state == st);
		}
	lb_model_free(&eff);
}

static void render_tc(const struct daemon *d, struct buf *o)
{
	static const char *const what[] = {"packets", "bytes"};

	if (d->fd_tc < 0)
		return;
	for (int w = 0; w < 2; w++) {
		char name[64];

		snprintf(name, sizeof(name), "sluice_tc_%s_total", what[w]);
		prom_help(o, name, "counter",
		     w ? "Bytes of those packets."
		       : "Packets the TC programs judged (uplink tag and pod decisions, pod "
			 "veths), by reason.");
		for (uint32_t r = 0; r < STR_REASON_MAX; r++) {
			uint64_t f[2];

			if (obs_percpu_sum(d->fd_tc, &r, sizeof(struct sluice_counter), f, 2) == 0)
				buf_printf(o, "%s{reason=\"%s\"} %llu\n", name,
					   sluice_tc_reason_names[r], (unsigned long long)f[w]);
		}
	}
}

/* A pod's two lines of one metric: both directions. */
static void pod_directions(struct buf *o, const char *name, const char *pod, const char *dir0,
			   uint64_t v0, const char *dir1, uint64_t v1)
{
	buf_printf(o, "%s{pod=\"%s\",direction=\"%s\"} %llu\n", name, pod, dir0,
		   (unsigned long long)v0);
	buf_printf(o, "%s{pod=\"%s\",direction=\"%s\"} %llu\n", name, pod, dir1,
		   (unsigned long long)v1);
}

static void render_pods(const struct daemon *d, struct buf *o)
{
	struct obs_pod *p;
	size_t n;

	if (obs_pods(d, &p, &n) || !n) {
		free(p);
		return;
	}
	prom_help(o, "sluice_pod_packets_total", "counter",
	     "Packets to (rx) and from (tx, allowed by its egress policy) each pod.");
	for (size_t i = 0; i < n; i++)
		pod_directions(o, "sluice_pod_packets_total", p[i].name, "rx", p[i].rx_packets,
			       "tx", p[i].tx_packets);
	prom_help(o, "sluice_pod_bytes_total", "counter", "Bytes of those packets (Ethernet header on).");
	for (size_t i = 0; i < n; i++)
		pod_directions(o, "sluice_pod_bytes_total", p[i].name, "rx", p[i].rx_bytes, "tx",
			       p[i].tx_bytes);
	prom_help(o, "sluice_pod_denied_packets_total", "counter",
	     "Packets dropped by the pod's ingress or egress policy.");
	for (size_t i = 0; i < n; i++)
		pod_directions(o, "sluice_pod_denied_packets_total", p[i].name, "ingress",
			       p[i].ingress_denied, "egress", p[i].egress_denied);
	free(p);
	pods_render_info(d, o); /* labels: ctl/pod_info.c */
}

/* A read: the entries of cgroups that are gone are in this scrape, then
 * not again (docs/observability.md). */
static void render_workloads(struct daemon *d, struct buf *o)
{
	uint64_t ovf_p, ovf_b;
	struct wl_row *r;
	size_t n;

	if (d->wl.map_fd < 0 || workloads_read(&d->wl, &r, &n, &ovf_p, &ovf_b))
		return;
	for (int w = 0; w < 2; w++) {
		prom_help(o, w ? "sluice_workload_bytes_total" : "sluice_workload_packets_total",
		     "counter",
		     w ? "Bytes of those packets (Ethernet header on)."
		       : "The node's own packets out of its uplinks, by the workload (cgroup) "
			 "of the sending socket.");
		for (size_t i = 0; i < n; i++) {
			char esc[2 * WL_NAME_MAX + 8];

			obs_label(r[i].name, esc, sizeof(esc));
			buf_printf(o, "sluice_workload_%s_total{workload=\"%s\"} %llu\n",
				   w ? "bytes" : "packets", esc,
				   (unsigned long long)(w ? r[i].bytes : r[i].packets));
		}
	}
	prom_help(o, "sluice_workload_overflow_packets_total", "counter",
	     "Packets not attributed to a workload because the per-cgroup table was full.");
	buf_printf(o, "sluice_workload_overflow_packets_total %llu\n", (unsigned long long)ovf_p);
	prom_help(o, "sluice_workload_overflow_bytes_total", "counter", "Bytes of those packets.");
	buf_printf(o, "sluice_workload_overflow_bytes_total %llu\n", (unsigned long long)ovf_b);
	free(r);
}

static void render_event_stream(const struct daemon *d, struct buf *o)
{
	static const char *const res[SES_MAX] = {"sent", "sampled_out", "lost"};

	if (d->fd_ev_stats < 0)
		return;
	prom_help(o, "sluice_event_records_total", "counter",
	     "Sampled event records: sent to the ring buffer, skipped by 1-in-N or the "
	     "per-second cap, lost because the buffer was full.");
	for (uint32_t i = 0; i < SES_MAX; i++) {
		uint64_t v;

		if (obs_percpu_sum(d->fd_ev_stats, &i, sizeof(v), &v, 1) == 0)
			buf_printf(o, "sluice_event_records_total{result=\"%s\"} %llu\n", res[i],
				   (unsigned long long)v);
	}
	prom_help(o, "sluice_event_records_read_total", "counter",
	     "Event records the daemon read from the ring buffer.");
	buf_printf(o, "sluice_event_records_read_total %llu\n",
		   (unsigned long long)d->ev.received);
	prom_help(o, "sluice_event_subscribers", "gauge", "sluice events clients streaming now.");
	buf_printf(o, "sluice_event_subscribers %zu\n", d->ev.n_subs);
}

void prom_render(struct daemon *d, struct buf *o)
{
	const struct prom_result reloads[] = {{"ok", d->reloads_ok},
					      {"failed", d->reload_failures}};

	render_counters(d, o);
	render_lists(d, o);
	render_list_bad_lines(d, o);
	render_services(d, o);
	health_prom(d, o);
	render_tc(d, o);
	render_pods(d, o);
	render_workloads(d, o);
	render_event_stream(d, o);
	flood_prom(d, o);
	autoblock_prom(d, o);
	announce_prom(d, o);
	prom_results(o, "sluice_reloads_total",
		     "Config reloads (SIGHUP or sluice reload), by result; a failed one changed "
		     "nothing.",
		     reloads, 2);
	prom_help(o, "sluice_last_reload_success", "gauge",
	     "1 if the last reload succeeded (or none happened since start).");
	buf_printf(o, "sluice_last_reload_success %d\n", !d->last_reload || d->last_reload_ok);
	prom_help(o, "sluice_last_reload_timestamp_seconds", "gauge", "Wall clock of the last reload.");
	buf_printf(o, "sluice_last_reload_timestamp_seconds %lld\n", (long long)d->last_reload);
	prom_help(o, "sluice_generation", "gauge", "Active configuration generation (0 or 1).");
	buf_printf(o, "sluice_generation %u\n", d->dp.active);
	prom_help(o, "sluice_config_serial", "counter",
	     "Generation switches since the maps were created.");
	buf_printf(o, "sluice_config_serial %u\n", d->dp.serial);
	prom_help(o, "sluice_runtime_blocks", "gauge", "Prefixes blocked with sluice block add.");
	buf_printf(o, "sluice_runtime_blocks %zu\n", d->n_blocks);
	prom_help(o, "sluice_runtime_changes_total", "counter",
	     "Runtime changes (block add/del/expiry, backend state) since start.");
	buf_printf(o, "sluice_runtime_changes_total %llu\n",
		   (unsigned long long)d->runtime_changes);
	prom_help(o, "sluice_config_prefixes", "gauge", "Prefixes in the config's lists.");
	buf_printf(o, "sluice_config_prefixes{list=\"block\"} %zu\n", d->model.block.n);
	buf_printf(o, "sluice_config_prefixes{list=\"allow\"} %zu\n", d->model.allow.n);
	prom_help(o, "sluice_start_time_seconds", "gauge", "When this daemon started (wall clock).");
	buf_printf(o, "sluice_start_time_seconds %lld\n", (long long)d->started);
}

/* ---- HTTP ----------------------------------------------------------------- */

static void reply(int fd, const char *status, const char *ctype, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, ctype, len);

	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n)
		return;
	send_all(fd, body, len);
}

/* An HTTP request ends with a blank line. */
static bool has_blank_line(const char *buf, size_t len)
{
	(void)len;
	return strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n");
}

static void serve(struct daemon *d, int fd)
{
	struct timeval rcv = {.tv_sec = 1}, snd = {.tv_sec = 5};
	char req[4096];
	size_t len;

	/* short timeouts: the same loop serves reloads and the CLI */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
	len = recv_until(fd, req, sizeof(req) - 1, has_blank_line);
	if (!strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13)) {
		struct buf body = {0};

		prom_render(d, &body);
		if (body.oom)
			reply(fd, "500 Internal Server Error", "text/plain", "out of memory\n", 14);
		else
			reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
			      body.s ? body.s : "", body.len);
		buf_free(&body);
	} else if (!strncmp(req, "GET ", 4)) {
		reply(fd, "404 Not Found", "text/plain", "sluice: try /metrics\n", 21);
	} else if (len) {
		reply(fd, "405 Method Not Allowed", "text/plain", "sluice: GET /metrics\n", 21);
	}
}

void prom_accept(struct daemon *d)
{
	for (;;) {
		int fd = accept4(d->prom_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		serve(d, fd);
		close(fd);
	}
}
