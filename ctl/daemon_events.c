// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_events.c - the daemon reads the sampled event stream (evstream.h):
 * every record updates the table of busiest dropped sources, and goes to
 * each `sluice events` client whose filters it passes.  A client that
 * reads too slowly loses lines (counted, and told so), never the daemon's
 * time: the loop serves reloads and the data path's control too.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "event_fmt.h"
#include "observe.h"

#define WINDOW_NS ((uint64_t)EV_WINDOW_SECS * 1000000000ull)

/* ---- the busiest dropped sources ------------------------------------------ */

/* Sliding-window count, x1000: this window's events plus the share of the
 * last window's that the sliding window still covers. */
static uint64_t score(const struct ev_source *s, uint64_t now)
{
	uint64_t win = now / WINDOW_NS, frac = (now % WINDOW_NS) * 1000 / WINDOW_NS;
	uint64_t cur = s->cur, prev = s->prev;

	if (s->win != win) {
		prev = s->win + 1 == win ? cur : 0;
		cur = 0;
	}
	return cur * 1000 + prev * (1000 - frac);
}

static void track_source(struct evstream *ev, const struct sluice_event *e)
{
	struct ev_source *s = NULL;
	uint64_t win = e->ts_ns / WINDOW_NS;

	for (size_t i = 0; i < ev->n_src && !s; i++)
		if (ev->src[i].family == e->family && !memcmp(ev->src[i].addr, e->saddr, 16))
			s = &ev->src[i];
	if (!s && ev->n_src < EV_SOURCES_MAX)
		s = &ev->src[ev->n_src++];
	if (!s) { /* full: the quietest source makes room */
		s = &ev->src[0];
		for (size_t i = 1; i < ev->n_src; i++)
			if (score(&ev->src[i], e->ts_ns) < score(s, e->ts_ns))
				s = &ev->src[i];
	}
	if (s->family != e->family || memcmp(s->addr, e->saddr, 16)) {
		memset(s, 0, sizeof(*s));
		s->family = e->family;
		memcpy(s->addr, e->saddr, 16);
		s->win = win;
	}
	if (s->win != win) {
		s->prev = s->win + 1 == win ? s->cur : 0;
		s->cur = 0;
		s->win = win;
	}
	s->cur++;
	s->events++;
	s->reason = e->reason;
	s->list_id = e->list_id;
	s->last_ns = e->ts_ns;
}

/* ---- clients -------------------------------------------------------------------- */

static void drop_sub(struct daemon *d, size_t i)
{
	close(d->ev.subs[i].fd);
	d->ev.subs[i] = d->ev.subs[--d->ev.n_subs];
}

/* false: the client is gone, or its stream broke (a partial line) */
static bool send_line(struct ev_sub *s, const char *line, size_t len)
{
	ssize_t w;

	if (s->dropped) {
		char note[96];
		int n = s->json ? snprintf(note, sizeof(note),
					   "{\"type\":\"dropped\",\"events\":%llu}\n",
					   (unsigned long long)s->dropped)
				: snprintf(note, sizeof(note),
					   "# %llu events dropped: this reader was too slow\n",
					   (unsigned long long)s->dropped);

		w = send(s->fd, note, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->dropped++;
			return true;
		}
		if (w != n)
			return false;
		s->dropped = 0;
	}
	w = send(s->fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		s->dropped++;
		return true;
	}
	return w == (ssize_t)len;
}

static bool same_addr(const struct sluice_prefix *a, const struct sluice_event *e, const uint8_t *x)
{
	return a->family == e->family && !memcmp(a->addr, x, e->family == 4 ? 4 : 16);
}

