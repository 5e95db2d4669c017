// SPDX-License-Identifier: GPL-2.0
/*
 * test_top.c - `sluice top`'s side of the `top` reply: lines parsed by
 * kind (names with blanks kept whole, unknown kinds skipped), rates from
 * two snapshots, the busiest rows first; and the event line formats.
 */
#include <arpa/inet.h>
#include <string.h>

#include "event_fmt.h"
#include "harness.h"
#include "top.h"

static const char snap0[] = "daemon 42 10 1 3 2 /etc/sluice/sluice.conf\n"
			    "reason 1 1000 64000 blocklist\n"
			    "reason 2 500 40000 passed\n"
			    "list 2 1000 64000 block /etc/sluice/my lists/block.txt\n"
			    "pod 10 1000 5 500 0 0 web-1\n"
			    "workload 7 700 1 0 docker:4f1c2a9b8e7d\n"
			    "frobnicate 1 2 3 from a newer daemon\n";

static const char snap1[] =
    "daemon 42 12 1 3 2 /etc/sluice/sluice.conf\n"
    "reason 1 3000 192000 blocklist\n"
    "reason 2 600 48000 passed\n"
    "list 2 3000 192000 block /etc/sluice/my lists/block.txt\n"
    "source 40 35000 120 2 198.51.100.10 blocklist block /etc/sluice/b.txt\n"
    "pod 30 3000 5 500 0 2 web-1\n"
    "workload 7 700 1 1 docker:4f1c2a9b8e7d\n";

TEST(top_reply_parsed_by_kind)
{
	struct top_snap s;
	const struct top_row *r;

	CHECK(top_parse(snap0, &s) == 0);
	CHECK_EQ(s.n, 6); /* the unknown kind is skipped */
	CHECK((r = top_find(&s, "list", NULL)));
	CHECK_EQ(r->v[0], 2);
	CHECK_EQ(r->v[1], 1000);
	CHECK(!strcmp(r->name, "block /etc/sluice/my lists/block.txt"));
	CHECK((r = top_find(&s, "reason", "passed")) && r->v[0] == 2 && r->v[2] == 40000);
	CHECK((r = top_find(&s, "daemon", NULL)) && r->v[0] == 42 && r->v[4] == 2);
	top_snap_free(&s);
	return 0;
}

TEST(top_frame_rates_from_two_snapshots)
{
	struct top_snap a, b;
	struct buf out = {0};
	const char *p;

	CHECK(top_parse(snap0, &a) == 0);
	CHECK(top_parse(snap1, &b) == 0);
	a.at = 100.0;
	b.at = 102.0; /* two seconds: blocklist +2000 packets = 1000/s */
	top_render(&b, &a, 0, &out);
	CHECK(out.s != NULL);
	CHECK((p = strstr(out.s, "  blocklist")) && strstr(p, "drop") && strstr(p, " 1000 "));
	/* busiest first: blocklist (1000/s) above passed (50/s) */
	CHECK(strstr(out.s, "  blocklist") < strstr(out.s, "  passed"));
	CHECK((p = strstr(out.s, "  198.51.100.10")) && strstr(p, "block /etc/sluice/b.txt"));
	CHECK((p = strstr(out.s, "  web-1")) && strstr(p, "30/5") && strstr(p, "0/2"));
	CHECK((p = strstr(out.s, "docker:4f1c2a9b8e7d")) && strstr(p, "(gone)"));
	CHECK(strstr(out.s, "sluice top - daemon pid 42"));
	buf_free(&out);
	/* cut to a width */
	top_render(&b, &a, 40, &out);
	for (const char *l = out.s; l && *l; l = strchr(l, '\n') + 1)
		CHECK(strcspn(l, "\n") <= 40);
	buf_free(&out);
	top_snap_free(&a);
	top_snap_free(&b);
	return 0;
}

TEST(event_lines_text_and_json)
{
	struct sluice_event e = {.ts_ns = 5,
				 .type = SE_POLICY_DENY,
				 .reason = STR_POD_DENIED,
				 .family = 4,
				 .proto = 17,
				 .ifindex = 2,
				 .pod = 3};
	char line[640];

	inet_pton(AF_INET, "203.0.113.10", e.saddr);
	inet_pton(AF_INET, "198.51.100.150", e.daddr);
	e.sport = htons(1234);
	e.dport = htons(9000);
	event_format(&e, false, "pod-a", NULL, line, sizeof(line));
	CHECK(!strcmp(line, "policy_deny pod_ingress_denied     if2   proto 17  "
			    "203.0.113.10:1234 -> 198.51.100.150:9000 pod pod-a\n"));
	event_format(&e, true, "pod-a", NULL, line, sizeof(line));
	CHECK(strstr(line, "\"type\":\"policy_deny\",\"reason\":\"pod_ingress_denied\""));
	CHECK(strstr(line, "\"pod\":3,\"pod_name\":\"pod-a\"}\n"));
	e.type = SE_DROP;
	e.reason = SR_BLOCKLIST;
	e.pod = 0;
	event_format(&e, false, NULL, NULL, line, sizeof(line));
	CHECK(!strncmp(line, "drop        blocklist ", 22) && !strstr(line, " pod "));
	return 0;
}
