// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"
#include "stats.h"

uint64_t hist_bucket_clamp(uint32_t bucket, uint64_t v)
{
	uint64_t lo = hist_bucket_lo(bucket);
	uint64_t hi = lo + hist_bucket_width(bucket) - 1;

	return v < lo ? lo : v > hi ? hi : v;
}

double hist_quantile(const struct hbin *bins, size_t n, double q, uint64_t max_ns)
{
	uint64_t total = 0, rank, cum = 0;
	size_t i, j;

	for (i = 0; i < n; i++)
		total += bins[i].count;
	if (!total)
		return 0;
	rank = (uint64_t)ceil(q * (double)total - 1e-9);
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;
	for (i = 0; i < n; i = j) {
		uint64_t c = 0, sum = 0;
		bool sum_known = true;
		uint32_t b = bins[i].bucket;

		for (j = i; j < n && bins[j].bucket == b; j++) {
			c += bins[j].count;
			sum += bins[j].sum;
			if (bins[j].count && !bins[j].sum)
				sum_known = false;
		}
		if (!c)
			continue;
		if (cum + c >= rank) {
			double lo = (double)hist_bucket_lo(b);
			double w = (double)hist_bucket_width(b);
			double hi = lo + w - 1, m = (double)sum / (double)c, h, v;

			if (cum + c == total && max_ns >= lo && max_ns <= hi)
				hi = (double)max_ns;
			if (w <= 1) {
				v = lo;
			} else if (sum_known && m >= lo && m <= hi) {
				/* spread symmetrically around the known mean */
				h = m - lo < hi - m ? m - lo : hi - m;
				v = c == 1 ? m
					   : m - h +
						     2 * h * ((double)(rank - cum) - 0.5) /
							     (double)c;
			} else if (cum + c == total && max_ns >= lo && max_ns < lo + w)
				/* top bucket with a known max: samples lie in
				 * [lo, max] and the last one is the max itself */
				v = lo + ((double)max_ns - lo) * (double)(rank - cum) / (double)c;
			else
				v = lo + w * ((double)(rank - cum) - 0.5) / (double)c;

			if (max_ns && v > (double)max_ns)
				v = (double)max_ns;
			if (v < lo)
				v = lo;
			return v;
		}
		cum += c;
	}
	return 0; /* not reached: rank <= total */
}

void hist_summarize(const struct hbin *bins, size_t n, uint64_t sum_ns, uint64_t max_ns,
		    struct lat_summary *out)
{
	uint64_t total = 0;
	uint32_t top = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (!bins[i].count)
			continue;
		total += bins[i].count;
		if (bins[i].bucket > top)
			top = bins[i].bucket;
	}
	if (!total)
		return;
	if (!max_ns)
		max_ns = hist_bucket_lo(top) + hist_bucket_width(top) - 1;
	out->count = total;
	out->total = (double)sum_ns;
	out->mean = (double)sum_ns / (double)total;
	out->max = (double)max_ns;
	out->p50 = hist_quantile(bins, n, 0.50, max_ns);
	out->p90 = hist_quantile(bins, n, 0.90, max_ns);
	out->p99 = hist_quantile(bins, n, 0.99, max_ns);
	out->p999 = hist_quantile(bins, n, 0.999, max_ns);
}

static int hbin_cmp(const void *a, const void *b)
{
	const struct hbin *x = a, *y = b;

	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

void hbin_sort(struct hbin *bins, size_t n)
{
	qsort(bins, n, sizeof(*bins), hbin_cmp);
}

void sys_val_merge(const struct sys_val *v, int ncpu, struct sys_val *out)
{
	memset(out, 0, sizeof(*out));
	for (int cpu = 0; cpu < ncpu; cpu++) {
		out->count += v[cpu].count;
		out->sum_ns += v[cpu].sum_ns;
		if (v[cpu].max_ns > out->max_ns)
			out->max_ns = v[cpu].max_ns;
	}
}

void oct_val_merge(const struct oct_val *v, int ncpu, struct oct_val *out)
{
	memset(out, 0, sizeof(*out));
	for (int cpu = 0; cpu < ncpu; cpu++) {
		for (int b = 0; b < 8; b++)
			out->count[b] += v[cpu].count[b];
		out->sum_ns += v[cpu].sum_ns;
		if (v[cpu].max_ns > out->max_ns)
			out->max_ns = v[cpu].max_ns;
	}
}

uint64_t percpu_sum(const uint64_t *v, int ncpu)
{
	uint64_t s = 0;

	for (int cpu = 0; cpu < ncpu; cpu++)
		s += v[cpu];
	return s;
}
