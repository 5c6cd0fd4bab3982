// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ktab.h"

struct ktab {
	size_t key_sz, val_sz, slot_sz, val_off, used_off;
	size_t cap; /* power of two */
	size_t len;
	unsigned char *slots; /* [key][pad][val][pad][used], 8-aligned */
};

/* keys are small structs, mostly multiples of 8 bytes: mix a word at a
 * time (multiply-xorshift), bytes only for a tail */
static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	for (; n; n--, b++)
		h = (h ^ *b) * 0x94d049bb133111ebULL;
	h ^= h >> 29;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 32);
}

static unsigned char *slot(const struct ktab *t, size_t i)
{
	return t->slots + i * t->slot_sz;
}

struct ktab *ktab__new(size_t key_sz, size_t val_sz)
{
	struct ktab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->key_sz = key_sz;
	t->val_sz = val_sz;
	t->val_off = (key_sz + 7) & ~(size_t)7;
	t->used_off = t->val_off + ((val_sz + 7) & ~(size_t)7);
	t->slot_sz = t->used_off + 8;
	t->cap = 64;
	t->slots = calloc(t->cap, t->slot_sz);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void ktab__free(struct ktab *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

static size_t find(const struct ktab *t, const void *key, bool *found)
{
	size_t mask = t->cap - 1, i = hash_bytes(key, t->key_sz) & mask;

	for (;; i = (i + 1) & mask) {
		unsigned char *s = slot(t, i);

		if (!s[t->used_off]) {
			*found = false;
			return i;
		}
		if (!memcmp(s, key, t->key_sz)) {
			*found = true;
			return i;
		}
	}
}

void *ktab__get(const struct ktab *t, const void *key)
{
	bool found;
	size_t i = find(t, key, &found);

	return found ? slot(t, i) + t->val_off : NULL;
}

static int grow(struct ktab *t)
{
	struct ktab n = *t;
	size_t i;

	n.cap = t->cap * 2;
	n.slots = calloc(n.cap, n.slot_sz);
	if (!n.slots)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++) {
		unsigned char *s = slot(t, i);
		bool found;

		if (s[t->used_off])
			memcpy(slot(&n, find(&n, s, &found)), s, t->slot_sz);
	}
	free(t->slots);
	t->slots = n.slots;
	t->cap = n.cap;
	return 0;
}

void *ktab__upsert(struct ktab *t, const void *key, bool *created)
{
	bool found;
	size_t i;
	unsigned char *s;

	i = find(t, key, &found);
	if (found) {
		if (created)
			*created = false;
		return slot(t, i) + t->val_off;
	}
	if ((t->len + 1) * 4 > t->cap * 3) { /* keep load <= 75% */
		if (grow(t))
			return NULL;
		i = find(t, key, &found);
	}
	s = slot(t, i);
	s[t->used_off] = 1;
	memcpy(s, key, t->key_sz);
	memset(s + t->val_off, 0, t->val_sz);
	t->len++;
	if (created)
		*created = true;
	return s + t->val_off;
}

bool ktab__del(struct ktab *t, const void *key)
{
	size_t mask = t->cap - 1, i, j;
	bool found;

	i = find(t, key, &found);
	if (!found)
		return false;
	/* backward-shift: move later members of the probe run into the hole */
	for (j = (i + 1) & mask;; j = (j + 1) & mask) {
		unsigned char *s = slot(t, j);
		size_t home;

		if (!s[t->used_off])
			break;
		home = hash_bytes(s, t->key_sz) & mask;
		/* can s move to i? only if its home is not in (i, j] cyclically */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			memcpy(slot(t, i), s, t->slot_sz);
			i = j;
		}
	}
	slot(t, i)[t->used_off] = 0;
	t->len--;
	return true;
}

size_t ktab__len(const struct ktab *t)
{
	return t->len;
}

bool ktab__next(const struct ktab *t, size_t *pos, const void **key, void **val)
{
	for (; *pos < t->cap; (*pos)++) {
		unsigned char *s = slot(t, *pos);

		if (s[t->used_off]) {
			(*pos)++;
			*key = s;
			*val = s + t->val_off;
			return true;
		}
	}
	return false;
}
