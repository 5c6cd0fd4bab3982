// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "mapread.h"
#include "names.h"
#include "schema.h"
#include "syscalls.h"
#include "syscalls.skel.h"
#include "sysclass.h"
#include "util.h"

_Static_assert(HIST_SUB == sizeof(((struct oct_val *)0)->count) / sizeof(__u64),
	       "oct_val holds one octave of hist.h buckets");

enum { MAP_LAT, MAP_ERRS, MAP_WAITS };

/* a row is (owner, syscall) in both maps */
_Static_assert(offsetof(struct sys_key, octave) == offsetof(struct err_key, err), "row identity");
_Static_assert(offsetof(struct sys_key, octave) == offsetof(struct waits_key, pad1),
	       "row identity");

static uint32_t default_keys(int ncpu)
{
	uint64_t per = sizeof(struct sys_key) + 64 + sizeof(struct oct_val) * (uint64_t)ncpu;
	uint64_t n = SYS_BUDGET_BYTES / per / 1024 * 1024;

	return n < SYS_MIN_KEYS ? SYS_MIN_KEYS : n > SYS_MAX_KEYS ? SYS_MAX_KEYS : (uint32_t)n;
}

static uint64_t budget(uint32_t max_keys, int ncpu)
{
	uint64_t lat, err, waits;

	if (!max_keys)
		max_keys = default_keys(ncpu);
	/* per element: key + per-CPU value on every possible CPU + ~64 B of
	 * hash-table bookkeeping */
	lat = (uint64_t)max_keys * (sizeof(struct sys_key) + 64 + sizeof(struct oct_val) * ncpu);
	err = (uint64_t)(max_keys / 4) * (sizeof(struct err_key) + 64 + 8 * ncpu);
	waits = (uint64_t)(max_keys / 4) *
		(sizeof(struct waits_key) + 64 + sizeof(struct waits_val) * ncpu);
	return lat + err + waits + 8192ULL * (4 + 16 + 64) /* task_comm */;
}

/* an octave's sub-bucket counts and sum are counters; its max is not */
static void fold_oct(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	struct oct_val cur;

	oct_val_merge(vals, ncpu, &cur);
	memcpy(ctr, cur.count, sizeof(cur.count));
	ctr[HIST_SUB] = cur.sum_ns;
	*max = cur.max_ns;
}

#define NWAITS (int)(sizeof(struct waits_val) / sizeof(uint64_t))

static void fold_waits(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	const uint64_t *v = vals;

	memset(ctr, 0, NWAITS * sizeof(*ctr));
	for (int cpu = 0; cpu < ncpu; cpu++)
		for (int i = 0; i < NWAITS; i++)
			ctr[i] += v[cpu * NWAITS + i];
	*max = 0;
}

static const struct coll_map maps[] = {
	[MAP_LAT] = {"syscall_lat", sizeof(struct sys_key), sizeof(struct oct_val), true,
		     HIST_SUB + 1, fold_oct, 1, 1},
	[MAP_ERRS] = {"syscall_errs", sizeof(struct err_key), sizeof(uint64_t), true, 1,
		      coll_fold_u64, 1, 4},
	[MAP_WAITS] = {"syscall_waits", sizeof(struct waits_key), sizeof(struct waits_val), true,
		       NWAITS, fold_waits, 1, 4},
};

COLL_SKEL(syscalls)

/* one per-thread value for every object (bpf/task.bpf.h) */
static const char *const shared[] = {"task_state", NULL};

static int configure(void *skel, const struct coll_opts *o, bool btf)
{
	struct syscalls *s = skel;

	(void)btf;
	COLL_SET_RODATA(s->rodata, &o->filter);
	s->rodata->self_tgid = getpid();
	if (syscall_nr("futex") >= 0)
		s->rodata->nr_futex = (__u32)syscall_nr("futex");
	if (syscall_nr("io_uring_enter") >= 0)
		s->rodata->nr_uring = (__u32)syscall_nr("io_uring_enter");
	s->rodata->calls_on = o->calls;
	s->rodata->slow_threshold_ns = o->threshold_ns;
	if (!o->slow) /* the ring buffer's least size: nothing goes out */
		return bpf_map__set_max_entries(s->maps.slow_events, 4096);
	s->rodata->slow_on = 1;
	memcpy((void *)s->rodata->sys_class, o->slow->sys_class, LS_MAX_SYSCALL);
	/* one event per interval, bursts of a tenth of a second's worth
	 * (at least 16 events) */
	s->rodata->slow_interval_ns = 1000000000ULL / o->slow->max_rate;
	s->rodata->slow_burst_ns = s->rodata->slow_interval_ns *
				   (o->slow->max_rate / 10 > 16 ? o->slow->max_rate / 10 : 16);
	return 0;
}

