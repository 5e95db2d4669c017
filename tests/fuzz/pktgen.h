/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pktgen.h - seeded packet generation for the differential tester:
 * structured frames (every header combination sluice parses, options,
 * extension chains, fragments, VLAN stacks, odd and jumbo lengths, load
 * balancer roles), truncations at every byte, and mutations of a corpus of
 * valid frames.  Everything is reproducible from one 64-bit seed.
 */
#ifndef SLUICE_PKTGEN_H
#define SLUICE_PKTGEN_H

#include <stddef.h>
#include <stdint.h>

#define PG_FRAME_MAX 9216

struct rng {
	uint64_t s;
};

uint64_t rng_next(struct rng *r);
uint32_t rng_below(struct rng *r, uint32_t n); /* 0..n-1 */
int rng_chance(struct rng *r, unsigned percent);

/* An address a generated packet can use, with the ports that matter. */
struct pg_addr {
	uint8_t family;
	uint8_t addr[16];
};

/* A service as the generator sees it: where its packets go. */
struct pg_service {
	struct pg_addr vip;
	uint16_t port; /* 0 = every port */
	uint8_t proto;
	int dsr;
	struct pg_addr backend[8];
	uint16_t backend_port[8];
	int n_backend;
};

/* What a configuration epoch gives the generator to aim at. */
struct pg_world {
	struct pg_service svc[8];
	int n_svc;
	struct pg_addr sources[64]; /* list prefix edges and the usual suspects */
	int n_sources;
};

/* What a frame is, for statistics and reports. */
enum pg_kind {
	PK_STRUCTURED = 0, /* built from a random header combination */
	PK_COMBO,          /* the systematic header-combination sweep */
	PK_TRUNCATED,      /* a valid frame cut at one byte offset */
	PK_MUTATED,        /* a valid frame after 1-4 mutations */
	PK_RANDOM,         /* random bytes behind an Ethernet header */
	PK_KIND_MAX,
};

enum pg_mutation {
	PM_BITFLIP = 0,  /* flip one bit */
	PM_BYTE,         /* one byte to a random value */
	PM_INTERESTING,  /* a byte or 16-bit word to 0, 1, 0x7f, 0x80, 0xff, 0xffff ... */
	PM_HEADER_FIELD, /* a named header field (version, IHL, lengths, next header,
			  * doff, flags, ethertype, TPID, ICMP type) to a boundary value */
	PM_LENGTH,       /* an IP/UDP length field off by -2..+2 or to 0/0xffff */
	PM_INSERT,       /* bytes inserted inside the headers */
	PM_DELETE,       /* bytes deleted inside the headers */
	PM_TRUNCATE,     /* cut at a random offset */
	PM_EXTEND,       /* random bytes or zero padding appended */
	PM_SPLICE,       /* the tail of another corpus frame spliced in */
	PM_DUP_TAG,      /* a VLAN tag duplicated or inserted */
	PM_ADDR,         /* an address replaced by a VIP / backend / list edge */
	PM_KIND_MAX,
};

extern const char *const pg_kind_names[PK_KIND_MAX];
extern const char *const pg_mutation_names[PM_KIND_MAX];

struct pg_stats {
	unsigned long kinds[PK_KIND_MAX];
	unsigned long mutations[PM_KIND_MAX];
	unsigned long vlan_depth[4];
	unsigned long ipv4_options, ipv6_ext_chains, fragments, jumbo, icmp_errors;
	unsigned long lb_roles[5];
};

struct pktgen {
	struct rng rng;
	const struct pg_world *w;
	/* corpus of valid frames (for mutation and splicing) */
	uint8_t corpus[32][1600];
	size_t corpus_len[32];
	int n_corpus;
	/* recent flows, to send their later packets and ICMP errors */
	struct {
		struct pg_addr client, vip;
		uint16_t cport, vport;
		uint8_t proto;
	} flows[64]; /* kept across configurations: flows outlive reloads */
	int n_flows;
	/* systematic sweeps in progress */
	unsigned combo_next;
	uint8_t trunc_src[1600];
	size_t trunc_len, trunc_next;
	struct pg_stats st;
};

void pktgen_init(struct pktgen *g, uint64_t seed, const struct pg_world *w);
/* A new configuration: keeps statistics and recent flows. */
void pktgen_world(struct pktgen *g, uint64_t seed, const struct pg_world *w);
/* Number of frames in the systematic header-combination sweep. */
unsigned pktgen_combos(void);
/* Next frame into buf (PG_FRAME_MAX bytes); returns its length, *kind set. */
size_t pktgen_next(struct pktgen *g, uint8_t *buf, int *kind);
/* Frame number i of the combination sweep. */
size_t pktgen_combo(struct pktgen *g, unsigned i, uint8_t *buf);

#endif
