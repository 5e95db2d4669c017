// SPDX-License-Identifier: GPL-2.0
/*
 * test_syncookie.c - SYN cookies for protected local services: the cookie
 * SYN-ACK's bytes, checked by a parser of this file's own (checksums, flags,
 * ack = isn + 1, MSS option, swapped addresses, ports and MACs), IPv4 and
 * IPv6; a forged ACK dropped and counted; the ACK that answers the cookie
 * handed to the stack; packets of a connection the kernel really has (a
 * TCP connection in the test's namespace) untouched; mode "flood" only
 * while sluice_state.flood_mode is on.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "model.h"
#include "prefix.h"

#define SRC4 "192.0.2.9"
#define DST4 "198.51.100.1" /* on the fixture's lbt0 */
#define SRC6 "2001:db8:5::9"
#define DST6 "2001:db8:1::1"

static struct sluice_model model;
static struct syncookie_local_cfg locals[2];

/* Protect DST4 and DST6 port 80 with the given mode. */
static int protect(uint32_t mode, uint16_t port)
{
	char err[SLUICE_ERRLEN];

	memset(&model, 0, sizeof(model));
	memset(locals, 0, sizeof(locals));
	if (prefix_parse(DST4, &locals[0].addr, err, sizeof(err)) ||
	    prefix_parse(DST6, &locals[1].addr, err, sizeof(err)))
		return -1;
	locals[0].port = locals[1].port = port;
	model.syncookie_mode = mode;
	model.syncookie_local = locals;
	model.n_syncookie_local = 2;
	return xdp_set_pods(&model);
}

static int set_flood_mode(uint32_t on)
{
	int fd = xdp_map_fd("sluice_state");
	struct sluice_state st;
	uint32_t zero = 0;

	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &st))
		return -1;
	st.flood_mode = on;
	return bpf_map_update_elem(fd, &zero, &st, BPF_ANY);
}

/* ---- an independent frame builder and parser --------------------------- */

struct seg {
	int family;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t mss; /* 0: no MSS option */
	int ip_opts;  /* IPv4 option bytes (NOPs) */
};

