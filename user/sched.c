// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctrtab.h"
#include "hist.h"
#include "log.h"
#include "mapread.h"
#include "sched.h"
#include "sched.skel.h"
#include "util.h"

#define NSTAT (int)(sizeof(struct sched_val) / sizeof(uint64_t))

struct stat_delta {
	struct sched_key k;
	uint64_t d[NSTAT]; /* in struct sched_val order */
};

struct runq_delta {
	struct runq_key k;
	uint64_t count, max_ns;
};

struct cul_delta {
	struct culprit_key k;
	uint64_t runq_ns;
};

struct sched_coll {
	struct sched *skel;
	const char *variant;
	uint32_t max_keys;
	double interval_s;
	struct ctrtab *prev_stats, *prev_runq, *prev_cul;
	uint64_t prev_drops[LS_DROP_MAX];
	uint32_t gen;
	long nkeys[3];
	int err;
	struct stat_delta *sd;
	size_t nsd, sd_cap;
	struct runq_delta *rd;
	size_t nrd, rd_cap;
	struct cul_delta *cd;
	size_t ncd, cd_cap;
};

static int open_variant(void *coll, const struct coll_opts *o, bool btf, char *why, size_t why_len)
{
	struct sched_coll *c = coll;
	struct sched *s;
	int err;

	s = sched__open();
	if (!s) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s", strerror(-err));
		return err;
	}
	COLL_SET_RODATA(s->rodata, &o->filter);
	bpf_program__set_autoload(s->progs.ls_wakeup_btf, btf);
	bpf_program__set_autoload(s->progs.ls_wake_new_btf, btf);
	bpf_program__set_autoload(s->progs.ls_switch_btf, btf);
	bpf_program__set_autoload(s->progs.ls_wakeup_raw, !btf);
	bpf_program__set_autoload(s->progs.ls_wake_new_raw, !btf);
	bpf_program__set_autoload(s->progs.ls_switch_raw, !btf);
	/* the LRU is the raw_tp fallback's per-thread state only */
	if (btf)
		bpf_map__set_max_entries(s->maps.task_sched_lru, 1);
	bpf_map__set_max_entries(s->maps.sched_stats, c->max_keys);
	bpf_map__set_max_entries(s->maps.runq_lat, c->max_keys * 4);
	bpf_map__set_max_entries(s->maps.runq_culprits, c->max_keys * 2);

	err = sched__load(s);
	if (err) {
		snprintf(why, why_len, "cannot load %s programs: %s", btf ? "tp_btf" : "raw_tp",
			 strerror(-err));
		goto destroy;
	}
	err = coll_apply_filters(s->maps.filter_pids, s->maps.filter_cgroup, &o->filter, why,
				 why_len);
	if (err)
		goto destroy;
	err = sched__attach(s);
	if (err) {
		snprintf(why, why_len, "cannot attach to sched:sched_wakeup/sched_switch (%s): %s",
			 btf ? "tp_btf" : "raw_tp", strerror(-err));
		goto destroy;
	}
	c->skel = s;
	c->variant = btf ? "tp_btf" : "raw_tp";
	return 0;
destroy:
	sched__destroy(s);
	return err;
}

int sched_coll__open(struct sched_coll **out, const struct coll_opts *o, char *why, size_t why_len)
{
	struct sched_coll *c;
	int err = -ENOMEM;

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	c->max_keys = o->max_keys ? o->max_keys : SCHED_DEFAULT_MAX_KEYS;
	c->interval_s = o->interval_s > 0 ? o->interval_s : 1;
	c->prev_stats = ctrtab__new(sizeof(struct sched_key), NSTAT);
	c->prev_runq = ctrtab__new(sizeof(struct runq_key), 1);
	c->prev_cul = ctrtab__new(sizeof(struct culprit_key), 1);
	if (!c->prev_stats || !c->prev_runq || !c->prev_cul) {
		snprintf(why, why_len, "out of memory");
		goto fail;
	}
	err = coll_open_variants("sched", open_variant, c, o, why, why_len);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	sched_coll__free(c);
	return err;
}

const char *sched_coll__variant(const struct sched_coll *c)
{
	return c->variant;
}

int sched_coll__task_map_fd(const struct sched_coll *c)
{
	return bpf_map__fd(c->skel->maps.task_sched);
}

uint64_t sched_coll__budget(uint32_t max_keys, int ncpu)
{
	uint64_t k = max_keys ? max_keys : SCHED_DEFAULT_MAX_KEYS;

	return k * (sizeof(struct sched_key) + 64 + sizeof(struct sched_val) * ncpu) +
	       4 * k * (sizeof(struct runq_key) + 64 + sizeof(struct runq_val) * ncpu) +
	       2 * k * (sizeof(struct culprit_key) + 64 + 8ULL * ncpu);
}

