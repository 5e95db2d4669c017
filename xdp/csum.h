/* SPDX-License-Identifier: GPL-2.0 */
/*
 * csum.h - incremental Internet checksum updates (RFC 1624) for NAT.
 *
 * All values are raw 16-bit words as they sit in the packet; one's
 * complement arithmetic does not care about byte order as long as every
 * operand is taken the same way.
 */
#ifndef SLUICE_CSUM_H
#define SLUICE_CSUM_H

#include <linux/types.h>

static __always_inline __u16 csum_fold32(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

/* HC' = ~(~HC + ~m + m') */
static __always_inline void csum_replace16(__u16 *sum, __u16 old, __u16 new)
{
	__u32 c = (__u16)~*sum;

	c += (__u16)~old;
	c += new;
	*sum = (__u16)~csum_fold32(c);
}

static __always_inline void csum_replace32(__u16 *sum, __u32 old, __u32 new)
{
	__u32 c = (__u16)~*sum;

	c += (__u16)~(old & 0xffff);
	c += (__u16)~(old >> 16);
	c += new & 0xffff;
	c += new >> 16;
	*sum = (__u16)~csum_fold32(c);
}

static __always_inline void csum_replace_word(__u16 *sum_a, __u16 *sum_b, __u32 *field,
					      __u32 new)
{
	if (sum_a)
		csum_replace32(sum_a, *field, new);
	if (sum_b)
		csum_replace32(sum_b, *field, new);
	*field = new;
}

/* Replace an address (n = 1 word for IPv4, 4 for IPv6) at field with new,
 * keeping up to two checksums right (either may be NULL). */
static __always_inline void csum_replace_words(__u16 *sum_a, __u16 *sum_b, __u32 *field,
					       const __u32 *new, int n)
{
	csum_replace_word(sum_a, sum_b, &field[0], new[0]);
	if (n == 4) {
		csum_replace_word(sum_a, sum_b, &field[1], new[1]);
		csum_replace_word(sum_a, sum_b, &field[2], new[2]);
		csum_replace_word(sum_a, sum_b, &field[3], new[3]);
	}
}

#endif /* SLUICE_CSUM_H */
