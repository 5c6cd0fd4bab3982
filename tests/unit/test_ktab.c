// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ktab against a reference model: a plain array of every key that may be
 * used, each with a present flag and the value the table should hold.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "test.h"
#include "ktab.h"

#define KEY_SZ 24
#define VAL_SZ 24

static uint64_t rng_state;

static void rnd_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static uint64_t rnd64(void)
{
	/* xorshift64*: fixed seeds make every failure reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void rnd_bytes(unsigned char *p, size_t n)
{
	while (n--)
		*p++ = (unsigned char)rnd64();
}

struct model {
	size_t n;
	unsigned char (*key)[KEY_SZ];
	unsigned char (*val)[VAL_SZ];
	bool *present;
	size_t len;
};

static void model_init(struct model *m, size_t n)
{
	m->n = n;
	m->key = calloc(n, KEY_SZ);
	m->val = calloc(n, VAL_SZ);
	m->present = calloc(n, sizeof(bool));
	m->len = 0;
}

static void model_free(struct model *m)
{
	free(m->key);
	free(m->val);
	free(m->present);
}

/*
 * Whole-table comparison: every key's presence and value, the length, and
 * that iteration yields each present key exactly once. NULL when equal.
 */
static const char *model_check(const struct ktab *t, const struct model *m)
{
	static char why[128];
	bool *seen = calloc(m->n, sizeof(bool));
	const void *key;
	void *val;
	size_t pos = 0, visited = 0, i;
	const char *err = NULL;

	if (ktab__len(t) != m->len) {
		snprintf(why, sizeof(why), "len %zu, model has %zu", ktab__len(t), m->len);
		err = why;
		goto out;
	}
	for (i = 0; i < m->n; i++) {
		unsigned char *v = ktab__get(t, m->key[i]);

		if (!m->present[i] != !v) {
			snprintf(why, sizeof(why), "key %zu: %s", i,
				 v ? "present after delete" : "missing");
			err = why;
			goto out;
		}
		if (v && memcmp(v, m->val[i], VAL_SZ)) {
			snprintf(why, sizeof(why), "key %zu: value corrupted", i);
			err = why;
			goto out;
		}
	}
	while (ktab__next(t, &pos, &key, &val)) {
		/* keys are few enough that a linear search keeps the test obvious */
		for (i = 0; i < m->n; i++)
			if (!memcmp(key, m->key[i], KEY_SZ))
				break;
		if (i == m->n || !m->present[i]) {
			err = "iteration yielded a key that is not in the table";
			goto out;
		}
		if (seen[i]) {
			err = "iteration yielded a key twice";
			goto out;
		}
		if (memcmp(val, m->val[i], VAL_SZ)) {
			err = "iteration yielded the wrong value";
			goto out;
		}
		seen[i] = true;
		visited++;
	}
	if (visited != m->len) {
		snprintf(why, sizeof(why), "iteration visited %zu keys, table has %zu", visited,
			 m->len);
		err = why;
	}
out:
	free(seen);
	return err;
}

/* one step of the model: upsert (and overwrite the value), get or delete key i */
static const char *model_op(struct ktab *t, struct model *m, size_t i, int op)
{
	bool created;
	unsigned char *v;

	switch (op) {
	case 0:
		v = ktab__upsert(t, m->key[i], &created);
		if (!v)
			return "upsert failed";
		if (created == m->present[i])
			return created ? "upsert created an existing key"
				       : "upsert found a missing key";
		if (created) {
			static const unsigned char zero[VAL_SZ];

			if (memcmp(v, zero, VAL_SZ))
				return "new value not zeroed";
			m->len++;
		} else if (memcmp(v, m->val[i], VAL_SZ)) {
			return "upsert returned the wrong value";
		}
		m->present[i] = true;
		rnd_bytes(m->val[i], VAL_SZ);
		memcpy(v, m->val[i], VAL_SZ);
		return NULL;
	case 1:
		v = ktab__get(t, m->key[i]);
		if (!m->present[i] != !v)
			return v ? "get found a deleted key" : "get missed a present key";
		if (v && memcmp(v, m->val[i], VAL_SZ))
			return "get returned the wrong value";
		return NULL;
	default:
		if (ktab__del(t, m->key[i]) != m->present[i])
			return m->present[i] ? "del missed a present key"
					     : "del removed a missing key";
		if (m->present[i])
			m->len--;
		m->present[i] = false;
		if (ktab__get(t, m->key[i]))
			return "key still found after del";
		if (ktab__len(t) != m->len)
			return "len wrong after del";
		return NULL;
	}
}

TEST_CASE(ktab_random_ops_match_reference_model)
{
	struct ktab *t = ktab__new(KEY_SZ, VAL_SZ);
	struct model m;
	const char *err = NULL;
	size_t i;
	int step;

	ASSERT(t, "ktab__new failed");
	rnd_seed(11);
	/* 400 keys: the table grows, shrinks and regrows its runs many times */
	model_init(&m, 400);
	for (i = 0; i < m.n; i++)
		rnd_bytes(m.key[i], KEY_SZ);
	for (step = 0; step < 200000 && !err; step++) {
		/* phases bias towards inserts, then deletes, to sweep the load factor */
		bool filling = (step / 5000) % 2 == 0;
		uint64_t r = rnd64() % 10;
		int op;

		if (filling)
			op = r < 6 ? 0 : r < 8 ? 1 : 2;
		else
			op = r < 2 ? 0 : r < 4 ? 1 : 2;

		err = model_op(t, &m, rnd64() % m.n, op);
		if (!err && step % 997 == 0)
			err = model_check(t, &m);
	}
	if (!err)
		err = model_check(t, &m);
	ktab__free(t);
	model_free(&m);
	ASSERT(!err, "step %d: %s", step, err);
}

/* same FNV-1a as user/ktab.c, only to pick keys that collide on purpose */
static uint64_t fnv(const unsigned char *b, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--) {
		h ^= *b++;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

/*
 * Backward-shift deletion is easy to get wrong where a probe run wraps
 * past the end of the table. Choose keys homed in the last and first few
 * slots of the initial 64-slot table so one long run crosses the end,
 * then delete them in every position of the run. If the hash ever
 * changes, the keys merely stop colliding and the test still holds.
 */
TEST_CASE(ktab_delete_backward_shift_in_wrapping_collision_run)
{
	enum { NKEYS = 40 }; /* stays under the 75% load that triggers growth */
	struct model m;
	const char *err = NULL;
	size_t got = 0, i;
	int round;

	rnd_seed(12);
	model_init(&m, NKEYS);
	while (got < NKEYS) {
		unsigned char k[KEY_SZ];
		unsigned home;

		rnd_bytes(k, KEY_SZ);
		home = fnv(k, KEY_SZ) & 63;
		if (home >= 58 || home <= 1)
			memcpy(m.key[got++], k, KEY_SZ);
	}
	for (round = 0; round < 50 && !err; round++) {
		struct ktab *t = ktab__new(KEY_SZ, VAL_SZ);

		ASSERT(t, "ktab__new failed");
		memset(m.present, 0, NKEYS * sizeof(bool));
		m.len = 0;
		for (i = 0; i < NKEYS && !err; i++)
			err = model_op(t, &m, i, 0);
		/* delete in a random order, checking everything after each one */
		while (m.len && !err) {
			i = rnd64() % NKEYS;
			if (!m.present[i])
				continue;
			err = model_op(t, &m, i, 2);
			if (!err)
				err = model_check(t, &m);
			/* sometimes put one back so holes are refilled mid-run */
			if (!err && rnd64() % 4 == 0)
				err = model_op(t, &m, rnd64() % NKEYS, 0);
		}
		ktab__free(t);
	}
	model_free(&m);
	ASSERT(!err, "round %d: %s", round, err);
}

TEST_CASE(ktab_grows_to_many_keys_and_empties)
{
	enum { N = 100000 };
	struct ktab *t = ktab__new(sizeof(uint64_t) * 3, sizeof(uint64_t) * 3);
	uint64_t k[3], *v;
	const void *key;
	void *val;
	size_t pos = 0, n = 0;
	bool created;
	uint64_t i;

	ASSERT(t, "ktab__new failed");
	for (i = 0; i < N; i++) {
		k[0] = i;
		k[1] = ~i;
		k[2] = i * 7;
		v = ktab__upsert(t, k, &created);
		ASSERT(v && created, "insert %llu failed", (unsigned long long)i);
		v[0] = i;
		v[1] = i + 1;
		v[2] = i + 2;
	}
	ASSERT_EQ_U64(ktab__len(t), N, "len after inserts");
	/* every value survived every growth */
	for (i = 0; i < N; i++) {
		k[0] = i;
		k[1] = ~i;
		k[2] = i * 7;
		v = ktab__get(t, k);
		ASSERT(v && v[0] == i && v[1] == i + 1 && v[2] == i + 2,
		       "key %llu lost or corrupted after growth", (unsigned long long)i);
	}
	while (ktab__next(t, &pos, &key, &val)) {
		const uint64_t *kk = key, *vv = val;

		ASSERT(kk[1] == ~kk[0] && vv[0] == kk[0], "iteration paired key and value wrongly");
		n++;
	}
	ASSERT_EQ_U64(n, N, "keys visited by iteration");
	for (i = 0; i < N; i++) {
		k[0] = i;
		k[1] = ~i;
		k[2] = i * 7;
		ASSERT(ktab__del(t, k), "del %llu failed", (unsigned long long)i);
	}
	ASSERT_EQ_U64(ktab__len(t), 0, "len after deleting everything");
	pos = 0;
	ASSERT(!ktab__next(t, &pos, &key, &val), "iteration of an emptied table yielded a key");
	ASSERT(!ktab__get(t, k), "deleted key found");
	ASSERT(!ktab__del(t, k), "double delete reported success");
	ktab__free(t);
}

/* sizes that are not multiples of 8 must not let values overwrite keys */
TEST_CASE(ktab_odd_key_and_value_sizes)
{
	struct ktab *t = ktab__new(5, 3);
	unsigned char k[5], *v;
	int i;

	ASSERT(t, "ktab__new failed");
	for (i = 0; i < 1000; i++) {
		memset(k, 0, sizeof(k));
		memcpy(k, &i, sizeof(i));
		k[4] = 0xa5;
		v = ktab__upsert(t, k, NULL);
		ASSERT(v, "upsert %d failed", i);
		memset(v, 0xff, 3);
	}
	for (i = 0; i < 1000; i++) {
		memset(k, 0, sizeof(k));
		memcpy(k, &i, sizeof(i));
		k[4] = 0xa5;
		v = ktab__get(t, k);
		ASSERT(v && v[0] == 0xff && v[2] == 0xff, "key %d lost", i);
	}
	ASSERT_EQ_U64(ktab__len(t), 1000, "len");
	ktab__free(t);
	ktab__free(NULL); /* cleanup paths rely on this being a no-op */
}
