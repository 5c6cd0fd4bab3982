// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collector.h"
#include "ctrtab.h"
#include "log.h"
#include "mapread.h"
#include "names.h"
#include "schema.h"
#include "stats.h"
#include "util.h"

/* idle keys are deleted from the kernel map after this long... */
#define IDLE_EXPIRE_S 60.0
/* ...or after two idle intervals once the map is this full */
#define FULL_RATIO 0.75

typedef void (*elem_fn)(const void *key, const void *vals, void *ctx);

struct coll_mapstate {
	struct bpf_map *map; /* NULL when detached */
	uint32_t max_entries;
	struct ctrtab *prev;
	long nkeys;
};

struct coll {
	const struct coll_desc *d;
	void *skel;
	const char *variant;
	enum ls_by by;
	uint32_t max_keys;
	double interval_s;
	struct coll_mapstate ms[4];
	struct bpf_map *task_comm, *drops; /* common.bpf.h's */
	uint64_t prev_drops[LS_DROP_MAX];
	long (*read)(struct coll *c, size_t map, void *ctx, elem_fn fn);
	long (*take)(struct coll *c, size_t map, const void *key, void *vals);
	/* what reached deleted keys between their last read and their
	 * deletion: counted in the next read */
	struct coll_delta *late;
	size_t nlate, late_cap;
	void *vals; /* one element's values, for take */
	/* this read */
	struct names *names;
	size_t cur_map;
	int err;
	struct coll_delta *deltas;
	size_t ndeltas, deltas_cap;
};

static long read_bpf(struct coll *c, size_t m, void *ctx, elem_fn fn)
{
	const struct coll_map *cm = &c->d->maps[m];

	return map_read_all(bpf_map__fd(c->ms[m].map), cm->key_sz, cm->val_sz, cm->percpu, fn, ctx);
}

/* delete key, its value(s) at deletion into vals: 0, or -errno (-ENOENT:
 * gone already; -EOPNOTSUPP: deleted, value unknown) */
static long take_bpf(struct coll *c, size_t m, const void *key, void *vals)
{
	int fd = bpf_map__fd(c->ms[m].map);

	if (!bpf_map_lookup_and_delete_elem(fd, key, vals))
		return 0;
	if (errno == ENOENT)
		return -ENOENT;
	/* kernels without lookup-and-delete for this map type */
	return bpf_map_delete_elem(fd, key) ? -errno : -EOPNOTSUPP;
}

static struct coll *coll_alloc(const struct coll_desc *d, const struct coll_opts *o)
{
	struct coll *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->d = d;
	c->by = o->filter.by;
	c->max_keys = o->max_keys ? o->max_keys : d->default_keys(ncpus_possible());
	c->interval_s = o->interval_s > 0 ? o->interval_s : 1;
	c->read = read_bpf;
	c->take = take_bpf;
	for (size_t m = 0; m < d->nmaps && m < ARRAY_SIZE(c->ms); m++) {
		uint64_t n = (uint64_t)c->max_keys * d->maps[m].size_mul / d->maps[m].size_div;

		c->ms[m].max_entries = n ? (uint32_t)n : 1;
		c->ms[m].prev = ctrtab__new(d->maps[m].key_sz, d->maps[m].nctr);
		if (!c->ms[m].prev) {
			coll__free(c);
			return NULL;
		}
	}
	return c;
}

