// SPDX-License-Identifier: GPL-2.0
/* pins.c - the bpffs directory where sluice keeps its maps. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cli.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

int pins_prepare(const char *dir)
{
	struct statfs fs;

	if (statfs("/sys/fs/bpf", &fs) || fs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL))
			return cli_err("bpffs is not mounted on /sys/fs/bpf and mounting it failed: "
				       "%s (run: mount -t bpf bpf /sys/fs/bpf)",
				       strerror(errno));
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return cli_err("cannot create pin directory %s: %s", dir, strerror(errno));
	return 0;
}

int pins_open_map(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		cli_err("no sluice state at %s (%s): attach sluice to an interface first "
			"(sluice attach IFACE), or pass the right --pin-dir",
			path, strerror(errno));
	return fd;
}

int cmd_unpin(struct cli *c)
{
	DIR *d = opendir(c->pin_dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : cli_err("%s: %s", c->pin_dir, strerror(errno));
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir, e->d_name);
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	if (rmdir(c->pin_dir))
		return cli_err("cannot remove %s: %s", c->pin_dir, strerror(errno));
	printf("removed %d pins and %s\n", n, c->pin_dir);
	return 0;
}

int pins_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		cli_err("no sluice state at %s (%s): attach sluice first", dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		cli_err("a sluice daemon manages %s: change its config and run sluice reload (or "
			"use sluice block / sluice backend)",
			dir);
		return -1;
	}
	return fd;
}
