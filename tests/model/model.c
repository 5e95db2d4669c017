// SPDX-License-Identifier: GPL-2.0
/*
 * model.c - the reference model of the XDP decision (see model.h).
 *
 * Structure: decode the frame as far as the rules need (link, IP, IPv6
 * extension chain, transport), then decide in the documented order of
 * precedence, then write the frame that leaves.  Where the RFCs leave a
 * choice, the choice is the one sluice documents:
 *
 *  - Ethernet with at most two 802.1Q/802.1ad tags; a third tag is
 *    "vlan depth", a tag cut short "vlan".
 *  - IPv4 (RFC 791): fixed header, version, IHL >= 5, options inside the
 *    frame, 20 <= IHL*4 <= total length <= frame.  Frame bytes past the total
 *    length are link padding, not packet.
 *  - IPv6 (RFC 8200): fixed header, version, 0 < payload length <= frame.
 *    Extension headers (hop-by-hop, routing, fragment, destination options,
 *    AH (RFC 4302, length in 4-byte units), mobility): at most 8, each inside
 *    the payload; a non-first fragment ends the chain (what follows is
 *    payload).
 *  - TCP (RFC 9293): 20 bytes and data offset within the IP payload; UDP
 *    (RFC 768): 8 bytes, 8 <= length <= IP payload; ICMP (RFC 792) in IPv4
 *    and ICMPv6 (RFC 4443) in IPv6: 8 bytes.
 *  - Source lists: allowed if inside any allowlist prefix, else blocked if
 *    inside any blocklist prefix (list semantics, not the compiled trie).
 *  - Precedence: malformed headers drop; a blocked source drops once its
 *    fixed IP header is read; a non-first fragment passes (fragment); a
 *    load-balanced packet gets the load balancer's verdict; then allowlisted,
 *    pass, or l4_other.
 *  - NAT keeps checksums right incrementally (RFC 1624): a packet with a bad
 *    checksum stays bad.  UDP over IPv4 without a checksum keeps none; a
 *    computed UDP checksum of 0 is sent as 0xffff (RFC 768).
 *  - ICMP errors (IPv4 types 3, 11, 12; ICMPv6 types 1-4) quoting a TCP/UDP
 *    packet of a load-balanced flow get that flow's translation ("the same
 *    translation as the flow", xdp/lb.h): NAT for a NAT service, the IP-in-IP
 *    tunnel to the flow's backend for a dsr-ipip service; the quote must lie
 *    inside the ICMP message; a quoted IPv4 header with options is left
 *    alone.  Finding the flow's backend for an error is a lookup: an error
 *    is no connection, so it neither makes nor removes a table entry.
 *  - Connections (docs/architecture.md, xdp/lb.h): an entry on a flow's
 *    first non-SYN packet; kept while its backend is active, or draining for
 *    anything but a bare SYN (a new connection on an old 5-tuple, which
 *    forgets the entry); otherwise the service's Maglev table decides.
 *  - Packets whose headers start deeper than 1024 bytes are not
 *    load-balanced (xdp/lb.h LB_MAX_OFF, documented there).
 */
#include "model.h"

#include <linux/bpf.h> /* XDP_* actions */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_LEN 14
#define LB_DEPTH_MAX 1024
#define MAX_EXT 8
#define MAX_TAGS 2

#define TCP_SYN 0x02
#define TCP_ACK 0x10

enum frag_state { NOT_FRAGMENT = 0, FIRST_FRAGMENT, LATER_FRAGMENT };

/* Continue-parsing marker: every other value is a final reason. */
#define GO (-1)

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void trace(struct model_result *r, const char *fmt, ...)
{
	size_t used = strlen(r->path);
	va_list ap;

	if (used + 2 >= sizeof(r->path))
		return;
	if (used)
		r->path[used++] = ' ';
	va_start(ap, fmt);
	vsnprintf(r->path + used, sizeof(r->path) - used, fmt, ap);
	va_end(ap);
}

/* ---- one's complement arithmetic (RFC 1071, RFC 1624) ------------------ */

static uint32_t oc_add(uint32_t a, uint32_t b)
{
	a += b;
	while (a >> 16)
		a = (a & 0xffff) + (a >> 16);
	return a;
}

static uint32_t oc_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s = oc_add(s, rd16(p + i));
	if (n & 1)
		s = oc_add(s, (uint32_t)p[n - 1] << 8);
	return s;
}

/* The checksum at field covered n bytes that were old and are now new
 * (same alignment in the covered data): HC' = ~(~HC + ~m + m'). */
static void csum_adjust(uint8_t *field, const uint8_t *old, const uint8_t *new, size_t n)
{
	uint32_t s = (uint16_t)~rd16(field);

	s = oc_add(s, (uint16_t)~oc_sum(old, n));
	s = oc_add(s, oc_sum(new, n));
	wr16(field, (uint16_t)~s);
}

static void note_sum(struct model_result *r, size_t off, int exact)
{
	for (int i = 0; i < r->n_sums; i++)
		if (r->sums[i].off == off) {
			r->sums[i].exact = (uint8_t)exact;
			return;
		}
	if (r->n_sums < (int)(sizeof(r->sums) / sizeof(r->sums[0])))
		r->sums[r->n_sums++] = (struct model_csum){.off = (uint32_t)off, .exact = (uint8_t)exact};
}