/* each thread accumulates in its own task storage (bpf/syscalls.bpf.c) */
static int harvest(struct coll *c)
{
	struct syscalls *s = coll__skel(c);

	return coll_harvest(&s->bss->harvest_epoch, s->maps.rcu_barrier, s->maps.rcu_inner,
			    s->links.ls_harvest_sys);
}

static int errno_desc(const void *a, const void *b)
{
	const struct errno_count *x = a, *y = b;

	return x->count > y->count ? -1 : x->count < y->count;
}

static int to_row(struct coll *c, void *row, const struct coll_delta *d, size_t n,
		  struct interval *iv)
{
	struct sys_row *r = row;
	struct hbin *bins = interval__bins_reserve(iv, HIST_BUCKETS);
	size_t nb = 0, i;
	uint32_t top_octave = 0;

	if (!bins)
		return -ENOMEM;
	(void)c;
	r->nr = ((const struct sys_key *)d[0].key)->nr;
	r->errs.off = (uint32_t)iv->nerrs;
	for (i = 0; i < n; i++) {
		const struct sys_key *k = (const void *)d[i].key;
		uint32_t base = k->octave * HIST_SUB, used = 0, top = 0;

		if (d[i].map == MAP_WAITS) {
			memcpy(&r->waits, d[i].v, sizeof(r->waits));
			continue;
		}
		if (d[i].map == MAP_ERRS) {
			const struct err_key *ek = (const void *)d[i].key;

			if (interval__add_errno(iv, ek->err, d[i].v[0]))
				return -ENOMEM;
			r->errors += d[i].v[0];
			continue;
		}
		for (uint32_t b = 0; b < HIST_SUB; b++) {
			if (!d[i].v[b] || nb == HIST_BUCKETS)
				continue;
			bins[nb].bucket = base + b;
			bins[nb].count = d[i].v[b];
			bins[nb++].sum = 0;
			used++;
			top = base + b;
		}
		if (!used)
			continue;
		/* the octave's sum is a bucket's sum when only one was hit */
		if (used == 1)
			bins[nb - 1].sum = d[i].v[HIST_SUB];
		r->lat.sum_ns += d[i].v[HIST_SUB];
		/* the highest octave's top bucket holds the max */
		if (k->octave >= top_octave) {
			top_octave = k->octave;
			r->lat.max_ns = hist_bucket_clamp(top, d[i].max);
		}
	}
	r->errs.n = (uint32_t)(iv->nerrs - r->errs.off);
	if (r->errs.n > 1)
		qsort(iv->errs + r->errs.off, r->errs.n, sizeof(*iv->errs), errno_desc);
	for (i = 0; i < nb; i++)
		r->count += bins[i].count;
	interval__set_hist(iv, &r->lat, nb);
	return 0;
}

static char *syscall_text(const struct field *f, const void *row, const struct interval *iv,
			  char *buf, size_t len)
{
	const char *name = syscall_name(((const struct sys_row *)row)->nr);

	(void)f;
	(void)iv;
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "syscall_%u", ((const struct sys_row *)row)->nr);
	return buf;
}

static const char *syscall_label(const struct field *f, const void *row, char *buf, size_t len)
{
	return syscall_text(f, row, NULL, buf, len);
}

static void syscall_json(const struct field *f, const void *row, const struct interval *iv,
			 struct jw *w)
{
	char buf[24];

	jw_str(w, f->json, syscall_text(f, row, iv, buf, sizeof(buf)));
}

/* "7 EAGAIN": the errors and the most frequent errno */
static char *errors_text(const struct field *f, const void *row, const struct interval *iv,
			 char *buf, size_t len)
{
	const struct sys_row *r = row;
	char cnt[16], en[32];

	(void)f;
	if (r->errors && r->errs.n)
		snprintf(buf, len, "%s %s", fmt_count(r->errors, cnt, sizeof(cnt)),
			 errno_name((int)iv->errs[r->errs.off].err, en, sizeof(en)));
	else
		snprintf(buf, len, "%llu", (unsigned long long)r->errors);
	return buf;
}

