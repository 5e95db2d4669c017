// SPDX-License-Identifier: GPL-2.0
/* apply.c - model -> maps: the compiled verdict tries and the services. */
#include "apply.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"

static int open_pinned(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		snprintf(err, errlen, "no sluice map at %s (%s): attach sluice first", path,
			 strerror(errno));
	return fd;
}

int apply_model(const struct sluice_model *m, const char *pin_dir, struct apply_report *rep,
		char *err, size_t errlen)
{
	static const char *const names[] = {"verdict_v4", "verdict_v6", "lb_services",
					    "lb_ring",    "lb_backends", "lb_rev"};
	int fds[6] = {-1, -1, -1, -1, -1, -1};
	struct prefix_list compiled = {0};
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	rep->block = m->block.n;
	rep->allow = m->allow.n;
	for (int i = 0; i < 6; i++) {
		fds[i] = open_pinned(pin_dir, names[i], err, errlen);
		if (fds[i] < 0) {
			rc = -ENOENT;
			goto out;
		}
	}
	rc = compile_verdicts(&m->block, &m->allow, &compiled);
	if (rc) {
		snprintf(err, errlen, "compiling the lists: %s", strerror(-rc));
		goto out;
	}
	rc = verdicts_apply(fds[0], fds[1], &compiled, &rep->lists);
	if (rc) {
		snprintf(err, errlen, "writing the verdict tries: %s", strerror(-rc));
		goto out;
	}
	{
		struct lb_fds lf = {.services = fds[2], .ring = fds[3], .backends = fds[4],
				    .rev = fds[5]};

		rc = lb_apply(&m->lb, &lf, &rep->lb);
		if (rc)
			snprintf(err, errlen, "writing the services: %s", strerror(-rc));
	}
out:
	prefix_list_free(&compiled);
	for (int i = 0; i < 6; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}