/* ---- the decoded frame -------------------------------------------------- */

struct frame {
	const uint8_t *b; /* the frame as received */
	size_t len;       /* its length */
	size_t seen;      /* what the program sees of it (linear part) */
	int tags;         /* VLAN tags */
	size_t l3;        /* IP header offset */
	int v6;
	const uint8_t *src, *dst; /* addresses inside b */
	size_t alen;
	size_t l4, l4_len; /* transport offset, bytes of IP payload from there */
	uint8_t proto;
	int frag;
	uint16_t sport, dport;
	uint8_t tcp_flags;
};

static int link_layer(struct frame *f, uint16_t *ethertype)
{
	uint16_t t;
	size_t off = ETH_LEN;

	if (f->seen < ETH_LEN)
		return SR_MAL_ETH;
	t = rd16(f->b + 12);
	while (t == 0x8100 || t == 0x88a8) {
		if (f->tags == MAX_TAGS)
			return SR_MAL_VLAN_DEPTH;
		if (off + 4 > f->seen)
			return SR_MAL_VLAN;
		t = rd16(f->b + off + 2);
		off += 4;
		f->tags++;
	}
	f->l3 = off;
	*ethertype = t;
	return GO;
}

static int ipv4_header(struct frame *f)
{
	const uint8_t *h = f->b + f->l3;
	size_t room = f->seen - f->l3, ihl, total;
	uint16_t fragment;

	if (room < 20)
		return SR_MAL_IPV4_TRUNC;
	if (h[0] >> 4 != 4)
		return SR_MAL_IPV4_VERSION;
	ihl = (size_t)(h[0] & 15) * 4;
	if (ihl < 20)
		return SR_MAL_IPV4_IHL;
	if (ihl > room)
		return SR_MAL_IPV4_TRUNC;
	total = rd16(h + 2);
	if (total < ihl || total > room)
		return SR_MAL_IPV4_LEN;
	f->src = h + 12;
	f->dst = h + 16;
	f->alen = 4;
	f->proto = h[9];
	f->l4 = f->l3 + ihl;
	f->l4_len = total - ihl;
	fragment = rd16(h + 6);
	if (fragment & 0x1fff)
		f->frag = LATER_FRAGMENT;
	else if (fragment & 0x2000)
		f->frag = FIRST_FRAGMENT;
	return GO;
}

static int ipv6_header(struct frame *f)
{
	const uint8_t *h = f->b + f->l3;
	size_t room = f->seen - f->l3, payload;

	if (room < 40)
		return SR_MAL_IPV6_TRUNC;
	if (h[0] >> 4 != 6)
		return SR_MAL_IPV6_VERSION;
	payload = rd16(h + 4);
	if (payload == 0 || 40 + payload > room)
		return SR_MAL_IPV6_PLEN;
	f->v6 = 1;
	f->src = h + 8;
	f->dst = h + 24;
	f->alen = 16;
	f->proto = h[6];
	f->l4 = f->l3 + 40;
	f->l4_len = payload;
	return GO;
}

static int is_extension(uint8_t nh)
{
	switch (nh) {
	case 0:   /* hop-by-hop options */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 51:  /* authentication header */
	case 60:  /* destination options */
	case 135: /* mobility */
		return 1;
	default:
		return 0;
	}
}

static int ipv6_extensions(struct frame *f)
{
	int seen = 0;

	while (is_extension(f->proto)) {
		const uint8_t *h = f->b + f->l4;
		size_t size;

		if (seen == MAX_EXT)
			return SR_MAL_IPV6_EXT_CHAIN;
		if (f->l4_len < 8) /* every kind is at least 8 bytes */
			return SR_MAL_IPV6_EXT;
		if (f->proto == 44)
			size = 8;
		else if (f->proto == 51)
			size = ((size_t)h[1] + 2) * 4;
		else
			size = ((size_t)h[1] + 1) * 8;
		if (size > f->l4_len)
			return SR_MAL_IPV6_EXT;
		if (f->proto == 44) {
			uint16_t fo = rd16(h + 2);

			if (fo >> 3)
				f->frag = LATER_FRAGMENT;
			else if ((fo & 1) && f->frag != LATER_FRAGMENT)
				f->frag = FIRST_FRAGMENT;
		}
		f->proto = h[0];
		f->l4 += size;
		f->l4_len -= size;
		seen++;
		if (f->frag == LATER_FRAGMENT)
			break; /* the rest is fragment payload */
	}
	return GO;
}

