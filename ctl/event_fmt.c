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

/* A list name is a file path: JSON needs its quotes and backslashes escaped
 * (control characters are not expected in a path, and are dropped). */
static void json_str(const char *in, char *out, size_t len)
{
	size_t w = 0;

	for (; *in && w + 3 < len; in++) {
		if ((unsigned char)*in < 0x20)
			continue;
		if (*in == '"' || *in == '\\')
			out[w++] = '\\';
		out[w++] = *in;
	}
	out[w] = 0;
}

void event_format(const struct sluice_event *e, bool json, const char *pod_name,
		  const char *list_name, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN] = "-", d[INET6_ADDRSTRLEN] = "-";
	char pod[96] = "", list[320] = "", lname[256];
	bool by_list = e->type == SE_DROP && e->reason == SR_BLOCKLIST;

	if (e->family) {
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->saddr, s, sizeof(s));
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->daddr, d, sizeof(d));
	}
	if (json) {
		if (by_list) {
			json_str(list_name ? list_name : "", lname, sizeof(lname));
			snprintf(list, sizeof(list), ",\"list_id\":%u,\"list\":\"%s\"", e->list_id,
				 lname);
		}
		snprintf(buf, len,
			 "{\"ts_ns\":%llu,\"type\":\"%s\",\"reason\":\"%s\",\"ifindex\":%u,"
			 "\"proto\":%u,\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,"
			 "\"service\":%u,\"backend\":%u,\"pod\":%u,\"pod_name\":\"%s\"%s}\n",
			 (unsigned long long)e->ts_ns, event_type_name(e), event_reason_name(e),
			 e->ifindex, e->proto, s, ntohs(e->sport), d, ntohs(e->dport), e->svc,
			 e->backend, e->pod, pod_name ? pod_name : "", list);
		return;
	}
	if (e->pod)
		snprintf(pod, sizeof(pod), " pod %s", pod_name && *pod_name ? pod_name : "?");
	if (by_list)
		snprintf(list, sizeof(list), " list %u%s%s%s", e->list_id,
			 list_name && *list_name ? " (" : "", list_name ? list_name : "",
			 list_name && *list_name ? ")" : "");
	snprintf(buf, len, "%-11s %-22s if%-3u proto %-3u %s:%u -> %s:%u%s%s%s\n",
		 event_type_name(e), event_reason_name(e), e->ifindex, e->proto, s,
		 ntohs(e->sport), d, ntohs(e->dport), e->type == SE_NEW_FLOW ? " (load-balanced)" : "",
		 pod, list);
}
