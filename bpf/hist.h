/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Log-linear histogram bucket math, shared verbatim by the BPF programs and
 * by user space so that the unit tests exercise exactly what the kernel runs.
 *
 * Values (nanoseconds) below 2^HIST_SUB_BITS get one exact bucket each.
 * Above that, every power of two [2^e, 2^(e+1)) is split into
 * 2^HIST_SUB_BITS equal sub-buckets, so a bucket is never wider than
 * 1/2^HIST_SUB_BITS = 12.5% of its lower bound.
 *
 * No __builtin_clz: clang-14 crashes on it for the BPF target.
 */
#ifndef LATSCOPE_HIST_H
#define LATSCOPE_HIST_H

#ifndef __bpf__
#include <linux/types.h>
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define HIST_SUB_BITS 3
#define HIST_SUB      (1u << HIST_SUB_BITS)
/* bucket indexes cover every u64: (64 - HIST_SUB_BITS + 1) groups */
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

/* floor(log2(v)) for v > 0, by binary search on shifts */
static __always_inline __u32 hist_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1) {
		r += 1;
	}
	return r;
}

/* bucket index of value v; always < HIST_BUCKETS */
static __always_inline __u32 hist_bucket(__u64 v)
{
	__u32 e, sub;

	if (v < HIST_SUB)
		return (__u32)v;
	e = hist_log2(v);
	sub = (__u32)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return (e - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

/* smallest value that falls into bucket b */
static __always_inline __u64 hist_bucket_lo(__u32 b)
{
	__u32 g = b / HIST_SUB, sub = b % HIST_SUB;

	if (g == 0)
		return b;
	return (__u64)(HIST_SUB + sub) << (g - 1);
}

/* number of distinct values in bucket b (its width) */
static __always_inline __u64 hist_bucket_width(__u32 b)
{
	__u32 g = b / HIST_SUB;

	if (g == 0)
		return 1;
	return 1ULL << (g - 1);
}

#endif /* LATSCOPE_HIST_H */
