/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sluice_maps.h - the one header that the BPF programs and the userspace
 * tools share: map sizes, the structs the maps hold, counter reasons and the
 * metadata tag layout.  Map definitions themselves are only compiled on the
 * BPF side (__bpf__), but they sit next to their structs so that both sides
 * can never disagree about a key or value layout.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <linux/types.h>

/* ---- sizes ------------------------------------------------------------ */

/* Compiled source-verdict tries.  LPM tries allocate per entry
 * (BPF_F_NO_PREALLOC), so a generous max_entries costs nothing until used. */
#define SLUICE_VERDICT_V4_MAX (2u * 1024 * 1024)
#define SLUICE_VERDICT_V6_MAX (512u * 1024)

/* Fixed bound on the IPv6 extension-header walk: a chain longer than this is
 * counted as malformed (ext_chain) and dropped. */
#define SLUICE_MAX_IPV6_EXT 8
/* Up to two VLAN tags (802.1Q, or 802.1ad outer + 802.1Q inner). */
#define SLUICE_MAX_VLAN 2

#define SLUICE_PIN_DIR "/sys/fs/bpf/sluice"

/* ---- generations ------------------------------------------------------- */

/* Every map that holds configuration exists twice (two generations).  A
 * reload writes the whole new configuration into the inactive generation,
 * then flips sluice_state.gen with one 4-byte write: each packet reads the
 * generation once and sees either the old config or the new, never a mix. */
#define SLUICE_GENS 2

struct sluice_state {
	__u32 gen;          /* active generation: 0 or 1 */
	__u32 serial;       /* bumped on every switch (for status and tests) */
	__u64 switched_ns;  /* CLOCK_MONOTONIC of the last switch */
	__u32 has_services[SLUICE_GENS]; /* 0: skip the load balancer entirely */
	__u32 flood_mode;   /* 1 while the daemon declares a SYN flood (hysteresis in
			     * the daemon); written alone, outside generations */
};

/* ---- source verdict (blocklist / allowlist, compiled) ------------------ */

/* The data path does one longest-prefix lookup.  Userspace compiles the
 * blocklists and allowlists into one trie so that the longest match always
 * carries the right answer: block prefixes covered by an allow prefix are
 * left out, so an address inside any allow prefix can only ever match an
 * allow entry (see ctl/compile.c for the argument). */
enum sluice_action {
	SLUICE_ACT_NONE = 0,
	SLUICE_ACT_BLOCK = 1,
	SLUICE_ACT_ALLOW = 2,
};

