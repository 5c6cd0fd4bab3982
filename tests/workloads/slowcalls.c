// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Slow syscalls with known ground truth, for tests/e2e/test_slow.py.
 *
 *   slowcalls pipe N DELAY_MS [COMM]   a reader thread pinned on CPU 0 reads a
 *                                      pipe N times; a writer pinned on CPU 1
 *                                      writes DELAY_MS after the reader went
 *                                      in; COMM renames every thread first
 *   slowcalls runq N SLEEP_MS CPU HOGS HOGS spinning threads and a sleeper,
 *                                      all pinned on CPU; the sleeper does N
 *                                      clock_nanosleep(SLEEP_MS) and reads its
 *                                      schedstat run_delay around each one;
 *                                      it is SCHED_BATCH (see do_runq)
 *   slowcalls oncpu MIB [CPU HOGS]     one read() of MIB MiB from /dev/zero,
 *                                      with schedstat around it; given CPU,
 *                                      pinned there beside HOGS spinners
 *   slowcalls reads N MIB              N such reads, schedstat around each
 *   slowcalls preempt MIB CPU SPIN_MS HOG_MS   pinned on CPU, spins SPIN_MS,
 *                                      then the read of oncpu; a hog on CPU
 *                                      wakes HOG_MS after the spin began
 *   slowcalls futex HOLD_MS TIMEOUT_MS an owner (CPU 1) holds a mutex for
 *                                      HOLD_MS; a waiter (CPU 0) first times
 *                                      out after TIMEOUT_MS, then waits
 *   slowcalls timerfd N MS CPU         a hog and a reader pinned on CPU; the
 *                                      reader reads a timerfd armed for MS ms,
 *                                      N times
 *   slowcalls epoll MS                 one epoll_wait(MS) on an empty set
 *   slowcalls flood N                  N getppid() calls
 *   slowcalls floodfor SECONDS         getppid() in a loop for SECONDS
 *   slowcalls files PATH...            open and read() each file once (kept
 *                                      open, so each has its own fd)
 *   slowcalls tcpserve PORT DELAY_MS   serves connections one at a time: reads
 *                                      a request, answers DELAY_MS later
 *   slowcalls tcpclient ADDR PORT      connects, sends a request, blocks in
 *                                      read() until the answer comes
 *
 * Protocol: prints "pid N", waits for a line on stdin (tcpserve: prints
 * "listening" and serves at once), runs, prints one JSON line with what it
 * measured, then waits for EOF or "exit" on stdin so that the harness decides
 * when it ends. Every call the tests look for is made through syscall(2) or
 * a plain libc wrapper that is one syscall, so glibc cannot substitute one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "stdin_line.h"
#include <limits.h>
#include "args.h"

#define MAX_ROUNDS 64

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("slowcalls: sched_setaffinity");
		exit(1);
	}
}

static void sleep_us(double us)
{
	struct timespec ts = {.tv_sec = (time_t)(us / 1e6),
			      .tv_nsec = (long)((us - (time_t)(us / 1e6) * 1e6) * 1e3)};

	/* nanosleep, not clock_nanosleep: runq traces only its own clock_nanosleep calls */
	while (syscall(SYS_nanosleep, &ts, &ts) && errno == EINTR)
		;
}

#define parse_arg(s, what) arg_long("slowcalls", s, what, 0, LONG_MAX)

static void wait_go(void)
{
	char line[64];

	read_line(line, sizeof(line));
}

/* on-CPU and run-queue ns of this thread from the fd of its schedstat: one pread */
static void schedstat(int fd, unsigned long long *run, unsigned long long *wait)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0) {
		perror("slowcalls: pread schedstat");
		exit(1);
	}
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", run, wait) != 2) {
		fprintf(stderr, "slowcalls: bad schedstat '%s'\n", buf);
		exit(1);
	}
}

static unsigned long long run_delay(int fd)
{
	unsigned long long run, wait;

	schedstat(fd, &run, &wait);
	return wait;
}

static int open_schedstat(void)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", gettid_());
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror("slowcalls: open schedstat");
		exit(1);
	}
	return fd;
}

