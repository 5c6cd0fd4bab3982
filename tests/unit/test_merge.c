// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Per-CPU merge and interval deltas: what turns map reads into counts. */
#include "stats.h"
#include "test.h"
#include "util.h"

TEST_CASE(merge_percpu_adds_counts_and_keeps_largest_max)
{
	struct sys_val v[4] = {
		{.count = 3, .sum_ns = 300, .max_ns = 150},
		{.count = 0, .sum_ns = 0, .max_ns = 0},
		{.count = 7, .sum_ns = 7000, .max_ns = 2000},
		{.count = 1, .sum_ns = 90, .max_ns = 90},
	};
	struct sys_val out;

	sys_val_merge(v, 4, &out);
	ASSERT_EQ_U64(out.count, 11, "count");
	ASSERT_EQ_U64(out.sum_ns, 7390, "sum");
	ASSERT_EQ_U64(out.max_ns, 2000, "max");
	sys_val_merge(v, 1, &out);
	ASSERT_EQ_U64(out.count, 3, "count of one CPU");
	sys_val_merge(v, 0, &out);
	ASSERT_EQ_U64(out.count, 0, "no CPUs");
}

TEST_CASE(percpu_sum_adds_every_cpu)
{
	uint64_t v[3] = {5, 0, 1ULL << 40};

	ASSERT_EQ_U64(percpu_sum(v, 3), (1ULL << 40) + 5, "sum");
	ASSERT_EQ_U64(percpu_sum(v, 2), 5, "first two");
}

/* a sequence of cumulative reads, as successive intervals see them */
TEST_CASE(interval_deltas_sum_to_the_final_cumulative_value)
{
	uint64_t reads[] = {0, 10, 10, 250, 1000, 1000, 1001};
	uint64_t prev = 0, total = 0;

	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		total += counter_delta(prev, reads[i]);
		prev = reads[i];
	}
	ASSERT_EQ_U64(total, 1001, "sum of deltas");
}

TEST_CASE(interval_delta_after_counter_reset_counts_from_zero)
{
	/* the key was deleted (idle expiry) and re-created: the new
	 * cumulative value is all new */
	ASSERT_EQ_U64(counter_delta(500, 7), 7, "reset");
	ASSERT_EQ_U64(counter_delta(500, 0), 0, "reset to zero");
	ASSERT_EQ_U64(counter_delta(500, 500), 0, "unchanged");
	ASSERT_EQ_U64(counter_delta(UINT64_MAX - 1, UINT64_MAX), 1, "near the top");
}

TEST_CASE(merge_octave_values_adds_each_sub_bucket_and_keeps_largest_max)
{
	struct oct_val v[3] = {};
	struct oct_val out;

	v[0].count[0] = 2;
	v[0].count[7] = 1;
	v[0].sum_ns = 3000;
	v[0].max_ns = 1900;
	v[2].count[7] = 4;
	v[2].count[3] = 1;
	v[2].sum_ns = 9000;
	v[2].max_ns = 1950;
	oct_val_merge(v, 3, &out);
	ASSERT_EQ_U64(out.count[0], 2, "sub-bucket 0");
	ASSERT_EQ_U64(out.count[3], 1, "sub-bucket 3");
	ASSERT_EQ_U64(out.count[7], 5, "sub-bucket 7");
	ASSERT_EQ_U64(out.count[1] + out.count[2] + out.count[4] + out.count[5] + out.count[6], 0,
		      "untouched sub-buckets");
	ASSERT_EQ_U64(out.sum_ns, 12000, "sum");
	ASSERT_EQ_U64(out.max_ns, 1950, "max");
}