/*
 * --breakdown: shares of the row's total latency. Calls that never left
 * the CPU were on CPU throughout; the others' parts come from
 * syscall_waits. That map is written at sys_exit while the latency reaches
 * syscall_lat through the per-thread banks, so a call at an interval's edge
 * can land in neighbouring intervals: shares are clamped to [0, 100].
 */
enum share { SHARE_ONCPU, SHARE_RUNQ, SHARE_BLOCKED };

static bool share_of(const struct sys_row *r, enum share which, double *pct)
{
	const struct waits_val *w = &r->waits;
	double total = (double)r->lat.sum_ns, part;

	if (total <= 0)
		return false;
	switch (which) {
	case SHARE_RUNQ: part = (double)w->runq_ns; break;
	case SHARE_BLOCKED: part = (double)w->blocked_ns; break;
	default: part = total - (double)w->lat_ns + (double)w->oncpu_ns; break;
	}
	*pct = part <= 0 ? 0 : part >= total ? 100 : 100 * part / total;
	return true;
}

static enum share share_field(const struct field *f)
{
	return (enum share)f->stat;
}

static char *share_text(const struct field *f, const void *row, const struct interval *iv,
			char *buf, size_t len)
{
	double pct;

	(void)iv;
	if (!share_of(row, share_field(f), &pct))
		return "-";
	snprintf(buf, len, "%.0f", pct);
	return buf;
}

static void share_json(const struct field *f, const void *row, const struct interval *iv,
		       struct jw *w)
{
	double pct;

	(void)iv;
	if (share_of(row, share_field(f), &pct))
		jw_num(w, f->json, pct);
	else
		jw_null(w, f->json);
}

static double share_value(const struct field *f, const void *row, const struct interval *iv)
{
	double pct = 0;

	(void)iv;
	share_of(row, share_field(f), &pct);
	return pct;
}

#define SHARE(nm, hdr, js, which)                                                      \
	{                                                                              \
		.name = nm, .header = hdr, .width = 5, .json = js, .kind = FK_DERIVED, \
		.stat = (enum hist_stat)which, .flags = F_SORT, .group = FG_BREAKDOWN, \
		.text = share_text, .jsonfn = share_json, .value = share_value         \
	}

/* idle waits (user/sysclass.c), by syscall number */
static bool idle_nr(uint32_t nr)
{
	static int8_t known[LS_MAX_SYSCALL]; /* 0: not asked yet, 1: idle, -1: not */
	const char *name;

	if (nr >= LS_MAX_SYSCALL)
		return false;
	if (!known[nr])
		known[nr] = (name = syscall_name(nr)) && sysclass_idle(name) ? 1 : -1;
	return known[nr] > 0;
}

static bool row_idle(const void *row)
{
	return idle_nr(((const struct sys_row *)row)->nr);
}

static void idle_json(const struct field *f, const void *row, const struct interval *iv,
		      struct jw *w)
{
	(void)iv;
	jw_bool(w, f->json, row_idle(row));
}

static const char *idle_label(const struct field *f, const void *row, char *buf, size_t len)
{
	(void)f, (void)buf, (void)len;
	return row_idle(row) ? "true" : "false";
}

#define LAT_STAT(nm, al, hdr, st)                                                         \
	{                                                                                 \
		.name = nm, .aliases = {al}, .header = hdr, .width = 8, .kind = FK_HSTAT, \
		FIELD_AT(struct sys_row, lat), .stat = st, .flags = F_SORT                \
	}

#define WAITS_SUM(m)                                                                   \
	{                                                                              \
		.name = "waits_" #m, .kind = FK_U64, FIELD_AT(struct sys_row, waits.m) \
	}

