/* SPDX-License-Identifier: GPL-2.0 */
/* services.h - the load balancer's services and backends, and writing them into
 * the data path's maps. */
#ifndef SLUICE_SERVICES_H
#define SLUICE_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"
#include "sluice_maps.h"

struct lb_backend_cfg {
	struct sluice_prefix addr; /* host prefix: /32 or /128 */
	uint16_t port;             /* host order; 0 = keep the client's port */
	uint32_t weight;           /* 0 = draining */
	uint8_t state;             /* enum sluice_backend_state */
	int line;                  /* config line, for messages */
};

/* A service's backend health check (`health = { ... }`, config_health.c;
 * run by the daemon, health.c).  type HC_NONE: not checked. */
enum { HC_NONE = 0, HC_TCP = 1, HC_HTTP = 2 };
#define HC_PATH_MAX 128

struct lb_health_cfg {
	uint8_t type;
	uint8_t rise, fall;   /* consecutive successes to go up, failures to go down */
	uint16_t port;        /* 0 = the backend's own port */
	uint16_t expect;      /* http: the status code that means healthy */
	uint32_t interval_ms; /* from the start of one check to the next */
	uint32_t timeout_ms;  /* connect + answer */
	char path[HC_PATH_MAX];
	int line;
};

struct lb_service_cfg {
	char name[64];
	struct sluice_prefix vip;
	uint16_t port; /* host order; 0 = every port */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t mode;  /* enum sluice_svc_mode */
	bool syn_cookies; /* handshakes completed with SYN cookies (NAT only) */
	struct lb_backend_cfg *backends;
	size_t n_backends;
	struct lb_health_cfg health;
	int line;
};

struct lb_model {
	struct lb_service_cfg *svcs;
	size_t n;
};

/* Where lb_apply writes: the inactive generation of the service maps. */
struct lb_gen_target {
	int services_active; /* active generation's services: ids carry over */
	int services;        /* shadow generation's services hash */
	int rev;             /* shadow generation's reverse-NAT hash */
	struct sluice_backend *backends_active; /* backends array slices (mmap) */
	struct sluice_backend *backends;        /* ... of the shadow generation */
	uint64_t *ring;      /* shadow generation's Maglev tables (mmap) */
	uint32_t active, gen;
};

struct lb_apply_stats {
	size_t services, backends, services_removed;
};

/* The backend's effective Maglev weight (0 when draining or down). */
uint32_t lb_backend_table_weight(const struct lb_backend_cfg *b);

/* Make the shadow generation serve exactly the model.  Ids are stable: a
 * service (VIP, port, protocol) keeps the id it has in the active
 * generation, and so its Maglev table slot range and counters; a backend
 * (address, port) keeps its id, so connections in the table stay on it. */
int lb_apply(const struct lb_model *m, const struct lb_gen_target *t, struct lb_apply_stats *st);

/* Build the Maglev table a service would get (ids as given by idmap; used
 * by tests and `sluice lb show`). */
int lb_service_table(const struct lb_service_cfg *s, const uint32_t *backend_ids,
		     uint32_t *table);

void lb_model_free(struct lb_model *m);

#endif