struct sluice_lpm_v4_key {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct sluice_lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct sluice_verdict {
	__u32 action;  /* enum sluice_action */
	__u32 list_id; /* which configured list the prefix came from (0 = cli) */
};

/* The compiled fast tables.
 *
 * IPv4 is DIR-24-8 with the first level squeezed into the CPU cache: a flood
 * from 1M random prefixes touches a random /24 per packet, and a 64 MiB
 * table of u32 entries costs a DRAM miss (~190 ns here) where a 4 MiB one
 * mostly hits the cache (bench: fast tables, docs/fastpath.md).
 * - fast_v4: 2 bits per /24 in 16-byte units of 48 /24s (two u64 elements:
 *   the first holds the unit's rank in its low 32 bits and /24s 0..15 in
 *   its high 32, the second /24s 16..47; 349,526 units per generation):
 *   SLUICE_SUM_NONE (no list touches the /24), SLUICE_SUM_PRIMARY (the whole
 *   /24 has class SLUICE_CLASS_PRIMARY: the builder gives that id to the
 *   class covering most /24s, so a flood from one big blocklist ends here,
 *   one access), SLUICE_SUM_TRIE (overflow: the small LPM trie decides) or
 *   SLUICE_SUM_DETAIL (the /24 has a detail entry).  The rank is the number
 *   of DETAIL /24s before the unit: a /24's detail index is the rank plus
 *   the DETAIL codes before it in the unit (a popcount), all from the 16
 *   bytes (one cache line) its own code came from.
 * - fast4_detail: a u64 per DETAIL /24, in /24 order, its kind in the top
 *   byte: SLUICE_DETAIL_CLASS (the /24's class in the low byte: a class
 *   other than the primary), SLUICE_DETAIL_RANGES (the /24 is at most four
 *   ranges of classes: bytes 0..2 the first address of ranges 2..4, bytes
 *   3..6 their classes; a /24 holding one or two longer prefixes) or
 *   SLUICE_DETAIL_CHUNK (the low 32 bits: chunk c of the pool, one class
 *   byte per address of the /24).
 * Every v4 source resolves in at most three reads (summary with its rank,
 * detail, chunk), the first cache-sized: 5.3 MiB, 8 bytes per detailed
 * /24.
 * IPv6: one byte per value of the top 24 bits (packed 8 to a u64): 0, a
 * class, or a bucket holding longer prefixes, whose entry (struct
 * sluice_fast6_val: its painted class and its longer prefixes inline, up to
 * SLUICE_FAST6_INLINE, or the lengths of its prefixes, which have one entry
 * each in the hash fast6_g<gen>, probed longest length first) is
 *  - SLUICE_CLASS_DENSE: in the array fast6_dense, at the bucket's rank
 *    (fast6_rank: the DENSE buckets before each group of 64, plus those
 *    before it in its group, counted from the same cache line): no hash
 *    lookup;
 *  - SLUICE_CLASS_HASH: in the hash, as {len 24} (the dense array full);
 *  - SLUICE_CLASS_DEEPER: the trie (hash full, or more than
 *    SLUICE_FAST6_LENS lengths in the bucket). */
#define SLUICE_FAST_BITS 24
#define SLUICE_FAST_WORDS ((1u << SLUICE_FAST_BITS) / 8)      /* v6: byte entries */
#define SLUICE_FAST4_UNIT 48 /* /24s per 16-byte unit (rank + 48 codes) */
#define SLUICE_FAST4_UNITS (((1u << SLUICE_FAST_BITS) + SLUICE_FAST4_UNIT - 1) / SLUICE_FAST4_UNIT)
#define SLUICE_FAST4_SUM_WORDS (SLUICE_FAST4_UNITS * 2)
/* top / 48 as (top * MUL) >> 32, exact for every top < 2^24: MUL exceeds
 * 2^32 / 48 by 2/3, which adds < 0.003 to a quotient whose fraction is at
 * most 47/48. */
#define SLUICE_FAST4_UNIT_MUL 89478486ull
#define SLUICE_SUM_NONE 0
#define SLUICE_SUM_PRIMARY 1
#define SLUICE_SUM_TRIE 2
#define SLUICE_SUM_DETAIL 3
#define SLUICE_DETAIL_CLASS 0
#define SLUICE_DETAIL_RANGES 1
#define SLUICE_DETAIL_CHUNK 2
#define SLUICE_DETAIL_KIND_SHIFT 56
#define SLUICE_CLASS_PRIMARY 1
#define SLUICE_CLASS_MAX 252
#define SLUICE_CLASS_DENSE 253
#define SLUICE_CLASS_HASH 254
#define SLUICE_CLASS_DEEPER 255
/* IPv4 detail entries per generation: /24s holding a longer prefix or a
 * class other than the primary one (the bench's 1M list: ~300k).  Past it,
 * /24s go to the trie (counted, never a wrong verdict). */
#define SLUICE_FAST4_DETAIL (1u << 21)
/* IPv4 chunks per generation: 256 class bytes each (32 u64), for /24s of
 * more than four ranges (two or more scattered longer prefixes). */
#define SLUICE_FAST4_CHUNKS 131072u
#define SLUICE_CHUNK_WORDS 32
/* IPv6 hash entries per generation (buckets past the dense array +
 * prefixes longer than /24 that are not inline). */
#define SLUICE_FAST6_ENTRIES (1u << 20)
/* IPv6 dense bucket entries per generation (64 bytes each: 16 MiB; the
 * bench's 256k prefixes make ~246k buckets); past it, buckets go to the
 * hash. */
#define SLUICE_FAST6_DENSE (1u << 18)
#define SLUICE_FAST6_GROUP 64 /* top-24 buckets (one cache line) per rank */
#define SLUICE_FAST6_RANK_WORDS ((1u << SLUICE_FAST_BITS) / SLUICE_FAST6_GROUP / 2)

struct sluice_fast6_key {
	__u32 len;     /* 24: the bucket's entry; 25..128: a prefix */
	__u8 addr[16]; /* masked to len */
};

struct sluice_fast6_mask {
	__u32 w[4]; /* network byte order */
};

/* Distinct prefix lengths (> 24) one IPv6 bucket may hold in the hash;
 * a bucket with more goes to the trie. */
#define SLUICE_FAST6_LENS 16

/* A bucket with at most this many longer prefixes holds them in its own
 * entry (the common case: no second hash lookup). */
#define SLUICE_FAST6_INLINE 2

struct sluice_fast6_val {
	__u32 cls;      /* the class (bucket entry: painted by prefixes <= 24; may be 0) */
	__u8 n_inline;  /* bucket entry: prefixes in inline_*, longest first */
	__u8 n_lens;    /* bucket entry: lengths in lens[], ascending (hashed prefixes) */
	__u8 inline_len[SLUICE_FAST6_INLINE];
	__u8 inline_cls[SLUICE_FAST6_INLINE];
	__u8 pad[2];
	__u8 lens[SLUICE_FAST6_LENS];
	__u32 inline_addr[SLUICE_FAST6_INLINE][4]; /* masked, network byte order */
	__u32 spare; /* 64 bytes: a dense entry is one cache line */
};
#define SLUICE_CLASSES 256 /* verdict classes per generation; 0 = none */

/* ---- counters ------------------------------------------------------------ */

/* Every packet the XDP program sees is counted exactly once, under the
 * reason that decided its fate and the XDP action it got.  Userspace keeps
 * the names in sluice_reason_names[] below; keep both in step. */
enum sluice_reason {
	SR_PASS = 0,          /* clean IP packet, handed to the stack */
	SR_ALLOWLISTED,       /* source in an allowlist */
	SR_BLOCKLIST,         /* source in a blocklist */
	SR_NON_IP,            /* ARP, LLDP, ...: passed untouched */
	SR_FRAGMENT,          /* non-first IP fragment: no L4 header to see */
	SR_L4_OTHER,          /* IP packet with an L4 sluice does not parse */
	SR_MAL_ETH,           /* frame shorter than an Ethernet header */
	SR_MAL_VLAN,          /* truncated VLAN tag */
	SR_MAL_VLAN_DEPTH,    /* more than SLUICE_MAX_VLAN tags */
	SR_MAL_IPV4_TRUNC,    /* truncated IPv4 header (incl. options) */
	SR_MAL_IPV4_IHL,      /* IHL < 5 */
	SR_MAL_IPV4_VERSION,  /* ethertype IPv4, version field not 4 */
	SR_MAL_IPV4_LEN,      /* total length < IHL*4 or past the frame */
	SR_MAL_IPV6_TRUNC,    /* truncated fixed IPv6 header */
	SR_MAL_IPV6_VERSION,  /* ethertype IPv6, version field not 6 */
	SR_MAL_IPV6_PLEN,     /* payload length past the frame (or 0) */
	SR_MAL_IPV6_EXT,      /* truncated extension header */
	SR_MAL_IPV6_EXT_CHAIN,/* extension chain longer than the bound */
	SR_MAL_TCP,           /* truncated TCP header */
	SR_MAL_TCP_DOFF,      /* data offset < 5 or past the packet */
	SR_MAL_UDP,           /* truncated UDP header */
	SR_MAL_UDP_LEN,       /* UDP length < 8 or past the packet */
	SR_MAL_ICMP,          /* truncated ICMP/ICMPv6 header */
	SR_LB_FORWARD,        /* to a VIP: DNATed to a backend (tx, or pass when
			       * the next hop is not resolved yet) */
	SR_LB_REPLY,          /* backend reply: reverse-NATed to the client */
	SR_LB_ICMP,           /* ICMP error about a load-balanced flow, NATed */
	SR_LB_NO_BACKEND,     /* to a VIP whose service has no usable backend */
	SR_LB_FRAGMENT,       /* IP fragment to a VIP: no ports to hash on */
	SR_LB_FIB_FAIL,       /* rewritten but no route to the destination */
	SR_LB_ENCAP_FAIL,     /* DSR: could not add the outer header (VLAN
			       * tagged frame, no headroom, too long) */
	SR_SYN_RATE,          /* a TCP SYN over its source's token bucket */
	SR_COOKIE_SENT,       /* SYN to a protected local service: answered with
			       * a cookie SYN-ACK (tx) */
	SR_COOKIE_VALID,      /* ACK with a valid cookie, no socket yet: to the
			       * stack (SYNPROXY completes the handshake) */
	SR_COOKIE_INVALID,    /* ACK/segment to a protected service with no socket
			       * and no valid cookie: dropped */
	SR_COOKIE_UNSUPPORTED,/* SYN to a protected service that cannot be answered
			       * (IPv4 options, IPv6 extension headers): dropped */
	SR_SP_BACKEND_SYN,    /* cookie ACK to a VIP: turned into a SYN to the
			       * chosen backend */
	SR_SP_BACKEND_ACK,    /* the backend's SYN-ACK: answered with the ACK */
	SR_SP_PENDING,        /* client or backend segment while the backend
			       * handshake is pending: dropped (retransmitted) */
	SR_REASON_MAX,
};

/* XDP actions are 0..4 (ABORTED, DROP, PASS, TX, REDIRECT). */
#define SLUICE_ACTION_MAX 5
#define SLUICE_COUNTER_SLOTS (SR_REASON_MAX * SLUICE_ACTION_MAX)

struct sluice_counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-list counters: packets dropped (blocklists) or let through
 * (allowlists) because of a prefix from that list, indexed by list id.  A
 * source in several lists is counted for the list of its longest matching
 * prefix (ties: the lowest list id), like the verdict itself. */
#define SLUICE_MAX_LISTS 256

/* Auxiliary per-CPU event counters: things that happen to a packet in
 * addition to its verdict (never a second verdict). */
enum sluice_aux {
	SA_META_FAILED = 0, /* bpf_xdp_adjust_meta refused: passed untagged */
	SA_AUTOBLOCK_REQ,   /* an auto-block request sent to the daemon */
	SA_AUTOBLOCK_LOST,  /* ... that found its ring buffer full (retried on the next drop) */
	SA_MAX,
};

/* ---- metadata tag handed from XDP to TC ------------------------------- */

#define SLUICE_META_MAGIC 0x51ceu
#define SLUICE_META_VERSION 1

enum sluice_meta_flags {
	SMF_ALLOWLISTED = 1u << 0,
	SMF_IPV6 = 1u << 1,
	SMF_FRAGMENT = 1u << 2,
	SMF_SYN_SUSPECT = 1u << 3, /* reserved for the SYN-flood defences */
	SMF_FLOOD_MODE = 1u << 4,  /* sluice_state.flood_mode was on for this packet */
	SMF_HAVE_L3 = 1u << 7,     /* internal to the XDP program: never in a tag */
};

/* Written in front of the packet with bpf_xdp_adjust_meta on every XDP_PASS.
 * Size is a multiple of 4 as the helper requires. */
struct sluice_meta {
	__u16 magic;    /* SLUICE_META_MAGIC */
	__u8 version;   /* SLUICE_META_VERSION */
	__u8 flags;     /* enum sluice_meta_flags */
	__u16 identity; /* identity class of the source (0 = unknown) */
	__u16 service;  /* load-balanced service id (0 = none) */
	__u16 reason;   /* enum sluice_reason that passed the packet */
	__u16 pad;
};


/* ---- service load balancer -------------------------------------------- */

#define SLUICE_MAX_SERVICES 1024  /* service ids 1..MAX-1; 0 = none */
#define SLUICE_MAX_BACKENDS 4096  /* backend ids 1..MAX-1; 0 = none */
/* Maglev lookup table size per service: a prime well above the backend
 * count so that weights are honoured to a fraction of a percent, small
 * enough that 1024 services cost 16 MiB per generation. */
#define SLUICE_RING_SIZE 4099
/* Ring slots hold 16-bit backend ids, four to an array element (array map
 * elements are 8 bytes whatever the value size). */
#define SLUICE_RING_WORDS ((SLUICE_RING_SIZE + 3) / 4)
#define SLUICE_CONN_MAX (256u * 1024)
/* Hash seed: the same on every node, so every node with the same config
 * sends a flow to the same backend. */
#define SLUICE_HASH_SEED 0x5a17ce11u

/* (VIP, port, protocol) -> service; port 0 is the port wildcard.  The same
 * layout keys the reverse map by (backend address, port, protocol). */
struct sluice_svc_key {
	__u8 addr[16]; /* v4 in the first 4 bytes, rest 0 */
	__be16 port;
	__u8 proto;
	__u8 family; /* 4 or 6 */
};

enum sluice_svc_mode {
	SLUICE_MODE_NAT = 0,
	SLUICE_MODE_DSR_IPIP = 1,
};

struct sluice_svc {
	__u32 id;   /* index of the service's Maglev table and counters */
	__u32 mode; /* enum sluice_svc_mode */
	__u32 flags; /* SLUICE_SVC_SYNCOOKIE (xdp/synproxy.h) */
};

/* NAT service whose handshakes sluice completes with SYN cookies. */
#define SLUICE_SVC_SYNCOOKIE 1u

enum sluice_backend_state {
	SLUICE_BE_ACTIVE = 0,   /* in the Maglev table */
	SLUICE_BE_DRAINING = 1, /* out of the table; established flows stay */
	SLUICE_BE_DOWN = 2,     /* out of the table; its flows move */
};

/* 24 bytes: array elements are 8-byte aligned, and userspace writes the
 * (mmapped) array as a plain C array of these. */
struct sluice_backend {
	__u8 addr[16];
	__be16 port; /* 0: keep the client's destination port */
	__u8 family;
	__u8 state;  /* enum sluice_backend_state */
	__u32 pad;
};

/* Reverse NAT: a backend belongs to at most one NAT service, so its reply
 * source (address, port, protocol) names the VIP to restore, statelessly. */
struct sluice_rev {
	__u8 vip[16];
	__be16 vport;
	__u16 svc_id;
	__u32 flags; /* the service's flags (SLUICE_SVC_SYNCOOKIE) */
};

/* Next hop of a backend, cached per CPU so that an established flow's
 * packets do not each pay bpf_fib_lookup (the largest single cost of the NAT
 * path).  Indexed by backend id (stable across generations).  An entry is
 * used only while all of these still hold, else the FIB is asked again and
 * the entry refilled:
 *  - serial: the configuration serial it was filled under (any generation
 *    switch, which every backend or service change is, invalidates it);
 *  - addr / in_ifindex: the backend address and ingress interface it was
 *    resolved for (a backend id reused for another address never inherits);
 *  - filled_ns: at most LB_NH_MAX_AGE_NS old, so a neighbour or route change
 *    (new MAC, route via another interface, entry gone) is seen within that
 *    bound without the data path watching the kernel's tables.
 * Only FIB successes are cached: "no neighbour yet" and failures are asked
 * again every time.  With ECMP routes a backend's packets follow one path per
 * CPU (the FIB's multipath hash of the first packet) until the entry ages. */
#define LB_NH_MAX_AGE_NS 250000000ull /* 250 ms */

struct sluice_nexthop {
	__u32 addr[4];
	__u64 filled_ns; /* bpf_ktime_get_coarse_ns() when filled; 0 = empty */
	__u32 serial;
	__u32 in_ifindex;
	__u32 out_ifindex;
	__u8 dmac[6];
	__u8 smac[6];
};

struct sluice_flow_key {
	__u32 src[4];
	__u32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

struct sluice_conn {
	__u32 backend;
	__u32 svc;
	__u32 sp_state; /* enum sluice_sp_state: SYN-cookie services only */
	__u32 sp_seq;   /* PENDING: our cookie (ISN to the client);
			 * ESTABLISHED: backend ISN - cookie (seq delta) */
};

/* A connection of a syn_cookies service (xdp/synproxy.h). */
enum sluice_sp_state {
	SLUICE_SP_NONE = 0,        /* ordinary connection */
	SLUICE_SP_PENDING = 1,     /* cookie ACK seen, SYN sent to the backend */
	SLUICE_SP_ESTABLISHED = 2, /* backend answered: seq/ack translated */
};

struct sluice_lb_counter {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};

/* ---- NAT flow cache (xdp/lb_flow_cache.h) ------------------------------- */

/* Per-CPU, direct-mapped cache of the NAT work an established flow's packet
 * needs: for a client -> VIP packet the backend (address, port, ids) and its
 * next hop; for a backend's reply the VIP to restore and the client's next
 * hop.  It stands in front of the service, connection, backend, reverse-NAT
 * and FIB lookups, never instead of their semantics: a slot is used only
 * while all of these hold, else the packet takes the full path, which
 * refills (or, for a bare SYN, clears) the slot:
 *  - the whole flow tuple and direction match (a second flow hashed to the
 *    same slot takes it over; the first takes the full path again);
 *  - gen and serial are the packet's (any configuration change, which every
 *    service, backend, weight, drain or health change is, invalidates);
 *  - in_ifindex is the packet's ingress interface;
 *  - filled (the next hop's MACs) is less than LB_NH_MAX_AGE_NS old;
 *  - client -> VIP: touched is less than LB_FC_FWD_AGE_MS ago, or else the
 *    flow's connection entry is looked up again (refreshing its LRU position,
 *    as any packet of the flow does on the full path) and must still name
 *    the slot's service and backend (lb_pick's answer for it: the backend's
 *    state cannot have changed under the same serial); touched is then now.
 * Only NAT-mode services without SYN cookies, only TCP and UDP, never
 * fragments, never a bare SYN (a new connection reusing a tuple must meet
 * lb_pick's draining check), and only packets whose full path ended in a
 * resolved next hop are cached. */
#define LB_FC_SLOTS 4096 /* per CPU; a power of two */
#define LB_FC_FWD_AGE_MS 10

enum { LB_FC_FWD = 1, LB_FC_REPLY = 2 };

struct sluice_flow_slot {
	__u32 src[4];
	__u32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir;      /* LB_FC_FWD / LB_FC_REPLY; 0 = empty */
	__u8 gen;
	__u8 pad;
	__u32 serial;
	__u32 in_ifindex;
	__u32 out_ifindex;
	__u64 filled;      /* lb_fc_clock() when filled (jiffies or ns) */
	__u64 touched;     /* lb_fc_clock() when lb_conns was last looked up */
	__u32 new_addr[4]; /* backend (forward) or VIP (reply) */
	__be16 new_port;   /* 0: the port stays */
	__u16 svc;
	__u16 backend;
	__u8 dmac[6];
	__u8 smac[6];
	__u16 pad2;
};

/* ---- identities, pods and their policy (TC) ----------------------------- */

#define SLUICE_MAX_IDENTITIES 255 /* identity ids 1..255; 0 = unknown */
#define SLUICE_IDENT_V4_MAX (256u * 1024)
#define SLUICE_IDENT_V6_MAX (64u * 1024)
#define SLUICE_MAX_PODS 1024     /* pod ids 1..MAX-1; 0 = not a pod */
#define SLUICE_MAX_POD_ADDRS 4096
#define SLUICE_MAX_RULES 16      /* per pod and direction */

struct sluice_ident {
	__u32 identity; /* 1..SLUICE_MAX_IDENTITIES */
};

/* Key of pod_addrs: one of a pod's own addresses. */
struct sluice_addr_key {
	__u8 addr[16];
	__u8 family;
	__u8 pad[3];
};

/* One allow rule.  Zero fields match anything: identity 0 = any identity,
 * plen 0 with family 0 = any address, proto 0 = any protocol, ports 0..0 =
 * any port. */
struct sluice_rule {
	__u8 addr[16];   /* peer CIDR (source for ingress, destination for egress) */
	__u8 family;     /* 0: no CIDR condition */
	__u8 plen;
	__u8 proto;
	__u8 pad;
	__u16 identity;  /* ingress only: the source's identity class */
	__u16 port_lo;   /* the pod's port (ingress) / peer port (egress) */
	__u16 port_hi;
	__u16 pad2;
};

struct sluice_pod_policy {
	__u8 ingress_default_allow;
	__u8 egress_default_allow;
	__u8 n_ingress;
	__u8 n_egress;
	__u8 has_ingress; /* a pod without a policy block allows everything */
	__u8 has_egress;
	__u16 pad;
	struct sluice_rule ingress[SLUICE_MAX_RULES];
	struct sluice_rule egress[SLUICE_MAX_RULES];
};

struct sluice_pod_stats {
	__u64 rx_packets, rx_bytes; /* to the pod */
	__u64 tx_packets, tx_bytes; /* from the pod */
	__u64 ingress_denied, egress_denied;
};

/* Reasons the TC programs count (uplink and pod veths). */
enum sluice_tc_reason {
	STR_TAG_OK = 0,        /* uplink: valid XDP tag read */
	STR_TAG_MISSING,       /* uplink: no tag, or not ours: identity unknown */
	STR_TAG_BAD,           /* uplink: tag with our magic but bad version/size */
	STR_HOST,              /* uplink: to the node itself (or non-pod), marked host */
	STR_POD_ALLOWED,       /* uplink: to a pod, allowed by its ingress policy */
	STR_POD_DENIED,        /* uplink: to a pod, denied by its ingress policy */
	STR_EGRESS_ALLOWED,    /* pod veth: from the pod, allowed */
	STR_EGRESS_DENIED,     /* pod veth: from the pod, denied by egress policy */
	STR_POD_UNKNOWN,       /* pod veth without a pod id (watcher lag): passed */
	STR_NOT_IP,            /* no IP header: passed */
	/* pods branch: */
	STR_V6_EXT_BAD,        /* IPv6 extension chain malformed/too long: proto 0, no ports */
	STR_WORKLOAD_ALLOWED,  /* uplink: to a hostNetwork workload's socket, allowed */
	STR_WORKLOAD_DENIED,   /* uplink: to a hostNetwork workload's socket, denied */
	STR_REASON_MAX,
};

/* skb->mark layout set by the uplink TC program (documented in
 * docs/policy.md): bits 0-7 identity, 8-15 tag flags, 16-27 service
 * id, 28-31 SLUICE_MARK_MAGIC so later hooks know the mark is sluice's. */
#define SLUICE_MARK_MAGIC 0xAu
#define SLUICE_MARK_HOST_FLAG 0x80u /* in the flags byte: destined to the node */
#define SLUICE_MARK(identity, flags, service)                                                    \
	((SLUICE_MARK_MAGIC << 28) | (((service) & 0xfffu) << 16) | (((flags) & 0xffu) << 8) |     \
	 ((identity) & 0xffu))

/* ---- event stream --------------------------------------------------------- */

/* Sampled events to userspace over a BPF ring buffer (`sluice events`).
 * Sampling is per event reason: 1 in `every`, at most `cap_per_sec` per
 * second per CPU, so a flood cannot make the event path cost more than the
 * drop itself; what the ring buffer cannot take is counted as lost. */
#define SLUICE_EVENTS_BYTES (256u * 1024)

enum sluice_event_type {
	SE_DROP = 1,        /* XDP drop: reason is an enum sluice_reason */
	SE_NEW_FLOW = 2,    /* new load-balanced flow: svc, backend */
	SE_POLICY_DENY = 3, /* TC pod policy denial: reason is enum sluice_tc_reason */
};

/* Sampling slots: XDP reasons, then TC reasons after them. */
#define SLUICE_EV_SLOT_TC SR_REASON_MAX
#define SLUICE_EV_SLOTS (SR_REASON_MAX + STR_REASON_MAX)

struct sluice_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns */
	__u16 type;      /* enum sluice_event_type */
	__u16 reason;
	__u8 family;     /* 4 or 6 (0: not IP) */
	__u8 proto;
	__be16 sport;
	__be16 dport;
	__u16 list_id;   /* SR_BLOCKLIST drops: the list that got the drop (the
			  * per-list counter's index); else 0 */
	__u32 ifindex;
	__u32 svc;       /* service id (new flows) */
	__u32 backend;   /* backend id (new flows) */
	__u32 pod;       /* pod id (policy denials) */
	__u8 saddr[16];
	__u8 daddr[16];
};

struct sluice_sampling {
	__u32 every;       /* 1 in N; 0 = off */
	__u32 cap_per_sec; /* per CPU; 0 = no cap */
};

struct sluice_sample_state {
	__u64 seen; /* unused (kept: the pinned map's value layout) */
	__u64 window_ns;
	__u32 sent_in_window;
	__u32 skip; /* events still to skip before the next one (1-in-N) */
};

enum sluice_event_stat {
	SES_SENT = 0,
	SES_SAMPLED_OUT, /* skipped by 1-in-N or the cap (by design) */
	SES_LOST,        /* the ring buffer was full (userspace too slow) */
	SES_MAX,
};

/* ---- SYN-flood defence: per-source token buckets ------------------------ */

/* Rate (SYNs per second) and burst per identity class, indexed
 * [gen * SLUICE_SYN_LIMITS + identity]; identity 0 = sources in no class.
 * rate 0 = no limit. */
#define SLUICE_SYN_LIMITS 256
#define SLUICE_SYN_BUCKETS (256u * 1024)

struct sluice_syn_limit {
	__u32 rate;
	__u32 burst;
};

/* Buckets are kept per source /32 (IPv4) or /64 (IPv6): an IPv6 host picks
 * its low 64 bits freely. */
struct sluice_syn_key {
	__u32 addr[4];
	__u32 family;
};

struct sluice_syn_bucket {
	__u64 milli_tokens; /* tokens x 1000 */
	__u64 last_ns;
	/* auto-block: SYNs dropped in the current window, and when this
	 * source's request was sent (0 = never; once per rearm_ns) */
	__u64 win_start_ns;
	__u64 reported_ns;
	__u32 drops;
	__u32 pad;
};

/* ---- SYN-flood defence: auto-block requests ------------------------------ */

/* Written by the daemon alone (one array element, outside the generations:
 * a packet that reads a half-updated threshold during a reload only moves
 * one source's request by a window).  threshold 0 = auto-block off. */
struct sluice_auto_cfg {
	__u32 threshold; /* SYNs dropped by the bucket within window_ns */
	__u32 pad;
	__u64 window_ns;
	__u64 rearm_ns;  /* a source is requested again only after this (the TTL) */
};

/* One request per source over a dedicated ring buffer: not sampled (each
 * source sends one, marked in its bucket), and the event stream's sampling
 * and readers never delay it. */
#define SLUICE_AUTOBLOCK_BYTES (256u * 1024)

struct sluice_autoblock_req {
	__u64 ts_ns;
	__u32 family;  /* 4 or 6 */
	__u32 drops;   /* SYNs dropped in the window that triggered it */
	__u32 addr[4]; /* the bucket key: the /32, or the /64 (rest 0) */
};

/* ---- SYN-flood defence: SYN cookies for local services ------------------- */

/* Protected local services (address, TCP port), keyed per generation (gen
 * is part of the key: one hash holds both).  syncookie_gen[gen] is the
 * largest mode of any entry of that generation: with no service protected,
 * traffic pays that one array lookup, no hash lookup (docs/syn-cookies.md). */
#define SLUICE_COOKIE_MAX 1024

enum sluice_cookie_mode {
	SLUICE_COOKIE_OFF = 0,
	SLUICE_COOKIE_FLOOD = 1,  /* only while sluice_state.flood_mode is on */
	SLUICE_COOKIE_ALWAYS = 2,
};

struct sluice_cookie_key {
	__u8 addr[16]; /* v4 in the first 4 bytes, rest 0 */
	__be16 port;
	__u8 family;   /* 4 or 6 */
	__u8 gen;
};

struct sluice_cookie_svc {
	__u32 mode; /* enum sluice_cookie_mode */
};

#ifdef __bpf__
/* ---- map definitions (BPF side) --------------------------------------- */
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_state SEC(".maps");

/* Fast tables, generation g at elements [g * SLUICE_FAST4_SUM_WORDS, ...)
 * (v4 summary and ranks), [g * SLUICE_FAST4_DETAIL, ...), chunks at [g * SLUICE_FAST4_CHUNKS *
 * SLUICE_CHUNK_WORDS, ...), [g * SLUICE_FAST_WORDS, ...) (v6). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_FAST4_SUM_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_FAST4_DETAIL);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast4_detail SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_FAST4_CHUNKS * SLUICE_CHUNK_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast4_chunks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_FAST_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast_v6 SEC(".maps");

/* Two u32 ranks per u64 (an array's u32 element would
 * take 8 bytes anyway). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_FAST6_RANK_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast6_rank SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_FAST6_DENSE);
	__type(key, __u32);
	__type(value, struct sluice_fast6_val);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast6_dense SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_FAST6_ENTRIES);
	__type(key, struct sluice_fast6_key);
	__type(value, struct sluice_fast6_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast6_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_FAST6_ENTRIES);
	__type(key, struct sluice_fast6_key);
	__type(value, struct sluice_fast6_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast6_g1 SEC(".maps");

/* Address masks by prefix length (0..128), written once by the daemon:
 * the IPv6 walk masks without branches. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 129);
	__type(key, __u32);
	__type(value, struct sluice_fast6_mask);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fast6_masks SEC(".maps");

/* Verdict classes, generation g at [g * SLUICE_CLASSES, ...). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_CLASSES);
	__type(key, __u32);
	__type(value, struct sluice_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_classes SEC(".maps");

/* Slow path tries, one per generation: IPv4 holds only what the /24s marked
 * DEEPER need; IPv6 holds every compiled prefix. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_VERDICT_V4_MAX);
	__type(key, struct sluice_lpm_v4_key);
	__type(value, struct sluice_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_v4_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_VERDICT_V4_MAX);
	__type(key, struct sluice_lpm_v4_key);
	__type(value, struct sluice_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_v4_g1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_VERDICT_V6_MAX);
	__type(key, struct sluice_lpm_v6_key);
	__type(value, struct sluice_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_v6_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_VERDICT_V6_MAX);
	__type(key, struct sluice_lpm_v6_key);
	__type(value, struct sluice_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_v6_g1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_LISTS);
	__type(key, __u32);
	__type(value, struct sluice_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} list_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SA_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aux_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, struct sluice_svc_key);
	__type(value, struct sluice_svc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_services_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, struct sluice_svc_key);
	__type(value, struct sluice_svc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_services_g1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_MAX_SERVICES * SLUICE_RING_WORDS);
	__type(key, __u32);
	__type(value, __u64); /* 4 x 16-bit backend ids, 0 = empty */
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sluice_backend);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, struct sluice_svc_key);
	__type(value, struct sluice_rev);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_rev_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, struct sluice_svc_key);
	__type(value, struct sluice_rev);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_rev_g1 SEC(".maps");

