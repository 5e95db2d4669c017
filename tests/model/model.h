/* SPDX-License-Identifier: GPL-2.0 */
/*
 * model.h - a reference model of sluice's XDP decision, in plain C.
 *
 * Given one frame, the configured lists and services and the environment
 * (what the FIB answers), the model says what the data path must do: the XDP
 * action, the counter reason, the bytes that leave (NAT, DSR encapsulation,
 * MAC rewrite, checksums), the metadata tag on XDP_PASS and what the load
 * balancer counts.  It is written from the protocol RFCs and from sluice's
 * documented semantics (docs/architecture.md, the comments of
 * xdp/sluice_maps.h and xdp/parsing.h), not from the BPF code: it decodes the
 * whole frame first and then decides, with its own data structures.
 *
 * Backend choice is modelled in full: a connection table with the documented
 * rules (an entry on a flow's first non-SYN packet; an entry is kept unless
 * its backend is down or gone), and for new flows the Maglev table of the
 * service (built by ctl/maglev.c, shared userspace code) indexed by the flow
 * hash, which the model computes itself from the documented murmur3-style
 * function over struct sluice_flow_key.
 *
 * Known differences between this model and the BPF program that are bugs of
 * the program are listed as quirks (MQ_*): with a quirk bit set the model
 * reproduces the program's current behaviour for that case and marks the
 * packet, so a differential run can accept a reported bug without hiding any
 * other difference.  docs in tests/fuzz/README.md.
 */
#ifndef SLUICE_MODEL_H_REF
#define SLUICE_MODEL_H_REF

#include <stddef.h>
#include <stdint.h>

#include "sluice_maps.h"

#define MODEL_FRAME_MAX (9216 + 128)

/* What the FIB says about a destination (the environment, not sluice). */
enum model_fib_kind {
	MFIB_OK = 0,   /* route and neighbour: forward with these MACs */
	MFIB_NO_NEIGH, /* route, neighbour not resolved yet */
	MFIB_FAIL,     /* no route, local, broadcast, ...: not forwardable */
	MFIB_UNKNOWN,  /* the environment model cannot say: do not compare */
};

struct model_fib {
	int kind;
	int other_if; /* egress is not the ingress device (XDP_REDIRECT) */
	uint8_t dmac[6], smac[6];
};

struct model_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;
	uint16_t tag;   /* list id (lists) or identity id (identities) */
	uint8_t addr[16];
};

struct model_backend {
	uint32_t id;      /* the data path's backend id (configuration plumbing) */
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;    /* host order; 0 = keep the client's port */
	uint8_t state;    /* enum sluice_backend_state */
	uint32_t weight;
};

struct model_service {
	uint32_t id;      /* the data path's service id */
	uint8_t family;
	uint8_t vip[16];
	uint16_t port;    /* host order; 0 = every port */
	uint8_t proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t mode;     /* enum sluice_svc_mode */
	const struct model_backend *be;
	size_t n_be;
	const uint32_t *table; /* SLUICE_RING_SIZE backend ids (Maglev) */
};

/* Known bugs of the BPF program (see tests/fuzz/README.md).  With the bit
 * set the model copies the program's behaviour for that case. */
enum model_quirk {
	/* ICMP error about a dsr-ipip flow, sent to the VIP: the program NATs
	 * it to the backend's own address instead of encapsulating it like the
	 * flow, so the backend (which owns the VIP) cannot match it. */
	MQ_DSR_ICMP_NAT = 1u << 0,
	/* ICMP error whose quoted header lies past the IP payload (in the
	 * frame's trailing padding): the program translates bytes that are not
	 * part of the packet and "updates" the ICMP checksum for them. */
	MQ_ICMP_QUOTE_PAST_IP = 1u << 1,
	/* ICMP (protocol 1) in IPv6 and ICMPv6 (58) in IPv4 are parsed and
	 * translated as ICMP errors of the other family. */
	MQ_ICMP_CROSS_FAMILY = 1u << 2,
	/* ICMP errors deeper than the load balancer's LB_MAX_OFF bound: the
	 * program masks the offset instead of refusing, so past 2 KiB it
	 * reads the ICMP header at the wrong place. */
	MQ_ICMP_DEEP = 1u << 3,
	/* ICMP error about a UDP flow, sent to the VIP: choosing the flow's
	 * backend for it creates a connection-table entry for the flow (the
	 * program's lb_pick is told "SYN", which only spares TCP), so spoofed
	 * errors can fill the LRU table and pin flows. */
	MQ_ICMP_UDP_CONN = 1u << 4,
	/* ICMP error about a TCP flow whose connection is on a draining
	 * backend, sent to the VIP: the program looks the backend up as for a
	 * new connection (a bare SYN), so it deletes the flow's entry and sends
	 * the error to the Maglev backend; the flow then leaves its backend. */
	MQ_ICMP_DRAIN_DELETE = 1u << 5,
	/* TC decap (tc/decap.bpf.c) takes the outer header's version on trust:
	 * an "IPv4" outer header with IHL 5 and protocol 4 but another version
	 * (or an "IPv6" one with next header 41) is decapsulated or refused as
	 * a tunnel frame instead of passed as the non-tunnel frame it is. */
	MQ_DECAP_OUTER_VERSION = 1u << 6,
	MQ_ALL = (1u << 7) - 1,
};

