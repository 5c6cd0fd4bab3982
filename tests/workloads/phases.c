// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Workload in phases chosen by the test, for ground truth that changes
 * mid-run (e.g. the process moved to another cgroup between two phases).
 *
 * usage: phases
 *
 * Prints "pid PID", then reads commands on stdin, one per line:
 *   getppid N          N getppid() calls through syscall(2)
 *   sleep N US         N nanosleep(US microseconds)
 *   exit               exit 0 (so does EOF)
 * and answers each command with one line "done N" once it is done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	char line[128];

	printf("pid %d\n", getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		long n = 0, us = 0;

		if (sscanf(line, "getppid %ld", &n) == 1 && n >= 0) {
			for (long i = 0; i < n; i++)
				syscall(SYS_getppid);
		} else if (sscanf(line, "sleep %ld %ld", &n, &us) == 2 && n >= 0 && us >= 0) {
			struct timespec ts = {.tv_sec = us / 1000000,
					      .tv_nsec = us % 1000000 * 1000};

			for (long i = 0; i < n; i++)
				syscall(SYS_nanosleep, &ts, NULL);
		} else if (!strncmp(line, "exit", 4)) {
			break;
		} else {
			fprintf(stderr, "phases: unknown command: %s", line);
			return 2;
		}
		printf("done %ld\n", n);
		fflush(stdout);
	}
	return 0;
}
