// SPDX-License-Identifier: GPL-2.0
/* frames.c - build Ethernet/VLAN/IPv4/IPv6/TCP/UDP/ICMP frames for tests. */
#include "frames.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t inet_csum(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = data;
	uint32_t sum = seed;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t build_l4(const struct pkt_spec *s, uint8_t *p)
{
	size_t n;

	switch (s->proto) {
	case IPPROTO_TCP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		memset(p + 4, 0, 16);
		p[4] = 0x01; /* seq */
		p[12] = 5 << 4;
		p[13] = s->tcp_flags;
		put16(p + 14, 65535);
		n = 20;
		break;
	case IPPROTO_UDP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (uint16_t)(8 + s->payload));
		put16(p + 6, 0);
		n = 8;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		p[0] = s->proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		p[1] = 0;
		memset(p + 2, 0, 6);
		put16(p + 4, 0x1234);
		n = 8;
		break;
	default:
		n = 0;
		break;
	}
	memset(p + n, 0xab, (size_t)s->payload);
	return n + (size_t)s->payload;
}

size_t build_frame(const struct pkt_spec *s, uint8_t *buf, struct frame_layout *lay)
{
	static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x01};
	uint16_t ethertype = s->family == 4 ? 0x0800 : s->family == 6 ? 0x86dd : 0x0806;
	size_t off = 12, l3, l4, end;
	struct frame_layout dummy;

	if (!lay)
		lay = &dummy;
	memset(buf, 0, 128);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (int i = 0; i < s->vlans; i++) {
		uint16_t tpid = (i == 0 && s->outer_tpid) ? s->outer_tpid : 0x8100;

		put16(buf + off, tpid);
		put16(buf + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	put16(buf + off, ethertype);
	off += 2;
	l3 = off;

	if (s->family == 4) {
		size_t hlen = 20 + (size_t)s->ip_opts;

		buf[l3] = (uint8_t)(0x40 | (hlen / 4));
		buf[l3 + 1] = 0;
		put16(buf + l3 + 4, 0x4242);
		put16(buf + l3 + 6, s->frag == FRAG_FIRST ? 0x2000 : s->frag == FRAG_LATER ? 0x0010 : 0x4000);
		buf[l3 + 8] = 64;
		buf[l3 + 9] = s->proto;
		inet_pton(AF_INET, s->src, buf + l3 + 12);
		inet_pton(AF_INET, s->dst, buf + l3 + 16);
		for (int i = 0; i < s->ip_opts; i++)
			buf[l3 + 20 + i] = 1; /* NOP options */
		l4 = l3 + hlen;
		end = l4 + build_l4(s, buf + l4);
		put16(buf + l3 + 2, (uint16_t)(end - l3));
		put16(buf + l3 + 10, 0);
		put16(buf + l3 + 10, inet_csum(buf + l3, hlen, 0));
	} else if (s->family == 6) {
		uint8_t nh = s->n_ext ? s->ext[0] : s->proto;

		buf[l3] = 0x60;
		buf[l3 + 6] = nh;
		buf[l3 + 7] = 64;
		inet_pton(AF_INET6, s->src, buf + l3 + 8);
		inet_pton(AF_INET6, s->dst, buf + l3 + 24);
		off = l3 + 40;
		for (int i = 0; i < s->n_ext; i++) {
			uint8_t next = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;

			memset(buf + off, 0, 8);
			buf[off] = next;
			if (s->ext[i] == IPPROTO_FRAGMENT) {
				put16(buf + off + 2, s->frag == FRAG_LATER ? (uint16_t)(8 << 3) : s->frag == FRAG_FIRST ? 1 : 0);
				off += 8;
			} else if (s->ext[i] == IPPROTO_AH) {
				buf[off + 1] = 1; /* (1 + 2) * 4 = 12 bytes */
				memset(buf + off + 8, 0, 4);
				off += 12;
			} else {
				buf[off + 1] = 0; /* 8 bytes, PadN filled */
				buf[off + 2] = 1;
				buf[off + 3] = 4;
				off += 8;
			}
		}
		l4 = off;
		end = l4 + build_l4(s, buf + l4);
		put16(buf + l3 + 4, (uint16_t)(end - l3 - 40));
	} else {
		/* ARP request */
		static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1,
						0, 0, 0, 0, 0, 0, 192, 0, 2, 2};
		memcpy(buf + l3, arp, sizeof(arp));
		l4 = l3 + sizeof(arp);
		end = l4;
	}
	lay->l3 = l3;
	lay->l4 = l4;
	lay->len = end;
	return end;
}

