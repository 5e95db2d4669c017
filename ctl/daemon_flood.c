// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_flood.c - flood mode: every SYN_TICK_MS the daemon reads the SYNs
 * XDP saw (the per-CPU map syn_seen, summed) and turns flood mode on
 * once the rate has stayed at or above syn_flood.on_pps for on_for, off
 * once it has stayed below off_pps for off_for.  The two thresholds and
 * the two hold times are the hysteresis: a rate hovering around one
 * threshold does not flap.  The state is sluice_state.flood_mode, one map
 * write outside the generations (dp_commit carries it over), which XDP
 * copies into the metadata tag (SMF_FLOOD_MODE) and the SYN-cookie code
 * reads.  syn_seen counts every SYN XDP sees, blocked ones too: a flood
 * that auto-block holds off is still a flood.
 *
 * The same timer drives the auto-block batches (daemon_autoblock.c).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon.h"

static int syn_seen(const struct daemon *d, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t k = 0;
	uint64_t *v;

	if (ncpu <= 0 || d->syn.seen_fd < 0)
		return -1;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	if (bpf_map_lookup_elem(d->syn.seen_fd, &k, v)) {
		free(v);
		return -1;
	}
	*sum = 0;
	for (int c = 0; c < ncpu; c++)
		*sum += v[c];
	free(v);
	return 0;
}

static int write_flood(struct daemon *d, bool on)
{
	struct sluice_state st;
	uint32_t zero = 0;

	/* the daemon is the only writer of sluice_state, and single-threaded:
	 * no generation switch runs between this read and write */
	if (bpf_map_lookup_elem(d->dp.state_fd, &zero, &st))
		return -errno;
	st.flood_mode = on ? 1 : 0;
	if (bpf_map_update_elem(d->dp.state_fd, &zero, &st, BPF_ANY))
		return -errno;
	return 0;
}

static void set_state(struct daemon *d, bool on, uint64_t now, const char *why)
{
	struct syn_defence *s = &d->syn;
	double held = (double)(now - s->flood_since_ns) / 1e9;
	int rc = write_flood(d, on);

	if (rc) {
		dlog("error: switching flood mode %s: %s", on ? "on" : "off", strerror(-rc));
		return;
	}
	s->flood_on = on;
	s->transitions++;
	s->cond_since_ns = 0;
	dlog("flood mode %s: %s (after %.1f s %s)", on ? "ON" : "off", why, held,
	     on ? "off" : "on");
	if (on)
		s->peak_pps = s->pps;
	s->flood_since_ns = now;
}

static void flood_sample(struct daemon *d)
{
	const struct syn_flood_cfg *f = &d->model.syn_flood;
	struct syn_defence *s = &d->syn;
	uint64_t now = boot_ns(), seen, held;
	char why[160];

	if (syn_seen(d, &seen))
		return;
	if (s->sample_ns && now > s->sample_ns && seen >= s->syn_last)
		s->pps = (seen - s->syn_last) * 1000000000ull / (now - s->sample_ns);
	s->syn_last = seen;
	s->sample_ns = now;
	if (s->flood_on && s->pps > s->peak_pps)
		s->peak_pps = s->pps;
	if (!f->on)
		return;
	/* the condition that would switch the state, and since when it holds */
	if (s->flood_on ? s->pps < f->off_pps : s->pps >= f->on_pps) {
		if (!s->cond_since_ns)
			s->cond_since_ns = now;
	} else {
		s->cond_since_ns = 0;
		return;
	}
	held = now - s->cond_since_ns;
	if (!s->flood_on && held >= f->on_for_ms * 1000000ull) {
		snprintf(why, sizeof(why), "%llu SYN/s, at or above on_pps %llu for %.1f s",
			 (unsigned long long)s->pps, (unsigned long long)f->on_pps,
			 (double)held / 1e9);
		set_state(d, true, now, why);
	} else if (s->flood_on && held >= f->off_for_ms * 1000000ull) {
		snprintf(why, sizeof(why),
			 "%llu SYN/s, below off_pps %llu for %.1f s (peak %llu SYN/s)",
			 (unsigned long long)s->pps, (unsigned long long)f->off_pps,
			 (double)held / 1e9, (unsigned long long)s->peak_pps);
		set_state(d, false, now, why);
	}
}