/* A pod's event: its policy denial, or one to or from its addresses. */
static bool pod_match(const struct daemon *d, const struct ev_sub *s, const struct sluice_event *e)
{
	if (s->pod_id && e->pod == s->pod_id)
		return true;
	for (size_t i = 0; e->family && i < d->model.n_pods; i++) {
		const struct pod_cfg *p = &d->model.pods[i];

		if (strcmp(p->name, s->pod))
			continue;
		for (size_t a = 0; a < p->addrs.n; a++)
			if (same_addr(&p->addrs.v[a], e, e->saddr) ||
			    same_addr(&p->addrs.v[a], e, e->daddr))
				return true;
	}
	return false;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	const struct sluice_event *e = data;
	char text[1024] = "", json[1024] = "", pod[64] = "", list[PATH_MAX + 32] = "";

	if (len < sizeof(*e))
		return 0;
	d->ev.received++;
	if (e->type == SE_DROP && e->family)
		track_source(&d->ev, e);
	if (!d->ev.n_subs)
		return 0;
	if (e->pod)
		obs_pod_name(d, e->pod, pod, sizeof(pod));
	if (e->type == SE_DROP && e->reason == SR_BLOCKLIST)
		obs_list_source(d, e->list_id, list, sizeof(list));
	for (size_t i = 0; i < d->ev.n_subs;) {
		struct ev_sub *s = &d->ev.subs[i];
		char *line = s->json ? json : text;

		if ((s->reason[0] && strcmp(s->reason, event_reason_name(e))) ||
		    (s->pod[0] && !pod_match(d, s, e))) {
			i++;
			continue;
		}
		if (!line[0])
			event_format(e, s->json, pod[0] ? pod : NULL, list[0] ? list : NULL, line,
				     s->json ? sizeof(json) : sizeof(text));
		if (send_line(s, line, strlen(line)))
			i++;
		else
			drop_sub(d, i);
	}
	return 0;
}

/* ---- set-up, the loop's hooks ------------------------------------------------------- */

int evstream_open(struct daemon *d)
{
	struct epoll_event ev = {.events = EPOLLIN};
	char path[PATH_MAX + 16];

	d->ev.rb_fd = -1;
	snprintf(path, sizeof(path), "%s/events", d->pin_dir);
	d->ev.map_fd = bpf_obj_get(path);
	if (d->ev.map_fd < 0) {
		dlog("warning: no event stream in %s: sluice events and top sources are off",
		     d->pin_dir);
		return 0;
	}
	d->ev.src = calloc(EV_SOURCES_MAX, sizeof(*d->ev.src));
	d->ev.rb = d->ev.src ? ring_buffer__new(d->ev.map_fd, on_record, d, NULL) : NULL;
	if (!d->ev.rb) {
		dlog("error: reading the event stream: %s", strerror(errno));
		return -1;
	}
	d->ev.rb_fd = ring_buffer__epoll_fd(d->ev.rb);
	ev.data.fd = d->ev.rb_fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->ev.rb_fd, &ev)) {
		dlog("error: epoll on the event stream: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void evstream_close(struct daemon *d)
{
	while (d->ev.n_subs)
		drop_sub(d, d->ev.n_subs - 1);
	if (d->ev.rb)
		ring_buffer__free(d->ev.rb);
	if (d->ev.map_fd >= 0)
		close(d->ev.map_fd);
	free(d->ev.src);
	d->ev.rb = NULL;
	d->ev.src = NULL;
	d->ev.map_fd = d->ev.rb_fd = -1;
}

void evstream_consume(struct daemon *d)
{
	if (d->ev.rb)
		ring_buffer__consume(d->ev.rb);
}

static bool known_reason(const char *r)
{
	for (int i = 0; i < SR_REASON_MAX; i++)
		if (!strcmp(r, sluice_reason_names[i]))
			return true;
	for (int i = 0; i < STR_REASON_MAX; i++)
		if (!strcmp(r, sluice_tc_reason_names[i]))
			return true;
	return false;
}

int evstream_subscribe(struct daemon *d, int fd, int argc, char **argv, struct buf *out)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
	struct ev_sub s = {.fd = fd};
	bool pod_known = false;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			s.json = true;
		} else if (!strcmp(argv[i], "--reason") && i + 1 < argc) {
			snprintf(s.reason, sizeof(s.reason), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "--pod") && i + 1 < argc) {
			snprintf(s.pod, sizeof(s.pod), "%s", argv[++i]);
		} else {
			buf_printf(out, "usage: sluice events [--json] [--reason R] [--pod P]\n");
			return -EINVAL;
		}
	}
	if (s.reason[0] && !known_reason(s.reason)) {
		buf_printf(out,
			   "no event reason named '%s' (sluice_maps.h lists them: blocklist, "
			   "pod_ingress_denied, ...)\n",
			   s.reason);
		return -EINVAL;
	}
	for (size_t i = 0; s.pod[0] && i < d->model.n_pods; i++)
		pod_known |= !strcmp(d->model.pods[i].name, s.pod);
	if (s.pod[0] && !pod_known) {
		buf_printf(out, "no pod named '%s' in %s\n", s.pod, d->conf_path);
		return -ENOENT;
	}
	if (!d->ev.rb) {
		buf_printf(out, "this daemon does not read an event stream (no events map in %s)\n",
			   d->pin_dir);
		return -ENODEV;
	}
	if (d->ev.n_subs == EV_SUBS_MAX) {
		buf_printf(out, "%d event clients stream already: no room for another\n",
			   EV_SUBS_MAX);
		return -EBUSY;
	}
	s.pod_id = s.pod[0] ? obs_pod_id(d, s.pod) : 0;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ||
	    send(fd, "ok\n", 3, MSG_DONTWAIT | MSG_NOSIGNAL) != 3) {
		buf_printf(out, "cannot stream to this client: %s\n", strerror(errno));
		return -EIO;
	}
	d->ev.subs[d->ev.n_subs++] = s;
	return 1;
}

