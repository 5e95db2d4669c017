// SPDX-License-Identifier: GPL-2.0
/* fuzz_common.c - scratch files for the libFuzzer harnesses. */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];

static void cleanup(void)
{
	char path[PATH_MAX + 32];
	static const char *const names[] = {"block.txt", "allow.txt", "input.conf", "input.txt",
					    "arg.conf", NULL};

	for (int i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void put(const char *name, const char *text)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

const char *fuzz_dir(void)
{
	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/sluice-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			abort();
		}
		put("block.txt", "# a list\n192.0.2.0/24\n2001:db8::/32 ; comment\n\n10.0.0.1\n");
		put("allow.txt", "192.0.2.7\n2001:db8::7/128\n");
		atexit(cleanup);
	}
	return dir;
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
	static char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	while (size) {
		ssize_t n = write(fd, data, size);

		if (n <= 0) {
			close(fd);
			return NULL;
		}
		data += n;
		size -= (size_t)n;
	}
	close(fd);
	return path;
}