/* --- pipe: a blocked read woken by a writer on the other CPU ------------- */

struct pipe_run {
	int fds[2], rounds;
	double delay_us;
	pid_t reader, writer;
	pthread_barrier_t start;
	double read0[MAX_ROUNDS], read1[MAX_ROUNDS], written[MAX_ROUNDS];
	long ret[MAX_ROUNDS];
};

static void *pipe_reader(void *arg)
{
	struct pipe_run *p = arg;
	char c;
	int i;

	pin(0);
	p->reader = gettid_();
	for (i = 0; i < p->rounds; i++) {
		pthread_barrier_wait(&p->start);
		p->read0[i] = now_us();
		p->ret[i] = read(p->fds[0], &c, 1);
		p->read1[i] = now_us();
	}
	return NULL;
}

static void *pipe_writer(void *arg)
{
	struct pipe_run *p = arg;
	int i;

	pin(1);
	p->writer = gettid_();
	for (i = 0; i < p->rounds; i++) {
		pthread_barrier_wait(&p->start);
		/* the reader goes in just after the barrier */
		sleep_us(p->delay_us);
		p->written[i] = now_us();
		if (write(p->fds[1], "x", 1) != 1) {
			perror("slowcalls: write");
			exit(1);
		}
	}
	return NULL;
}

static int do_pipe(int rounds, int delay_ms, const char *comm)
{
	struct pipe_run p = {.rounds = rounds, .delay_us = delay_ms * 1e3};
	pthread_t r, w;
	int i;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		return 2;
	if (comm)
		prctl(PR_SET_NAME, comm); /* threads inherit it */
	if (pipe(p.fds)) {
		perror("slowcalls: pipe");
		return 1;
	}
	pthread_barrier_init(&p.start, NULL, 2);
	wait_go();
	pthread_create(&r, NULL, pipe_reader, &p);
	pthread_create(&w, NULL, pipe_writer, &p);
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	printf("{\"mode\":\"pipe\",\"pid\":%d,\"reader\":%d,\"writer\":%d,\"fd\":%d,\"rounds\":[",
	       getpid(), p.reader, p.writer, p.fds[0]);
	/* blocked_us: from the reader going in to the writer's write */
	for (i = 0; i < rounds; i++)
		printf("%s{\"ret\":%ld,\"lat_us\":%.1f,\"blocked_us\":%.1f}", i ? "," : "",
		       p.ret[i], p.read1[i] - p.read0[i], p.written[i] - p.read0[i]);
	printf("]}\n");
	fflush(stdout);
	return 0;
}

/* --- runq: a sleeper woken onto a CPU two hogs keep busy ----------------- */

static atomic_int stop_hogs;
static atomic_int hog_tids[8];
static double hog_delay_us; /* a hog sleeps this long before it spins */

static void *hog(void *arg)
{
	long i = (long)arg;

	prctl(PR_SET_NAME, "ls-hog");
	pin((int)(i >> 8));
	atomic_store(&hog_tids[i & 0xff], gettid_());
	if (hog_delay_us > 0)
		sleep_us(hog_delay_us);
	while (!atomic_load_explicit(&stop_hogs, memory_order_relaxed))
		;
	return NULL;
}

static int start_hogs(pthread_t *th, int n, int cpu)
{
	long i;

	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, hog, (void *)(((long)cpu << 8) | i)))
			return -1;
	for (i = 0; i < n; i++)
		while (!atomic_load(&hog_tids[i]))
			sched_yield();
	return 0;
}