static int is_icmp(const struct frame *f, unsigned quirks)
{
	if (quirks & MQ_ICMP_CROSS_FAMILY)
		return f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6;
	return f->proto == (f->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
}

static int transport(struct frame *f, unsigned quirks)
{
	const uint8_t *h = f->b + f->l4;

	if (f->proto == IPPROTO_TCP) {
		size_t doff;

		if (f->l4_len < 20)
			return SR_MAL_TCP;
		doff = (size_t)(h[12] >> 4) * 4;
		if (doff < 20 || doff > f->l4_len)
			return SR_MAL_TCP_DOFF;
		f->sport = rd16(h);
		f->dport = rd16(h + 2);
		f->tcp_flags = h[13];
		return GO;
	}
	if (f->proto == IPPROTO_UDP) {
		size_t ulen;

		if (f->l4_len < 8)
			return SR_MAL_UDP;
		ulen = rd16(h + 4);
		if (ulen < 8 || ulen > f->l4_len)
			return SR_MAL_UDP_LEN;
		f->sport = rd16(h);
		f->dport = rd16(h + 2);
		return GO;
	}
	if (is_icmp(f, quirks))
		return f->l4_len < 8 ? SR_MAL_ICMP : GO;
	return SR_L4_OTHER;
}

/* ---- source lists -------------------------------------------------------- */

static int covers(const struct model_prefix *p, int v6, const uint8_t *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->family != (v6 ? 6 : 4))
		return 0;
	if (memcmp(p->addr, a, full))
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff00u >> rest);

		if ((p->addr[full] & mask) != (a[full] & mask))
			return 0;
	}
	return 1;
}

enum { SRC_NONE, SRC_BLOCKED, SRC_ALLOWED };

/* The most specific prefix of l containing the source (lowest tag among
 * equals), or NULL. */
static const struct model_prefix *most_specific(const struct model_prefix *l, size_t n,
						const struct frame *f)
{
	const struct model_prefix *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (covers(&l[i], f->v6, f->src) &&
		    (!best || l[i].len > best->len || (l[i].len == best->len && l[i].tag < best->tag)))
			best = &l[i];
	return best;
}

/* Allowed if inside any allowlist prefix, else blocked if inside any
 * blocklist prefix.  The list credited is the one of the most specific
 * prefix that decided. */
static int source_lists(const struct model_config *c, const struct frame *f, uint32_t *list)
{
	const struct model_prefix *p = most_specific(c->allow, c->n_allow, f);

	if (p) {
		*list = p->tag;
		return SRC_ALLOWED;
	}
	p = most_specific(c->block, c->n_block, f);
	if (p) {
		*list = p->tag;
		return SRC_BLOCKED;
	}
	return SRC_NONE;
}

/* ---- services, backends, connection table ------------------------------- */

static int same_addr(int v6, const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, v6 ? 16 : 4);
}

static const struct model_service *service_at(const struct model_config *c, int v6,
					      const uint8_t *addr, uint16_t port, uint8_t proto)
{
	const struct model_service *wild = NULL;

	for (size_t i = 0; i < c->n_svcs; i++) {
		const struct model_service *s = &c->svcs[i];

		if (s->family != (v6 ? 6 : 4) || s->proto != proto || !same_addr(v6, s->vip, addr))
			continue;
		if (s->port == port)
			return s;
		if (s->port == 0)
			wild = s;
	}
	return wild;
}

/* The NAT service whose backend (addr, port, proto) a reply comes from: a
 * backend with that port, else one that keeps the client's port (0). */
struct owner {
	const struct model_service *s;
	const struct model_backend *b;
};

static int backend_owner(const struct model_config *c, int v6, const uint8_t *addr, uint16_t port,
			 uint8_t proto, struct owner *o)
{
	struct owner any = {0};

	for (size_t i = 0; i < c->n_svcs; i++) {
		const struct model_service *s = &c->svcs[i];

		if (s->mode != SLUICE_MODE_NAT || s->proto != proto || s->family != (v6 ? 6 : 4))
			continue;
		for (size_t k = 0; k < s->n_be; k++) {
			const struct model_backend *b = &s->be[k];

			if (b->family != s->family || !same_addr(v6, b->addr, addr))
				continue;
			if (b->port == port) {
				*o = (struct owner){s, b};
				return 1;
			}
			if (b->port == 0 && !any.s)
				any = (struct owner){s, b};
		}
	}
	*o = any;
	return any.s != NULL;
}

static const struct model_backend *backend_with_id(const struct model_config *c, uint32_t id)
{
	for (size_t i = 0; i < c->n_svcs; i++)
		for (size_t k = 0; k < c->svcs[i].n_be; k++)
			if (c->svcs[i].be[k].id == id)
				return &c->svcs[i].be[k];
	return NULL;
}

struct flow {
	uint8_t family, proto;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
};

struct model_conn {
	int used; /* 0 free, 1 live, 2 forgotten (a tombstone: probing goes on) */
	struct flow k;
	uint32_t backend, svc;
};

static struct flow flow_of(int v6, const uint8_t *src, const uint8_t *dst, uint16_t sport,
			   uint16_t dport, uint8_t proto)
{
	struct flow k;

	memset(&k, 0, sizeof(k));
	k.family = v6 ? 6 : 4;
	k.proto = proto;
	k.sport = sport;
	k.dport = dport;
	memcpy(k.src, src, v6 ? 16 : 4);
	memcpy(k.dst, dst, v6 ? 16 : 4);
	return k;
}

static size_t flow_slot(const struct flow *k, size_t cap)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *p = (const uint8_t *)k;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (size_t)(h & (cap - 1));
}

