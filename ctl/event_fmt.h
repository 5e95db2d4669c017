/* SPDX-License-Identifier: GPL-2.0 */
/* event_fmt.h - one sampled event as a line of text or JSON, for `sluice
 * events` reading the ring buffer itself and for the daemon's stream. */
#ifndef SLUICE_EVENT_FMT_H
#define SLUICE_EVENT_FMT_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice_maps.h"

const char *event_reason_name(const struct sluice_event *e);
const char *event_type_name(const struct sluice_event *e);
/* pod_name: the name of e->pod, or NULL; list_name: the name of
 * e->list_id for a blocklist drop (its source: file or setting), or NULL.
 * The line ends in '\n'. */
void event_format(const struct sluice_event *e, bool json, const char *pod_name,
		  const char *list_name, char *buf, size_t len);

#endif
