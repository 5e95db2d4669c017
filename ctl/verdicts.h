/* SPDX-License-Identifier: GPL-2.0 */
/* verdicts.h - write a compiled verdict list into the data path's tries. */
#ifndef SLUICE_VERDICTS_H
#define SLUICE_VERDICTS_H

#include "prefix.h"

struct verdict_apply_stats {
	size_t added_or_updated;
	size_t removed;
};

/* Make the v4 and v6 tries hold exactly the entries of compiled: write every
 * entry first, then remove entries no longer wanted, so a prefix present in
 * both old and new sets is never absent.  Returns 0 or -errno. */
int verdicts_apply(int fd_v4, int fd_v6, const struct prefix_list *compiled,
		   struct verdict_apply_stats *st);

/* The same, given what the tries hold now (old: as verdicts_dump reads
 * them), so that a caller who knows it need not read them back. */
int verdicts_apply_diff(int fd_v4, int fd_v6, const struct prefix_list *compiled,
			const struct prefix_list *old, struct verdict_apply_stats *st);

/* Read the tries back into a sorted list (for tests and `sluice status`). */
int verdicts_dump(int fd_v4, int fd_v6, struct prefix_list *out);

#endif
