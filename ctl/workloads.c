// SPDX-License-Identifier: GPL-2.0
/*
 * workloads.c - the cache of cgroup ids and their paths: one walk of the
 * cgroup2 tree at start, inotify on every cgroup directory afterwards (a
 * container that lives for a second sends its packets long before anyone
 * reads the counters, and by then its directory is gone), and a walk again
 * whenever a read meets an id the cache does not know.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sluice_maps.h"
#include "workloads.h"

#define WL_MAX_DEPTH 32
/* Beyond this many cached cgroups, gone ones without counters are dropped
 * between reads too (reads prune the rest). */
#define WL_CACHE_SOFT_MAX 16384
#define WL_WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_ONLYDIR)

/* mountinfo escapes blanks in paths as \040 and so on */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

int workloads_find_root(char *buf, size_t len)
{
	struct statfs sf;
	char line[4096];
	FILE *f;
	int rc = -1;

	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(buf, len, "/sys/fs/cgroup");
		return 0;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep = strstr(line, " - cgroup2 ");

		/* id parent major:minor root MOUNTPOINT options ... - fstype ... */
		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			unescape(mnt);
			snprintf(buf, len, "%s", mnt);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/* ---- the cache: sorted by id ------------------------------------------------ */

static size_t lower_bound(const struct workloads *w, uint64_t id)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct wl_cgroup *wl_find(struct workloads *w, uint64_t id)
{
	size_t i = lower_bound(w, id);

	return i < w->n && w->v[i].id == id ? &w->v[i] : NULL;
}

static void full_path(const struct workloads *w, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", w->root, strcmp(rel, "/") ? rel : "");
}

bool wl_alive(const struct workloads *w, const struct wl_cgroup *c)
{
	char path[2 * PATH_MAX];
	struct stat st;

	if (!w->root[0])
		return true; /* nothing to check against: never take one for gone */
	if (c->gone_ns)
		return false;
	full_path(w, c->rel, path, sizeof(path));
	return stat(path, &st) == 0 && (uint64_t)st.st_ino == c->id;
}

static struct wl_cgroup *upsert(struct workloads *w, uint64_t id, const char *rel)
{
	size_t i = lower_bound(w, id);
	struct wl_cgroup *c;
	char *copy;

	if (i < w->n && w->v[i].id == id) {
		c = &w->v[i];
		if (strcmp(c->rel, rel)) { /* renamed (or the walk saw it first) */
			copy = strdup(rel);
			if (!copy)
				return c;
			free(c->rel);
			c->rel = copy;
			workload_name(rel, w->m, c->name, sizeof(c->name));
		}
		c->gone_ns = 0;
		c->seen = true;
		return c;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct wl_cgroup *more = realloc(w->v, cap * sizeof(*more));

		if (!more)
			return NULL;
		w->v = more;
		w->cap = cap;
	}
	copy = strdup(rel);
	if (!copy)
		return NULL;
	memmove(&w->v[i + 1], &w->v[i], (w->n - i) * sizeof(*w->v));
	w->n++;
	c = &w->v[i];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->rel = copy;
	c->wd = -1;
	c->seen = true;
	workload_name(rel, w->m, c->name, sizeof(c->name));
	return c;
}

/* Cache rel and everything below it; watch each directory for children. */
static void walk_dir(struct workloads *w, const char *rel, int depth)
{
	char path[2 * PATH_MAX];
	struct wl_cgroup *c;
	struct dirent *e;
	struct stat st;
	DIR *dir;

	full_path(w, rel, path, sizeof(path));
	dir = opendir(path);
	if (!dir)
		return; /* gone already: the read that meets its id reports it */
	if (fstat(dirfd(dir), &st) == 0 && (c = upsert(w, (uint64_t)st.st_ino, rel)) &&
	    w->ino_fd >= 0) {
		int wd = inotify_add_watch(w->ino_fd, path, WL_WATCH_MASK);

		/* the same directory gives the same wd; too many watches only
		 * cost promptness: reads walk again for unknown ids */
		if (wd >= 0)
			c->wd = wd;
	}
	while (depth < WL_MAX_DEPTH && (e = readdir(dir))) {
		char child[PATH_MAX];

		if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(rel, "/") ? rel : "",
			     e->d_name) >= (int)sizeof(child))
			continue;
		if (e->d_type == DT_UNKNOWN &&
		    (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		     !S_ISDIR(st.st_mode)))
			continue;
		walk_dir(w, child, depth + 1);
	}
	closedir(dir);
}

