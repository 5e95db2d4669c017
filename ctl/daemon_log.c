// SPDX-License-Identifier: GPL-2.0
/* daemon_log.c - log lines and systemd readiness notification. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log_line.h"

/* stderr, one line each: under systemd the journal adds time and unit, in
 * a terminal or a test log the lines speak for themselves. */
void dlog(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(stderr, fmt, ap);
	va_end(ap);
}

void dlog_bad_line(void *ctx, const char *line)
{
	(void)ctx;
	dlog("%s", line);
}

void dlog_lines(const char *text)
{
	for (const char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		dlog("%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
	}
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (an
 * abstract address when it starts with '@').  Type=notify units wait for
 * READY=1, and see RELOADING=1 ... READY=1 around a reload. */
void daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		dlog("warning: sd_notify to %s failed", path);
	close(fd);
}
