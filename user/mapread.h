/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Walking whole BPF maps from user space, batched where the kernel can. */
#ifndef LATSCOPE_MAPREAD_H
#define LATSCOPE_MAPREAD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Called once per element. vals holds the value of every possible CPU for a
 * per-CPU map (stride: value size rounded up to 8), or one value otherwise.
 */
typedef void (*map_elem_fn)(const void *key, const void *vals, void *ctx);

/*
 * Visit every element of map fd. Uses BPF_MAP_LOOKUP_BATCH, falling back to
 * get_next_key + lookup when the kernel lacks it. Returns the number of
 * elements visited, or -errno.
 */
long map_read_all(int fd, size_t key_sz, size_t val_sz, bool percpu, map_elem_fn fn, void *ctx);

/* Number of possible CPUs (per-CPU value replication), cached. */
int ncpus_possible(void);

#endif
