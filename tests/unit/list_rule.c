// SPDX-License-Identifier: GPL-2.0
/* list_rule.c - the lists' meaning as a reference (see list_rule.h). */
#include "list_rule.h"

#include <string.h>

int prefix_holds(const struct sluice_prefix *p, int family, const uint8_t *addr)
{
	uint8_t m[16];

	if (p->family != family)
		return 0;
	memcpy(m, addr, 16);
	prefix_mask(m, p->len);
	return !memcmp(m, p->addr, 16);
}

int lists_rule(const struct prefix_list *block, const struct prefix_list *allow, int family,
	       const uint8_t *addr)
{
	for (size_t i = 0; i < allow->n; i++)
		if (prefix_holds(&allow->v[i], family, addr))
			return SLUICE_ACT_ALLOW;
	for (size_t i = 0; i < block->n; i++)
		if (prefix_holds(&block->v[i], family, addr))
			return SLUICE_ACT_BLOCK;
	return SLUICE_ACT_NONE;
}
