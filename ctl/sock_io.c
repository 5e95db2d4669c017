// SPDX-License-Identifier: GPL-2.0
/* sock_io.c - whole requests and replies over stream sockets: the control
 * socket (both ends) and the metrics endpoint. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"

int send_all(int fd, const void *p, size_t n)
{
	const char *at = p;

	while (n) {
		ssize_t w = send(fd, at, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno; /* the peer went away, or stalled past SO_SNDTIMEO */
		if (w == 0)
			return -EPIPE;
		at += w;
		n -= (size_t)w;
	}
	return 0;
}

size_t recv_until(int fd, char *buf, size_t cap, bool (*whole)(const char *buf, size_t len))
{
	size_t len = 0;

	while (len < cap) {
		ssize_t got = read(fd, buf + len, cap - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
		buf[len] = 0;
		if (whole(buf, len))
			break;
	}
	buf[len] = 0;
	return len;
}