static void stop_all_hogs(pthread_t *th, int n)
{
	int i;

	atomic_store(&stop_hogs, 1);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static void print_hogs(int n)
{
	int i;

	printf("\"hogs\":[");
	for (i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", atomic_load(&hog_tids[i]));
	printf("]");
}

static int do_runq(int rounds, int sleep_ms, int cpu, int nhogs)
{
	struct timespec ts = {.tv_sec = sleep_ms / 1000, .tv_nsec = (sleep_ms % 1000) * 1000000L};
	unsigned long long before[MAX_ROUNDS], after[MAX_ROUNDS];
	double lat[MAX_ROUNDS], outside[MAX_ROUNDS];
	pthread_t th[8];
	int fd, i;

	if (rounds < 1 || rounds > MAX_ROUNDS || nhogs < 0 || nhogs > 8)
		return 2;
	fd = open_schedstat();
	wait_go();
	pin(cpu);
	/*
	 * SCHED_BATCH never preempts on wakeup: woken, the sleeper waits in the
	 * run queue until a hog's slice ends at a tick. A SCHED_OTHER sleeper
	 * would preempt at once, and the kernel would not even advance its rq
	 * clock for that wait (schedstat run_delay 0).
	 */
	if (sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){0})) {
		perror("slowcalls: sched_setscheduler");
		return 1;
	}
	if (start_hogs(th, nhogs, cpu))
		return 1;
	sleep_us(50000); /* the hogs settle on the CPU */
	for (i = 0; i < rounds; i++) {
		double ta, t0, t1;

		ta = now_us();
		before[i] = run_delay(fd);
		t0 = now_us();
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
		t1 = now_us();
		after[i] = run_delay(fd);
		lat[i] = t1 - t0;
		/* time around the call: a preemption there is in the delta too */
		outside[i] = (t0 - ta) + (now_us() - t1);
	}
	stop_all_hogs(th, nhogs);
	printf("{\"mode\":\"runq\",\"pid\":%d,\"tid\":%d,", getpid(), gettid_());
	print_hogs(nhogs);
	printf(",\"rounds\":[");
	for (i = 0; i < rounds; i++)
		printf("%s{\"lat_us\":%.1f,\"run_delay_us\":%.3f,\"outside_us\":%.1f}",
		       i ? "," : "", lat[i], (after[i] - before[i]) / 1e3, outside[i]);
	printf("]}\n");
	fflush(stdout);
	return 0;
}

/* --- oncpu: a read that never leaves the CPU ----------------------------- */

/* /dev/zero for the on-CPU reads */
static int open_zero(void)
{
	int fd = open("/dev/zero", O_RDONLY);

	if (fd < 0)
		perror("slowcalls: open /dev/zero");
	return fd;
}

static int do_oncpu(long mib, int cpu, int nhogs)
{
	size_t len = (size_t)mib << 20;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long long run0, wait0, run1, wait1;
	double t0, t1;
	pthread_t th[8];
	int fd, sfd;
	ssize_t r;

	if (nhogs > 8)
		return 2;
	if (buf == MAP_FAILED) {
		perror("slowcalls: mmap");
		return 1;
	}
	memset(buf, 1, len); /* no page faults inside the read */
	fd = open_zero();
	if (fd < 0)
		return 1;
	sfd = open_schedstat();
	wait_go();
	if (cpu >= 0) {
		pin(cpu);
		if (start_hogs(th, nhogs, cpu))
			return 1;
		sleep_us(20000); /* the hogs settle on the CPU */
	}
	schedstat(sfd, &run0, &wait0);
	t0 = now_us();
	r = read(fd, buf, len);
	t1 = now_us();
	schedstat(sfd, &run1, &wait1);
	if (cpu >= 0)
		stop_all_hogs(th, nhogs);
	printf("{\"mode\":\"oncpu\",\"pid\":%d,\"tid\":%d,\"fd\":%d,\"ret\":%zd,\"lat_us\":%.1f,"
	       "\"run_us\":%.1f,\"run_delay_us\":%.1f,",
	       getpid(), gettid_(), fd, r, t1 - t0, (run1 - run0) / 1e3, (wait1 - wait0) / 1e3);
	print_hogs(cpu >= 0 ? nhogs : 0);
	printf("}\n");
	fflush(stdout);
	return 0;
}

/*
 * N reads of MIB MiB each from /dev/zero, each with the thread's schedstat
 * (on-CPU and run-queue ns) right before and after it; unpinned, for a test
 * that loads the machine with other processes.
 */
