// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_blocks.c - runtime blocks (`sluice block add CIDR [--ttl 10m]`):
 * prefixes blocked on top of the config's blocklist, under their own list
 * id, until they expire or are deleted.  They are kept in memory and in a
 * small pinned map (ctl_blocks), so a restarted daemon keeps enforcing
 * them with the expiry they had.  Each change is one generation switch.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

struct ctl_block_key {
	uint8_t family, len;
	uint8_t auto_added; /* 1: an auto_block block (was padding: 0 = manual) */
	uint8_t pad;
	uint8_t addr[16];
};

struct ctl_block_val {
	uint64_t expires_ns; /* CLOCK_BOOTTIME, 0 = none */
	int64_t added;	     /* wall clock seconds */
};

static void to_key(const struct sluice_prefix *p, struct ctl_block_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->len = p->len;
	memcpy(k->addr, p->addr, 16);
}

/* Open the pinned map, or create and pin it (first run on this pin dir). */
static int open_or_create(const char *pin_dir, const char *name, uint32_t ksz, uint32_t vsz,
			  uint32_t max, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct bpf_map_info info = {0};
	uint32_t ilen = sizeof(info);
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen) || info.key_size != ksz ||
		    info.value_size != vsz) {
			snprintf(
			    err, errlen,
			    "%s is not the map this sluice expects (key %u, value %u "
			    "bytes): left by another version? remove it (it holds runtime state "
			    "only)",
			    path, info.key_size, info.value_size);
			close(fd);
			return -EINVAL;
		}
		return fd;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, ksz, vsz, max, &opts);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create map %s: %s", name, strerror(errno));
		return -errno;
	}
	if (bpf_obj_pin(fd, path)) {
		snprintf(err, errlen, "cannot pin %s: %s", path, strerror(errno));
		close(fd);
		return -errno;
	}
	return fd;
}

int blocks_open(struct daemon *d, char *err, size_t errlen)
{
	struct ctl_block_key key, next, *prev = NULL;
	uint64_t now = boot_ns();
	int fd = open_or_create(d->pin_dir, CTL_BLOCKS_MAP, sizeof(key),
				sizeof(struct ctl_block_val), RUNTIME_BLOCKS_MAX, err, errlen);

	if (fd < 0)
		return fd;
	d->fd_blocks = fd;
	d->blocks = calloc(RUNTIME_BLOCKS_MAX, sizeof(*d->blocks));
	if (!d->blocks) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct ctl_block_val v;
		struct runtime_block *b = &d->blocks[d->n_blocks];

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) || d->n_blocks >= RUNTIME_BLOCKS_MAX)
			continue;
		if ((key.family != 4 && key.family != 6) || key.len > (key.family == 4 ? 32 : 128))
			continue;
		if (v.expires_ns && v.expires_ns <= now)
			continue; /* blocks_expire() deletes it from the map */
		memset(b, 0, sizeof(*b));
		b->prefix.family = key.family;
		b->prefix.len = key.len;
		memcpy(b->prefix.addr, key.addr, 16);
		b->prefix.list_id = SLUICE_LIST_RUNTIME;
		b->expires_ns = v.expires_ns;
		b->added = v.added;
		b->auto_added = key.auto_added == 1;
		d->n_blocks++;
	}
	/* expired while no daemon ran: forget them in the map too */
	prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct ctl_block_val v;

		if (bpf_map_lookup_elem(fd, &next, &v) == 0 && v.expires_ns &&
		    v.expires_ns <= now) {
			bpf_map_delete_elem(fd, &next);
			prev = NULL;
			continue;
		}
		key = next;
		prev = &key;
	}
	if (d->n_blocks)
		dlog("adopted %zu runtime block%s from %s/%s", d->n_blocks,
		     d->n_blocks == 1 ? "" : "s", d->pin_dir, CTL_BLOCKS_MAP);
	return 0;
}

void blocks_close(struct daemon *d)
{
	if (d->fd_blocks > 0)
		close(d->fd_blocks);
	d->fd_blocks = -1;
	free(d->blocks);
	d->blocks = NULL;
	d->n_blocks = 0;
}

static struct runtime_block *find(struct daemon *d, const struct sluice_prefix *p)
{
	for (size_t i = 0; i < d->n_blocks; i++)
		if (prefix_same(&d->blocks[i].prefix, p))
			return &d->blocks[i];
	return NULL;
}

int blocks_persist(struct daemon *d, const struct runtime_block *b)
{
	struct ctl_block_key k;
	struct ctl_block_val v = {.expires_ns = b->expires_ns, .added = b->added};

	to_key(&b->prefix, &k);
	k.auto_added = b->auto_added ? 1 : 0;
	return bpf_map_update_elem(d->fd_blocks, &k, &v, BPF_ANY) ? -errno : 0;
}
#define persist blocks_persist

