// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The per-entry costs behind the agent's read of a per-CPU map, measured
 * here so that make bench can derive the read cost on a host with more
 * CPUs than this one (DESIGN.md section 7, scale): the kernel's batch
 * lookup of a hash map per entry, plus per byte copied (from the same map
 * with a small and a large value: a per-CPU value is copied once per
 * possible CPU), and user space's fold of a per-CPU value (syscall_lat's
 * 80-byte octave) over 64 and 192 CPUs, timed directly.
 *
 * Prints one JSON object. Needs root (creates maps; loads no program).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#define KEYS  5000
#define REPS  15
#define SMALL 80	/* struct oct_val */
#define LARGE (80 * 64) /* the same, 64 times */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* median seconds per entry of a full batch read of a hash of KEYS entries
 * with value size vsz */
static double read_cost(size_t vsz)
{
	uint8_t key[24] = {}, *keys, *vals;
	double t[REPS];
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ls_mapcost", sizeof(key), vsz, 32768, NULL);
	if (fd < 0) {
		fprintf(stderr, "mapcost: cannot create a map: %s\n", strerror(errno));
		exit(1);
	}
	vals = calloc(KEYS, vsz);
	keys = calloc(KEYS, sizeof(key));
	for (uint32_t i = 0; i < KEYS; i++) {
		memcpy(key, &i, sizeof(i));
		key[16] = (uint8_t)i;
		bpf_map_update_elem(fd, key, vals, BPF_ANY);
	}
	for (int r = 0; r < REPS; r++) {
		uint32_t in = 0, out = 0, count, total = 0;
		bool first = true;
		double t0 = now_s();

		for (;;) {
			count = 512;
			if (bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count,
						 NULL) &&
			    errno != ENOENT) {
				fprintf(stderr, "mapcost: batch read: %s\n", strerror(errno));
				exit(1);
			}
			total += count;
			if (errno == ENOENT || count == 0)
				break;
			in = out;
			first = false;
			errno = 0;
		}
		t[r] = (now_s() - t0) / (total ? total : 1);
	}
	free(vals);
	free(keys);
	qsort(t, REPS, sizeof(t[0]), cmp_d);
	return t[REPS / 2];
}

/* seconds per entry to fold ncpu 80-byte values (10 u64 counters each) */
static double fold_cost(int ncpu)
{
	uint64_t *v = calloc((size_t)ncpu * 10, sizeof(*v)), acc[10];
	volatile uint64_t sink = 0;
	int n = 20000;
	double t0 = now_s();

	for (int k = 0; k < n; k++) {
		memset(acc, 0, sizeof(acc));
		for (int c = 0; c < ncpu; c++)
			for (int i = 0; i < 10; i++)
				acc[i] += v[c * 10 + i];
		v[k % ncpu * 10] ^= acc[k % 10];
		sink += acc[0];
	}
	free(v);
	return (now_s() - t0) / n;
}

int main(void)
{
	double small = read_cost(SMALL), large = read_cost(LARGE);
	double per_byte = (large - small) / (LARGE - SMALL);

	printf("{\"keys\":%d,\"read_ns_per_entry_%dB\":%.1f,\"read_ns_per_entry_%dB\":%.1f,"
	       "\"copy_ns_per_byte\":%.4f,\"fold_ns_per_entry_64cpu\":%.1f,"
	       "\"fold_ns_per_entry_192cpu\":%.1f}\n",
	       KEYS, SMALL, small * 1e9, LARGE, large * 1e9, per_byte * 1e9, fold_cost(64) * 1e9,
	       fold_cost(192) * 1e9);
	return 0;
}
