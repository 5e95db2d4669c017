/* SPDX-License-Identifier: GPL-2.0 */
/*
 * diff.h - the differential tester: generated frames through the real XDP
 * program (BPF_PROG_TEST_RUN, tests/unit/harness.c fixture) and through the
 * reference model (tests/model), compared on verdict, counter slot, output
 * bytes, metadata tag and load balancer counters.  A difference is written
 * out as a pcap (input, program's output, model's output) plus a text file
 * with the seed, the packet's index and the configuration.
 */
#ifndef SLUICE_DIFF_H
#define SLUICE_DIFF_H

#include <stdint.h>
#include <stdio.h>

#include "pktgen.h"
#include "sluice_maps.h"

struct run_result;
struct model_result;
struct model_fib;
/* One frame through the program (xdp_run with one counter read); reset
 * when the fixture's counters were zeroed. */
int diff_run_frame(const uint8_t *frame, size_t len, struct run_result *r);
void diff_runner_reset(void);
int diff_compare(const struct run_result *a, const struct model_result *m, char *why, size_t n);
int diff_netns_fib(void *ctx, int family, const uint8_t *s, const uint8_t *d,
		   struct model_fib *o);

struct diff_opts {
	uint64_t seed;
	long packets;       /* total, including the combination sweep */
	long epoch_packets; /* packets per configuration (lists + services) */
	unsigned quirks;    /* known program bugs to accept (enum model_quirk,
			     * DIFF_ACCEPT_CTL_DUP_IDS) */
	const char *out_dir;/* where failing cases go ("" = nowhere) */
	int max_written;    /* pcaps to write at most */
	int max_printed;    /* differences to describe on stderr at most */
};

/* Known control-plane bug: ctl/services.c gives a backend that is new in a
 * generation and listed in two services two ids. */
#define DIFF_ACCEPT_CTL_DUP_IDS (1u << 16)

struct diff_stats {
	long packets, compared, differences, unknown, harness_errors, lb_stat_errors;
	long ctl_problems, list_stat_errors;
	long decap_roundtrips, decap_runs;
	long epochs;
	long quirk_packets[8];
	long by_reason[SR_REASON_MAX];
	long by_action[SLUICE_ACTION_MAX];
	struct pg_stats gen;
	double seconds;
};

/* Run the whole pass; the XDP fixture must be loaded (XDP_TEST). */
int diff_run(const struct diff_opts *o, struct diff_stats *st);
void diff_report(FILE *to, const struct diff_opts *o, const struct diff_stats *st);
/* Directed reproducers of the known bugs (repro.c): prints each one's
 * state; *present counts those still there.  -1 when one behaves neither
 * as the model nor as the known bug says. */
int diff_known_bugs(const struct diff_opts *o, FILE *log, int *present);
/* Options from the environment: SLUICE_DIFF_SEED, SLUICE_DIFF_PACKETS,
 * SLUICE_DIFF_STRICT (accept no known bug), SLUICE_DIFF_OUT. */
void diff_opts_from_env(struct diff_opts *o, uint64_t seed, long packets);

#endif
