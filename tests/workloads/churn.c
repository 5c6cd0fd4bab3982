// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Process churn with known ground truth, for tests/e2e/test_bycomm.py.
 *
 * usage: churn NAME NPROC CALLS [JOBS]
 *
 * The parent renames itself NAME-p (so that none of its own syscalls run
 * under NAME), prints "pid PID" and waits for a line on stdin. Then it starts
 * NPROC short-lived child processes, at most JOBS (default 4) alive at a
 * time. Each child renames itself NAME with prctl(PR_SET_NAME), makes exactly
 * CALLS getppid() calls through syscall(2), checks that each returned the
 * parent's pid, and _exit()s: status 0 when all was as expected. Under comm
 * NAME the children make only prctl (its exit), CALLS getppid and exit_group
 * (which never returns), so exactly NPROC * CALLS getppid calls are made
 * under NAME.
 *
 * Children are processes of their own (own pid and thread group, SIGCHLD to
 * the parent) but share the parent's memory (clone with CLONE_VM, each on its
 * own stack): fork() costs about 2 ms per child in the test VM, against
 * 60 us for this, and a child only touches its stack. It runs no library
 * code but the prctl() and syscall() wrappers (errno, shared, is only
 * written on failure, and then the child's exit status says so anyway).
 *
 * Once every child has been reaped the parent prints one JSON line with the
 * ground truth, then waits for EOF or "exit" on stdin so that the harness
 * decides when its pid goes away. NAME must be 1 to 13 printable ASCII bytes
 * without quote or backslash, so that both NAME and NAME-p fit in a comm
 * (15 bytes) and differ, and NAME needs no escaping in JSON.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "stdin_line.h"
#include "args.h"

#define COMM_LEN	16
#define MAX_NAME_LEN	(COMM_LEN - 1 - 2) /* room for "-p" */
#define DEFAULT_JOBS	4
#define MAX_JOBS	64
#define STACK_SIZE	(64 * 1024)
#define CHILD_BAD_PRCTL 3
#define CHILD_BAD_PPID	4

#define parse_arg(s, what, min, max) arg_long("churn", s, what, min, max)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* NAME goes into the JSON line unescaped: printable ASCII only. */
static int name_printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

struct child_arg {
	const char *name;
	long calls;
	pid_t parent;
};

static int child(void *p)
{
	const struct child_arg *a = p;
	int bad = 0;
	long i;

	if (prctl(PR_SET_NAME, a->name, 0, 0, 0))
		_exit(CHILD_BAD_PRCTL);
	for (i = 0; i < a->calls; i++)
		if (syscall(SYS_getppid) != a->parent)
			bad = 1;
	_exit(bad ? CHILD_BAD_PPID : 0);
}

/*
 * Reap one child, count it in *ok or *failed and free its stack slot (the
 * slot whose pid it was). Returns -1 when there is no child to reap.
 */
static int reap(pid_t *slot_pid, long nslots, long *ok, long *failed)
{
	int status;
	pid_t pid;
	long i;

	do
		pid = waitpid(-1, &status, 0);
	while (pid < 0 && errno == EINTR);
	if (pid < 0)
		return -1;
	for (i = 0; i < nslots; i++)
		if (slot_pid[i] == pid)
			slot_pid[i] = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		(*ok)++;
	} else {
		if ((*failed)++ == 0)
			fprintf(stderr, "churn: child %d: %s %d\n", pid,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	return 0;
}

int main(int argc, char **argv)
{
	char pname[COMM_LEN], line[64];
	long nproc, calls, jobs = DEFAULT_JOBS, started = 0, running = 0, ok = 0, failed = 0;
	pid_t self, first = 0, last = 0, slot_pid[MAX_JOBS] = {0};
	char *stacks;
	struct child_arg arg;
	const char *name;
	double t0, elapsed;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: churn NAME NPROC CALLS [JOBS]\n");
		return 2;
	}
	name = argv[1];
	if (!*name || strlen(name) > MAX_NAME_LEN || strpbrk(name, "\"\\") ||
	    !name_printable(name)) {
		fprintf(stderr, "churn: bad NAME: '%s' (want 1..%d printable bytes, no quote)\n",
			name, MAX_NAME_LEN);
		return 2;
	}
	nproc = parse_arg(argv[2], "NPROC", 0, 1000000);
	calls = parse_arg(argv[3], "CALLS", 0, 1000000);
	if (argc == 5)
		jobs = parse_arg(argv[4], "JOBS", 1, MAX_JOBS);

	snprintf(pname, sizeof(pname), "%s-p", name);
	if (prctl(PR_SET_NAME, pname, 0, 0, 0)) {
		perror("churn: prctl(PR_SET_NAME)");
		return 1;
	}
	self = getpid();
	arg = (struct child_arg){.name = name, .calls = calls, .parent = self};
	/* one stack per job slot, stack growing down from the slot's end */
	stacks = mmap(NULL, jobs * STACK_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stacks == MAP_FAILED) {
		perror("churn: mmap");
		return 1;
	}
	printf("pid %d\n", self);
	fflush(stdout);

	if (read_line(line, sizeof(line)) <= 0) {
		fprintf(stderr, "churn: stdin closed before go\n");
		return 1;
	}

	t0 = now_s();
	while (started < nproc || running > 0) {
		while (started < nproc && running < jobs) {
			long i = 0;
			pid_t pid;

			while (slot_pid[i])
				i++;
			pid = clone(child, stacks + (i + 1) * STACK_SIZE, CLONE_VM | SIGCHLD, &arg);
			if (pid < 0) {
				perror("churn: clone");
				while (reap(slot_pid, jobs, &ok, &failed) == 0)
					;
				return 1;
			}
			slot_pid[i] = pid;
			if (!first)
				first = pid;
			last = pid;
			started++;
			running++;
		}
		if (reap(slot_pid, jobs, &ok, &failed)) {
			perror("churn: waitpid");
			return 1;
		}
		running--;
	}
	elapsed = now_s() - t0;

	printf("{\"pid\":%d,\"name\":\"%s\",\"parent_comm\":\"%s\",\"nproc\":%ld,\"calls\":%ld,"
	       "\"getppid\":%ld,\"jobs\":%ld,\"ok\":%ld,\"failed\":%ld,\"first_child\":%d,"
	       "\"last_child\":%d,\"elapsed_s\":%.3f}\n",
	       self, name, pname, nproc, calls, nproc * calls, jobs, ok, failed, first, last,
	       elapsed);
	fflush(stdout);

	while (read_line(line, sizeof(line)) > 0) {
		if (!strcmp(line, "exit\n") || !strcmp(line, "exit"))
			break;
	}
	return failed ? 1 : 0;
}
