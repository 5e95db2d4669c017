// SPDX-License-Identifier: GPL-2.0
/* dataplane.c - open the configuration maps; write a generation; switch. */
#include "clock.h"
#include "dataplane.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "pods.h"
#include "syncookies.h"
#include "sluice_maps.h"

#define RING_GEN_WORDS ((size_t)SLUICE_MAX_SERVICES * SLUICE_RING_WORDS)
_Static_assert(sizeof(struct sluice_backend) % 8 == 0, "mmapped array elements are 8-byte multiples");
#define BACKENDS_BYTES ((size_t)SLUICE_GENS * SLUICE_MAX_BACKENDS * sizeof(struct sluice_backend))

/* A packet that read the generation just before a switch may still be
 * using the old one for a few microseconds; the old generation is only
 * rewritten once that is surely over. */
#define SWITCH_GRACE_NS 20000000ull

typedef int (*map_fd_fn)(void *ctx, const char *name, char *err, size_t errlen);

static int pinned_fd(void *ctx, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", (const char *)ctx, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		snprintf(err, errlen, "no sluice map at %s (%s): attach sluice first", path,
			 strerror(errno));
	return fd;
}

static int obj_fd(void *ctx, const char *name, char *err, size_t errlen)
{
	struct bpf_map *m = bpf_object__find_map_by_name(ctx, name);
	int fd = m ? dup(bpf_map__fd(m)) : -1;

	if (fd < 0)
		snprintf(err, errlen, "BPF object has no map %s", name);
	return fd;
}

static void *map_mmap(int fd, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int dp_open(struct dataplane *dp, map_fd_fn get, void *ctx, char *err, size_t errlen)
{
	struct {
		int *fd;
		const char *name;
	} want[] = {
		{&dp->state_fd, "sluice_state"},      {&dp->fast_fd[0], "fast_v4"},
		{&dp->fast_fd[1], "fast_v6"},         {&dp->classes_fd, "verdict_classes"},
		{&dp->trie_fd[0][0], "verdict_v4_g0"}, {&dp->trie_fd[0][1], "verdict_v4_g1"},
		{&dp->trie_fd[1][0], "verdict_v6_g0"}, {&dp->trie_fd[1][1], "verdict_v6_g1"},
		{&dp->svc_fd[0], "lb_services_g0"},   {&dp->svc_fd[1], "lb_services_g1"},
		{&dp->rev_fd[0], "lb_rev_g0"},        {&dp->rev_fd[1], "lb_rev_g1"},
		{&dp->ring_fd, "lb_ring"},            {&dp->backends_fd, "lb_backends"},
		{&dp->ident_fd[0][0], "ident_v4_g0"},  {&dp->ident_fd[0][1], "ident_v4_g1"},
		{&dp->ident_fd[1][0], "ident_v6_g0"},  {&dp->ident_fd[1][1], "ident_v6_g1"},
		{&dp->pod_addrs_fd[0], "pod_addrs_g0"}, {&dp->pod_addrs_fd[1], "pod_addrs_g1"},
		{&dp->pod_policy_fd, "pod_policy"},    {&dp->pod_names_fd, "pod_names"},
		{&dp->pod_ifindex_fd, "pod_ifindex"},  {&dp->syn_limits_fd, "syn_limits"},
		{&dp->chunks_fd, "fast4_chunks"},     {&dp->fast6_fd[0], "fast6_g0"},
		{&dp->detail_fd, "fast4_detail"},
		{&dp->fast6_fd[1], "fast6_g1"},       {&dp->fast6_masks_fd, "fast6_masks"},
		{&dp->cookie_local_fd, "syncookie_local"}, {&dp->cookie_gen_fd, "syncookie_gen"},
		{&dp->rank6_fd, "fast6_rank"},        {&dp->dense6_fd, "fast6_dense"},
	};

	memset(dp, 0, sizeof(*dp));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		*want[i].fd = -1;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		*want[i].fd = get(ctx, want[i].name, err, errlen);
		if (*want[i].fd < 0) {
			dp_close(dp);
			return -ENOENT;
		}
	}
	dp->chunks_mem = map_mmap(dp->chunks_fd, SLUICE_GENS * FAST4_CHUNKS_BYTES);
	dp->detail_mem = map_mmap(dp->detail_fd, SLUICE_GENS * FAST4_DETAIL_BYTES);
	dp->rank6_mem = map_mmap(dp->rank6_fd, SLUICE_GENS * FAST6_RANK_BYTES);
	dp->dense6_mem = map_mmap(dp->dense6_fd, SLUICE_GENS * FAST6_DENSE_BYTES);
	if (!dp->chunks_mem || !dp->detail_mem || !dp->rank6_mem ||
	    !dp->dense6_mem) {
		snprintf(err, errlen, "cannot mmap the fast tables: %s", strerror(errno));
		dp_close(dp);
		return -errno;
	}
	for (int f = 0; f < 2; f++) {
		dp->fast_mem[f] =
		    map_mmap(dp->fast_fd[f], SLUICE_GENS * (f ? FAST6_L1_BYTES : FAST4_SUM_BYTES));
		if (!dp->fast_mem[f]) {
			snprintf(err, errlen, "cannot mmap the fast table: %s", strerror(errno));
			dp_close(dp);
			return -errno;
		}
	}
	dp->ring_mem = map_mmap(dp->ring_fd, SLUICE_GENS * RING_GEN_WORDS * 8);
	dp->backends_mem = map_mmap(dp->backends_fd, BACKENDS_BYTES);
	if (!dp->ring_mem || !dp->backends_mem) {
		snprintf(err, errlen, "cannot mmap the Maglev tables: %s", strerror(errno));
		dp_close(dp);
		return -errno;
	}
	dp->grace_ns = SWITCH_GRACE_NS;
	return dp_begin(dp);
}