long sched_coll__nkeys(const struct sched_coll *c)
{
	return c->nkeys[0] + c->nkeys[1] + c->nkeys[2];
}

void sched_coll__free(struct sched_coll *c)
{
	if (!c)
		return;
	sched__destroy(c->skel);
	ctrtab__free(c->prev_stats);
	ctrtab__free(c->prev_runq);
	ctrtab__free(c->prev_cul);
	free(c->sd);
	free(c->rd);
	free(c->cd);
	free(c);
}

static void on_stat(const void *key, const void *vals, void *ctx)
{
	struct sched_coll *c = ctx;
	const uint64_t *v = vals;
	uint64_t cur[NSTAT] = {}, d[NSTAT];
	int r;

	for (int cpu = 0; cpu < ncpus_possible(); cpu++)
		for (int i = 0; i < NSTAT; i++)
			cur[i] += v[cpu * NSTAT + i];
	r = ctrtab__update(c->prev_stats, key, cur, d);
	if (r <= 0) {
		if (r < 0)
			c->err = r;
		return;
	}
	if (array_grow((void **)&c->sd, &c->sd_cap, c->nsd + 1, sizeof(*c->sd))) {
		c->err = -ENOMEM;
		return;
	}
	memcpy(&c->sd[c->nsd].k, key, sizeof(struct sched_key));
	memcpy(c->sd[c->nsd++].d, d, sizeof(d));
}

static void on_runq(const void *key, const void *vals, void *ctx)
{
	struct sched_coll *c = ctx;
	const struct runq_val *v = vals;
	uint64_t cur = 0, max = 0, d;
	int r;

	for (int cpu = 0; cpu < ncpus_possible(); cpu++) {
		cur += v[cpu].count;
		if (v[cpu].max_ns > max)
			max = v[cpu].max_ns;
	}
	r = ctrtab__update(c->prev_runq, key, &cur, &d);
	if (r <= 0) {
		if (r < 0)
			c->err = r;
		return;
	}
	if (array_grow((void **)&c->rd, &c->rd_cap, c->nrd + 1, sizeof(*c->rd))) {
		c->err = -ENOMEM;
		return;
	}
	memcpy(&c->rd[c->nrd].k, key, sizeof(struct runq_key));
	c->rd[c->nrd].count = d;
	c->rd[c->nrd++].max_ns = max;
}

static void on_cul(const void *key, const void *vals, void *ctx)
{
	struct sched_coll *c = ctx;
	uint64_t cur = percpu_sum(vals, ncpus_possible()), d;
	int r;

	r = ctrtab__update(c->prev_cul, key, &cur, &d);
	if (r <= 0) {
		if (r < 0)
			c->err = r;
		return;
	}
	if (array_grow((void **)&c->cd, &c->cd_cap, c->ncd + 1, sizeof(*c->cd))) {
		c->err = -ENOMEM;
		return;
	}
	memcpy(&c->cd[c->ncd].k, key, sizeof(struct culprit_key));
	c->cd[c->ncd++].runq_ns = d;
}

/* row identity (pid, tid, cgid) is the common prefix of all three keys */
static int id_cmp(const void *a, const void *b)
{
	const struct sched_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->cgid != y->cgid)
		return x->cgid < y->cgid ? -1 : 1;
	return 0;
}

static int rd_cmp(const void *a, const void *b)
{
	const struct runq_delta *x = a, *y = b;
	int r = id_cmp(&x->k, &y->k);

	return r ? r : (x->k.bucket > y->k.bucket) - (x->k.bucket < y->k.bucket);
}

static int cd_cmp(const void *a, const void *b)
{
	const struct cul_delta *x = a, *y = b;
	int r = id_cmp(&x->k, &y->k);

	if (r)
		return r;
	return x->runq_ns > y->runq_ns ? -1 : x->runq_ns < y->runq_ns;
}

struct del_ctx {
	int fd;
};

/* all three sched keys start with (pid, tid) */
static bool key_stale(const void *key, void *ctx)
{
	const struct sched_key *k = key;

	(void)ctx;
	return coll_owner_gone(k->pid, k->tid);
}

static void del_key(const void *key, void *ctx)
{
	bpf_map_delete_elem(((struct del_ctx *)ctx)->fd, key);
}

