// SPDX-License-Identifier: GPL-2.0
/*
 * block_test.c - `sluice block test ADDRESS [-c FILE]`: is this address
 * blocked, allowed or neither — by which list and which prefix (from the
 * config), and what does the running data path say (from the pinned maps,
 * the same lookups the XDP program makes)?
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "dataplane.h"
#include "model.h"
#include "sluice_maps.h"

static const char *action_name(unsigned a)
{
	return a == SLUICE_ACT_BLOCK ? "blocked" : a == SLUICE_ACT_ALLOW ? "allowed" : "not listed";
}

/* The data path's answer: fast table, chunk, hash or the slow-path trie. */
static int datapath_verdict(struct dataplane *dp, const struct sluice_prefix *a,
			    struct sluice_verdict *v)
{
	return dp_source_verdict(dp, a->family, a->addr, v);
}

int cmd_block_test(struct cli *c)
{
	const char *path = NULL, *addr = NULL;
	struct sluice_prefix a;
	struct dataplane dp;
	char err[512];
	int rc = 0;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "-c") && i + 1 < c->argc)
			path = c->argv[++i];
		else if (!addr && c->argv[i][0] != '-')
			addr = c->argv[i];
		else
			return cli_err("block test: usage: sluice block test ADDRESS [-c FILE]");
	}
	if (!addr || prefix_parse(addr, &a, err, sizeof(err)) ||
	    a.len != (a.family == 4 ? 32 : 128))
		return cli_err("block test: '%s' is not an IPv4 or IPv6 address",
			       addr ? addr : "(none)");
	if (path) {
		struct sluice_model m;
		struct prefix_list comp = {0};
		const struct sluice_prefix *best = NULL;

		if (cli_load_config(path, &m))
			return cli_err("block test: %s is not valid", path);
		if (compile_verdicts(&m.block, &m.allow, &comp) == 0) {
			for (size_t i = 0; i < comp.n; i++) {
				uint8_t mk[16];

				if (comp.v[i].family != a.family)
					continue;
				memcpy(mk, a.addr, 16);
				prefix_mask(mk, comp.v[i].len);
				if (!memcmp(mk, comp.v[i].addr, 16) &&
				    (!best || comp.v[i].len > best->len))
					best = &comp.v[i];
			}
		}
		if (best) {
			const char *src = "?";
			char pb[64];

			for (size_t i = 0; i < m.n_list_sources; i++)
				if (m.list_sources[i].id == best->list_id)
					src = m.list_sources[i].what;
			prefix_format(best, pb, sizeof(pb));
			printf("%s: %s by %s (list %u, prefix %s) in %s\n", addr,
			       action_name(best->action), src, best->list_id, pb, path);
		} else {
			printf("%s: not listed in %s\n", addr, path);
		}
		prefix_list_free(&comp);
		model_free(&m);
	}
	if (dp_open_pinned(&dp, c->pin_dir, err, sizeof(err)) == 0) {
		struct sluice_verdict v;
		int found = datapath_verdict(&dp, &a, &v);

		if (found < 0)
			rc = cli_err("block test: reading the data path failed");
		else
			printf("%s: data path (generation %u): %s%s", addr, dp.active,
			       action_name(found ? v.action : 0), found ? "" : "\n");
		if (found > 0)
			printf(" (list %u)\n", v.list_id);
		dp_close(&dp);
	} else if (!path) {
		rc = cli_err("block test: %s; or pass -c FILE to ask the config", err);
	}
	return rc;
}
