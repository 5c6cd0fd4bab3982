/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ktab: a hash table with fixed-size byte keys and values (open addressing,
 * linear probing, backward-shift deletion). Used to keep the previous
 * cumulative value of every BPF map key for interval deltas.
 */
#ifndef LATSCOPE_KTAB_H
#define LATSCOPE_KTAB_H

#include <stdbool.h>
#include <stddef.h>

struct ktab;

/* New empty table; NULL with errno set on failure. */
struct ktab *ktab__new(size_t key_sz, size_t val_sz);
void ktab__free(struct ktab *t);

/* Value of key, or NULL when absent. */
void *ktab__get(const struct ktab *t, const void *key);

/*
 * Value of key, inserting a zeroed one when absent (*created tells which).
 * NULL on allocation failure, the table unchanged. Pointers returned earlier
 * are invalidated by any insertion or deletion.
 */
void *ktab__upsert(struct ktab *t, const void *key, bool *created);

/* Remove key; returns true when it was present. */
bool ktab__del(struct ktab *t, const void *key);

size_t ktab__len(const struct ktab *t);

/*
 * Iterate: start with *pos = 0; returns false at the end. Do not insert or
 * delete while iterating.
 */
bool ktab__next(const struct ktab *t, size_t *pos, const void **key, void **val);

#endif