struct model_config {
	const struct model_prefix *block, *allow;
	size_t n_block, n_allow;
	/* identity classes: a source's identity is the one of the longest
	 * identity prefix containing it (0 = unknown) */
	const struct model_prefix *ident;
	size_t n_ident;
	const struct model_service *svcs;
	size_t n_svcs;
	/* environment */
	int (*fib)(void *ctx, int family, const uint8_t *src, const uint8_t *dst,
		   struct model_fib *out);
	void *fib_ctx;
	size_t linear_max; /* bytes of a longer frame an XDP program sees */
	unsigned quirks;   /* enum model_quirk bits to reproduce */
	int dry;           /* decide without touching the connection table */
};

/* Checksum fields the model rewrote: compared as one's complement values
 * (0x0000 and 0xffff are the same number) unless exact. */
struct model_csum {
	uint32_t off;
	uint8_t exact;
};

struct model_result {
	int action;               /* XDP_* */
	int reason;               /* enum sluice_reason */
	int tagged;               /* a sluice_meta in front (XDP_PASS) */
	struct sluice_meta meta;
	int bytes_checked;        /* out[] is what must leave (not on drops) */
	size_t out_len;
	struct model_csum sums[8];
	int n_sums;
	/* per-list counter: the list whose entry decided the source (0 = none;
	 * list_counted says whether a list verdict was reached) */
	int list_counted;
	uint32_t list_id;
	/* load balancer counters: service and backend ids (0 = none) */
	uint32_t svc, backend;
	int new_flow;
	uint16_t src_identity;    /* the source's identity class (tag) */
	int unknown;              /* the environment could not be predicted */
	unsigned quirks_hit;      /* which quirks decided this packet */
	char path[160];           /* how the model decided, for reports */
	uint8_t out[MODEL_FRAME_MAX]; /* last: not cleared between packets */
};

/* The model's own state: the connection table. */
struct model_conn;
struct ref_model {
	struct model_conn *conns;
	size_t n_conns, cap;
};

void ref_init(struct ref_model *m);
void ref_free(struct ref_model *m);
/* Decide one frame; updates the connection table like the data path. */
void ref_run(struct ref_model *m, const struct model_config *c, const uint8_t *frame, size_t len,
	       struct model_result *r);
/* The flow hash of the documented function (for tests of the model). */
uint32_t ref_flow_hash(int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
			 uint16_t dport, uint8_t proto);

#endif

/* ---- TC: the DSR backend's decapsulation (tc/decap.bpf.c) -------------- */

/* What the backend's TC ingress program must do with a frame: strip the
 * outer header of IPv4-in-IPv4 (protocol 4, outer without options) and
 * IPv6-in-IPv6 (next header 41) whose inner header is of the same family,
 * drop (counted "refused") a tunnel frame whose inner header is missing or
 * of the wrong version, pass anything else untouched.  Returns the TC
 * action (TC_ACT_OK 0, TC_ACT_SHOT 2); out gets the frame that goes on;
 * *counter is 0 decapsulated, 1 refused, -1 neither. */
int ref_decap(const uint8_t *frame, size_t len, uint8_t *out, size_t *out_len, int *counter,
	      unsigned quirks, unsigned *quirks_hit);