int dp_open_pinned(struct dataplane *dp, const char *dir, char *err, size_t errlen)
{
	return dp_open(dp, pinned_fd, (void *)dir, err, errlen);
}

int dp_open_obj(struct dataplane *dp, struct bpf_object *obj, char *err, size_t errlen)
{
	return dp_open(dp, obj_fd, obj, err, errlen);
}

void dp_close(struct dataplane *dp)
{
	int *fds[] = {&dp->state_fd,        &dp->fast_fd[0],      &dp->fast_fd[1],
		      &dp->classes_fd,      &dp->trie_fd[0][0],   &dp->trie_fd[0][1],
		      &dp->trie_fd[1][0],   &dp->trie_fd[1][1],   &dp->svc_fd[0],
		      &dp->svc_fd[1],       &dp->rev_fd[0],       &dp->rev_fd[1],
		      &dp->ring_fd,         &dp->backends_fd,     &dp->ident_fd[0][0],
		      &dp->ident_fd[0][1],  &dp->ident_fd[1][0],  &dp->ident_fd[1][1],
		      &dp->pod_addrs_fd[0], &dp->pod_addrs_fd[1], &dp->pod_policy_fd,
		      &dp->pod_names_fd,    &dp->pod_ifindex_fd,    &dp->syn_limits_fd,
		      &dp->chunks_fd,       &dp->fast6_fd[0],     &dp->fast6_fd[1],
		      &dp->fast6_masks_fd, &dp->cookie_local_fd, &dp->cookie_gen_fd,
		      &dp->detail_fd,       &dp->rank6_fd,
		      &dp->dense6_fd};

	for (int g = 0; g < 2; g++)
		prefix_list_free(&dp->trie_have[g]);
	for (int f = 0; f < 2; f++)
		if (dp->fast_mem[f])
			munmap(dp->fast_mem[f],
			       SLUICE_GENS * (f ? FAST6_L1_BYTES : FAST4_SUM_BYTES));
	if (dp->chunks_mem)
		munmap(dp->chunks_mem, SLUICE_GENS * FAST4_CHUNKS_BYTES);
	if (dp->detail_mem)
		munmap(dp->detail_mem, SLUICE_GENS * FAST4_DETAIL_BYTES);
	if (dp->rank6_mem)
		munmap(dp->rank6_mem, SLUICE_GENS * FAST6_RANK_BYTES);
	if (dp->dense6_mem)
		munmap(dp->dense6_mem, SLUICE_GENS * FAST6_DENSE_BYTES);
	if (dp->ring_mem)
		munmap(dp->ring_mem, SLUICE_GENS * RING_GEN_WORDS * 8);
	if (dp->backends_mem)
		munmap(dp->backends_mem, BACKENDS_BYTES);
	/* named one by one: the struct also holds pointers between them */
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] > 0)
			close(*fds[i]);
	memset(dp, 0, sizeof(*dp));
}


