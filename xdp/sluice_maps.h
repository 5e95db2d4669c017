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
	SR_REASON_MAX,
};

/* XDP actions are 0..4 (ABORTED, DROP, PASS, TX, REDIRECT). */
#define SLUICE_ACTION_MAX 5
#define SLUICE_COUNTER_SLOTS (SR_REASON_MAX * SLUICE_ACTION_MAX)

struct sluice_counter {
	__u64 packets;
	__u64 bytes;
};

/* Auxiliary per-CPU event counters: things that happen to a packet in
 * addition to its verdict (never a second verdict). */
enum sluice_aux {
	SA_META_FAILED = 0, /* bpf_xdp_adjust_meta refused: passed untagged */
	SA_MAX,
};

/* ---- metadata tag handed from XDP to TC ------------------------------- */

#define SLUICE_META_MAGIC 0x51ceu
#define SLUICE_META_VERSION 1

enum sluice_meta_flags {
	SMF_ALLOWLISTED = 1u << 0,
	SMF_IPV6 = 1u << 1,
	SMF_FRAGMENT = 1u << 2,
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

#ifdef __bpf__
/* ---- map definitions (BPF side) --------------------------------------- */
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_VERDICT_V4_MAX);
	__type(key, struct sluice_lpm_v4_key);
	__type(value, struct sluice_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_VERDICT_V6_MAX);
	__type(key, struct sluice_lpm_v6_key);
	__type(value, struct sluice_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SA_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} aux_counters SEC(".maps");
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
};

static const char *const sluice_action_names[SLUICE_ACTION_MAX] = {
	"aborted", "drop", "pass", "tx", "redirect",
};

static const char *const sluice_aux_names[SA_MAX] = {
	[SA_META_FAILED] = "meta_failed",
};
#endif

#endif /* SLUICE_MAPS_H */