/* Per-CPU next-hop cache of the load balancer (struct sluice_nexthop):
 * data-path private, not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sluice_nexthop);
} lb_nexthop SEC(".maps");

/* Per-CPU LRU lists (no common LRU): a flood on one CPU cannot evict the
 * flows another CPU serves, and there is no cross-CPU lock. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_CONN_MAX);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_lb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sluice_lb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_backend_stats SEC(".maps");

/* NAT flow cache (struct sluice_flow_slot): data-path private, not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_FC_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_flow_slot);
} lb_flow_cache SEC(".maps");

/* Identity classes (generation-switched): source address -> identity. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_IDENT_V4_MAX);
	__type(key, struct sluice_lpm_v4_key);
	__type(value, struct sluice_ident);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ident_v4_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_IDENT_V4_MAX);
	__type(key, struct sluice_lpm_v4_key);
	__type(value, struct sluice_ident);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ident_v4_g1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_IDENT_V6_MAX);
	__type(key, struct sluice_lpm_v6_key);
	__type(value, struct sluice_ident);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ident_v6_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_IDENT_V6_MAX);
	__type(key, struct sluice_lpm_v6_key);
	__type(value, struct sluice_ident);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ident_v6_g1 SEC(".maps");

/* Pods (generation-switched): their addresses and their policies. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_POD_ADDRS);
	__type(key, struct sluice_addr_key);
	__type(value, __u32); /* pod id */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_addrs_g0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_POD_ADDRS);
	__type(key, struct sluice_addr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_addrs_g1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_MAX_PODS);
	__type(key, __u32);
	__type(value, struct sluice_pod_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_policy SEC(".maps");

/* Pod id -> pod name: ids stay the same across reloads and restarts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_PODS);
	__type(key, __u32);
	__type(value, char[64]);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_names SEC(".maps");

/* Host-side veth ifindex -> pod id, kept by the daemon's netlink watcher
 * (not generation-switched: it follows the kernel's links, not the config). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_PODS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_ifindex SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SLUICE_MAX_PODS);
	__type(key, __u32);
	__type(value, struct sluice_pod_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STR_REASON_MAX);
	__type(key, __u32);
	__type(value, struct sluice_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tc_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_EV_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_sampling);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_sampling SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_EV_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_sample_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SES_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS * SLUICE_SYN_LIMITS);
	__type(key, __u32);
	__type(value, struct sluice_syn_limit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} syn_limits SEC(".maps");

/* Per-CPU LRU lists: a spoofed flood churns the LRU of the CPUs it lands
 * on without a cross-CPU lock. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_SYN_BUCKETS);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct sluice_syn_key);
	__type(value, struct sluice_syn_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} syn_buckets SEC(".maps");

/* Bare SYNs XDP saw, blocked ones included (flood mode's rate, read by
 * the daemon every 100 ms).  A map of its own, not an aux counter: it moves
 * with every connection, and the aux counters are for the unusual. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} syn_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_auto_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} syn_auto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_AUTOBLOCK_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} autoblock_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_GENS * SLUICE_COOKIE_MAX);
	__type(key, struct sluice_cookie_key);
	__type(value, struct sluice_cookie_svc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} syncookie_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_GENS);
	__type(key, __u32);
	__type(value, __u32); /* enum sluice_cookie_mode: the largest in that gen */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} syncookie_gen SEC(".maps");