int sched_coll__collect(struct sched_coll *c, struct names *names, struct interval *iv)
{
	struct sched *s = c->skel;
	struct del_ctx dc;
	size_t i, r = 0, cu = 0;
	int err;

	c->gen++;
	c->nsd = c->nrd = c->ncd = 0;
	c->err = 0;
	ctrtab__begin(c->prev_stats, coll_idle_limit(c->interval_s, c->nkeys[0], c->max_keys),
		      key_stale, NULL);
	ctrtab__begin(c->prev_runq, coll_idle_limit(c->interval_s, c->nkeys[1], c->max_keys * 4),
		      key_stale, NULL);
	ctrtab__begin(c->prev_cul, coll_idle_limit(c->interval_s, c->nkeys[2], c->max_keys * 2),
		      key_stale, NULL);
	c->nkeys[0] = map_read_all(bpf_map__fd(s->maps.sched_stats), sizeof(struct sched_key),
				   sizeof(struct sched_val), true, on_stat, c);
	c->nkeys[1] = map_read_all(bpf_map__fd(s->maps.runq_lat), sizeof(struct runq_key),
				   sizeof(struct runq_val), true, on_runq, c);
	c->nkeys[2] = map_read_all(bpf_map__fd(s->maps.runq_culprits), sizeof(struct culprit_key),
				   sizeof(uint64_t), true, on_cul, c);
	for (i = 0; i < 3; i++)
		if (c->nkeys[i] < 0)
			return (int)c->nkeys[i];
	if (c->err)
		return c->err;
	err = coll_read_drops(s->maps.drops, c->prev_drops, iv->drops);
	if (err)
		return err;

	qsort(c->sd, c->nsd, sizeof(*c->sd), id_cmp);
	qsort(c->rd, c->nrd, sizeof(*c->rd), rd_cmp);
	qsort(c->cd, c->ncd, sizeof(*c->cd), cd_cmp);

	for (i = 0; i < c->nsd; i++) {
		const struct stat_delta *sd = &c->sd[i];
		struct hbin bins[HIST_BUCKETS];
		uint64_t top_max = 0;
		size_t nb = 0;
		struct sched_row *row;

		if (array_grow((void **)&iv->sched, &iv->sched_cap, iv->nsched + 1, sizeof(*row)))
			return -ENOMEM;
		row = &iv->sched[iv->nsched++];
		memset(row, 0, sizeof(*row));
		row->pid = sd->k.pid;
		row->tid = sd->k.tid;
		row->cgid = sd->k.cgid;
		row->runq_ns = sd->d[0];
		row->oncpu_ns = sd->d[1];
		row->sleep_ns = sd->d[2];
		row->disk_ns = sd->d[3];
		row->preempted_ns = sd->d[4];
		row->other_ns = sd->d[5];
		row->vol_switches = sd->d[6];
		row->invol_switches = sd->d[7];
		row->offcpu_ns = row->sleep_ns + row->disk_ns + row->preempted_ns + row->other_ns;
		row->cgroup = names__cgroup(names, sd->k.cgid);
		if (iv->by != LS_BY_CGROUP)
			coll_row_comm(s->maps.task_comm, names, iv->by, sd->k.pid, sd->k.tid,
				      row->comm);

		while (r < c->nrd && id_cmp(&c->rd[r].k, &sd->k) < 0)
			r++;
		for (; r < c->nrd && !id_cmp(&c->rd[r].k, &sd->k); r++) {
			if (!c->rd[r].count)
				continue;
			bins[nb].bucket = c->rd[r].k.bucket;
			bins[nb].sum = 0; /* runq_lat keeps no per-bucket sum */
			bins[nb++].count = c->rd[r].count;
			top_max = hist_bucket_clamp(c->rd[r].k.bucket, c->rd[r].max_ns);
		}
		hist_summarize(bins, nb, row->runq_ns, top_max, &row->runq);

		while (cu < c->ncd && id_cmp(&c->cd[cu].k, &sd->k) < 0)
			cu++;
		row->cul_off = iv->nculprits;
		for (; cu < c->ncd && !id_cmp(&c->cd[cu].k, &sd->k); cu++) {
			struct culprit *cp;

			if (row->cul_n == SCHED_CULPRITS || !c->cd[cu].runq_ns)
				continue;
			if (array_grow((void **)&iv->culprits, &iv->culprits_cap, iv->nculprits + 1,
				       sizeof(*cp)))
				return -ENOMEM;
			cp = &iv->culprits[iv->nculprits++];
			memset(cp, 0, sizeof(*cp));
			cp->pid = c->cd[cu].k.cpid;
			cp->cgid = c->cd[cu].k.ccgid;
			cp->runq_ns = c->cd[cu].runq_ns;
			cp->cgroup = names__cgroup(names, cp->cgid);
			coll_row_comm(s->maps.task_comm, names, LS_BY_PROCESS, cp->pid, 0,
				      cp->comm);
			row->cul_n++;
		}
	}

	dc.fd = bpf_map__fd(s->maps.sched_stats);
	ctrtab__expire(c->prev_stats, del_key, &dc);
	dc.fd = bpf_map__fd(s->maps.runq_lat);
	ctrtab__expire(c->prev_runq, del_key, &dc);
	dc.fd = bpf_map__fd(s->maps.runq_culprits);
	ctrtab__expire(c->prev_cul, del_key, &dc);
	return 0;
}
