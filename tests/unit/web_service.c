// SPDX-License-Identifier: GPL-2.0
/* web_service.c - the one-service load balancer fixture (web_service.h). */
#include "web_service.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "prefix.h"

int web_service_load(struct web_service *w, const char *vip, const char *const *addrs,
		     int drain_first)
{
	char err[SLUICE_ERRLEN];

	memset(w, 0, sizeof(*w));
	snprintf(w->svc.name, sizeof(w->svc.name), "web");
	if (prefix_parse(vip, &w->svc.vip, err, sizeof(err)))
		return -1;
	w->svc.port = 80;
	w->svc.proto = IPPROTO_TCP;
	w->svc.mode = SLUICE_MODE_NAT;
	w->svc.backends = w->be;
	for (int i = 0; addrs[i]; i++) {
		struct lb_backend_cfg *b = &w->be[i];

		if (i >= 4 || prefix_parse(addrs[i], &b->addr, err, sizeof(err)))
			return -1;
		w->svc.n_backends++;
		b->port = 8080;
		b->weight = i == 0 && drain_first ? 0 : 1;
		b->state = i == 0 && drain_first ? SLUICE_BE_DRAINING : SLUICE_BE_ACTIVE;
	}
	w->model.svcs = &w->svc;
	w->model.n = 1;
	return xdp_set_services(&w->model);
}