static const uint8_t mac_node[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_peer[6] = {0x02, 0, 0, 0, 0xc1, 0x01};

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

/* Sum of the pseudo header (addresses at a, alen bytes) for TCP. */
static uint32_t pseudo(const uint8_t *a, size_t alen, size_t tcplen)
{
	uint32_t s = 0;

	for (size_t i = 0; i < alen; i += 2)
		s += rd16(a + i);
	return s + IPPROTO_TCP + (uint32_t)tcplen;
}

static size_t build_seg(const struct seg *s, uint8_t *f)
{
	size_t l3 = 14, ihl = s->family == 4 ? 20 + (size_t)s->ip_opts : 40;
	size_t l4 = l3 + ihl, thl = s->mss ? 24 : 20, len = l4 + thl;
	uint8_t *th = f + l4;

	memset(f, 0, len);
	memcpy(f, mac_node, 6);
	memcpy(f + 6, mac_peer, 6);
	if (s->family == 4) {
		wr16(f + 12, 0x0800);
		f[l3] = (uint8_t)(0x40 | ihl / 4);
		wr16(f + l3 + 2, (uint16_t)(len - l3));
		f[l3 + 8] = 64;
		f[l3 + 9] = IPPROTO_TCP;
		inet_pton(AF_INET, s->src, f + l3 + 12);
		inet_pton(AF_INET, s->dst, f + l3 + 16);
		memset(f + l3 + 20, 1, (size_t)s->ip_opts);
		wr16(f + l3 + 10, inet_csum(f + l3, ihl, 0));
	} else {
		wr16(f + 12, 0x86dd);
		f[l3] = 0x60;
		wr16(f + l3 + 4, (uint16_t)thl);
		f[l3 + 6] = IPPROTO_TCP;
		f[l3 + 7] = 64;
		inet_pton(AF_INET6, s->src, f + l3 + 8);
		inet_pton(AF_INET6, s->dst, f + l3 + 24);
	}
	wr16(th, s->sport);
	wr16(th + 2, s->dport);
	wr32(th + 4, s->seq);
	wr32(th + 8, s->ack);
	th[12] = (uint8_t)(thl / 4 << 4);
	th[13] = s->flags;
	wr16(th + 14, 64240);
	if (s->mss) {
		th[20] = 2;
		th[21] = 4;
		wr16(th + 22, s->mss);
	}
	wr16(th + 16,
	     inet_csum(th, thl,
		       s->family == 4 ? pseudo(f + l3 + 12, 8, thl) : pseudo(f + l3 + 8, 32, thl)));
	return len;
}

struct synack {
	uint32_t seq, ack;
	uint16_t mss;
};

/* Check every byte of a cookie SYN-ACK answering SYN s; fills out. */
static int parse_synack(const struct seg *s, const uint8_t *f, size_t len, struct synack *out)
{
	size_t l3 = 14, l4 = l3 + (s->family == 4 ? 20 : 40);
	uint8_t src[16], dst[16];
	const uint8_t *th = f + l4;
	size_t alen = s->family == 4 ? 4 : 16;

	CHECK_EQ(len, l4 + 24);
	CHECK(!memcmp(f, mac_peer, 6));	    /* back to the sender */
	CHECK(!memcmp(f + 6, mac_node, 6)); /* from us */
	inet_pton(s->family == 4 ? AF_INET : AF_INET6, s->src, src);
	inet_pton(s->family == 4 ? AF_INET : AF_INET6, s->dst, dst);
	if (s->family == 4) {
		CHECK_EQ(rd16(f + 12), 0x0800);
		CHECK_EQ(f[l3], 0x45);
		CHECK_EQ(rd16(f + l3 + 2), 44);
		CHECK_EQ(f[l3 + 9], IPPROTO_TCP);
		CHECK(f[l3 + 8] > 0);
		CHECK_EQ(inet_csum(f + l3, 20, 0), 0);
		CHECK(!memcmp(f + l3 + 12, dst, 4));
		CHECK(!memcmp(f + l3 + 16, src, 4));
		CHECK_EQ(inet_csum(th, 24, pseudo(f + l3 + 12, 8, 24)), 0);
	} else {
		CHECK_EQ(rd16(f + 12), 0x86dd);
		CHECK_EQ(f[l3] >> 4, 6);
		CHECK_EQ(rd16(f + l3 + 4), 24);
		CHECK_EQ(f[l3 + 6], IPPROTO_TCP);
		CHECK(f[l3 + 7] > 0);
		CHECK(!memcmp(f + l3 + 8, dst, alen));
		CHECK(!memcmp(f + l3 + 24, src, alen));
		CHECK_EQ(inet_csum(th, 24, pseudo(f + l3 + 8, 32, 24)), 0);
	}
	CHECK_EQ(rd16(th), s->dport);
	CHECK_EQ(rd16(th + 2), s->sport);
	CHECK_EQ(rd32(th + 8), s->seq + 1);
	CHECK_EQ(th[12] >> 4, 6);
	CHECK_EQ(th[13], 0x12); /* SYN + ACK, nothing else */
	CHECK(rd16(th + 14) > 0);
	CHECK_EQ(th[20], 2); /* MSS option */
	CHECK_EQ(th[21], 4);
	out->seq = rd32(th + 4);
	out->ack = rd32(th + 8);
	out->mss = rd16(th + 22);
	/* the kernel's cookie MSS classes: never above what the client said */
	CHECK(out->mss >= 536 && out->mss <= (s->mss ? s->mss : 536));
	return 0;
}

static int run_seg(const struct seg *s, struct run_result *r)
{
	uint8_t f[256];
	size_t len = build_seg(s, f);

	return xdp_run(f, len, r);
}

/* Run s and check the program's action and reason. */
static int expect_seg(const struct seg *s, struct run_result *r, int action, int reason)
{
	CHECK(run_seg(s, r) == 0);
	CHECK_EQ(r->action, action);
	CHECK_EQ(r->reason, reason);
	return 0;
}

/* Run s and check the reason only. */
static int expect_seg_reason(const struct seg *s, struct run_result *r, int reason)
{
	CHECK(run_seg(s, r) == 0);
	CHECK_EQ(r->reason, reason);
	return 0;
}

enum { SEG_SYN = 0x02, SEG_ACK = 0x10, SEG_SYN_ACK = 0x12, SEG_PSH_ACK = 0x18 };

/* A segment src:sport -> dst:dport, no options. */
static struct seg seg_of(int family, const char *src, const char *dst, uint16_t sport,
			 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	return (struct seg){.family = family,
			    .src = src,
			    .dst = dst,
			    .sport = sport,
			    .dport = dport,
			    .seq = seq,
			    .ack = ack,
			    .flags = flags};
}

/* The named fixture: a client's SYN from SRC4/SRC6 to the protected
 * DST4/DST6 (mss 0: no MSS option). */
static struct seg client_syn(int family, uint16_t sport, uint16_t dport, uint32_t seq, uint16_t mss)
{
	struct seg syn = seg_of(family, family == 4 ? SRC4 : SRC6, family == 4 ? DST4 : DST6, sport,
				dport, seq, 0, SEG_SYN);

	syn.mss = mss;
	return syn;
}

/* The ACK that completes syn's handshake with the cookie SYN-ACK sa. */
static struct seg cookie_ack(const struct seg *syn, const struct synack *sa)
{
	struct seg ack = *syn;

	ack.flags = SEG_ACK;
	ack.mss = 0;
	ack.seq = syn->seq + 1;
	ack.ack = sa->seq + 1;
	return ack;
}

/* SYN -> cookie SYN-ACK -> ACK: the whole handshake against XDP. */
static int handshake(int family)
{
	struct seg syn = client_syn(family, 40001, 80, 0x12345678, 1460);
	struct run_result r;
	struct synack sa;
	struct seg ack;

	CHECK(protect(SLUICE_COOKIE_ALWAYS, 80) == 0);
	CHECK(expect_seg(&syn, &r, XDP_TX, SR_COOKIE_SENT) == 0);
	CHECK(parse_synack(&syn, r.out, r.out_len, &sa) == 0);
	CHECK_EQ(sa.mss, family == 4 ? 1460 : 1440); /* the largest class <= 1460 */

	ack = cookie_ack(&syn, &sa);
	CHECK(expect_seg(&ack, &r, XDP_PASS, SR_COOKIE_VALID) == 0);
	CHECK(r.tagged);
	CHECK_EQ(r.meta.reason, SR_COOKIE_VALID);

	/* forged: another cookie (not off by one: the low bits are the MSS
	 * class, and the next class may be valid too), or an ACK for another
	 * client ISN */
	ack.ack = sa.seq + 1 + 0x100;
	CHECK(expect_seg(&ack, &r, XDP_DROP, SR_COOKIE_INVALID) == 0);
	ack.ack = sa.seq + 1;
	ack.seq = syn.seq + 1000;
	CHECK(expect_seg_reason(&ack, &r, SR_COOKIE_INVALID) == 0);
	CHECK_EQ(xdp_count_packets(SR_COOKIE_SENT, XDP_TX), 1);
	CHECK_EQ(xdp_count_packets(SR_COOKIE_VALID, XDP_PASS), 1);
	CHECK_EQ(xdp_count_packets(SR_COOKIE_INVALID, XDP_DROP), 2);
	return 0;
}

XDP_FAMILY_TESTS(syncookie_v4_synack_bytes_and_ack_check, syncookie_v6_synack_bytes_and_ack_check,
		 handshake)

XDP_TEST(syncookie_syn_without_mss_gets_the_default_class)
{
	struct seg syn = client_syn(4, 40002, 80, 7, 0);
	struct run_result r;
	struct synack sa;

	CHECK(protect(SLUICE_COOKIE_ALWAYS, 80) == 0);
	CHECK(expect_seg_reason(&syn, &r, SR_COOKIE_SENT) == 0);
	CHECK(parse_synack(&syn, r.out, r.out_len, &sa) == 0);
	CHECK_EQ(sa.mss, 536);
	return 0;
}

XDP_TEST(syncookie_forged_acks_are_dropped_and_counted)
{
	struct run_result r;
	int dropped = 0;

	CHECK(protect(SLUICE_COOKIE_ALWAYS, 80) == 0);
	for (uint32_t i = 0; i < 64; i++) {
		struct seg ack = client_syn(i & 1 ? 6 : 4, (uint16_t)(20000 + i), 80, i * 7919u, 0);

		ack.flags = SEG_ACK;
		ack.ack = i * 104729u + 1;
		CHECK(run_seg(&ack, &r) == 0);
		dropped += r.action == XDP_DROP && r.reason == SR_COOKIE_INVALID;
	}
	CHECK_EQ(dropped, 64);
	CHECK_EQ(xdp_count_packets(SR_COOKIE_INVALID, XDP_DROP), 64);
	return 0;
}

XDP_TEST(syncookie_other_ports_and_modes_are_untouched)
{
	struct seg syn = client_syn(4, 40003, 81, 7, 1460);
	struct run_result r;

	CHECK(protect(SLUICE_COOKIE_ALWAYS, 80) == 0);
	/* port 81: not protected */
	CHECK(expect_seg(&syn, &r, XDP_PASS, SR_PASS) == 0);
	syn.dport = 80;
	CHECK(protect(SLUICE_COOKIE_OFF, 80) == 0);
	CHECK(expect_seg(&syn, &r, XDP_PASS, SR_PASS) == 0);
	return 0;
}

XDP_TEST(syncookie_flood_mode_only_while_flooding)
{
	struct seg syn = client_syn(6, 40004, 80, 99, 1400);
	struct run_result r;
	struct synack sa;

	CHECK(protect(SLUICE_COOKIE_FLOOD, 80) == 0);
	CHECK(set_flood_mode(0) == 0);
	/* the stack (and its SYNPROXY) answers */
	CHECK(expect_seg(&syn, &r, XDP_PASS, SR_PASS) == 0);
	CHECK(set_flood_mode(1) == 0);
	CHECK(run_seg(&syn, &r) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK(parse_synack(&syn, r.out, r.out_len, &sa) == 0);
	CHECK(set_flood_mode(0) == 0);
	return 0;
}

XDP_TEST(syncookie_syn_with_ip_options_is_dropped_as_unsupported)
{
	struct seg syn = client_syn(4, 40005, 80, 5, 1460);
	struct run_result r;

	syn.ip_opts = 4;
	CHECK(protect(SLUICE_COOKIE_ALWAYS, 80) == 0);
	CHECK(expect_seg(&syn, &r, XDP_DROP, SR_COOKIE_UNSUPPORTED) == 0);
	syn.ip_opts = 0;
	syn.flags = SEG_SYN | 0x01; /* SYN+FIN: not a SYN the kernel would answer */
	CHECK(expect_seg_reason(&syn, &r, SR_COOKIE_UNSUPPORTED) == 0);
	return 0;
}

/* A real TCP connection in the test's namespace: its segments must pass
 * untouched (the kernel has the socket), while the same ports with no
 * connection behind them need a cookie. */
XDP_TEST(syncookie_established_connection_passes_untouched)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd = socket(AF_INET, SOCK_STREAM, 0), afd = -1;
	int one = 1, rc = -1;
	struct run_result r;
	uint8_t f[256];
	size_t len;
	struct seg seg = {.family = 4,
			  .src = DST4,
			  .dst = DST4,
			  .dport = 8080,
			  .seq = 1234,
			  .ack = 5678,
			  .flags = SEG_PSH_ACK};

	inet_pton(AF_INET, DST4, &a.sin_addr);
	if (lfd < 0 || cfd < 0)
		goto out;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4) ||
	    connect(cfd, (struct sockaddr *)&a, sizeof(a)))
		goto out;
	afd = accept(lfd, NULL, NULL);
	if (afd < 0 || getsockname(cfd, (struct sockaddr *)&a, &alen))
		goto out;
	seg.sport = ntohs(a.sin_port);
	if (protect(SLUICE_COOKIE_ALWAYS, 8080))
		goto out;
	len = build_seg(&seg, f);
	if (xdp_run(f, len, &r))
		goto out;
	if (r.action != XDP_PASS || r.reason != SR_PASS || r.out_len != len ||
	    memcmp(r.out, f, len)) {
		fprintf(stderr,
			"    established segment: action %d reason %d (want pass, "
			"untouched)\n",
			r.action, r.reason);
		goto out;
	}
	/* the listener alone is no connection: a stray ACK needs a cookie */
	seg.sport = (uint16_t)(seg.sport + 1);
	len = build_seg(&seg, f);
	if (xdp_run(f, len, &r))
		goto out;
	if (r.action != XDP_DROP || r.reason != SR_COOKIE_INVALID) {
		fprintf(stderr, "    ACK to the listener only: action %d reason %d (want drop)\n",
			r.action, r.reason);
		goto out;
	}
	rc = 0;
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return rc;
}

