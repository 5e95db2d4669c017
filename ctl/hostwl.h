/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostwl.h - hostNetwork workloads: pods identified by cgroup.  A pod's
 * `cgroup` is a path or a pattern as container runtimes name their cgroups
 * (docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope,
 * kubepods...pod<uid>), e.g. "/system.slice/docker-*.scope"; a cgroup is
 * the pod's when it, or one of its ancestors, matches.  The daemon keeps
 * the data path's hostwl_cgroups map (cgroup id -> pod id) equal to the
 * cgroups the workloads cache knows that match, so that the uplink TC
 * program can find the workload of the socket a packet is for.
 */
#ifndef SLUICE_HOSTWL_H
#define SLUICE_HOSTWL_H

#include <stdbool.h>
#include <stddef.h>

struct sluice_model;
struct workloads;

/* Does the cgroup at rel (path under the cgroup2 mount) or an ancestor of
 * it match pattern?  Without glob characters the pattern is a path: rel is
 * it or below it.  With them (fnmatch, '*' also crosses '/'), the pattern
 * must match a whole path: rel or one of its ancestors. */
bool hostwl_cgroup_matches(const char *pattern, const char *rel);

/* Make map hostwl_fd hold exactly: every cgroup in w whose path a hostNetwork
 * workload's cgroup setting matches -> its pod id (pod_names_fd).  Returns how many
 * entries it holds, or -errno. */
int hostwl_sync(int hostwl_fd, int pod_names_fd, const struct workloads *w,
		const struct sluice_model *m);

/* The daemon's side: sync the pinned hostwl_cgroups with its workloads
 * cache and model (after start, inotify events and reloads).  Logs when
 * the number of matched cgroups changes.  ctl/daemon_hostwl.c */
struct daemon;
void daemon_hostwl_sync(struct daemon *d);

#endif
