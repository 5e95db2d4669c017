// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_run.c - `sluice run -c FILE`: the daemon.  Set-up, in an order that
 * refuses early and touches the data path last:
 *
 *   1. read and validate the config (and its file permissions);
 *   2. lock the pin dir (one daemon per state), open the control socket and
 *      the metrics endpoint - both refuse when another daemon has them;
 *   3. attach to each interface, or adopt sluice where it already runs
 *      (nothing is detached or re-created that does not need to be);
 *   4. open the pinned maps for good, load the runtime state (blocks,
 *      manual backend states) from its own pinned maps;
 *   5. apply the config with one generation switch;
 *   6. drop every capability but what map updates need;
 *   7. serve until SIGTERM / `sluice stop`.  A killed daemon leaves XDP
 *      attached and the maps pinned: traffic keeps flowing under the last
 *      config, and the next `sluice run` adopts it.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "daemon.h"
#include "hostwl.h"
#include "observe.h"

/* What the running daemon keeps: at most CAP_BPF, for map lookups and
 * updates on kernels that check kernel.unprivileged_bpf_disabled on every
 * bpf() command (caps_for_map_updates() finds out).  Map descriptors and
 * mmaps are held from set-up, so no bpf_obj_get, no program load and no
 * attach happens after this; netlink queries (status) need nothing. */

static int open_pinned(struct daemon *d, const char *name, int *fd)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, name);
	*fd = bpf_obj_get(path);
	if (*fd < 0) {
		dlog("error: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int lock_pin_dir(struct daemon *d)
{
	d->pin_lock_fd = open(d->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->pin_lock_fd < 0) {
		dlog("error: cannot open pin dir %s: %s", d->pin_dir, strerror(errno));
		return -1;
	}
	if (flock(d->pin_lock_fd, LOCK_EX | LOCK_NB)) {
		dlog("error: another sluice daemon runs on %s (its lock is held): stop it first "
		     "(sluice stop)",
		     d->pin_dir);
		return -1;
	}
	return 0;
}

static int add_fd(struct daemon *d, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int event_setup(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	d->refresh_fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->timer_fd < 0 || d->refresh_fd < 0 || d->epfd < 0)
		return -1;
	if (add_fd(d, d->refresh_fd) || daemon_refresh_arm(d))
		return -1;
	if (add_fd(d, d->sig_fd) || add_fd(d, d->timer_fd) || add_fd(d, d->ctl_fd) ||
	    (d->prom_fd >= 0 && add_fd(d, d->prom_fd)) ||
	    (d->pw.nl_fd >= 0 && add_fd(d, d->pw.nl_fd)) ||
	    (d->wl.ino_fd >= 0 && add_fd(d, d->wl.ino_fd)))
		return -1;
	if (evstream_open(d))
		return -1;
	return syn_defence_open(d);
}

static void detach_new(struct daemon *d)
{
	char err[512];

	for (size_t i = 0; i < d->n_ifaces; i++) {
		if (d->ifaces[i].adopted)
			continue;
		if (sluice_detach_iface(d->ifaces[i].name, err, sizeof(err)))
			dlog("warning: undoing the attach to %s: %s", d->ifaces[i].name, err);
		else
			dlog("detached from %s again (set-up failed)", d->ifaces[i].name);
	}
}

static void teardown(struct daemon *d)
{
	int fds[] = {d->fd_counters, d->fd_aux,	  d->fd_svc_stats, d->fd_be_stats, d->fd_lists,
		     d->sig_fd,	     d->timer_fd, d->epfd,	   d->prom_fd,	   d->pin_lock_fd,
		     d->refresh_fd};

	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->sock_path);
	}
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	daemon_health_stop(d);
	blocks_close(d);
	overrides_close(d);
	announce_close(d);
	evstream_close(d);
	syn_defence_close(d);
	observe_close(d);
	daemon_pods_teardown(d);
	if (d->dp.state_fd > 0)
		dp_close(&d->dp);
	free(d->ifaces);
	model_free(&d->model);
}