#else
/* ---- userspace side --------------------------------------------------- */
static const char *const sluice_reason_names[SR_REASON_MAX] = {
	[SR_PASS] = "passed",
	[SR_ALLOWLISTED] = "allowlisted",
	[SR_BLOCKLIST] = "blocklist",
	[SR_NON_IP] = "non_ip",
	[SR_FRAGMENT] = "fragment",
	[SR_L4_OTHER] = "l4_other",
	[SR_MAL_ETH] = "malformed_eth",
	[SR_MAL_VLAN] = "malformed_vlan",
	[SR_MAL_VLAN_DEPTH] = "malformed_vlan_depth",
	[SR_MAL_IPV4_TRUNC] = "malformed_ipv4_trunc",
	[SR_MAL_IPV4_IHL] = "malformed_ipv4_ihl",
	[SR_MAL_IPV4_VERSION] = "malformed_ipv4_version",
	[SR_MAL_IPV4_LEN] = "malformed_ipv4_len",
	[SR_MAL_IPV6_TRUNC] = "malformed_ipv6_trunc",
	[SR_MAL_IPV6_VERSION] = "malformed_ipv6_version",
	[SR_MAL_IPV6_PLEN] = "malformed_ipv6_plen",
	[SR_MAL_IPV6_EXT] = "malformed_ipv6_ext",
	[SR_MAL_IPV6_EXT_CHAIN] = "malformed_ipv6_ext_chain",
	[SR_MAL_TCP] = "malformed_tcp",
	[SR_MAL_TCP_DOFF] = "malformed_tcp_doff",
	[SR_MAL_UDP] = "malformed_udp",
	[SR_MAL_UDP_LEN] = "malformed_udp_len",
	[SR_MAL_ICMP] = "malformed_icmp",
	[SR_LB_FORWARD] = "lb_forward",
	[SR_LB_REPLY] = "lb_reply",
	[SR_LB_ICMP] = "lb_icmp",
	[SR_LB_NO_BACKEND] = "lb_no_backend",
	[SR_LB_FRAGMENT] = "lb_fragment",
	[SR_LB_FIB_FAIL] = "lb_fib_fail",
	[SR_LB_ENCAP_FAIL] = "lb_encap_fail",
	[SR_SYN_RATE] = "syn_rate_limited",
	[SR_COOKIE_SENT] = "syncookie_sent",
	[SR_COOKIE_VALID] = "syncookie_ack_valid",
	[SR_COOKIE_INVALID] = "syncookie_ack_invalid",
	[SR_COOKIE_UNSUPPORTED] = "syncookie_syn_unsupported",
	[SR_SP_BACKEND_SYN] = "synproxy_backend_syn",
	[SR_SP_BACKEND_ACK] = "synproxy_backend_ack",
	[SR_SP_PENDING] = "synproxy_pending_drop",
};

