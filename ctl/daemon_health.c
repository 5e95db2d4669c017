// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_health.c - the health checker (health.c) inside the daemon: its
 * epoll is one descriptor of the loop, a change of view goes into the data
 * path through daemon_switch (the reload path: built in the inactive
 * generation, switched with one write), and its views are reported in
 * `sluice status` (text and --json) and on /metrics.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "daemon.h"

static const char *const state_names[] = {"active", "draining", "down"};

static const char *sname(uint8_t s)
{
	return s < 3 ? state_names[s] : "?";
}

int daemon_health_start(struct daemon *d)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int rc = health_open(&d->health);

	if (rc)
		return rc;
	ev.data.fd = d->health.epfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->health.epfd, &ev))
		return -1;
	rc = health_sync(&d->health, &d->model.lb);
	if (!rc && d->health.n)
		dlog("health: checking %zu backend%s", d->health.n, d->health.n == 1 ? "" : "s");
	return rc;
}

void daemon_health_stop(struct daemon *d)
{
	if (d->health.epfd >= 0)
		health_close(&d->health);
}

static void health_switch(struct daemon *d)
{
	char err[SLUICE_ERRLEN];

	if (daemon_switch(d, &d->model, SW_SERVICES, NULL, err, sizeof(err))) {
		/* the views stay; the next event tries again */
		d->health.dirty = true;
		dlog("health: switching the new backend states in failed: %s (will retry)", err);
		return;
	}
	d->health.dirty = false;
	dlog("health: backend states in force: generation %u, serial %u", d->dp.active,
	     d->dp.serial);
}

void daemon_health_event(struct daemon *d)
{
	if (health_run(&d->health) || d->health.dirty)
		health_switch(d);
}

void daemon_health_reload(struct daemon *d)
{
	/* The reload's switch already used the views of the backends that
	 * stay; new ones start up, which is what it assumed for them. */
	if (health_sync(&d->health, &d->model.lb))
		dlog("health: out of memory: the checks still follow the previous config");
}

int daemon_service_healthy_backends(const struct daemon *d, uint32_t svc_index)
{
	const struct lb_service_cfg *s;
	int n = 0;

	if (svc_index >= d->model.lb.n)
		return -1;
	s = &d->model.lb.svcs[svc_index];
	for (size_t b = 0; b < s->n_backends; b++)
		n += s->backends[b].weight > 0 &&
		     backend_effective_state(d, s, &s->backends[b]) == SLUICE_BE_ACTIVE;
	return n;
}

static void ago_text(time_t t, char *buf, size_t len)
{
	char dur[32];

	if (!t) {
		snprintf(buf, len, "never");
		return;
	}
	format_duration((uint64_t)(time(NULL) > t ? time(NULL) - t : 0), dur, sizeof(dur));
	snprintf(buf, len, "%s ago", dur);
}

static const char *view(const struct health_check *c)
{
	if (!c)
		return "unchecked";
	return c->up ? "up" : "down";
}

void health_status(const struct daemon *d, struct buf *out)
{
	const struct lb_model *m = &d->model.lb;

	if (!d->health.n)
		return;
	buf_printf(out, "health checks:\n");
	for (size_t i = 0; i < m->n; i++) {
		const struct lb_service_cfg *s = &m->svcs[i];
		int healthy = daemon_service_healthy_backends(d, (uint32_t)i);

		if (s->health.type == HC_NONE)
			continue;
		buf_printf(out,
			   "  %s: %s check every %ums (timeout %ums, rise %u, fall %u): %d of %zu "
			   "backend%s taking new flows%s\n",
			   s->name, s->health.type == HC_HTTP ? "http" : "tcp",
			   s->health.interval_ms, s->health.timeout_ms, s->health.rise,
			   s->health.fall, healthy, s->n_backends, s->n_backends == 1 ? "" : "s",
			   healthy == 0 ? " (NO HEALTHY BACKEND)" : "");
		buf_printf(out, "    %-28s %-7s %-9s %-14s %10s %10s  %s\n", "backend", "health",
			   "state", "last change", "checks ok", "failed", "last error");
		for (size_t b = 0; b < s->n_backends; b++) {
			const struct lb_backend_cfg *be = &s->backends[b];
			const struct health_check *c =
			    health_find(&d->health, s->name, &be->addr, be->port);
			uint8_t st = backend_effective_state(d, s, be);
			char txt[64], when[48];

			addr_port_format(&be->addr, be->port, txt, sizeof(txt));
			ago_text(c ? c->last_change : 0, when, sizeof(when));
			buf_printf(out, "    %-28s %-7s %-9s %-14s %10llu %10llu  %s\n", txt,
				   view(c), sname(st), when,
				   (unsigned long long)(c ? c->checks_ok : 0),
				   (unsigned long long)(c ? c->checks_failed : 0),
				   c && c->last_error[0] ? c->last_error : "-");
		}
	}
}

