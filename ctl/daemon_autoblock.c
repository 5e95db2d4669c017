// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_autoblock.c - auto-block: XDP sends one request per source that
 * its SYN token bucket dropped `threshold` times within `window` (see
 * xdp/syn_bucket.h); every SYN_TICK_MS the daemon reads what came in and
 * turns it into runtime blocks of auto_block.prefix4/prefix6 with the TTL,
 * all of a batch in one generation switch, like any other runtime block
 * (daemon_blocks.c expires them, persists them, lists them marked "auto").
 *
 * Never blocked: sources inside an allowlist prefix (XDP exempts them from
 * the buckets already; checked again here for the prefix the block would
 * cover).  At most auto_block.max auto blocks at once: the rest are counted
 * as capped, and XDP asks again for a source still flooding after the TTL.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static int on_request(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	struct syn_defence *s = &d->syn;

	if (len < sizeof(struct sluice_autoblock_req))
		return 0;
	s->requests++;
	if (s->n_pending >= AUTOBLOCK_PENDING_MAX) {
		s->overflow++; /* XDP asks again after the TTL if it still floods */
		return 0;
	}
	memcpy(&s->pending[s->n_pending++], data, sizeof(struct sluice_autoblock_req));
	return 0;
}

int autoblock_open(struct daemon *d)
{
	char path[PATH_MAX + 32];

	d->syn.cfg_fd = d->syn.rb_fd = -1;
	snprintf(path, sizeof(path), "%s/syn_auto", d->pin_dir);
	d->syn.cfg_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/autoblock_rb", d->pin_dir);
	d->syn.rb_fd = bpf_obj_get(path);
	if (d->syn.cfg_fd < 0 || d->syn.rb_fd < 0) {
		dlog("warning: no syn_auto/autoblock_rb in %s (pinned by an older sluice): "
		     "auto_block is off",
		     d->pin_dir);
		return 0;
	}
	d->syn.pending = calloc(AUTOBLOCK_PENDING_MAX, sizeof(*d->syn.pending));
	d->syn.rb = d->syn.pending ? ring_buffer__new(d->syn.rb_fd, on_request, d, NULL) : NULL;
	if (!d->syn.rb) {
		dlog("error: reading auto-block requests: %s", strerror(errno));
		return -1;
	}
	autoblock_configure(d);
	return 0;
}

void autoblock_close(struct daemon *d)
{
	if (d->syn.rb)
		ring_buffer__free(d->syn.rb);
	if (d->syn.cfg_fd >= 0)
		close(d->syn.cfg_fd);
	if (d->syn.rb_fd >= 0)
		close(d->syn.rb_fd);
	free(d->syn.pending);
	d->syn.rb = NULL;
	d->syn.pending = NULL;
	d->syn.cfg_fd = d->syn.rb_fd = -1;
}

void autoblock_configure(struct daemon *d)
{
	const struct auto_block_cfg *a = &d->model.auto_block;
	struct sluice_auto_cfg cfg = {0};
	uint32_t zero = 0;

	if (d->syn.cfg_fd < 0)
		return;
	if (a->on)
		cfg = (struct sluice_auto_cfg){.threshold = a->threshold,
					       .window_ns = a->window_ms * 1000000ull,
					       .rearm_ns = a->ttl_ms * 1000000ull};
	if (bpf_map_update_elem(d->syn.cfg_fd, &zero, &cfg, BPF_ANY))
		dlog("error: writing the auto_block settings: %s", strerror(errno));
}

size_t autoblock_active(const struct daemon *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_blocks; i++)
		n += d->blocks[i].auto_added;
	return n;
}

static bool overlaps(const struct sluice_prefix *a, const struct sluice_prefix *b)
{
	return prefix_covers(a, b) || prefix_covers(b, a);
}

/* The request's source (its /32, or its /64) and the block it becomes. */
static void request_prefixes(const struct daemon *d, const struct sluice_autoblock_req *r,
			     struct sluice_prefix *src, struct sluice_prefix *blk)
{
	memset(src, 0, sizeof(*src));
	src->family = r->family == 6 ? 6 : 4;
	memcpy(src->addr, r->addr, src->family == 4 ? 4 : 16);
	src->len = src->family == 4 ? 32 : 64;
	*blk = *src;
	blk->len = src->family == 4 ? d->model.auto_block.prefix4 : d->model.auto_block.prefix6;
	prefix_mask(blk->addr, blk->len);
	blk->list_id = SLUICE_LIST_RUNTIME;
}

/* Is this block allowed to exist?  Not over an allowlisted source, and not
 * over any allowlist prefix at all (an auto /24 around an allowed /32 would
 * still let that /32 through, but it is not ours to widen to). */
static bool hits_allowlist(const struct daemon *d, const struct sluice_prefix *src,
			   const struct sluice_prefix *blk)
{
	for (size_t i = 0; i < d->model.allow.n; i++)
		if (prefix_covers(&d->model.allow.v[i], src) || overlaps(&d->model.allow.v[i], blk))
			return true;
	return false;
}

static bool already_blocked(const struct daemon *d, const struct sluice_prefix *blk)
{
	for (size_t i = 0; i < d->n_blocks; i++)
		if (prefix_covers(&d->blocks[i].prefix, blk))
			return true;
	for (size_t i = 0; i < d->model.block.n; i++)
		if (prefix_covers(&d->model.block.v[i], blk))
			return true;
	return false;
}

