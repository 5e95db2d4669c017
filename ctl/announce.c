// SPDX-License-Identifier: GPL-2.0
/*
 * announce.c - which VIPs this node announces, and when (announce.h).
 *
 * The routing fabric is the cluster: every node with identical config
 * builds identical Maglev tables, so the upstream router's ECMP may send a
 * flow to any node that announces its VIP.  A node must therefore announce
 * only what it can serve right now, and withdraw before it stops serving.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "bird.h"
#include "daemon.h"

#define BACKOFF_MAX_S 10

static bool same_addr(const struct sluice_prefix *a, const struct sluice_prefix *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, 16);
}

/* The one place the announcement asks about backends: the effective state
 * (config, manual `sluice backend` states, health checks) as the health
 * code keeps it. */
bool announce_service_up(const struct daemon *d, size_t svc_idx)
{
	return daemon_service_healthy_backends(d, (uint32_t)svc_idx) > 0;
}

/* XDP is on every configured interface (asked from the kernel, not
 * remembered: someone may have detached it under us). */
static bool dataplane_attached(const struct daemon *d)
{
	if (!d->n_ifaces)
		return false;
	for (size_t i = 0; i < d->n_ifaces; i++) {
		struct bpf_xdp_query_opts q = {.sz = sizeof(q)};

		if (bpf_xdp_query(d->ifaces[i].ifindex, 0, &q) || !q.prog_id)
			return false;
	}
	return true;
}

/* The VIPs to announce now, sorted, each once (a VIP may carry several
 * services: it stays announced while any of them can serve). */
static size_t wanted(struct daemon *d, struct sluice_prefix **out)
{
	const struct lb_model *lb = &d->model.lb;
	struct sluice_prefix *v;
	size_t n = 0;

	*out = NULL;
	d->ann.attached = dataplane_attached(d);
	if (!d->ann.attached || !lb->n)
		return 0;
	v = calloc(lb->n, sizeof(*v));
	if (!v)
		return 0;
	for (size_t i = 0; i < lb->n; i++) {
		bool dup = false;

		if (!announce_service_up(d, i))
			continue;
		for (size_t k = 0; k < n && !dup; k++)
			dup = same_addr(&v[k], &lb->svcs[i].vip);
		if (dup)
			continue;
		v[n] = lb->svcs[i].vip;
		v[n].len = v[n].family == 4 ? 32 : 128;
		v[n].action = 0;
		v[n].list_id = 0;
		n++;
	}
	qsort(v, n, sizeof(*v), prefix_cmp);
	*out = v;
	return n;
}

static bool same_set(const struct sluice_prefix *a, size_t na, const struct sluice_prefix *b,
		     size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_addr(&a[i], &b[i]))
			return false;
	return true;
}

static void list_text(const struct sluice_prefix *v, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 1 < len; i++) {
		char a[64];
		int w;

		prefix_format(&v[i], a, sizeof(a));
		w = snprintf(buf + used, len - used, "%s%s", i ? " " : "", a);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (!n)
		snprintf(buf, len, "none");
}

/* Hand BIRD the set: the file, then the reconfigure.  On failure BIRD
 * keeps what it had (`have` stays), and the next try backs off. */
static int push(struct daemon *d, struct sluice_prefix *want, size_t n_want)
{
	struct announce *a = &d->ann;
	char err[512], before[512], after[512];
	int rc;

	rc = bird_write_include(a->cfg.include, want, n_want, err, sizeof(err));
	if (!rc)
		rc = bird_configure(a->cfg.socket, err, sizeof(err));
	if (rc) {
		bool first = a->last_error[0] == 0;

		a->push_failures++;
		a->synced = false;
		a->backoff_s = a->backoff_s ? a->backoff_s * 2 : 1;
		if (a->backoff_s > BACKOFF_MAX_S)
			a->backoff_s = BACKOFF_MAX_S;
		a->next_try_ns = boot_ns() + (uint64_t)a->backoff_s * 1000000000ull;
		/* log the first failure of a streak, and then every 30th */
		if (first || strcmp(a->last_error, err) || a->push_failures % 30 == 0)
			dlog("bgp: handing BIRD the VIPs failed (%llu failures so far; retrying in "
			     "%us): %s",
			     (unsigned long long)a->push_failures, a->backoff_s, err);
		snprintf(a->last_error, sizeof(a->last_error), "%s", err);
		a->last_error_at = time(NULL);
		free(want);
		return -1;
	}
	list_text(a->have, a->n_have, before, sizeof(before));
	list_text(want, n_want, after, sizeof(after));
	if (!a->synced && a->last_error[0])
		dlog("bgp: BIRD reachable again (%s)", err);
	if (!same_set(a->have, a->n_have, want, n_want) || !a->pushes_ok)
		dlog("bgp: announcing %s (was %s; BIRD: %s)", after, before, err);
	snprintf(a->last_reply, sizeof(a->last_reply), "%.100s", err);
	a->last_error[0] = 0;
	if (!same_set(a->have, a->n_have, want, n_want))
		a->last_change = time(NULL);
	free(a->have);
	a->have = want;
	a->n_have = n_want;
	a->synced = true;
	a->backoff_s = 0;
	a->pushes_ok++;
	return 0;
}

