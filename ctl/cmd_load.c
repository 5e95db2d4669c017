// SPDX-License-Identifier: GPL-2.0
/* cmd_load.c - `sluice load`: replace the blocklist and allowlist. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compile.h"
#include "dataplane.h"
#include "prefix.h"
#include "verdicts.h"

int cmd_load(struct cli *c)
{
	struct prefix_list block = {0}, allow = {0}, compiled = {0};
	struct verdict_apply_stats st;
	struct fast_stats fs = {0};
	uint32_t list_id = 0;
	int rc = 1;

	if (c->argc == 0)
		return cli_err("load: usage: sluice load [--block FILE]... [--allow FILE]...");
	/* Parse and validate everything before touching the data path. */
	for (int i = 0; i < c->argc; i++) {
		bool is_block = !strcmp(c->argv[i], "--block");
		char err[SLUICE_ERRLEN];

		if (!is_block && strcmp(c->argv[i], "--allow")) {
			cli_err("load: unknown argument %s (usage: sluice load [--block FILE]... "
				"[--allow FILE]...)",
				c->argv[i]);
			goto out;
		}
		if (i + 1 >= c->argc) {
			cli_err("load: %s needs a file name", c->argv[i]);
			goto out;
		}
		if (prefix_list_load_file(is_block ? &block : &allow, c->argv[++i], ++list_id,
					  err, sizeof(err))) {
			cli_err("%s (nothing was changed)", err);
			goto out;
		}
	}
	if (compile_verdicts(&block, &allow, &compiled)) {
		cli_err("load: out of memory compiling %zu prefixes", block.n + allow.n);
		goto out;
	}
	{
		struct dataplane dp;
		char err[SLUICE_ERRLEN];
		int lock = pins_lock(c->pin_dir);

		if (lock < 0)
			goto out;
		if (dp_open_pinned(&dp, c->pin_dir, err, sizeof(err))) {
			close(lock);
			cli_err("load: %s", err);
			goto out;
		}
		/* new lists, same services, one switch */
		rc = dp_write_lists(&dp, &compiled, &st, err, sizeof(err));
		fs = dp.fast[dp.shadow];
		if (!rc && (rc = dp_copy_services(&dp)))
			snprintf(err, sizeof(err), "copying the services: %s", strerror(-rc));
		if (!rc && (rc = dp_copy_pods(&dp)))
			snprintf(err, sizeof(err), "copying the pods: %s", strerror(-rc));
		if (!rc && (rc = dp_commit(&dp)))
			snprintf(err, sizeof(err), "switching generations: %s", strerror(-rc));
		dp_close(&dp);
		close(lock);
		if (rc) {
			cli_err("load: %s (the running lists stay in force)", err);
			rc = 1;
			goto out;
		}
	}
	printf("loaded %zu block and %zu allow prefixes: %zu compiled entries, %zu slow-path trie "
	       "entries written, %zu removed\n",
	       block.n, allow.n, compiled.n, st.added_or_updated, st.removed);
	printf("fast tables: %zu detailed IPv4 /24s (%zu as ranges, %zu chunks), %zu IPv6 buckets "
	       "(%zu dense), %zu IPv6 hash entries, %zu + %zu /24s past the pool/hash; built in "
	       "%.0f ms, written in %.0f ms\n",
	       fs.details_used, fs.ranges4, fs.chunks_used, fs.buckets6, fs.dense6, fs.h6_entries,
	       fs.deeper4,
	       fs.deeper6, fs.build_ms,
	       fs.write_ms);
	rc = 0;
out:
	prefix_list_free(&block);
	prefix_list_free(&allow);
	prefix_list_free(&compiled);
	return rc;
}