int coll_apply_filters(struct bpf_object *obj, const struct filter_opts *f, char *why,
		       size_t why_len)
{
	struct bpf_map *pids = bpf_object__find_map_by_name(obj, "filter_pids");
	struct bpf_map *cgroup = bpf_object__find_map_by_name(obj, "filter_cgroup");
	int err;

	for (int i = 0; i < f->npids; i++) {
		__u8 one = 1;

		err = bpf_map__update_elem(pids, &f->pids[i], sizeof(f->pids[i]), &one, sizeof(one),
					   BPF_ANY);
		if (err) {
			snprintf(why, why_len, "cannot set pid filter: %s", strerror(-err));
			return err;
		}
	}
	if (f->cgroup_fd >= 0) {
		__u32 zero = 0;

		err = bpf_map__update_elem(cgroup, &zero, sizeof(zero), &f->cgroup_fd,
					   sizeof(f->cgroup_fd), BPF_ANY);
		if (err) {
			snprintf(why, why_len, "cannot set cgroup filter: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

/* the maps of d another collector's object already created: reuse them */
static int reuse_shared(struct bpf_object *obj, const struct coll_desc *d,
			const struct coll_shared *sh, char *why, size_t why_len)
{
	for (size_t i = 0; sh && d->shared && d->shared[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, d->shared[i]);
		int err;

		for (int j = 0; m && j < sh->n; j++) {
			if (strcmp(sh->m[j].name, d->shared[i]))
				continue;
			err = bpf_map__reuse_fd(m, sh->m[j].fd);
			if (err) {
				snprintf(why, why_len, "cannot share map %s: %s", d->shared[i],
					 strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

/* remember the shared maps this object created, for the next collectors */
static void note_shared(struct bpf_object *obj, const struct coll_desc *d, struct coll_shared *sh)
{
	for (size_t i = 0; sh && d->shared && d->shared[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, d->shared[i]);
		int j;

		for (j = 0; j < sh->n && strcmp(sh->m[j].name, d->shared[i]); j++)
			;
		if (m && j == sh->n && sh->n < COLL_MAX_SHARED) {
			sh->m[sh->n].name = d->shared[i];
			sh->m[sh->n++].fd = bpf_map__fd(m);
		}
	}
}

/* open, configure, load and attach one flavour (tp_btf when btf) */
static int open_variant(struct coll *c, const struct coll_opts *o, bool btf, char *why,
			size_t why_len)
{
	const struct coll_desc *d = c->d;
	const char *flavour = btf ? "tp_btf" : "raw_tp";
	struct bpf_program *p;
	struct bpf_object *obj;
	void *s;
	int err;

	s = d->skel_open();
	if (!s) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s", strerror(-err));
		return err;
	}
	obj = d->skel_obj(s);
	bpf_object__for_each_program(p, obj)
	{
		const char *n = bpf_program__name(p);
		size_t l = strlen(n);

		if (l > 4 && !strcmp(n + l - 4, "_btf"))
			bpf_program__set_autoload(p, btf);
		else if (l > 4 && !strcmp(n + l - 4, "_raw"))
			bpf_program__set_autoload(p, !btf);
	}
	for (size_t m = 0; m < d->nmaps; m++) {
		c->ms[m].map = bpf_object__find_map_by_name(obj, d->maps[m].name);
		if (!c->ms[m].map) {
			snprintf(why, why_len, "BPF object has no map %s", d->maps[m].name);
			err = -ENOENT;
			goto destroy;
		}
		bpf_map__set_max_entries(c->ms[m].map, c->ms[m].max_entries);
	}
	err = d->configure(s, o, btf);
	if (err) {
		snprintf(why, why_len, "cannot configure BPF object (%s): %s", flavour,
			 strerror(-err));
		goto destroy;
	}
	err = reuse_shared(obj, d, o->shared, why, why_len);
	if (err)
		goto destroy;
	err = d->skel_load(s);
	if (err) {
		snprintf(why, why_len, "cannot load %s programs: %s", flavour, strerror(-err));
		goto destroy;
	}
	err = coll_apply_filters(obj, &o->filter, why, why_len);
	if (err)
		goto destroy;
	err = d->skel_attach(s);
	if (err) {
		snprintf(why, why_len, "cannot attach to %s (%s): %s", d->hooks, flavour,
			 strerror(-err));
		goto destroy;
	}
	note_shared(obj, d, o->shared);
	c->skel = s;
	c->variant = flavour;
	c->task_comm = bpf_object__find_map_by_name(obj, "task_comm");
	c->drops = bpf_object__find_map_by_name(obj, "drops");
	return 0;
destroy:
	d->skel_destroy(s);
	for (size_t m = 0; m < d->nmaps; m++)
		c->ms[m].map = NULL;
	c->task_comm = c->drops = NULL;
	return err;
}

int coll__open(struct coll **out, const struct coll_desc *d, const struct coll_opts *o, char *why,
	       size_t why_len)
{
	struct coll *c = coll_alloc(d, o);
	int err;

	if (!c) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	err = -EINVAL;
	if (o->attach != ATTACH_RAW_TP) {
		err = open_variant(c, o, true, why, why_len);
		if (err && o->attach != ATTACH_TP_BTF)
			log_verbose("%s: %s; trying raw_tp", d->name, why);
	}
	if (err && o->attach != ATTACH_TP_BTF)
		err = open_variant(c, o, false, why, why_len);
	if (err) {
		coll__free(c);
		return err;
	}
	if (d->started)
		d->started(c, o);
	*out = c;
	return 0;
}

struct coll *coll__new_detached(const struct coll_desc *d, const struct coll_opts *o,
				long (*read)(struct coll *c, size_t map, void *ctx, elem_fn fn),
				long (*take)(struct coll *c, size_t map, const void *key,
					     void *vals))
{
	struct coll *c = coll_alloc(d, o);

	if (!c)
		return NULL;
	c->read = read;
	c->take = take;
	c->variant = "detached";
	return c;
}

const struct coll_desc *coll__desc(const struct coll *c)
{
	return c->d;
}

const char *coll__variant(const struct coll *c)
{
	return c->variant;
}

void *coll__skel(const struct coll *c)
{
	return c->skel;
}

struct bpf_object *coll__object(const struct coll *c)
{
	return c->skel ? c->d->skel_obj(c->skel) : NULL;
}

double coll__fill(const struct coll *c, const char **map)
{
	double worst = 0;

	*map = NULL;
	for (size_t m = 0; m < c->d->nmaps && m < ARRAY_SIZE(c->ms); m++) {
		double f = c->ms[m].max_entries ? (double)c->ms[m].nkeys / c->ms[m].max_entries : 0;

		if (!*map || f > worst) {
			worst = f;
			*map = c->d->maps[m].name;
		}
	}
	return worst;
}

struct bpf_map *coll__map(const struct coll *c, const char *name)
{
	return c->skel ? bpf_object__find_map_by_name(c->d->skel_obj(c->skel), name) : NULL;
}

void coll__free(struct coll *c)
{
	if (!c)
		return;
	if (c->skel)
		c->d->skel_destroy(c->skel);
	for (size_t m = 0; m < ARRAY_SIZE(c->ms); m++)
		ctrtab__free(c->ms[m].prev);
	free(c->deltas);
	free(c->late);
	free(c->vals);
	free(c);
}

/* answers are cached for a second: many keys share an owner, and every
 * kill(2) here would also be traced by our own programs */
#define GONE_CACHE  4096
#define GONE_TTL_NS 1000000000ULL

bool coll_owner_gone(uint32_t pid, uint32_t tid)
{
	static struct {
		uint32_t pid, tid;
		uint64_t at_ns;
		bool gone;
	} cache[GONE_CACHE];
	uint32_t slot = (pid * 2654435761u ^ tid * 40503u) % GONE_CACHE;
	struct timespec ts;
	uint64_t now;
	int r;

	if (!pid)
		return false;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (cache[slot].pid == pid && cache[slot].tid == tid &&
	    now - cache[slot].at_ns < GONE_TTL_NS)
		return cache[slot].gone;
	r = tid ? (int)syscall(SYS_tgkill, pid, tid, 0) : kill((pid_t)pid, 0);
	cache[slot].pid = pid;
	cache[slot].tid = tid;
	cache[slot].at_ns = now;
	cache[slot].gone = r && errno == ESRCH;
	return cache[slot].gone;
}

uint32_t coll_idle_limit(double interval_s, long nkeys, uint32_t max_keys)
{
	uint32_t limit = (uint32_t)(IDLE_EXPIRE_S / (interval_s > 0 ? interval_s : 1));

	if (nkeys > (long)(max_keys * FULL_RATIO) || limit < 2)
		limit = 2;
	return limit;
}

void coll_fold_u64(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	ctr[0] = percpu_sum(vals, ncpu);
	*max = 0;
}

static void on_elem(const void *key, const void *vals, void *ctx)
{
	struct coll *c = ctx;
	const struct coll_map *cm = &c->d->maps[c->cur_map];
	uint64_t cur[COLL_MAX_CTR], d[COLL_MAX_CTR], max = 0;
	struct coll_delta *cd;
	int r;

	cm->fold(vals, cm->percpu ? ncpus_possible() : 1, cur, &max);
	r = ctrtab__update(c->ms[c->cur_map].prev, key, cur, d);
	if (r <= 0) {
		if (r < 0)
			c->err = r;
		return;
	}
	if (array_grow((void **)&c->deltas, &c->deltas_cap, c->ndeltas + 1, sizeof(*cd))) {
		c->err = -ENOMEM;
		return;
	}
	cd = &c->deltas[c->ndeltas++];
	memset(cd, 0, sizeof(*cd));
	cd->map = (uint32_t)c->cur_map;
	memcpy(cd->v, d, cm->nctr * sizeof(uint64_t));
	cd->max = max;
	memcpy(cd->key, key, cm->key_sz);
}

/* qsort has no context: the identity length of the collector being read */
static size_t g_id_len;

/* by identity, then map, then the rest of the key */
static int delta_cmp(const void *a, const void *b)
{
	const struct coll_delta *x = a, *y = b;
	int r = memcmp(x->key, y->key, g_id_len);

	if (r)
		return r;
	if (x->map != y->map)
		return x->map < y->map ? -1 : 1;
	return memcmp(x->key + g_id_len, y->key + g_id_len, COLL_MAX_KEY - g_id_len);
}

/* all keys start with (pid, tid): drop the keys of tasks that exited */
static bool key_stale(const void *key, void *ctx)
{
	const uint32_t *id = key;

	(void)ctx;
	return coll_owner_gone(id[0], id[1]);
}

struct expire_ctx {
	struct coll *c;
	size_t map;
};

/*
 * Delete an idle key from its map, keeping what reached it after it was
 * read (a flush between the read and the delete): the value taken at
 * deletion minus the one read is counted in the next read.
 */
static void expire_key(const void *key, const uint64_t *prev, void *ctx)
{
	struct expire_ctx *e = ctx;
	struct coll *c = e->c;
	const struct coll_map *cm = &c->d->maps[e->map];
	size_t vsz = cm->percpu ? ((cm->val_sz + 7) & ~(size_t)7) * ncpus_possible() : cm->val_sz;
	uint64_t cur[COLL_MAX_CTR], max = 0;
	struct coll_delta *cd;
	bool any = false;

	if (!c->vals && !(c->vals = calloc(1, COLL_MAX_VALS)))
		return;
	if (vsz > COLL_MAX_VALS || c->take(c, e->map, key, c->vals))
		return;
	cm->fold(c->vals, cm->percpu ? ncpus_possible() : 1, cur, &max);
	for (int i = 0; i < cm->nctr; i++) {
		cur[i] = counter_delta(prev[i], cur[i]);
		any |= cur[i] != 0;
	}
	if (!any || array_grow((void **)&c->late, &c->late_cap, c->nlate + 1, sizeof(*c->late)))
		return;
	cd = &c->late[c->nlate++];
	memset(cd, 0, sizeof(*cd));
	cd->map = (uint32_t)e->map;
	memcpy(cd->v, cur, cm->nctr * sizeof(uint64_t));
	cd->max = max;
	memcpy(cd->key, key, cm->key_sz);
}

static void probe_elem(const void *key, const void *vals, void *ctx)
{
	(void)key, (void)vals, (void)ctx;
}

bool coll__works_unprivileged(struct coll *c)
{
	struct bpf_program *p;
	uint8_t zero[64] = {};

	for (size_t m = 0; m < c->d->nmaps && c->ms[m].map; m++) {
		const struct coll_map *cm = &c->d->maps[m];
		int fd = bpf_map__fd(c->ms[m].map);

		/* the read every interval makes, and the idle-key delete (of a
		 * key that is not there: ENOENT when allowed, EPERM when not) */
		if (map_read_all(fd, cm->key_sz, cm->val_sz, cm->percpu, probe_elem, NULL) < 0)
			return false;
		if (cm->key_sz <= sizeof(zero) && bpf_map_delete_elem(fd, zero) && errno != ENOENT)
			return false;
	}
	bpf_object__for_each_program(p, c->d->skel_obj(c->skel))
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(p) >= 0 &&
		    bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			return false;
	}
	return true;
}

void coll_fold_sys_val(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	const struct sys_val *v = vals;

	(void)ncpu;
	ctr[0] = v->count;
	ctr[1] = v->sum_ns;
	*max = v->max_ns;
}

/* runs of this collector's programs the kernel skipped because one was
 * already running on the CPU (bpf_prog_info.recursion_misses, 5.12+) */
static uint64_t recursion_misses(const struct coll *c)
{
	struct bpf_program *p;
	uint64_t n = 0;

	bpf_object__for_each_program(p, c->d->skel_obj(c->skel))
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(p) >= 0 &&
		    !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

static int read_drops(struct coll *c, uint64_t drops[LS_DROP_MAX])
{
	struct bpf_map *map = c->drops;
	int ncpu = ncpus_possible();
	uint64_t *vals, rec;

	if (!map)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 d = 0; d < LS_DROP_MAX; d++) {
		uint64_t sum;

		if (d == LS_DROP_RECURSION || d == LS_DROP_RECORD ||
		    bpf_map_lookup_elem(bpf_map__fd(map), &d, vals))
			continue;
		sum = percpu_sum(vals, ncpu);
		drops[d] += counter_delta(c->prev_drops[d], sum);
		c->prev_drops[d] = sum;
	}
	free(vals);
	rec = recursion_misses(c);
	drops[LS_DROP_RECURSION] += counter_delta(c->prev_drops[LS_DROP_RECURSION], rec);
	c->prev_drops[LS_DROP_RECURSION] = rec;
	return 0;
}

/* the row's owner from the identity bytes of its keys */
static void fill_id(struct coll *c, struct row_id *id, const uint8_t *key)
{
	if (c->by == LS_BY_COMM) {
		memcpy(id->comm, key, LS_COMM_LEN);
		id->comm[LS_COMM_LEN - 1] = 0;
		return;
	}
	memcpy(&id->pid, key, 4);
	memcpy(&id->tid, key + 4, 4);
	memcpy(&id->cgid, key + 8, 8);
	id->cgroup = coll__cgroup(c, id->cgid);
	if (c->by != LS_BY_CGROUP)
		coll__comm(c, id->pid, id->tid, id->comm);
}

int coll__collect(struct coll *c, struct names *names, struct interval *iv)
{
	const struct coll_desc *d = c->d;
	struct table *t = interval__table(iv, d->schema);
	bool per_task = c->by == LS_BY_PROCESS || c->by == LS_BY_THREAD;
	size_t i, j, m;
	int err;

	if (!t)
		return -ENOSPC;
	t->active = true;
	if (c->skel && d->harvest && (err = d->harvest(c)))
		return err;
	c->names = names;
	c->ndeltas = 0;
	c->err = 0;
	/* what deleted keys got after their last read, first */
	if (c->nlate &&
	    array_grow((void **)&c->deltas, &c->deltas_cap, c->nlate, sizeof(*c->deltas)))
		return -ENOMEM;
	if (c->nlate)
		memcpy(c->deltas, c->late, c->nlate * sizeof(*c->late));
	c->ndeltas = c->nlate;
	c->nlate = 0;
	for (m = 0; m < d->nmaps; m++) {
		struct coll_mapstate *ms = &c->ms[m];
		long n;

		ctrtab__begin(ms->prev, coll_idle_limit(c->interval_s, ms->nkeys, ms->max_entries),
			      per_task ? key_stale : NULL, NULL);
		c->cur_map = m;
		n = c->read(c, m, c, on_elem);
		if (n < 0)
			return (int)n;
		ms->nkeys = n;
	}
	if (c->err)
		return c->err;
	err = read_drops(c, iv->drops);
	if (err)
		return err;

	/* every map's changes, merged by row identity: a change seen in any
	 * one of them makes (or adds to) the row */
	g_id_len = d->id_len;
	if (c->ndeltas)
		qsort(c->deltas, c->ndeltas, sizeof(*c->deltas), delta_cmp);
	for (i = 0; i < c->ndeltas; i = j) {
		void *row;

		for (j = i + 1;
		     j < c->ndeltas && !memcmp(c->deltas[i].key, c->deltas[j].key, d->id_len); j++)
			;
		row = table__add(t);
		if (!row)
			return -ENOMEM;
		fill_id(c, row, c->deltas[i].key);
		err = d->to_row(c, row, &c->deltas[i], j - i, iv);
		if (err)
			return err;
	}
	for (m = 0; m < d->nmaps; m++) {
		struct expire_ctx e = {.c = c, .map = m};

		ctrtab__expire(c->ms[m].prev, expire_key, &e);
	}
	return 0;
}

struct comm_ctx {
	struct bpf_map *map;
	enum ls_by by;
};

static void comm_from_map(uint32_t pid, uint32_t tid, char *out, void *ctx)
{
	struct comm_ctx *cc = ctx;
	struct comm_val cv = {};
	__u32 id = cc->by == LS_BY_THREAD && tid ? tid : pid;

	if (cc->map && !bpf_map__lookup_elem(cc->map, &id, sizeof(id), &cv, sizeof(cv), 0))
		memcpy(out, cv.comm, LS_COMM_LEN);
}

void coll__comm(struct coll *c, uint32_t pid, uint32_t tid, char *out)
{
	struct comm_ctx ctx = {.map = c->task_comm, .by = tid ? LS_BY_THREAD : LS_BY_PROCESS};

	if (!pid || !c->names) {
		snprintf(out, LS_COMM_LEN, "?");
		return;
	}
	snprintf(out, LS_COMM_LEN, "%s", names__comm(c->names, pid, tid, comm_from_map, &ctx));
}

const char *coll__cgroup(struct coll *c, uint64_t cgid)
{
	return cgid && c->names ? names__cgroup(c->names, cgid) : "";
}

int coll_harvest(uint32_t *epoch, struct bpf_map *barrier, struct bpf_map *inner,
		 struct bpf_link *iter)
{
	int ifd = bpf_map__fd(inner), fd;
	__u32 zero = 0;
	char buf[64];
	ssize_t n;

	__atomic_store_n(epoch, *epoch + 1, __ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(bpf_map__fd(barrier), &zero, &ifd, BPF_ANY))
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(iter));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}
