// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Option parsing and human-readable formatting (user/util.c). */
#include <errno.h>
#include <stdint.h>
#include "test.h"
#include "util.h"

#define NS_PER_S 1000000000ULL

/* sentinel so tests can see that a failed parse left the output alone */
#define UNTOUCHED 0xdeadbeefULL

TEST_CASE(util_parse_duration_accepts_every_unit)
{
	static const struct {
		const char *s;
		uint64_t def, want;
	} ok[] = {
		{"250ns", NS_PER_S, 250},
		{"500us", NS_PER_S, 500000},
		{"500µs", NS_PER_S, 500000},
		{"10ms", NS_PER_S, 10000000},
		{"1s", 1, NS_PER_S},
		{"1.5s", 1, 1500000000},
		{".5s", 1, 500000000},
		{"2m", 1, 120 * NS_PER_S},
		{"0.25ms", 1, 250000},
		/* a bare number is in the caller's default unit */
		{"5", NS_PER_S, 5 * NS_PER_S},
		{"1.5", 1000000, 1500000},
		{"250", 1, 250},
		/* fractional nanoseconds round to nearest */
		{"1.4ns", 1, 1},
		{"1.6ns", 1, 2},
		/* one day is the documented upper bound, inclusive */
		{"86400s", 1, 86400 * NS_PER_S},
		{"1440m", 1, 86400 * NS_PER_S},
		{"2h", 1, 7200 * NS_PER_S},
		{"7d", 1, 7 * 86400 * NS_PER_S},
		{"1.5h", 1, 5400 * NS_PER_S},
		{"1ns", 1, 1},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t ns = UNTOUCHED;
		int err = parse_duration(ok[i].s, ok[i].def, &ns);

		ASSERT(err == 0, "\"%s\": returned %d, want 0", ok[i].s, err);
		ASSERT(ns == ok[i].want, "\"%s\": got %llu ns, want %llu", ok[i].s,
		       (unsigned long long)ns, (unsigned long long)ok[i].want);
	}
}

TEST_CASE(util_parse_duration_rejects_malformed_and_out_of_range)
{
	static const struct {
		const char *s;
		int want;
	} bad[] = {
		{"", -EINVAL},
		{"abc", -EINVAL},
		{"10xs", -EINVAL},
		{"10 ms", -EINVAL},
		{" 10ms", -EINVAL},
		{"10ms ", -EINVAL},
		{"10MS", -EINVAL},
		{"ms", -EINVAL},
		{".", -EINVAL},
		{"1..5s", -EINVAL},
		{"-1s", -EINVAL},
		{"+1s", -EINVAL},
		/* only digits and '.' before the suffix: no exponents, hex, inf, nan */
		{"1e3s", -EINVAL},
		{"1e3", -EINVAL},
		{"0x10ms", -EINVAL},
		{"inf", -EINVAL},
		{"infs", -EINVAL},
		{"nan", -EINVAL},
		/* well-formed but outside (0, 366 days] */
		{"0", -ERANGE},
		{"0s", -ERANGE},
		{"0.4ns", -ERANGE},
		{"31622401s", -ERANGE},
		{"367d", -ERANGE},
		{"8785h", -ERANGE},
		{"99999999999999999999s", -ERANGE},
		{"100000000000000000000000000000000000000000ns", -ERANGE},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t ns = UNTOUCHED;
		int err = parse_duration(bad[i].s, 1, &ns);

		ASSERT(err == bad[i].want, "\"%s\": returned %d, want %d", bad[i].s, err,
		       bad[i].want);
		ASSERT(ns == UNTOUCHED, "\"%s\": *ns changed on error", bad[i].s);
	}
	ASSERT(parse_duration(NULL, 1, &(uint64_t){0}) == -EINVAL, "NULL string");
}

/*
 * The header promises -ERANGE for any value outside (0, 1 day]; a decimal
 * with enough digits to overflow a double is such a value, not malformed.
 */
TEST_CASE(util_parse_duration_overflowing_double_is_erange)
{
	char big[400];
	uint64_t ns = UNTOUCHED;
	int err;

	memset(big, '9', sizeof(big) - 3);
	strcpy(big + sizeof(big) - 3, "s");
	err = parse_duration(big, 1, &ns);
	ASSERT(err == -ERANGE, "397 nines + \"s\": returned %d, want -ERANGE (%d)", err, -ERANGE);
	ASSERT(ns == UNTOUCHED, "*ns changed on error");
}

