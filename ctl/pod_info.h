/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pod_info.h - what the daemon knows about each configured pod, for people
 * and scrapers: `sluice pods [--json]` over the control socket (how each
 * pod is found, the veths serving it now, addresses, labels, counters) and
 * the sluice_pod_info metric that carries the labels.
 */
#ifndef SLUICE_POD_INFO_H
#define SLUICE_POD_INFO_H

#include "control.h"
#include "daemon.h"

/* Control request "pods [--json]". */
int req_pods(struct daemon *d, int argc, char **argv, struct buf *out);
/* sluice_pod_info{pod=...,match=...,label_KEY="VALUE",...} 1, per pod. */
void pods_render_info(const struct daemon *d, struct buf *o);

#endif
