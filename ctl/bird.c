// SPDX-License-Identifier: GPL-2.0
/*
 * bird.c - BIRD 2's side of the VIP announcement: the include file and the
 * control socket.
 *
 * The control socket speaks BIRD's line protocol (doc/prog-intro and
 * sysdep/unix/main.c in BIRD's sources; what birdc speaks): every reply line
 * starts with a 4-digit code, then '-' when more lines of the reply follow
 * or ' ' on the reply's last line (a continuation line may also start with
 * a space instead of a code).  Codes 0xxx are success ("0001 BIRD 2.0.12
 * ready." is the greeting, "0003 Reconfigured", "0004 Reconfiguration in
 * progress", "0019 Nothing to do", "0024 ... queueing new config"), 1xxx
 * table data, 8xxx run-time errors and 9xxx parse errors ("9001 parse
 * error ..." when a configuration does not parse: BIRD then keeps running
 * the old one).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bird.h"

/* BIRD answers a local socket at once; a reconfigure with a large config
 * takes longer, but this only bounds how long the daemon's loop stalls. */
#define BIRD_TIMEOUT_SECS 3

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int bird_write_include(const char *path, const struct sluice_prefix *vips, size_t n, char *err,
		       size_t errlen)
{
	char tmp[PATH_MAX + 32], addr[64], line[128];
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int fd, rc = -1;

	if (!mem) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fprintf(mem,
		"# Written by sluice (pid %d): the VIPs this node announces.\n"
		"# Do not edit: the daemon rewrites it and asks BIRD to reconfigure.\n",
		(int)getpid());
	for (int fam = 4; fam <= 6; fam += 2) {
		fprintf(mem, "protocol static sluice_vips%d {\n\tipv%d;\n", fam, fam);
		for (size_t i = 0; i < n; i++) {
			if (vips[i].family != fam)
				continue;
			prefix_format(&vips[i], addr, sizeof(addr));
			snprintf(line, sizeof(line), "\troute %s blackhole;\n", addr);
			fputs(line, mem);
		}
		fputs("}\n", mem);
	}
	if (fclose(mem) || !text) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, text, len) || fsync(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

/* Read one reply (up to its last line) from BIRD; the last line's code, or
 * -1.  last gets the last line's text (without the code). */
static int read_reply(int fd, char *buf, size_t cap, size_t *have, char *last, size_t lastlen)
{
	for (;;) {
		char *nl;

		while ((nl = memchr(buf, '\n', *have))) {
			size_t ll = (size_t)(nl - buf);
			bool final = ll >= 5 && buf[0] >= '0' && buf[0] <= '9' && buf[4] == ' ';
			int code = final ? atoi(buf) : -1;

			if (final)
				snprintf(last, lastlen, "%.*s", (int)(ll - 5), buf + 5);
			memmove(buf, nl + 1, *have - ll - 1);
			*have -= ll + 1;
			if (final)
				return code;
		}
		if (*have + 1 >= cap)
			*have = 0; /* a line longer than the buffer: not the one we wait for */
		ssize_t r = read(fd, buf + *have, cap - *have - 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(last, lastlen, "%s",
				 errno == EAGAIN ? "no answer within the timeout"
						 : strerror(errno));
			return -1;
		}
		if (r == 0) {
			snprintf(last, lastlen, "BIRD closed the connection");
			return -1;
		}
		*have += (size_t)r;
	}
}

int bird_configure(const char *sock_path, char *reply, size_t replylen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = BIRD_TIMEOUT_SECS};
	char buf[4096], last[512];
	size_t have = 0;
	int fd, code;

	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		snprintf(reply, replylen, "socket path %s is too long", sock_path);
		return -1;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(reply, replylen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(reply, replylen, "cannot connect to BIRD at %s: %s", sock_path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	code = read_reply(fd, buf, sizeof(buf), &have, last, sizeof(last));
	if (code != 1) {
		snprintf(reply, replylen, "BIRD at %s: no greeting (%s)", sock_path,
			 code < 0 ? last : "unexpected code");
		close(fd);
		return -1;
	}
	if (write_all(fd, "configure\n", 10)) {
		snprintf(reply, replylen, "BIRD at %s: cannot send: %s", sock_path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	code = read_reply(fd, buf, sizeof(buf), &have, last, sizeof(last));
	close(fd);
	if (code < 0) {
		snprintf(reply, replylen, "BIRD at %s: configure: %s", sock_path, last);
		return -1;
	}
	snprintf(reply, replylen, "%04d %s", code, last);
	return code < 1000 ? 0 : -1;
}