static int setup(struct daemon *d)
{
	struct buf rebase = {0};
	char err[1024];
	uint32_t serial_before;
	int rc;

	if (pins_prepare(d->pin_dir) || lock_pin_dir(d))
		return -1;
	d->ctl_fd = control_listen(d->sock_path, err, sizeof(err));
	if (d->ctl_fd < 0) {
		dlog("error: %s", err);
		return -1;
	}
	if (d->listen[0]) {
		d->prom_fd = prom_listen(d->listen, err, sizeof(err));
		if (d->prom_fd < 0) {
			dlog("error: %s", err);
			return -1;
		}
	}
	d->ifaces = calloc(d->model.n_ifaces, sizeof(*d->ifaces));
	if (!d->ifaces)
		return -1;
	for (size_t i = 0; i < d->model.n_ifaces; i++) {
		rc =
		    iface_attach(d, &d->model.ifaces[i], &d->ifaces[d->n_ifaces], err, sizeof(err));
		if (rc) {
			dlog("error: %s", err);
			goto undo;
		}
		d->n_ifaces++;
	}
	if (dp_open_pinned(&d->dp, d->pin_dir, err, sizeof(err))) {
		dlog("error: %s", err);
		goto undo;
	}
	if (open_pinned(d, "counters", &d->fd_counters) ||
	    open_pinned(d, "aux_counters", &d->fd_aux) ||
	    open_pinned(d, "lb_svc_stats", &d->fd_svc_stats) ||
	    open_pinned(d, "lb_backend_stats", &d->fd_be_stats))
		goto undo;
	{
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/list_counters", d->pin_dir);
		d->fd_lists = bpf_obj_get(path); /* optional: per-list metrics */
	}
	if (blocks_open(d, err, sizeof(err)) || overrides_open(d, err, sizeof(err))) {
		dlog("error: %s", err);
		goto undo;
	}
	/* manual backend states the file has overtaken while no daemon ran */
	overrides_rebase(d, &d->model, &rebase);
	if (rebase.s)
		dlog_lines(rebase.s);
	buf_free(&rebase);
	overrides_persist(d);
	serial_before = d->dp.serial;
	if (daemon_switch(d, &d->model, SW_ALL, NULL, err, sizeof(err))) {
		dlog("error: applying %s: %s", d->conf_path, err);
		goto undo;
	}
	dlog("applied %s: %zu block + %zu allow prefixes, %zu runtime blocks, %zu services; "
	     "generation %u, serial %u -> %u",
	     d->conf_path, d->model.block.n, d->model.allow.n, d->n_blocks, d->model.lb.n,
	     d->dp.active, serial_before, d->dp.serial);
	model_bad_lines(&d->model, dlog_bad_line, NULL);
	if (daemon_pods_setup(d))
		return -1; /* the data path is configured: leave it serving */
	observe_open(d); /* after the TC object: it pins the per-cgroup maps */
	daemon_hostwl_sync(d); /* needs the workloads cache observe_open made */
	if (event_setup(d)) {
		dlog("error: setting up the event loop: %s", strerror(errno));
		return -1; /* the data path is configured: leave it serving */
	}
	blocks_expire(d); /* anything that expired while no daemon ran; arms the timer */
	if (daemon_health_start(d)) {
		dlog("error: setting up the health checks: %s", strerror(errno));
		return -1; /* the data path is configured: leave it serving */
	}
	if (announce_open(d, d->epfd))
		dlog("error: bgp: cannot set up the announcement timer: %s", strerror(errno));
	return 0;
undo:
	detach_new(d);
	return -1;
}

