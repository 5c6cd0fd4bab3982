/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the workloads share: parsing their numeric arguments. */
#ifndef LATSCOPE_WORKLOAD_ARGS_H
#define LATSCOPE_WORKLOAD_ARGS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* s as a decimal in [min, max]; else one line naming prog and what, exit 2 */
static long arg_long(const char *prog, const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: bad %s: %s (want %ld..%ld)\n", prog, what, s, min, max);
		exit(2);
	}
	return v;
}

#endif
