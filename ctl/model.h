/* SPDX-License-Identifier: GPL-2.0 */
/*
 * model.h - the in-memory model of a sluice config.  A config file is parsed
 * into a new model, validated whole, and only then applied (nginx -t style):
 * a bad file never touches the running state.
 */
#ifndef SLUICE_MODEL_H
#define SLUICE_MODEL_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "services.h"
#include "prefix.h"

struct iface_cfg {
	char name[IF_NAMESIZE];
	bool allow_generic; /* accept generic (skb) XDP when native is refused */
	int line;
};

/* An identity class: a named set of source prefixes (internet, partner,
 * internal, ...).  Ids are 1.. in config order; 0 means unknown. */
struct identity_cfg {
	char name[32];
	uint16_t id;
	struct prefix_list prefixes;
	uint32_t syn_rate, syn_burst; /* SYNs per second per source; 0 = no limit */
	int line;
};

/* A pod label (`labels = { app = "web"; }`), also a selector term. */
#define POD_LABELS_MAX 16
#define POD_LABEL_LEN 64
struct pod_label {
	char key[POD_LABEL_LEN];
	char value[POD_LABEL_LEN];
};

struct policy_rule_cfg {
	uint16_t identity;          /* 0 = any identity */
	struct sluice_prefix cidr;  /* family 0 = any source */
	uint8_t proto;              /* 0 = any */
	uint16_t port_lo, port_hi;  /* 0..65535 = any */
	/* from_labels: the peer is one of the pods carrying all these labels.
	 * Resolved when the config is loaded into one cidr rule per address
	 * of a matching pod. */
	struct pod_label from_labels[POD_LABELS_MAX];
	size_t n_from_labels;
	int line;
};

struct pod_cfg {
	char name[64];
	struct prefix_list addrs;   /* the pod's own addresses (host prefixes) */
	char veth[IF_NAMESIZE];     /* host-side veth name or pattern; "" = find by address */
	char cgroup[256];           /* cgroup path or pattern for hostNetwork pods; "" = none */
	bool match_address;         /* veth found from the route to the pod's address */
	bool host_network;          /* cgroup and no veth: told apart by socket, not address */
	struct pod_label labels[POD_LABELS_MAX];
	size_t n_labels;
	bool ingress_default_allow;
	bool egress_default_allow;
	struct policy_rule_cfg *ingress, *egress;
	size_t n_ingress, n_egress;
	int line;
};

/* Where a blocklist/allowlist prefix came from: prefixes carry list_id, and
 * this names the source behind it for messages and counters. */
struct list_source_cfg {
	uint32_t id;         /* 1.. (0 is `sluice load` on the command line) */
	bool allow;          /* an allowlist source, else a blocklist source */
	char what[PATH_MAX]; /* "blocklist.prefixes" or the resolved file path */
	int line;            /* config line of the setting naming it */
	bool warn;           /* on_error = "warn": bad lines skipped, counted in bad */
	struct list_bad_lines bad;
};

/* syn_cookies.local: one protected local service (address, TCP port). */
struct syncookie_local_cfg {
	struct sluice_prefix addr; /* host prefix: /32 or /128 */
	uint16_t port;             /* host order, 1..65535 */
	int line;
};

struct limits_cfg {
	uint32_t verdict_v4_max;    /* entries; must fit the compiled lists */
	uint32_t verdict_v6_max;
	uint32_t services_max;
	uint32_t backends_max;
	uint32_t conns_max;
};

/* auto_block = { ... }: sources over their SYN budget by threshold drops in
 * window become runtime blocks of prefix4/prefix6 for ttl (ctl/config_syn.c). */
struct auto_block_cfg {
	bool on;
	uint32_t threshold;  /* SYNs dropped by the bucket within the window */
	uint64_t window_ms;
	uint64_t ttl_ms;
	uint8_t prefix4, prefix6;
	uint32_t max;        /* auto blocks at once; more are counted as capped */
	int line;
};

/* syn_flood = { ... }: flood mode on above on_pps for on_for, off below
 * off_pps for off_for (hysteresis). */
struct syn_flood_cfg {
	bool on;
	uint64_t on_pps, off_pps;
	uint64_t on_for_ms, off_for_ms;
	int line;
};

/* bgp: the VIPs this node announces, through BIRD (ctl/announce.c);
 * enabled when the config has the key. */
struct bgp_cfg {
	bool enabled;
	char include[PATH_MAX]; /* the file the daemon writes, bird.conf includes */
	char socket[108];       /* BIRD's control socket */
	uint32_t drain_ms;      /* withdraw, wait this long, then stop */
	int line;
};
#define SLUICE_BGP_SOCKET_DEFAULT "/run/bird/bird.ctl"
#define SLUICE_BGP_DRAIN_MS_DEFAULT 5000

struct sluice_model {
	char path[PATH_MAX];
	struct iface_cfg *ifaces;
	size_t n_ifaces;
	struct prefix_list block;   /* inline prefixes and files, resolved */
	struct prefix_list allow;
	uint32_t list_refresh_secs; /* daemon re-reads changed list files; 0 = never */
	uint32_t syn_rate, syn_burst; /* syn_guard: sources in no identity class */
	struct auto_block_cfg auto_block;
	struct syn_flood_cfg syn_flood;
	struct list_source_cfg *list_sources;
	size_t n_list_sources;
	struct identity_cfg *identities;
	size_t n_identities;
	struct lb_model lb;
	struct pod_cfg *pods;
	size_t n_pods;
	struct limits_cfg limits;
	uint32_t syncookie_mode;    /* enum sluice_cookie_mode (syn_cookies.mode) */
	struct syncookie_local_cfg *syncookie_local; /* ctl/config_syncookies.c */
	size_t n_syncookie_local;
	char stats_listen[64];      /* "127.0.0.1:9541"; "" = no endpoint */
	char control_socket[108];   /* unix socket path */
	char pin_dir[PATH_MAX];
	struct bgp_cfg bgp;
};

/* The file `sluice check` and the daemon read when no -c is given. */
#define SLUICE_CONF_DEFAULT "/etc/sluice/sluice.conf"
/* Defaults for stats.listen and control.socket (pin_dir: SLUICE_PIN_DIR). */
#define SLUICE_STATS_LISTEN_DEFAULT "127.0.0.1:9541"
#define SLUICE_CONTROL_SOCKET_DEFAULT "/run/sluice/sluice.sock"

/* Diagnostics: every problem found, each "file:line: message". */
struct diag {
	char **msgs;
	size_t n;
	int *lines; /* config line each message is about: orders the report */
};

/* file NULL: fmt already says where (a list file's "path:line:col: ..."),
 * line only orders it among the rest.  line <= 0: "file: message". */
void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void diag_free(struct diag *d);
/* Every message on stderr, one a line, as they are sorted. */
void diag_print(const struct diag *d);

/* Parse and validate path into m (zeroed first).  Returns 0 when the model
 * is valid, -1 when d holds at least one error (m is then freed). */
int model_load(const char *path, struct sluice_model *m, struct diag *d);
void model_free(struct sluice_model *m);
/* Bad lines skipped in on_error = "warn" list files (config_lists.c): the
 * total, and through fn (when not NULL) one "warning: file:line:col: ..."
 * line per kept message plus a count per list file. */
size_t model_bad_lines(const struct sluice_model *m, void (*fn)(void *ctx, const char *line),
		       void *ctx);

#endif