static int do_reads(int n, long mib)
{
	size_t len = (size_t)mib << 20;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long long run0[MAX_ROUNDS], wait0[MAX_ROUNDS], run1[MAX_ROUNDS], wait1[MAX_ROUNDS];
	double lat[MAX_ROUNDS], outside[MAX_ROUNDS];
	int fd, sfd, i;

	if (n < 1 || n > MAX_ROUNDS)
		return 2;
	if (buf == MAP_FAILED) {
		perror("slowcalls: mmap");
		return 1;
	}
	fd = open_zero();
	if (fd < 0)
		return 1;
	sfd = open_schedstat();
	wait_go();
	for (i = 0; i < n; i++) {
		double ta, t0, t1;

		/* fresh memory each time: a second read into the same pages is
		 * many times faster (3 ms instead of 100 for 64 MiB here) */
		munmap(buf, len);
		buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED) {
			perror("slowcalls: mmap");
			return 1;
		}
		memset(buf, 1, len);
		ta = now_us();
		schedstat(sfd, &run0[i], &wait0[i]);
		t0 = now_us();
		if (read(fd, buf, len) != (ssize_t)len) {
			perror("slowcalls: read /dev/zero");
			return 1;
		}
		t1 = now_us();
		schedstat(sfd, &run1[i], &wait1[i]);
		lat[i] = t1 - t0;
		outside[i] = (t0 - ta) + (now_us() - t1);
	}
	printf("{\"mode\":\"reads\",\"pid\":%d,\"tid\":%d,\"fd\":%d,\"rounds\":[", getpid(),
	       gettid_(), fd);
	for (i = 0; i < n; i++)
		printf("%s{\"lat_us\":%.1f,\"run_us\":%.1f,\"run_delay_us\":%.1f,\"outside_us\":%."
		       "1f}",
		       i ? "," : "", lat[i], (run1[i] - run0[i]) / 1e3, (wait1[i] - wait0[i]) / 1e3,
		       outside[i]);
	printf("]}\n");
	fflush(stdout);
	return 0;
}

/*
 * A read preempted long after its thread was last switched in: alone on CPU,
 * the thread spins SPIN_MS in user space, then reads; a hog on the same CPU
 * wakes HOG_MS after the spin began, in the middle of the read. On-CPU time
 * before the call must not count as the call's.
 */
static int do_preempt(long mib, int cpu, int spin_ms, int hog_ms)
{
	size_t len = (size_t)mib << 20;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long long run0, wait0, run1, wait1;
	double t0, t1, spin0;
	pthread_t th[1];
	int fd, sfd;
	ssize_t r;

	if (buf == MAP_FAILED) {
		perror("slowcalls: mmap");
		return 1;
	}
	memset(buf, 1, len);
	fd = open_zero();
	if (fd < 0)
		return 1;
	sfd = open_schedstat();
	wait_go();
	pin(cpu);
	hog_delay_us = hog_ms * 1e3;
	if (start_hogs(th, 1, cpu)) /* returns once the hog is pinned, then it sleeps */
		return 1;
	spin0 = now_us();
	while (now_us() < spin0 + spin_ms * 1e3)
		;
	schedstat(sfd, &run0, &wait0);
	t0 = now_us();
	r = read(fd, buf, len);
	t1 = now_us();
	schedstat(sfd, &run1, &wait1);
	stop_all_hogs(th, 1);
	printf("{\"mode\":\"preempt\",\"pid\":%d,\"tid\":%d,\"fd\":%d,\"ret\":%zd,"
	       "\"lat_us\":%.1f,\"spin_us\":%.1f,\"run_us\":%.1f,\"run_delay_us\":%.1f,",
	       getpid(), gettid_(), fd, r, t1 - t0, t0 - spin0, (run1 - run0) / 1e3,
	       (wait1 - wait0) / 1e3);
	print_hogs(1);
	printf("}\n");
	fflush(stdout);
	return 0;
}

/* --- futex: a lock wait timing out, then one woken by the unlocker ------- */

struct lock_run {
	pthread_mutex_t m;
	pthread_barrier_t held;
	int hold_ms, timeout_ms;
	pid_t owner, waiter;
	double unlocked, timed0, timed1, wait0, wait1;
	int timed_ret;
};