TEST_CASE(util_parse_uint)
{
	uint64_t v = UNTOUCHED;

	ASSERT(parse_uint("42", 100, &v) == 0 && v == 42, "\"42\": got %llu",
	       (unsigned long long)v);
	ASSERT(parse_uint("100", 100, &v) == 0 && v == 100, "max itself is allowed");
	ASSERT(parse_uint("18446744073709551615", UINT64_MAX, &v) == 0 && v == UINT64_MAX,
	       "UINT64_MAX");
	v = UNTOUCHED;
	ASSERT(parse_uint("101", 100, &v) == -ERANGE, "above max");
	ASSERT(parse_uint("18446744073709551616", UINT64_MAX, &v) == -ERANGE, "2^64 overflows");
	ASSERT(parse_uint("", 100, &v) == -EINVAL, "empty");
	ASSERT(parse_uint("abc", 100, &v) == -EINVAL, "letters");
	ASSERT(parse_uint("12abc", 100, &v) == -EINVAL, "trailing junk");
	ASSERT(parse_uint("12 ", 100, &v) == -EINVAL, "trailing space");
	ASSERT(parse_uint(" 12", 100, &v) == -EINVAL, "leading space");
	ASSERT(parse_uint("-1", 100, &v) == -EINVAL, "negative");
	ASSERT(parse_uint("+1", 100, &v) == -EINVAL, "plus sign");
	ASSERT(parse_uint("0x10", 100, &v) == -EINVAL, "hex");
	ASSERT(parse_uint("1.5", 100, &v) == -EINVAL, "fraction");
	ASSERT(parse_uint(NULL, 100, &v) == -EINVAL, "NULL");
	ASSERT(v == UNTOUCHED, "*out changed on error");
}

TEST_CASE(util_parse_pid_list)
{
	static const struct {
		const char *s;
		int want;
	} bad[] = {
		{"", -EINVAL},
		{"0", -EINVAL},
		{"1,0", -EINVAL},
		{"-1", -EINVAL},
		{"1,,2", -EINVAL},
		{"1,", -EINVAL},
		{",1", -EINVAL},
		{"abc", -EINVAL},
		{"1;2", -EINVAL},
		{"1, 2", -EINVAL},
		{"1 ,2", -EINVAL},
		{"4194305", -EINVAL},
		{"99999999999999999999999", -EINVAL},
		{"1,2,3,4,5", -E2BIG},
	};
	uint32_t pids[4] = {0};
	int i, n;

	n = parse_pid_list("1,2,3", pids, 4);
	ASSERT(n == 3, "\"1,2,3\": returned %d, want 3", n);
	ASSERT(pids[0] == 1 && pids[1] == 2 && pids[2] == 3, "\"1,2,3\": wrong pids");
	n = parse_pid_list("4194304", pids, 4);
	ASSERT(n == 1 && pids[0] == 4194304, "PID_MAX_LIMIT itself: returned %d", n);
	n = parse_pid_list("7,8,9,10", pids, 4);
	ASSERT(n == 4 && pids[3] == 10, "exactly cap pids: returned %d", n);

	for (i = 0; i < (int)ARRAY_SIZE(bad); i++) {
		n = parse_pid_list(bad[i].s, pids, 4);
		ASSERT(n == bad[i].want, "\"%s\": returned %d, want %d", bad[i].s, n, bad[i].want);
	}
	ASSERT(parse_pid_list(NULL, pids, 4) == -EINVAL, "NULL");

	/* never writes past cap */
	pids[1] = 77;
	ASSERT(parse_pid_list("5,6", pids, 1) == -E2BIG, "cap 1, two pids");
	ASSERT(pids[0] == 5 && pids[1] == 77, "wrote past cap");
}

static const char *dur(double ns)
{
	static char buf[32];

	return fmt_duration(ns, buf, sizeof(buf));
}

TEST_CASE(util_fmt_duration_three_significant_digits)
{
	static const struct {
		double ns;
		const char *want;
	} cases[] = {
		{0, "0ns"},	  {1, "1ns"},	     {850, "850ns"},	 {999, "999ns"},
		{1000, "1.00us"}, {1234, "1.23us"},  {12300, "12.3us"},	 {123456, "123us"},
		{1e6, "1.00ms"},  {4.5e6, "4.50ms"}, {45.6e6, "45.6ms"}, {456e6, "456ms"},
		{1.2e9, "1.20s"}, {12.5e9, "12.5s"}, {125e9, "125s"},	 {86400e9, "86400s"},
	};
	char small[4];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ASSERT(!strcmp(dur(cases[i].ns), cases[i].want), "%.1f ns: got \"%s\", want \"%s\"",
		       cases[i].ns, dur(cases[i].ns), cases[i].want);
	fmt_duration(4.5e6, small, sizeof(small));
	ASSERT(!strcmp(small, "4.5"), "truncated to a 4-byte buffer: got \"%s\"", small);
}

