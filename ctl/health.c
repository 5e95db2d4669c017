// SPDX-License-Identifier: GPL-2.0
/*
 * health.c - the checker: one state machine per (service, backend), driven
 * by one epoll and one timerfd (health.h says why).  Per check:
 *
 *   idle --(next_ns)--> connecting --(writable)--> tcp: success
 *                                              \-> http: request sent,
 *   reading --(status line)--> success if it is `expect`, else failure
 *   any phase in flight --(deadline_ns)--> failure (timeout)
 *
 * The next check starts one interval after this one started, so a slow
 * backend is checked no more often than a fast one.  Sockets close with
 * SO_LINGER 0 (a reset, like haproxy): hundreds of backends checked every
 * second leave no TIME_WAIT behind on the node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "health.h"

static uint64_t rnd(struct health *h)
{
	/* xorshift64: spreading start times needs no better randomness */
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return h->rng;
}

int health_http_status(const char *buf, size_t len, int *code)
{
	static const char proto[] = "HTTP/";
	const char *nl = memchr(buf, '\n', len);
	size_t line = nl ? (size_t)(nl - buf) : len;
	size_t need = sizeof(proto) - 1 + 3 + 1 + 3; /* "HTTP/1.1 200" */

	/* judge what is there as soon as it cannot become valid */
	for (size_t i = 0; i < sizeof(proto) - 1 && i < line; i++)
		if (buf[i] != proto[i])
			return -1;
	if (line < need)
		return nl ? -1 : 0;
	if (buf[5] < '0' || buf[5] > '9' || buf[6] != '.' || buf[7] < '0' || buf[7] > '9' ||
	    buf[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
	/* the code ends the line or is followed by a space (reason phrase) */
	if (line > 12 && buf[12] != ' ' && buf[12] != '\r')
		return -1;
	if (line == 12 && !nl)
		return 0; /* the next byte decides */
	*code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (*code < 100)
		return -1;
	return 1;
}

static uint16_t check_port(const struct health_check *c)
{
	return c->cfg.port ? c->cfg.port : c->be_port;
}

static void cancel(struct health *h, struct health_check *c)
{
	if (c->fd >= 0) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
	}
	c->fd = -1;
	c->phase = HP_IDLE;
	c->rlen = 0;
}

/* One check's outcome (err: why it failed, NULL when it succeeded).
 * Returns true when the backend's view changed. */
static bool finish(struct health *h, struct health_check *c, const char *err)
{
	char ep[64];
	bool was = c->up;

	cancel(h, c);
	if (!err) {
		c->checks_ok++;
		c->run_ok++;
		c->run_failed = 0;
		if (!c->up && c->run_ok >= c->cfg.rise)
			c->up = true;
	} else {
		snprintf(c->last_error, sizeof(c->last_error), "%s", err);
		c->checks_failed++;
		c->run_failed++;
		c->run_ok = 0;
		if (c->up && c->run_failed >= c->cfg.fall)
			c->up = false;
	}
	if (c->up == was)
		return false;
	c->last_change = time(NULL);
	addr_port_format(&c->addr, c->be_port, ep, sizeof(ep));
	if (c->up) {
		c->went_up++;
		dlog("health: %s %s is up (%u successful %s check%s in a row)", c->service, ep,
		     c->run_ok, c->cfg.type == HC_HTTP ? "http" : "tcp", c->run_ok == 1 ? "" : "s");
	} else {
		c->went_down++;
		dlog("health: %s %s is down (%u failed %s check%s in a row, last: %s)", c->service,
		     ep, c->run_failed, c->cfg.type == HC_HTTP ? "http" : "tcp",
		     c->run_failed == 1 ? "" : "s", c->last_error);
	}
	return true;
}

static bool failf(struct health *h, struct health_check *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool failf(struct health *h, struct health_check *c, const char *fmt, ...)
{
	char err[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	return finish(h, c, err);
}

static bool start(struct health *h, struct health_check *c, uint64_t now)
{
	struct sockaddr_storage ss = {0};
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	socklen_t sl;
	int fd;

	c->next_ns = now + (uint64_t)c->cfg.interval_ms * 1000000ull;
	c->deadline_ns = now + (uint64_t)c->cfg.timeout_ms * 1000000ull;
	if (c->addr.family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(check_port(c));
		memcpy(&s4->sin_addr, c->addr.addr, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(check_port(c));
		memcpy(&s6->sin6_addr, c->addr.addr, 16);
		sl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return failf(h, c, "socket: %s", strerror(errno));
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS)
		return failf(h, c, "connect: %s", strerror(errno));
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev))
		return failf(h, c, "epoll: %s", strerror(errno));
	c->phase = HP_CONNECTING;
	return false;
}

static bool send_request(struct health *h, struct health_check *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	char req[HC_PATH_MAX + 256], host[64];
	ssize_t w;
	int n;

	addr_port_format(&c->addr, check_port(c), host, sizeof(host));
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: sluice-health\r\n"
		     "Connection: close\r\n\r\n",
		     c->cfg.path, host);
	/* a fresh socket's send buffer takes this whole */
	w = send(c->fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w != n)
		return failf(h, c, "sending the request: %s",
			     w < 0 ? strerror(errno) : "short write");
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		return failf(h, c, "epoll: %s", strerror(errno));
	c->phase = HP_READING;
	return false;
}

static bool on_status(struct health *h, struct health_check *c, int code)
{
	if (code == c->cfg.expect)
		return finish(h, c, NULL);
	return failf(h, c, "HTTP status %d, expected %u", code, c->cfg.expect);
}

static bool on_readable(struct health *h, struct health_check *c)
{
	size_t room = sizeof(c->rbuf) - 1 - c->rlen;
	ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, MSG_DONTWAIT);
	int code, rc;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n < 0)
		return failf(h, c, "reading the answer: %s", strerror(errno));
	c->rlen += (size_t)n;
	rc = health_http_status(c->rbuf, c->rlen, &code);
	if (rc > 0)
		return on_status(h, c, code);
	if (rc < 0)
		return failf(h, c, "the answer is not an HTTP status line");
	if (n == 0)
		return failf(h, c, "connection closed before a status line");
	if (c->rlen >= sizeof(c->rbuf) - 1)
		return failf(h, c, "no status line in the first %zu bytes", c->rlen);
	return false;
}

