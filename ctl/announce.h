/* SPDX-License-Identifier: GPL-2.0 */
/*
 * announce.h - which VIPs this node announces over BGP, and when.
 *
 * A VIP is announced while (a) the node's data path is attached to every
 * configured interface and (b) at least one service on that VIP has a
 * backend in the effective up state (config, manual state, health checks:
 * daemon_service_healthy_backends()).  The set is
 * re-evaluated once a second and whenever the daemon changes backend
 * states; when it changes, or the last hand-over failed, it is written to
 * the bgp.include file and BIRD is asked to reconfigure (bird.h).  Stopping
 * (SIGTERM, `sluice stop`) withdraws everything and waits bgp.drain before
 * the daemon exits, so nothing of the data path is touched while the router
 * still sends flows here.
 */
#ifndef SLUICE_ANNOUNCE_H
#define SLUICE_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model.h"
#include "prefix.h"

struct daemon;
struct buf;

struct announce {
	struct bgp_cfg cfg;	    /* as the daemon started with (changes: at restart) */
	int timer_fd;		    /* 1 s tick; -1 when bgp is off */
	struct sluice_prefix *have; /* what BIRD was last handed successfully */
	size_t n_have;
	bool synced;   /* BIRD has exactly `have` */
	bool attached; /* the data path, at the last evaluation */
	uint64_t pushes_ok, push_failures;
	uint64_t next_try_ns; /* after a failure: back off (CLOCK_BOOTTIME) */
	unsigned backoff_s;
	time_t last_change, last_error_at;
	char last_error[512];
	char last_reply[128];
};

/* Set-up (before capabilities go): the timer, and a first evaluation.
 * A daemon without `bgp` leaves timer_fd -1.  Returns 0 or -1. */
int announce_open(struct daemon *d, int epfd);
/* The timer fired (or state changed): re-evaluate, hand BIRD the set when
 * it differs from what BIRD has. */
void announce_tick(struct daemon *d);
/* Stopping: withdraw every VIP and wait bgp.drain (no-op without bgp). */
void announce_withdraw_all(struct daemon *d, const char *why);
void announce_close(struct daemon *d);

/* Service svc_idx (index in d->model.lb.svcs) has at least one backend in
 * the effective up state: the one place the announcement asks. */
bool announce_service_up(const struct daemon *d, size_t svc_idx);

/* Reports: `sluice status` lines, the `bgp` object of status --json, and
 * the sluice_vip_announced{vip} / sluice_bgp_* metrics. */
void announce_status(const struct daemon *d, struct buf *out);
void announce_status_json(const struct daemon *d, struct buf *out);
void announce_prom(const struct daemon *d, struct buf *out);

#endif
