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
 *   rename NAME        set its comm to NAME (prctl PR_SET_NAME)
 *   futexwait N US     N FUTEX_WAIT calls that time out after US microseconds
 *   futexwake N        N FUTEX_WAKE calls (nobody waits: each returns 0)
 *   epoll MS           one epoll_wait(MS ms) on an empty set
 *   exit               exit 0 (so does EOF)
 * and answers each line with "done N" once it is done. Several commands on
 * one line, separated by ';', run back to back (no read in between).
 */
#include <linux/futex.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* one command; 0, 1 to exit, or an exit status + 2 */
static int run(char *cmd, long *n)
{
	long us = 0;

	while (*cmd == ' ')
		cmd++;
	cmd[strcspn(cmd, "\n")] = 0;
	if (sscanf(cmd, "getppid %ld", n) == 1 && *n >= 0) {
		for (long i = 0; i < *n; i++)
			syscall(SYS_getppid);
	} else if (sscanf(cmd, "sleep %ld %ld", n, &us) == 2 && *n >= 0 && us >= 0) {
		struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};

		for (long i = 0; i < *n; i++)
			syscall(SYS_nanosleep, &ts, NULL);
	} else if (sscanf(cmd, "futexwait %ld %ld", n, &us) == 2 && *n >= 0 && us >= 0) {
		static int word;
		struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};

		for (long i = 0; i < *n; i++)
			syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	} else if (sscanf(cmd, "futexwake %ld", n) == 1 && *n >= 0) {
		static int word;

		for (long i = 0; i < *n; i++)
			syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	} else if (sscanf(cmd, "epoll %ld", n) == 1 && *n >= 0) {
		struct epoll_event ev;
		int ep = epoll_create1(0);

		if (ep < 0) {
			perror("phases: epoll_create1");
			return 3;
		}
		syscall(SYS_epoll_wait, ep, &ev, 1, (int)*n);
		close(ep);
	} else if (!strncmp(cmd, "rename ", 7)) {
		if (prctl(PR_SET_NAME, cmd + 7, 0, 0, 0)) {
			perror("phases: prctl");
			return 3;
		}
	} else if (!strncmp(cmd, "exit", 4)) {
		return 1;
	} else {
		fprintf(stderr, "phases: unknown command: %s\n", cmd);
		return 4;
	}
	return 0;
}

int main(void)
{
	char line[512];

	printf("pid %d\n", getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		long n = 0;
		char *save = NULL;

		for (char *c = strtok_r(line, ";", &save); c; c = strtok_r(NULL, ";", &save)) {
			int r = run(c, &n);

			if (r == 1)
				return 0;
			if (r)
				return r - 2;
		}
		printf("done %ld\n", n);
		fflush(stdout);
	}
	return 0;
}
