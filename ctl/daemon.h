/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon.h - `sluice run`: the long-running control plane.  One process,
 * one thread, one epoll loop (signals, the TTL timer, the control socket,
 * the Prometheus endpoint).  Every change to the data path - reload, runtime
 * block, backend state - is built in the inactive generation and switched
 * in with one map write (dataplane.h), so a packet sees the old state or
 * the new one, never a mix.
 *
 * State that must outlive the process lives in bpffs next to the data
 * path's maps: the maps themselves, and two small maps of the daemon's own
 * (ctl_blocks: runtime blocks with their expiry; ctl_backends: manual
 * backend states), so a restarted daemon - even after kill -9 - adopts
 * exactly what the data path is doing.
 */
#ifndef SLUICE_DAEMON_H
#define SLUICE_DAEMON_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "announce.h"
#include "apply.h"
#include "control.h"
#include "dataplane.h"
#include "evstream.h"
#include "health.h"
#include "model.h"
#include "podwatch.h"
#include "workloads.h"

/* List id of runtime blocks (`sluice block add`): the last per-list
 * counter slot, so their drops are counted apart (config lists count up
 * from 1 by position; 0 is `sluice load`). */
#define SLUICE_LIST_RUNTIME (SLUICE_MAX_LISTS - 1)
#define RUNTIME_BLOCKS_MAX 65536
#define BACKEND_OVERRIDES_MAX 4096

/* Pinned beside the data path's maps; created by the daemon. */
#define CTL_BLOCKS_MAP "ctl_blocks"
#define CTL_BACKENDS_MAP "ctl_backends"

struct runtime_block {
	struct sluice_prefix prefix;
	uint64_t expires_ns; /* CLOCK_BOOTTIME; 0 = no expiry */
	int64_t added;	     /* wall clock (seconds), for `block list` */
	bool auto_added;     /* by auto_block (daemon_autoblock.c), not the CLI */
};

/* The SYN-flood defences' daemon side (daemon_autoblock.c, daemon_flood.c):
 * one 100 ms timer reads the auto-block requests, applies them as one
 * batch, and samples the SYN rate for flood mode. */
#define AUTOBLOCK_PENDING_MAX 4096
#define SYN_TICK_MS 100

struct syn_defence {
	int tick_fd;	   /* timerfd, every SYN_TICK_MS */
	int cfg_fd, rb_fd; /* syn_auto, autoblock_rb (-1: older pins) */
	int seen_fd;	   /* syn_seen (-1: older pins: flood mode off) */
	struct ring_buffer *rb;
	struct sluice_autoblock_req *pending;
	size_t n_pending;
	/* auto-block, since start */
	uint64_t requests, added, expired, capped, allowlisted, already, overflow;
	/* flood mode */
	bool flood_on;
	uint64_t flood_since_ns; /* CLOCK_BOOTTIME the state began */
	uint64_t cond_since_ns;	 /* the switch's condition holds since (0: not) */
	uint64_t transitions;
	uint64_t syn_last, sample_ns, pps, peak_pps;
};

/* A backend state set with `sluice backend`, and the config file's state
 * for that backend when it was set: a reload that changes the file's state
 * drops the manual one (the newer decision wins either way). */
struct backend_override {
	char service[64];
	struct sluice_prefix addr;
	uint16_t port;
	uint8_t state;	    /* enum sluice_backend_state */
	uint8_t file_state; /* enum sluice_backend_state */
};

/* What the ethtool ioctl and the netdev netlink family say about a link. */
struct iface_facts {
	char driver[64];
	bool have_channels;
	uint32_t rx, tx, combined, other; /* channels in use */
	uint32_t max_rx, max_tx, max_combined;
	bool have_xdp_features; /* kernel >= 6.3 */
	uint64_t xdp_features;	/* NETDEV_XDP_ACT_* */
};

struct daemon_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	struct iface_facts facts;
	char libxdp_mode[96];
	bool generic;
	bool adopted;	  /* sluice was attached already: left as it was */
	uint32_t prog_id; /* the XDP program (or libxdp dispatcher) attached */
};

struct daemon {
	/* Fixed for the life of the process (a reload that changes them
	 * says "takes effect at restart"). */
	char conf_path[PATH_MAX];
	char pin_dir[PATH_MAX];
	char sock_path[108];
	char listen[64];

	struct sluice_model model; /* the running config */
	struct dataplane dp;	   /* maps open and mmapped for good */
	int fd_counters, fd_aux, fd_svc_stats, fd_be_stats;
	int fd_lists;		     /* list_counters; -1 with older pins */
	int fd_blocks, fd_overrides; /* ctl_blocks, ctl_backends */
	int pin_lock_fd;	     /* flock on the pin dir: one daemon per state */

	struct runtime_block *blocks;
	size_t n_blocks;
	struct backend_override *overrides;
	size_t n_overrides;
	struct daemon_iface *ifaces;
	size_t n_ifaces;

