/* SPDX-License-Identifier: GPL-2.0 */
/* syncookies.h - protected local services (syn_cookies.local) into a
 * generation of the syncookie_local / syncookie_gen maps. */
#ifndef SLUICE_SYNCOOKIES_H
#define SLUICE_SYNCOOKIES_H

#include <stdint.h>

#include "model.h"

/* Make generation gen hold exactly the model's protected services, and
 * syncookie_gen[gen] the mode (OFF when nothing is protected). */
int syncookies_write(int local_fd, int gen_fd, uint32_t gen, const struct sluice_model *m);
/* Carry generation from over into generation to unchanged. */
int syncookies_copy(int local_fd, int gen_fd, uint32_t from, uint32_t to);

#endif
