// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Context-switch cost probe: two processes bounce one byte over a pair of
 * pipes N times; prints round trips per second. Both are pinned to the
 * same CPU (argument 2, default 0) so every round trip is two switches.
 * Usage: pingpong [N] [CPU]
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	int cpu = argc > 2 ? atoi(argv[2]) : 0, a[2], b[2];
	struct timespec t0, t1;
	char c = 0;
	pid_t child;

	if (n <= 0 || pipe(a) || pipe(b)) {
		fprintf(stderr, "pingpong: bad count or no pipes\n");
		return 2;
	}
	pin(cpu);
	child = fork();
	if (child == 0) {
		for (i = 0; i < n; i++)
			if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(child, NULL, 0);
	printf("%.0f\n", n / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
	return 0;
}