static bool on_event(struct health *h, struct health_check *c, uint32_t events)
{
	if (c->phase == HP_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
			return failf(h, c, "connect: %s", strerror(err ? err : errno));
		if (!(events & EPOLLOUT))
			/* hung up with no error to tell: level-triggered, so it
			 * must end here or the loop would spin until the timeout */
			return events & (EPOLLHUP | EPOLLERR)
				   ? failf(h, c, "connect: connection closed")
				   : false;
		if (c->cfg.type == HC_TCP)
			return finish(h, c, NULL);
		return send_request(h, c);
	}
	if (c->phase == HP_READING)
		return on_readable(h, c);
	return false;
}

static void arm(struct health *h)
{
	struct itimerspec its = {0};
	uint64_t first = 0;

	for (size_t i = 0; i < h->n; i++) {
		const struct health_check *c = h->v[i];
		uint64_t t = c->phase == HP_IDLE ? c->next_ns : c->deadline_ns;

		if (!first || t < first)
			first = t;
	}
	if (first) {
		its.it_value.tv_sec = (time_t)(first / 1000000000ull);
		its.it_value.tv_nsec = (long)(first % 1000000000ull);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(h->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

bool health_run(struct health *h)
{
	struct epoll_event evs[64];
	bool changed = false;
	uint64_t now;
	int n;

	n = epoll_wait(h->epfd, evs, 64, 0);
	for (int i = 0; i < n; i++) {
		if (!evs[i].data.ptr) {
			uint64_t ticks;

			if (read(h->timer_fd, &ticks, sizeof(ticks)) < 0)
				continue; /* EAGAIN: the scan below runs anyway */
			continue;
		}
		changed |= on_event(h, evs[i].data.ptr, evs[i].events);
	}
	now = mono_ns();
	for (size_t i = 0; i < h->n; i++) {
		struct health_check *c = h->v[i];

		if (c->phase != HP_IDLE && now >= c->deadline_ns)
			changed |= failf(h, c, "timeout after %ums %s", c->cfg.timeout_ms,
					 c->phase == HP_CONNECTING ? "connecting"
								   : "waiting for the status line");
		if (c->phase == HP_IDLE && now >= c->next_ns)
			changed |= start(h, c, now);
	}
	arm(h);
	return changed;
}

int health_open(struct health *h)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	h->v = NULL;
	h->n = 0;
	h->dirty = false;
	h->rng = mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->epfd < 0 || h->timer_fd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timer_fd, &ev))
		return -errno;
	return 0;
}

