// SPDX-License-Identifier: GPL-2.0
/* daemon_loop.c - the event loop: signals, the TTL timer, the control
 * socket and the metrics endpoint, the event stream and its clients, new
 * cgroups (inotify), one event at a time. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "hostwl.h"

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	struct buf out = {0};

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP: {
			char msg[64];

			snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
				 (unsigned long long)(mono_ns() / 1000));
			daemon_notify(msg);
			/* the report goes to the log; nobody waits for it here */
			daemon_reload(d, "SIGHUP", &out);
			buf_free(&out);
			daemon_notify("READY=1");
			break;
		}
		case SIGTERM:
		case SIGINT:
			dlog(
			    "%s: exiting (sluice stop --detach would also remove XDP and the pins)",
			    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			d->stopping = true;
			break;
		default:
			break;
		}
	}
}

int daemon_loop(struct daemon *d)
{
	struct epoll_event evs[8];

	while (!d->stopping) {
		int n = epoll_wait(d->epfd, evs, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dlog("error: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n && !d->stopping; i++) {
			int fd = evs[i].data.fd;

			if (fd == d->sig_fd) {
				on_signal(d);
			} else if (fd == d->timer_fd) {
				uint64_t ticks;

				if (read(d->timer_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
					blocks_expire(d);
			} else if (fd == d->ann.timer_fd) {
				announce_tick(d);
			} else if (fd == d->ctl_fd) {
				control_accept(d);
				announce_tick(d); /* a backend state may have changed */
			} else if (fd == d->prom_fd) {
				prom_accept(d);
			} else if (fd == d->pw.nl_fd) {
				podwatch_handle(&d->pw);
			} else if (fd == d->refresh_fd) {
				daemon_refresh_tick(d);
			} else if (fd == d->ev.rb_fd) {
				evstream_consume(d);
			} else if (fd == d->syn.tick_fd) {
				syn_tick(d);
			} else if (fd == d->wl.ino_fd) {
				workloads_handle(&d->wl);
			} else if (fd == d->health.epfd) {
				daemon_health_event(d);
				announce_tick(d); /* a backend may have gone down or up */
			} else {
				evstream_hangup(d, fd); /* an `events` client went away */
			}
			/* containers come and go: hostNetwork workloads' cgroups */
			if (fd == d->wl.ino_fd && !d->stopping)
				daemon_hostwl_sync(d);
		}
	}
	daemon_notify("STOPPING=1");
	return 0;
}