static void apply_batch(struct daemon *d)
{
	const struct auto_block_cfg *a = &d->model.auto_block;
	struct syn_defence *s = &d->syn;
	size_t first = d->n_blocks, active = autoblock_active(d), n_added;
	uint64_t expires = boot_ns() + a->ttl_ms * 1000000ull;
	char err[SLUICE_ERRLEN], ttl[32], names[256] = "";
	size_t used = 0;

	for (size_t i = 0; i < s->n_pending; i++) {
		struct sluice_prefix src, blk;
		struct runtime_block *b;

		request_prefixes(d, &s->pending[i], &src, &blk);
		if (hits_allowlist(d, &src, &blk)) {
			s->allowlisted++;
			continue;
		}
		if (already_blocked(d, &blk)) {
			s->already++; /* a /24 several sources asked for, or in flight */
			continue;
		}
		if (active >= a->max || d->n_blocks >= RUNTIME_BLOCKS_MAX) {
			s->capped++;
			continue;
		}
		b = &d->blocks[d->n_blocks++];
		memset(b, 0, sizeof(*b));
		b->prefix = blk;
		b->expires_ns = expires;
		b->added = (int64_t)time(NULL);
		b->auto_added = true;
		active++;
		if (blocks_persist(d, b))
			dlog("warning: recording auto block in %s: %s (it holds until the "
			     "daemon restarts)",
			     CTL_BLOCKS_MAP, strerror(errno));
	}
	s->n_pending = 0;
	n_added = d->n_blocks - first;
	if (!n_added)
		return;
	if (daemon_switch(d, &d->model, SW_LISTS, NULL, err, sizeof(err))) {
		/* the data path is unchanged: forget the batch (XDP asks again
		 * after the TTL for sources still flooding) */
		for (size_t i = first; i < d->n_blocks; i++)
			blocks_unpersist(d, &d->blocks[i].prefix);
		d->n_blocks = first;
		dlog("error: applying %zu auto block%s: %s", n_added, n_added == 1 ? "" : "s", err);
		return;
	}
	s->added += n_added;
	d->runtime_changes++;
	for (size_t i = first; i < d->n_blocks && i < first + 8; i++) {
		char txt[64];

		prefix_format(&d->blocks[i].prefix, txt, sizeof(txt));
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
					 i > first ? ", " : "", txt);
	}
	if (n_added > 8)
		snprintf(names + used, sizeof(names) - used, " (+%zu more)", n_added - 8);
	format_duration(a->ttl_ms / 1000, ttl, sizeof(ttl));
	dlog("auto-blocked %zu prefix%s for %s (SYN budget exceeded): %s; generation %u, serial %u",
	     n_added, n_added == 1 ? "" : "es", ttl, names, d->dp.active, d->dp.serial);
	blocks_arm_timer(d);
}

void autoblock_tick(struct daemon *d)
{
	if (!d->syn.rb)
		return;
	ring_buffer__consume(d->syn.rb);
	if (!d->syn.n_pending)
		return;
	if (!d->model.auto_block.on) { /* reloaded off: requests sent before */
		d->syn.n_pending = 0;
		return;
	}
	apply_batch(d);
}

void autoblock_status(const struct daemon *d, struct buf *out)
{
	const struct auto_block_cfg *a = &d->model.auto_block;
	const struct syn_defence *s = &d->syn;
	char ttl[32];

	if (!a->on) {
		buf_printf(out, "auto-block:    off\n");
		return;
	}
	format_duration(a->ttl_ms / 1000, ttl, sizeof(ttl));
	buf_printf(out,
		   "auto-block:    %zu active (max %u); %llu added, %llu expired, %llu capped, "
		   "%llu allowlisted, %llu requests (threshold %u drops in %llu ms, /%u /%u, "
		   "ttl %s)\n",
		   autoblock_active(d), a->max, (unsigned long long)s->added,
		   (unsigned long long)s->expired, (unsigned long long)s->capped,
		   (unsigned long long)s->allowlisted, (unsigned long long)s->requests,
		   a->threshold, (unsigned long long)a->window_ms, a->prefix4, a->prefix6, ttl);
}

void autoblock_prom(const struct daemon *d, struct buf *o)
{
	const struct syn_defence *s = &d->syn;
	const struct prom_result results[] = {
	    {"added", s->added},
	    {"expired", s->expired},
	    {"capped", s->capped},
	    {"allowlisted", s->allowlisted},
	    {"already_blocked", s->already},
	    {"overflow", s->overflow},
	};

	prom_help(o, "sluice_auto_blocks", "gauge",
		  "Prefixes blocked by auto_block now.");
	buf_printf(o, "sluice_auto_blocks %zu\n",
		   autoblock_active(d));
	prom_results(o, "sluice_auto_block_total",
		     "Auto-block requests from XDP, by what became of them.", results,
		     sizeof(results) / sizeof(results[0]));
	prom_help(o, "sluice_auto_block_requests_total", "counter",
		  "Auto-block requests read from XDP.");
	buf_printf(o, "sluice_auto_block_requests_total %llu\n", (unsigned long long)s->requests);
}