void health_close(struct health *h)
{
	for (size_t i = 0; i < h->n; i++) {
		cancel(h, h->v[i]);
		free(h->v[i]);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
	if (h->timer_fd >= 0)
		close(h->timer_fd);
	if (h->epfd >= 0)
		close(h->epfd);
	h->timer_fd = h->epfd = -1;
}

static bool same_cfg(const struct lb_health_cfg *a, const struct lb_health_cfg *b)
{
	return a->type == b->type && a->rise == b->rise && a->fall == b->fall &&
	       a->port == b->port && a->expect == b->expect && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && !strcmp(a->path, b->path);
}

static bool is(const struct health_check *c, const char *service, const struct sluice_prefix *a,
	       uint16_t port)
{
	return !strcmp(c->service, service) && c->addr.family == a->family &&
	       !memcmp(c->addr.addr, a->addr, 16) && c->be_port == port;
}

static uint64_t jitter(struct health *h, const struct lb_health_cfg *cfg)
{
	return rnd(h) % ((uint64_t)cfg->interval_ms * 1000000ull);
}

int health_sync(struct health *h, const struct lb_model *m)
{
	struct health_check **nv;
	bool *taken, *fresh;
	size_t want = 0, n = 0;
	uint64_t now = mono_ns();

	for (size_t s = 0; s < m->n; s++)
		if (m->svcs[s].health.type != HC_NONE)
			want += m->svcs[s].n_backends;
	nv = calloc(want ? want : 1, sizeof(*nv));
	fresh = calloc(want ? want : 1, sizeof(*fresh));
	taken = calloc(h->n ? h->n : 1, sizeof(*taken));
	if (!nv || !fresh || !taken)
		goto oom;
	for (size_t s = 0; s < m->n; s++) {
		const struct lb_service_cfg *sv = &m->svcs[s];

		if (sv->health.type == HC_NONE)
			continue;
		for (size_t b = 0; b < sv->n_backends; b++) {
			const struct lb_backend_cfg *be = &sv->backends[b];
			struct health_check *c = NULL;

			for (size_t i = 0; i < h->n && !c; i++) {
				if (!taken[i] && is(h->v[i], sv->name, &be->addr, be->port)) {
					c = h->v[i];
					taken[i] = true;
				}
			}
			if (!c) {
				c = calloc(1, sizeof(*c));
				if (!c)
					goto oom;
				fresh[n] = true;
				snprintf(c->service, sizeof(c->service), "%s", sv->name);
				c->addr = be->addr;
				c->be_port = be->port;
				c->fd = -1;
				c->up = true; /* docs/config.md: a new backend starts up */
				c->cfg = sv->health;
				/* jittered: a start or reload does not check every
				 * backend at the same instant */
				c->next_ns = now + jitter(h, &sv->health);
			}
			nv[n++] = c;
		}
	}
	/* Nothing can fail from here on. */
	for (size_t k = 0; k < n; k++) {
		const struct lb_service_cfg *sv = NULL;
		struct health_check *c = nv[k];

		for (size_t s = 0; s < m->n && !sv; s++)
			if (!strcmp(m->svcs[s].name, c->service))
				sv = &m->svcs[s];
		if (fresh[k] || same_cfg(&c->cfg, &sv->health))
			continue;
		/* same backend, a new way to check it: keep the view, count
		 * afresh */
		cancel(h, c);
		c->run_ok = c->run_failed = 0;
		c->cfg = sv->health;
		c->next_ns = now + jitter(h, &sv->health);
	}
	for (size_t i = 0; i < h->n; i++) {
		if (taken[i])
			continue;
		cancel(h, h->v[i]); /* no longer in the config */
		free(h->v[i]);
	}
	free(h->v);
	free(taken);
	free(fresh);
	h->v = nv;
	h->n = n;
	arm(h);
	return 0;
oom:
	for (size_t k = 0; k < n; k++)
		if (fresh[k])
			free(nv[k]);
	free(nv);
	free(taken);
	free(fresh);
	return -ENOMEM;
}

const struct health_check *health_find(const struct health *h, const char *service,
				       const struct sluice_prefix *addr, uint16_t port)
{
	for (size_t i = 0; i < h->n; i++)
		if (is(h->v[i], service, addr, port))
			return h->v[i];
	return NULL;
}

bool health_backend_down(const struct health *h, const struct sluice_prefix *addr, uint16_t port)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct health_check *c = h->v[i];

		if (!c->up && c->addr.family == addr->family &&
		    !memcmp(c->addr.addr, addr->addr, 16) && c->be_port == port)
			return true;
	}
	return false;
}