static const struct field fields[] = {
	{.name = "syscall",
	 .header = "SYSCALL",
	 .width = 18,
	 .json = "syscall",
	 .kind = FK_U32,
	 FIELD_AT(struct sys_row, nr),
	 .flags = F_KEY | F_LEFT,
	 .prom = "syscall",
	 .role = PROM_LABEL,
	 .text = syscall_text,
	 .jsonfn = syscall_json,
	 .label = syscall_label},
	{.name = "count",
	 .header = "COUNT",
	 .width = 8,
	 .json = "count",
	 .kind = FK_U64,
	 FIELD_AT(struct sys_row, count),
	 .flags = F_SORT},
	{.name = "errors",
	 .header = "ERRORS",
	 .width = 18,
	 .json = "errors",
	 .kind = FK_U64,
	 FIELD_AT(struct sys_row, errors),
	 .flags = F_SORT | F_LEFT,
	 .text = errors_text},
	{.name = "error_pct",
	 .header = "ERR%",
	 .width = 5,
	 .json = "error_pct",
	 .kind = FK_RATIO,
	 FIELD_AT(struct sys_row, errors),
	 .off2 = offsetof(struct sys_row, count),
	 .flags = F_SORT},
	{.name = "errnos",
	 .json = "errnos",
	 .kind = FK_ERRNOS,
	 FIELD_AT(struct sys_row, errs),
	 .prom = "syscall_errors_total",
	 .role = PROM_ERRNO_COUNTER,
	 .help = "Failed syscalls (returns in [-4095, -1]) by errno."},
	{.name = "lat",
	 .json = "lat_us",
	 .kind = FK_HIST,
	 FIELD_AT(struct sys_row, lat),
	 .scale = 1e3,
	 .prom = "syscall_duration_seconds",
	 .role = PROM_HISTOGRAM,
	 .help = "Syscall latency, sys_enter to sys_exit of one thread."},
	LAT_STAT("p50", NULL, "P50", HS_P50),
	LAT_STAT("p99", NULL, "P99", HS_P99),
	LAT_STAT("max", NULL, "MAX", HS_MAX),
	{.name = "time",
	 .header = "TOTAL",
	 .width = 8,
	 .json = "total_us",
	 .kind = FK_HSTAT,
	 FIELD_AT(struct sys_row, lat),
	 .stat = HS_TOTAL,
	 .scale = 1e3,
	 .flags = F_SORT},
	SHARE("oncpu_pct", "CPU%", "oncpu_pct", SHARE_ONCPU),
	SHARE("runq_pct", "RUNQ%", "runq_pct", SHARE_RUNQ),
	SHARE("blocked_pct", "BLK%", "blocked_pct", SHARE_BLOCKED),
	{.name = "over",
	 .header = "OVER",
	 .width = 7,
	 .json = "over_threshold",
	 .kind = FK_U64,
	 FIELD_AT(struct sys_row, waits.over),
	 .flags = F_SORT,
	 .group = FG_OVER},
	/* serve exports idle waits too, labelled, so rules can leave them out */
	{.name = "idle",
	 .json = "idle",
	 .kind = FK_DERIVED,
	 .group = FG_IDLE,
	 .prom = "idle",
	 .role = PROM_LABEL,
	 .jsonfn = idle_json,
	 .label = idle_label},
	/* the breakdown's sums: no column, no JSON member, listed so that
	 * merged rows (grouped by comm, service or process) add them up */
	WAITS_SUM(calls),
	WAITS_SUM(lat_ns),
	WAITS_SUM(oncpu_ns),
	WAITS_SUM(runq_ns),
	WAITS_SUM(preempted_ns),
	WAITS_SUM(blocked_ns),
	WAITS_SUM(disk_ns),
};

/* busiest first */
static int tiebreak(const void *a, const void *b)
{
	const struct sys_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return 0;
}

static const struct row_schema schema = {
	.name = "syscalls",
	.row_size = sizeof(struct sys_row),
	.fields = fields,
	.nfields = ARRAY_SIZE(fields),
	.default_sort = "p99",
	.tiebreak = tiebreak,
	.idle = row_idle,
};

const struct coll_desc sys_coll_desc = {
	.name = "syscalls",
	.needs = "tracepoints raw_syscalls:sys_enter, raw_syscalls:sys_exit,\n"
		 "  sched:sched_process_exit, cgroup:cgroup_attach_task, task:task_rename;\n"
		 "  a task iterator (ls_harvest_sys) and an array of maps (rcu_barrier);\n"
		 "  maps: per-CPU hash (syscall_lat, syscall_errs), task storage (task_state), LRU "
		 "hash (task_comm);\n  slow: ring buffer (slow_events)",
	.hooks = "raw_syscalls:sys_enter/sys_exit",
	.schema = &schema,
	.id_len = offsetof(struct sys_key, octave),
	.maps = maps,
	.nmaps = ARRAY_SIZE(maps),
	.shared = shared,
	.default_keys = default_keys,
	.max_keys_div = 1,
	.budget = budget,
	COLL_SKEL_OPS(syscalls),
	.configure = configure,
	.harvest = harvest,
	.to_row = to_row,
};
