/* SPDX-License-Identifier: GPL-2.0 */
/*
 * workloads.h - who on this node sent what: the uplink egress program
 * (sluice_tc_cgroup) counts the node's own packets by the cgroup v2 id of
 * the sending socket; this names those ids from the cgroup tree.
 *
 * A cgroup id is the inode number of the cgroup's directory.  The daemon
 * keeps a cache id -> path, filled by walking the cgroup2 mount at start,
 * kept current by inotify (a cgroup that lives for a few milliseconds is
 * still seen being made), and walked again when the map holds an id the
 * cache does not know.  A cgroup that is gone keeps its map entry, and its
 * last name, until the next read reports it; then the entry is deleted.
 */
#ifndef SLUICE_WORKLOADS_H
#define SLUICE_WORKLOADS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sluice_model;

#define WL_NAME_MAX 160
/* Name of cgroup id 0: packets without a socket (forwarded, ARP/ND). */
#define WL_NO_SOCKET "(no socket)"

struct wl_cgroup {
	uint64_t id;
	char *rel; /* path under the cgroup2 mount: "/" or "/a/b" */
	char name[WL_NAME_MAX];
	uint64_t gone_ns; /* CLOCK_MONOTONIC when it was found gone; 0 = alive */
	int wd;		  /* inotify watch on the directory, -1 if none */
	bool seen;	  /* scratch: found by the walk in progress */
};

struct workloads {
	char root[PATH_MAX]; /* cgroup2 mount point; "" = none found */
	int map_fd, overflow_fd;
	int ino_fd;	     /* inotify, -1 without */
	struct wl_cgroup *v; /* sorted by id */
	size_t n, cap;
	const struct sluice_model *m; /* for pods' configured cgroups; may be NULL */
	uint64_t walks;		      /* full walks done (status, tests) */
};

/* One line of a report: every cgroup of one workload name, summed. */
struct wl_row {
	char name[WL_NAME_MAX];
	uint64_t packets, bytes;
	unsigned cgroups;
	bool gone; /* all of them are gone: this was their last report */
};

/* The cgroup2 mount point: /sys/fs/cgroup when it is one, else the first
 * cgroup2 mount in /proc/self/mountinfo (/sys/fs/cgroup/unified on hybrid
 * systems).  0, or -1 when there is none. */
int workloads_find_root(char *buf, size_t len);

/* root NULL: workloads_find_root.  Walks the tree and sets up inotify; a
 * missing cgroup2 mount is not an error (ids then stay unnamed, and no
 * entry is ever taken for gone). */
int workloads_open(struct workloads *w, const char *root, int map_fd, int overflow_fd,
		   const struct sluice_model *m);
void workloads_close(struct workloads *w);
/* The config changed: re-derive every name (pods' cgroup settings). */
void workloads_set_model(struct workloads *w, const struct sluice_model *m);
/* Read pending inotify events (call when ino_fd is readable). */
void workloads_handle(struct workloads *w);
/* Walk the whole tree again (also on inotify queue overflow). */
void workloads_walk(struct workloads *w);

/* Read the map: rows (malloc'd, sorted by bytes, largest first) and the
 * overflow counter.  Entries of cgroups that are gone are in *rows this
 * once and deleted from the map.  Returns 0 or -errno. */
int workloads_read(struct workloads *w, struct wl_row **rows, size_t *n, uint64_t *ovf_packets,
		   uint64_t *ovf_bytes);

/* The workload name of a cgroup path under the mount ("/" for the root):
 *   a pod's configured cgroup (or below it)    -> pod:NAME (the config's name)
 *   kubepods.../pod<uid>... (cgroupfs or systemd driver) -> pod:<uid>
 *   docker-<id>.scope, docker/<id>             -> docker:<first 12 of id>
 *   cri-containerd-<id>.scope                  -> containerd:<first 12>
 *   crio-<id>.scope, libpod-<id>.scope         -> crio:..., podman:...
 *   .../foo.service (the deepest one)          -> foo.service
 *   anything else                              -> the path itself */
void workload_name(const char *rel, const struct sluice_model *m, char *buf, size_t len);

/* cache internals shared by workloads.c and workloads_read.c */
struct wl_cgroup *wl_find(struct workloads *w, uint64_t id);
/* Is the cached path still the directory with this id? */
bool wl_alive(const struct workloads *w, const struct wl_cgroup *c);

#endif
