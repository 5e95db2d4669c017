/* SPDX-License-Identifier: GPL-2.0 */
/*
 * podroute.h - where a pod's address is routed: the host-side veth a CNI
 * installed the route to the pod through (RTM_GETROUTE, then the link's
 * kind from RTM_GETLINK).  Synchronous rtnetlink requests, no shelling out.
 */
#ifndef SLUICE_PODROUTE_H
#define SLUICE_PODROUTE_H

#include <net/if.h>

#include "prefix.h"

/* The ifindex of the veth that addr is routed out of (unicast route), its
 * name in name; 0 when the route is not through a veth (local address,
 * bridge, no route); negative errno when netlink failed. */
int podroute_veth(const struct sluice_prefix *addr, char name[IF_NAMESIZE]);

#endif
