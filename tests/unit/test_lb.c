// SPDX-License-Identifier: GPL-2.0
/*
 * test_lb.c - the load balancer through the real XDP program: DNAT and
 * reverse NAT byte for byte with checksums checked independently, backend
 * choice (connection table, Maglev), backend states, counters.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "maglev.h"
#include "prefix.h"
#include "services.h"

#define VIP4 "192.0.2.10"
#define VIP6 "2001:db8:10::10"

/* ---- fixtures ---------------------------------------------------------- */

struct svc_fixture {
	struct lb_service_cfg svc[4];
	struct lb_backend_cfg be[4][16];
	struct lb_model model;
};

static void host(const char *s, struct sluice_prefix *p)
{
	char err[SLUICE_ERRLEN];

	if (prefix_parse(s, p, err, sizeof(err)))
		abort();
}

static struct lb_service_cfg *add_service(struct svc_fixture *f, const char *vip, uint16_t port,
					  uint8_t proto)
{
	size_t i = f->model.n++;
	struct lb_service_cfg *s = &f->svc[i];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "svc%zu", i);
	host(vip, &s->vip);
	s->port = port;
	s->proto = proto;
	s->mode = SLUICE_MODE_NAT;
	s->backends = f->be[i];
	f->model.svcs = f->svc;
	return s;
}

static struct lb_backend_cfg *add_backend(struct lb_service_cfg *s, const char *addr, uint16_t port,
					  uint32_t weight)
{
	struct lb_backend_cfg *b = &s->backends[s->n_backends++];

	memset(b, 0, sizeof(*b));
	host(addr, &b->addr);
	b->port = port;
	b->weight = weight;
	b->state = SLUICE_BE_ACTIVE;
	return b;
}

/* web: VIP4:80/tcp -> 203.0.113.11..13:8080 (weights 1,1,1) */
/* (filled in place: the model points into the fixture) */
static void web4(struct svc_fixture *f)
{
	struct lb_service_cfg *s = add_service(f, VIP4, 80, IPPROTO_TCP);

	add_backend(s, "203.0.113.11", 8080, 1);
	add_backend(s, "203.0.113.12", 8080, 1);
	add_backend(s, "203.0.113.13", 8080, 1);
}

/* web4 with the model loaded into the fixture. */
static int web4_loaded(struct svc_fixture *f)
{
	web4(f);
	return xdp_set_services(&f->model);
}

/* One service (vip:port/proto) with one active backend (be:be_port),
 * loaded into the fixture. */
