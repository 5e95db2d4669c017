// SPDX-License-Identifier: GPL-2.0
/*
 * top_render.c - one `sluice top` frame from two snapshots: rates over the
 * interval between them, totals from the newer one.  Sections without rows
 * are left out; the busiest rows of each come first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_maps.h"
#include "top.h"

#define MAX_ROWS 12 /* per section */

struct ctx {
	const struct top_snap *cur, *prev;
	double dt;
	int width;
	struct buf *out;
};

/* Append one line, cut to the terminal's width. */
static void line(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct ctx *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (c->width > 0 && (int)strlen(buf) > c->width)
		buf[c->width] = 0;
	buf_printf(c->out, "%s\n", buf);
}

static void blank(struct ctx *c)
{
	buf_printf(c->out, "\n");
}

/* 1234 -> "1234", 12345 -> "12.3k", 1234567 -> "1.23M" */
static const char *si(double v, char *buf, size_t len)
{
	static const char *const unit[] = {"", "k", "M", "G", "T"};
	int u = 0;

	if (v < 0)
		v = 0;
	while (v >= 10000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 100 ? "%.2f%s" : "%.1f%s", v, unit[u]);
	return buf;
}

static bool same_row(const struct top_row *a, const struct top_row *b)
{
	return !strcmp(a->kind, b->kind) && !strcmp(a->name, b->name) &&
	       (strcmp(a->kind, "reason") || a->v[0] == b->v[0]);
}

/* Per-second rate of field f of row r since the previous snapshot (a row
 * that is new counts from zero). */
static double rate(const struct ctx *c, const struct top_row *r, int f)
{
	const struct top_row *p = NULL;

	if (!c->prev || c->dt <= 0)
		return 0;
	for (size_t i = 0; i < c->prev->n && !p; i++)
		if (same_row(&c->prev->rows[i], r))
			p = &c->prev->rows[i];
	if (p && p->v[f] > r->v[f])
		return 0; /* a counter that went back: the daemon restarted */
	return (double)(r->v[f] - (p ? p->v[f] : 0)) / c->dt;
}

struct sorted {
	const struct top_row *r;
	double key;
};

static int by_key(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;

	return x->key < y->key ? 1 : x->key > y->key ? -1 : strcmp(x->r->name, y->r->name);
}

/* Rows of a kind, busiest first: key = rate of field f plus a tiny share
 * of the total (so that equal rates fall back to the total). */
static size_t pick(const struct ctx *c, const char *kind, int f, int total_f, struct sorted *v,
		   size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->cur->n && n < max; i++)
		if (!strcmp(c->cur->rows[i].kind, kind)) {
			v[n].r = &c->cur->rows[i];
			v[n++].key = rate(c, &c->cur->rows[i], f) +
				     (double)c->cur->rows[i].v[total_f] * 1e-12;
		}
	qsort(v, n, sizeof(*v), by_key);
	return n;
}

static void header(struct ctx *c)
{
	const struct top_row *d = top_find(c->cur, "daemon", NULL);
	unsigned long long up = d ? d->v[1] : 0;

	if (!d)
		return;
	line(c,
	     "sluice top - daemon pid %llu, up %lluh%02llum%02llus, generation %llu serial %llu, "
	     "%llu CPUs, %s",
	     (unsigned long long)d->v[0], up / 3600, up / 60 % 60, up % 60,
	     (unsigned long long)d->v[2], (unsigned long long)d->v[3], (unsigned long long)d->v[4],
	     d->name);
}

