// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "ctrtab.h"
#include "log.h"
#include "mapread.h"
#include "syscalls.h"
#include "syscalls.skel.h"
#include "util.h"

/* one syscall_lat key's interval delta, before grouping into rows */
struct sys_delta {
	struct sys_key k;
	uint64_t count[HIST_SUB], sum_ns, max_ns;
};

_Static_assert(HIST_SUB == sizeof(((struct oct_val *)0)->count) / sizeof(__u64),
	       "oct_val holds one octave of hist.h buckets");

struct err_delta {
	struct err_key k;
	uint64_t count;
};

struct sys_coll {
	struct syscalls *skel;
	const char *variant;
	uint32_t max_keys;
	double interval_s;
	struct ctrtab *prev_lat, *prev_err; /* counters: count, sum_ns / count */
	long nkeys[2];
	uint64_t prev_drops[LS_DROP_MAX];
	uint32_t gen;
	/* scratch reused every interval */
	struct sys_delta *deltas;
	size_t ndeltas, deltas_cap;
	struct err_delta *edeltas;
	size_t nedeltas, edeltas_cap;
	int oom;
};

static int open_variant(void *coll, const struct coll_opts *o, bool btf, char *why, size_t why_len)
{
	struct sys_coll *c = coll;
	const struct filter_opts *f = &o->filter;
	struct syscalls *s;
	int err;

	s = syscalls__open();
	if (!s) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s", strerror(-err));
		return err;
	}
	COLL_SET_RODATA(s->rodata, f);
	s->rodata->self_tgid = getpid();
	bpf_program__set_autoload(s->progs.ls_enter_btf, btf);
	bpf_program__set_autoload(s->progs.ls_exit_btf, btf);
	bpf_program__set_autoload(s->progs.ls_enter_raw, !btf);
	bpf_program__set_autoload(s->progs.ls_exit_raw, !btf);
	bpf_map__set_max_entries(s->maps.syscall_lat, c->max_keys);
	bpf_map__set_max_entries(s->maps.syscall_errs, c->max_keys / 4 ? c->max_keys / 4 : 1);

	err = syscalls__load(s);
	if (err) {
		snprintf(why, why_len, "cannot load %s programs: %s", btf ? "tp_btf" : "raw_tp",
			 strerror(-err));
		goto destroy;
	}
	err = coll_apply_filters(s->maps.filter_pids, s->maps.filter_cgroup, f, why, why_len);
	if (err)
		goto destroy;
	err = syscalls__attach(s);
	if (err) {
		snprintf(why, why_len, "cannot attach to raw_syscalls:sys_enter/sys_exit (%s): %s",
			 btf ? "tp_btf" : "raw_tp", strerror(-err));
		goto destroy;
	}
	c->skel = s;
	c->variant = btf ? "tp_btf" : "raw_tp";
	return 0;
destroy:
	syscalls__destroy(s);
	return err;
}

int sys_coll__open(struct sys_coll **out, const struct coll_opts *o, char *why, size_t why_len)
{
	struct sys_coll *c;
	int err = -ENOMEM;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->max_keys = o->max_keys ? o->max_keys : sys_coll__default_keys(ncpus_possible());
	c->interval_s = o->interval_s > 0 ? o->interval_s : 1;
	c->prev_lat = ctrtab__new(sizeof(struct sys_key), HIST_SUB + 1);
	c->prev_err = ctrtab__new(sizeof(struct err_key), 1);
	if (!c->prev_lat || !c->prev_err) {
		snprintf(why, why_len, "out of memory");
		goto free_coll;
	}
	err = coll_open_variants("syscalls", open_variant, c, o, why, why_len);
	if (err)
		goto free_coll;
	*out = c;
	return 0;
free_coll:
	sys_coll__free(c);
fail:
	return err;
}

const char *sys_coll__variant(const struct sys_coll *c)
{
	return c->variant;
}

uint32_t sys_coll__default_keys(int ncpu)
{
	uint64_t per = sizeof(struct sys_key) + 64 + sizeof(struct oct_val) * (uint64_t)ncpu;
	uint64_t n = SYS_BUDGET_BYTES / per / 1024 * 1024;

	return n < SYS_MIN_KEYS ? SYS_MIN_KEYS : n > SYS_MAX_KEYS ? SYS_MAX_KEYS : (uint32_t)n;
}

