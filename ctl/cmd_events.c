// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_events.c - `sluice events [--json] [--reason R] [--pod P] [--count
 * N]`: a live tail of the sampled event stream (drops with their reason and
 * addresses, new load-balanced flows, pod policy denials).  When a daemon
 * runs on these maps it is the stream's one reader, and streams it over the
 * control socket (a ring buffer has one read position: a second reader
 * would take half the events from the daemon's `sluice top` view);
 * otherwise this reads the pinned ring buffer itself.  `--pod P`: the
 * pod's policy denials, and events to or from its addresses.
 * `sluice events --sample N --cap C` sets the sampling of every reason (1
 * in N, at most C per second per CPU; N = 0 turns events off).
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
#include "control.h"
#include "event_fmt.h"
#include "sluice_maps.h"

#define POD_ADDRS_MAX 64

struct tail {
	int json;
	const char *reason; /* only this reason name, or NULL */
	const char *pod;    /* only this pod's events, or NULL */
	long left;	    /* events still to print; -1 = forever */
	/* reading the ring buffer ourselves: */
	int names_fd; /* pod_names */
	uint32_t pod_id;
	struct sluice_addr_key addrs[POD_ADDRS_MAX];
	size_t n_addrs;
};

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

static int counted(struct tail *t)
{
	if (t->left > 0 && --t->left == 0)
		stop = 1;
	return stop;
}

/* ---- through the daemon ------------------------------------------------------- */

static int on_line(const char *line, void *ctx)
{
	struct tail *t = ctx;

	puts(line);
	fflush(stdout);
	/* notes ("# N events dropped", {"type":"dropped"}) are not events */
	if (line[0] == '#' || strstr(line, "\"type\":\"dropped\""))
		return 0;
	return counted(t);
}

static int via_daemon(struct cli *c, struct tail *t)
{
	char *argv[8] = {"events"};
	struct buf err = {0};
	int argc = 1, rc;

	if (t->json)
		argv[argc++] = "--json";
	if (t->reason) {
		argv[argc++] = "--reason";
		argv[argc++] = (char *)t->reason;
	}
	if (t->pod) {
		argv[argc++] = "--pod";
		argv[argc++] = (char *)t->pod;
	}
	rc = control_stream(control_socket_path(c->socket), argc, argv, on_line, t, &stop, &err);
	if (rc == 1) {
		while (err.len && err.s[err.len - 1] == '\n')
			err.s[--err.len] = 0;
		rc = cli_err("events: the daemon refused: %s", err.len ? err.s : "(no reason)");
	} else if (rc < 0)
		rc = cli_err("events: the daemon's stream: %s", strerror(-rc));
	buf_free(&err);
	return rc;
}

/* ---- the ring buffer itself ------------------------------------------------------ */

static int addr_is(const struct sluice_addr_key *k, const struct sluice_event *e, const __u8 *a)
{
	return k->family == e->family && !memcmp(k->addr, a, e->family == 4 ? 4 : 16);
}

static int pod_match(const struct tail *t, const struct sluice_event *e)
{
	if (t->pod_id && e->pod == t->pod_id)
		return 1;
	for (size_t i = 0; e->family && i < t->n_addrs; i++)
		if (addr_is(&t->addrs[i], e, e->saddr) || addr_is(&t->addrs[i], e, e->daddr))
			return 1;
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct sluice_event *e = data;
	struct tail *t = ctx;
	char line[1024], pod[64] = "";

	if (len < sizeof(*e) || (t->reason && strcmp(t->reason, event_reason_name(e))) ||
	    (t->pod && !pod_match(t, e)))
		return 0;
	if (e->pod && t->names_fd >= 0) {
		__u32 id = e->pod;

		if (bpf_map_lookup_elem(t->names_fd, &id, pod))
			pod[0] = 0;
		pod[sizeof(pod) - 1] = 0;
	}
	/* no daemon, no config: the list is named by its id only */
	event_format(e, t->json, pod[0] ? pod : NULL, NULL, line, sizeof(line));
	fputs(line, stdout);
	fflush(stdout);
	counted(t);
	return 0;
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/* The pod's id and its addresses in the active generation. */
static int resolve_pod(const char *dir, struct tail *t)
{
	struct sluice_addr_key k, prev;
	struct sluice_state st = {0};
	__u32 zero = 0, id, first = 1;
	int fd_state = open_pin(dir, "sluice_state"), fd_addrs;
	char name[64];

	for (id = 1; t->names_fd >= 0 && id < SLUICE_MAX_PODS && !t->pod_id; id++)
		if (bpf_map_lookup_elem(t->names_fd, &id, name) == 0 &&
		    !strncmp(name, t->pod, sizeof(name)))
			t->pod_id = id;
	if (fd_state < 0 || !t->pod_id) {
		if (fd_state >= 0)
			close(fd_state);
		return cli_err("events: no pod named %s in %s (pods get ids when a config "
			       "with them is applied)",
			       t->pod, dir);
	}
	bpf_map_lookup_elem(fd_state, &zero, &st);
	close(fd_state);
	fd_addrs = open_pin(dir, st.gen ? "pod_addrs_g1" : "pod_addrs_g0");
	while (fd_addrs >= 0 && t->n_addrs < POD_ADDRS_MAX &&
	       bpf_map_get_next_key(fd_addrs, first ? NULL : &prev, &k) == 0) {
		__u32 v;

		first = 0;
		prev = k;
		if (bpf_map_lookup_elem(fd_addrs, &k, &v) == 0 && v == t->pod_id)
			t->addrs[t->n_addrs++] = k;
	}
	if (fd_addrs >= 0)
		close(fd_addrs);
	return 0;
}

static int direct(struct cli *c, struct tail *t)
{
	struct ring_buffer *rb;
	int fd = open_pin(c->pin_dir, "events");

	if (fd < 0)
		return cli_err("events: no event stream in %s: attach sluice first", c->pin_dir);
	t->names_fd = open_pin(c->pin_dir, "pod_names");
	if (t->pod && resolve_pod(c->pin_dir, t)) {
		close(fd);
		return 1;
	}
	rb = ring_buffer__new(fd, on_event, t, NULL);
	if (!rb) {
		close(fd);
		return cli_err("events: cannot read the ring buffer: %s", strerror(errno));
	}
	while (!stop) {
		int rc = ring_buffer__poll(rb, 250);

		if (rc < 0 && rc != -EINTR)
			break;
	}
	ring_buffer__free(rb);
	close(fd);
	if (t->names_fd >= 0)
		close(t->names_fd);
	return 0;
}

static int set_sampling(const char *dir, unsigned every, unsigned cap)
{
	int fd = open_pin(dir, "event_sampling");

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
	struct tail t = {.left = -1, .names_fd = -1};
	struct ctl_daemon_stats ds;
	long every = -1, cap = 100;
	struct sigaction sa = {.sa_handler = on_signal};

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--json"))
			t.json = 1;
		else if (!strcmp(c->argv[i], "--reason") && i + 1 < c->argc)
			t.reason = c->argv[++i];
		else if (!strcmp(c->argv[i], "--pod") && i + 1 < c->argc)
			t.pod = c->argv[++i];
		else if (!strcmp(c->argv[i], "--count") && i + 1 < c->argc)
			t.left = strtol(c->argv[++i], NULL, 10);
		else if (!strcmp(c->argv[i], "--sample") && i + 1 < c->argc)
			every = strtol(c->argv[++i], NULL, 10);
		else if (!strcmp(c->argv[i], "--cap") && i + 1 < c->argc)
			cap = strtol(c->argv[++i], NULL, 10);
		else
			return cli_err(
			    "events: usage: sluice events [--json] [--reason R] [--pod P] "
			    "[--count N] | --sample N [--cap C]");
	}
	if (every >= 0)
		return set_sampling(c->pin_dir, (unsigned)every, (unsigned)(cap < 0 ? 0 : cap));
	if (!t.left)
		return 0;
	/* no SA_RESTART: a signal must end the poll and the read */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (daemon_stats_fetch(control_socket_path(c->socket), &ds) == 0 &&
	    (!c->pin_dir_set || !strcmp(c->pin_dir, ds.pin_dir)))
		return via_daemon(c, &t);
	return direct(c, &t);
}
