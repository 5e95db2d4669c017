// SPDX-License-Identifier: GPL-2.0
/*
 * test_config.c - ctl/config*.c: model_load fills the model from a file, and
 * refuses bad files with "file:line: message" for every problem.  Userspace
 * only: the files live in a fresh temporary directory.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "model.h"
#include "sluice_maps.h"

/* A temporary directory and the files written into it, removed at the end. */
struct tmpdir {
	char path[64];
	char files[8][128];
	int n;
};

static int tmpdir_make(struct tmpdir *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "/tmp/sluice-config-test.XXXXXX");
	return mkdtemp(t->path) ? 0 : -1;
}

/* Write name (in t) with text and mode; out gets its path. */
static const char *tmpdir_write(struct tmpdir *t, const char *name, const char *text, mode_t mode)
{
	char *path = t->files[t->n++], dir[sizeof(t->path)];
	FILE *f;

	memcpy(dir, t->path, sizeof(dir)); /* t is both source and destination */
	snprintf(path, sizeof(t->files[0]), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	chmod(path, mode); /* explicit: the umask must not decide the test */
	return path;
}

static void tmpdir_remove(struct tmpdir *t)
{
	for (int i = 0; i < t->n; i++)
		unlink(t->files[i]);
	rmdir(t->path);
}

static const char valid_conf[] =
    "interfaces = ( { name = \"up0\"; }, { name = \"up1\"; allow_generic = true; } );\n"
    "blocklist = {\n"
    "  prefixes = [ \"198.51.100.128/25\", \"2001:db8:bad::/48\" ];\n"
    "  files = [ \"block.txt\" ];\n"
    "};\n"
    "allowlist = { prefixes = [ \"198.51.100.200\" ]; };\n"
    "identities = (\n"
    "  { name = \"internet\"; prefixes = [ \"0.0.0.0/0\" ]; },\n"
    "  { name = \"partner\"; prefixes = [ \"198.51.100.192/27\" ]; }\n"
    ");\n"
    "services = (\n"
    "  { name = \"web\"; vip = \"192.0.2.10\"; port = 80; protocol = \"tcp\";\n"
    "    backends = (\n"
    "      { address = \"203.0.113.11\"; port = 8080; },\n"
    "      { address = \"203.0.113.12\"; weight = 0; },\n"
    "      { address = \"203.0.113.13\"; weight = 3; state = \"down\"; }\n"
    "    ); },\n"
    "  { name = \"dns\"; vip = \"2001:db8:10::53\"; port = 53; protocol = \"udp\";\n"
    "    mode = \"dsr-ipip\"; backends = ( { address = \"2001:db8:20::1\"; } ); }\n"
    ");\n"
    "pods = ( { name = \"web-1\"; addresses = [ \"203.0.113.50\" ];\n"
    "  ingress = { default = \"deny\";\n"
    "    allow = ( { identity = \"partner\"; protocol = \"tcp\"; ports = \"8000-8080\"; } ); };\n"
    "} );\n"
    "limits = { services = 10; };\n";

TEST(config_load_valid_fills_model)
{
	struct sluice_model m;
	struct diag d = {0};
	struct tmpdir t;
	const char *path;
	int rc;

	CHECK(tmpdir_make(&t) == 0);
	tmpdir_write(&t, "block.txt", "# comment\n203.0.113.128/25\n", 0644);
	path = tmpdir_write(&t, "sluice.conf", valid_conf, 0644);
	rc = model_load(path, &m, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "    %s\n", d.msgs[i]);
	tmpdir_remove(&t);
	CHECK_EQ(rc, 0);
	CHECK_EQ(d.n, 0);

	CHECK_EQ(m.n_ifaces, 2);
	CHECK(!strcmp(m.ifaces[1].name, "up1") && m.ifaces[1].allow_generic);
	CHECK(!m.ifaces[0].allow_generic);

	/* list ids: blocklist.prefixes 1, block.txt 2, allowlist.prefixes 3 */
	CHECK_EQ(m.block.n, 3);
	CHECK_EQ(m.block.v[0].list_id, 1);
	CHECK_EQ(m.block.v[1].family, 6);
	CHECK_EQ(m.block.v[1].list_id, 1);
	CHECK_EQ(m.block.v[2].list_id, 2);
	CHECK_EQ(m.allow.n, 1);
	CHECK_EQ(m.allow.v[0].list_id, 3);
	CHECK_EQ(m.allow.v[0].len, 32);
	CHECK_EQ(m.n_list_sources, 3);
	CHECK(strstr(m.list_sources[1].what, "block.txt") != NULL);
	CHECK(m.list_sources[2].allow);

	CHECK_EQ(m.n_identities, 2);
	CHECK(!strcmp(m.identities[1].name, "partner"));
	CHECK_EQ(m.identities[0].id, 1);
	CHECK_EQ(m.identities[1].id, 2);
	CHECK_EQ(m.identities[1].prefixes.v[0].list_id, 2);

	CHECK_EQ(m.lb.n, 2);
	CHECK(!strcmp(m.lb.svcs[0].name, "web"));
	CHECK_EQ(m.lb.svcs[0].proto, IPPROTO_TCP);
	CHECK_EQ(m.lb.svcs[0].mode, SLUICE_MODE_NAT);
	CHECK_EQ(m.lb.svcs[0].n_backends, 3);
	CHECK_EQ(m.lb.svcs[0].backends[0].port, 8080);
	CHECK_EQ(m.lb.svcs[0].backends[0].weight, 1); /* default */
	CHECK_EQ(m.lb.svcs[0].backends[0].state, SLUICE_BE_ACTIVE);
	CHECK_EQ(m.lb.svcs[0].backends[1].port, 80); /* the service's port */
	CHECK_EQ(m.lb.svcs[0].backends[1].weight, 0);
	CHECK_EQ(m.lb.svcs[0].backends[1].state, SLUICE_BE_DRAINING); /* weight 0 */
	CHECK_EQ(m.lb.svcs[0].backends[2].weight, 3);
	CHECK_EQ(m.lb.svcs[0].backends[2].state, SLUICE_BE_DOWN);
	CHECK_EQ(m.lb.svcs[0].backends[2].line, 16);
	CHECK_EQ(m.lb.svcs[1].vip.family, 6);
	CHECK_EQ(m.lb.svcs[1].vip.len, 128);
	CHECK_EQ(m.lb.svcs[1].proto, IPPROTO_UDP);
	CHECK_EQ(m.lb.svcs[1].mode, SLUICE_MODE_DSR_IPIP);
	CHECK_EQ(m.lb.svcs[1].backends[0].port, 53);

	CHECK_EQ(m.n_pods, 1);
	CHECK(!m.pods[0].ingress_default_allow);
	CHECK(m.pods[0].egress_default_allow); /* no egress block: no policy */
	CHECK_EQ(m.pods[0].n_ingress, 1);
	CHECK_EQ(m.pods[0].ingress[0].identity, 2);
	CHECK_EQ(m.pods[0].ingress[0].port_lo, 8000);
	CHECK_EQ(m.pods[0].ingress[0].port_hi, 8080);

	CHECK_EQ(m.limits.services_max, 10);
	CHECK_EQ(m.limits.backends_max, SLUICE_MAX_BACKENDS - 1); /* default */
	CHECK_EQ(m.limits.verdict_v4_max, SLUICE_VERDICT_V4_MAX);
	CHECK(!strcmp(m.stats_listen, SLUICE_STATS_LISTEN_DEFAULT));
	CHECK(!strcmp(m.pin_dir, SLUICE_PIN_DIR));
	model_free(&m);
	diag_free(&d);
	return 0;
}

/* The message d->msgs[i] starts with "path:line: " and contains needle. */
static int diag_has(const struct diag *d, const char *path, int line, const char *needle)
{
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	for (size_t i = 0; i < d->n; i++)
		if (!strncmp(d->msgs[i], prefix, strlen(prefix)) && strstr(d->msgs[i], needle))
			return 1;
	fprintf(stderr, "    no '%s...%s' among %zu messages:\n", prefix, needle, d->n);
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "      %s\n", d->msgs[i]);
	return 0;
}