/*
 * Rounding must not push a value to 1000 of the smaller unit or to a fourth
 * digit: 999.6ns is "1.00us", not "1000ns". An SRE reading a column of
 * latencies compares by unit first.
 */
TEST_CASE(util_fmt_duration_rounds_across_unit_boundaries)
{
	static const struct {
		double ns;
		const char *want;
	} cases[] = {
		{999.6, "1.00us"},    {9999.6, "10.0us"},     {99999.9, "100us"},
		{999999.9, "1.00ms"}, {999999999.9, "1.00s"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ASSERT(!strcmp(dur(cases[i].ns), cases[i].want), "%.1f ns: got \"%s\", want \"%s\"",
		       cases[i].ns, dur(cases[i].ns), cases[i].want);
}

static const char *cnt(uint64_t n)
{
	static char buf[32];

	return fmt_count(n, buf, sizeof(buf));
}

TEST_CASE(util_fmt_count_small_and_huge)
{
	ASSERT(!strcmp(cnt(0), "0"), "0: got \"%s\"", cnt(0));
	ASSERT(!strcmp(cnt(7), "7"), "7: got \"%s\"", cnt(7));
	ASSERT(!strcmp(cnt(999), "999"), "999: got \"%s\"", cnt(999));
	ASSERT(!strcmp(cnt(12300000000ULL), "12.3G"), "12.3e9: got \"%s\"", cnt(12300000000ULL));
}

/* counts stay exact up to 99999 (a COUNT column is 8 wide), then scale
 * with one decimal and the unit chosen after rounding */
TEST_CASE(util_fmt_count_scales_above_99999)
{
	ASSERT(!strcmp(cnt(99999), "99999"), "99999: got \"%s\"", cnt(99999));
	ASSERT(!strcmp(cnt(100000), "100.0k"), "100000: got \"%s\"", cnt(100000));
	ASSERT(!strcmp(cnt(123456), "123.5k"), "123456: got \"%s\"", cnt(123456));
	ASSERT(!strcmp(cnt(999999), "1.0M"), "999999: got \"%s\", want \"1.0M\"", cnt(999999));
	ASSERT(!strcmp(cnt(4500000), "4.5M"), "4500000: got \"%s\", want \"4.5M\"", cnt(4500000));
	ASSERT(!strcmp(cnt(9999999), "10.0M"), "9999999: got \"%s\", want \"10.0M\"", cnt(9999999));
	ASSERT(!strcmp(cnt(999999999), "1.0G"), "999999999: got \"%s\"", cnt(999999999));
}

TEST_CASE(util_fmt_rfc3339_known_instants)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{1700000000ULL * NS_PER_S + 123456789, "2023-11-14T22:13:20.123Z"},
		/* leap day, and milliseconds truncate rather than round up */
		{951782400ULL * NS_PER_S + 999999999, "2000-02-29T00:00:00.999Z"},
		/* past the 32-bit time_t limit */
		{2147483648ULL * NS_PER_S, "2038-01-19T03:14:08.000Z"},
		{4102444799ULL * NS_PER_S + 1000000, "2099-12-31T23:59:59.001Z"},
	};
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		fmt_rfc3339(cases[i].ns, buf, sizeof(buf));
		ASSERT(!strcmp(buf, cases[i].want), "%llu: got \"%s\", want \"%s\"",
		       (unsigned long long)cases[i].ns, buf, cases[i].want);
	}
}

TEST_CASE(util_counter_delta_tolerates_reset)
{
	ASSERT_EQ_U64(counter_delta(5, 10), 5, "growth");
	ASSERT_EQ_U64(counter_delta(10, 10), 0, "no change");
	ASSERT_EQ_U64(counter_delta(0, 7), 7, "from zero");
	/* the key restarted: everything it holds is new since the reset */
	ASSERT_EQ_U64(counter_delta(10, 3), 3, "reset");
	ASSERT_EQ_U64(counter_delta(UINT64_MAX - 1, 1), 1, "reset near the top");
	ASSERT_EQ_U64(counter_delta(1, UINT64_MAX), UINT64_MAX - 1, "full range growth");
}
