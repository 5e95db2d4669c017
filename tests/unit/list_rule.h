/* SPDX-License-Identifier: GPL-2.0 */
/*
 * list_rule.h - what the block and allow lists mean, written as plainly as
 * the documentation says it: the reference that the compiled verdict list
 * (test_prefix.c) and the fast table (test_fastpath.c) are checked against.
 */
#ifndef SLUICE_TEST_LIST_RULE_H
#define SLUICE_TEST_LIST_RULE_H

#include <stdint.h>

#include "prefix.h"
#include "sluice_maps.h"

/* addr (16 bytes, IPv4 in the first four) of family lies inside p. */
int prefix_holds(const struct sluice_prefix *p, int family, const uint8_t *addr);
/* Allowed if inside any allow prefix, else blocked if inside any block
 * prefix, else neither: SLUICE_ACT_ALLOW, _BLOCK or _NONE. */
int lists_rule(const struct prefix_list *block, const struct prefix_list *allow, int family,
	       const uint8_t *addr);

#endif
