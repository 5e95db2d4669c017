/* SPDX-License-Identifier: GPL-2.0 */
/*
 * evstream.h - the daemon as the one reader of the sampled event stream:
 * it keeps the busiest dropped sources for `sluice top`, and streams the
 * events to `sluice events` clients over the control socket (a BPF ring
 * buffer has one read position: two readers would each see half).
 */
#ifndef SLUICE_EVSTREAM_H
#define SLUICE_EVSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_SUBS_MAX 16
#define EV_SOURCES_MAX 1024
/* Sources are ranked by a sliding-window count over this many seconds. */
#define EV_WINDOW_SECS 10

struct ev_sub {
	int fd;
	bool json;
	char reason[48]; /* only this reason; "" = all */
	char pod[64];	 /* only events of this pod (id or address); "" = all */
	uint32_t pod_id;
	uint64_t dropped; /* lines it was too slow for, not yet told */
};

struct ev_source {
	uint8_t addr[16];
	uint8_t family;
	uint16_t reason;    /* the last drop's */
	uint16_t list_id;   /* the last drop's list (reason SR_BLOCKLIST) */
	uint64_t events;    /* sampled drop events since the daemon started */
	uint64_t last_ns;   /* bpf_ktime_get_ns of the last one */
	uint64_t win;	    /* window number of cur */
	uint32_t cur, prev; /* events in that window and the one before */
};

struct ring_buffer;

struct evstream {
	struct ring_buffer *rb;
	int map_fd; /* the pinned ring buffer; -1 off */
	int rb_fd;  /* ring_buffer__epoll_fd, in the daemon's epoll; -1 off */
	struct ev_sub subs[EV_SUBS_MAX];
	size_t n_subs;
	struct ev_source *src;
	size_t n_src;
	uint64_t received; /* records read from the ring buffer */
};

#endif
