/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Minimal unit-test helper. Each TEST prints "PASS name" or "FAIL name: why"
 * (tests/run.py counts these lines). Assertions return from the test on
 * failure, so one test stops at its first broken expectation.
 */
#ifndef LATSCOPE_TEST_H
#define LATSCOPE_TEST_H

#include <stdio.h>
#include <string.h>

extern int test_failed; /* set by ASSERT on failure in the current test */

#define ASSERT(cond, ...)                                                         \
	do {                                                                      \
		if (!(cond)) {                                                    \
			printf("FAIL %s: %s:%d: ", __func__, __FILE__, __LINE__); \
			printf(__VA_ARGS__);                                      \
			printf("\n");                                             \
			test_failed = 1;                                          \
			return;                                                   \
		}                                                                 \
	} while (0)

#define ASSERT_EQ_U64(a, b, what)                                                             \
	ASSERT((unsigned long long)(a) == (unsigned long long)(b), "%s: got %llu, want %llu", \
	       what, (unsigned long long)(a), (unsigned long long)(b))

/* one registry of test functions; each file adds with TEST_CASE */
typedef void (*test_fn)(void);
struct test_case {
	const char *name;
	test_fn fn;
};

#define TEST_CASE(fn)                                                                              \
	static void fn(void);                                                                      \
	static const struct test_case __tc_##fn                                                    \
		__attribute__((used, section("test_cases"), aligned(sizeof(void *)))) = {#fn, fn}; \
	static void fn(void)

#endif