static void traffic(struct ctx *c, struct sorted *v, size_t max)
{
	double pps = 0, bps = 0, dps = 0;
	unsigned long long packets = 0, drops = 0;
	size_t n = pick(c, "reason", 1, 1, v, max);
	const struct top_row *ev = top_find(c->cur, "evstat", NULL);
	const struct top_row *smp = top_find(c->cur, "sampling", NULL);
	char a[16], b[16], d[16], e[16], f[16];

	for (size_t i = 0; i < n; i++) {
		bool drop = v[i].r->v[0] == 1; /* XDP_DROP */

		pps += rate(c, v[i].r, 1);
		bps += rate(c, v[i].r, 2);
		packets += v[i].r->v[1];
		if (drop) {
			dps += rate(c, v[i].r, 1);
			drops += v[i].r->v[1];
		}
	}
	blank(c);
	line(c, "XDP       %10s %10s %10s %14s %14s", "pkts/s", "bytes/s", "drops/s", "packets",
	     "dropped");
	line(c, "  total   %10s %10s %10s %14llu %14llu", si(pps, a, sizeof(a)),
	     si(bps, b, sizeof(b)), si(dps, d, sizeof(d)), packets, drops);
	if (ev)
		line(
		    c,
		    "  events: %s/s sent, %s/s sampled out, %llu lost; sampling 1 in %llu, at most "
		    "%llu/s per CPU and reason",
		    si(rate(c, ev, 0), e, sizeof(e)), si(rate(c, ev, 1), f, sizeof(f)),
		    (unsigned long long)ev->v[2], smp ? (unsigned long long)smp->v[0] : 0ull,
		    smp ? (unsigned long long)smp->v[1] : 0ull);
	blank(c);
	line(c, "%-26s %-8s %10s %10s %14s", "REASON", "ACTION", "pkts/s", "bytes/s", "packets");
	for (size_t i = 0; i < n && i < MAX_ROWS; i++) {
		const struct top_row *r = v[i].r;
		uint64_t act = r->v[0] < SLUICE_ACTION_MAX ? r->v[0] : 0;

		line(c, "  %-24s %-8s %10s %10s %14llu", r->name, sluice_action_names[act],
		     si(rate(c, r, 1), a, sizeof(a)), si(rate(c, r, 2), b, sizeof(b)),
		     (unsigned long long)r->v[1]);
	}
	n = pick(c, "tc", 0, 0, v, max);
	if (n)
		line(c, "%-35s %10s %10s %14s", "TC (uplink, pod veths)", "pkts/s", "bytes/s",
		     "packets");
	for (size_t i = 0; i < n && i < MAX_ROWS; i++)
		line(c, "  %-33s %10s %10s %14llu", v[i].r->name,
		     si(rate(c, v[i].r, 0), a, sizeof(a)), si(rate(c, v[i].r, 1), b, sizeof(b)),
		     (unsigned long long)v[i].r->v[0]);
}

static void sources(struct ctx *c, struct sorted *v, size_t max)
{
	size_t n = 0;
	char a[16];

	/* the daemon ranks them (sliding window): keep its order */
	for (size_t i = 0; i < c->cur->n && n < max; i++)
		if (!strcmp(c->cur->rows[i].kind, "source"))
			v[n++].r = &c->cur->rows[i];
	if (!n)
		return;
	blank(c);
	line(c, "%-40s %7s %10s %-14s %7s  %s", "TOP DROPPED SOURCES (sampled events)", "ev/s",
	     "events", "reason", "last", "list");
	for (size_t i = 0; i < n && i < MAX_ROWS; i++) {
		const struct top_row *r = v[i].r;
		char addr[64] = "", reason[40] = "";
		int used = 0;

		sscanf(r->name, "%63s %39s %n", addr, reason, &used);
		line(c, "  %-38s %7s %10llu %-14s %6.1fs  %s", addr,
		     si(rate(c, r, 0), a, sizeof(a)), (unsigned long long)r->v[0], reason,
		     (double)r->v[2] / 1000, used ? r->name + used : "-");
	}
	n = 0;
	for (size_t i = 0; i < c->cur->n && n < max; i++)
		if (!strcmp(c->cur->rows[i].kind, "prefix"))
			v[n++].r = &c->cur->rows[i];
	if (n)
		line(c, "%-40s %7s %10s", "TOP DROPPED PREFIXES (/24, /48)", "ev/s", "events");
	for (size_t i = 0; i < n && i < MAX_ROWS; i++)
		line(c, "  %-38s %7s %10llu", v[i].r->name, si(rate(c, v[i].r, 0), a, sizeof(a)),
		     (unsigned long long)v[i].r->v[0]);
}

static void lists(struct ctx *c, struct sorted *v, size_t max)
{
	size_t n = pick(c, "list", 1, 1, v, max);
	char a[16];

	if (!n)
		return;
	blank(c);
	line(c, "%-8s %10s %14s  %s", "LIST", "pkts/s", "packets",
	     "source (drops for blocklists, "
	     "passes for allowlists)");
	for (size_t i = 0; i < n && i < MAX_ROWS; i++)
		line(c, "  %-6llu %10s %14llu  %s", (unsigned long long)v[i].r->v[0],
		     si(rate(c, v[i].r, 1), a, sizeof(a)), (unsigned long long)v[i].r->v[1],
		     v[i].r->name);
}