static struct pkt_spec spec(int family, uint8_t proto, const char *src, const char *dst)
{
	struct pkt_spec s = {0};

	s.family = family;
	s.proto = proto;
	s.src = src;
	s.dst = dst;
	s.sport = 40000;
	s.dport = proto == IPPROTO_UDP ? 53 : 80;
	s.tcp_flags = 0x02; /* SYN */
	s.payload = proto == IPPROTO_TCP ? 0 : 16;
	return s;
}

struct pkt_spec spec_tcp4(const char *src, const char *dst)
{
	return spec(4, IPPROTO_TCP, src, dst);
}
struct pkt_spec spec_udp4(const char *src, const char *dst)
{
	return spec(4, IPPROTO_UDP, src, dst);
}
struct pkt_spec spec_icmp4(const char *src, const char *dst)
{
	return spec(4, IPPROTO_ICMP, src, dst);
}
struct pkt_spec spec_tcp6(const char *src, const char *dst)
{
	return spec(6, IPPROTO_TCP, src, dst);
}
struct pkt_spec spec_udp6(const char *src, const char *dst)
{
	return spec(6, IPPROTO_UDP, src, dst);
}
struct pkt_spec spec_icmp6(const char *src, const char *dst)
{
	return spec(6, IPPROTO_ICMPV6, src, dst);
}

struct pkt_spec spec_vlans(struct pkt_spec s, int vlans, uint16_t outer_tpid)
{
	s.vlans = vlans;
	s.outer_tpid = outer_tpid;
	return s;
}

struct pkt_spec spec_with_ext(struct pkt_spec s, uint8_t ext)
{
	s.ext[s.n_ext++] = ext;
	return s;
}

struct pkt_spec spec_with_ip_opts(struct pkt_spec s, int opts)
{
	s.ip_opts = opts;
	return s;
}

/* Sum of the pseudo header that TCP/UDP/ICMPv6 checksums cover. */
static uint32_t pseudo_sum(const uint8_t *buf, const struct frame_layout *lay, int family,
			   uint8_t proto, size_t l4len)
{
	uint32_t sum = 0;
	const uint8_t *a = buf + lay->l3 + (family == 4 ? 12 : 8);
	size_t alen = family == 4 ? 8 : 32;

	for (size_t i = 0; i < alen; i += 2)
		sum += (uint32_t)(a[i] << 8 | a[i + 1]);
	sum += proto;
	sum += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	return sum;
}

static size_t csum_offset(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

void frame_fill_l4_csum(uint8_t *buf, const struct frame_layout *lay, int family, uint8_t proto)
{
	size_t l4len = lay->len - lay->l4;
	uint8_t *c = buf + lay->l4 + csum_offset(proto);
	uint32_t seed = (proto == IPPROTO_ICMP) ? 0 : pseudo_sum(buf, lay, family, proto, l4len);
	uint16_t v;

	c[0] = c[1] = 0;
	v = inet_csum(buf + lay->l4, l4len, seed);
	if (proto == IPPROTO_UDP && v == 0)
		v = 0xffff;
	put16(c, v);
}

int frame_l4_csum_ok(const uint8_t *buf, const struct frame_layout *lay, int family, uint8_t proto)
{
	size_t l4len = lay->len - lay->l4;
	uint32_t seed = (proto == IPPROTO_ICMP) ? 0 : pseudo_sum(buf, lay, family, proto, l4len);

	return inet_csum(buf + lay->l4, l4len, seed) == 0;
}

int frame_ipv4_csum_ok(const uint8_t *buf, const struct frame_layout *lay)
{
	return inet_csum(buf + lay->l3, (size_t)(buf[lay->l3] & 0xf) * 4, 0) == 0;
}
