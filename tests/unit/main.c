// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Runs every TEST_CASE linked in; exit status 1 when any failed. */
#include <stdlib.h>
#include "test.h"

int test_failed;

extern const struct test_case __start_test_cases[];
extern const struct test_case __stop_test_cases[];

int main(int argc, char **argv)
{
	const struct test_case *t;
	int failed = 0;

	for (t = __start_test_cases; t < __stop_test_cases; t++) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		test_failed = 0;
		t->fn();
		if (test_failed)
			failed++;
		else
			printf("PASS %s\n", t->name);
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
