/* SPDX-License-Identifier: GPL-2.0 */
/* apply.h - write a validated model into the data path's pinned maps. */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include "model.h"
#include "services.h"
#include "verdicts.h"

struct apply_report {
	size_t block, allow;             /* prefixes in the model */
	struct verdict_apply_stats lists; /* trie entries written / removed */
	struct lb_apply_stats lb;
};

/* Compile the lists and write lists and services into the maps pinned in
 * pin_dir.  Returns 0, or -errno with a one-line reason in err. */
int apply_model(const struct sluice_model *m, const char *pin_dir, struct apply_report *rep,
		char *err, size_t errlen);

#endif