/* The named fixture: a config file written into its own temporary
 * directory (next to any list files written before) and loaded. */
struct loaded_conf {
	struct tmpdir t;
	struct sluice_model m;
	struct diag d;
	const char *path;
	int rc;
};

static int conf_dir_make(struct loaded_conf *l)
{
	memset(&l->d, 0, sizeof(l->d));
	return tmpdir_make(&l->t);
}

static void conf_load(struct loaded_conf *l, const char *name, const char *text, mode_t mode)
{
	l->path = tmpdir_write(&l->t, name, text, mode);
	l->rc = model_load(l->path, &l->m, &l->d);
}

/* A file that must be refused: checked after the directory is gone, so
 * that a failed check leaves nothing behind.  ok: the caller's look at
 * the messages, taken before; n_msgs: how many there must be (-1: any). */
static int expect_refused(struct loaded_conf *l, int ok, int n_msgs)
{
	tmpdir_remove(&l->t);
	CHECK_EQ(l->rc, -1);
	CHECK(ok);
	if (n_msgs >= 0)
		CHECK_EQ(l->d.n, n_msgs);
	diag_free(&l->d);
	return 0;
}

TEST(config_load_invalid_reports_every_error_with_file_line)
{
	static const char conf[] = "interfaces = ( { name = \"up0\"; } );\n"
				   "services = (\n"
				   "  { name = \"web\"; vip = \"192.0.2.0/24\"; port = 80;\n"
				   "    protocol = \"sctp\"; backends = ( ); }\n"
				   ");\n"
				   "stats = { listen = \"0.0.0.0:9541\"; colour = \"blue\"; };\n";
	struct loaded_conf l;
	int ok;

	CHECK(conf_dir_make(&l) == 0);
	conf_load(&l, "bad.conf", conf, 0600);
	ok = diag_has(&l.d, l.path, 3, "vip: '192.0.2.0/24' must be a single address") &&
	     diag_has(&l.d, l.path, 4, "protocol must be one of tcp, udp") &&
	     diag_has(&l.d, l.path, 6, "not a loopback address") &&
	     diag_has(&l.d, l.path, 6, "unknown key 'colour' in stats");
	if (expect_refused(&l, ok, 4))
		return -1;
	CHECK_EQ(l.m.lb.n, 0); /* freed on failure */
	CHECK(l.m.ifaces == NULL);
	return 0;
}