void announce_tick(struct daemon *d)
{
	struct announce *a = &d->ann;
	struct sluice_prefix *want;
	uint64_t ticks;
	size_t n;

	if (a->timer_fd < 0)
		return;
	while (read(a->timer_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		;
	n = wanted(d, &want);
	if (a->synced && same_set(a->have, a->n_have, want, n)) {
		free(want);
		return;
	}
	if (!a->synced && a->next_try_ns && boot_ns() < a->next_try_ns) {
		free(want);
		return;
	}
	push(d, want, n);
}

int announce_open(struct daemon *d, int epfd)
{
	struct announce *a = &d->ann;
	struct itimerspec its = {.it_interval = {.tv_sec = 1}, .it_value = {.tv_sec = 1}};
	struct epoll_event ev = {.events = EPOLLIN};

	a->timer_fd = -1;
	a->cfg = d->model.bgp;
	if (!a->cfg.enabled)
		return 0;
	a->timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->timer_fd < 0 || timerfd_settime(a->timer_fd, 0, &its, NULL))
		return -1;
	ev.data.fd = a->timer_fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, a->timer_fd, &ev))
		return -1;
	dlog("bgp: VIPs go to %s, BIRD at %s; drain %u ms on stop", a->cfg.include, a->cfg.socket,
	     a->cfg.drain_ms);
	announce_tick(d);
	return 0;
}