/* Under either kind's key: a prefix is recorded once, as one or the other. */
void blocks_unpersist(struct daemon *d, const struct sluice_prefix *p)
{
	struct ctl_block_key k;

	to_key(p, &k);
	bpf_map_delete_elem(d->fd_blocks, &k);
	k.auto_added = 1;
	bpf_map_delete_elem(d->fd_blocks, &k);
}
#define unpersist blocks_unpersist

static void say_switched(const struct daemon *d, struct buf *out)
{
	buf_printf(out, "effective now: generation %u, serial %u\n", d->dp.active, d->dp.serial);
}

int blocks_add(struct daemon *d, const char *cidr, const char *ttl, struct buf *out)
{
	struct sluice_prefix p;
	struct runtime_block *b, old = {0};
	char err[SLUICE_ERRLEN], txt[64], dur[32];
	int64_t secs = 0;
	bool existed;
	int rc;

	if (prefix_parse(cidr, &p, err, sizeof(err))) {
		buf_printf(out, "block add: %s\n", err);
		return -EINVAL;
	}
	if (ttl) {
		secs = parse_duration(ttl);
		if (secs <= 0) {
			buf_printf(out,
				   "block add: --ttl '%s' is not a duration (e.g. 90s, 10m, 2h, "
				   "7d; at most 10 years; leave it out for no expiry)\n",
				   ttl);
			return -EINVAL;
		}
	}
	p.list_id = SLUICE_LIST_RUNTIME;
	b = find(d, &p);
	existed = b != NULL;
	if (!b) {
		if (d->n_blocks >= RUNTIME_BLOCKS_MAX) {
			buf_printf(out,
				   "block add: already %d runtime blocks: put long-lived ones "
				   "in the config's blocklist\n",
				   RUNTIME_BLOCKS_MAX);
			return -ENOSPC;
		}
		b = &d->blocks[d->n_blocks++];
		memset(b, 0, sizeof(*b));
		b->prefix = p;
		b->added = (int64_t)time(NULL);
	} else {
		old = *b;
		if (b->auto_added) /* made manual: recorded under the manual key */
			unpersist(d, &p);
	}
	b->auto_added = false;
	b->expires_ns = secs ? boot_ns() + (uint64_t)secs * 1000000000ull : 0;
	rc = persist(d, b);
	if (!rc)
		rc = daemon_switch(d, &d->model, SW_LISTS, NULL, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "recording it in %s: %s", CTL_BLOCKS_MAP, strerror(-rc));
	if (rc) {
		/* the data path is unchanged: undo the bookkeeping */
		if (existed) {
			*b = old;
			unpersist(d, &p); /* under whichever kind's key it went */
			persist(d, b);
		} else {
			unpersist(d, &p);
			d->n_blocks--;
		}
		buf_printf(out, "block add: %s (nothing changed)\n", err);
		return rc;
	}
	d->runtime_changes++;
	prefix_format(&p, txt, sizeof(txt));
	if (secs)
		format_duration((uint64_t)secs, dur, sizeof(dur));
	buf_printf(out, "%s %s%s%s\n", existed ? "updated runtime block" : "blocked", txt,
		   secs ? " for " : " (no expiry)", secs ? dur : "");
	for (size_t i = 0; i < d->model.allow.n; i++) {
		if (prefix_covers(&d->model.allow.v[i], &p)) {
			char a[64];

			prefix_format(&d->model.allow.v[i], a, sizeof(a));
			buf_printf(out,
				   "note: %s lies inside allowlist prefix %s, and the allowlist "
				   "wins: addresses there are still let through\n",
				   txt, a);
			break;
		}
	}
	say_switched(d, out);
	dlog("runtime block %s %s%s%s", existed ? "updated:" : "added:", txt, secs ? ", ttl " : "",
	     secs ? dur : "");
	blocks_arm_timer(d);
	return 0;
}

int blocks_del(struct daemon *d, const char *cidr, struct buf *out)
{
	struct sluice_prefix p;
	struct runtime_block *b, old;
	char err[SLUICE_ERRLEN], txt[64];
	size_t idx;
	int rc;

	if (prefix_parse(cidr, &p, err, sizeof(err))) {
		buf_printf(out, "block del: %s\n", err);
		return -EINVAL;
	}
	prefix_format(&p, txt, sizeof(txt));
	b = find(d, &p);
	if (!b) {
		for (size_t i = 0; i < d->model.block.n; i++)
			if (prefix_same(&d->model.block.v[i], &p)) {
				buf_printf(
				    out,
				    "block del: %s is in the config's blocklist, not a runtime "
				    "block: remove it from %s and reload\n",
				    txt, d->conf_path);
				return -ENOENT;
			}
		buf_printf(out, "block del: %s is not a runtime block (see sluice block list)\n",
			   txt);
		return -ENOENT;
	}
	idx = (size_t)(b - d->blocks);
	old = *b;
	d->blocks[idx] = d->blocks[--d->n_blocks];
	rc = daemon_switch(d, &d->model, SW_LISTS, NULL, err, sizeof(err));
	if (rc) {
		d->blocks[d->n_blocks++] = d->blocks[idx];
		d->blocks[idx] = old;
		buf_printf(out, "block del: %s (nothing changed)\n", err);
		return rc;
	}
	unpersist(d, &p);
	d->runtime_changes++;
	buf_printf(out, "unblocked %s\n", txt);
	say_switched(d, out);
	dlog("runtime block removed: %s", txt);
	blocks_arm_timer(d);
	return 0;
}