TEST(config_load_syntax_error_names_file_line)
{
	struct loaded_conf l;

	CHECK(conf_dir_make(&l) == 0);
	conf_load(&l, "syntax.conf", "interfaces = (\n  { name = \"up0\"; }\n}\n", 0600);
	return expect_refused(&l, diag_has(&l.d, l.path, 3, "syntax error"), -1);
}

TEST(config_load_list_file_error_names_its_own_line)
{
	struct loaded_conf l;
	const char *list;
	char want[256];
	int ok;

	CHECK(conf_dir_make(&l) == 0);
	list = tmpdir_write(&l.t, "bad.txt", "192.0.2.0/24\n  10.0.0.1/8\n", 0644);
	conf_load(&l, "c.conf",
		  "interfaces = ( { name = \"up0\"; } );\n"
		  "blocklist = { files = [ \"bad.txt\" ]; };\n",
		  0644);
	/* the list file's line:col, and the config line that named it */
	snprintf(want, sizeof(want), "%s:2:3: '10.0.0.1/8' has host bits set", list);
	ok = l.d.n == 1 && !strncmp(l.d.msgs[0], want, strlen(want)) &&
	     strstr(l.d.msgs[0], "c.conf:2)") != NULL;
	if (!ok)
		fprintf(stderr, "    want '%s...c.conf:2)', got %zu messages, first '%s'\n", want,
			l.d.n, l.d.n ? l.d.msgs[0] : "");
	return expect_refused(&l, ok, -1);
}

TEST(config_load_refuses_group_writable_file)
{
	struct loaded_conf l;
	int ok;

	CHECK(conf_dir_make(&l) == 0);
	conf_load(&l, "open.conf", "interfaces = ( { name = \"up0\"; } );\n", 0664);
	ok = l.d.n == 1 && strstr(l.d.msgs[0], "writable by its group") &&
	     !strncmp(l.d.msgs[0], l.path, strlen(l.path));
	return expect_refused(&l, ok, -1);
}

/* libconfig 1.5 would read 4294967376 as 80: it must be an error. */
TEST(config_load_rejects_integers_libconfig_would_truncate)
{
	struct loaded_conf l;
	int ok;

	CHECK(conf_dir_make(&l) == 0);
	conf_load(&l, "big.conf",
		  "interfaces = ( { name = \"up0\"; } );\n"
		  "# 99999999999 in a comment is fine\n"
		  "limits = { conns = 4294967376; services = 10L; };\n",
		  0600);
	ok = diag_has(&l.d, l.path, 3, "integer 4294967376 does not fit in 32 bits");
	return expect_refused(&l, ok, 1);
}

/* libconfig stamps the last element of a multi-line array with the line of
 * the closing bracket; the message must name the element's own line. */
TEST(config_load_last_array_element_keeps_its_line)
{
	const char *want = "blocklist.prefixes[1]: '198.51.100.1/24' has host bits set";
	struct loaded_conf l;
	int ok;

	CHECK(conf_dir_make(&l) == 0);
	conf_load(&l, "arr.conf",
		  "interfaces = ( { name = \"up0\"; } );\n"
		  "blocklist = {\n"
		  "  prefixes = [\n"
		  "    \"198.51.100.0/24\",\n"
		  "    \"198.51.100.1/24\"\n"
		  "  ];\n"
		  "};\n",
		  0600);
	ok = diag_has(&l.d, l.path, 5, want);
	return expect_refused(&l, ok, 1);
}

/* @include is refused (libconfig 1.5 can exit() on it), the rest checked. */
TEST(config_load_refuses_include_and_checks_the_rest)
{
	struct loaded_conf l;
	int ok;

	CHECK(conf_dir_make(&l) == 0);
	conf_load(&l, "inc.conf",
		  "interfaces = ( { name = \"up0\"; } );\n"
		  "@include \"\"\n"
		  "stats = { listen = \"10.0.0.1:80\"; };\n",
		  0600);
	ok = diag_has(&l.d, l.path, 2, "@include is not supported") &&
	     diag_has(&l.d, l.path, 3, "not a loopback address");
	return expect_refused(&l, ok, 2);
}
