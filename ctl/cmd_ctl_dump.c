// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_ctl_dump.c - `sluice debug dump`: one line per pinned configuration
 * map with a digest of its contents (per generation where the map holds
 * two), read straight from bpffs.  Tests compare two dumps to prove that
 * something - a refused reload - changed nothing at all.  Counters (per-CPU
 * maps) and the LRU connection table move with traffic and are left out.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "sluice_maps.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

static size_t g_entry_size;

static int by_bytes(const void *a, const void *b)
{
	return memcmp(a, b, g_entry_size);
}

/* Hash and trie maps: every (key, value), sorted, so the digest does not
 * depend on iteration order. */
static int dump_keyed(int fd, const struct bpf_map_info *info, const char *name)
{
	size_t esz = info->key_size + info->value_size, n = 0, cap = 1024;
	uint8_t *all = malloc(cap * esz), *key = malloc(info->key_size),
		*next = malloc(info->key_size);
	void *prev = NULL;
	uint64_t h = FNV_OFFSET;

	if (!all || !key || !next) {
		free(all);
		free(key);
		free(next);
		return -ENOMEM;
	}
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (n == cap) {
			uint8_t *more = realloc(all, cap * 2 * esz);

			if (!more)
				break;
			all = more;
			cap *= 2;
		}
		memcpy(all + n * esz, next, info->key_size);
		if (bpf_map_lookup_elem(fd, next, all + n * esz + info->key_size) == 0)
			n++;
		memcpy(key, next, info->key_size);
		prev = key;
	}
	g_entry_size = esz;
	qsort(all, n, esz, by_bytes);
	h = fnv(h, all, n * esz);
	printf("%-20s entries %-8zu fnv %016llx\n", name, n, (unsigned long long)h);
	free(all);
	free(key);
	free(next);
	return 0;
}

/* Arrays that hold both generations, one after the other. */
static const char *const two_gen_arrays[] = {
    "fast_v4",	       "fast4_detail", "fast4_chunks", "fast_v6",    "fast6_rank", "fast6_dense",
    "verdict_classes", "lb_ring",      "lb_backends",  "pod_policy", NULL,
};

/* Arrays: each generation's half separately where the map holds two. */
static int dump_array(int fd, const struct bpf_map_info *info, const char *name)
{
	size_t esz = (info->value_size + 7) & ~7u, total = (size_t)info->max_entries * esz;
	int halves = 1;

	for (int i = 0; two_gen_arrays[i]; i++)
		if (!strcmp(name, two_gen_arrays[i]) && info->max_entries % SLUICE_GENS == 0)
			halves = SLUICE_GENS;
	uint8_t *mem = NULL;
	bool mapped = false;

	if (info->map_flags & BPF_F_MMAPABLE) {
		mem = mmap(NULL, total, PROT_READ, MAP_SHARED, fd, 0);
		mapped = mem != MAP_FAILED;
		if (!mapped)
			mem = NULL;
	}
	if (!mem) {
		mem = calloc(info->max_entries, esz);
		if (!mem)
			return -ENOMEM;
		for (uint32_t k = 0; k < info->max_entries; k++)
			bpf_map_lookup_elem(fd, &k, mem + k * esz);
	}
	if (!strcmp(name, "sluice_state")) {
		const struct sluice_state *st = (const void *)mem;

		/* switched_ns is left out: only what packets see counts */
		printf("%-20s gen %u serial %u\n", name, st->gen, st->serial);
	} else {
		printf("%-20s", name);
		for (int g = 0; g < halves; g++) {
			uint64_t h = fnv(FNV_OFFSET, mem + g * (total / halves), total / halves);

			if (halves > 1)
				printf(" g%d fnv %016llx", g, (unsigned long long)h);
			else
				printf(" fnv %016llx", (unsigned long long)h);
		}
		printf("\n");
	}
	if (mapped)
		munmap(mem, total);
	else
		free(mem);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int cmd_debug(struct cli *c)
{
	struct dirent **names;
	int n, bad = 0;

	if (c->argc != 1 || strcmp(c->argv[0], "dump"))
		return cli_err("debug: usage: sluice debug dump");
	n = scandir(c->pin_dir, &names, NULL, by_name);
	if (n < 0)
		return cli_err("debug dump: %s: %s", c->pin_dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		struct bpf_map_info info = {0};
		uint32_t len = sizeof(info);
		char path[PATH_MAX + 64];
		int fd;

		if (names[i]->d_name[0] == '.')
			goto next;
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir, names[i]->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
			bad = cli_err("debug dump: %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto next;
		}
		switch (info.type) {
		case BPF_MAP_TYPE_PERCPU_ARRAY:
		case BPF_MAP_TYPE_PERCPU_HASH:
		case BPF_MAP_TYPE_LRU_HASH:
		case BPF_MAP_TYPE_LRU_PERCPU_HASH:
			break; /* traffic moves these */
		case BPF_MAP_TYPE_ARRAY:
			bad |= dump_array(fd, &info, names[i]->d_name) != 0;
			break;
		case BPF_MAP_TYPE_HASH:
		case BPF_MAP_TYPE_LPM_TRIE:
			bad |= dump_keyed(fd, &info, names[i]->d_name) != 0;
			break;
		default:
			printf("%-20s type %u (not compared)\n", names[i]->d_name, info.type);
		}
		close(fd);
	next:
		free(names[i]);
	}
	free(names);
	return bad;
}
