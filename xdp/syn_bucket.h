/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syn_bucket.h - the SYN token bucket's arithmetic and the auto-block
 * trigger, plain functions on a bucket and a time so that the unit tests run
 * the very code XDP runs with any clock they like (days idle, the clock of
 * another CPU slightly behind, rates of millions).
 */
#ifndef SLUICE_SYN_BUCKET_H
#define SLUICE_SYN_BUCKET_H

#include "sluice_maps.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Refill (rate tokens per second, whole milliseconds only: the remainder
 * stays in last_ns, so slow refills are not rounded away), then take one
 * token.  1 = over the limit.  rate must be > 0.  A bucket idle long enough
 * to fill is set full without multiplying: no overflow at any rate or idle
 * time.  The bucket is shared by CPUs whose clocks can read a little behind
 * the last writer's: a "now" before last_ns refills nothing. */
static __always_inline int syn_bucket_take(struct sluice_syn_bucket *b, __u64 now, __u32 rate,
					   __u32 burst)
{
	__u64 cap = (__u64)burst * 1000;

	if (now > b->last_ns) {
		__u64 ms = (now - b->last_ns) / 1000000;

		if (ms > cap / rate) {
			b->milli_tokens = cap;
			b->last_ns = now;
		} else if (ms) {
			b->milli_tokens += ms * rate; /* <= cap + rate */
			b->last_ns += ms * 1000000;
			if (b->milli_tokens > cap)
				b->milli_tokens = cap;
		}
	}
	if (b->milli_tokens < 1000)
		return 1;
	b->milli_tokens -= 1000;
	return 0;
}

/* A SYN the bucket dropped: count it in the source's window; 1 = the source
 * passed the threshold and has no request out (the caller sends one and
 * sets reported_ns).  A request is repeated only after rearm_ns: by then the
 * daemon's block has expired, or it refused (cap, allowlist) and may take
 * it now. */
static __always_inline int syn_bucket_note_drop(struct sluice_syn_bucket *b, __u64 now,
						const struct sluice_auto_cfg *cfg)
{
	if (now < b->win_start_ns || now - b->win_start_ns >= cfg->window_ns) {
		b->win_start_ns = now;
		b->drops = 0;
	}
	b->drops++;
	if (!cfg->threshold || b->drops < cfg->threshold)
		return 0;
	if (b->reported_ns && now >= b->reported_ns && now - b->reported_ns < cfg->rearm_ns)
		return 0;
	return 1;
}

#endif /* SLUICE_SYN_BUCKET_H */