void workloads_walk(struct workloads *w)
{
	uint64_t now = mono_ns();

	if (!w->root[0])
		return;
	for (size_t i = 0; i < w->n; i++)
		w->v[i].seen = false;
	walk_dir(w, "/", 0);
	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].seen && !w->v[i].gone_ns)
			w->v[i].gone_ns = now;
	w->walks++;
}

int workloads_open(struct workloads *w, const char *root, int map_fd, int overflow_fd,
		   const struct sluice_model *m)
{
	memset(w, 0, sizeof(*w));
	w->map_fd = map_fd;
	w->overflow_fd = overflow_fd;
	w->m = m;
	w->ino_fd = -1;
	if (root)
		snprintf(w->root, sizeof(w->root), "%s", root);
	else if (workloads_find_root(w->root, sizeof(w->root)))
		w->root[0] = 0;
	if (!w->root[0])
		return 0;
	w->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	workloads_walk(w);
	return 0;
}

void workloads_close(struct workloads *w)
{
	if (w->ino_fd >= 0)
		close(w->ino_fd);
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].rel);
	free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
	w->ino_fd = -1;
}

void workloads_set_model(struct workloads *w, const struct sluice_model *m)
{
	w->m = m;
	for (size_t i = 0; i < w->n; i++)
		workload_name(w->v[i].rel, m, w->v[i].name, sizeof(w->v[i].name));
}

static struct wl_cgroup *by_wd(struct workloads *w, int wd)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].wd == wd)
			return &w->v[i];
	return NULL;
}

static void on_event(struct workloads *w, const struct inotify_event *ev, bool *rewalk)
{
	struct wl_cgroup *parent;
	char child[PATH_MAX];

	if (ev->mask & IN_Q_OVERFLOW) {
		*rewalk = true;
		return;
	}
	parent = by_wd(w, ev->wd);
	if (ev->mask & IN_IGNORED) {
		if (parent)
			parent->wd = -1;
		return;
	}
	if (!parent || !(ev->mask & IN_ISDIR) || !ev->len)
		return;
	if (snprintf(child, sizeof(child), "%s/%s", strcmp(parent->rel, "/") ? parent->rel : "",
		     ev->name) >= (int)sizeof(child))
		return;
	if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
		walk_dir(w, child, 1);
		return;
	}
	for (size_t i = 0; i < w->n; i++) /* IN_DELETE */
		if (!w->v[i].gone_ns && !strcmp(w->v[i].rel, child))
			w->v[i].gone_ns = mono_ns();
}

/* Nobody has read the counters for a long while and cgroups keep coming and
 * going: forget the gone ones that never sent a packet (no map entry). */
static void forget_silent_gone(struct workloads *w)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter *pc = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*pc)) : NULL;
	size_t k = 0;

	for (size_t i = 0; pc && i < w->n; i++) {
		if (w->v[i].gone_ns && bpf_map_lookup_elem(w->map_fd, &w->v[i].id, pc)) {
			free(w->v[i].rel);
			continue;
		}
		w->v[k++] = w->v[i];
	}
	if (pc)
		w->n = k;
	free(pc);
}

void workloads_handle(struct workloads *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool rewalk = false;
	ssize_t n;

	if (w->ino_fd < 0)
		return;
	while ((n = read(w->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			on_event(w, ev, &rewalk);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (rewalk)
		workloads_walk(w);
	if (w->n > WL_CACHE_SOFT_MAX)
		forget_silent_gone(w);
}
