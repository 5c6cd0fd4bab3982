// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Scheduler workloads with known ground truth, for tests/e2e/test_sched.py.
 *
 *   sched spin T SECONDS CPU    T threads pinned to CPU spin for SECONDS;
 *                               reports each thread's schedstat (on-CPU ns,
 *                               run-queue ns) over its whole life
 *   sched sleep N MS            the main thread does N sleeps of MS ms;
 *                               reports the wall time they took
 *   sched culprit SECONDS CPU   a victim thread and a child process named
 *                               "ls-hog" both spin on CPU for SECONDS
 *   sched storm N               N short-lived threads, 50 at a time
 *
 * Protocol: prints "pid N", waits for a line on stdin, runs, prints one JSON
 * line, then waits for EOF or "exit" so the harness decides when it ends.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static void spin_until(double end)
{
	while (now_s() < end)
		;
}

static void wait_line(void)
{
	char buf[64];

	if (!fgets(buf, sizeof(buf), stdin))
		return;
}

struct spinner {
	pthread_t th;
	pid_t tid;
	int cpu;
	double seconds;
	unsigned long long run_ns, wait_ns;
	pthread_barrier_t *done;
};

static void *spin_thread(void *arg)
{
	struct spinner *s = arg;

	s->tid = (pid_t)syscall(SYS_gettid);
	pin(s->cpu);
	spin_until(now_s() + s->seconds);
	/* park here while main reads our schedstat, then exit */
	pthread_barrier_wait(s->done);
	pthread_barrier_wait(s->done);
	return NULL;
}

static int read_schedstat(pid_t tid, unsigned long long *run, unsigned long long *wait)
{
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", run, wait);
	fclose(f);
	return n == 2 ? 0 : -1;
}

static int do_spin(int n, double seconds, int cpu)
{
	struct spinner s[MAX_THREADS];
	pthread_barrier_t done;
	int i;

	pthread_barrier_init(&done, NULL, n + 1);
	for (i = 0; i < n; i++) {
		s[i] = (struct spinner){.cpu = cpu, .seconds = seconds, .done = &done};
		pthread_create(&s[i].th, NULL, spin_thread, &s[i]);
	}
	pthread_barrier_wait(&done); /* all have spun and are blocked */
	for (i = 0; i < n; i++)
		if (read_schedstat(s[i].tid, &s[i].run_ns, &s[i].wait_ns)) {
			fprintf(stderr, "cannot read schedstat of %d\n", s[i].tid);
			return 1;
		}
	printf("{\"mode\":\"spin\",\"pid\":%d,\"threads\":[", getpid());
	for (i = 0; i < n; i++)
		printf("%s{\"tid\":%d,\"run_ns\":%llu,\"wait_ns\":%llu}", i ? "," : "", s[i].tid,
		       s[i].run_ns, s[i].wait_ns);
	printf("]}\n");
	fflush(stdout);
	pthread_barrier_wait(&done);
	for (i = 0; i < n; i++)
		pthread_join(s[i].th, NULL);
	return 0;
}

static int do_sleep(int n, int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	double t0 = now_s();
	int i;

	for (i = 0; i < n; i++)
		syscall(SYS_nanosleep, &ts, NULL);
	printf("{\"mode\":\"sleep\",\"pid\":%d,\"tid\":%d,\"wall_ns\":%.0f}\n", getpid(),
	       (int)syscall(SYS_gettid), (now_s() - t0) * 1e9);
	fflush(stdout);
	return 0;
}

static int do_culprit(double seconds, int cpu)
{
	struct spinner victim = {.cpu = cpu, .seconds = seconds};
	pthread_barrier_t done;
	pid_t hog;

	hog = fork();
	if (hog < 0) {
		perror("fork");
		return 1;
	}
	if (hog == 0) {
		prctl(PR_SET_NAME, "ls-hog");
		pin(cpu);
		spin_until(now_s() + seconds);
		_exit(0);
	}
	pthread_barrier_init(&done, NULL, 2);
	victim.done = &done;
	pthread_create(&victim.th, NULL, spin_thread, &victim);
	pthread_barrier_wait(&done);
	read_schedstat(victim.tid, &victim.run_ns, &victim.wait_ns);
	waitpid(hog, NULL, 0);
	printf("{\"mode\":\"culprit\",\"pid\":%d,\"tid\":%d,\"hog\":%d,\"run_ns\":%llu,\"wait_ns\":"
	       "%llu}\n",
	       getpid(), victim.tid, hog, victim.run_ns, victim.wait_ns);
	fflush(stdout);
	pthread_barrier_wait(&done);
	pthread_join(victim.th, NULL);
	return 0;
}

static void *noop_thread(void *arg)
{
	return arg;
}

static int do_storm(int n)
{
	pthread_t th[50];
	int made = 0;

	while (made < n) {
		int batch = n - made < 50 ? n - made : 50, i;

		for (i = 0; i < batch; i++)
			if (pthread_create(&th[i], NULL, noop_thread, NULL)) {
				fprintf(stderr, "pthread_create failed\n");
				return 1;
			}
		for (i = 0; i < batch; i++)
			pthread_join(th[i], NULL);
		made += batch;
	}
	printf("{\"mode\":\"storm\",\"pid\":%d,\"threads\":%d}\n", getpid(), made);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int err;

	printf("pid %d\n", getpid());
	fflush(stdout);
	if (!strcmp(mode, "spin") && argc == 5) {
		int n = atoi(argv[2]);

		if (n < 1 || n > MAX_THREADS)
			return 2;
		wait_line();
		err = do_spin(n, atof(argv[3]), atoi(argv[4]));
	} else if (!strcmp(mode, "sleep") && argc == 4) {
		wait_line();
		err = do_sleep(atoi(argv[2]), atoi(argv[3]));
	} else if (!strcmp(mode, "culprit") && argc == 4) {
		wait_line();
		err = do_culprit(atof(argv[2]), atoi(argv[3]));
	} else if (!strcmp(mode, "storm") && argc == 3) {
		wait_line();
		err = do_storm(atoi(argv[2]));
	} else {
		fprintf(stderr, "usage: sched spin T SECONDS CPU | sleep N MS | culprit SECONDS "
				"CPU | storm N\n");
		return 2;
	}
	if (err)
		return err;
	wait_line();
	return 0;
}