static void *lock_owner(void *arg)
{
	struct lock_run *l = arg;

	pin(1);
	l->owner = gettid_();
	pthread_mutex_lock(&l->m);
	pthread_barrier_wait(&l->held);
	sleep_us(l->hold_ms * 1e3);
	l->unlocked = now_us();
	pthread_mutex_unlock(&l->m);
	return NULL;
}

static void *lock_waiter(void *arg)
{
	struct lock_run *l = arg;
	struct timespec abs;

	pin(0);
	l->waiter = gettid_();
	pthread_barrier_wait(&l->held);
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += l->timeout_ms * 1000000L;
	abs.tv_sec += abs.tv_nsec / 1000000000L;
	abs.tv_nsec %= 1000000000L;
	l->timed0 = now_us();
	l->timed_ret = pthread_mutex_clocklock(&l->m, CLOCK_MONOTONIC, &abs);
	l->timed1 = now_us();
	l->wait0 = now_us();
	pthread_mutex_lock(&l->m);
	l->wait1 = now_us();
	pthread_mutex_unlock(&l->m);
	return NULL;
}

static int do_futex(int hold_ms, int timeout_ms)
{
	struct lock_run l = {.hold_ms = hold_ms, .timeout_ms = timeout_ms};
	pthread_t o, w;

	pthread_mutex_init(&l.m, NULL);
	pthread_barrier_init(&l.held, NULL, 2);
	wait_go();
	pthread_create(&o, NULL, lock_owner, &l);
	pthread_create(&w, NULL, lock_waiter, &l);
	pthread_join(w, NULL);
	pthread_join(o, NULL);
	printf("{\"mode\":\"futex\",\"pid\":%d,\"owner\":%d,\"waiter\":%d,\"timed_ret\":%d,"
	       "\"timed_us\":%.1f,\"wait_us\":%.1f,\"blocked_us\":%.1f}\n",
	       getpid(), l.owner, l.waiter, l.timed_ret, l.timed1 - l.timed0, l.wait1 - l.wait0,
	       l.unlocked - l.wait0);
	fflush(stdout);
	return 0;
}

/* --- timerfd: a wakeup from the timer interrupt over a hog --------------- */

struct timer_run {
	int rounds, ms, cpu, fd;
	pid_t tid;
	double lat[MAX_ROUNDS];
	long ret[MAX_ROUNDS];
};

static void *timer_reader(void *arg)
{
	struct timer_run *t = arg;
	struct itimerspec its = {
		.it_value = {.tv_sec = t->ms / 1000, .tv_nsec = (t->ms % 1000) * 1000000L}};
	uint64_t ticks;
	int i;

	pin(t->cpu);
	t->tid = gettid_();
	for (i = 0; i < t->rounds; i++) {
		double t0;

		if (timerfd_settime(t->fd, 0, &its, NULL)) {
			perror("slowcalls: timerfd_settime");
			exit(1);
		}
		t0 = now_us();
		t->ret[i] = read(t->fd, &ticks, sizeof(ticks));
		t->lat[i] = now_us() - t0;
	}
	return NULL;
}

static int do_timerfd(int rounds, int ms, int cpu)
{
	struct timer_run t = {.rounds = rounds, .ms = ms, .cpu = cpu};
	pthread_t th[1], r;
	int i;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		return 2;
	t.fd = timerfd_create(CLOCK_MONOTONIC, 0);
	if (t.fd < 0) {
		perror("slowcalls: timerfd_create");
		return 1;
	}
	wait_go();
	if (start_hogs(th, 1, cpu))
		return 1;
	sleep_us(20000);
	pthread_create(&r, NULL, timer_reader, &t);
	pthread_join(r, NULL);
	stop_all_hogs(th, 1);
	printf("{\"mode\":\"timerfd\",\"pid\":%d,\"reader\":%d,\"fd\":%d,", getpid(), t.tid, t.fd);
	print_hogs(1);
	printf(",\"rounds\":[");
	for (i = 0; i < rounds; i++)
		printf("%s{\"ret\":%ld,\"lat_us\":%.1f}", i ? "," : "", t.ret[i], t.lat[i]);
	printf("]}\n");
	fflush(stdout);
	return 0;
}

