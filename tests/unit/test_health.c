// SPDX-License-Identifier: GPL-2.0
/*
 * test_health.c - ctl/health.c: the HTTP status-line parser, and the
 * checker itself against real listeners on loopback (real sockets, the
 * real epoll and timerfd; the test plays the backend).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "health.h"

/* ---- the status line ----------------------------------------------------- */

static int status_is(const char *s, int want_rc, int want_code)
{
	int code = -1, rc = health_http_status(s, strlen(s), &code);

	if (rc != want_rc || (rc == 1 && code != want_code)) {
		fprintf(stderr, "    '%s': rc %d code %d, want rc %d code %d\n", s, rc, code,
			want_rc, want_code);
		return -1;
	}
	return 0;
}

TEST(health_http_status_parses_good_lines)
{
	CHECK(status_is("HTTP/1.1 200 OK\r\n", 1, 200) == 0);
	CHECK(status_is("HTTP/1.0 503 Service Unavailable\r\nServer: x\r\n\r\n", 1, 503) == 0);
	CHECK(status_is("HTTP/1.1 204\r\n", 1, 204) == 0);
	CHECK(status_is("HTTP/1.1 404\n", 1, 404) == 0);
	CHECK(status_is("HTTP/2.0 301 Moved", 1, 301) == 0); /* the code is complete */
	return 0;
}

TEST(health_http_status_waits_for_more_bytes)
{
	CHECK(status_is("", 0, 0) == 0);
	CHECK(status_is("HT", 0, 0) == 0);
	CHECK(status_is("HTTP/1.1 20", 0, 0) == 0);
	CHECK(status_is("HTTP/1.1 200", 0, 0) == 0); /* "2000" would be no code */
	return 0;
}

TEST(health_http_status_rejects_other_answers)
{
	CHECK(status_is("SSH-2.0-OpenSSH_9.6\r\n", -1, 0) == 0);
	CHECK(status_is("http/1.1 200 OK\r\n", -1, 0) == 0);
	CHECK(status_is("HTTP/1.1 2000 OK\r\n", -1, 0) == 0);
	CHECK(status_is("HTTP/1.1 20x OK\r\n", -1, 0) == 0);
	CHECK(status_is("HTTP/1.1  200 OK\r\n", -1, 0) == 0);
	CHECK(status_is("HTTP/1.1 099 Low\r\n", -1, 0) == 0);
	CHECK(status_is("HTTP/1.1\r\n", -1, 0) == 0);
	CHECK(status_is("HTTP/x.1 200 OK\r\n", -1, 0) == 0);
	/* binary junk with a NUL stops at the first wrong byte */
	CHECK_EQ(health_http_status("HTTP\0/1.1 200", 13, &(int){0}), -1);
	return 0;
}

/* ---- the checker against loopback listeners -------------------------------- */

struct backend_sim {
	int lfd;	    /* listener; -1 while "down" */
	uint16_t port;	    /* host order */
	const char *answer; /* http: what to send back; NULL: accept and close */
	char request[512];  /* the last request seen */
};

static int listen_on(struct backend_sim *b, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t al = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->lfd < 0)
		return -1;
	setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(b->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(b->lfd, 16) ||
	    getsockname(b->lfd, (struct sockaddr *)&a, &al))
		return -1;
	b->port = ntohs(a.sin_port);
	return 0;
}

static void model_one(struct lb_model *m, struct lb_service_cfg *s, struct lb_backend_cfg *be,
		      uint8_t type, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	memset(be, 0, sizeof(*be));
	snprintf(s->name, sizeof(s->name), "t");
	be->addr.family = 4;
	be->addr.len = 32;
	be->addr.addr[0] = 127;
	be->addr.addr[3] = 1;
	be->port = port;
	be->weight = 1;
	s->backends = be;
	s->n_backends = 1;
	s->health = (struct lb_health_cfg){.type = type,
					   .rise = 2,
					   .fall = 2,
					   .expect = 200,
					   .interval_ms = 100,
					   .timeout_ms = 80};
	snprintf(s->health.path, sizeof(s->health.path), "/healthz");
	m->svcs = s;
	m->n = 1;
}

/* Run the checker (and play the backend) until the check's view is want
 * or ms pass.  Returns 0 when it got there. */
static int run_until(struct health *h, struct backend_sim *b, bool want, int ms)
{
	const struct health_check *c = h->v[0];

	for (int waited = 0; waited < ms; waited += 10) {
		struct pollfd p[2] = {{.fd = h->epfd, .events = POLLIN},
				      {.fd = b->lfd, .events = POLLIN}};

		if (poll(p, b->lfd >= 0 ? 2 : 1, 10) < 0)
			return -1;
		if (p[0].revents)
			health_run(h);
		if (b->lfd >= 0 && (p[1].revents & POLLIN)) {
			int cfd = accept(b->lfd, NULL, NULL);

			if (cfd >= 0) {
				if (b->answer) {
					struct pollfd q = {.fd = cfd, .events = POLLIN};
					ssize_t n = 0;

					if (poll(&q, 1, 200) == 1)
						n = recv(cfd, b->request, sizeof(b->request) - 1,
							 0);
					b->request[n > 0 ? n : 0] = 0;
					if (send(cfd, b->answer, strlen(b->answer), MSG_NOSIGNAL) <
					    0)
						fprintf(stderr, "    backend: send failed\n");
				}
				close(cfd);
			}
		}
		if (c->up == want && (c->checks_ok + c->checks_failed) > 0)
			return 0;
	}
	fprintf(stderr, "    still %s after %d ms (ok %llu failed %llu, last error '%s')\n",
		c->up ? "up" : "down", ms, (unsigned long long)c->checks_ok,
		(unsigned long long)c->checks_failed, c->last_error);
	return -1;
}

