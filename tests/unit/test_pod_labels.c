// SPDX-License-Identifier: GPL-2.0
/*
 * test_pod_labels.c - pod labels and `from_labels` selectors: the config
 * resolves a selector into one cidr rule per address of every pod it
 * selects, and the TC program then allows exactly those pods' traffic.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "model.h"
#include "policy.skel.h"

static const char labels_conf[] =
    "interfaces = ( { name = \"up0\"; } );\n"
    "pods = (\n"
    "  { name = \"web-1\"; addresses = [ \"203.0.113.10\", \"2001:db8:10::10\" ];\n"
    "    veth = \"vw1*\"; labels = { app = \"web\"; tier = \"front\"; }; },\n"
    "  { name = \"web-2\"; addresses = [ \"203.0.113.11\" ]; match = \"address\";\n"
    "    labels = { app = \"web\"; tier = \"front\"; }; },\n"
    "  { name = \"batch\"; addresses = [ \"203.0.113.12\" ]; labels = { app = \"batch\"; }; },\n"
    "  { name = \"db\"; addresses = [ \"203.0.113.20\" ]; labels = { app = \"db\"; };\n"
    "    ingress = { default = \"deny\"; allow = (\n"
    "      { from_labels = { tier = \"front\"; }; protocol = \"tcp\"; ports = 5432; },\n"
    "      { from_labels = { app = \"nothing\"; }; },\n"
    "      { cidr = \"192.0.2.0/24\"; } ); }; }\n"
    ");\n";

/* Load text as a config file; 0 when valid. */
static int load_text(const char *text, struct sluice_model *m, struct diag *d)
{
	char dir[] = "/tmp/sluice-labels-test.XXXXXX", path[64];
	FILE *f;
	int rc;

	if (!mkdtemp(dir))
		return -2;
	snprintf(path, sizeof(path), "%s/sluice.conf", dir);
	f = fopen(path, "w");
	if (!f)
		return -2;
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	memset(d, 0, sizeof(*d));
	rc = model_load(path, m, d);
	unlink(path);
	rmdir(dir);
	return rc;
}

TEST(pod_labels_are_read_and_selectors_resolve_to_addresses)
{
	struct sluice_model m;
	struct diag d;
	const struct pod_cfg *db;

	CHECK(load_text(labels_conf, &m, &d) == 0);
	CHECK_EQ(m.n_pods, 4);
	CHECK_EQ(m.pods[0].n_labels, 2);
	CHECK(!strcmp(m.pods[0].labels[0].key, "app"));
	CHECK(!strcmp(m.pods[0].labels[0].value, "web"));
	CHECK(!strcmp(m.pods[0].labels[1].key, "tier"));
	CHECK(!m.pods[0].match_address);
	CHECK(m.pods[1].match_address); /* match = "address" */
	CHECK(m.pods[2].match_address); /* no veth pattern: by address */
	db = &m.pods[3];
	/* web-1 (2 addresses) + web-2 (1) for the tier=front rule, nothing
	 * for the selector no pod matches, then the cidr rule */
	CHECK_EQ(db->n_ingress, 4);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(db->ingress[i].proto, IPPROTO_TCP);
		CHECK_EQ(db->ingress[i].port_lo, 5432);
		CHECK_EQ(db->ingress[i].cidr.len, db->ingress[i].cidr.family == 4 ? 32 : 128);
	}
	CHECK_EQ(db->ingress[0].cidr.family, 4);
	CHECK_EQ(db->ingress[1].cidr.family, 6);
	CHECK_EQ(db->ingress[2].cidr.family, 4);
	CHECK_EQ(db->ingress[3].cidr.len, 24);
	CHECK_EQ(db->ingress[3].proto, 0);
	model_free(&m);
	diag_free(&d);
	return 0;
}

static int has_msg(const struct diag *d, const char *line, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], line) && strstr(d->msgs[i], needle))
			return 1;
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "    got: %s\n", d->msgs[i]);
	return 0;
}

TEST(pod_labels_bad_values_and_selectors_are_refused_with_their_line)
{
	static const char bad[] =
	    "interfaces = ( { name = \"up0\"; } );\n"
	    "pods = (\n"
	    "  { name = \"a\"; addresses = [ \"203.0.113.10\" ];\n"
	    "    labels = { app = \"w e b\"; tier = 3; }; },\n"
	    "  { name = \"b\"; addresses = [ \"203.0.113.11\" ]; veth = \"vb\"; match = "
	    "\"address\";\n"
	    "    ingress = { default = \"deny\"; allow = (\n"
	    "      { from_labels = { app = \"a\"; }; cidr = \"192.0.2.0/24\"; },\n"
	    "      { from_labels = { }; } ); }; }\n"
	    ");\n";
	struct sluice_model m;
	struct diag d;

	CHECK(load_text(bad, &m, &d) == -1);
	CHECK(has_msg(&d, ":4:", "app 'w e b' must be"));
	CHECK(has_msg(&d, ":4:", "tier must be a string"));
	CHECK(has_msg(&d, ":5:", "match = \"address\""));
	CHECK(has_msg(&d, ":7:", "from_labels and cidr cannot be combined"));
	CHECK(has_msg(&d, ":8:", "from_labels is empty"));
	diag_free(&d);
	return 0;
}

static int tc_verdict(const char *src, const char *dst, uint16_t dport)
{
	struct pkt_spec s = strchr(src, ':') ? spec_tcp6(src, dst) : spec_tcp4(src, dst);
	uint8_t frame[FRAME_MAX], out[FRAME_MAX + 256];
	size_t len;
	struct __sk_buff ctx = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out, .data_size_out = sizeof(out),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	s.dport = dport;
	len = build_frame(&s, frame, NULL);
	opts.data_in = frame;
	opts.data_size_in = (__u32)len;
	if (bpf_prog_test_run_opts(bpf_program__fd(xdp_tc_obj()->progs.sluice_tc_uplink_cbtag),
				   &opts))
		return -1;
	return (int)opts.retval;
}

XDP_TEST(pod_labels_selector_allows_exactly_the_selected_pods)
{
	struct sluice_model m;
	struct diag d;

	CHECK(load_text(labels_conf, &m, &d) == 0);
	CHECK(xdp_tc_obj() != NULL);
	CHECK(xdp_set_pods(&m) == 0);
	CHECK_EQ(tc_verdict("203.0.113.10", "203.0.113.20", 5432), TC_ACT_OK);	 /* web-1 */
	CHECK_EQ(tc_verdict("203.0.113.11", "203.0.113.20", 5432), TC_ACT_OK);	 /* web-2 */
	CHECK_EQ(tc_verdict("203.0.113.12", "203.0.113.20", 5432), TC_ACT_SHOT); /* batch */
	CHECK_EQ(tc_verdict("203.0.113.10", "203.0.113.20", 22), TC_ACT_SHOT);	 /* port */
	CHECK_EQ(tc_verdict("198.51.100.7", "203.0.113.20", 5432), TC_ACT_SHOT); /* nobody */
	CHECK_EQ(tc_verdict("192.0.2.7", "203.0.113.20", 22), TC_ACT_OK);	 /* cidr rule */
	model_free(&m);
	diag_free(&d);
	return 0;
}