static const char *const sluice_action_names[SLUICE_ACTION_MAX] = {
	"aborted", "drop", "pass", "tx", "redirect",
};

static const char *const sluice_tc_reason_names[STR_REASON_MAX] = {
	[STR_TAG_OK] = "tag_ok",
	[STR_TAG_MISSING] = "tag_missing",
	[STR_TAG_BAD] = "tag_bad",
	[STR_HOST] = "host",
	[STR_POD_ALLOWED] = "pod_ingress_allowed",
	[STR_POD_DENIED] = "pod_ingress_denied",
	[STR_EGRESS_ALLOWED] = "pod_egress_allowed",
	[STR_EGRESS_DENIED] = "pod_egress_denied",
	[STR_POD_UNKNOWN] = "pod_unknown",
	[STR_NOT_IP] = "not_ip",
	[STR_V6_EXT_BAD] = "v6_ext_bad",
	[STR_WORKLOAD_ALLOWED] = "workload_ingress_allowed",
	[STR_WORKLOAD_DENIED] = "workload_ingress_denied",
};

static const char *const sluice_aux_names[SA_MAX] = {
	[SA_META_FAILED] = "meta_failed",
	[SA_AUTOBLOCK_REQ] = "autoblock_requests",
	[SA_AUTOBLOCK_LOST] = "autoblock_requests_lost",
};
#endif