/* ---- NAT VIPs with syn_cookies = true (xdp/synproxy.h) -------------------- */

#include "services.h"

#define VIP4 "192.0.2.10"
#define VIP6 "2001:db8:10::10"
#define BE4 "203.0.113.11" /* the fixture's neighbours: backend MAC */
#define BE6 "2001:db8:20::11"

static struct lb_service_cfg vip_svc;
static struct lb_backend_cfg vip_be;

static int set_vip(int family, bool cookies)
{
	struct lb_model m = {.svcs = &vip_svc, .n = 1};
	char err[SLUICE_ERRLEN];

	memset(&vip_svc, 0, sizeof(vip_svc));
	memset(&vip_be, 0, sizeof(vip_be));
	if (prefix_parse(family == 4 ? VIP4 : VIP6, &vip_svc.vip, err, sizeof(err)) ||
	    prefix_parse(family == 4 ? BE4 : BE6, &vip_be.addr, err, sizeof(err)))
		return -1;
	snprintf(vip_svc.name, sizeof(vip_svc.name), "web");
	vip_svc.port = 80;
	vip_svc.proto = IPPROTO_TCP;
	vip_svc.mode = SLUICE_MODE_NAT;
	vip_svc.syn_cookies = cookies;
	vip_svc.backends = &vip_be;
	vip_svc.n_backends = 1;
	vip_be.port = 8080;
	vip_be.weight = 1;
	vip_be.state = SLUICE_BE_ACTIVE;
	return xdp_set_services(&m);
}

