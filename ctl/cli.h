/* SPDX-License-Identifier: GPL-2.0 */
/* cli.h - what every `sluice` subcommand gets, and the subcommands. */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdbool.h>

struct cli {
	const char *pin_dir; /* bpffs directory holding the pinned maps */
	bool pin_dir_set;    /* given by --pin-dir or SLUICE_PIN_DIR (wins over a config) */
	const char *socket;  /* --socket: the daemon's control socket, NULL = default */
	int argc;            /* arguments after the subcommand name */
	char **argv;
};

/* One-line error to stderr, prefixed "sluice: ".  Returns 1 (exit code). */
int cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* model_load for a command that needs a valid config: its errors go to
 * stderr, one a line; 0 when m holds the model (the caller frees it). */
struct sluice_model;
int cli_load_config(const char *path, struct sluice_model *m);

/* "attach IFACE" or "detach IFACE" (c's arguments): the interface's index,
 * *detach set; 0 after saying what is wrong (as command cmd). */
int cli_attach_detach(const struct cli *c, const char *cmd, bool *detach);

/* Make sure bpffs is mounted on /sys/fs/bpf and dir exists in it. */
int pins_prepare(const char *dir);
/* Hold the pin directory's lock while changing the data path from the
 * command line; refuses (one line, returns -1) when a daemon holds it. */
int pins_lock(const char *dir);
/* Open a pinned map of a running sluice; on failure prints what to do. */
int pins_open_map(const char *dir, const char *name);

int cmd_check(struct cli *c);
int cmd_apply(struct cli *c);
int cmd_attach(struct cli *c);
int cmd_detach(struct cli *c);
int cmd_decap(struct cli *c);
int cmd_tc(struct cli *c);
int cmd_pods(struct cli *c);
int cmd_events(struct cli *c);
int cmd_top(struct cli *c);
int cmd_load(struct cli *c);
int cmd_stats(struct cli *c);
int cmd_unpin(struct cli *c);
int cmd_block_test(struct cli *c);
/* The daemon (cmd_run.c) and the commands that talk to it (cmd_ctl*.c). */
int cmd_run(struct cli *c);
int cmd_status(struct cli *c);
int cmd_reload(struct cli *c);
int cmd_block(struct cli *c);
int cmd_backend(struct cli *c);
int cmd_stop(struct cli *c);
int cmd_debug(struct cli *c);

/* Driver name of an interface via the ethtool ioctl ("?" if unknown). */
void ifinfo_driver(const char *ifname, char *buf, unsigned len);

#endif
