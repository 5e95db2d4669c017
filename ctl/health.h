/* SPDX-License-Identifier: GPL-2.0 */
/*
 * health.h - backend health checks, run by the daemon: one non-blocking
 * socket per check in flight, all on one epoll of their own (itself one
 * descriptor in the daemon's loop) and one timerfd for every deadline, so
 * hundreds of backends cost no thread.
 *
 * A check is kept per (service, backend) of every service with a `health`
 * group.  Its view (up or down) feeds the backend's effective state in
 * daemon_backends.c, and a change of view is switched into the data path
 * like a reload is (daemon_switch).  Checks survive reloads: a backend that
 * stays keeps its view and counters.  New ones start up (see docs/config.md:
 * "Health checks").
 */
#ifndef SLUICE_HEALTH_H
#define SLUICE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "prefix.h"
#include "services.h"

struct buf;
struct daemon;

enum health_phase { HP_IDLE, HP_CONNECTING, HP_READING };

struct health_check {
	char service[64];
	struct sluice_prefix addr;
	uint16_t be_port; /* the backend's port in the service (its identity) */
	struct lb_health_cfg cfg;

	/* the check in flight */
	enum health_phase phase;
	int fd;
	uint64_t next_ns;     /* CLOCK_MONOTONIC: the next check starts */
	uint64_t deadline_ns; /* ... the one in flight times out */
	char rbuf[512];	      /* bounded: the status line must fit */
	size_t rlen;

	/* what the checks found */
	bool up;
	uint32_t run_ok, run_failed; /* consecutive */
	uint64_t checks_ok, checks_failed;
	uint64_t went_up, went_down; /* transitions */
	time_t last_change;	     /* wall clock; 0 = never changed */
	char last_error[128];	     /* the latest failure, kept after recovery */
};

struct health {
	int epfd;     /* the sockets and the timer; -1 when not set up */
	int timer_fd; /* CLOCK_MONOTONIC, armed for the earliest deadline */
	struct health_check **v;
	size_t n;
	uint64_t rng;
	bool dirty; /* a view changed but the switch failed: retry */
};

/* Parse an HTTP status line at the start of buf ("HTTP/1.1 200 OK\r\n").
 * Returns 1 with *code set, 0 when more bytes are needed, -1 when it is
 * not a status line. */
int health_http_status(const char *buf, size_t len, int *code);

int health_open(struct health *h);
void health_close(struct health *h);
/* Make the checks match the model's services: keep the views of backends
 * that stay, start new ones up, cancel removed ones. */
int health_sync(struct health *h, const struct lb_model *m);
/* The health epoll fd had an event: run whatever is due.  Returns true
 * when a view changed (the caller switches the data path). */
bool health_run(struct health *h);

/* The check for this backend of that service, or NULL when not checked. */
const struct health_check *health_find(const struct health *h, const char *service,
				       const struct sluice_prefix *addr, uint16_t port);
/* true when any service's check says this backend (address, port) is down:
 * the data path keeps one state per backend. */
bool health_backend_down(const struct health *h, const struct sluice_prefix *addr, uint16_t port);

#endif