int dp_begin(struct dataplane *dp)
{
	struct sluice_state st;
	uint32_t zero = 0;
	uint64_t now;

	if (bpf_map_lookup_elem(dp->state_fd, &zero, &st))
		return -errno;
	now = mono_ns();
	if (st.switched_ns && now < st.switched_ns + dp->grace_ns) {
		uint64_t wait = st.switched_ns + dp->grace_ns - now;
		struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ull),
				      .tv_nsec = (long)(wait % 1000000000ull)};

		nanosleep(&ts, NULL);
	}
	dp->active = st.gen ? 1 : 0;
	dp->shadow = 1 - dp->active;
	dp->serial = st.serial;
	dp->has_services[0] = st.has_services[0];
	dp->has_services[1] = st.has_services[1];
	return 0;
}

int dp_commit(struct dataplane *dp)
{
	struct sluice_state st;
	uint32_t zero = 0;

	/* fields outside the generation switch (flood_mode) keep their value */
	if (bpf_map_lookup_elem(dp->state_fd, &zero, &st))
		return -errno;
	st.gen = dp->shadow;
	st.serial = dp->serial + 1;
	st.has_services[0] = dp->has_services[0];
	st.has_services[1] = dp->has_services[1];
	st.switched_ns = mono_ns();
	/* one value write: the data path reads gen once per packet */
	if (bpf_map_update_elem(dp->state_fd, &zero, &st, BPF_ANY))
		return -errno;
	dp->active = st.gen;
	dp->shadow = 1 - st.gen;
	dp->serial = st.serial;
	return 0;
}

/* dp_write_lists, dp_copy_lists: dataplane_lists.c */

int dp_write_services(struct dataplane *dp, const struct lb_model *m, struct lb_apply_stats *st)
{
	struct lb_gen_target t = {
		.services_active = dp->svc_fd[dp->active],
		.services = dp->svc_fd[dp->shadow],
		.rev = dp->rev_fd[dp->shadow],
		.backends_active = dp->backends_mem + dp->active * SLUICE_MAX_BACKENDS,
		.backends = dp->backends_mem + dp->shadow * SLUICE_MAX_BACKENDS,
		.ring = dp->ring_mem + dp->shadow * RING_GEN_WORDS,
		.active = dp->active,
		.gen = dp->shadow,
	};

	dp->has_services[dp->shadow] = m->n > 0;
	return lb_apply(m, &t, st);
}

/* Make hash map dst hold exactly what src holds. */
static int copy_hash(int src, int dst, size_t ksz, size_t vsz)
{
	uint8_t key[64], next[64], val[64];
	void *prev = NULL;
	int rc = 0;

	/* drop what src lacks (collect-free: restart after each delete) */
	while (bpf_map_get_next_key(dst, prev, next) == 0) {
		if (bpf_map_lookup_elem(src, next, val)) {
			bpf_map_delete_elem(dst, next);
			prev = NULL;
			continue;
		}
		memcpy(key, next, ksz);
		prev = key;
	}
	prev = NULL;
	while (bpf_map_get_next_key(src, prev, next) == 0) {
		if (bpf_map_lookup_elem(src, next, val) == 0 &&
		    bpf_map_update_elem(dst, next, val, BPF_ANY))
			rc = -errno;
		memcpy(key, next, ksz);
		prev = key;
	}
	(void)vsz;
	return rc;
}