/* A TCP segment as it left the XDP program, checked on the way. */
struct tcpview {
	uint8_t src[16], dst[16], dmac[6];
	uint16_t sport, dport, mss;
	uint32_t seq, ack;
	uint8_t flags;
};

static int view_seg(int family, const uint8_t *f, size_t len, struct tcpview *v)
{
	size_t l3 = 14, l4 = l3 + (family == 4 ? 20 : 40), thl;
	const uint8_t *th = f + l4;

	memset(v, 0, sizeof(*v));
	CHECK(len >= l4 + 20);
	memcpy(v->dmac, f, 6);
	if (family == 4) {
		CHECK_EQ(inet_csum(f + l3, 20, 0), 0);
		CHECK_EQ(rd16(f + l3 + 2), len - l3);
		memcpy(v->src, f + l3 + 12, 4);
		memcpy(v->dst, f + l3 + 16, 4);
		CHECK_EQ(inet_csum(th, len - l4, pseudo(f + l3 + 12, 8, len - l4)), 0);
	} else {
		CHECK_EQ(rd16(f + l3 + 4), len - l4);
		memcpy(v->src, f + l3 + 8, 16);
		memcpy(v->dst, f + l3 + 24, 16);
		CHECK_EQ(inet_csum(th, len - l4, pseudo(f + l3 + 8, 32, len - l4)), 0);
	}
	thl = (size_t)(th[12] >> 4) * 4;
	CHECK(thl >= 20 && l4 + thl <= len);
	v->sport = rd16(th);
	v->dport = rd16(th + 2);
	v->seq = rd32(th + 4);
	v->ack = rd32(th + 8);
	v->flags = th[13];
	if (thl >= 24 && th[20] == 2 && th[21] == 4)
		v->mss = rd16(th + 22);
	return 0;
}

