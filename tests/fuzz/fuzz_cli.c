// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_cli.c - libFuzzer harness: `sluice` argument parsing.  ctl/main.c is
 * compiled with main renamed (sluice_cli_main) and fed argv made from the
 * input (NUL-separated words).  `check` and `load` run for real up to the
 * data path: check parses and validates a config, load parses its options
 * and list files and compiles them; opening the data path fails here and
 * every other dp_* function aborts, and every other command is a stub
 * (cli_stubs.sh), so nothing is attached, no map is opened and no daemon is
 * contacted.
 *
 * Words "@conf" and "@list" become the paths of a valid config and a list
 * file in the harness's private directory.
 */
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataplane.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int sluice_cli_main(int argc, char **argv);

/* ---- what the real commands would reach beyond parsing: refused ------- */

int dp_open_pinned(struct dataplane *dp, const char *dir, char *err, size_t errlen)
{
	(void)dp;
	snprintf(err, errlen, "fuzzing: no data path at %s", dir);
	return -1;
}

/* ---- the harness ---------------------------------------------------------- */

static const char valid_conf[] =
	"interfaces = ( { name = \"lo\"; } );\n"
	"blocklist = { prefixes = [ \"192.0.2.0/24\" ]; files = [ \"block.txt\" ]; };\n"
	"allowlist = { prefixes = [ \"192.0.2.7\" ]; };\n"
	"services = ( { name = \"web\"; vip = \"198.51.100.10\"; port = 80; protocol = \"tcp\";\n"
	"  backends = ( { address = \"203.0.113.11\"; port = 8080; } ); } );\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	/* never the real pin directory, even if a stub were missing */
	setenv("SLUICE_PIN_DIR", "/nonexistent/sluice-fuzz", 1);
	setenv("SLUICE_SOCKET", "/nonexistent/sluice-fuzz.sock", 1);
	fuzz_dir();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char conf[4096], list[4096];
	char *buf, *argv[18];
	int argc = 1;

	if (size > 4096)
		return 0;
	if (!conf[0]) {
		const char *p = fuzz_write("arg.conf", (const uint8_t *)valid_conf, strlen(valid_conf));

		if (!p)
			abort();
		snprintf(conf, sizeof(conf), "%s", p);
		snprintf(list, sizeof(list), "%s/block.txt", fuzz_dir());
	}
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[0] = "sluice";
	for (char *w = buf; argc < 17 && w <= buf + size; w += strlen(w) + 1) {
		if (!strcmp(w, "@conf"))
			argv[argc++] = conf;
		else if (!strcmp(w, "@list"))
			argv[argc++] = list;
		else
			argv[argc++] = w;
	}
	argv[argc] = NULL;
	/* Known bug (tests/fuzz/README.md): `load --block /dev/zero` (any
	 * endless device or FIFO) never returns: prefix_list_load_file takes
	 * what it opens as a file.  Such words are left out until fixed. */
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (!stat(argv[i], &st) && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			free(buf);
			return 0;
		}
	}
	sluice_cli_main(argc, argv);
	free(buf);
	return 0;
}