uint64_t sys_coll__budget(uint32_t max_keys, int ncpu)
{
	uint64_t lat, err;

	if (!max_keys)
		max_keys = sys_coll__default_keys(ncpu);
	/* per element: key + per-CPU value on every possible CPU + ~64 B of
	 * hash-table bookkeeping */
	lat = (uint64_t)max_keys * (sizeof(struct sys_key) + 64 + sizeof(struct oct_val) * ncpu);
	err = (uint64_t)(max_keys / 4) * (sizeof(struct err_key) + 64 + 8 * ncpu);
	return lat + err + 8192ULL * (4 + 16 + 64) /* task_comm */;
}

void sys_coll__free(struct sys_coll *c)
{
	if (!c)
		return;
	syscalls__destroy(c->skel);
	ctrtab__free(c->prev_lat);
	ctrtab__free(c->prev_err);
	free(c->deltas);
	free(c->edeltas);
	free(c);
}

static void on_lat_elem(const void *key, const void *vals, void *ctx)
{
	struct sys_coll *c = ctx;
	struct oct_val cur;
	uint64_t ctr[HIST_SUB + 1], d[HIST_SUB + 1];
	struct sys_delta *sd;
	int r;

	oct_val_merge(vals, ncpus_possible(), &cur);
	memcpy(ctr, cur.count, sizeof(cur.count));
	ctr[HIST_SUB] = cur.sum_ns;
	r = ctrtab__update(c->prev_lat, key, ctr, d);
	if (r <= 0) {
		if (r < 0)
			c->oom = 1;
		return;
	}
	if (array_grow((void **)&c->deltas, &c->deltas_cap, c->ndeltas + 1, sizeof(*sd))) {
		c->oom = 1;
		return;
	}
	sd = &c->deltas[c->ndeltas++];
	memcpy(&sd->k, key, sizeof(sd->k));
	memcpy(sd->count, d, sizeof(sd->count));
	sd->sum_ns = d[HIST_SUB];
	sd->max_ns = cur.max_ns;
}

static void on_err_elem(const void *key, const void *vals, void *ctx)
{
	struct sys_coll *c = ctx;
	uint64_t cur = percpu_sum(vals, ncpus_possible()), d;
	int r;

	r = ctrtab__update(c->prev_err, key, &cur, &d);
	if (r <= 0) {
		if (r < 0)
			c->oom = 1;
		return;
	}
	if (array_grow((void **)&c->edeltas, &c->edeltas_cap, c->nedeltas + 1,
		       sizeof(struct err_delta))) {
		c->oom = 1;
		return;
	}
	memcpy(&c->edeltas[c->nedeltas].k, key, sizeof(struct err_key));
	c->edeltas[c->nedeltas++].count = d;
}

/* row identity: everything in the key but the bucket / errno */
static int row_cmp(uint32_t pa, uint32_t ta, uint64_t ca, uint32_t na, uint32_t pb, uint32_t tb,
		   uint64_t cb, uint32_t nb)
{
	if (pa != pb)
		return pa < pb ? -1 : 1;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (na != nb)
		return na < nb ? -1 : 1;
	return 0;
}

static int delta_cmp(const void *a, const void *b)
{
	const struct sys_key *x = &((const struct sys_delta *)a)->k;
	const struct sys_key *y = &((const struct sys_delta *)b)->k;
	int r = row_cmp(x->pid, x->tid, x->cgid, x->nr, y->pid, y->tid, y->cgid, y->nr);

	return r ? r : (x->octave > y->octave) - (x->octave < y->octave);
}

static int edelta_cmp(const void *a, const void *b)
{
	const struct err_delta *x = a, *y = b;
	int r = row_cmp(x->k.pid, x->k.tid, x->k.cgid, x->k.nr, y->k.pid, y->k.tid, y->k.cgid,
			y->k.nr);

	if (r)
		return r;
	return x->count > y->count ? -1 : x->count < y->count; /* most frequent first */
}

/* sys_key and err_key both start with (pid, tid) */
static bool key_stale(const void *key, void *ctx)
{
	const struct sys_key *k = key;

	(void)ctx;
	return coll_owner_gone(k->pid, k->tid);
}

struct del_ctx {
	int fd;
};

static void del_key(const void *key, void *ctx)
{
	bpf_map_delete_elem(((struct del_ctx *)ctx)->fd, key);
}

