/* SPDX-License-Identifier: GPL-2.0 */
/*
 * top.h - `sluice top`: snapshots of the daemon's counters (the `top`
 * control request, daemon_top.c writes it) and a frame made of two of them.
 *
 * The reply is one record per line, "KIND N... NAME": KIND, a fixed count
 * of unsigned numbers for that kind, then the rest of the line as the name:
 *   daemon   PID UPTIME_S GENERATION SERIAL NCPU   config path
 *   reason   ACTION PACKETS BYTES                  XDP reason name
 *   tc       PACKETS BYTES                         TC reason name
 *   evstat   SENT SAMPLED_OUT LOST                 (event records, BPF side)
 *   sampling EVERY CAP                             (the blocklist reason's)
 *   evstream RECEIVED SUBSCRIBERS                  (read by the daemon)
 *   source   EVENTS SCORE AGE_MS LIST_ID           "ADDRESS REASON LIST-SOURCE"
 *   prefix   EVENTS SCORE                          prefix (/24, /48)
 *   list     ID PACKETS BYTES                      list source
 *   service  PACKETS BYTES NEW_FLOWS               name
 *   backend  PACKETS BYTES NEW_FLOWS               address:port
 *   pod      RX_P RX_B TX_P TX_B IN_DENIED EG_DENIED  name
 *   workload PACKETS BYTES CGROUPS GONE            workload name
 *   workload_overflow PACKETS BYTES
 * Unknown kinds are skipped (an older client, a newer daemon).
 */
#ifndef SLUICE_TOP_H
#define SLUICE_TOP_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"

#define TOP_NUMS 6

struct top_row {
	char kind[20];
	uint64_t v[TOP_NUMS];
	char name[256];
};

struct top_snap {
	double at; /* CLOCK_MONOTONIC seconds when it was taken */
	struct top_row *rows;
	size_t n, cap;
};

int top_parse(const char *text, struct top_snap *s);
void top_snap_free(struct top_snap *s);
/* The first row of a kind (and name, unless NULL), or NULL. */
const struct top_row *top_find(const struct top_snap *s, const char *kind, const char *name);

/* One frame: totals from cur, rates from cur - prev (prev may be NULL).
 * Lines are cut to width columns (0: no limit). */
void top_render(const struct top_snap *cur, const struct top_snap *prev, int width,
		struct buf *out);

#endif