/* The named fixture: one service whose one backend, on 127.0.0.1, the
 * test plays, and the checker running on it. */
struct checked {
	struct backend_sim b;
	struct lb_service_cfg s;
	struct lb_backend_cfg be;
	struct lb_model m;
	struct health h;
};

/* Listen on a free port (answer: see backend_sim), check it with type. */
static int checked_start(struct checked *c, uint8_t type, const char *answer)
{
	memset(c, 0, sizeof(*c));
	c->b.lfd = -1;
	c->b.answer = answer;
	CHECK(listen_on(&c->b, 0) == 0);
	model_one(&c->m, &c->s, &c->be, type, c->b.port);
	CHECK(health_open(&c->h) == 0);
	CHECK(health_sync(&c->h, &c->m) == 0);
	return 0;
}

static void checked_stop(struct checked *c)
{
	if (c->b.lfd >= 0)
		close(c->b.lfd);
	health_close(&c->h);
}

TEST(health_tcp_check_follows_a_listener)
{
	struct checked c;
	int rc = -1;

	CHECK(checked_start(&c, HC_TCP, NULL) == 0);
	CHECK_EQ(c.h.n, 1);
	CHECK(c.h.v[0]->up); /* the documented initial state */
	if (run_until(&c.h, &c.b, true, 2000) || c.h.v[0]->checks_ok < 1)
		goto out;
	close(c.b.lfd); /* the server dies: connection refused */
	c.b.lfd = -1;
	if (run_until(&c.h, &c.b, false, 3000))
		goto out;
	CHECK(c.h.v[0]->checks_failed >= 2);
	CHECK(strstr(c.h.v[0]->last_error, "connect") != NULL);
	CHECK_EQ(c.h.v[0]->went_down, 1);
	CHECK(health_backend_down(&c.h, &c.be.addr, c.be.port));
	/* back on the same port: up after rise */
	if (listen_on(&c.b, c.b.port) || run_until(&c.h, &c.b, true, 3000))
		goto out;
	CHECK_EQ(c.h.v[0]->went_up, 1);
	CHECK(c.h.v[0]->run_ok >= 2);
	rc = 0;
out:
	checked_stop(&c);
	return rc;
}

TEST(health_http_check_sends_get_with_host_and_judges_the_status)
{
	struct checked c;
	char want[128];
	int rc = -1;

	CHECK(checked_start(&c, HC_HTTP, "HTTP/1.0 503 Service Unavailable\r\n\r\n") == 0);
	if (run_until(&c.h, &c.b, false, 3000))
		goto out;
	snprintf(want, sizeof(want), "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n", c.b.port);
	if (strncmp(c.b.request, want, strlen(want))) {
		fprintf(stderr, "    request was '%s'\n", c.b.request);
		goto out;
	}
	if (!strstr(c.h.v[0]->last_error, "HTTP status 503, expected 200")) {
		fprintf(stderr, "    last error '%s'\n", c.h.v[0]->last_error);
		goto out;
	}
	c.b.answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	if (run_until(&c.h, &c.b, true, 3000))
		goto out;
	/* a reload with the same backend keeps it and its counters */
	{
		uint64_t before = c.h.v[0]->checks_ok + c.h.v[0]->checks_failed;
		struct health_check *same = c.h.v[0];

		CHECK(health_sync(&c.h, &c.m) == 0);
		CHECK(c.h.v[0] == same);
		CHECK(c.h.v[0]->checks_ok + c.h.v[0]->checks_failed >= before);
		CHECK(c.h.v[0]->up);
	}
	/* ... and one without it cancels the check */
	c.m.n = 0;
	CHECK(health_sync(&c.h, &c.m) == 0);
	CHECK_EQ(c.h.n, 0);
	rc = 0;
out:
	checked_stop(&c);
	return rc;
}

TEST(health_http_check_times_out_on_a_silent_backend)
{
	/* a listener that accepts (the kernel does, from the backlog) but
	 * never answers: the check must time out, not hang */
	struct checked c;
	int rc = -1, lfd;

	CHECK(checked_start(&c, HC_HTTP, NULL) == 0);
	lfd = c.b.lfd;
	c.b.lfd = -1; /* run_until must not serve it */
	if (run_until(&c.h, &c.b, false, 3000))
		goto out;
	if (!strstr(c.h.v[0]->last_error, "timeout after 80ms waiting for the status line")) {
		fprintf(stderr, "    last error '%s'\n", c.h.v[0]->last_error);
		goto out;
	}
	rc = 0;
out:
	close(lfd);
	checked_stop(&c);
	return rc;
}
