// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Workload with known ground truth for the end-to-end tests.
 *
 * usage: syscalls N SLEEP_US M K
 *
 * Prints "pid PID", then blocks in one read() on stdin until the harness
 * writes a line: that read is in flight while the agent attaches, and the
 * agent must not report it with a bogus latency. Then it makes N
 * nanosleep(SLEEP_US), M openat() of a missing path (ENOENT) and K getppid()
 * calls, each through syscall(2) so that glibc cannot substitute another
 * syscall, prints one JSON line with what it measured, and waits for EOF or
 * "exit" on stdin so that the harness decides when the pid goes away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "stdin_line.h"
#include <limits.h>
#include "args.h"

#define parse_arg(s, what) arg_long("syscalls", s, what, 0, LONG_MAX)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long n, m, k, sleep_us, i;
	double *lat, total = 0, median = 0, p99 = 0;
	struct timespec req;
	char line[64];
	ssize_t r;

	if (argc != 5) {
		fprintf(stderr, "usage: syscalls N SLEEP_US M K\n");
		return 2;
	}
	n = parse_arg(argv[1], "N");
	sleep_us = parse_arg(argv[2], "SLEEP_US");
	m = parse_arg(argv[3], "M");
	k = parse_arg(argv[4], "K");
	lat = calloc(n ? n : 1, sizeof(*lat));
	if (!lat) {
		perror("syscalls: calloc");
		return 1;
	}

	printf("pid %d\n", getpid());
	fflush(stdout);

	/* exactly one read, in flight until the harness says go */
	r = read(0, line, sizeof(line));
	if (r <= 0) {
		fprintf(stderr, "syscalls: stdin closed before go\n");
		return 1;
	}

	req.tv_sec = sleep_us / 1000000;
	req.tv_nsec = sleep_us % 1000000 * 1000;
	for (i = 0; i < n; i++) {
		double t0 = now_us();

		if (syscall(SYS_nanosleep, &req, NULL)) {
			perror("syscalls: nanosleep");
			return 1;
		}
		lat[i] = now_us() - t0;
		total += lat[i];
	}
	for (i = 0; i < m; i++) {
		if (syscall(SYS_openat, AT_FDCWD, "/nonexistent/latscope-test", O_RDONLY) != -1 ||
		    errno != ENOENT) {
			fprintf(stderr, "syscalls: openat did not fail with ENOENT\n");
			return 1;
		}
	}
	for (i = 0; i < k; i++)
		syscall(SYS_getppid);

	if (n) {
		qsort(lat, n, sizeof(*lat), cmp_double);
		median = n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2;
		/* nearest rank: the ceil(0.99 n)-th smallest */
		p99 = lat[(99 * n + 99) / 100 - 1];
	}
	printf("{\"pid\":%d,\"nanosleep\":%ld,\"nanosleep_median_us\":%.3f,"
	       "\"nanosleep_min_us\":%.3f,\"nanosleep_max_us\":%.3f,"
	       "\"nanosleep_total_us\":%.3f,\"nanosleep_p99_us\":%.3f,\"openat\":%ld,"
	       "\"getppid\":%ld}\n",
	       getpid(), n, median, n ? lat[0] : 0, n ? lat[n - 1] : 0, total, p99, m, k);
	fflush(stdout);
	free(lat);

	while (read_line(line, sizeof(line)) > 0) {
		if (!strcmp(line, "exit\n") || !strcmp(line, "exit"))
			break;
	}
	return 0;
}
