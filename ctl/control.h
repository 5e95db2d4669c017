/* SPDX-License-Identifier: GPL-2.0 */
/*
 * control.h - what the daemon (`sluice run`) and the CLI share: the control
 * socket protocol, a growable text buffer for replies, counter snapshots,
 * and what `sluice stats` learns from the daemon.
 *
 * Protocol: a client connects to the unix socket, writes ONE request line
 * ("WORD ARG ARG...\n", at most CONTROL_REQ_MAX bytes) and reads until EOF.
 * The reply's first line is "ok" or "error"; the rest is text for the user
 * (stdout after ok, stderr after error), or for `stats` the lines that
 * daemon_stats_fetch() reads.  One request per connection keeps the daemon
 * single-threaded and every request atomic with respect to reloads.
 */
#ifndef SLUICE_CONTROL_H
#define SLUICE_CONTROL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice_maps.h"

#define CONTROL_REQ_MAX 4096

/* ---- text buffer ------------------------------------------------------- */

struct buf {
	char *s;
	size_t len, cap;
	bool oom; /* an append failed: the text is truncated */
};

void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_free(struct buf *b);
/* s as a JSON string, quotes and escapes included */
void buf_json_str(struct buf *b, const char *s);

/* ---- socket I/O (sock_io.c) --------------------------------------------- */

/* All n bytes, or -errno (no SIGPIPE: the peer may be gone). */
int send_all(int fd, const void *p, size_t n);
/* Read into buf, at most cap bytes (buf holds cap + 1), until whole() says
 * the request is complete, the peer stops sending or buf is full; buf is
 * NUL-terminated after every read.  Returns the length read. */
size_t recv_until(int fd, char *buf, size_t cap, bool (*whole)(const char *buf, size_t len));

/* ---- counters ------------------------------------------------------------ */

/* The verdict counters, summed over CPUs (the daemon's metrics). */
struct ctl_snapshot {
	struct sluice_counter slot[SLUICE_COUNTER_SLOTS];
	uint64_t aux[SA_MAX];
};

int counters_read(int fd_counters, int fd_aux, struct ctl_snapshot *s);

/* What only the daemon knows, for `sluice stats` (which reads the counters
 * themselves from the pin dir the daemon names). */
struct ctl_daemon_stats {
	bool have; /* a daemon answered */
	char pin_dir[4096];
	uint64_t reloads_ok, reload_failures, runtime_blocks, runtime_changes;
	uint32_t generation, serial;
	/* SYN-flood defences (daemon_autoblock.c, daemon_flood.c) */
	uint64_t auto_active, auto_added, auto_expired, auto_capped;
	uint64_t flood_mode, flood_secs, flood_transitions, syn_pps;
	uint32_t list_bad[SLUICE_MAX_LISTS]; /* bad lines skipped per list (on_error = "warn") */
};

/* The `stats` reply: "pin_dir DIR" and "daemon KEY VALUE" lines. */
void daemon_stats_format(const struct ctl_daemon_stats *ds, struct buf *out);
/* Ask the daemon on sock; 0 and ds->have when one answered. */
int daemon_stats_fetch(const char *sock, struct ctl_daemon_stats *ds);

/* ---- client side ------------------------------------------------------- */

/* The socket the CLI talks to: --socket, else $SLUICE_SOCKET, else the
 * default (SLUICE_CONTROL_SOCKET_DEFAULT). */
const char *control_socket_path(const char *explicit_path);

/* Send one request made of argv words; the reply body goes to *reply and
 * *ok says whether the first line was "ok".  Returns 0, or -errno when no
 * daemon answers on path (ENOENT, ECONNREFUSED: none runs). */
int control_request(const char *path, int argc, char **argv, bool *ok, struct buf *reply);

/* A streaming request (`events`): fn gets each line of the reply after
 * "ok" (without its newline) until the daemon closes, fn returns nonzero,
 * or *stop is set (checked 4 times a second).  Returns 0; 1 when the
 * daemon refused (its reason in *err); -errno when none answers. */
typedef int (*control_line_fn)(const char *line, void *ctx);
int control_stream(const char *path, int argc, char **argv, control_line_fn fn, void *ctx,
		   volatile int *stop, struct buf *err);

/* control_request for a CLI command: prints the reply (stdout / stderr) and
 * returns the exit code; when no daemon answers, says so. */
int control_call(const char *path, int argc, char **argv);

#endif