static int one_backend_service(struct svc_fixture *f, const char *vip, uint16_t port, uint8_t proto,
			       const char *be, uint16_t be_port)
{
	add_backend(add_service(f, vip, port, proto), be, be_port, 1);
	return xdp_set_services(&f->model);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A TCP or UDP frame src:sport -> dst:dport with valid checksums. */
static size_t l4_frame(uint8_t *buf, struct frame_layout *lay, int family, uint8_t proto,
		       const char *src, const char *dst, uint16_t sport, uint16_t dport,
		       uint8_t tcp_flags, int payload)
{
	struct pkt_spec s =
	    family == 4 ? (proto == IPPROTO_TCP ? spec_tcp4(src, dst) : spec_udp4(src, dst))
			: (proto == IPPROTO_TCP ? spec_tcp6(src, dst) : spec_udp6(src, dst));
	size_t len;

	s.sport = sport;
	s.dport = dport;
	s.tcp_flags = tcp_flags;
	s.payload = payload;
	len = build_frame(&s, buf, lay);
	frame_fill_l4_csum(buf, lay, family, proto);
	return len;
}

/* A client->VIP frame with valid checksums. */
static size_t client_frame(uint8_t *buf, struct frame_layout *lay, int family, uint8_t proto,
			   uint16_t sport, uint16_t dport, uint8_t tcp_flags)
{
	return l4_frame(buf, lay, family, proto, family == 4 ? LBT_CLIENT4 : LBT_CLIENT6,
			family == 4 ? VIP4 : VIP6, sport, dport, tcp_flags, 24);
}

/* Run len bytes of in and check the program's action and reason. */
static int expect_run(const uint8_t *in, size_t len, struct run_result *r, int action, int reason)
{
	CHECK(xdp_run(in, len, r) == 0);
	CHECK_EQ(r->action, action);
	CHECK_EQ(r->reason, reason);
	return 0;
}

/* The same for a frame built from spec. */
static int expect_spec(const struct pkt_spec *spec, struct run_result *r, int action, int reason)
{
	CHECK(xdp_run_spec(spec, r) >= 0);
	CHECK_EQ(r->action, action);
	CHECK_EQ(r->reason, reason);
	return 0;
}

/* Check a frame after NAT: addresses/ports as given, MACs, checksums, and
 * that nothing else changed compared with the input. */
static int check_nat(const uint8_t *in, const uint8_t *out, size_t len,
		     const struct frame_layout *lay, int family, uint8_t proto, int which,
		     const char *new_addr, uint16_t new_port, const uint8_t *dmac)
{
	uint8_t want[16] = {0};
	size_t aoff = lay->l3 + (family == 4 ? (which ? 16 : 12) : (which ? 24 : 8));
	size_t alen = family == 4 ? 4 : 16;
	size_t poff = lay->l4 + (which ? 2 : 0);
	uint8_t expect[FRAME_MAX];

	inet_pton(family == 4 ? AF_INET : AF_INET6, new_addr, want);
	CHECK(memcmp(out + aoff, want, alen) == 0);
	CHECK_EQ(get16(out + poff), new_port);
	CHECK(memcmp(out, dmac, 6) == 0);
	CHECK(memcmp(out + 6, lbt_dev_mac(), 6) == 0);
	if (family == 4)
		CHECK(frame_ipv4_csum_ok(out, lay));
	CHECK(frame_l4_csum_ok(out, lay, family, proto));
	/* everything else is byte for byte the input */
	memcpy(expect, in, len);
	memcpy(expect, out, 12);
	memcpy(expect + aoff, want, alen);
	expect[poff] = (uint8_t)(new_port >> 8);
	expect[poff + 1] = (uint8_t)new_port;
	if (family == 4)
		memcpy(expect + lay->l3 + 10, out + lay->l3 + 10, 2);
	{
		size_t coff = lay->l4 + (proto == IPPROTO_TCP ? 16 : 6);

		memcpy(expect + coff, out + coff, 2);
	}
	CHECK(memcmp(expect, out, len) == 0);
	return 0;
}

static int is_backend(const uint8_t *out, const struct frame_layout *lay, int family,
		      const char *const *addrs)
{
	for (; *addrs; addrs++) {
		uint8_t a[16];

		inet_pton(family == 4 ? AF_INET : AF_INET6, *addrs, a);
		if (!memcmp(out + lay->l3 + (family == 4 ? 16 : 24), a, family == 4 ? 4 : 16))
			return 1;
	}
	return 0;
}

/* Which backend (its address's last byte) a flow from sport went to. */
static int backend_of(int family, uint8_t proto, uint16_t sport, uint8_t flags)
{
	uint8_t in[FRAME_MAX], out[FRAME_MAX + 256];
	struct frame_layout lay;
	size_t len = client_frame(in, &lay, family, proto, sport, 80, flags), olen;
	int act = xdp_run_raw(in, len, out, &olen);

	if (act != XDP_TX)
		return -act - 1;
	return out[lay.l3 + (family == 4 ? 19 : 39)];
}

/* The four named tests of a case function fn(family, proto): one per
 * family and protocol, named prefix_v4_tcp_what ... prefix_v6_udp_what. */
#define FAMILY_PROTO_TEST(name, fn, family, proto)                                                 \
	XDP_TEST(name)                                                                             \
	{                                                                                          \
		return fn(family, proto);                                                          \
	}
#define FAMILY_PROTO_TESTS(prefix, what, fn)                                                       \
	FAMILY_PROTO_TEST(prefix##_v4_tcp_##what, fn, 4, IPPROTO_TCP)                              \
	FAMILY_PROTO_TEST(prefix##_v4_udp_##what, fn, 4, IPPROTO_UDP)                              \
	FAMILY_PROTO_TEST(prefix##_v6_tcp_##what, fn, 6, IPPROTO_TCP)                              \
	FAMILY_PROTO_TEST(prefix##_v6_udp_##what, fn, 6, IPPROTO_UDP)

/* ---- DNAT and reverse NAT, byte for byte ------------------------------- */

static int dnat_case(int family, uint8_t proto)
{
	static const char *const b4[] = {"203.0.113.11", "203.0.113.12", "203.0.113.13", NULL};
	static const char *const b6[] = {"2001:db8:20::11", "2001:db8:20::12", "2001:db8:20::13",
					 NULL};
	struct svc_fixture f = {0};
	struct lb_service_cfg *s = add_service(&f, family == 4 ? VIP4 : VIP6, 80, proto);
	const char *const *bs = family == 4 ? b4 : b6;
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	struct run_result r;
	char chosen[64];
	size_t len;

	for (int i = 0; bs[i]; i++)
		add_backend(s, bs[i], 8080, 1);
	CHECK(xdp_set_services(&f.model) == 0);
	len = client_frame(in, &lay, family, proto, 40000, 80, 0x02);
	CHECK(expect_run(in, len, &r, XDP_TX, SR_LB_FORWARD) == 0);
	CHECK_EQ(r.out_len, len);
	CHECK(is_backend(r.out, &lay, family, bs));
	inet_ntop(family == 4 ? AF_INET : AF_INET6, r.out + lay.l3 + (family == 4 ? 16 : 24),
		  chosen, sizeof(chosen));
	return check_nat(in, r.out, len, &lay, family, proto, 1, chosen, 8080,
			 (const uint8_t *)LBT_BACKEND_MAC);
}

FAMILY_PROTO_TESTS(dnat, rewrites_destination_macs_and_checksums, dnat_case)

static int reverse_case(int family, uint8_t proto)
{
	struct svc_fixture f = {0};
	const char *be = family == 4 ? "203.0.113.12" : "2001:db8:20::12";
	const char *client = family == 4 ? LBT_CLIENT4 : LBT_CLIENT6;
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	struct run_result r;
	size_t len;

	CHECK(one_backend_service(&f, family == 4 ? VIP4 : VIP6, 80, proto, be, 8080) == 0);
	/* SYN-ACK; odd length: checksum padding */
	len = l4_frame(in, &lay, family, proto, be, client, 8080, 40000, 0x12, 31);
	CHECK(expect_run(in, len, &r, XDP_TX, SR_LB_REPLY) == 0);
	return check_nat(in, r.out, len, &lay, family, proto, 0, family == 4 ? VIP4 : VIP6, 80,
			 (const uint8_t *)LBT_CLIENT_MAC);
}

FAMILY_PROTO_TESTS(reverse_nat, restores_vip_source, reverse_case)

/* A backend's packet to the node's own address (the daemon's health check
 * connection) is not a reply to a client: it goes up the stack unchanged,
 * not reverse-NATed (which would hand the node a packet from the VIP). */
static int to_node_case(int family)
{
	struct svc_fixture f = {0};
	const char *be = family == 4 ? "203.0.113.12" : "2001:db8:20::12";
	const char *node = family == 4 ? "203.0.113.1" : "2001:db8:20::1";
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	struct run_result r;
	size_t len;

	CHECK(one_backend_service(&f, family == 4 ? VIP4 : VIP6, 80, IPPROTO_TCP, be, 8080) == 0);
	/* SYN-ACK to the daemon's connect() */
	len = l4_frame(in, &lay, family, IPPROTO_TCP, be, node, 8080, 40000, 0x12, 0);
	CHECK(xdp_run(in, len, &r) == 0);
	CHECK_EQ(r.action, XDP_PASS);
	CHECK(r.reason != SR_LB_REPLY && r.reason != SR_LB_FIB_FAIL);
	CHECK_EQ(r.out_len, len);
	CHECK(memcmp(r.out, in, len) == 0);
	return 0;
}

XDP_FAMILY_TESTS(backend_packet_to_the_node_itself_is_not_reverse_natted_v4,
		 backend_packet_to_the_node_itself_is_not_reverse_natted_v6, to_node_case)

XDP_TEST(dnat_v4_udp_without_checksum_keeps_it_zero)
{
	struct svc_fixture f = {0};
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	struct run_result r;
	size_t len;

	CHECK(one_backend_service(&f, VIP4, 53, IPPROTO_UDP, "203.0.113.11", 5353) == 0);
	len = client_frame(in, &lay, 4, IPPROTO_UDP, 40000, 53, 0);
	in[lay.l4 + 6] = in[lay.l4 + 7] = 0;
	CHECK(xdp_run(in, len, &r) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK_EQ(get16(r.out + lay.l4 + 6), 0);
	CHECK_EQ(get16(r.out + lay.l4 + 2), 5353);
	CHECK(frame_ipv4_csum_ok(r.out, &lay));
	return 0;
}

XDP_TEST(dnat_keeps_vlan_tag)
{
	struct svc_fixture f = {0};
	struct pkt_spec spec = spec_tcp4(LBT_CLIENT4, VIP4);
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	struct run_result r;
	size_t len;

	CHECK(web4_loaded(&f) == 0);
	spec.vlans = 1;
	len = build_frame(&spec, in, &lay);
	frame_fill_l4_csum(in, &lay, 4, IPPROTO_TCP);
	CHECK(xdp_run(in, len, &r) == 0);
	CHECK_EQ(r.action, XDP_TX);
	CHECK(memcmp(r.out + 12, in + 12, 4) == 0);
	CHECK(frame_ipv4_csum_ok(r.out, &lay));
	CHECK(frame_l4_csum_ok(r.out, &lay, 4, IPPROTO_TCP));
	return 0;
}

XDP_TEST(port_wildcard_service_keeps_client_port)
{
	struct svc_fixture f = {0};
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	struct run_result r;
	size_t len;

	CHECK(one_backend_service(&f, VIP4, 0, IPPROTO_TCP, "203.0.113.11", 0) == 0);
	len = client_frame(in, &lay, 4, IPPROTO_TCP, 40000, 4443, 0x02);
	CHECK(xdp_run(in, len, &r) == 0);
	CHECK_EQ(r.action, XDP_TX);
	return check_nat(in, r.out, len, &lay, 4, IPPROTO_TCP, 1, "203.0.113.11", 4443,
			 (const uint8_t *)LBT_BACKEND_MAC);
}

XDP_TEST(traffic_to_other_addresses_is_untouched)
{
	struct svc_fixture f = {0};
	struct pkt_spec spec = spec_tcp4(LBT_CLIENT4, "192.0.2.99");
	struct run_result r;

	CHECK(web4_loaded(&f) == 0);
	CHECK(expect_spec(&spec, &r, XDP_PASS, SR_PASS) == 0);
	spec = spec_tcp4(LBT_CLIENT4, VIP4);
	spec.dport = 81; /* VIP, other port */
	CHECK(xdp_run_spec(&spec, &r) >= 0);
	CHECK_EQ(r.reason, SR_PASS);
	spec.proto = IPPROTO_UDP; /* VIP, other protocol */
	spec.dport = 80;
	CHECK(xdp_run_spec(&spec, &r) >= 0);
	CHECK_EQ(r.reason, SR_PASS);
	return 0;
}

XDP_TEST(service_with_every_backend_down_drops)
{
	struct svc_fixture f = {0};
	struct pkt_spec spec = spec_tcp4(LBT_CLIENT4, VIP4);
	struct run_result r;

	web4(&f);
	for (size_t i = 0; i < f.svc[0].n_backends; i++)
		f.svc[0].backends[i].state = SLUICE_BE_DOWN;
	CHECK(xdp_set_services(&f.model) == 0);
	return expect_spec(&spec, &r, XDP_DROP, SR_LB_NO_BACKEND);
}

XDP_TEST(fragment_to_vip_is_dropped)
{
	struct svc_fixture f = {0};
	struct pkt_spec spec = spec_tcp4(LBT_CLIENT4, VIP4);
	struct run_result r;

	CHECK(web4_loaded(&f) == 0);
	spec.frag = FRAG_FIRST;
	return expect_spec(&spec, &r, XDP_DROP, SR_LB_FRAGMENT);
}

XDP_TEST(blocklisted_client_to_vip_is_dropped_before_lb)
{
	static const char *const block[] = {"198.51.100.0/24", NULL}, *const none[] = {NULL};
	struct svc_fixture f = {0};
	struct pkt_spec spec = spec_tcp4(LBT_CLIENT4, VIP4);
	struct run_result r;

	CHECK(web4_loaded(&f) == 0);
	CHECK(xdp_set_lists(block, none) == 0);
	return expect_spec(&spec, &r, XDP_DROP, SR_BLOCKLIST);
}

/* ---- connection table and backend states ------------------------------ */

static int conn_count(void)
{
	struct sluice_flow_key k, next;
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(xdp_map_fd("lb_conns"), prev, &next) == 0) {
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

/* Source ports from base (up to tries of them) whose established (ACK)
 * flows went to the backend whose address ends in last_byte: at most
 * max of them into ports; returns how many. */
static int flows_on(int last_byte, uint16_t base, int tries, uint16_t *ports, int max)
{
	int n = 0;

	for (int i = 0; i < tries && n < max; i++)
		if (backend_of(4, IPPROTO_TCP, (uint16_t)(base + i), 0x10) == last_byte)
			ports[n++] = (uint16_t)(base + i);
	return n;
}

/* web4 loaded, then flows_on(last_byte, base, 300, ports, max): how many
 * established flows went to that backend, or -1. */
static int web4_flows_on(struct svc_fixture *f, int last_byte, uint16_t base, uint16_t *ports,
			 int max)
{
	if (web4_loaded(f))
		return -1;
	return flows_on(last_byte, base, 300, ports, max);
}

XDP_TEST(syn_creates_no_connection_entry_but_ack_does)
{
	struct svc_fixture f = {0};

	CHECK(web4_loaded(&f) == 0);
	for (uint16_t p = 1000; p < 1100; p++)
		CHECK(backend_of(4, IPPROTO_TCP, p, 0x02) > 0);
	CHECK_EQ(conn_count(), 0);
	CHECK(backend_of(4, IPPROTO_TCP, 1000, 0x10) > 0);
	CHECK_EQ(conn_count(), 1);
	return 0;
}

XDP_TEST(udp_flow_creates_connection_entry)
{
	struct svc_fixture f = {0};

	CHECK(one_backend_service(&f, VIP4, 80, IPPROTO_UDP, "203.0.113.11", 53) == 0);
	CHECK(backend_of(4, IPPROTO_UDP, 1000, 0) == 11);
	CHECK_EQ(conn_count(), 1);
	return 0;
}

XDP_TEST(established_flows_stay_when_a_backend_is_added)
{
	struct svc_fixture f = {0};
	int before[200];

	CHECK(web4_loaded(&f) == 0);
	for (int i = 0; i < 200; i++)
		before[i] = backend_of(4, IPPROTO_TCP, (uint16_t)(2000 + i), 0x10);
	add_backend(&f.svc[0], "203.0.113.14", 8080, 3);
	CHECK(xdp_set_services(&f.model) == 0);
	for (int i = 0; i < 200; i++)
		CHECK_EQ(backend_of(4, IPPROTO_TCP, (uint16_t)(2000 + i), 0x10), before[i]);
	/* while new flows do reach the new backend */
	{
		int seen14 = 0;

		for (int i = 0; i < 200; i++)
			seen14 += backend_of(4, IPPROTO_TCP, (uint16_t)(5000 + i), 0x02) == 14;
		CHECK(seen14 > 0);
	}
	return 0;
}

XDP_TEST(draining_backend_keeps_its_flows_and_gets_no_new_ones)
{
	struct svc_fixture f = {0};
	uint16_t on12[64];
	int n = web4_flows_on(&f, 12, 3000, on12, 64);

	CHECK(n > 10);
	f.svc[0].backends[1].weight = 0;
	f.svc[0].backends[1].state = SLUICE_BE_DRAINING;
	CHECK(xdp_set_services(&f.model) == 0);
	for (int i = 0; i < n; i++)
		CHECK_EQ(backend_of(4, IPPROTO_TCP, on12[i], 0x10), 12);
	for (int i = 0; i < 500; i++)
		CHECK(backend_of(4, IPPROTO_TCP, (uint16_t)(9000 + i), 0x02) != 12);
	return 0;
}

XDP_TEST(down_backend_flows_move_to_others)
{
	struct svc_fixture f = {0};
	uint16_t on12[64];
	int n = web4_flows_on(&f, 12, 3000, on12, 64);

	CHECK(n > 10);
	f.svc[0].backends[1].state = SLUICE_BE_DOWN;
	CHECK(xdp_set_services(&f.model) == 0);
	for (int i = 0; i < n; i++) {
		int b = backend_of(4, IPPROTO_TCP, on12[i], 0x10);

		CHECK(b == 11 || b == 13);
	}
	return 0;
}

XDP_TEST(service_and_backend_counters_count_packets_bytes_new_flows)
{
	struct svc_fixture f = {0};
	struct sluice_svc_key sk = {.port = htons(80), .proto = IPPROTO_TCP, .family = 4};
	struct sluice_svc sv;
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_lb_counter c[ncpu];
	uint64_t pk = 0, by = 0, nf = 0, bpk = 0;
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	size_t len = 0;

	CHECK(web4_loaded(&f) == 0);
	for (int i = 0; i < 10; i++) {
		len = client_frame(in, &lay, 4, IPPROTO_TCP, (uint16_t)(7000 + i), 80, 0x02);
		CHECK_EQ(xdp_run_raw(in, len, NULL, NULL), XDP_TX);
		len = client_frame(in, &lay, 4, IPPROTO_TCP, (uint16_t)(7000 + i), 80, 0x10);
		CHECK_EQ(xdp_run_raw(in, len, NULL, NULL), XDP_TX);
	}
	inet_pton(AF_INET, VIP4, sk.addr);
	CHECK(
	    bpf_map_lookup_elem(xdp_map_fd(xdp_active_gen() ? "lb_services_g1" : "lb_services_g0"),
				&sk, &sv) == 0);
	CHECK(bpf_map_lookup_elem(xdp_map_fd("lb_svc_stats"), &sv.id, c) == 0);
	for (int i = 0; i < ncpu; i++) {
		pk += c[i].packets;
		by += c[i].bytes;
		nf += c[i].new_flows;
	}
	CHECK_EQ(pk, 20);
	CHECK_EQ(by, 20 * len);
	CHECK_EQ(nf, 10);
	for (int b = 11; b <= 13; b++) {
		char a[32];
		uint32_t id;

		snprintf(a, sizeof(a), "203.0.113.%d", b);
		id = xdp_backend_id(a, 8080);
		CHECK(id != 0);
		CHECK(bpf_map_lookup_elem(xdp_map_fd("lb_backend_stats"), &id, c) == 0);
		for (int i = 0; i < ncpu; i++)
			bpk += c[i].packets;
	}
	CHECK_EQ(bpk, 20);
	return 0;
}

/* ---- Maglev properties ------------------------------------------------- */

XDP_TEST(maglev_spreads_100k_flows_within_5pct_of_weights)
{
	struct svc_fixture f = {0};
	struct lb_service_cfg *s = add_service(&f, VIP4, 80, IPPROTO_UDP);
	static const uint32_t w[] = {1, 2, 3, 4};
	int hits[256] = {0};
	uint8_t in[FRAME_MAX];
	struct frame_layout lay;
	const int flows = 100000;

	for (int i = 0; i < 4; i++) {
		char a[32];

		snprintf(a, sizeof(a), "203.0.113.%d", 11 + i);
		add_backend(s, a, 53, w[i]);
	}
	CHECK(xdp_set_services(&f.model) == 0);
	client_frame(in, &lay, 4, IPPROTO_UDP, 1, 80, 0);
	for (int i = 0; i < flows; i++) {
		uint8_t out[FRAME_MAX + 256];
		size_t olen, len = lay.len;

		/* vary source address and port: distinct 5-tuples */
		in[lay.l3 + 14] = (uint8_t)(i >> 16);
		in[lay.l3 + 15] = (uint8_t)(i >> 8);
		in[lay.l4] = (uint8_t)(i >> 8);
		in[lay.l4 + 1] = (uint8_t)i;
		CHECK_EQ(xdp_run_raw(in, len, out, &olen), XDP_TX);
		hits[out[lay.l3 + 19]]++;
	}
	for (int i = 0; i < 4; i++) {
		double want = (double)w[i] / 10.0, got = (double)hits[11 + i] / flows;

		if (got < want * 0.95 || got > want * 1.05)
			fprintf(stderr, "    backend %d: share %.4f, weight share %.4f\n", i, got,
				want);
		CHECK(got >= want * 0.95 && got <= want * 1.05);
	}
	return 0;
}

static void table_for(const char *const *addrs, int n, const uint32_t *weights, uint32_t *table)
{
	struct maglev_backend mb[16];

	memset(mb, 0, sizeof(mb));
	for (int i = 0; i < n; i++) {
		struct sluice_prefix p;

		host(addrs[i], &p);
		memcpy(mb[i].key, p.addr, 16);
		mb[i].key[16] = 0x1f;
		mb[i].key[17] = 0x90;
		mb[i].id = (uint32_t)(100 + (addrs[i][strlen(addrs[i]) - 1] - '0'));
		mb[i].weight = weights ? weights[i] : 1;
	}
	maglev_build(mb, (size_t)n, table, SLUICE_RING_SIZE);
}

TEST(maglev_removing_one_of_n_moves_at_most_1_over_n_plus_2pct)
{
	static const char *const all[] = {"203.0.113.1", "203.0.113.2", "203.0.113.3",
					  "203.0.113.4", "203.0.113.5", "203.0.113.6",
					  "203.0.113.7", "203.0.113.8"};
	static uint32_t before[SLUICE_RING_SIZE], after[SLUICE_RING_SIZE];

	for (int n = 3; n <= 8; n++) {
		for (int gone = 0; gone < n; gone++) {
			const char *rest[8];
			int k = 0, moved = 0;

			for (int i = 0; i < n; i++)
				if (i != gone)
					rest[k++] = all[i];
			table_for(all, n, NULL, before);
			table_for(rest, k, NULL, after);
			for (int s = 0; s < SLUICE_RING_SIZE; s++)
				moved += before[s] != after[s];
			if ((double)moved / SLUICE_RING_SIZE > 1.0 / n + 0.02)
				fprintf(stderr, "    n=%d remove %d: moved %.4f\n", n, gone,
					(double)moved / SLUICE_RING_SIZE);
			CHECK((double)moved / SLUICE_RING_SIZE <= 1.0 / n + 0.02);
		}
	}
	return 0;
}

TEST(maglev_identical_configs_give_identical_tables_in_any_order)
{
	static const char *const a[] = {"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"};
	static const char *const b[] = {"203.0.113.3", "203.0.113.1", "203.0.113.4", "203.0.113.2"};
	static const uint32_t wa[] = {1, 2, 3, 4}, wb[] = {3, 1, 4, 2};
	static uint32_t ta[SLUICE_RING_SIZE], tb[SLUICE_RING_SIZE];

	table_for(a, 4, wa, ta);
	table_for(b, 4, wb, tb);
	CHECK(memcmp(ta, tb, sizeof(ta)) == 0);
	return 0;
}

TEST(maglev_table_with_no_backends_is_empty)
{
	static uint32_t t[SLUICE_RING_SIZE];

	t[0] = 7;
	CHECK(maglev_build(NULL, 0, t, SLUICE_RING_SIZE) == 0);
	for (int i = 0; i < SLUICE_RING_SIZE; i++)
		CHECK_EQ(t[i], 0);
	return 0;
}

/* ---- ICMP errors about NATed flows ------------------------------------- */

/* An ICMP(v6) error frame from osrc to odst quoting a packet qsrc:qsport ->
 * qdst:qdport (proto qproto) with 8 bytes of its transport header. */
static size_t icmp_error_frame(uint8_t *buf, struct frame_layout *lay, int family, const char *osrc,
			       const char *odst, const char *qsrc, uint16_t qsport,
			       const char *qdst, uint16_t qdport, uint8_t qproto)
{
	struct pkt_spec s = family == 4 ? spec_icmp4(osrc, odst) : spec_icmp6(osrc, odst);
	uint8_t *icmp, *q;
	size_t qhl = family == 4 ? 20 : 40, len;

	s.payload = (int)(qhl + 8);
	len = build_frame(&s, buf, lay);
	icmp = buf + lay->l4;
	icmp[0] = family == 4 ? 3 : 1; /* destination unreachable */
	icmp[1] = family == 4 ? 4 : 4; /* frag needed / port unreachable */
	memset(icmp + 4, 0, 4);
	q = icmp + 8;
	memset(q, 0, qhl + 8);
	if (family == 4) {
		q[0] = 0x45;
		q[2] = 0;
		q[3] = (uint8_t)(qhl + 8 + 100); /* quoted packet was longer */
		q[8] = 64;
		q[9] = qproto;
		inet_pton(AF_INET, qsrc, q + 12);
		inet_pton(AF_INET, qdst, q + 16);
		q[10] = q[11] = 0;
		{
			uint16_t c = inet_csum(q, 20, 0);

			q[10] = (uint8_t)(c >> 8);
			q[11] = (uint8_t)c;
		}
	} else {
		q[0] = 0x60;
		q[5] = 108;
		q[6] = qproto;
		q[7] = 64;
		inet_pton(AF_INET6, qsrc, q + 8);
		inet_pton(AF_INET6, qdst, q + 24);
	}
	q[qhl] = (uint8_t)(qsport >> 8);
	q[qhl + 1] = (uint8_t)qsport;
	q[qhl + 2] = (uint8_t)(qdport >> 8);
	q[qhl + 3] = (uint8_t)qdport;
	frame_fill_l4_csum(buf, lay, family, family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	return len;
}

static int addr_at(const uint8_t *p, int family, const char *want)
{
	uint8_t a[16];

	inet_pton(family == 4 ? AF_INET : AF_INET6, want, a);
	return !memcmp(p, a, family == 4 ? 4 : 16);
}

/* Every checksum of a rewritten ICMP(v6) error out (quoted header at q)
 * is right: outer IPv4 header, quoted IPv4 header, the ICMP message. */
static int check_icmp_csums(const uint8_t *out, const struct frame_layout *lay, int family,
			    const uint8_t *q)
{
	if (family == 4) {
		CHECK(frame_ipv4_csum_ok(out, lay));
		CHECK(inet_csum(q, 20, 0) == 0);
	}
	CHECK(frame_l4_csum_ok(out, lay, family, family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6));
	return 0;
}

/* The named fixture of the ICMP error cases: the flow's addresses, the
 * service, the error frame in and what XDP made of it. */
struct icmp_case {
	int family;
	const char *vip, *client, *be;
	size_t qhl; /* the quoted IP header's length */
	struct svc_fixture f;
	uint8_t in[FRAME_MAX];
	size_t len;
	struct frame_layout lay;
	struct run_result r;
	const uint8_t *q; /* the quoted header in r.out */
};

/* c for family with one service (port/proto) whose one backend is c->be
 * on be_port. */
static int icmp_case_start(struct icmp_case *c, int family, uint16_t port, uint8_t proto,
			   uint16_t be_port)
{
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->vip = family == 4 ? VIP4 : VIP6;
	c->client = family == 4 ? LBT_CLIENT4 : LBT_CLIENT6;
	c->be = family == 4 ? "203.0.113.12" : "2001:db8:20::12";
	c->qhl = family == 4 ? 20 : 40;
	return one_backend_service(&c->f, c->vip, port, proto, c->be, be_port);
}

/* An ICMP error from src to dst quoting qsrc:qsport -> qdst:qdport
 * (c's service protocol): transmitted to dmac as an ICMP error of a
 * balanced flow. */
static int icmp_case_send(struct icmp_case *c, const char *src, const char *dst, const char *qsrc,
			  uint16_t qsport, const char *qdst, uint16_t qdport, const char *dmac)
{
	uint8_t icmp = c->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	c->len = icmp_error_frame(c->in, &c->lay, c->family, src, dst, qsrc, qsport, qdst, qdport,
				  c->f.svc[0].proto);
	CHECK(frame_l4_csum_ok(c->in, &c->lay, c->family, icmp));
	CHECK(expect_run(c->in, c->len, &c->r, XDP_TX, SR_LB_ICMP) == 0);
	CHECK(memcmp(c->r.out, dmac, 6) == 0);
	c->q = c->r.out + c->lay.l4 + 8;
	return 0;
}

static int icmp_to_vip_case(int family)
{
	static struct icmp_case c;

	CHECK(icmp_case_start(&c, family, 80, IPPROTO_TCP, 8080) == 0);
	/* the client's side says: your packet VIP:80 -> client:40000 was too big */
	CHECK(icmp_case_send(&c, c.client, c.vip, c.vip, 80, c.client, 40000, LBT_BACKEND_MAC) ==
	      0);
	CHECK(addr_at(c.r.out + c.lay.l3 + (family == 4 ? 16 : 24), family, c.be)); /* outer dst */
	CHECK(addr_at(c.q + (family == 4 ? 12 : 8), family, c.be));		    /* quoted src */
	CHECK_EQ(get16(c.q + c.qhl), 8080); /* quoted sport */
	CHECK(addr_at(c.q + (family == 4 ? 16 : 24), family, c.client));
	CHECK_EQ(get16(c.q + c.qhl + 2), 40000);
	return check_icmp_csums(c.r.out, &c.lay, family, c.q);
}

XDP_FAMILY_TESTS(icmp4_error_towards_vip_goes_to_the_flows_backend,
		 icmp6_error_towards_vip_goes_to_the_flows_backend, icmp_to_vip_case)

static int icmp_from_backend_case(int family)
{
	static struct icmp_case c;

	CHECK(icmp_case_start(&c, family, 53, IPPROTO_UDP, 5353) == 0);
	/* the backend says: port unreachable for client:40000 -> backend:5353 */
	CHECK(icmp_case_send(&c, c.be, c.client, c.client, 40000, c.be, 5353, LBT_CLIENT_MAC) == 0);
	CHECK(addr_at(c.r.out + c.lay.l3 + (family == 4 ? 12 : 8), family, c.vip)); /* outer src */
	CHECK(addr_at(c.q + (family == 4 ? 16 : 24), family, c.vip));		    /* quoted dst */
	CHECK_EQ(get16(c.q + c.qhl + 2), 53); /* quoted dport */
	CHECK(addr_at(c.q + (family == 4 ? 12 : 8), family, c.client));
	return check_icmp_csums(c.r.out, &c.lay, family, c.q);
}

XDP_FAMILY_TESTS(icmp4_error_from_backend_is_reverse_natted,
		 icmp6_error_from_backend_is_reverse_natted, icmp_from_backend_case)

XDP_TEST(icmp_echo_to_vip_is_not_load_balanced)
{
	struct svc_fixture f = {0};
	struct pkt_spec s = spec_icmp4(LBT_CLIENT4, VIP4);
	struct run_result r;

	CHECK(web4_loaded(&f) == 0);
	return expect_spec(&s, &r, XDP_PASS, SR_PASS);
}

XDP_TEST(new_connection_reusing_a_drained_flows_5tuple_avoids_the_draining_backend)
{
	struct svc_fixture f = {0};
	uint16_t on12[32];
	int n = web4_flows_on(&f, 12, 12000, on12, 32);

	CHECK(n > 5);
	f.svc[0].backends[1].weight = 0;
	f.svc[0].backends[1].state = SLUICE_BE_DRAINING;
	CHECK(xdp_set_services(&f.model) == 0);
	for (int i = 0; i < n; i++) {
		int syn = backend_of(4, IPPROTO_TCP, on12[i], 0x02);

		/* the old connection's entry does not capture the new SYN... */
		CHECK(syn == 11 || syn == 13);
		/* ...and the handshake's ACK follows the SYN */
		CHECK_EQ(backend_of(4, IPPROTO_TCP, on12[i], 0x10), syn);
	}
	return 0;
}