/* The "services" member of `sluice status --json` (control_fast.c writes the
 * object around it). */
void health_status_json(const struct daemon *d, struct buf *out)
{
	const struct lb_model *m = &d->model.lb;

	buf_printf(out, "\"services\":[");
	for (size_t i = 0; i < m->n; i++) {
		const struct lb_service_cfg *s = &m->svcs[i];

		buf_printf(out, "%s{\"name\":", i ? "," : "");
		buf_json_str(out, s->name);
		buf_printf(out, ",\"health_check\":\"%s\",\"healthy_backends\":%d,\"backends\":[",
			   s->health.type == HC_HTTP  ? "http"
			   : s->health.type == HC_TCP ? "tcp"
						      : "none",
			   daemon_service_healthy_backends(d, (uint32_t)i));
		for (size_t b = 0; b < s->n_backends; b++) {
			const struct lb_backend_cfg *be = &s->backends[b];
			const struct health_check *c =
			    health_find(&d->health, s->name, &be->addr, be->port);
			char txt[64];

			addr_port_format(&be->addr, be->port, txt, sizeof(txt));
			buf_printf(out,
				   "%s{\"backend\":\"%s\",\"config_state\":\"%s\",\"state\":\"%s\","
				   "\"health\":\"%s\",\"last_change\":%lld,\"checks_ok\":%llu,"
				   "\"checks_failed\":%llu,\"went_up\":%llu,\"went_down\":%llu,"
				   "\"last_error\":",
				   b ? "," : "", txt, sname(be->state),
				   sname(backend_effective_state(d, s, be)), view(c),
				   (long long)(c ? c->last_change : 0),
				   (unsigned long long)(c ? c->checks_ok : 0),
				   (unsigned long long)(c ? c->checks_failed : 0),
				   (unsigned long long)(c ? c->went_up : 0),
				   (unsigned long long)(c ? c->went_down : 0));
			buf_json_str(out, c ? c->last_error : "");
			buf_printf(out, "}");
		}
		buf_printf(out, "]}");
	}
	buf_printf(out, "]");
}

void health_prom(const struct daemon *d, struct buf *out)
{
	static const char *const results[] = {"ok", "failed"};
	static const char *const dirs[] = {"up", "down"};
	const struct health *h = &d->health;
	char txt[64];

	if (!h->n)
		return;
	prom_help(out, "sluice_backend_health", "gauge",
		  "1 while the service's health check says the backend is up, 0 while it says down.");
	for (size_t i = 0; i < h->n; i++) {
		addr_port_format(&h->v[i]->addr, h->v[i]->be_port, txt, sizeof(txt));
		buf_printf(out, "sluice_backend_health{service=\"%s\",backend=\"%s\"} %d\n",
			   h->v[i]->service, txt, h->v[i]->up);
	}
	prom_help(out, "sluice_backend_health_checks_total", "counter",
		  "Health checks run, by result.");
	for (size_t i = 0; i < h->n; i++) {
		addr_port_format(&h->v[i]->addr, h->v[i]->be_port, txt, sizeof(txt));
		for (int r = 0; r < 2; r++)
			buf_printf(
			    out,
			    "sluice_backend_health_checks_total{service=\"%s\",backend=\"%s\","
			    "result=\"%s\"} %llu\n",
			    h->v[i]->service, txt, results[r],
			    (unsigned long long)(r ? h->v[i]->checks_failed : h->v[i]->checks_ok));
	}
	prom_help(out, "sluice_backend_health_transitions_total", "counter",
		  "Changes of the health check's view, by the state it went to.");
	for (size_t i = 0; i < h->n; i++) {
		addr_port_format(&h->v[i]->addr, h->v[i]->be_port, txt, sizeof(txt));
		for (int r = 0; r < 2; r++)
			buf_printf(out,
				   "sluice_backend_health_transitions_total{service=\"%s\","
				   "backend=\"%s\",to=\"%s\"} %llu\n",
				   h->v[i]->service, txt, dirs[r],
				   (unsigned long long)(r ? h->v[i]->went_down : h->v[i]->went_up));
	}
}
