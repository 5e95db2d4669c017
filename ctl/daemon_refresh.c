// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_refresh.c - scheduled refresh of list files (feeds).  Every
 * list_refresh_secs the daemon takes a signature of each list file (mtime,
 * size and a CRC-32 of the content: a feed rewritten in place within the
 * same second still differs) and, when one changed, reloads through the
 * ordinary reload path: parse and validate everything, then one generation
 * switch.  A file that fails to parse keeps the running lists in force and
 * is reported, like any failed reload.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zlib.h>

#include "daemon.h"

static uint64_t file_signature(const char *path)
{
	struct stat st;
	uLong crc = crc32(0L, Z_NULL, 0);
	char buf[65536];
	ssize_t n;
	int fd;

	if (stat(path, &st))
		return 1; /* missing: a signature of its own */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, (const Bytef *)buf, (uInt)n);
	close(fd);
	return ((uint64_t)crc << 32) ^ (uint64_t)st.st_size ^ (uint64_t)st.st_mtim.tv_nsec ^
	       ((uint64_t)st.st_mtim.tv_sec << 20);
}

/* One number for all list files of the running model. */
static uint64_t lists_signature(const struct daemon *d)
{
	uint64_t sig = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < d->model.n_list_sources; i++) {
		const char *what = d->model.list_sources[i].what;

		if (what[0] != '/')
			continue; /* inline prefixes live in the config file itself */
		sig = (sig ^ file_signature(what)) * 0x100000001b3ull;
	}
	return sig;
}

int daemon_refresh_arm(struct daemon *d)
{
	struct itimerspec its = {0};

	if (d->refresh_fd < 0)
		return 0;
	d->lists_sig = lists_signature(d);
	if (d->model.list_refresh_secs) {
		its.it_value.tv_sec = d->model.list_refresh_secs;
		its.it_interval.tv_sec = d->model.list_refresh_secs;
	}
	return timerfd_settime(d->refresh_fd, 0, &its, NULL);
}

void daemon_refresh_tick(struct daemon *d)
{
	uint64_t ticks, sig;
	struct buf out = {0};

	if (read(d->refresh_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	sig = lists_signature(d);
	if (sig == d->lists_sig)
		return;
	dlog("list refresh: a list file changed; reloading %s", d->conf_path);
	daemon_reload(d, "list refresh", &out);
	if (out.s)
		dlog_lines(out.s);
	buf_free(&out);
	/* a failed reload keeps the old lists: remember this content anyway,
	 * so a broken feed is reported once, not at every tick */
	d->lists_sig = sig;
}
