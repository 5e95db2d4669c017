// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_apply.c - the one way the daemon changes the data path: write
 * the parts that change into the inactive generation, carry the rest over
 * from the active one, switch.  Lists are the config's plus the runtime
 * blocks; services are the config's with the manual backend states.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
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

static uint64_t now_us(void)
{
	return mono_ns() / 1000;
}

/* Where a switch spends its time, in µs: logged when it is slow, so that a
 * slow reload says which step to look at. */
enum { T_COMPILE, T_OVERRIDES, T_BEGIN, T_LISTS, T_SERVICES, T_PODS, T_COMMIT, T_N };
#define SLOW_SWITCH_US 50000

static void log_slow(const uint64_t *t)
{
	uint64_t sum = 0;

	for (int i = 0; i < T_N; i++)
		sum += t[i];
	if (sum < SLOW_SWITCH_US)
		return;
	dlog("switch took %llu ms: compile lists %llu, manual backend states %llu, grace wait "
	     "%llu, lists into the inactive generation %llu, services %llu, pods %llu, commit "
	     "%llu (ms)",
	     (unsigned long long)sum / 1000, (unsigned long long)t[T_COMPILE] / 1000,
	     (unsigned long long)t[T_OVERRIDES] / 1000, (unsigned long long)t[T_BEGIN] / 1000,
	     (unsigned long long)t[T_LISTS] / 1000, (unsigned long long)t[T_SERVICES] / 1000,
	     (unsigned long long)t[T_PODS] / 1000, (unsigned long long)t[T_COMMIT] / 1000);
}

int daemon_switch(struct daemon *d, const struct sluice_model *m, unsigned what,
		  struct apply_report *rep, char *err, size_t errlen)
{
	struct prefix_list compiled = {0};
	struct lb_model lb = {0};
	struct apply_report scratch;
	uint64_t t[T_N] = {0}, t0 = now_us(), t1;
	int rc;

#define MARK(step) (t1 = now_us(), t[step] = t1 - t0, t0 = t1)
	if (!rep)
		rep = &scratch;
	memset(rep, 0, sizeof(*rep));
	rep->block = m->block.n;
	rep->allow = m->allow.n;
	/* Everything that can fail for lack of memory first: the data path is
	 * only touched with the whole new state in hand. */
	if (what & SW_LISTS) {
		rc = build_lists(d, m, &compiled);
		MARK(T_COMPILE);
		if (rc) {
			snprintf(err, errlen, "compiling the lists: %s", strerror(-rc));
			goto out;
		}
	}
	if (what & SW_SERVICES) {
		rc = overrides_effective(d, &m->lb, &lb);
		MARK(T_OVERRIDES);
		if (rc) {
			snprintf(err, errlen, "applying manual backend states: %s", strerror(-rc));
			goto out;
		}
	}
	rc = dp_begin(&d->dp);
	MARK(T_BEGIN);
	if (rc) {
		snprintf(err, errlen, "reading the active generation: %s", strerror(-rc));
		goto out;
	}
	if (what & SW_LISTS) {
		rc = dp_write_lists(&d->dp, &compiled, &rep->lists, err, errlen);
	} else if ((rc = dp_copy_lists(&d->dp))) {
		snprintf(err, errlen, "copying the lists: %s", strerror(-rc));
	}
	MARK(T_LISTS);
	if (rc)
		goto out;
	if (what & SW_SERVICES) {
		rc = dp_write_services(&d->dp, &lb, &rep->lb);
		if (rc)
			snprintf(err, errlen, "writing the services: %s", strerror(-rc));
	} else if ((rc = dp_copy_services(&d->dp))) {
		snprintf(err, errlen, "copying the services: %s", strerror(-rc));
	}
	MARK(T_SERVICES);
	if (rc)
		goto out;
	if (what & SW_POLICY) {
		rc = dp_write_pods(&d->dp, m, err, errlen);
	} else if ((rc = dp_copy_pods(&d->dp))) {
		snprintf(err, errlen, "copying identities and pods: %s", strerror(-rc));
	}
	MARK(T_PODS);
	if (rc)
		goto out;
	/* The only write the data path sees: everything above went to the
	 * generation no packet reads. */
	rc = dp_commit(&d->dp);
	MARK(T_COMMIT);
	if (rc)
		snprintf(err, errlen, "switching generations: %s", strerror(-rc));
	else
		log_slow(t);
#undef MARK
	/* The daemon's first switch leaves the other generation's tries as it
	 * found them (unknown: empty after an attach, or a previous run's).
	 * Fill them with what is now active, so that the next change (the
	 * first reload) writes only what changed instead of every entry
	 * (~0.1-0.3 s at 100k prefixes).  No packet reads that generation,
	 * and the next switch rewrites all of it anyway: failure is harmless. */
	if (!rc && !d->dp.trie_known[d->dp.shadow] && dp_begin(&d->dp) == 0)
		(void)dp_prime_tries(&d->dp);
out:
	prefix_list_free(&compiled);
	lb_model_free(&lb);
	return rc;
}
