/* SPDX-License-Identifier: GPL-2.0 */
/*
 * podwatch.h - follow pods' host-side veths as they come and go (netlink
 * RTMGRP_LINK and route events, no polling): attach the pod TC programs to a
 * veth the moment it appears and map its ifindex to the pod; forget it when
 * it goes.  A veth is a pod's by name (the pod's `veth` pattern) or, for a
 * pod found by address, because the route to the pod's address goes out of
 * it (re-resolved on every link or route event).
 */
#ifndef SLUICE_PODWATCH_H
#define SLUICE_PODWATCH_H

#include <stdio.h>

#include "model.h"

struct policy;

#define PODWATCH_MAX_LINKS 1024

struct podwatch {
	int nl_fd;
	struct policy *tc;        /* loaded TC programs (not owned) */
	int pod_ifindex_fd, pod_names_fd;
	const struct sluice_model *m;
	FILE *log;
	int attached[PODWATCH_MAX_LINKS]; /* ifindexes we attached to */
	unsigned char by_addr[PODWATCH_MAX_LINKS]; /* attached[i] found by route */
	unsigned n_attached;
};

int podwatch_open(struct podwatch *pw, struct policy *tc, int pod_ifindex_fd, int pod_names_fd,
		  const struct sluice_model *m, FILE *log, char *err, size_t errlen);
/* Walk the existing links once (after open, and after a model change). */
int podwatch_scan(struct podwatch *pw);
/* Read and act on pending link events (call when nl_fd is readable). */
int podwatch_handle(struct podwatch *pw);
void podwatch_set_model(struct podwatch *pw, const struct sluice_model *m);
void podwatch_close(struct podwatch *pw);

#endif