static int by_prefix(const void *a, const void *b)
{
	return prefix_cmp(&((const struct runtime_block *)a)->prefix,
			  &((const struct runtime_block *)b)->prefix);
}

void blocks_list(const struct daemon *d, struct buf *out)
{
	struct runtime_block *sorted;
	uint64_t now = boot_ns();

	if (!d->n_blocks) {
		buf_printf(out, "no runtime blocks\n");
		return;
	}
	sorted = malloc(d->n_blocks * sizeof(*sorted));
	if (!sorted) {
		buf_printf(out, "out of memory\n");
		return;
	}
	memcpy(sorted, d->blocks, d->n_blocks * sizeof(*sorted));
	qsort(sorted, d->n_blocks, sizeof(*sorted), by_prefix);
	buf_printf(out, "%-43s %-12s %-19s  %s\n", "prefix", "expires in", "added (UTC)", "by");
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct runtime_block *b = &sorted[i];
		char txt[64], left[32] = "never", when[32] = "?";
		time_t added = (time_t)b->added;
		struct tm tm;

		prefix_format(&b->prefix, txt, sizeof(txt));
		if (b->expires_ns)
			format_duration(b->expires_ns > now
					    ? (b->expires_ns - now + 999999999ull) / 1000000000ull
					    : 0,
					left, sizeof(left));
		if (gmtime_r(&added, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		buf_printf(out, "%-43s %-12s %-19s  %s\n", txt, left, when,
			   b->auto_added ? "auto" : "manual");
	}
	free(sorted);
}

static void arm_at(struct daemon *d, uint64_t when_ns)
{
	struct itimerspec its = {0};

	if (d->timer_fd < 0)
		return;
	its.it_value.tv_sec = (time_t)(when_ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(when_ns % 1000000000ull);
	if (!when_ns)
		memset(&its, 0, sizeof(its)); /* disarm */
	timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void blocks_arm_timer(struct daemon *d)
{
	uint64_t next = 0;

	for (size_t i = 0; i < d->n_blocks; i++)
		if (d->blocks[i].expires_ns && (!next || d->blocks[i].expires_ns < next))
			next = d->blocks[i].expires_ns;
	arm_at(d, next);
}

void blocks_expire(struct daemon *d)
{
	uint64_t now = boot_ns();
	struct runtime_block *gone;
	size_t n_gone = 0;
	char err[SLUICE_ERRLEN];

	gone = malloc((d->n_blocks ? d->n_blocks : 1) * sizeof(*gone));
	if (!gone) {
		arm_at(d, now + 1000000000ull);
		return;
	}
	for (size_t i = 0; i < d->n_blocks;) {
		if (d->blocks[i].expires_ns && d->blocks[i].expires_ns <= now) {
			gone[n_gone++] = d->blocks[i];
			d->blocks[i] = d->blocks[--d->n_blocks];
			continue;
		}
		i++;
	}
	if (!n_gone) {
		free(gone);
		blocks_arm_timer(d);
		return;
	}
	/* one switch for every block that expired at once */
	if (daemon_switch(d, &d->model, SW_LISTS, NULL, err, sizeof(err))) {
		dlog("error: expiring %zu runtime block%s: %s; retrying in 1 s", n_gone,
		     n_gone == 1 ? "" : "s", err);
		memcpy(&d->blocks[d->n_blocks], gone, n_gone * sizeof(*gone));
		d->n_blocks += n_gone;
		free(gone);
		arm_at(d, now + 1000000000ull);
		return;
	}
	for (size_t i = 0; i < n_gone; i++) {
		char txt[64];

		prefix_format(&gone[i].prefix, txt, sizeof(txt));
		unpersist(d, &gone[i].prefix);
		dlog("%s block expired: %s", gone[i].auto_added ? "auto" : "runtime", txt);
		d->syn.expired += gone[i].auto_added;
	}
	d->runtime_changes++;
	free(gone);
	blocks_arm_timer(d);
}