void flood_configure(struct daemon *d)
{
	if (!d->model.syn_flood.on && d->syn.flood_on)
		set_state(d, false, boot_ns(), "syn_flood is no longer configured");
	d->syn.cond_since_ns = 0; /* new thresholds: the hold starts again */
}

void syn_tick(struct daemon *d)
{
	uint64_t ticks;

	if (read(d->syn.tick_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	flood_sample(d);
	autoblock_tick(d);
}

int syn_defence_open(struct daemon *d)
{
	struct itimerspec its = {.it_interval = {0, SYN_TICK_MS * 1000000L},
				 .it_value = {0, SYN_TICK_MS * 1000000L}};
	struct epoll_event ev = {.events = EPOLLIN};
	struct sluice_state st;
	uint32_t zero = 0;
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/syn_seen", d->pin_dir);
	d->syn.seen_fd = bpf_obj_get(path);
	if (d->syn.seen_fd < 0)
		dlog("warning: no syn_seen in %s (pinned by an older sluice): flood mode is off",
		     d->pin_dir);
	d->syn.flood_since_ns = boot_ns();
	/* a restarted daemon adopts the data path's flood mode */
	if (bpf_map_lookup_elem(d->dp.state_fd, &zero, &st) == 0 && st.flood_mode) {
		d->syn.flood_on = true;
		dlog("flood mode is on (adopted): it goes off after syn_flood.off_for below "
		     "off_pps");
	}
	flood_configure(d);
	d->syn.tick_fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->syn.tick_fd < 0 || timerfd_settime(d->syn.tick_fd, 0, &its, NULL))
		return -1;
	ev.data.fd = d->syn.tick_fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->syn.tick_fd, &ev))
		return -1;
	return autoblock_open(d);
}

void syn_defence_close(struct daemon *d)
{
	autoblock_close(d);
	if (d->syn.seen_fd >= 0)
		close(d->syn.seen_fd);
	d->syn.seen_fd = -1;
	if (d->syn.tick_fd >= 0)
		close(d->syn.tick_fd);
	d->syn.tick_fd = -1;
}

void flood_status(const struct daemon *d, struct buf *out)
{
	const struct syn_flood_cfg *f = &d->model.syn_flood;
	const struct syn_defence *s = &d->syn;
	char held[32];

	format_duration((boot_ns() - s->flood_since_ns) / 1000000000ull, held, sizeof(held));
	if (!f->on && !s->flood_on) {
		buf_printf(out, "flood mode:    not configured (%llu SYN/s now)\n",
			   (unsigned long long)s->pps);
		return;
	}
	buf_printf(out,
		   "flood mode:    %s for %s, %llu transitions; %llu SYN/s now (on >= %llu for "
		   "%llu ms, off < %llu for %llu ms)\n",
		   s->flood_on ? "ON" : "off", held, (unsigned long long)s->transitions,
		   (unsigned long long)s->pps, (unsigned long long)f->on_pps,
		   (unsigned long long)f->on_for_ms, (unsigned long long)f->off_pps,
		   (unsigned long long)f->off_for_ms);
}

void flood_prom(const struct daemon *d, struct buf *o)
{
	const struct syn_defence *s = &d->syn;
	char text[96];

	prom_help(o, "sluice_flood_mode", "gauge",
		  "1 while flood mode is on.");
	buf_printf(o, "sluice_flood_mode %d\n", s->flood_on ? 1 : 0);
	prom_help(o, "sluice_flood_mode_seconds", "gauge",
		  "Time in the current flood-mode state.");
	buf_printf(o, "sluice_flood_mode_seconds %.1f\n",
		   (double)(boot_ns() - s->flood_since_ns) / 1e9);
	prom_help(o, "sluice_flood_mode_transitions_total", "counter",
		  "Flood mode switches since start.");
	buf_printf(o, "sluice_flood_mode_transitions_total %llu\n",
		   (unsigned long long)s->transitions);
	snprintf(text, sizeof(text), "SYNs per second XDP saw, blocked ones too (last %d ms sample).",
		 SYN_TICK_MS);
	prom_help(o, "sluice_syn_rate", "gauge", text);
	buf_printf(o, "sluice_syn_rate %llu\n", (unsigned long long)s->pps);
	prom_help(o, "sluice_syns_total", "counter",
		  "Bare SYNs XDP saw, blocked ones too.");
	buf_printf(o, "sluice_syns_total %llu\n", (unsigned long long)s->syn_last);
}
