// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - the daemon's control socket: a unix stream socket, mode 0600,
 * one request line per connection (control.h has the protocol).  Requests
 * run one at a time on the event loop, so none sees another half done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "pod_info.h"

#define MAX_WORDS 16

int control_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[PATH_MAX];
	struct stat st;
	mode_t old_umask;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s for the control socket: %s", dir,
			 strerror(errno));
		return -errno;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
				 "%s exists and is not a socket: refusing to replace it", path);
			return -EEXIST;
		}
		/* A live daemon answers; a stale socket (after kill -9) does not. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			snprintf(err, errlen,
				 "another sluice daemon answers on %s: stop it first "
				 "(sluice stop)",
				 path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* the socket file is created 0600: only root talks to the daemon */
	old_umask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		umask(old_umask);
		snprintf(err, errlen, "cannot bind the control socket %s: %s", path,
			 strerror(errno));
		close(fd);
		return -errno;
	}
	umask(old_umask);
	if (chmod(path, 0600) || listen(fd, 16)) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return -errno;
	}
	return fd;
}

static void req_stats(struct daemon *d, struct buf *out)
{
	struct ctl_daemon_stats ds = {
	    .reloads_ok = d->reloads_ok,
	    .reload_failures = d->reload_failures,
	    .runtime_blocks = d->n_blocks,
	    .runtime_changes = d->runtime_changes,
	    .generation = d->dp.active,
	    .serial = d->dp.serial,
	    .auto_active = autoblock_active(d),
	    .auto_added = d->syn.added,
	    .auto_expired = d->syn.expired,
	    .auto_capped = d->syn.capped,
	    .flood_mode = d->syn.flood_on,
	    .flood_secs = (boot_ns() - d->syn.flood_since_ns) / 1000000000ull,
	    .flood_transitions = d->syn.transitions,
	    .syn_pps = d->syn.pps,
	};

	snprintf(ds.pin_dir, sizeof(ds.pin_dir), "%s", d->pin_dir);
	for (size_t i = 0; i < d->model.n_list_sources; i++)
		if (d->model.list_sources[i].id < SLUICE_MAX_LISTS)
			ds.list_bad[d->model.list_sources[i].id] = d->model.list_sources[i].bad.n;
	daemon_stats_format(&ds, out);
}

static int req_block(struct daemon *d, int argc, char **argv, struct buf *out)
{
	static const char usage[] =
	    "usage: sluice block add CIDR [--ttl 10m] | block del CIDR | block list\n";

	if (argc == 1 && !strcmp(argv[0], "list")) {
		blocks_list(d, out);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "add"))
		return blocks_add(d, argv[1], NULL, out);
	if (argc == 4 && !strcmp(argv[0], "add") && !strcmp(argv[2], "--ttl"))
		return blocks_add(d, argv[1], argv[3], out);
	if (argc == 2 && !strcmp(argv[0], "del"))
		return blocks_del(d, argv[1], out);
	buf_printf(out, "%s", usage);
	return -EINVAL;
}

static int req_stop(struct daemon *d, int argc, char **argv, struct buf *out)
{
	bool detach = argc == 1 && !strcmp(argv[0], "--detach");

	if (argc && !detach) {
		buf_printf(out, "usage: sluice stop [--detach]\n");
		return -EINVAL;
	}
	/* Machine-readable: the CLI detaches these once we are gone. */
	buf_printf(out, "pid %d\nserial %u\npin_dir %s\n", (int)getpid(), d->dp.serial, d->pin_dir);
	for (size_t i = 0; i < d->n_ifaces; i++)
		buf_printf(out, "iface %s\n", d->ifaces[i].name);
	d->stopping = true;
	dlog("stop requested%s", detach ? " (the CLI detaches and unpins after we exit)" : "");
	return 0;
}

/* Run one request; returns 0 (ok) or an error. */
static int dispatch(struct daemon *d, int argc, char **argv, struct buf *out)
{
	if (argc == 0) {
		buf_printf(out, "empty request\n");
		return -EINVAL;
	}
	if (!strcmp(argv[0], "status") && argc == 1) {
		status_text(d, out);
		return 0;
	}
	if (!strcmp(argv[0], "status") && argc == 2 && !strcmp(argv[1], "--json")) {
		status_json(d, out);
		return 0;
	}
	if (!strcmp(argv[0], "stats") && argc == 1) {
		req_stats(d, out);
		return 0;
	}
	if (!strcmp(argv[0], "top") && argc == 1) {
		top_snapshot(d, out);
		return 0;
	}
	if (!strcmp(argv[0], "reload") && argc == 1)
		return daemon_reload(d, "sluice reload", out);
	if (!strcmp(argv[0], "block"))
		return req_block(d, argc - 1, argv + 1, out);
	if (!strcmp(argv[0], "backend"))
		return backend_cmd(d, argc - 1, argv + 1, out);
	if (!strcmp(argv[0], "stop"))
		return req_stop(d, argc - 1, argv + 1, out);
	if (!strcmp(argv[0], "pods")) /* ctl/pod_info.c */
		return req_pods(d, argc - 1, argv + 1, out);
	buf_printf(out, "unknown request '%s'\n", argv[0]);
	return -EINVAL;
}

/* A request is one line. */
static bool has_newline(const char *buf, size_t len)
{
	return memchr(buf, '\n', len) != NULL;
}

/* Returns true when the connection stays open (an `events` stream). */
static bool serve(struct daemon *d, int fd)
{
	struct timeval rcv = {.tv_sec = 1}, snd = {.tv_sec = 5};
	char req[CONTROL_REQ_MAX + 1], *argv[MAX_WORDS], *save = NULL;
	struct buf out = {0};
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	size_t len;
	int argc = 0, rc;

	/* A client has one second to say what it wants: the loop serves
	 * everyone, and a stalled client must not hold up a reload. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		send_all(fd, "error\npermission denied\n", 24);
		return false;
	}
	len = recv_until(fd, req, CONTROL_REQ_MAX, has_newline);
	if (!memchr(req, '\n', len)) {
		send_all(fd, "error\nincomplete request\n", 25);
		return false;
	}
	*strchr(req, '\n') = 0;
	for (char *w = strtok_r(req, " ", &save); w && argc < MAX_WORDS;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	/* `events` streams: the reply goes on for as long as the client reads */
	if (argc && !strcmp(argv[0], "events")) {
		rc = evstream_subscribe(d, fd, argc - 1, argv + 1, &out);
		if (rc == 1) {
			buf_free(&out);
			return true;
		}
	} else {
		rc = dispatch(d, argc, argv, &out);
	}
	if (out.oom) {
		buf_free(&out);
		rc = -ENOMEM;
		buf_printf(&out, "out of memory writing the reply\n");
	}
	send_all(fd, rc ? "error\n" : "ok\n", rc ? 6 : 3);
	if (out.s)
		send_all(fd, out.s, out.len);
	buf_free(&out);
	return false;
}

void control_accept(struct daemon *d)
{
	for (;;) {
		int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN: all served */
		if (serve(d, fd))
			continue; /* an event stream: evstream.c owns it now */
		if (d->stopping && d->stop_conn < 0) {
			/* `sluice stop` reads until EOF: our exit is its answer */
			d->stop_conn = fd;
			return;
		}
		close(fd);
	}
}