int cmd_run(struct cli *c)
{
	struct daemon d = {.pw = {.nl_fd = -1},
			   .refresh_fd = -1,
			   .fd_counters = -1,
			   .fd_aux = -1,
			   .fd_svc_stats = -1,
			   .fd_be_stats = -1,
			   .fd_lists = -1,
			   .fd_blocks = -1,
			   .fd_overrides = -1,
			   .pin_lock_fd = -1,
			   .epfd = -1,
			   .sig_fd = -1,
			   .timer_fd = -1,
			   .ctl_fd = -1,
			   .prom_fd = -1,
			   .stop_conn = -1,
			   .fd_tc = -1,
			   .fd_pod_stats = -1,
			   .fd_ev_stats = -1,
			   .fd_ev_sampling = -1,
			   .wl = {.map_fd = -1, .overflow_fd = -1, .ino_fd = -1},
			   .ev = {.map_fd = -1, .rb_fd = -1},
			   .health = {.epfd = -1, .timer_fd = -1},
			   .syn = {.tick_fd = -1, .cfg_fd = -1, .rb_fd = -1, .seen_fd = -1},
			   .ann = {.timer_fd = -1}};
	const char *path = SLUICE_CONF_DEFAULT;
	struct diag dg = {0};
	char err[256], caps[256], cwd[PATH_MAX];
	int rc = 1;

	for (int i = 0; i < c->argc; i++) {
		if ((!strcmp(c->argv[i], "-c") || !strcmp(c->argv[i], "--config")) &&
		    i + 1 < c->argc)
			path = c->argv[++i];
		else
			return cli_err(
			    "run: usage: sluice [--pin-dir DIR] [--socket PATH] run [-c FILE]");
	}
	if (model_load(path, &d.model, &dg) || config_trusted(&d.model, &dg)) {
		diag_print(&dg);
		diag_free(&dg);
		model_free(&d.model);
		return cli_err("run: %s is not usable; nothing was started or changed", path);
	}
	diag_free(&dg);
	d.started = time(NULL);
	/* Absolute, so reloads read the same file whatever the cwd; symlinks
	 * are left alone, so a reload follows a link that now points elsewhere. */
	snprintf(d.conf_path, sizeof(d.conf_path), "%s", path);
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		char abs[2 * PATH_MAX];
		int n = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);

		if (n > 0 && (size_t)n < sizeof(d.conf_path))
			memcpy(d.conf_path, abs, (size_t)n + 1);
	}
	/* --pin-dir / --socket (or their environment variables) win over the
	 * file: the lab runs several daemons side by side */
	snprintf(d.pin_dir, sizeof(d.pin_dir), "%s", c->pin_dir_set ? c->pin_dir : d.model.pin_dir);
	snprintf(d.sock_path, sizeof(d.sock_path), "%s",
		 c->socket ? c->socket : d.model.control_socket);
	snprintf(d.listen, sizeof(d.listen), "%s", d.model.stats_listen);
	dlog("starting: pid %d, config %s, pin dir %s, control %s, metrics %s", (int)getpid(),
	     d.conf_path, d.pin_dir, d.sock_path, d.listen[0] ? d.listen : "off");
	if (setup(&d))
		goto out;
	d.caps_kept = caps_for_map_updates(d.fd_blocks) & caps_effective();
	/* attaching TC programs to pod veths as they appear is netlink work */
	if (d.model.n_pods)
		d.caps_kept |= CAP_BIT(CAP_NET_ADMIN) & caps_effective();
	if (caps_drop_to(d.caps_kept, err, sizeof(err))) {
		dlog("error: dropping capabilities: %s", err);
		goto out;
	}
	caps_names(caps_effective(), caps, sizeof(caps));
	dlog("ready: serving %s; capabilities now %s", d.sock_path, caps);
	daemon_notify("READY=1");
	rc = daemon_loop(&d) ? 1 : 0;
	/* before anything else goes: the router must stop sending us flows */
	announce_withdraw_all(&d, "stopping");
	dlog("exiting (pid %d): XDP stays attached and the maps pinned under serial %u",
	     (int)getpid(), d.dp.serial);
out:
	if (rc && d.pin_dir[0])
		rmdir(d.pin_dir); /* only if set-up made it and left it empty */
	teardown(&d);
	return rc;
}