	int epfd, sig_fd, timer_fd, ctl_fd, prom_fd;
	struct policy *tc;  /* TC programs (uplink tag reader, pod veths) */
	int refresh_fd;     /* timerfd: list file refresh (model.list_refresh_secs) */
	uint64_t lists_sig; /* signature of the list files last applied */
	struct podwatch pw; /* pod veths as they come and go; pw.nl_fd -1 if off */
	/* observe.c: what the reports read (each -1 when its pin is absent) */
	int fd_tc, fd_pod_stats, fd_ev_stats, fd_ev_sampling;
	struct workloads wl; /* per-cgroup counters and names; wl.map_fd -1: none */
	struct evstream ev;  /* the sampled event stream, read here */
	/* backend health checks (health.h); health.epfd -1: none */
	struct health health;
	struct syn_defence syn;
	struct announce ann; /* VIPs announced over BGP (announce.h) */
	bool stopping;
	int stop_conn; /* `sluice stop` waits on it: closed by our exit */

	time_t started;
	uint64_t reloads_ok, reload_failures, runtime_changes;
	time_t last_reload;
	bool last_reload_ok;
	char last_reload_msg[SLUICE_ERRLEN + 64];
	uint64_t caps_kept; /* capability mask after set-up */
};

/* daemon_refresh.c: scheduled re-reading of changed list files. */
int daemon_refresh_arm(struct daemon *d);
void daemon_refresh_tick(struct daemon *d);

/* daemon_pods.c: uplink TC program and the pod veth watcher. */
int daemon_pods_setup(struct daemon *d);
void daemon_pods_teardown(struct daemon *d);

/* daemon_events.c: the event stream (evstream.h).  open: before the
 * capabilities go; subscribe: an `events` request takes over its
 * connection (1) or refuses with a message in out (-errno). */
int evstream_open(struct daemon *d);
void evstream_close(struct daemon *d);
void evstream_consume(struct daemon *d);
int evstream_subscribe(struct daemon *d, int fd, int argc, char **argv, struct buf *out);
/* fd was a subscriber's and had an event: true if it was ours (and gone). */
bool evstream_hangup(struct daemon *d, int fd);
/* The busiest dropped sources and prefixes, as `top` reply lines. */
void evstream_report(const struct daemon *d, struct buf *out);

/* daemon_autoblock.c: auto-block requests from XDP into runtime blocks. */
int autoblock_open(struct daemon *d);
void autoblock_close(struct daemon *d);
/* Write the model's auto_block settings where XDP reads them. */
void autoblock_configure(struct daemon *d);
/* Read the requests waiting, apply them as one switch. */
void autoblock_tick(struct daemon *d);
size_t autoblock_active(const struct daemon *d);
void autoblock_status(const struct daemon *d, struct buf *out);
void autoblock_prom(const struct daemon *d, struct buf *out);

/* daemon_flood.c: flood mode with hysteresis, and the shared SYN timer. */
int syn_defence_open(struct daemon *d); /* timer, then autoblock_open */
void syn_defence_close(struct daemon *d);
void syn_tick(struct daemon *d);
/* Reload or start: the new syn_flood settings (off: flood mode goes off). */
void flood_configure(struct daemon *d);
void flood_status(const struct daemon *d, struct buf *out);
void flood_prom(const struct daemon *d, struct buf *out);

/* daemon_top.c: the `top` request's reply, a machine-readable snapshot of
 * every counter `sluice top` shows (cmd_top.c has the format). */
void top_snapshot(struct daemon *d, struct buf *out);
/* `sluice status`'s workload lines (a read: gone cgroups' last report). */
void workloads_status(struct daemon *d, struct buf *out);

/* daemon_log.c: one line to stderr (journald adds time and unit), and
 * sd_notify without libsystemd. */
void dlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Each line of text as a log line of its own. */
void dlog_lines(const char *text);
/* dlog for model_bad_lines. */
void dlog_bad_line(void *ctx, const char *line);
void daemon_notify(const char *state);

/* daemon_time.c */
uint64_t boot_ns(void);
/* "90", "90s", "10m", "2h", "7d" -> seconds; -1 if not a duration. */
int64_t parse_duration(const char *s);
void format_duration(uint64_t secs, char *buf, size_t len);

/* daemon_iface.c */
int iface_facts_get(const char *ifname, struct iface_facts *f);
void iface_facts_xdp(const struct iface_facts *f, char *buf, size_t len);
/* Check, then attach (or adopt) one configured interface. */
int iface_attach(struct daemon *d, const struct iface_cfg *cfg, struct daemon_iface *out, char *err,
		 size_t errlen);
/* Live view for `sluice status` (netlink query: what is attached now). */
void iface_status(const struct daemon *d, struct buf *out);

/* daemon_apply.c: switch a model (+ runtime blocks, + manual backend
 * states) into the data path.  what: which parts to rebuild; the rest is
 * carried over from the active generation. */
