/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctrtab: the previous cumulative counters of every key of a BPF map, to
 * turn successive reads into interval deltas, and to find keys that went
 * idle so they can be deleted from the kernel map.
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
 * Record the cumulative counters cur of key as read in generation gen and
 * write cur - previous into delta (a counter below its previous value
 * means the key was re-created: its delta is its value). Returns 1 when
 * any delta is non-zero, 0 when none is, -ENOMEM on allocation failure.
 */
int ctrtab__update(struct ctrtab *t, const void *key, const uint64_t *cur, uint64_t *delta,
		   uint32_t gen);

/*
 * Forget keys idle for idle_limit generations, not seen in generation gen,
 * or idle for two generations with stale(key, ctx) true (e.g. the owning
 * task exited); for each, call del(key, ctx) first (to delete it from the
 * kernel map). stale may be NULL. Returns the number forgotten.
 */
size_t ctrtab__expire(struct ctrtab *t, uint32_t idle_limit, uint32_t gen,
		      bool (*stale)(const void *key, void *ctx),
		      void (*del)(const void *key, void *ctx), void *ctx);

size_t ctrtab__len(const struct ctrtab *t);

#endif
