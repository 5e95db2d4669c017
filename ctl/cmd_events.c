// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_events.c - `sluice events [--json] [--reason R] [--count N]`: a live
 * tail of the sampled event stream (drops with their reason and addresses,
 * new load-balanced flows, pod policy denials), read from the pinned ring
 * buffer.  `sluice events --sample N --cap C` sets the sampling of every
 * reason (1 in N, at most C per second per CPU; N = 0 turns events off).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sluice_maps.h"

struct tail {
	int json;
	const char *reason; /* only this reason name, or NULL */
	long left;          /* events still to print; -1 = forever */
};

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

static const char *reason_name(const struct sluice_event *e)
{
	if (e->type == SE_POLICY_DENY)
		return e->reason < STR_REASON_MAX ? sluice_tc_reason_names[e->reason] : "?";
	return e->reason < SR_REASON_MAX ? sluice_reason_names[e->reason] : "?";
}

static const char *type_name(const struct sluice_event *e)
{
	return e->type == SE_DROP ? "drop" : e->type == SE_NEW_FLOW ? "new_flow" : "policy_deny";
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct sluice_event *e = data;
	struct tail *t = ctx;
	char s[INET6_ADDRSTRLEN] = "-", d[INET6_ADDRSTRLEN] = "-";

	if (len < sizeof(*e) || (t->reason && strcmp(t->reason, reason_name(e))))
		return 0;
	if (e->family) {
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->saddr, s, sizeof(s));
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->daddr, d, sizeof(d));
	}
	if (t->json)
		printf("{\"ts_ns\":%llu,\"type\":\"%s\",\"reason\":\"%s\",\"ifindex\":%u,"
		       "\"proto\":%u,\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,"
		       "\"service\":%u,\"backend\":%u,\"pod\":%u}\n",
		       (unsigned long long)e->ts_ns, type_name(e), reason_name(e), e->ifindex,
		       e->proto, s, ntohs(e->sport), d, ntohs(e->dport), e->svc, e->backend, e->pod);
	else
		printf("%-11s %-22s if%-3u proto %-3u %s:%u -> %s:%u%s\n", type_name(e),
		       reason_name(e), e->ifindex, e->proto, s, ntohs(e->sport), d,
		       ntohs(e->dport), e->type == SE_NEW_FLOW ? " (load-balanced)" : "");
	fflush(stdout);
	if (t->left > 0 && --t->left == 0)
		stop = 1;
	return 0;
}

static int set_sampling(const char *dir, unsigned every, unsigned cap)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/event_sampling", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return cli_err("events: no sluice state in %s: attach sluice first", dir);
	for (__u32 k = 0; k < SLUICE_EV_SLOTS; k++) {
		struct sluice_sampling v = {.every = every, .cap_per_sec = cap};

		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			close(fd);
			return cli_err("events: setting sampling: %s", strerror(errno));
		}
	}
	close(fd);
	printf("event sampling: 1 in %u, at most %u per second per CPU and reason%s\n", every, cap,
	       every ? "" : " (events off)");
	return 0;
}

int cmd_events(struct cli *c)
{
	struct tail t = {.left = -1};
	long every = -1, cap = 100;
	struct ring_buffer *rb;
	char path[PATH_MAX];
	int fd;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--json"))
			t.json = 1;
		else if (!strcmp(c->argv[i], "--reason") && i + 1 < c->argc)
			t.reason = c->argv[++i];
		else if (!strcmp(c->argv[i], "--count") && i + 1 < c->argc)
			t.left = strtol(c->argv[++i], NULL, 10);
		else if (!strcmp(c->argv[i], "--sample") && i + 1 < c->argc)
			every = strtol(c->argv[++i], NULL, 10);
		else if (!strcmp(c->argv[i], "--cap") && i + 1 < c->argc)
			cap = strtol(c->argv[++i], NULL, 10);
		else
			return cli_err("events: usage: sluice events [--json] [--reason R] [--count "
				       "N] | --sample N [--cap C]");
	}
	if (every >= 0)
		return set_sampling(c->pin_dir, (unsigned)every, (unsigned)(cap < 0 ? 0 : cap));
	snprintf(path, sizeof(path), "%s/events", c->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return cli_err("events: no event stream in %s: attach sluice first", c->pin_dir);
	rb = ring_buffer__new(fd, on_event, &t, NULL);
	if (!rb) {
		close(fd);
		return cli_err("events: cannot read the ring buffer: %s", strerror(errno));
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		int rc = ring_buffer__poll(rb, 250);

		if (rc < 0 && rc != -EINTR)
			break;
	}
	ring_buffer__free(rb);
	close(fd);
	return 0;
}
