// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mapread.h"

#define BATCH 512

int ncpus_possible(void)
{
	static int n;

	if (!n) {
		n = libbpf_num_possible_cpus();
		if (n <= 0)
			n = 1;
	}
	return n;
}

static long read_slow(int fd, size_t key_sz, size_t vsz, map_elem_fn fn, void *ctx)
{
	void *key = calloc(2, key_sz), *next = (char *)key + key_sz, *vals = malloc(vsz);
	void *prev = NULL;
	long n = 0;

	if (!key || !vals) {
		free(key);
		free(vals);
		return -ENOMEM;
	}
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (bpf_map_lookup_elem(fd, next, vals) == 0) {
			fn(next, vals, ctx);
			n++;
		}
		memcpy(key, next, key_sz);
		prev = key;
	}
	free(key);
	free(vals);
	return n;
}

long map_read_all(int fd, size_t key_sz, size_t val_sz, bool percpu, map_elem_fn fn, void *ctx)
{
	size_t vsz = percpu ? ((val_sz + 7) & ~(size_t)7) * ncpus_possible() : val_sz;
	char *keys, *vals, batch_in[32], batch_out[32];
	bool first = true, done = false;
	long n = 0;

	keys = malloc(key_sz * BATCH);
	vals = malloc(vsz * BATCH);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	while (!done) {
		__u32 count = BATCH, i;
		int err;

		err = bpf_map_lookup_batch(fd, first ? NULL : batch_in, batch_out, keys, vals,
					   &count, NULL);
		if (err) {
			err = -errno;
			if (err == -ENOENT) {
				done = true;
			} else if (first && (err == -EINVAL || err == -ENOTSUP ||
					     err == -EOPNOTSUPP || err == -524)) {
				free(keys);
				free(vals);
				return read_slow(fd, key_sz, vsz, fn, ctx);
			} else {
				free(keys);
				free(vals);
				return err;
			}
		}
		for (i = 0; i < count; i++)
			fn(keys + i * key_sz, vals + i * vsz, ctx);
		n += count;
		memcpy(batch_in, batch_out, sizeof(batch_in));
		first = false;
	}
	free(keys);
	free(vals);
	return n;
}