enum { SW_LISTS = 1, SW_SERVICES = 2, SW_POLICY = 4, SW_ALL = 7 };
int daemon_switch(struct daemon *d, const struct sluice_model *m, unsigned what,
		  struct apply_report *rep, char *err, size_t errlen);

/* daemon_blocks.c */
int blocks_open(struct daemon *d, char *err, size_t errlen);
void blocks_close(struct daemon *d);
int blocks_add(struct daemon *d, const char *cidr, const char *ttl, struct buf *out);
int blocks_del(struct daemon *d, const char *cidr, struct buf *out);
void blocks_list(const struct daemon *d, struct buf *out);
/* Record b in ctl_blocks (kept across restarts); forget a prefix there. */
int blocks_persist(struct daemon *d, const struct runtime_block *b);
void blocks_unpersist(struct daemon *d, const struct sluice_prefix *p);
/* Drop expired blocks (one switch for all of them); re-arm the timer. */
void blocks_expire(struct daemon *d);
void blocks_arm_timer(struct daemon *d);

/* daemon_backends.c */
int overrides_open(struct daemon *d, char *err, size_t errlen);
void overrides_close(struct daemon *d);
int backend_cmd(struct daemon *d, int argc, char **argv, struct buf *out);
void overrides_list(const struct daemon *d, struct buf *out);
/* The model's services with the manual states applied (a copy to free
 * with lb_model_free).  Returns 0 or -ENOMEM. */
int overrides_effective(const struct daemon *d, const struct lb_model *in, struct lb_model *out);
/* Rewrite the pinned copy (ctl_backends) to hold exactly d->overrides. */
void overrides_persist(struct daemon *d);
/* Before a reload to new_model: drop the overrides it makes moot, say
 * which (the caller persists them once the switch succeeded). */
void overrides_rebase(struct daemon *d, const struct sluice_model *new_model, struct buf *out);

/* The backend's state in the data path for that service: the manual
 * state if set (in any service: manual wins over health), else down when a
 * health check says so, else the file's. */
uint8_t backend_effective_state(const struct daemon *d, const struct lb_service_cfg *s,
				const struct lb_backend_cfg *b);

/* A manual state is set for this backend of that service. */
bool backend_is_manual(const struct daemon *d, const char *service, const struct lb_backend_cfg *b);

/* daemon_health.c: the checker in the loop, and its views. */
int daemon_health_start(struct daemon *d);
void daemon_health_stop(struct daemon *d);
/* d->health.epfd had an event: run the checks; switch on a change. */
void daemon_health_event(struct daemon *d);
/* After a reload replaced d->model. */
void daemon_health_reload(struct daemon *d);
/* Backends of service svc_index (its position in d->model.lb.svcs) that
 * get new flows now: effective state active, weight > 0.  -1 when there is
 * no such service.  A VIP is worth announcing only while this is > 0. */
int daemon_service_healthy_backends(const struct daemon *d, uint32_t svc_index);
/* The same, by service name. */
void health_status(const struct daemon *d, struct buf *out);
void health_status_json(const struct daemon *d, struct buf *out);
void health_prom(const struct daemon *d, struct buf *out);

/* daemon_reload.c */
int daemon_reload(struct daemon *d, const char *why, struct buf *out);
/* Beyond model_load's mode check: the file, its directory and the list
 * files must be owned by us or root and not writable by anyone else. */
int config_trusted(const struct sluice_model *m, struct diag *dg);

/* daemon_diff.c: what changed between two models, one line per change;
 * returns how many changes. */
size_t model_diff(const struct sluice_model *old, const struct sluice_model *new_model,
		  struct buf *out);

/* daemon_caps.c */
#define CAP_BIT(c) (1ull << (c))
int caps_drop_to(uint64_t keep, char *err, size_t errlen);
void caps_names(uint64_t mask, char *buf, size_t len);
uint64_t caps_effective(void);
/* The capabilities map updates on held descriptors need here (0 or
 * CAP_BPF), found by trying in a child without any. */
uint64_t caps_for_map_updates(int probe_fd);

/* daemon_loop.c */
int daemon_loop(struct daemon *d);

/* control.c (server side) */
int control_listen(const char *path, char *err, size_t errlen);
void control_accept(struct daemon *d);
void status_text(struct daemon *d, struct buf *out);
/* The fast tables' lines of it; `sluice status --json` (control_fast.c). */
void fast_status_text(struct daemon *d, struct buf *out);
void status_json(struct daemon *d, struct buf *out);

/* prom.c */
int prom_listen(const char *listen, char *err, size_t errlen);
void prom_accept(struct daemon *d);
void prom_render(struct daemon *d, struct buf *out);
/* A metric's "# HELP" and "# TYPE" lines (every renderer's header). */
void prom_help(struct buf *o, const char *name, const char *type, const char *text);
/* A counter by result: its header, then one `name{result="..."} n` line
 * per entry, in the order given. */
struct prom_result {
	const char *result;
	unsigned long long n;
};
void prom_results(struct buf *o, const char *name, const char *text, const struct prom_result *r,
		  size_t n);

#endif