static struct model_conn *conn_find(struct ref_model *m, const struct flow *k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = flow_slot(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->conns[i].used)
			return NULL;
		if (!memcmp(&m->conns[i].k, k, sizeof(*k)))
			return &m->conns[i];
	}
}

static void conn_store(struct ref_model *m, const struct flow *k, uint32_t backend, uint32_t svc)
{
	struct model_conn *e = conn_find(m, k);

	if (!e && (m->n_conns + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct model_conn *old = m->conns, *nw = calloc(cap, sizeof(*nw));
		size_t oldcap = m->cap;

		if (!nw)
			abort();
		m->conns = nw;
		m->cap = cap;
		m->n_conns = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].used == 1)
				conn_store(m, &old[i].k, old[i].backend, old[i].svc);
		free(old);
	}
	if (e) {
		if (e->used == 2)
			m->n_conns++;
		e->used = 1;
	} else {
		size_t i = flow_slot(k, m->cap);

		while (m->conns[i].used)
			i = (i + 1) & (m->cap - 1);
		e = &m->conns[i];
		e->used = 1;
		e->k = *k;
		m->n_conns++;
	}
	e->backend = backend;
	e->svc = svc;
}

void ref_init(struct ref_model *m)
{
	memset(m, 0, sizeof(*m));
}

void ref_free(struct ref_model *m)
{
	free(m->conns);
	memset(m, 0, sizeof(*m));
}

/* The documented flow hash: murmur3-style mixing of the words of struct
 * sluice_flow_key as they lie in memory (addresses, then the two ports as
 * one word, then the protocol), then murmur3's finaliser. */
