/* SPDX-License-Identifier: GPL-2.0 */
/* frames.h - named packet fixtures for the unit tests. */
#ifndef SLUICE_TEST_FRAMES_H
#define SLUICE_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 9216

enum frag_kind { FRAG_NONE = 0, FRAG_FIRST, FRAG_LATER };

/* What to build.  Zero values mean: plain untagged frame, no options. */
struct pkt_spec {
	int family;              /* 4, 6; 0 builds an ARP frame */
	const char *src, *dst;   /* addresses as text */
	uint8_t proto;           /* IPPROTO_TCP/UDP/ICMP/ICMPV6/other */
	int vlans;               /* number of VLAN tags (0..3) */
	uint16_t outer_tpid;     /* TPID of the outermost tag (default 0x8100) */
	int ip_opts;             /* IPv4 option bytes (multiple of 4, <= 40) */
	uint8_t ext[12];         /* IPv6 extension header types, in order */
	int n_ext;
	int frag;                /* enum frag_kind (IPv4: flags; IPv6: needs a 44 in ext) */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	int payload;             /* L4 payload bytes */
};

/* Offsets into a built frame, for tests that corrupt it. */
struct frame_layout {
	size_t l3, l4, len;
};

/* Build into buf (FRAME_MAX bytes); returns the frame length. */
size_t build_frame(const struct pkt_spec *s, uint8_t *buf, struct frame_layout *lay);

/* Named fixtures */
struct pkt_spec spec_tcp4(const char *src, const char *dst);
struct pkt_spec spec_udp4(const char *src, const char *dst);
struct pkt_spec spec_icmp4(const char *src, const char *dst);
struct pkt_spec spec_tcp6(const char *src, const char *dst);
struct pkt_spec spec_udp6(const char *src, const char *dst);
struct pkt_spec spec_icmp6(const char *src, const char *dst);

/* Modifiers of a named fixture: s with vlans VLAN tags (outer TPID
 * outer_tpid, 0 for 802.1Q), with one more IPv6 extension header (type
 * ext) at the end of its chain, with opts bytes of IPv4 options. */
struct pkt_spec spec_vlans(struct pkt_spec s, int vlans, uint16_t outer_tpid);
struct pkt_spec spec_with_ext(struct pkt_spec s, uint8_t ext);
struct pkt_spec spec_with_ip_opts(struct pkt_spec s, int opts);

/* Internet checksum over a buffer (independent of the BPF code). */
uint16_t inet_csum(const void *data, size_t len, uint32_t seed);
/* Compute / verify the TCP, UDP, ICMP or ICMPv6 checksum of a built frame
 * (pseudo header included where the protocol has one). */
void frame_fill_l4_csum(uint8_t *buf, const struct frame_layout *lay, int family, uint8_t proto);
int frame_l4_csum_ok(const uint8_t *buf, const struct frame_layout *lay, int family, uint8_t proto);
int frame_ipv4_csum_ok(const uint8_t *buf, const struct frame_layout *lay);

#endif
