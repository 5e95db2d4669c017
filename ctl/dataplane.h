/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dataplane.h - the data path's configuration maps as one object, and the
 * generation switch: write the whole new configuration into the inactive
 * generation (dp_write_* / dp_copy_*), then dp_commit() flips the active
 * generation with one map write.  No packet sees half of a change.
 */
#ifndef SLUICE_DATAPLANE_H
#define SLUICE_DATAPLANE_H

#include <bpf/libbpf.h>
#include <stddef.h>
#include <stdint.h>

#include "fastpath.h"
#include "prefix.h"
#include "services.h"
#include "verdicts.h"

struct dataplane {
	int state_fd;
	int fast_fd[2];          /* [0] v4 summary, [1] v6 */
	uint64_t *fast_mem[2];   /* mmap of both generations */
	int detail_fd;           /* IPv4 fast4_detail */
	uint64_t *detail_mem;    /* mmap of both generations */
	int chunks_fd;           /* IPv4 chunks (fast4_chunks) */
	uint64_t *chunks_mem;    /* mmap of both generations */
	int fast6_fd[2];         /* [gen] IPv6 hash (fast6_g0/g1) */
	int rank6_fd, dense6_fd; /* IPv6 fast6_rank, fast6_dense */
	uint64_t *rank6_mem;     /* mmap of both generations */
	struct sluice_fast6_val *dense6_mem; /* mmap of both generations */
	/* Table limits (0: the maps' sizes); tests lower them to put IPv6
	 * buckets in the hash as well as the dense array. */
	struct verdict_limits limits;
	int fast6_masks_fd;      /* masks by prefix length */
	struct fast_stats fast[2]; /* [gen] what the fast tables hold */
	int classes_fd;
	int trie_fd[2][2];       /* [family 0=v4 1=v6][gen] */
	int svc_fd[2], rev_fd[2];/* [gen] */
	int ring_fd, backends_fd;
	uint64_t *ring_mem;      /* mmap of both generations */
	struct sluice_backend *backends_mem; /* mmap of both generations */
	int ident_fd[2][2];      /* [family][gen] identity tries */
	int pod_addrs_fd[2];     /* [gen] */
	int pod_policy_fd, pod_names_fd, pod_ifindex_fd;
	int syn_limits_fd;
	int cookie_local_fd, cookie_gen_fd; /* syncookie_local, syncookie_gen */
	uint32_t active, shadow; /* generations, set by dp_begin */
	uint32_t serial;
	uint32_t has_services[2]; /* per generation, written with the switch */
	/* Wait this long after a switch before rewriting the old generation
	 * (default 20 ms; tests with no traffic in flight set 0). */
	uint64_t grace_ns;
	/* What each generation's tries hold, as last written through this
	 * object (while the daemon runs it is their only writer: pins lock),
	 * so that a change diffs against it instead of reading ~10^5 entries
	 * back through bpf(2) every time (~0.2 s at 100k prefixes).  Unknown
	 * (read back once) after open and after a failed write. */
	struct prefix_list trie_have[2];
	int trie_known[2];
};

/* Open the maps pinned in dir (a running sluice), or those of a loaded
 * bpf_object (tests).  On failure err says which map and why. */
int dp_open_pinned(struct dataplane *dp, const char *dir, char *err, size_t errlen);
int dp_open_obj(struct dataplane *dp, struct bpf_object *obj, char *err, size_t errlen);
void dp_close(struct dataplane *dp);

/* Start a change: learn the active generation; writes go to the other. */
int dp_begin(struct dataplane *dp);
/* Lists: compile into the shadow generation (tables + tries). */
int dp_write_lists(struct dataplane *dp, const struct prefix_list *compiled,
		   struct verdict_apply_stats *st, char *err, size_t errlen);
/* Or carry the active generation's lists over unchanged. */
int dp_copy_lists(struct dataplane *dp);
int dp_prime_tries(struct dataplane *dp); /* after a switch: the shadow's tries */
int dp_write_hash6(int fd, const struct fast6_entry *e, size_t n);
/* The kernel's memory account of a map (fdinfo "memlock:"), bytes; -1: unknown. */
long long dp_map_memlock(int fd);
/* Services: into the shadow generation; ids stay those of the active one. */
int dp_write_services(struct dataplane *dp, const struct lb_model *m, struct lb_apply_stats *st);
int dp_copy_services(struct dataplane *dp);
/* Identities and pods: into the shadow generation, or carried over. */
struct sluice_model;
int dp_write_pods(struct dataplane *dp, const struct sluice_model *m, char *err, size_t errlen);
int dp_copy_pods(struct dataplane *dp);
/* The active generation's verdict for a source address, read the way the
 * XDP program reads it: 1 (v filled), 0 (in no list), -1 (map error). */
int dp_source_verdict(const struct dataplane *dp, int family, const uint8_t *addr,
		      struct sluice_verdict *v);
/* Make the shadow generation the active one. */
int dp_commit(struct dataplane *dp);

#endif
