/* SPDX-License-Identifier: GPL-2.0 */
/* attach.h - the XDP program on and off an interface (libxdp). */
#ifndef SLUICE_ATTACH_H
#define SLUICE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

struct attach_result {
	bool already;    /* sluice was attached there before: nothing changed */
	bool generic;    /* generic (skb) mode, only with allow_generic */
	char mode[96];   /* "libxdp multiprog dispatcher" or "single-program (...)" */
	char driver[64]; /* from the ethtool ioctl */
};

/* Load the XDP program (maps pinned by name under pin_dir, reused when
 * present) and attach it natively to ifname; idempotent.  Returns 0, or a
 * negative error with a one-line reason in err. */
int sluice_attach_iface(const char *pin_dir, const char *ifname, bool allow_generic,
			struct attach_result *res, char *err, size_t errlen);
int sluice_detach_iface(const char *ifname, char *err, size_t errlen);

#endif