/* --- epoll: an idle wait ------------------------------------------------- */

static int do_epoll(int ms)
{
	struct epoll_event ev;
	int epfd = epoll_create1(0);
	double t0, t1;
	long r;

	if (epfd < 0) {
		perror("slowcalls: epoll_create1");
		return 1;
	}
	wait_go();
	t0 = now_us();
	r = syscall(SYS_epoll_wait, epfd, &ev, 1, ms);
	t1 = now_us();
	printf("{\"mode\":\"epoll\",\"pid\":%d,\"tid\":%d,\"fd\":%d,\"ret\":%ld,\"lat_us\":%.1f}\n",
	       getpid(), gettid_(), epfd, r, t1 - t0);
	fflush(stdout);
	return 0;
}

/* --- flood: many fast calls, all over a zero threshold ------------------- */

static int do_flood(long n)
{
	double t0;
	long i;

	wait_go();
	t0 = now_us();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	printf("{\"mode\":\"flood\",\"pid\":%d,\"tid\":%d,\"calls\":%ld,\"seconds\":%.3f}\n",
	       getpid(), gettid_(), n, (now_us() - t0) / 1e6);
	fflush(stdout);
	return 0;
}

static int do_floodfor(long seconds)
{
	double t0, end;
	long n = 0, i;

	wait_go();
	t0 = now_us();
	end = t0 + seconds * 1e6;
	while (now_us() < end) {
		for (i = 0; i < 1000; i++)
			syscall(SYS_getppid);
		n += 1000;
	}
	printf("{\"mode\":\"floodfor\",\"pid\":%d,\"tid\":%d,\"calls\":%ld,\"seconds\":%.3f}\n",
	       getpid(), gettid_(), n, (now_us() - t0) / 1e6);
	fflush(stdout);
	return 0;
}

/* --- files: reads of regular files at known paths ------------------------ */

static int do_files(int n, char **paths)
{
	static char buf[4096];
	int i;

	wait_go();
	printf("{\"mode\":\"files\",\"pid\":%d,\"tid\":%d,\"files\":[", getpid(), gettid_());
	for (i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY);
		ssize_t r;

		if (fd < 0) {
			perror(paths[i]);
			return 1;
		}
		r = read(fd, buf, sizeof(buf)); /* left open: every file keeps its own fd */
		printf("%s{\"path\":\"%s\",\"fd\":%d,\"ret\":%zd}", i ? "," : "", paths[i], fd, r);
	}
	printf("]}\n");
	fflush(stdout);
	return 0;
}

/* --- tcp: a client blocked reading an answer that comes late ------------- */

struct server {
	int lfd, delay_ms;
};

static void *serve_loop(void *arg)
{
	struct server *s = arg;
	char buf[256];

	for (;;) {
		int c = accept(s->lfd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			continue;
		n = read(c, buf, sizeof(buf));
		if (n > 0) {
			sleep_us(s->delay_ms * 1e3);
			if (write(c, "pong\n", 5) != 5)
				perror("slowcalls: write");
		}
		while (read(c, buf, sizeof(buf)) > 0) /* until the client closes */
			;
		close(c);
	}
	return NULL;
}

static int do_tcpserve(int port, int delay_ms)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	static struct server s;
	pthread_t th;
	int one = 1;

	s.delay_ms = delay_ms;
	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s.lfd, (struct sockaddr *)&a, sizeof(a)) || listen(s.lfd, 16)) {
		perror("slowcalls: bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	pthread_create(&th, NULL, serve_loop, &s);
	return 0;
}

static void print_sockaddr(const char *name, const struct sockaddr_in *a)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	printf(",\"%saddr\":\"%s\",\"%sport\":%d", name, ip, name, ntohs(a->sin_port));
}