static void services(struct ctx *c, struct sorted *v, size_t max)
{
	static const char *const kinds[] = {"service", "backend"};
	char a[16], b[16], f[16];

	for (int k = 0; k < 2; k++) {
		size_t n = pick(c, kinds[k], 0, 0, v, max);

		if (!n)
			continue;
		if (!k)
			blank(c);
		line(c, "%-32s %10s %10s %12s %14s", k ? "BACKENDS" : "SERVICES", "pkts/s",
		     "bytes/s", "new flows/s", "packets");
		for (size_t i = 0; i < n && i < MAX_ROWS; i++)
			line(c, "  %-30s %10s %10s %12s %14llu", v[i].r->name,
			     si(rate(c, v[i].r, 0), a, sizeof(a)),
			     si(rate(c, v[i].r, 1), b, sizeof(b)),
			     si(rate(c, v[i].r, 2), f, sizeof(f)),
			     (unsigned long long)v[i].r->v[0]);
	}
}

static void pods(struct ctx *c, struct sorted *v, size_t max)
{
	size_t n = pick(c, "pod", 1, 1, v, max);
	char a[16], b[16], d[16], e[16];

	if (!n)
		return;
	/* busiest by rx + tx bytes */
	for (size_t i = 0; i < n; i++)
		v[i].key = rate(c, v[i].r, 1) + rate(c, v[i].r, 3) +
			   (double)(v[i].r->v[1] + v[i].r->v[3]) * 1e-12;
	qsort(v, n, sizeof(*v), by_key);
	blank(c);
	line(c, "%-24s %10s %10s %10s %10s %14s %14s", "PODS", "rx pkts/s", "rx bytes/s",
	     "tx pkts/s", "tx bytes/s", "rx/tx packets", "denied in/out");
	for (size_t i = 0; i < n && i < MAX_ROWS; i++) {
		const struct top_row *r = v[i].r;
		char tot[40], den[40];

		snprintf(tot, sizeof(tot), "%llu/%llu", (unsigned long long)r->v[0],
			 (unsigned long long)r->v[2]);
		snprintf(den, sizeof(den), "%llu/%llu", (unsigned long long)r->v[4],
			 (unsigned long long)r->v[5]);
		line(c, "  %-22s %10s %10s %10s %10s %14s %14s", r->name,
		     si(rate(c, r, 0), a, sizeof(a)), si(rate(c, r, 1), b, sizeof(b)),
		     si(rate(c, r, 2), d, sizeof(d)), si(rate(c, r, 3), e, sizeof(e)), tot, den);
	}
}

static void workloads(struct ctx *c, struct sorted *v, size_t max)
{
	size_t n = pick(c, "workload", 1, 1, v, max);
	char a[16], b[16];

	if (!n)
		return;
	blank(c);
	line(c, "%-40s %10s %10s %12s %14s", "WORKLOADS (node's own traffic, by cgroup)", "pkts/s",
	     "bytes/s", "packets", "bytes");
	for (size_t i = 0; i < n && i < MAX_ROWS; i++) {
		const struct top_row *r = v[i].r;

		line(c, "  %-38s %10s %10s %12llu %14llu%s", r->name,
		     si(rate(c, r, 0), a, sizeof(a)), si(rate(c, r, 1), b, sizeof(b)),
		     (unsigned long long)r->v[0], (unsigned long long)r->v[1],
		     r->v[3] ? "  (gone)" : "");
	}
	if (n > MAX_ROWS)
		line(c, "  ... %zu more", n - MAX_ROWS);
}

void top_render(const struct top_snap *cur, const struct top_snap *prev, int width, struct buf *out)
{
	struct ctx c = {.cur = cur, .prev = prev, .width = width, .out = out};
	size_t max = cur->n ? cur->n : 1;
	struct sorted *v = calloc(max, sizeof(*v));

	if (!v)
		return;
	c.dt = prev ? cur->at - prev->at : 0;
	header(&c);
	traffic(&c, v, max);
	sources(&c, v, max);
	lists(&c, v, max);
	services(&c, v, max);
	pods(&c, v, max);
	workloads(&c, v, max);
	free(v);
}
