// SPDX-License-Identifier: GPL-2.0
/* apply.c - model -> maps, through a generation switch. */
#include "apply.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compile.h"
#include "dataplane.h"

int apply_model(const struct sluice_model *m, const char *pin_dir, struct apply_report *rep,
		char *err, size_t errlen)
{
	struct prefix_list compiled = {0};
	struct dataplane dp;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->block = m->block.n;
	rep->allow = m->allow.n;
	rc = dp_open_pinned(&dp, pin_dir, err, errlen);
	if (rc)
		return rc;
	rc = compile_verdicts(&m->block, &m->allow, &compiled);
	if (rc) {
		snprintf(err, errlen, "compiling the lists: %s", strerror(-rc));
		goto out;
	}
	rc = dp_write_lists(&dp, &compiled, &rep->lists, err, errlen);
	if (rc)
		goto out;
	rc = dp_write_services(&dp, &m->lb, &rep->lb);
	if (rc) {
		snprintf(err, errlen, "writing the services: %s", strerror(-rc));
		goto out;
	}
	rc = dp_write_pods(&dp, m, err, errlen);
	if (rc)
		goto out;
	rc = dp_commit(&dp);
	if (rc)
		snprintf(err, errlen, "switching generations: %s", strerror(-rc));
out:
	prefix_list_free(&compiled);
	dp_close(&dp);
	return rc;
}
