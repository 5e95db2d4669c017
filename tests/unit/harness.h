/* SPDX-License-Identifier: GPL-2.0 */
/*
 * harness.h - a small test runner: TEST() registers a function, CHECK*()
 * fail it with file:line and the values involved, and the XDP fixture runs
 * crafted frames through the real sluice object with BPF_PROG_TEST_RUN.
 */
#ifndef SLUICE_TEST_HARNESS_H
#define SLUICE_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <linux/bpf.h>

#include "frames.h"
#include "sluice_maps.h"

typedef int (*test_fn)(void);
void register_test(const char *name, test_fn fn, const char *needs);

/* needs: NULL for pure userspace tests, "xdp" for tests that use the XDP
 * fixture (loaded once, reset before each such test). */
#define TEST_NEEDS(name, needs)                                                                    \
	static int name(void);                                                                     \
	__attribute__((constructor)) static void reg_##name(void)                                  \
	{                                                                                          \
		register_test(#name, name, needs);                                                 \
	}                                                                                          \
	static int name(void)
#define TEST(name) TEST_NEEDS(name, NULL)
#define XDP_TEST(name) TEST_NEEDS(name, "xdp")

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long va_ = (long long)(a), vb_ = (long long)(b);                              \
		if (va_ != vb_) {                                                                  \
			fprintf(stderr, "    %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,         \
				__LINE__, #a, #b, va_, vb_);                                       \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

/* ---- XDP fixture ------------------------------------------------------ */

struct run_result {
	int action;
	int reason;          /* from the counter delta: which slot moved */
	int tagged;          /* a valid sluice_meta was in front of the data */
	struct sluice_meta meta;
	size_t out_len;      /* packet bytes after the metadata */
	uint8_t out[FRAME_MAX + 256];
};

/* Run one frame through the XDP program; fills r (action, reason, meta). */
int xdp_run(const uint8_t *frame, size_t len, struct run_result *r);
/* Build spec, run it, return the result's reason (or -1 on run failure). */
int xdp_run_spec(const struct pkt_spec *s, struct run_result *r);
/* Replace the verdict tries with these lists (NULL-terminated CIDR arrays). */
int xdp_set_lists(const char *const *block, const char *const *allow);
/* Packets/bytes counted for (reason, action), summed over CPUs. */
uint64_t xdp_count_packets(int reason, int action);
uint64_t xdp_count_bytes(int reason, int action);
/* File descriptors of the loaded fixture's maps, for tests that read them. */
int xdp_map_fd(const char *name);

#endif