int sys_coll__collect(struct sys_coll *c, struct names *names, struct interval *iv)
{
	struct syscalls *s = c->skel;
	size_t i, j, e;
	long nkeys;
	int err;

	c->gen++;
	c->ndeltas = c->nedeltas = 0;
	c->oom = 0;
	ctrtab__begin(c->prev_lat, coll_idle_limit(c->interval_s, c->nkeys[0], c->max_keys),
		      key_stale, NULL);
	ctrtab__begin(c->prev_err, coll_idle_limit(c->interval_s, c->nkeys[1], c->max_keys / 4),
		      key_stale, NULL);
	c->nkeys[0] = nkeys = map_read_all(bpf_map__fd(s->maps.syscall_lat), sizeof(struct sys_key),
					   sizeof(struct oct_val), true, on_lat_elem, c);
	if (nkeys < 0)
		return (int)nkeys;
	c->nkeys[1] = map_read_all(bpf_map__fd(s->maps.syscall_errs), sizeof(struct err_key),
				   sizeof(uint64_t), true, on_err_elem, c);
	if (c->nkeys[1] < 0)
		return (int)c->nkeys[1];
	if (c->oom)
		return -ENOMEM;

	err = coll_read_drops(s->maps.drops, c->prev_drops, iv->drops);
	if (err)
		return err;

	qsort(c->deltas, c->ndeltas, sizeof(*c->deltas), delta_cmp);
	qsort(c->edeltas, c->nedeltas, sizeof(*c->edeltas), edelta_cmp);

	/* group consecutive deltas of one row; bins reuse a scratch array */
	e = 0;
	for (i = 0; i < c->ndeltas; i = j) {
		const struct sys_key *k = &c->deltas[i].k;
		struct hbin bins[HIST_BUCKETS];
		uint64_t sum = 0, top_max = 0;
		size_t nb = 0;
		struct sys_row *r;

		for (j = i; j < c->ndeltas &&
			    !row_cmp(k->pid, k->tid, k->cgid, k->nr, c->deltas[j].k.pid,
				     c->deltas[j].k.tid, c->deltas[j].k.cgid, c->deltas[j].k.nr);
		     j++) {
			const struct sys_delta *sd = &c->deltas[j];
			uint32_t base = sd->k.octave * HIST_SUB, used = 0, top = 0;

			for (uint32_t b = 0; b < HIST_SUB; b++) {
				if (!sd->count[b] || nb == HIST_BUCKETS)
					continue;
				bins[nb].bucket = base + b;
				bins[nb].count = sd->count[b];
				bins[nb++].sum = 0;
				used++;
				top = base + b;
			}
			if (!used)
				continue;
			/* the octave's sum is a bucket's sum when only one was hit */
			if (used == 1)
				bins[nb - 1].sum = sd->sum_ns;
			sum += sd->sum_ns;
			/* octaves ascend: the last one's top bucket holds the max */
			top_max = hist_bucket_clamp(top, sd->max_ns);
		}
		if (array_grow((void **)&iv->sys, &iv->sys_cap, iv->nsys + 1, sizeof(*r)))
			return -ENOMEM;
		r = &iv->sys[iv->nsys++];
		memset(r, 0, sizeof(*r));
		r->pid = k->pid;
		r->tid = k->tid;
		r->cgid = k->cgid;
		r->nr = k->nr;
		hist_summarize(bins, nb, sum, top_max, &r->lat);
		r->count = r->lat.count;
		r->cgroup = names__cgroup(names, k->cgid);
		if (iv->by != LS_BY_CGROUP)
			coll_row_comm(s->maps.task_comm, names, iv->by, k->pid, k->tid, r->comm);
		/* errnos of this row: edeltas is sorted the same way */
		while (e < c->nedeltas &&
		       row_cmp(c->edeltas[e].k.pid, c->edeltas[e].k.tid, c->edeltas[e].k.cgid,
			       c->edeltas[e].k.nr, k->pid, k->tid, k->cgid, k->nr) < 0)
			e++;
		r->err_off = iv->nerrs;
		while (e < c->nedeltas &&
		       !row_cmp(c->edeltas[e].k.pid, c->edeltas[e].k.tid, c->edeltas[e].k.cgid,
				c->edeltas[e].k.nr, k->pid, k->tid, k->cgid, k->nr)) {
			if (array_grow((void **)&iv->errs, &iv->errs_cap, iv->nerrs + 1,
				       sizeof(*iv->errs)))
				return -ENOMEM;
			iv->errs[iv->nerrs].err = c->edeltas[e].k.err;
			iv->errs[iv->nerrs++].count = c->edeltas[e].count;
			r->errors += c->edeltas[e].count;
			e++;
		}
		r->err_n = iv->nerrs - r->err_off;
	}
	{
		struct del_ctx dc = {.fd = bpf_map__fd(s->maps.syscall_lat)};

		ctrtab__expire(c->prev_lat, del_key, &dc);
		dc.fd = bpf_map__fd(s->maps.syscall_errs);
		ctrtab__expire(c->prev_err, del_key, &dc);
	}
	return 0;
}
