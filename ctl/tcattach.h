/* SPDX-License-Identifier: GPL-2.0 */
/* tcattach.h - sluice's TC programs on clsact hooks (libbpf TC API). */
#ifndef SLUICE_TCATTACH_H
#define SLUICE_TCATTACH_H

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stddef.h>

struct policy;

/* The TC object, loaded on the maps pinned in pin_dir (sluice attach must
 * have created them). */
struct policy *tc_policy_load(const char *pin_dir, char *err, size_t errlen);
/* The same with only the pod veth programs (tc_attach_pod): what `sluice
 * pods watch` needs, loaded (verified) in a fraction of the time. */
struct policy *tc_policy_load_pods(const char *pin_dir, char *err, size_t errlen);

/* clsact ingress on the uplink: the tag reader and pod ingress policy. */
int tc_attach_uplink(struct policy *obj, int ifindex, char *err, size_t errlen);
/* clsact egress on the uplink: bytes and packets by the sending socket's
 * cgroup (call after tc_attach_uplink, which creates the qdisc). */
int tc_attach_uplink_egress(struct policy *obj, int ifindex, char *err, size_t errlen);
/* Both directions of a pod's host-side veth. */
int tc_attach_pod(struct policy *obj, int ifindex, char *err, size_t errlen);
/* Remove sluice's filters from ifindex (both directions). */
int tc_detach(int ifindex);

/* For libbpf_set_print around the TC API: libbpf warns about an existing
 * clsact qdisc, and EEXIST is fine here, so it prints nothing. */
int tc_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
