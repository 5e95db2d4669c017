/* SPDX-License-Identifier: GPL-2.0 */
/*
 * web_service.h - the named fixture of the load balancer cache tests
 * (test_lb_flow_cache.c, test_lb_nexthop.c): one service VIP:80/tcp in NAT
 * mode whose backends listen on port 8080 with weight 1, loaded into the
 * XDP fixture.
 */
#ifndef SLUICE_TEST_WEB_SERVICE_H
#define SLUICE_TEST_WEB_SERVICE_H

#include "services.h"

struct web_service {
	struct lb_service_cfg svc;
	struct lb_backend_cfg be[4];
	struct lb_model model; /* points into svc and be: keep w in place */
};

/* Fill w with vip and the NULL-terminated backend addresses (at most 4;
 * the first one draining if drain_first) and load it: 0 or -1. */
int web_service_load(struct web_service *w, const char *vip, const char *const *addrs,
		     int drain_first);

#endif
