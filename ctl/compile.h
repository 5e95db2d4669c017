/* SPDX-License-Identifier: GPL-2.0 */
/* compile.h - blocklists + allowlists -> one verdict trie's entries. */
#ifndef SLUICE_COMPILE_H
#define SLUICE_COMPILE_H

#include "prefix.h"

/* Compile block and allow prefixes (v4 and v6 mixed) into out: a sorted,
 * duplicate-free list whose entries carry action BLOCK or ALLOW, such that a
 * longest-prefix match on out gives "allow" for any address inside an allow
 * prefix, else "block" for any address inside a block prefix.  Returns 0 or
 * -ENOMEM. */
int compile_verdicts(const struct prefix_list *block, const struct prefix_list *allow,
		     struct prefix_list *out);

#endif