/* ---- workloads: the node's own traffic on the uplink, by cgroup ---------- */

/* sluice_tc_cgroup (tc/policy.bpf.c, clsact egress on every uplink) counts
 * each packet under bpf_skb_cgroup_id(): the cgroup v2 id (the inode number
 * of the cgroup's directory) of the socket that sent it; 0 = no socket
 * (forwarded packets, ARP/ND).  The daemon names the ids from the cgroup
 * paths (ctl/workloads.c).  Packets that find the table full are counted in
 * cgroup_overflow, so the sum stays exact. */
#define SLUICE_MAX_CGROUPS 4096

#ifdef __bpf__
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SLUICE_MAX_CGROUPS);
	__type(key, __u64); /* cgroup id */
	__type(value, struct sluice_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_overflow SEC(".maps");
#endif

/* ---- hostNetwork workloads: pods identified by cgroup (pods branch) ------ */

/* A pod with a `cgroup` setting is a hostNetwork workload: it shares the
 * node's addresses, so only sockets tell its traffic apart.  The daemon
 * keeps hostwl_cgroups: every cgroup id whose path the workload's pattern
 * matches -> its pod id.  On the uplink's TC ingress, a TCP/UDP packet to
 * the node's own address is looked up to its receiving socket
 * (bpf_sk_lookup_*), and that socket's cgroup and then its ancestors,
 * deepest first, to a workload: its ingress policy and rx counters apply.
 * On the uplink's egress, the sending socket's cgroup gives tx counters. */
#define SLUICE_MAX_HOSTWL_CGROUPS 4096
#define SLUICE_CGROUP_DEPTH 16 /* ancestor levels searched */

#ifdef __bpf__
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_HOSTWL_CGROUPS);
	__type(key, __u64);   /* cgroup id */
	__type(value, __u32); /* pod id */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hostwl_cgroups SEC(".maps");

/* How many cgroups hostwl_cgroups holds (written by the daemon after each
 * sync): 0 and TC skips the FIB and socket lookups and the ancestor walks
 * that only a hostNetwork workload needs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hostwl_count SEC(".maps");
#endif

#endif /* SLUICE_MAPS_H */
