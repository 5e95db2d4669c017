/* SPDX-License-Identifier: GPL-2.0 */
/*
 * events.h - sampled events into the ring buffer, shared by the XDP and TC
 * programs.  The common case under a flood is "sampled out": one inlined
 * array lookup, one per-CPU array update, no ring buffer work.
 */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include "sluice_maps.h"

static __always_inline void ev_stat(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&event_stats, &which);

	if (v)
		(*v)++;
}

/* May an event of sampling slot `slot` go out now?  1-in-N, then the
 * per-second cap, both per CPU (no shared state, no atomics). */
static __always_inline int ev_sample(__u32 slot)
{
	struct sluice_sampling *cfg = bpf_map_lookup_elem(&event_sampling, &slot);
	struct sluice_sample_state *st;
	__u64 now;

	if (!cfg || !cfg->every)
		return 0;
	st = bpf_map_lookup_elem(&event_state, &slot);
	if (!st)
		return 0;
	/* 1-in-N as a countdown, not seen % every: a 64-bit modulo per
	 * dropped packet is a measurable share of a ~250 ns drop path.  A
	 * countdown left from a larger `every` is cut to the new one. */
	if (st->skip >= cfg->every)
		st->skip = cfg->every - 1;
	if (st->skip) {
		st->skip--;
		ev_stat(SES_SAMPLED_OUT);
		return 0;
	}
	st->skip = cfg->every - 1;
	if (cfg->cap_per_sec) {
		now = bpf_ktime_get_ns();
		if (now - st->window_ns >= 1000000000ull) {
			st->window_ns = now;
			st->sent_in_window = 0;
		}
		if (st->sent_in_window >= cfg->cap_per_sec) {
			ev_stat(SES_SAMPLED_OUT);
			return 0;
		}
		st->sent_in_window++;
	}
	return 1;
}

/* Reserve an event record (NULL: sampled out, or the buffer is full). */
static __always_inline struct sluice_event *ev_reserve(__u32 slot)
{
	struct sluice_event *e;

	if (!ev_sample(slot))
		return NULL;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		ev_stat(SES_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	return e;
}

static __always_inline void ev_submit(struct sluice_event *e)
{
	bpf_ringbuf_submit(e, 0);
	ev_stat(SES_SENT);
}

#endif /* SLUICE_EVENTS_H */