bool evstream_hangup(struct daemon *d, int fd)
{
	for (size_t i = 0; i < d->ev.n_subs; i++) {
		char junk[256];
		ssize_t got;

		if (d->ev.subs[i].fd != fd)
			continue;
		/* clients send nothing after the request: anything is junk,
		 * and end of file (or an error) means they are gone */
		while ((got = recv(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
			;
		if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			drop_sub(d, i);
		return true;
	}
	return false;
}

/* ---- the `top` report ----------------------------------------------------------------- */

/* Which list the data path would judge a source by (the same lookups the
 * XDP program makes); ~0u: in none. */
static uint32_t list_of(const struct daemon *d, const struct ev_source *s)
{
	struct sluice_verdict v = {0};

	if (dp_source_verdict(&d->dp, s->family, s->addr, &v) != 1)
		return ~0u;
	return v.action == SLUICE_ACT_NONE ? ~0u : v.list_id;
}

struct ranked {
	const struct ev_source *s;
	struct sluice_prefix pfx; /* for prefix rows */
	uint64_t score, events;
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->events < y->events ? 1 : x->events > y->events ? -1 : 0;
}

void evstream_report(const struct daemon *d, struct buf *out)
{
	const struct evstream *ev = &d->ev;
	struct ranked *r, *p;
	size_t n = 0, np = 0;
	uint64_t now;

	buf_printf(out, "evstream %llu %zu\n", (unsigned long long)ev->received, ev->n_subs);
	if (!ev->n_src)
		return;
	now = mono_ns();
	r = calloc(ev->n_src, sizeof(*r));
	p = calloc(ev->n_src, sizeof(*p));
	for (size_t i = 0; r && p && i < ev->n_src; i++) {
		const struct ev_source *s = &ev->src[i];
		struct sluice_prefix pf = {.family = s->family, .len = s->family == 4 ? 24 : 48};
		size_t k;

		if (now > s->last_ns && now - s->last_ns > 6 * WINDOW_NS)
			continue; /* quiet for a minute: not "top" any more */
		r[n++] = (struct ranked){.s = s, .score = score(s, now), .events = s->events};
		memcpy(pf.addr, s->addr, 16);
		prefix_mask(pf.addr, pf.len);
		for (k = 0; k < np && !prefix_same(&p[k].pfx, &pf); k++)
			;
		if (k == np)
			p[np++] = (struct ranked){.pfx = pf};
		p[k].score += r[n - 1].score;
		p[k].events += s->events;
	}
	if (r && p) {
		qsort(r, n, sizeof(*r), by_score);
		qsort(p, np, sizeof(*p), by_score);
	}
	for (size_t i = 0; r && p && i < n && i < 10; i++) {
		const struct ev_source *s = r[i].s;
		/* a blocklist drop names its list itself (the attribution the
		 * per-list counters use); other drops: what the tables say now */
		uint32_t list = s->reason == SR_BLOCKLIST ? s->list_id : list_of(d, s);
		char addr[64], src[PATH_MAX + 32] = "-";
		struct sluice_event e = {.type = SE_DROP, .reason = s->reason};

		inet_ntop(s->family == 4 ? AF_INET : AF_INET6, s->addr, addr, sizeof(addr));
		if (list != ~0u)
			obs_list_source(d, list, src, sizeof(src));
		buf_printf(
		    out, "source %llu %llu %llu %u %s %s %s\n", (unsigned long long)s->events,
		    (unsigned long long)r[i].score,
		    (unsigned long long)(now > s->last_ns ? (now - s->last_ns) / 1000000 : 0), list,
		    addr, event_reason_name(&e), src);
	}
	for (size_t i = 0; r && p && i < np && i < 5; i++) {
		char txt[64];

		prefix_format(&p[i].pfx, txt, sizeof(txt));
		buf_printf(out, "prefix %llu %llu %s\n", (unsigned long long)p[i].events,
			   (unsigned long long)p[i].score, txt);
	}
	free(r);
	free(p);
}
