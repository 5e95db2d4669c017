/* SPDX-License-Identifier: GPL-2.0 */
/*
 * observe.h - what the daemon reads to report on the data path, shared by
 * the Prometheus endpoint (prom.c), `sluice status` and the `top` request
 * (daemon_top.c): so that every view counts the same things the same way.
 */
#ifndef SLUICE_OBSERVE_H
#define SLUICE_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "sluice_maps.h"

struct daemon;
struct lb_service_cfg;
struct lb_backend_cfg;
struct buf;

/* Open the maps the reports read besides those the daemon holds anyway
 * (TC counters, pod stats, event stream counters, per-cgroup counters)
 * and start the workload cache.  Each is optional: a missing one leaves
 * its fd at -1 and its part of the reports empty. */
void observe_open(struct daemon *d);
void observe_close(struct daemon *d);

/* Sum a per-CPU value made of nfields u64 fields (value_size bytes each). */
int obs_percpu_sum(int fd, const void *key, size_t value_size, uint64_t *out, size_t nfields);

/* Ids the data path gave a configured service / backend (0: none). */
uint32_t obs_service_id(const struct daemon *d, const struct lb_service_cfg *s);
uint32_t obs_backend_id(const struct daemon *d, const struct lb_backend_cfg *b);
/* Which config source a list id names (docs/config.md "List ids"). */
void obs_list_source(const struct daemon *d, uint32_t id, char *buf, size_t len);

struct obs_pod {
	char name[64];
	uint32_t id;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, ingress_denied, egress_denied;
};

/* Every configured pod (zeros until it has traffic), and any pod id with
 * counters that the config no longer names. */
int obs_pods(const struct daemon *d, struct obs_pod **v, size_t *n);
/* A pod's id in pod_names (0: none; never allocates one). */
uint32_t obs_pod_id(const struct daemon *d, const char *name);
/* Name of a pod id ("" if none). */
void obs_pod_name(const struct daemon *d, uint32_t id, char *buf, size_t len);

/* Prometheus label value: backslash, quote and newline escaped. */
void obs_label(const char *in, char *out, size_t len);

#endif
