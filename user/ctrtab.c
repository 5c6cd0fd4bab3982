// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ctrtab.h"
#include "ktab.h"
#include "util.h"

struct ctr_head {
	uint32_t idle;	/* generations without change */
	uint32_t seen;	/* last generation the key was read */
	uint64_t ctr[]; /* nctr previous cumulative values */
};

struct ctrtab {
	struct ktab *t;
	size_t key_sz;
	int nctr;
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
	free(c);
}

int ctrtab__update(struct ctrtab *c, const void *key, const uint64_t *cur, uint64_t *delta,
		   uint32_t gen)
{
	struct ctr_head *h;
	bool created, any = false;

	h = ktab__upsert(c->t, key, &created);
	if (!h)
		return -ENOMEM;
	h->seen = gen;
	for (int i = 0; i < c->nctr; i++) {
		delta[i] = counter_delta(h->ctr[i], cur[i]);
		if (delta[i] || cur[i] != h->ctr[i])
			any = true;
		h->ctr[i] = cur[i];
	}
	h->idle = any ? 0 : h->idle + 1;
	return any;
}

size_t ctrtab__expire(struct ctrtab *c, uint32_t idle_limit, uint32_t gen,
		      bool (*stale)(const void *key, void *ctx),
		      void (*del)(const void *key, void *ctx), void *ctx)
{
	enum { CHUNK = 64 };
	char *victims = malloc(CHUNK * c->key_sz);
	size_t total = 0, n;

	if (!victims)
		return 0;
	do {
		size_t pos = 0;
		const void *k;
		void *v;

		n = 0;
		while (n < CHUNK && ktab__next(c->t, &pos, &k, &v)) {
			const struct ctr_head *h = v;

			if (h->idle >= idle_limit || h->seen != gen ||
			    (h->idle >= 2 && stale && stale(k, ctx)))
				memcpy(victims + n++ * c->key_sz, k, c->key_sz);
		}
		for (size_t i = 0; i < n; i++) {
			if (del)
				del(victims + i * c->key_sz, ctx);
			ktab__del(c->t, victims + i * c->key_sz);
		}
		total += n;
	} while (n == CHUNK);
	free(victims);
	return total;
}

size_t ctrtab__len(const struct ctrtab *c)
{
	return ktab__len(c->t);
}
