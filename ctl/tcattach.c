// SPDX-License-Identifier: GPL-2.0
/* tcattach.c - attach tc/policy.bpf.c programs with libbpf's netlink TC API. */
#include "tcattach.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "policy.skel.h"

#define SLUICE_TC_HANDLE 0x51cf
#define SLUICE_TC_PRIO 1

int tc_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static struct policy *load(const char *pin_dir, bool pods_only, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = pin_dir);
	struct policy *obj = policy__open_opts(&oopts);

	if (!obj) {
		snprintf(err, errlen, "cannot open the TC object: %s", strerror(errno));
		return NULL;
	}
	if (pods_only) { /* the uplink programs are the big ones to verify */
		bpf_program__set_autoload(obj->progs.sluice_tc_uplink, false);
		bpf_program__set_autoload(obj->progs.sluice_tc_uplink_cbtag, false);
		bpf_program__set_autoload(obj->progs.sluice_tc_cgroup, false);
	}
	if (policy__load(obj)) {
		snprintf(err, errlen,
			 "cannot load the TC programs on the maps in %s (%s): attach sluice first",
			 pin_dir, strerror(errno));
		policy__destroy(obj);
		return NULL;
	}
	return obj;
}

struct policy *tc_policy_load(const char *pin_dir, char *err, size_t errlen)
{
	return load(pin_dir, false, err, errlen);
}

struct policy *tc_policy_load_pods(const char *pin_dir, char *err, size_t errlen)
{
	return load(pin_dir, true, err, errlen);
}

static int attach_one(int ifindex, enum bpf_tc_attach_point where, int prog_fd, char *err,
		      size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SLUICE_TC_HANDLE, .priority = SLUICE_TC_PRIO,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	/* one clsact qdisc serves both directions: create it once */
	int rc = where == BPF_TC_INGRESS ? bpf_tc_hook_create(&hook) : 0;

	if (rc && rc != -EEXIST) {
		snprintf(err, errlen, "clsact on ifindex %d: %s", ifindex, strerror(-rc));
		return rc;
	}
	rc = bpf_tc_attach(&hook, &opts);
	if (rc)
		snprintf(err, errlen, "TC filter on ifindex %d: %s", ifindex, strerror(-rc));
	return rc;
}

int tc_attach_uplink(struct policy *obj, int ifindex, char *err, size_t errlen)
{
	return attach_one(ifindex, BPF_TC_INGRESS, bpf_program__fd(obj->progs.sluice_tc_uplink), err,
			  errlen);
}

/* The egress half of the uplink's clsact qdisc (tc_attach_uplink made it):
 * per-workload accounting of the node's own traffic. */
int tc_attach_uplink_egress(struct policy *obj, int ifindex, char *err, size_t errlen)
{
	return attach_one(ifindex, BPF_TC_EGRESS, bpf_program__fd(obj->progs.sluice_tc_cgroup), err,
			  errlen);
}

int tc_attach_pod(struct policy *obj, int ifindex, char *err, size_t errlen)
{
	int rc = attach_one(ifindex, BPF_TC_INGRESS, bpf_program__fd(obj->progs.sluice_tc_pod_in),
			    err, errlen);

	if (!rc)
		rc = attach_one(ifindex, BPF_TC_EGRESS, bpf_program__fd(obj->progs.sluice_tc_pod_out),
				err, errlen);
	return rc;
}

int tc_detach(int ifindex)
{
	int rc = 0;

	for (int i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SLUICE_TC_HANDLE,
				    .priority = SLUICE_TC_PRIO);
		int r = bpf_tc_detach(&hook, &opts);

		if (r && r != -ENOENT && !rc)
			rc = r;
	}
	return rc;
}