static uint32_t rotl(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static uint32_t mix_word(uint32_t h, uint32_t k)
{
	k *= 0xcc9e2d51u;
	k = rotl(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = rotl(h, 13);
	return h * 5 + 0xe6546b64u;
}

static uint32_t load_word(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, 4); /* host order, as the struct is read */
	return w;
}

uint32_t ref_flow_hash(int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
			 uint16_t dport, uint8_t proto)
{
	uint8_t s[16] = {0}, d[16] = {0}, ports[4];
	uint16_t sp, dp;
	uint32_t h = SLUICE_HASH_SEED;

	memcpy(s, src, family == 6 ? 16 : 4);
	memcpy(d, dst, family == 6 ? 16 : 4);
	for (int i = 0; i < 4; i++)
		h = mix_word(h, load_word(s + 4 * i));
	for (int i = 0; i < 4; i++)
		h = mix_word(h, load_word(d + 4 * i));
	/* the ports are __be16 fields: their in-memory value */
	wr16(ports, sport);
	wr16(ports + 2, dport);
	memcpy(&sp, ports, 2);
	memcpy(&dp, ports + 2, 2);
	h = mix_word(h, (uint32_t)sp << 16 | dp);
	h = mix_word(h, proto);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Backend of a flow: its connection entry while that backend exists and is
 * not down, else the Maglev table.  TCP SYNs (SYN without ACK) make no
 * entry; any other packet of a new or moved flow does (create != 0). */
static const struct model_backend *choose_backend(struct ref_model *m, const struct model_config *c,
						  const struct model_service *s,
						  const struct flow *k, uint8_t tcp_flags, int create,
						  struct model_result *r)
{
	struct model_conn *e = conn_find(m, k);
	const struct model_backend *b;
	uint32_t id;

	int bare_syn = k->proto == IPPROTO_TCP && (tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;

	if (e && e->used != 1)
		e = NULL; /* forgotten */
	if (e && e->svc == s->id) {
		b = backend_with_id(c, e->backend);
		/* a draining backend keeps its connections; a bare SYN on an old
		 * 5-tuple is a new connection, and new ones never go there */
		if (b && (b->state == SLUICE_BE_ACTIVE ||
			  (b->state == SLUICE_BE_DRAINING && !(create && bare_syn)))) {
			trace(r, "conn->%u", b->id);
			return b;
		}
		if (create && bare_syn && !c->dry) {
			e->used = 2; /* the old connection is over: forget it */
			m->n_conns--;
			trace(r, "conn-forgotten");
		}
	}
	id = s->table[ref_flow_hash(k->family, k->src, k->dst, k->sport, k->dport, k->proto) %
		      SLUICE_RING_SIZE];
	trace(r, "maglev->%u", id);
	if (!id)
		return NULL;
	if (create) {
		if (bare_syn) {
			r->new_flow = 1;
		} else {
			if (!e && k->proto != IPPROTO_TCP)
				r->new_flow = 1;
			if (!c->dry)
				conn_store(m, k, id, s->id);
		}
	}
	return backend_with_id(c, id);
}

/* ---- the frame that leaves ----------------------------------------------- */

static int action_for(int reason)
{
	switch (reason) {
	case SR_BLOCKLIST:
	case SR_MAL_ETH:
	case SR_MAL_VLAN:
	case SR_MAL_VLAN_DEPTH:
	case SR_MAL_IPV4_TRUNC:
	case SR_MAL_IPV4_IHL:
	case SR_MAL_IPV4_VERSION:
	case SR_MAL_IPV4_LEN:
	case SR_MAL_IPV6_TRUNC:
	case SR_MAL_IPV6_VERSION:
	case SR_MAL_IPV6_PLEN:
	case SR_MAL_IPV6_EXT:
	case SR_MAL_IPV6_EXT_CHAIN:
	case SR_MAL_TCP:
	case SR_MAL_TCP_DOFF:
	case SR_MAL_UDP:
	case SR_MAL_UDP_LEN:
	case SR_MAL_ICMP:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

static void verdict(struct model_result *r, int reason, int action, uint8_t flags, uint32_t svc)
{
	r->reason = reason;
	r->action = action;
	r->bytes_checked = action != XDP_DROP;
	if (action == XDP_PASS) {
		r->tagged = 1;
		r->meta.magic = SLUICE_META_MAGIC;
		r->meta.version = SLUICE_META_VERSION;
		r->meta.flags = flags;
		r->meta.identity = r->src_identity;
		r->meta.service = (uint16_t)svc;
		r->meta.reason = (uint16_t)reason;
	}
}

/* Send the rewritten frame towards dst: the FIB gives the MACs. */
static void forward_to(const struct model_config *c, struct model_result *r, int v6,
		       const uint8_t *src, const uint8_t *dst, int reason, uint8_t flags,
		       uint32_t svc)
{
	struct model_fib fib;

	memset(&fib, 0, sizeof(fib));
	if (c->fib(c->fib_ctx, v6 ? 6 : 4, src, dst, &fib) || fib.kind == MFIB_UNKNOWN) {
		r->unknown = 1;
		trace(r, "fib?");
		verdict(r, reason, XDP_PASS, flags, svc);
		return;
	}
	switch (fib.kind) {
	case MFIB_OK:
		memcpy(r->out, fib.dmac, 6);
		memcpy(r->out + 6, fib.smac, 6);
		trace(r, "fib:ok");
		verdict(r, reason, fib.other_if ? XDP_REDIRECT : XDP_TX, flags, svc);
		return;
	case MFIB_NO_NEIGH:
		trace(r, "fib:no-neigh");
		verdict(r, reason, XDP_PASS, flags, svc);
		return;
	default:
		trace(r, "fib:fail");
		verdict(r, SR_LB_FIB_FAIL, XDP_DROP, flags, svc);
		return;
	}
}

/* Replace the address at aoff (and the port at poff when port != 0) of
 * the frame's own headers, with the IPv4 header and L4 checksums. */
static void translate(struct model_result *r, const struct frame *f, int dst, const uint8_t *addr,
		      uint16_t port)
{
	uint8_t *o = r->out;
	size_t aoff = (size_t)(dst ? f->dst - f->b : f->src - f->b);
	size_t poff = f->l4 + (dst ? 2 : 0);
	size_t soff = f->l4 + (f->proto == IPPROTO_TCP ? 16 : 6);
	int udp = f->proto == IPPROTO_UDP;
	int l4sum = !udp || f->v6 || rd16(f->b + soff) != 0;
	uint8_t pb[2];

	if (!f->v6) {
		csum_adjust(o + f->l3 + 10, f->b + aoff, addr, 4);
		note_sum(r, f->l3 + 10, 0);
	}
	if (l4sum)
		csum_adjust(o + soff, f->b + aoff, addr, f->alen); /* pseudo header */
	memcpy(o + aoff, addr, f->alen);
	wr16(pb, port);
	if (port && rd16(f->b + poff) != port) {
		if (l4sum)
			csum_adjust(o + soff, f->b + poff, pb, 2);
		memcpy(o + poff, pb, 2);
	}
	if (l4sum) {
		if (udp && rd16(o + soff) == 0)
			wr16(o + soff, 0xffff);
		note_sum(r, soff, udp);
	}
}

/* dsr-ipip: an outer IPv4 (protocol 4, RFC 2003) or IPv6 (next header 41,
 * RFC 2473) header in front of the untouched packet, from the client's
 * address to the backend's. */
static int encapsulate(struct model_result *r, const struct frame *f, const uint8_t *backend)
{
	uint8_t hdr[40];
	size_t inner = f->seen - f->l3, hlen = f->v6 ? 40 : 20;

	if (f->tags || inner + hlen > 0xffff)
		return -1;
	memset(hdr, 0, sizeof(hdr));
	if (f->v6) {
		hdr[0] = 0x60;
		wr16(hdr + 4, (uint16_t)inner);
		hdr[6] = 41;
		hdr[7] = 64;
		memcpy(hdr + 8, f->src, 16);
		memcpy(hdr + 24, backend, 16);
	} else {
		hdr[0] = 0x45;
		hdr[1] = f->b[f->l3 + 1]; /* TOS copied from the inner header */
		wr16(hdr + 2, (uint16_t)(inner + 20));
		wr16(hdr + 6, 0x4000); /* DF */
		hdr[8] = 64;
		hdr[9] = 4;
		memcpy(hdr + 12, f->src, 4);
		memcpy(hdr + 16, backend, 4);
		wr16(hdr + 10, (uint16_t)~oc_sum(hdr, 20));
		note_sum(r, ETH_LEN + 10, 0);
	}
	memmove(r->out + ETH_LEN + hlen, r->out + ETH_LEN, r->out_len - ETH_LEN);
	memcpy(r->out + ETH_LEN, hdr, hlen);
	r->out_len += hlen;
	return 0;
}

/* ---- load balancer -------------------------------------------------------- */

static int lb_forward(struct ref_model *m, const struct model_config *c, const struct frame *f,
		      const struct model_service *s, uint8_t flags, struct model_result *r)
{
	const struct model_backend *b;
	struct flow k;

	r->svc = s->id;
	trace(r, "svc%u", s->id);
	if (f->frag) {
		verdict(r, SR_LB_FRAGMENT, XDP_DROP, flags, s->id);
		return 1;
	}
	k = flow_of(f->v6, f->src, f->dst, f->sport, f->dport, f->proto);
	b = choose_backend(m, c, s, &k, f->tcp_flags, 1, r);
	if (!b || b->family != (f->v6 ? 6 : 4)) {
		verdict(r, SR_LB_NO_BACKEND, XDP_DROP, flags, s->id);
		return 1;
	}
	r->backend = b->id;
	if (s->mode == SLUICE_MODE_DSR_IPIP) {
		if (encapsulate(r, f, b->addr)) {
			verdict(r, SR_LB_ENCAP_FAIL, XDP_DROP, flags, s->id);
			return 1;
		}
	} else {
		translate(r, f, 1, b->addr, b->port);
	}
	forward_to(c, r, f->v6, f->src, b->addr, SR_LB_FORWARD, flags, s->id);
	return 1;
}

static int lb_reply(const struct model_config *c, const struct frame *f, const struct owner *o,
		    uint8_t flags, struct model_result *r)
{
	struct model_fib fib;

	r->svc = o->s->id;
	trace(r, "reply-svc%u", o->s->id);
	if (f->frag) { /* cannot be translated: must not leak the backend */
		verdict(r, SR_LB_REPLY, XDP_DROP, flags, o->s->id);
		return 1;
	}
	/* A destination the FIB will not forward to (this node's own address:
	 * its health checks to the backend) is not a client: the frame goes
	 * on as ordinary traffic, unchanged. */
	memset(&fib, 0, sizeof(fib));
	if (!c->fib(c->fib_ctx, f->v6 ? 6 : 4, o->s->vip, f->dst, &fib) &&
	    fib.kind == MFIB_FAIL) {
		trace(r, "reply-to-node");
		r->svc = 0;
		return 0;
	}
	translate(r, f, 0, o->s->vip, o->b->port ? o->s->port : 0);
	forward_to(c, r, f->v6, o->s->vip, f->dst, SR_LB_REPLY, flags, o->s->id);
	return 1;
}

static int icmp_is_error(int v6, uint8_t type)
{
	if (v6)
		return type >= 1 && type <= 4;
	return type == 3 || type == 11 || type == 12;
}

/* The ICMP checksum after the quoted packet (and, for ICMPv6, the pseudo
 * header's addresses) changed from f->b to r->out. */
static void icmp_checksum(struct model_result *r, const struct frame *f, size_t covered)
{
	uint8_t *sum = r->out + f->l4 + 2;

	/* the message first, while its checksum field is still the old one in
	 * both copies; then the pseudo header's addresses */
	csum_adjust(sum, f->b + f->l4, r->out + f->l4, covered);
	if (f->v6)
		csum_adjust(sum, f->b + f->l3 + 8, r->out + f->l3 + 8, 32);
	note_sum(r, f->l4 + 2, 0);
}

static int lb_icmp(struct ref_model *m, const struct model_config *c, const struct frame *f,
		   uint8_t flags, struct model_result *r)
{
	const uint8_t *icmp = f->b + f->l4, *q = icmp + 8, *qsrc, *qdst;
	size_t qhl = f->v6 ? 40 : 20, qoff = f->l4 + 8, covered = f->l4_len;
	int qv6 = f->v6;
	const struct model_service *s;
	struct owner o;
	uint8_t qproto;
	uint16_t qsport, qdport;

	if (!icmp_is_error(f->proto == IPPROTO_ICMPV6, icmp[0]))
		return 0;
	if (8 + qhl + 4 > f->l4_len) {
		/* the quote does not fit the ICMP message */
		if (!(c->quirks & MQ_ICMP_QUOTE_PAST_IP) || qoff + qhl + 4 > f->seen)
			return 0;
		r->quirks_hit |= MQ_ICMP_QUOTE_PAST_IP;
		covered = qoff + qhl + 4 - f->l4; /* what the program "updates" */
	}
	if (!qv6 && (q[0] & 15) != 5)
		return 0; /* options in a quoted header: left alone */
	qproto = qv6 ? q[6] : q[9];
	if (qproto != IPPROTO_TCP && qproto != IPPROTO_UDP)
		return 0;
	qsrc = q + (qv6 ? 8 : 12);
	qdst = q + (qv6 ? 24 : 16);
	qsport = rd16(q + qhl);
	qdport = rd16(q + qhl + 2);
	if (f->proto != (f->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
		r->quirks_hit |= MQ_ICMP_CROSS_FAMILY;

	/* to the VIP, about a packet the VIP sent: the flow's backend gets it */
	s = service_at(c, qv6, qsrc, qsport, qproto);
	if (s && same_addr(qv6, qsrc, f->dst)) {
		const struct model_backend *b;
		struct flow k = flow_of(qv6, qdst, qsrc, qdport, qsport, qproto);
		size_t qsum = qoff + 10;

		r->svc = s->id;
		trace(r, "icmp-to-vip svc%u", s->id);
		if ((qproto == IPPROTO_UDP && (c->quirks & MQ_ICMP_UDP_CONN)) ||
		    (qproto == IPPROTO_TCP && (c->quirks & MQ_ICMP_DRAIN_DELETE))) {
			/* what the program does: the lookup of a bare SYN */
			struct model_conn *e = conn_find(m, &k);
			const struct model_backend *was = NULL;

			if (e && e->used == 1 && e->svc == s->id)
				was = backend_with_id(c, e->backend);
			if (qproto == IPPROTO_UDP && (!was || was->state == SLUICE_BE_DOWN))
				r->quirks_hit |= MQ_ICMP_UDP_CONN;
			if (qproto == IPPROTO_TCP && was && was->state == SLUICE_BE_DRAINING)
				r->quirks_hit |= MQ_ICMP_DRAIN_DELETE;
			b = choose_backend(m, c, s, &k, TCP_SYN, 1, r);
			r->new_flow = 0;
		} else { /* a lookup only: an error is no connection */
			b = choose_backend(m, c, s, &k, 0, 0, r);
		}
		if (!b || b->family != (qv6 ? 6 : 4)) {
			verdict(r, SR_LB_ICMP, XDP_DROP, flags, s->id);
			return 1;
		}
		r->backend = b->id;
		if (s->mode == SLUICE_MODE_DSR_IPIP && !(c->quirks & MQ_DSR_ICMP_NAT)) {
			/* the flow is tunnelled: so is the error about it */
			if (encapsulate(r, f, b->addr)) {
				verdict(r, SR_LB_ENCAP_FAIL, XDP_DROP, flags, s->id);
				return 1;
			}
			forward_to(c, r, qv6, f->src, b->addr, SR_LB_ICMP, flags, s->id);
			return 1;
		}
		if (s->mode == SLUICE_MODE_DSR_IPIP)
			r->quirks_hit |= MQ_DSR_ICMP_NAT;
		/* outer destination */
		if (!f->v6) {
			csum_adjust(r->out + f->l3 + 10, f->dst, b->addr, 4);
			note_sum(r, f->l3 + 10, 0);
		}
		memcpy(r->out + (f->dst - f->b), b->addr, f->alen);
		/* quoted source and port */
		if (!qv6) {
			csum_adjust(r->out + qsum, qsrc, b->addr, 4);
			note_sum(r, qsum, 0);
		}
		memcpy(r->out + (qsrc - f->b), b->addr, f->alen);
		if (b->port)
			wr16(r->out + qoff + qhl, b->port);
		icmp_checksum(r, f, covered);
		forward_to(c, r, qv6, f->src, b->addr, SR_LB_ICMP, flags, s->id);
		return 1;
	}

	/* from the backend side, about a packet to a backend: the VIP again */
	if (backend_owner(c, qv6, qdst, qdport, qproto, &o)) {
		size_t qsum = qoff + 10;

		r->svc = o.s->id;
		trace(r, "icmp-from-backend svc%u", o.s->id);
		if (same_addr(qv6, f->src, qdst)) { /* the backend itself sent it */
			if (!f->v6) {
				csum_adjust(r->out + f->l3 + 10, f->src, o.s->vip, 4);
				note_sum(r, f->l3 + 10, 0);
			}
			memcpy(r->out + (f->src - f->b), o.s->vip, f->alen);
		}
		if (!qv6) {
			csum_adjust(r->out + qsum, qdst, o.s->vip, 4);
			note_sum(r, qsum, 0);
		}
		memcpy(r->out + (qdst - f->b), o.s->vip, f->alen);
		if (o.b->port)
			wr16(r->out + qoff + qhl + 2, o.s->port);
		icmp_checksum(r, f, covered);
		forward_to(c, r, qv6, r->out + (f->src - f->b), f->dst, SR_LB_ICMP, flags, o.s->id);
		return 1;
	}
	return 0;
}

static int load_balance(struct ref_model *m, const struct model_config *c, const struct frame *f,
			uint8_t flags, struct model_result *r)
{
	const struct model_service *s;
	struct owner o;

	if (f->l3 > LB_DEPTH_MAX || f->l4 > LB_DEPTH_MAX) {
		if (!is_icmp(f, c->quirks) || !(c->quirks & MQ_ICMP_DEEP) || f->l4 >= 2 * LB_DEPTH_MAX)
			return 0;
		r->quirks_hit |= MQ_ICMP_DEEP;
	}
	if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) {
		s = service_at(c, f->v6, f->dst, f->dport, f->proto);
		if (s)
			return lb_forward(m, c, f, s, flags, r);
		if (backend_owner(c, f->v6, f->src, f->sport, f->proto, &o))
			return lb_reply(c, f, &o, flags, r);
		return 0;
	}
	if (f->frag)
		return 0; /* a first fragment of an ICMP error: left alone */
	return lb_icmp(m, c, f, flags, r);
}

/* ---- the decision ----------------------------------------------------------- */

void ref_run(struct ref_model *m, const struct model_config *c, const uint8_t *frame, size_t len,
	       struct model_result *r)
{
	struct frame f;
	uint16_t ethertype = 0;
	uint8_t flags = 0;
	int rc, lists;

	memset(r, 0, offsetof(struct model_result, out));
	r->out_len = len;
	memcpy(r->out, frame, len);
	memset(&f, 0, sizeof(f));
	f.b = frame;
	f.len = len;
	f.seen = len < c->linear_max ? len : c->linear_max;

	rc = link_layer(&f, &ethertype);
	if (rc != GO) {
		verdict(r, rc, action_for(rc), 0, 0);
		return;
	}
	if (ethertype == 0x0800) {
		rc = ipv4_header(&f);
	} else if (ethertype == 0x86dd) {
		flags |= SMF_IPV6;
		rc = ipv6_header(&f);
	} else {
		verdict(r, SR_NON_IP, XDP_PASS, 0, 0);
		return;
	}
	if (rc != GO) {
		verdict(r, rc, action_for(rc), flags, 0);
		return;
	}
	lists = source_lists(c, &f, &r->list_id);
	r->list_counted = lists != SRC_NONE;
	if (lists != SRC_BLOCKED) { /* judged: from here on the tag names the source */
		const struct model_prefix *id = most_specific(c->ident, c->n_ident, &f);

		r->src_identity = id ? id->tag : 0;
	}
	if (lists == SRC_BLOCKED) {
		verdict(r, SR_BLOCKLIST, XDP_DROP, flags, 0);
		return;
	}
	if (lists == SRC_ALLOWED)
		flags |= SMF_ALLOWLISTED;
	if (f.v6) {
		rc = ipv6_extensions(&f);
		if (rc != GO) {
			verdict(r, rc, action_for(rc), flags, 0);
			return;
		}
	}
	if (f.frag)
		flags |= SMF_FRAGMENT;
	if (f.frag == LATER_FRAGMENT) {
		verdict(r, SR_FRAGMENT, XDP_PASS, flags, 0);
		return;
	}
	if ((f.proto == IPPROTO_ICMP || f.proto == IPPROTO_ICMPV6) &&
	    f.proto != (f.v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) && (c->quirks & MQ_ICMP_CROSS_FAMILY))
		r->quirks_hit |= MQ_ICMP_CROSS_FAMILY;
	rc = transport(&f, c->quirks);
	if (rc != GO && rc != SR_L4_OTHER) {
		verdict(r, rc, action_for(rc), flags, 0);
		return;
	}
	if (rc == GO && load_balance(m, c, &f, flags, r))
		return;
	if (flags & SMF_ALLOWLISTED)
		verdict(r, SR_ALLOWLISTED, XDP_PASS, flags, 0);
	else
		verdict(r, rc == GO ? SR_PASS : SR_L4_OTHER, XDP_PASS, flags, 0);
}

/* ---- TC decapsulation (RFC 2003, RFC 2473 as dsr-ipip uses them) -------- */

int ref_decap(const uint8_t *frame, size_t len, uint8_t *out, size_t *out_len, int *counter,
	      unsigned quirks, unsigned *quirks_hit)
{
	int trust = (quirks & MQ_DECAP_OUTER_VERSION) != 0;

	size_t outer = 0;
	int inner_version = 0;

	memcpy(out, frame, len);
	*out_len = len;
	*counter = -1;
	if (len < ETH_LEN)
		return 0;
	if (rd16(frame + 12) == 0x0800) {
		const uint8_t *o = frame + ETH_LEN;

		/* only the plain 20-byte outer header sluice writes */
		if (len < ETH_LEN + 20 || (o[0] & 15) != 5 || o[9] != 4)
			return 0;
		if (o[0] >> 4 != 4) {
			if (!trust)
				return 0;
			*quirks_hit |= MQ_DECAP_OUTER_VERSION;
		}
		outer = 20;
		inner_version = 4;
	} else if (rd16(frame + 12) == 0x86dd) {
		const uint8_t *o = frame + ETH_LEN;

		if (len < ETH_LEN + 40 || o[6] != 41)
			return 0;
		if (o[0] >> 4 != 6) {
			if (!trust)
				return 0;
			*quirks_hit |= MQ_DECAP_OUTER_VERSION;
		}
		outer = 40;
		inner_version = 6;
	} else {
		return 0;
	}
	/* the inner header must be there and of the outer's family */
	if (len < ETH_LEN + outer + (inner_version == 4 ? 20 : 40) ||
	    frame[ETH_LEN + outer] >> 4 != inner_version) {
		*counter = 1;
		return 2;
	}
	memcpy(out + ETH_LEN, frame + ETH_LEN + outer, len - ETH_LEN - outer);
	*out_len = len - outer;
	*counter = 0;
	return 0;
}
