// SPDX-License-Identifier: GPL-2.0
/* control_client.c - the CLI's side of the control socket. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "model.h"

const char *control_socket_path(const char *explicit_path)
{
	const char *env = getenv("SLUICE_SOCKET");

	if (explicit_path)
		return explicit_path;
	return env && *env ? env : SLUICE_CONTROL_SOCKET_DEFAULT;
}

/* Connect and send one request line; the fd, or -errno.  The write side
 * stays open: a streaming daemon takes end-of-file for the client leaving
 * (control_request shuts it down itself). */
static int connect_send(const char *path, int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct buf req = {0};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (int i = 0; i < argc; i++) {
		/* words travel space-separated on one line */
		if (strpbrk(argv[i], " \t\r\n") || !argv[i][0])
			return -EINVAL;
		buf_printf(&req, "%s%s", i ? " " : "", argv[i]);
	}
	buf_printf(&req, "\n");
	if (req.oom || req.len > CONTROL_REQ_MAX) {
		buf_free(&req);
		return -E2BIG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		buf_free(&req);
		return -errno;
	}
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : send_all(fd, req.s, req.len);
	buf_free(&req);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int control_request(const char *path, int argc, char **argv, bool *ok, struct buf *reply)
{
	int fd = connect_send(path, argc, argv), rc = 0;
	char chunk[4096];
	const char *nl;

	*ok = false;
	if (fd < 0)
		return fd;
	shutdown(fd, SHUT_WR);
	/* No timeout: a reload of a big config, or `stop` waiting for the
	 * daemon to exit, takes as long as it takes. */
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			goto out;
		}
		if (got == 0)
			break;
		buf_printf(reply, "%.*s", (int)got, chunk);
	}
	if (!reply->s) {
		rc = -EPIPE; /* the daemon went away without a word */
		goto out;
	}
	nl = strchr(reply->s, '\n');
	*ok = !strncmp(reply->s, "ok", 2) && (reply->s[2] == '\n' || !reply->s[2]);
	/* strip the status line: the caller gets the body */
	if (nl) {
		size_t skip = (size_t)(nl + 1 - reply->s);

		memmove(reply->s, nl + 1, reply->len - skip + 1);
		reply->len -= skip;
	} else {
		reply->len = 0;
		reply->s[0] = 0;
	}
out:
	close(fd);
	return rc;
}

int control_stream(const char *path, int argc, char **argv, control_line_fn fn, void *ctx,
		   volatile int *stop, struct buf *err)
{
	struct buf pending = {0};
	int fd = connect_send(path, argc, argv), state = 0; /* 0: status line, 1: ok, 2: error */
	char chunk[4096];

	if (fd < 0)
		return fd;
	while (!*stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t got;
		char *line, *nl;

		if (poll(&p, 1, 250) <= 0)
			continue; /* timeout, or a signal: look at *stop */
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (state == 2) {
			buf_printf(err, "%.*s", (int)got, chunk);
			continue;
		}
		buf_printf(&pending, "%.*s", (int)got, chunk);
		if (pending.oom)
			break;
		for (line = pending.s; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = 0;
			if (state == 0) {
				state = strcmp(line, "ok") ? 2 : 1;
				continue;
			}
			if (state == 2)
				buf_printf(err, "%s\n", line);
			else if (fn(line, ctx)) {
				*stop = 1;
				break;
			}
		}
		/* keep the unfinished line */
		pending.len = strlen(line);
		memmove(pending.s, line, pending.len + 1);
	}
	close(fd);
	buf_free(&pending);
	if (state == 0 && !*stop)
		return -EPIPE; /* gone without a word */
	return state == 2 ? 1 : 0;
}

int control_call(const char *path, int argc, char **argv)
{
	struct buf reply = {0};
	bool ok;
	int rc = control_request(path, argc, argv, &ok, &reply);

	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		buf_free(&reply);
		return cli_err(
		    "%s: no sluice daemon answers on %s (start it with sluice run -c FILE; "
		    "--socket PATH or SLUICE_SOCKET names another socket)",
		    argv[0], path);
	}
	if (rc == -EINVAL) {
		buf_free(&reply);
		return cli_err("%s: arguments must be non-empty words without blanks", argv[0]);
	}
	if (rc) {
		buf_free(&reply);
		return cli_err("%s: talking to the daemon on %s: %s", argv[0], path, strerror(-rc));
	}
	if (reply.len)
		fputs(reply.s, ok ? stdout : stderr);
	buf_free(&reply);
	return ok ? 0 : 1;
}
