// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ctrtab.h"
#include "ktab.h"
#include "log.h"
#include "util.h"

#define SWEEP_EVERY 64 /* reads between sweeps for keys gone from the map */

struct ctr_head {
	uint32_t idle;	/* reads without change */
	uint32_t seen;	/* generation of the last read that had the key */
	uint64_t ctr[]; /* nctr previous cumulative values */
};

struct ctrtab {
	struct ktab *t;
	size_t key_sz;
	int nctr;
	uint32_t gen, idle_limit;
	bool (*stale)(const void *key, void *ctx);
	void *stale_ctx;
	char *victims; /* keys to expire after this read */
	size_t nvictims, victims_cap;
	size_t seen;
};

struct ctrtab *ctrtab__new(size_t key_sz, int nctr)
{
	struct ctrtab *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->key_sz = key_sz;
	c->nctr = nctr;
	c->t = ktab__new(key_sz, sizeof(struct ctr_head) + nctr * sizeof(uint64_t));
	if (!c->t) {
		free(c);
		return NULL;
	}
	return c;
}

void ctrtab__free(struct ctrtab *c)
{
	if (!c)
		return;
	ktab__free(c->t);
	free(c->victims);
	free(c);
}

void ctrtab__begin(struct ctrtab *c, uint32_t idle_limit, bool (*stale)(const void *key, void *ctx),
		   void *ctx)
{
	c->gen++;
	c->idle_limit = idle_limit;
	c->stale = stale;
	c->stale_ctx = ctx;
	c->nvictims = 0;
	c->seen = 0;
}

static void add_victim(struct ctrtab *c, const void *key)
{
	if (c->nvictims == c->victims_cap) {
		size_t ncap = c->victims_cap ? c->victims_cap * 2 : 64;
		char *n = realloc(c->victims, ncap * c->key_sz);

		if (!n)
			return; /* expire it another time */
		c->victims = n;
		c->victims_cap = ncap;
	}
	memcpy(c->victims + c->nvictims++ * c->key_sz, key, c->key_sz);
}

int ctrtab__update(struct ctrtab *c, const void *key, const uint64_t *cur, uint64_t *delta)
{
	struct ctr_head *h;
	bool created, any = false;

	h = ktab__upsert(c->t, key, &created);
	if (!h)
		return -ENOMEM;
	h->seen = c->gen;
	c->seen++;
	for (int i = 0; i < c->nctr; i++) {
		delta[i] = counter_delta(h->ctr[i], cur[i]);
		if (delta[i] || cur[i] != h->ctr[i])
			any = true;
		h->ctr[i] = cur[i];
	}
	if (any) {
		h->idle = 0;
		return 1;
	}
	h->idle++;
	if (h->idle >= c->idle_limit ||
	    (c->stale && (h->idle == 2 || h->idle % 16 == 0) && c->stale(key, c->stale_ctx)))
		add_victim(c, key);
	return 0;
}

size_t ctrtab__expire(struct ctrtab *c,
		      void (*del)(const void *key, const uint64_t *prev, void *ctx), void *ctx)
{
	size_t n = c->nvictims;

	log_debug("expire: key size %zu, %zu keys, %zu read, %zu idle to delete (limit %u)",
		  c->key_sz, ktab__len(c->t), c->seen, c->nvictims, c->idle_limit);
	for (size_t i = 0; i < c->nvictims; i++) {
		const void *k = c->victims + i * c->key_sz;

		struct ctr_head *h = ktab__get(c->t, k);

		if (del && h)
			del(k, h->ctr, ctx);
		ktab__del(c->t, k);
	}
	c->nvictims = 0;
	if (c->gen % SWEEP_EVERY == 0) {
		size_t pos = 0;
		const void *k;
		void *v;

		while (ktab__next(c->t, &pos, &k, &v))
			if (((struct ctr_head *)v)->seen != c->gen)
				add_victim(c, k);
		for (size_t i = 0; i < c->nvictims; i++)
			ktab__del(c->t, c->victims + i * c->key_sz);
		n += c->nvictims;
		c->nvictims = 0;
	}
	return n;
}

size_t ctrtab__len(const struct ctrtab *c)
{
	return ktab__len(c->t);
}

size_t ctrtab__seen(const struct ctrtab *c)
{
	return c->seen;
}
