/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bird.h - handing BIRD 2 the VIPs to announce: the include file the node's
 * bird.conf reads, and a reconfigure request over BIRD's control socket
 * (the text protocol birdc speaks; no birdc, no shell).
 */
#ifndef SLUICE_BIRD_H
#define SLUICE_BIRD_H

#include <stddef.h>

#include "prefix.h"

/* Write the include file: static protocols sluice_vips4 and sluice_vips6
 * holding one blackhole route per VIP (host routes).  Written to a
 * temporary file beside path, synced and renamed over it, so BIRD never
 * reads half a file.  Returns 0, or -1 with why in err. */
int bird_write_include(const char *path, const struct sluice_prefix *vips, size_t n, char *err,
		       size_t errlen);

/* Ask the BIRD behind sock_path to re-read its configuration.  Returns 0
 * when BIRD replied with a success code (reply: its last line), -1 with the
 * reason in reply otherwise (no socket, timeout, parse error, ...).  Blocks
 * for at most a few seconds: BIRD answers a local socket at once. */
int bird_configure(const char *sock_path, char *reply, size_t replylen);

#endif