int dp_copy_services(struct dataplane *dp)
{
	dp->has_services[dp->shadow] = dp->has_services[dp->active];

	int rc = copy_hash(dp->svc_fd[dp->active], dp->svc_fd[dp->shadow],
			   sizeof(struct sluice_svc_key), sizeof(struct sluice_svc));

	if (!rc)
		rc = copy_hash(dp->rev_fd[dp->active], dp->rev_fd[dp->shadow],
			       sizeof(struct sluice_svc_key), sizeof(struct sluice_rev));
	if (rc)
		return rc;
	memcpy(dp->ring_mem + dp->shadow * RING_GEN_WORDS, dp->ring_mem + dp->active * RING_GEN_WORDS,
	       RING_GEN_WORDS * 8);
	memcpy(dp->backends_mem + dp->shadow * SLUICE_MAX_BACKENDS,
	       dp->backends_mem + dp->active * SLUICE_MAX_BACKENDS,
	       SLUICE_MAX_BACKENDS * sizeof(struct sluice_backend));
	return 0;
}

int dp_write_pods(struct dataplane *dp, const struct sluice_model *m, char *err, size_t errlen)
{
	struct pods_target t = {
		.ident_trie = {dp->ident_fd[0][dp->shadow], dp->ident_fd[1][dp->shadow]},
		.pod_addrs = dp->pod_addrs_fd[dp->shadow],
		.pod_policy = dp->pod_policy_fd,
		.pod_names = dp->pod_names_fd,
		.syn_limits = dp->syn_limits_fd,
		.gen = dp->shadow,
	};
	int rc = pods_apply(m, &t, err, errlen);

	/* SYN cookies' protected local services ride with the pods' switch */
	if (!rc) {
		rc = syncookies_write(dp->cookie_local_fd, dp->cookie_gen_fd, dp->shadow, m);
		if (rc)
			snprintf(err, errlen, "writing syn_cookies: %s", strerror(-rc));
	}
	return rc;
}

/* Make LPM trie dst hold what src holds (identity tries are small). */
static int copy_trie(int src, int dst, size_t vsz)
{
	struct sluice_lpm_v6_key key, next;
	uint8_t val[16];
	void *prev = NULL;

	while (bpf_map_get_next_key(dst, prev, &next) == 0) {
		bpf_map_delete_elem(dst, &next);
		prev = NULL;
	}
	while (bpf_map_get_next_key(src, prev, &next) == 0) {
		if (bpf_map_lookup_elem(src, &next, val) == 0 &&
		    bpf_map_update_elem(dst, &next, val, BPF_ANY))
			return -errno;
		key = next;
		prev = &key;
	}
	(void)vsz;
	return 0;
}

/* An array map with both generations' n slots back to back: the active
 * generation's slots onto the shadow's. */
static int copy_slots(const struct dataplane *dp, int fd, uint32_t n)
{
	union {
		struct sluice_syn_limit syn;
		struct sluice_pod_policy pol;
	} v; /* a slot of each map this copies */

	for (uint32_t id = 0; id < n; id++) {
		uint32_t a = dp->active * n + id, s = dp->shadow * n + id;

		if (bpf_map_lookup_elem(fd, &a, &v) || bpf_map_update_elem(fd, &s, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

int dp_copy_pods(struct dataplane *dp)
{
	int rc = 0;

	for (int f = 0; f < 2 && !rc; f++)
		rc = copy_trie(dp->ident_fd[f][dp->active], dp->ident_fd[f][dp->shadow],
			       sizeof(struct sluice_ident));
	if (!rc)
		rc = copy_hash(dp->pod_addrs_fd[dp->active], dp->pod_addrs_fd[dp->shadow],
			       sizeof(struct sluice_addr_key), sizeof(uint32_t));
	if (!rc)
		rc = copy_slots(dp, dp->syn_limits_fd, SLUICE_SYN_LIMITS);
	if (!rc)
		rc = copy_slots(dp, dp->pod_policy_fd, SLUICE_MAX_PODS);
	if (!rc)
		rc = syncookies_copy(dp->cookie_local_fd, dp->cookie_gen_fd, dp->active, dp->shadow);
	return rc;
}

long long dp_map_memlock(int fd)
{
	char path[64], line[128];
	long long bytes = -1;
	FILE *f;

	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}
