// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_hostwl.c - the daemon keeps hostwl_cgroups current: cgroups come
 * and go with containers (the workloads cache follows them by inotify), and
 * a reload may change which pods have which cgroup patterns.
 */
#include <bpf/bpf.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "hostwl.h"

void daemon_hostwl_sync(struct daemon *d)
{
	static int last = -1;
	char path[PATH_MAX + 32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/hostwl_cgroups", d->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return; /* pinned by an older sluice: no hostNetwork workloads */
	n = hostwl_sync(fd, d->dp.pod_names_fd, &d->wl, &d->model);
	close(fd);
	if (n >= 0) {
		/* TC skips the workload lookups while this is 0 */
		uint32_t zero = 0, count = (uint32_t)n;

		snprintf(path, sizeof(path), "%s/hostwl_count", d->pin_dir);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_map_update_elem(fd, &zero, &count, BPF_ANY);
			close(fd);
		}
	}
	if (n < 0)
		dlog("warning: hostNetwork workloads: writing hostwl_cgroups: %s", strerror(-n));
	else if (n != last)
		dlog("hostNetwork workloads: %d cgroup%s matched", n, n == 1 ? "" : "s");
	if (n >= 0)
		last = n;
}
