// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Accuracy workload for scripts/bench.sh: N nanosleep() calls whose
 * requested durations are drawn, with a fixed seed, from a fixed mix:
 *   40% 60us, 30% 250us, 20% 800us, 9.5% 3ms, 0.5% 10ms
 * so the p50 falls inside the 250us mode and the p99 inside the 3ms mode.
 * Each call is timed with CLOCK_MONOTONIC around syscall(SYS_nanosleep).
 * Usage: bench_sleep [N] (default 4000)
 *
 * Protocol: prints "pid N", waits for a line on stdin, runs, prints one JSON
 * line, then waits for EOF or "exit" on stdin. The JSON has the exact
 * nearest-rank p50/p99 of the measured durations and, for comparison, the
 * p50/p99 that a log2 histogram of the same samples in ns (the buckets
 * [2^k, 2^(k+1)) of bpftrace's hist()) gives when read at the midpoint of
 * the bucket holding the nearest-rank sample.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const struct {
	long ns;
	int per_mille;
} mix[] = {
	{60000, 400}, {250000, 300}, {800000, 200}, {3000000, 95}, {10000000, 5},
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64: the same draws on every run and every libc */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* nearest rank: the smallest sample with at least p of all at or below it */
static uint64_t rank(const uint64_t *sorted, long n, double p)
{
	long r = (long)ceil(p * n);

	return sorted[(r < 1 ? 1 : r) - 1];
}

static double log2_mid(uint64_t v)
{
	int k = 63 - __builtin_clzll(v | 1);

	return 1.5 * (double)(1ULL << k);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 4000;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, *lat;
	char line[64];

	if (n <= 0) {
		fprintf(stderr, "bench_sleep: invalid count '%s'\n", argv[1]);
		return 2;
	}
	lat = calloc(n, sizeof(*lat));
	if (!lat)
		return 1;
	printf("pid %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "bench_sleep: stdin closed before go\n");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int draw = rnd(&seed) % 1000, j = 0;
		struct timespec req;
		uint64_t t0;

		while (draw >= mix[j].per_mille)
			draw -= mix[j++].per_mille;
		req.tv_sec = 0;
		req.tv_nsec = mix[j].ns;
		t0 = now_ns();
		if (syscall(SYS_nanosleep, &req, NULL)) {
			perror("bench_sleep: nanosleep");
			return 1;
		}
		lat[i] = now_ns() - t0;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("{\"count\":%ld,\"p50_us\":%.3f,\"p99_us\":%.3f,"
	       "\"log2_p50_us\":%.3f,\"log2_p99_us\":%.3f}\n",
	       n, rank(lat, n, 0.50) / 1e3, rank(lat, n, 0.99) / 1e3,
	       log2_mid(rank(lat, n, 0.50)) / 1e3, log2_mid(rank(lat, n, 0.99)) / 1e3);
	fflush(stdout);
	free(lat);
	while (fgets(line, sizeof(line), stdin) && strcmp(line, "exit\n"))
		;
	return 0;
}
