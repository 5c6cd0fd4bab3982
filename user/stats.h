/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Latency summaries (percentiles, mean, max) from sparse log-linear histograms. */
#ifndef LATSCOPE_STATS_H
#define LATSCOPE_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "latscope.h"

/* one histogram bucket, how many samples fell into it and, when known,
 * their exact sum (0: unknown) */
struct hbin {
	uint32_t bucket;
	uint64_t count;
	uint64_t sum;
};

/* all in nanoseconds */
struct lat_summary {
	uint64_t count;
	double p50, p90, p99, p999, max, mean, total;
};

/*
 * Summarise a histogram given as bins sorted by ascending bucket (the same
 * bucket may repeat; repeats add up). sum_ns is the exact sum of samples,
 * max_ns the exact largest sample or 0 if unknown (the top bucket's upper
 * edge is used then). Percentiles are nearest-rank, placed inside their
 * bucket: spread evenly and symmetrically around the bucket's own mean when
 * its sum is known (exact for a bucket holding one sample, or a tight
 * cluster), else evenly across the bucket. Either way each is within one
 * bucket width (<= 12.5%) of the exact nearest-rank percentile.
 * A histogram with no samples yields all zeros.
 */
void hist_summarize(const struct hbin *bins, size_t n, uint64_t sum_ns, uint64_t max_ns,
		    struct lat_summary *out);

/*
 * Value at quantile q (0 < q <= 1) of the histogram, as above. Returns 0 for
 * an empty histogram.
 */
double hist_quantile(const struct hbin *bins, size_t n, double q, uint64_t max_ns);

/* Clamp a bucket's recorded max into the bucket's own range [lo, hi]. */
uint64_t hist_bucket_clamp(uint32_t bucket, uint64_t v);

/* Sort bins by bucket (stable order is not needed). */
void hbin_sort(struct hbin *bins, size_t n);

/*
 * Merge the per-CPU copies of a syscall_lat value (ncpu of them, as a
 * per-CPU map lookup returns): counts and sums add up, max is the largest.
 */
void sys_val_merge(const struct sys_val *percpu, int ncpu, struct sys_val *out);

/* The same for a syscall_lat value: sub-bucket counts and sums add up. */
void oct_val_merge(const struct oct_val *percpu, int ncpu, struct oct_val *out);

/* Sum of ncpu per-CPU counters. */
uint64_t percpu_sum(const uint64_t *percpu, int ncpu);

#endif
