// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Bucket math of bpf/hist.h, the same code the BPF programs run. Every
 * property the percentile code relies on is checked against values chosen
 * to hit group edges (powers of two and their neighbours) as well as dense
 * small values and random u64s.
 */
#include <stdint.h>
#include "test.h"
#include "hist.h"

/* fixed seed so a failure reproduces exactly */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd64(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* the obviously correct floor(log2(v)) to compare the branchy one against */
static unsigned naive_log2(uint64_t v)
{
	unsigned r = 0;

	while (v >>= 1)
		r++;
	return r;
}

/*
 * 0 when v lies in its bucket, else the line of the first broken property.
 * Written as v - lo < width because lo + width wraps to 0 in the top bucket.
 */
static int check_value(uint64_t v, const char **why)
{
	uint32_t b = hist_bucket(v);
	uint64_t lo, w;

	if (b >= HIST_BUCKETS) {
		*why = "bucket >= HIST_BUCKETS";
		return 1;
	}
	lo = hist_bucket_lo(b);
	w = hist_bucket_width(b);
	if (v < lo) {
		*why = "v below its bucket's lower bound";
		return 1;
	}
	if (v - lo >= w) {
		*why = "v at or past its bucket's upper edge";
		return 1;
	}
	return 0;
}

TEST_CASE(hist_every_small_value_lies_in_its_bucket)
{
	const char *why = "";
	uint32_t prev = 0;
	uint64_t v;

	for (v = 0; v <= 100000; v++) {
		uint32_t b = hist_bucket(v);

		ASSERT(!check_value(v, &why), "v=%llu: %s", (unsigned long long)v, why);
		ASSERT(b >= prev, "bucket decreased at v=%llu (%u < %u)", (unsigned long long)v, b,
		       prev);
		/* consecutive values never skip a bucket */
		ASSERT(b - prev <= 1, "bucket skipped at v=%llu (%u -> %u)", (unsigned long long)v,
		       prev, b);
		prev = b;
	}
}

TEST_CASE(hist_powers_of_two_and_neighbours_lie_in_their_bucket)
{
	const char *why = "";
	uint64_t prev_v = 0;
	uint32_t prev_b = 0;
	int e, d;

	/* 2^e - 1, 2^e, 2^e + 1 for e = 0..63; for e < 2 these overlap */
	for (e = 0; e < 64; e++) {
		for (d = -1; d <= 1; d++) {
			uint64_t v = (1ULL << e) + (uint64_t)(int64_t)d;
			uint32_t b = hist_bucket(v);

			ASSERT(!check_value(v, &why), "v=2^%d%+d: %s", e, d, why);
			if (v < prev_v)
				continue;
			ASSERT(b >= prev_b, "bucket decreased at 2^%d%+d", e, d);
			prev_v = v;
			prev_b = b;
		}
	}
	ASSERT(!check_value(UINT64_MAX, &why), "UINT64_MAX: %s", why);
	ASSERT_EQ_U64(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1, "bucket of UINT64_MAX");
	ASSERT_EQ_U64(hist_bucket(0), 0, "bucket of 0");
}

TEST_CASE(hist_random_u64s_lie_in_their_bucket_monotonically)
{
	const char *why = "";
	int i;

	for (i = 0; i < 200000; i++) {
		/* random shift spreads samples over every magnitude */
		uint64_t a = rnd64() >> (rnd64() % 64);
		uint64_t b = rnd64() >> (rnd64() % 64);
		uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

		ASSERT(!check_value(a, &why), "v=%llu: %s", (unsigned long long)a, why);
		ASSERT(hist_bucket(lo) <= hist_bucket(hi), "not monotonic: %llu -> %u, %llu -> %u",
		       (unsigned long long)lo, hist_bucket(lo), (unsigned long long)hi,
		       hist_bucket(hi));
	}
}

TEST_CASE(hist_buckets_are_contiguous_and_at_most_12_5_percent_wide)
{
	uint32_t b;

	ASSERT_EQ_U64(hist_bucket_lo(0), 0, "lo(0)");
	for (b = 0; b < HIST_BUCKETS; b++) {
		uint64_t lo = hist_bucket_lo(b), w = hist_bucket_width(b);

		ASSERT(w >= 1, "bucket %u has width 0", b);
		/* both edges map back to b: no value is claimed by two buckets */
		ASSERT_EQ_U64(hist_bucket(lo), b, "bucket(lo(b))");
		ASSERT_EQ_U64(hist_bucket(lo + (w - 1)), b, "bucket(lo(b) + width(b) - 1)");
		if (b + 1 < HIST_BUCKETS)
			ASSERT(hist_bucket_lo(b + 1) == lo + w,
			       "gap or overlap after bucket %u: lo=%llu width=%llu next lo=%llu", b,
			       (unsigned long long)lo, (unsigned long long)w,
			       (unsigned long long)hist_bucket_lo(b + 1));
		else
			ASSERT(lo + (w - 1) == UINT64_MAX,
			       "top bucket ends at %llu, not UINT64_MAX",
			       (unsigned long long)(lo + (w - 1)));
		/* width/lo <= 1/8, in integers to avoid rounding */
		if (lo >= 8)
			ASSERT(w <= lo / 8 && w * 8 <= lo, "bucket %u too wide: lo=%llu width=%llu",
			       b, (unsigned long long)lo, (unsigned long long)w);
	}
}

TEST_CASE(hist_log2_matches_naive_loop)
{
	uint64_t v;
	int e, i;

	for (v = 1; v <= 100000; v++)
		ASSERT_EQ_U64(hist_log2(v), naive_log2(v), "hist_log2 small v");
	for (e = 0; e < 64; e++) {
		uint64_t p = 1ULL << e;

		ASSERT_EQ_U64(hist_log2(p), e, "hist_log2(2^e)");
		ASSERT_EQ_U64(hist_log2(p | (p - 1)), e, "hist_log2(2^(e+1) - 1)");
		if (e > 0)
			ASSERT_EQ_U64(hist_log2(p - 1), e - 1, "hist_log2(2^e - 1)");
	}
	ASSERT_EQ_U64(hist_log2(UINT64_MAX), 63, "hist_log2(UINT64_MAX)");
	for (i = 0; i < 200000; i++) {
		uint64_t r = rnd64() >> (rnd64() % 64);

		if (!r)
			continue;
		ASSERT(hist_log2(r) == naive_log2(r), "hist_log2(%llu) = %u, want %u",
		       (unsigned long long)r, hist_log2(r), naive_log2(r));
	}
}
