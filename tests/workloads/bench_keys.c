// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Key-cardinality load for scripts/bench.sh: NPROC processes, each making
 * NSYS-1 different cheap syscalls plus one nanosleep(PERIOD_MS) per round,
 * so that NPROC x NSYS distinct (pid, syscall) keys stay live every
 * interval (defaults 100 x 50 = 5,000) at a low syscall rate.
 * Usage: bench_keys [NPROC] [NSYS] [PERIOD_MS]
 *
 * Every syscall is issued through syscall(2) so glibc or the vDSO cannot
 * substitute or skip it; the arguments make each one harmless (queries,
 * or a bad fd / missing path that fails at once).
 * Prints "ready NPROC NSYS" once all processes run, then waits for EOF or
 * "exit" on stdin; the processes also die with the parent (PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* scratch space big enough for any struct the queries below fill in */
static union {
	char bytes[4096];
	long align;
} buf;

#define B ((void *)buf.bytes)

static void cheap_syscall(int i)
{
	switch (i) {
	case 0: syscall(SYS_getpid); break;
	case 1: syscall(SYS_getppid); break;
	case 2: syscall(SYS_gettid); break;
	case 3: syscall(SYS_getuid); break;
	case 4: syscall(SYS_geteuid); break;
	case 5: syscall(SYS_getgid); break;
	case 6: syscall(SYS_getegid); break;
	case 7: syscall(SYS_getpgrp); break;
	case 8: syscall(SYS_getsid, 0); break;
	case 9: syscall(SYS_getpgid, 0); break;
	case 10: syscall(SYS_getpriority, PRIO_PROCESS, 0); break;
	case 11: syscall(SYS_sched_yield); break;
	case 12: syscall(SYS_sched_getscheduler, 0); break;
	case 13: syscall(SYS_sched_getparam, 0, B); break;
	case 14: syscall(SYS_sched_get_priority_max, SCHED_OTHER); break;
	case 15: syscall(SYS_sched_get_priority_min, SCHED_OTHER); break;
	case 16: syscall(SYS_sched_getaffinity, 0, 128, B); break;
	case 17: syscall(SYS_umask, 022); break;
	case 18: syscall(SYS_getcwd, B, sizeof(buf)); break;
	case 19: syscall(SYS_uname, B); break;
	case 20: syscall(SYS_sysinfo, B); break;
	case 21: syscall(SYS_times, B); break;
	case 22: syscall(SYS_time, NULL); break;
	case 23: syscall(SYS_gettimeofday, B, NULL); break;
	case 24: syscall(SYS_clock_gettime, CLOCK_MONOTONIC, B); break;
	case 25: syscall(SYS_clock_getres, CLOCK_MONOTONIC, B); break;
	case 26: syscall(SYS_getrlimit, RLIMIT_NOFILE, B); break;
	case 27: syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, B); break;
	case 28: syscall(SYS_getrusage, RUSAGE_SELF, B); break;
	case 29: syscall(SYS_getgroups, 0, NULL); break;
	case 30: syscall(SYS_getresuid, B, B + 8, B + 16); break;
	case 31: syscall(SYS_getresgid, B, B + 8, B + 16); break;
	case 32: syscall(SYS_personality, 0xffffffffUL); break;
	case 33: syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0); break;
	case 34: syscall(SYS_sigaltstack, NULL, B); break;
	case 35: syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, B, 8); break;
	case 36: syscall(SYS_rt_sigpending, B, 8); break;
	case 37: syscall(SYS_rt_sigaction, SIGUSR1, NULL, B, 8); break;
	case 38: syscall(SYS_close, -1); break;
	case 39: syscall(SYS_dup, -1); break;
	case 40: syscall(SYS_fcntl, -1, F_GETFD); break;
	case 41: syscall(SYS_read, -1, B, 1); break;
	case 42: syscall(SYS_write, -1, B, 1); break;
	case 43: syscall(SYS_lseek, -1, 0, SEEK_CUR); break;
	case 44: syscall(SYS_fstat, -1, B); break;
	case 45: syscall(SYS_fsync, -1); break;
	case 46: syscall(SYS_ioctl, -1, 0); break;
	case 47: syscall(SYS_access, "/nonexistent/latscope-bench", F_OK); break;
	case 48: syscall(SYS_newfstatat, AT_FDCWD, "/", B, 0); break;
	case 49: syscall(SYS_getitimer, ITIMER_REAL, B); break;
	case 50: syscall(SYS_getrandom, B, 8, GRND_NONBLOCK); break;
	case 51: syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0); break;
	case 52: syscall(SYS_getcpu, B, B + 8, NULL); break;
	case 53: syscall(SYS_sched_rr_get_interval, 0, B); break;
	case 54: syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0); break;
	case 55: syscall(SYS_flock, -1, LOCK_SH); break;
	case 56: syscall(SYS_fdatasync, -1); break;
	case 57: syscall(SYS_ftruncate, -1, 0); break;
	case 58: syscall(SYS_fchdir, -1); break;
	case 59: syscall(SYS_kill, getpid(), 0); break;
	case 60: syscall(SYS_wait4, -1, NULL, WNOHANG, NULL); break;
	case 61: syscall(SYS_statfs, "/", B); break;
	case 62: syscall(SYS_pread64, -1, B, 1, 0); break;
	}
}

#define MAX_SYS 64 /* 63 cheap syscalls + nanosleep */

static void child(int nsys, long period_ms)
{
	struct timespec ts = {period_ms / 1000, period_ms % 1000 * 1000000L};

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0); /* the parent is already gone */
	for (;;) {
		for (int i = 0; i < nsys - 1; i++)
			cheap_syscall(i);
		syscall(SYS_nanosleep, &ts, NULL);
	}
}

int main(int argc, char **argv)
{
	int nproc = argc > 1 ? atoi(argv[1]) : 100, nsys = argc > 2 ? atoi(argv[2]) : 50;
	long period_ms = argc > 3 ? atol(argv[3]) : 100;
	pid_t *pids;
	char line[64];

	if (nproc <= 0 || nproc > 10000 || nsys < 1 || nsys > MAX_SYS || period_ms <= 0) {
		fprintf(stderr, "usage: bench_keys [NPROC<=10000] [NSYS 1..%d] [PERIOD_MS>0]\n",
			MAX_SYS);
		return 2;
	}
	pids = calloc(nproc, sizeof(*pids));
	if (!pids)
		return 1;
	for (int i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("bench_keys: fork");
			nproc = i;
			break;
		}
		if (pids[i] == 0)
			child(nsys, period_ms);
	}
	printf("ready %d %d\n", nproc, nsys);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) && strcmp(line, "exit\n"))
		;
	for (int i = 0; i < nproc; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < nproc; i++)
		waitpid(pids[i], NULL, 0);
	return 0;
}
