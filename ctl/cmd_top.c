// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_top.c - `sluice top [--interval S] [--count N] [--batch]`: a
 * refreshing view of the running daemon, like top(1): packets and drops per
 * second by reason, the busiest dropped sources and prefixes (from the
 * sampled event stream) and the lists that dropped them, services and
 * backends, pods by rx/tx, the node's own traffic by workload.  Everything
 * comes over the control socket (the `top` request), so it needs no access
 * to the pinned maps.  In a terminal it takes over the screen until `q`
 * (or Ctrl-C); otherwise (or with --batch) it prints frames one after
 * another.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "control.h"
#include "top.h"

static volatile sig_atomic_t stop, resized;

static void on_stop(int s)
{
	(void)s;
	stop = 1;
}

static void on_winch(int s)
{
	(void)s;
	resized = 1;
}

static double mono(void)
{
	return (double)mono_ns() / 1e9;
}

/* A workload whose cgroup is gone is in one `top` reply only (the daemon
 * then forgets it): keep showing it, marked gone, for a while. */
#define GONE_KEEP_SECS 10.0

static struct top_row *kept;
static double *kept_until;
static size_t n_kept;

static void keep_gone(struct top_snap *cur)
{
	size_t k = 0;

	for (size_t i = 0; i < cur->n; i++) {
		struct top_row *more;
		double *until;

		if (strcmp(cur->rows[i].kind, "workload") || !cur->rows[i].v[3])
			continue;
		more = realloc(kept, (n_kept + 1) * sizeof(*kept));
		if (more)
			kept = more;
		until = realloc(kept_until, (n_kept + 1) * sizeof(*kept_until));
		if (until)
			kept_until = until;
		if (!more || !until)
			break;
		kept[n_kept] = cur->rows[i];
		kept_until[n_kept++] = cur->at + GONE_KEEP_SECS;
	}
	for (size_t i = 0; i < n_kept; i++) {
		if (kept_until[i] < cur->at)
			continue; /* shown long enough */
		kept[k] = kept[i];
		kept_until[k++] = kept_until[i];
		if (top_find(cur, "workload", kept[i].name))
			continue;
		if (cur->n == cur->cap) {
			struct top_row *more = realloc(cur->rows, (cur->cap + 16) * sizeof(*more));

			if (!more)
				continue;
			cur->rows = more;
			cur->cap += 16;
		}
		cur->rows[cur->n++] = kept[i];
	}
	n_kept = k;
}

static int fetch(const char *sock, struct top_snap *s)
{
	char *argv[] = {"top"};
	struct buf reply = {0};
	bool ok;
	int rc = control_request(sock, 1, argv, &ok, &reply);

	if (!rc && !ok)
		rc = -EPROTO; /* a daemon without `top`: older than this CLI */
	s->at = mono();
	if (!rc)
		rc = top_parse(reply.s ? reply.s : "", s);
	if (!rc)
		keep_gone(s);
	buf_free(&reply);
	return rc;
}

/* ---- the terminal ---------------------------------------------------------------- */

static struct termios saved;
static bool raw;

static void term_enter(void)
{
	struct termios t;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	/* the alternate screen, no cursor: the shell's screen comes back on exit */
	fputs("\033[?1049h\033[?25l", stdout);
	fflush(stdout);
}

static void term_leave(void)
{
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
}

static void term_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* The frame from the top of the screen, at most rows lines. */
static void paint(const struct buf *frame, int rows)
{
	const char *p = frame->s ? frame->s : "";
	int n = 0;

	fputs("\033[H", stdout);
	while (*p && n < rows - 1) {
		size_t len = strcspn(p, "\n");

		fwrite(p, 1, len, stdout);
		fputs("\033[K\n", stdout); /* clear the rest of the line */
		p += len + (p[len] == '\n');
		n++;
	}
	fputs("\033[J", stdout); /* and everything below */
	fflush(stdout);
}

/* Wait until due (or a resize); true when the user asked to quit (q, Q,
 * Ctrl-C, or a signal). */
static bool wait_keys(double due)
{
	while (!stop && !resized) {
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		double left = due - mono();
		char key;

		if (left <= 0)
			break;
		if (poll(&p, raw ? 1 : 0, (int)(left * 1000) + 1) > 0 &&
		    read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q' || key == 3))
			return true;
	}
	return stop;
}

static void sleep_until(double due)
{
	while (!stop && mono() < due) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
}

static void show(const struct top_snap *cur, const struct top_snap *prev, bool tty)
{
	struct buf out = {0};
	int rows, cols;

	if (tty) {
		term_size(&rows, &cols);
		top_render(cur, prev, cols, &out);
		paint(&out, rows);
	} else {
		top_render(cur, prev, 0, &out);
		fputs(out.s ? out.s : "", stdout);
		fputs("\n", stdout);
		fflush(stdout);
	}
	buf_free(&out);
}

int cmd_top(struct cli *c)
{
	const char *sock = control_socket_path(c->socket);
	struct top_snap prev = {0}, cur = {0};
	struct sigaction sa = {.sa_handler = on_stop}, sw = {.sa_handler = on_winch};
	double interval = 1, due;
	long count = -1;
	bool batch = !isatty(STDOUT_FILENO), tty;
	int rc;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--interval") && i + 1 < c->argc)
			interval = strtod(c->argv[++i], NULL);
		else if (!strcmp(c->argv[i], "--count") && i + 1 < c->argc)
			count = strtol(c->argv[++i], NULL, 10);
		else if (!strcmp(c->argv[i], "--batch"))
			batch = true;
		else
			return cli_err("top: usage: sluice top [--interval SECONDS] [--count N] "
				       "[--batch]");
	}
	if (interval < 0.1 || interval > 3600)
		return cli_err("top: --interval must be 0.1 .. 3600 seconds");
	rc = fetch(sock, &prev);
	due = mono() + interval;
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return cli_err("top: no sluice daemon answers on %s (start it with sluice run -c "
			       "FILE; --socket PATH or SLUICE_SOCKET names another socket)",
			       sock);
	if (rc)
		return cli_err("top: asking the daemon on %s: %s", sock, strerror(-rc));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGWINCH, &sw, NULL);
	tty = !batch;
	if (tty)
		term_enter();
	/* the first frame needs two snapshots: rates are differences */
	for (long frame = 0; !stop && (count < 0 || frame < count);) {
		if (tty ? wait_keys(due) : (sleep_until(due), stop))
			break;
		if (resized) { /* repaint at the new size, then wait on */
			resized = 0;
			if (cur.rows)
				show(&cur, &prev, tty);
			if (mono() < due)
				continue;
		}
		due += interval;
		if (due < mono())
			due = mono() + interval; /* fell behind (a slow daemon): no burst */
		if (cur.rows) {
			top_snap_free(&prev);
			prev = cur;
			memset(&cur, 0, sizeof(cur));
		}
		rc = fetch(sock, &cur);
		if (rc) {
			if (tty)
				term_leave();
			tty = false;
			rc = cli_err("top: the daemon on %s went away: %s", sock, strerror(-rc));
			break;
		}
		show(&cur, &prev, tty);
		frame++;
	}
	if (tty)
		term_leave();
	top_snap_free(&prev);
	top_snap_free(&cur);
	free(kept);
	free(kept_until);
	return rc ? 1 : 0;
}
