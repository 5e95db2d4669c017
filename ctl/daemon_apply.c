// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_apply.c - the one way the daemon changes the data path: write
 * the parts that change into the inactive generation, carry the rest over
 * from the active one, switch.  Lists are the config's plus the runtime
 * blocks; services are the config's with the manual backend states.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compile.h"
#include "daemon.h"

static int build_lists(const struct daemon *d, const struct sluice_model *m,
		       struct prefix_list *compiled)
{
	struct prefix_list block = {0};
	int rc = 0;

	for (size_t i = 0; i < m->block.n && !rc; i++)
		rc = prefix_list_push(&block, &m->block.v[i]);
	for (size_t i = 0; i < d->n_blocks && !rc; i++) {
		struct sluice_prefix p = d->blocks[i].prefix;

		p.list_id = SLUICE_LIST_RUNTIME;
		rc = prefix_list_push(&block, &p);
	}
	if (!rc)
		rc = compile_verdicts(&block, &m->allow, compiled);
	prefix_list_free(&block);
	return rc ? -ENOMEM : 0;
}

int daemon_switch(struct daemon *d, const struct sluice_model *m, unsigned what,
		  struct apply_report *rep, char *err, size_t errlen)
{
	struct prefix_list compiled = {0};
	struct lb_model lb = {0};
	struct apply_report scratch;
	int rc;

	if (!rep)
		rep = &scratch;
	memset(rep, 0, sizeof(*rep));
	rep->block = m->block.n;
	rep->allow = m->allow.n;
	/* Everything that can fail for lack of memory first: the data path is
	 * only touched with the whole new state in hand. */
	if (what & SW_LISTS) {
		rc = build_lists(d, m, &compiled);
		if (rc) {
			snprintf(err, errlen, "compiling the lists: %s", strerror(-rc));
			goto out;
		}
	}
	if (what & SW_SERVICES) {
		rc = overrides_effective(d, &m->lb, &lb);
		if (rc) {
			snprintf(err, errlen, "applying manual backend states: %s", strerror(-rc));
			goto out;
		}
	}
	rc = dp_begin(&d->dp);
	if (rc) {
		snprintf(err, errlen, "reading the active generation: %s", strerror(-rc));
		goto out;
	}
	if (what & SW_LISTS) {
		rc = dp_write_lists(&d->dp, &compiled, &rep->lists, err, errlen);
	} else if ((rc = dp_copy_lists(&d->dp))) {
		snprintf(err, errlen, "copying the lists: %s", strerror(-rc));
	}
	if (rc)
		goto out;
	if (what & SW_SERVICES) {
		rc = dp_write_services(&d->dp, &lb, &rep->lb);
		if (rc)
			snprintf(err, errlen, "writing the services: %s", strerror(-rc));
	} else if ((rc = dp_copy_services(&d->dp))) {
		snprintf(err, errlen, "copying the services: %s", strerror(-rc));
	}
	if (rc)
		goto out;
	if (what & SW_POLICY) {
		rc = dp_write_pods(&d->dp, m, err, errlen);
	} else if ((rc = dp_copy_pods(&d->dp))) {
		snprintf(err, errlen, "copying identities and pods: %s", strerror(-rc));
	}
	if (rc)
		goto out;
	/* The only write the data path sees: everything above went to the
	 * generation no packet reads. */
	rc = dp_commit(&d->dp);
	if (rc)
		snprintf(err, errlen, "switching generations: %s", strerror(-rc));
out:
	prefix_list_free(&compiled);
	lb_model_free(&lb);
	return rc;
}
