/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctrtab: the previous cumulative counters of every key of a BPF map, to
 * turn successive reads into interval deltas, and to find keys that went
 * idle so they can be deleted from the kernel map.
 *
 * Per interval: ctrtab__begin(), then ctrtab__update() for every element
 * read from the map, then ctrtab__expire(). Idle keys are noticed during
 * the updates, so expiry does not walk the table.
 */
#ifndef LATSCOPE_CTRTAB_H
#define LATSCOPE_CTRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctrtab;

/* keys of key_sz bytes, each with nctr u64 counters. NULL on ENOMEM. */
struct ctrtab *ctrtab__new(size_t key_sz, int nctr);
void ctrtab__free(struct ctrtab *t);

/*
 * Start a new read of the map. Keys idle for idle_limit reads will be
 * expired, and so will keys idle for two reads (checked again every 16)
 * for which stale(key, ctx) is true, e.g. because the owning task exited.
 * stale may be NULL.
 */
void ctrtab__begin(struct ctrtab *t, uint32_t idle_limit, bool (*stale)(const void *key, void *ctx),
		   void *ctx);

/*
 * Record the cumulative counters cur of key and write cur - previous into
 * delta (a counter below its previous value means the key was re-created:
 * its delta is its value). Returns 1 when any delta is non-zero, 0 when
 * none is, -ENOMEM on allocation failure.
 */
int ctrtab__update(struct ctrtab *t, const void *key, const uint64_t *cur, uint64_t *delta);

/*
 * Forget the keys found idle in this read, calling del(key, prev, ctx) for
 * each first (to delete it from the kernel map; prev: the counters last
 * read, so that what reached the key since can still be counted). Every 64
 * reads, also forget keys that were not read at all (gone from the map).
 * Returns the number forgotten.
 */
size_t ctrtab__expire(struct ctrtab *t,
		      void (*del)(const void *key, const uint64_t *prev, void *ctx), void *ctx);

size_t ctrtab__len(const struct ctrtab *t);

/* Number of keys updated since ctrtab__begin. */
size_t ctrtab__seen(const struct ctrtab *t);

#endif
