// SPDX-License-Identifier: GPL-2.0
/*
 * test_differential.c - the differential pass in `make test`: 100k
 * generated frames through the real XDP program and through the reference
 * model (tests/model), zero differences allowed; and directed reproducers
 * of the program bugs the pass found (tests/fuzz/repro.c), which pass
 * whether a bug is still there or fixed, and fail on anything else.
 * tests/fuzz/README.md describes the generator, the model, the known bugs
 * and how to reproduce a failure.
 *
 * SLUICE_DIFF_SEED, SLUICE_DIFF_PACKETS, SLUICE_DIFF_STRICT (count known
 * program bugs as differences) and SLUICE_DIFF_OUT (where failing cases are
 * written, default build/diff-failures) change the pass.
 */
#include "harness.h"

#include "../fuzz/diff.h"

XDP_TEST(differential_model_vs_xdp_100k_packets)
{
	struct diff_opts o;
	struct diff_stats st;

	diff_opts_from_env(&o, 0x51ce5eedull, 100000);
	CHECK(diff_run(&o, &st) == 0);
	diff_report(stdout, &o, &st);
	CHECK_EQ(st.packets, o.packets);
	CHECK_EQ(st.differences, 0);
	return 0;
}

XDP_TEST(differential_known_bug_reproducers)
{
	struct diff_opts o;
	int present;

	diff_opts_from_env(&o, 0, 0);
	CHECK(diff_known_bugs(&o, stdout, &present) == 0);
	if (present)
		printf("    %d known bugs present: reproducers in %s (tests/fuzz/README.md)\n", present,
		       o.out_dir);
	return 0;
}