static int do_tcpclient(const char *host, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)}, l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	char buf[64];
	double t0, t1;
	ssize_t n;
	int fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "slowcalls: bad address '%s'\n", host);
		return 2;
	}
	wait_go();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("slowcalls: connect");
		return 1;
	}
	getsockname(fd, (struct sockaddr *)&l, &ll);
	getpeername(fd, (struct sockaddr *)&r, &rl);
	if (write(fd, "ping\n", 5) != 5) {
		perror("slowcalls: write");
		return 1;
	}
	t0 = now_us();
	n = read(fd, buf, sizeof(buf));
	t1 = now_us();
	printf("{\"mode\":\"tcpclient\",\"pid\":%d,\"tid\":%d,\"fd\":%d,\"ret\":%zd,\"lat_us\":%."
	       "1f",
	       getpid(), gettid_(), fd, n, t1 - t0);
	print_sockaddr("l", &l);
	print_sockaddr("r", &r);
	printf("}\n");
	fflush(stdout);
	close(fd);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: slowcalls pipe N DELAY_MS [COMM] | runq N SLEEP_MS CPU HOGS | "
			"oncpu MIB [CPU HOGS] | reads N MIB | preempt MIB CPU SPIN_MS HOG_MS | "
			"futex HOLD_MS "
			"TIMEOUT_MS | timerfd N MS CPU | "
			"epoll MS | flood N | floodfor SECONDS | "
			"files PATH... | tcpserve PORT DELAY_MS | tcpclient ADDR PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char line[64];
	int err;

	printf("pid %d\n", getpid());
	fflush(stdout);
	if (!strcmp(mode, "pipe") && (argc == 4 || argc == 5))
		err = do_pipe(parse_arg(argv[2], "N"), parse_arg(argv[3], "DELAY_MS"),
			      argc == 5 ? argv[4] : NULL);
	else if (!strcmp(mode, "runq") && argc == 6)
		err = do_runq(parse_arg(argv[2], "N"), parse_arg(argv[3], "SLEEP_MS"),
			      parse_arg(argv[4], "CPU"), parse_arg(argv[5], "HOGS"));
	else if (!strcmp(mode, "oncpu") && argc == 3)
		err = do_oncpu(parse_arg(argv[2], "MIB"), -1, 0);
	else if (!strcmp(mode, "oncpu") && argc == 5)
		err = do_oncpu(parse_arg(argv[2], "MIB"), parse_arg(argv[3], "CPU"),
			       parse_arg(argv[4], "HOGS"));
	else if (!strcmp(mode, "reads") && argc == 4)
		err = do_reads(parse_arg(argv[2], "N"), parse_arg(argv[3], "MIB"));
	else if (!strcmp(mode, "preempt") && argc == 6)
		err = do_preempt(parse_arg(argv[2], "MIB"), parse_arg(argv[3], "CPU"),
				 parse_arg(argv[4], "SPIN_MS"), parse_arg(argv[5], "HOG_MS"));
	else if (!strcmp(mode, "futex") && argc == 4)
		err = do_futex(parse_arg(argv[2], "HOLD_MS"), parse_arg(argv[3], "TIMEOUT_MS"));
	else if (!strcmp(mode, "timerfd") && argc == 5)
		err = do_timerfd(parse_arg(argv[2], "N"), parse_arg(argv[3], "MS"),
				 parse_arg(argv[4], "CPU"));
	else if (!strcmp(mode, "epoll") && argc == 3)
		err = do_epoll(parse_arg(argv[2], "MS"));
	else if (!strcmp(mode, "flood") && argc == 3)
		err = do_flood(parse_arg(argv[2], "N"));
	else if (!strcmp(mode, "floodfor") && argc == 3)
		err = do_floodfor(parse_arg(argv[2], "SECONDS"));
	else if (!strcmp(mode, "files") && argc >= 3)
		err = do_files(argc - 2, argv + 2);
	else if (!strcmp(mode, "tcpserve") && argc == 4)
		err = do_tcpserve(parse_arg(argv[2], "PORT"), parse_arg(argv[3], "DELAY_MS"));
	else if (!strcmp(mode, "tcpclient") && argc == 4)
		err = do_tcpclient(argv[2], parse_arg(argv[3], "PORT"));
	else
		return usage();
	if (err)
		return err;
	read_line(line, sizeof(line)); /* until EOF or "exit" */
	return 0;
}