static int addr_is(int family, const uint8_t *a, const char *text)
{
	uint8_t b[16] = {0};

	inet_pton(family == 4 ? AF_INET : AF_INET6, text, b);
	return !memcmp(a, b, family == 4 ? 4 : 16);
}

static long conn_entries(void)
{
	int fd = xdp_map_fd("lb_conns");
	struct sluice_flow_key k, next;
	void *prev = NULL;
	long n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

#define VIP_CLI4 "198.51.100.7"
#define VIP_CLI6 "2001:db8:1::7"
#define VIP_CLI_PORT 41000
#define VIP_BE_PORT 8080 /* vip_be.port */

/* The named fixtures of the VIP handshake: a segment of the client's
 * connection to the VIP, and one of the backend's answers to the client. */
static struct seg client_to_vip(int family, uint32_t seq, uint32_t ack, uint8_t flags)
{
	return seg_of(family, family == 4 ? VIP_CLI4 : VIP_CLI6, family == 4 ? VIP4 : VIP6,
		      VIP_CLI_PORT, 80, seq, ack, flags);
}

static struct seg backend_to_client(int family, uint32_t seq, uint32_t ack, uint8_t flags)
{
	return seg_of(family, family == 4 ? BE4 : BE6, family == 4 ? VIP_CLI4 : VIP_CLI6,
		      VIP_BE_PORT, VIP_CLI_PORT, seq, ack, flags);
}

/* What XDP sent in r (transmitted, under reason) is a segment of the
 * client's connection on its way to the backend, with these flags; v
 * gets it. */
static int expect_sent_to_backend(int family, const struct run_result *r, int reason, uint8_t flags,
				  struct tcpview *v)
{
	CHECK_EQ(r->reason, reason);
	CHECK_EQ(r->action, XDP_TX);
	CHECK(view_seg(family, r->out, r->out_len, v) == 0);
	CHECK(addr_is(family, v->src, family == 4 ? VIP_CLI4 : VIP_CLI6));
	CHECK(addr_is(family, v->dst, family == 4 ? BE4 : BE6));
	CHECK(!memcmp(v->dmac, LBT_BACKEND_MAC, 6));
	CHECK_EQ(v->sport, VIP_CLI_PORT);
	CHECK_EQ(v->dport, VIP_BE_PORT);
	CHECK_EQ(v->flags, flags);
	return 0;
}

static int vip_handshake(int family)
{
	const char *cli = family == 4 ? VIP_CLI4 : VIP_CLI6;
	const char *vip = family == 4 ? VIP4 : VIP6, *be = family == 4 ? BE4 : BE6;
	struct seg syn = client_to_vip(family, 0x01020304, 0, SEG_SYN);
	struct seg s;
	struct run_result r;
	struct synack sa;
	struct tcpview v;
	const uint32_t bisn = 0xabcdef00;

	syn.mss = 1460;
	CHECK(set_vip(family, true) == 0);
	/* SYN: answered from the VIP, nothing stored */
	CHECK(expect_seg(&syn, &r, XDP_TX, SR_COOKIE_SENT) == 0);
	CHECK(parse_synack(&syn, r.out, r.out_len, &sa) == 0);
	CHECK_EQ(conn_entries(), 0);

	/* the cookie ACK: a SYN to the backend, entry PENDING */
	s = cookie_ack(&syn, &sa);
	CHECK(run_seg(&s, &r) == 0);
	CHECK(expect_sent_to_backend(family, &r, SR_SP_BACKEND_SYN, SEG_SYN, &v) == 0);
	CHECK_EQ(v.seq, syn.seq); /* the client's own ISN */
	CHECK_EQ(v.mss, family == 4 ? 1460 : 1440);
	CHECK_EQ(conn_entries(), 1);

	/* a later client segment while pending: dropped, counted */
	s.seq = syn.seq + 101;
	CHECK(expect_seg(&s, &r, XDP_DROP, SR_SP_PENDING) == 0);

	/* the backend's SYN-ACK: answered with the ACK, never seen by the client */
	s = backend_to_client(family, bisn, syn.seq + 1, SEG_SYN_ACK);
	s.mss = 1460;
	CHECK(run_seg(&s, &r) == 0);
	CHECK(expect_sent_to_backend(family, &r, SR_SP_BACKEND_ACK, SEG_ACK, &v) == 0);
	CHECK_EQ(v.seq, syn.seq + 1);
	CHECK_EQ(v.ack, bisn + 1);

	/* client data: DNAT and ack += delta */
	s = client_to_vip(family, syn.seq + 1, sa.seq + 1, SEG_PSH_ACK);
	CHECK(expect_seg_reason(&s, &r, SR_LB_FORWARD) == 0);
	CHECK(view_seg(family, r.out, r.out_len, &v) == 0);
	CHECK(addr_is(family, v.dst, be));
	CHECK_EQ(v.dport, VIP_BE_PORT);
	CHECK_EQ(v.seq, syn.seq + 1);
	CHECK_EQ(v.ack, bisn + 1);

	/* backend data: reverse NAT and seq -= delta */
	s = backend_to_client(family, bisn + 1, syn.seq + 1, SEG_PSH_ACK);
	CHECK(expect_seg_reason(&s, &r, SR_LB_REPLY) == 0);
	CHECK(view_seg(family, r.out, r.out_len, &v) == 0);
	CHECK(addr_is(family, v.src, vip));
	CHECK(addr_is(family, v.dst, cli));
	CHECK_EQ(v.sport, 80);
	CHECK_EQ(v.seq, sa.seq + 1);
	CHECK_EQ(v.ack, syn.seq + 1);

	/* forged ACKs and a SYN flood make no entries */
	for (uint16_t i = 0; i < 100; i++) {
		s = syn;
		s.sport = (uint16_t)(50000 + i);
		CHECK(expect_seg_reason(&s, &r, SR_COOKIE_SENT) == 0);
		s.flags = SEG_ACK;
		s.mss = 0;
		s.seq = syn.seq + 1 + i;
		s.ack = 0x5a5a0000u + i;
		CHECK(expect_seg(&s, &r, XDP_DROP, SR_COOKIE_INVALID) == 0);
	}
	CHECK_EQ(conn_entries(), 1);
	return 0;
}

XDP_FAMILY_TESTS(synproxy_v4_vip_handshake_and_translation,
		 synproxy_v6_vip_handshake_and_translation, vip_handshake)

/* Connections from before syn_cookies was turned on keep going untouched;
 * a new connection on the same 5-tuple is recognised by its cookie. */
XDP_TEST(synproxy_older_connections_untouched_tuple_reuse_recognised)
{
	struct seg s = client_to_vip(4, 1000, 2000, SEG_ACK), ack;
	struct run_result r;
	struct tcpview v;
	struct synack sa;

	s.sport = 42000;
	CHECK(set_vip(4, false) == 0);
	CHECK(expect_seg_reason(&s, &r, SR_LB_FORWARD) == 0);
	CHECK_EQ(conn_entries(), 1);
	CHECK(set_vip(4, true) == 0);
	s.seq = 1001;
	s.ack = 2001;
	s.flags = SEG_PSH_ACK;
	CHECK(expect_seg_reason(&s, &r, SR_LB_FORWARD) == 0);
	CHECK(view_seg(4, r.out, r.out_len, &v) == 0);
	CHECK(addr_is(4, v.dst, BE4));
	CHECK_EQ(v.ack, 2001); /* not translated */
	/* the same 5-tuple, a new connection through the cookie */
	s.seq = 5000;
	s.ack = 0;
	s.flags = SEG_SYN;
	s.mss = 1460;
	CHECK(expect_seg_reason(&s, &r, SR_COOKIE_SENT) == 0);
	CHECK(parse_synack(&s, r.out, r.out_len, &sa) == 0);
	ack = cookie_ack(&s, &sa); /* seq 5001 */
	CHECK(expect_seg_reason(&ack, &r, SR_SP_BACKEND_SYN) == 0);
	CHECK(view_seg(4, r.out, r.out_len, &v) == 0);
	CHECK_EQ(v.flags, SEG_SYN);
	CHECK_EQ(v.seq, 5000);
	CHECK_EQ(conn_entries(), 1);
	return 0;
}
