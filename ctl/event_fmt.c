// SPDX-License-Identifier: GPL-2.0
/* event_fmt.c - one sampled event as text or JSON (the formats are the
 * same whether the CLI reads the ring buffer or the daemon streams it). */
#include "event_fmt.h"

#include <arpa/inet.h>
#include <stdio.h>

const char *event_reason_name(const struct sluice_event *e)
{
	if (e->type == SE_POLICY_DENY)
		return e->reason < STR_REASON_MAX ? sluice_tc_reason_names[e->reason] : "?";
	return e->reason < SR_REASON_MAX ? sluice_reason_names[e->reason] : "?";
}

const char *event_type_name(const struct sluice_event *e)
{
	return e->type == SE_DROP ? "drop" : e->type == SE_NEW_FLOW ? "new_flow" : "policy_deny";
}

void event_format(const struct sluice_event *e, bool json, const char *pod_name, char *buf,
		  size_t len)
{
	char s[INET6_ADDRSTRLEN] = "-", d[INET6_ADDRSTRLEN] = "-";
	char pod[96] = "";

	if (e->family) {
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->saddr, s, sizeof(s));
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->daddr, d, sizeof(d));
	}
	if (json) {
		snprintf(buf, len,
			 "{\"ts_ns\":%llu,\"type\":\"%s\",\"reason\":\"%s\",\"ifindex\":%u,"
			 "\"proto\":%u,\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,"
			 "\"service\":%u,\"backend\":%u,\"pod\":%u,\"pod_name\":\"%s\"}\n",
			 (unsigned long long)e->ts_ns, event_type_name(e), event_reason_name(e),
			 e->ifindex, e->proto, s, ntohs(e->sport), d, ntohs(e->dport), e->svc,
			 e->backend, e->pod, pod_name ? pod_name : "");
		return;
	}
	if (e->pod)
		snprintf(pod, sizeof(pod), " pod %s", pod_name && *pod_name ? pod_name : "?");
	snprintf(buf, len, "%-11s %-22s if%-3u proto %-3u %s:%u -> %s:%u%s%s\n", event_type_name(e),
		 event_reason_name(e), e->ifindex, e->proto, s, ntohs(e->sport), d, ntohs(e->dport),
		 e->type == SE_NEW_FLOW ? " (load-balanced)" : "", pod);
}