void announce_withdraw_all(struct daemon *d, const char *why)
{
	struct announce *a = &d->ann;
	struct timespec ts;
	int tries = 0;

	if (!a->cfg.enabled || a->timer_fd < 0)
		return;
	/* Withdraw even if BIRD was never handed anything by us: a previous
	 * daemon's file may still list VIPs. */
	while (push(d, NULL, 0) && ++tries < 3)
		usleep(200 * 1000);
	if (tries == 3) {
		dlog("bgp: %s: could not withdraw the VIPs (%s); stopping anyway", why,
		     a->last_error);
		return;
	}
	dlog("bgp: %s: VIPs withdrawn; waiting %u ms (bgp.drain) for the router to move the "
	     "flows",
	     why, a->cfg.drain_ms);
	ts.tv_sec = a->cfg.drain_ms / 1000;
	ts.tv_nsec = (long)(a->cfg.drain_ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void announce_close(struct daemon *d)
{
	if (d->ann.timer_fd >= 0)
		close(d->ann.timer_fd);
	d->ann.timer_fd = -1;
	free(d->ann.have);
	d->ann.have = NULL;
	d->ann.n_have = 0;
}

/* ---- reports ---------------------------------------------------------- */

static bool is_announced(const struct announce *a, const struct sluice_prefix *vip)
{
	for (size_t i = 0; i < a->n_have; i++)
		if (same_addr(&a->have[i], vip))
			return true;
	return false;
}

static void addr_text(const struct sluice_prefix *p, char *buf, size_t len)
{
	struct sluice_prefix h = *p;

	h.len = h.family == 4 ? 32 : 128;
	prefix_format(&h, buf, len);
	char *slash = strchr(buf, '/');

	if (slash)
		*slash = 0;
}

void announce_status(const struct daemon *d, struct buf *out)
{
	const struct announce *a = &d->ann;
	const struct lb_model *lb = &d->model.lb;

	if (!a->cfg.enabled) {
		buf_printf(out, "bgp:           off (no bgp section in the config)\n");
		return;
	}
	buf_printf(out, "bgp:           BIRD at %s, include %s, drain %u ms\n", a->cfg.socket,
		   a->cfg.include, a->cfg.drain_ms);
	buf_printf(out, "               %s; %llu hand-overs ok, %llu failed%s%s\n",
		   a->synced ? "in sync with BIRD" : "NOT in sync with BIRD (retrying)",
		   (unsigned long long)a->pushes_ok, (unsigned long long)a->push_failures,
		   a->last_error[0] ? "; last error: " : "", a->last_error);
	for (size_t i = 0; i < lb->n; i++) {
		char vip[64];
		bool up = announce_service_up(d, i);
		bool ann = is_announced(a, &lb->svcs[i].vip);

		addr_text(&lb->svcs[i].vip, vip, sizeof(vip));
		buf_printf(out, "  %-40s %-10s %s (service %s: %s)\n", vip,
			   ann ? "announced" : "withdrawn",
			   ann		  ? "serving"
			   : !a->attached ? "data path not attached"
			   : up		  ? "waiting for BIRD"
					  : "no backend up",
			   lb->svcs[i].name, up ? "has a backend up" : "no backend up");
	}
}

void announce_status_json(const struct daemon *d, struct buf *out)
{
	const struct announce *a = &d->ann;
	const struct lb_model *lb = &d->model.lb;

	if (!a->cfg.enabled) {
		buf_printf(out, "\"bgp\": {\"enabled\": false}");
		return;
	}
	buf_printf(out, "\"bgp\": {\"enabled\": true, \"socket\": ");
	buf_json_str(out, a->cfg.socket);
	buf_printf(out, ", \"include\": ");
	buf_json_str(out, a->cfg.include);
	buf_printf(out,
		   ", \"drain_ms\": %u, \"in_sync\": %s, \"attached\": %s, \"pushes_ok\": %llu, "
		   "\"push_failures\": %llu, \"last_change\": %lld, \"vips\": [",
		   a->cfg.drain_ms, a->synced ? "true" : "false", a->attached ? "true" : "false",
		   (unsigned long long)a->pushes_ok, (unsigned long long)a->push_failures,
		   (long long)a->last_change);
	for (size_t i = 0; i < lb->n; i++) {
		char vip[64];

		addr_text(&lb->svcs[i].vip, vip, sizeof(vip));
		buf_printf(out,
			   "%s{\"vip\": \"%s\", \"service\": \"%s\", \"announced\": %s, "
			   "\"backend_up\": %s}",
			   i ? ", " : "", vip, lb->svcs[i].name,
			   is_announced(a, &lb->svcs[i].vip) ? "true" : "false",
			   announce_service_up(d, i) ? "true" : "false");
	}
	buf_printf(out, "]}");
}

void announce_prom(const struct daemon *d, struct buf *out)
{
	const struct announce *a = &d->ann;
	const struct lb_model *lb = &d->model.lb;
	const struct prom_result handovers[] = {{"ok", a->pushes_ok}, {"failed", a->push_failures}};

	if (!a->cfg.enabled)
		return;
	prom_help(out, "sluice_vip_announced", "gauge",
		  "1 while this node announces the VIP over BGP (through BIRD).");
	for (size_t i = 0; i < lb->n; i++) {
		char vip[64];
		bool dup = false;

		for (size_t k = 0; k < i && !dup; k++)
			dup = same_addr(&lb->svcs[k].vip, &lb->svcs[i].vip);
		if (dup)
			continue;
		addr_text(&lb->svcs[i].vip, vip, sizeof(vip));
		buf_printf(out, "sluice_vip_announced{vip=\"%s\"} %d\n", vip,
			   is_announced(a, &lb->svcs[i].vip));
	}
	prom_results(out, "sluice_bgp_handovers_total",
		     "VIP sets handed to BIRD (include file + configure), by result.", handovers,
		     2);
	prom_help(out, "sluice_bgp_in_sync", "gauge",
		  "1 if BIRD has the VIP set this node wants.");
	buf_printf(out, "sluice_bgp_in_sync %d\n",
		   a->synced);
}
