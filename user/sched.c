// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "schema.h"
#include "sched.h"
#include "sched.skel.h"
#include "stats.h"
#include "util.h"

#define NSTAT (int)(sizeof(struct sched_val) / sizeof(uint64_t))

enum { MAP_STATS, MAP_RUNQ, MAP_CULPRITS };

/* a row is its owner in all three maps */
_Static_assert(offsetof(struct runq_key, bucket) == sizeof(struct sched_key), "row identity");
_Static_assert(offsetof(struct culprit_key, cpid) == sizeof(struct sched_key), "row identity");

static uint32_t default_keys(int ncpu)
{
	(void)ncpu;
	return SCHED_DEFAULT_MAX_KEYS;
}

static uint64_t budget(uint32_t max_keys, int ncpu)
{
	uint64_t k = max_keys ? max_keys : SCHED_DEFAULT_MAX_KEYS;

	return k * (sizeof(struct sched_key) + 64 + sizeof(struct sched_val) * ncpu) +
	       4 * k * (sizeof(struct runq_key) + 64 + sizeof(struct runq_val) * ncpu) +
	       2 * k * (sizeof(struct culprit_key) + 64 + 8ULL * ncpu);
}

static void fold_stats(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	const uint64_t *v = vals;

	memset(ctr, 0, NSTAT * sizeof(*ctr));
	for (int cpu = 0; cpu < ncpu; cpu++)
		for (int i = 0; i < NSTAT; i++)
			ctr[i] += v[cpu * NSTAT + i];
	*max = 0;
}

static void fold_runq(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	const struct runq_val *v = vals;

	ctr[0] = *max = 0;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		ctr[0] += v[cpu].count;
		if (v[cpu].max_ns > *max)
			*max = v[cpu].max_ns;
	}
}

static const struct coll_map maps[] = {
	[MAP_STATS] = {"sched_stats", sizeof(struct sched_key), sizeof(struct sched_val), true,
		       NSTAT, fold_stats, 1, 1},
	[MAP_RUNQ] = {"runq_lat", sizeof(struct runq_key), sizeof(struct runq_val), true, 1,
		      fold_runq, 4, 1},
	[MAP_CULPRITS] = {"runq_culprits", sizeof(struct culprit_key), sizeof(uint64_t), true, 1,
			  coll_fold_u64, 2, 1},
};

COLL_SKEL(sched)

/* one per-thread value for every object (bpf/task.bpf.h) */
static const char *const shared[] = {"task_state", NULL};

static int configure(void *skel, const struct coll_opts *o, bool btf)
{
	struct sched *s = skel;

	COLL_SET_RODATA(s->rodata, &o->filter);
	/* the LRU is the raw_tp fallback's per-thread state only */
	if (btf)
		bpf_map__set_max_entries(s->maps.task_sched_lru, 1);
	s->rodata->state_in_lru = !btf;
	/* the per-call breakdown needs task storage for the task switched in,
	 * which raw_tp cannot key */
	if (o->calls && !btf)
		return -EOPNOTSUPP;
	s->rodata->calls_on = o->calls;
	s->rodata->slow_on = o->slow != NULL;
	/* interrupt context, for naming wakers: only when slow runs */
	bpf_program__set_autoload(s->progs.ls_irq_in_btf, o->slow != NULL);
	bpf_program__set_autoload(s->progs.ls_irq_out_btf, o->slow != NULL);
	bpf_program__set_autoload(s->progs.ls_soft_in_btf, o->slow != NULL);
	bpf_program__set_autoload(s->progs.ls_soft_out_btf, o->slow != NULL);
	bpf_program__set_autoload(s->progs.ls_hrt_in_btf, o->slow != NULL);
	bpf_program__set_autoload(s->progs.ls_hrt_out_btf, o->slow != NULL);
	return 0;
}

/* each thread accumulates in its own task storage (bpf/sched.bpf.c) */
static int harvest(struct coll *c)
{
	struct sched *s = coll__skel(c);

	return coll_harvest(&s->bss->harvest_epoch, s->maps.rcu_barrier, s->maps.rcu_inner,
			    s->links.ls_harvest_sched);
}

static int culprit_desc(const void *a, const void *b)
{
	const struct coll_delta *x = *(const struct coll_delta *const *)a;
	const struct coll_delta *y = *(const struct coll_delta *const *)b;

	return x->v[0] > y->v[0] ? -1 : x->v[0] < y->v[0];
}

static int to_row(struct coll *c, void *row, const struct coll_delta *d, size_t n,
		  struct interval *iv)
{
	struct sched_row *r = row;
	struct hbin *bins = interval__bins_reserve(iv, HIST_BUCKETS);
	const struct coll_delta *cul[64];
	size_t nb = 0, ncul = 0;
	uint32_t top = 0;

	if (!bins)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (d[i].map == MAP_STATS) {
			/* struct sched_val order */
			r->runq.sum_ns = d[i].v[0];
			r->oncpu_ns = d[i].v[1];
			r->sleep_ns = d[i].v[2];
			r->disk_ns = d[i].v[3];
			r->preempted_ns = d[i].v[4];
			r->other_ns = d[i].v[5];
			r->vol_switches = d[i].v[6];
			r->invol_switches = d[i].v[7];
			r->offcpu_ns = r->sleep_ns + r->disk_ns + r->preempted_ns + r->other_ns;
		} else if (d[i].map == MAP_RUNQ) {
			uint32_t b = ((const struct runq_key *)d[i].key)->bucket;

			if (!d[i].v[0] || nb == HIST_BUCKETS)
				continue;
			bins[nb].bucket = b;
			bins[nb].sum = 0; /* runq_lat keeps no per-bucket sum */
			bins[nb++].count = d[i].v[0];
			if (b >= top) {
				top = b;
				r->runq.max_ns = hist_bucket_clamp(b, d[i].max);
			}
		} else if (d[i].v[0] && ncul < ARRAY_SIZE(cul)) {
			cul[ncul++] = &d[i];
		}
	}
	interval__set_hist(iv, &r->runq, nb);

	qsort(cul, ncul, sizeof(*cul), culprit_desc);
	r->culprits.off = (uint32_t)iv->nculprits;
	for (size_t i = 0; i < ncul && i < ROW_CULPRITS; i++) {
		const struct culprit_key *ck = (const void *)cul[i]->key;
		struct culprit cp = {.pid = ck->cpid, .cgid = ck->ccgid, .runq_ns = cul[i]->v[0]};

		cp.cgroup = coll__cgroup(c, cp.cgid);
		coll__comm(c, cp.pid, 0, cp.comm);
		if (interval__add_culprit(iv, &cp))
			return -ENOMEM;
		r->culprits.n++;
	}
	return 0;
}

static char *cpu_text(const struct field *f, const void *row, const struct interval *iv, char *buf,
		      size_t len)
{
	const struct sched_row *r = row;

	(void)f;
	snprintf(buf, len, "%.1f", iv->interval_s > 0 ? r->oncpu_ns / (iv->interval_s * 1e7) : 0);
	return buf;
}

static double cpu_value(const struct field *f, const void *row, const struct interval *iv)
{
	(void)f;
	(void)iv;
	return (double)((const struct sched_row *)row)->oncpu_ns;
}

static double switches_value(const struct field *f, const void *row, const struct interval *iv)
{
	const struct sched_row *r = row;

	(void)f;
	(void)iv;
	return (double)(r->vol_switches + r->invol_switches);
}

static char *switches_text(const struct field *f, const void *row, const struct interval *iv,
			   char *buf, size_t len)
{
	return fmt_count((uint64_t)switches_value(f, row, iv), buf, len);
}

/* "900 redis-server (494ms)": the top culprit and its share */
static char *culprit_text(const struct field *f, const void *row, const struct interval *iv,
			  char *buf, size_t len)
{
	const struct sched_row *r = row;
	const struct culprit *cp;
	char comm[4 * LS_COMM_LEN + 1], q[16];

	(void)f;
	if (!r->culprits.n)
		return "-";
	cp = &iv->culprits[r->culprits.off];
	snprintf(buf, len, "%u %s (%s)", cp->pid,
		 fmt_safe(cp->comm, LS_COMM_LEN, comm, sizeof(comm)),
		 fmt_duration((double)cp->runq_ns, q, sizeof(q)));
	return buf;
}

#define RUNQ_STAT(nm, al, hdr, st)                                                        \
	{                                                                                 \
		.name = nm, .aliases = {al}, .header = hdr, .width = 8, .kind = FK_HSTAT, \
		FIELD_AT(struct sched_row, runq), .stat = st, .flags = F_SORT             \
	}
#define NS_FIELD_AT(nm, js, member, hdr, w)                               \
	.name = nm, .header = hdr, .width = w, .json = js, .kind = FK_NS, \
	FIELD_AT(struct sched_row, member), .scale = 1e3, .flags = F_SORT
#define NS_FIELD(nm, js, member, hdr, w)            \
	{                                           \
		NS_FIELD_AT(nm, js, member, hdr, w) \
	}

static const struct field fields[] = {
	{.name = "runq_count",
	 .aliases = {"count"},
	 .json = "runq_count",
	 .kind = FK_HSTAT,
	 FIELD_AT(struct sched_row, runq),
	 .stat = HS_COUNT,
	 .flags = F_SORT},
	{.name = "runq",
	 .json = "runq_us",
	 .kind = FK_HIST,
	 FIELD_AT(struct sched_row, runq),
	 .scale = 1e3,
	 .prom = "runqueue_latency_seconds",
	 .role = PROM_HISTOGRAM,
	 .help = "Run-queue delay: runnable (woken or preempted) until on a CPU."},
	RUNQ_STAT("runq_p50", "p50", "RUNQ-P50", HS_P50),
	RUNQ_STAT("runq_p99", "p99", "RUNQ-P99", HS_P99),
	RUNQ_STAT("runq_max", "max", "RUNQ-MAX", HS_MAX),
	{.name = "runq_total",
	 .aliases = {"time", "errors"},
	 .header = "RUNQ-TOT",
	 .width = 9,
	 .json = "runq_total_us",
	 .kind = FK_HSTAT,
	 FIELD_AT(struct sched_row, runq),
	 .stat = HS_TOTAL,
	 .scale = 1e3,
	 .flags = F_SORT},
	{.name = "cpu",
	 .header = "%CPU",
	 .width = 6,
	 .kind = FK_DERIVED,
	 .flags = F_SORT,
	 .text = cpu_text,
	 .value = cpu_value},
	{NS_FIELD_AT("oncpu", "oncpu_us", oncpu_ns, NULL, 0), .prom = "oncpu_seconds_total",
	 .role = PROM_COUNTER, .help = "Time on a CPU."},
	{NS_FIELD_AT("offcpu", "offcpu_us", offcpu_ns, "OFF-CPU", 8),
	 .prom = "offcpu_seconds_total", .role = PROM_COUNTER,
	 .help = "Time off the CPU: blocked, or runnable and waiting for a CPU."},
	NS_FIELD("offcpu_sleep", "offcpu_sleep_us", sleep_ns, NULL, 0),
	NS_FIELD("offcpu_disk", "offcpu_disk_us", disk_ns, NULL, 0),
	NS_FIELD("preempted", "preempted_us", preempted_ns, NULL, 0),
	{.name = "vol_switches",
	 .json = "vol_switches",
	 .kind = FK_U64,
	 FIELD_AT(struct sched_row, vol_switches),
	 .flags = F_SORT,
	 .prom = "context_switches_total",
	 .role = PROM_COUNTER,
	 .prom_const = "kind=\"voluntary\"",
	 .help = "Context switches away from the task: voluntary (it blocked) or "
		 "involuntary (preempted)."},
	{.name = "invol_switches",
	 .json = "invol_switches",
	 .kind = FK_U64,
	 FIELD_AT(struct sched_row, invol_switches),
	 .flags = F_SORT,
	 .prom = "context_switches_total",
	 .role = PROM_COUNTER,
	 .prom_const = "kind=\"involuntary\""},
	{.name = "switches",
	 .header = "SWITCHES",
	 .width = 8,
	 .kind = FK_DERIVED,
	 .flags = F_SORT,
	 .text = switches_text,
	 .value = switches_value},
	{.name = "culprits",
	 .header = "TOP CULPRIT (its share of RUNQ-TOT)",
	 .json = "culprits",
	 .kind = FK_CULPRITS,
	 FIELD_AT(struct sched_row, culprits),
	 .flags = F_SEP2,
	 .text = culprit_text},
};

/* most waiting first, then busiest */
static int tiebreak(const void *a, const void *b)
{
	const struct sched_row *x = a, *y = b;

	if (x->runq.sum_ns != y->runq.sum_ns)
		return x->runq.sum_ns > y->runq.sum_ns ? -1 : 1;
	if (x->oncpu_ns != y->oncpu_ns)
		return x->oncpu_ns > y->oncpu_ns ? -1 : 1;
	return 0;
}

static const struct row_schema schema = {
	.name = "sched",
	.row_size = sizeof(struct sched_row),
	.fields = fields,
	.nfields = ARRAY_SIZE(fields),
	.default_sort = "runq_p99",
	.tiebreak = tiebreak,
};

const struct coll_desc sched_coll_desc = {
	.name = "sched",
	.needs = "tracepoints sched:sched_waking, sched:sched_wakeup_new, sched:sched_switch,\n"
		 "  sched:sched_process_exit, cgroup:cgroup_attach_task, task:task_rename;\n"
		 "  a task iterator (ls_harvest_sched) and an array of maps (rcu_barrier);\n"
		 "  maps: per-CPU hash (sched_stats, runq_lat, runq_culprits), task storage "
		 "(task_state;\n  LRU hash task_sched_lru for raw_tp); slow: "
		 "irq:irq_handler_entry/exit,\n"
		 "  irq:softirq_entry/exit, timer:hrtimer_expire_entry/exit (tp_btf)",
	.hooks = "sched:sched_waking/sched_switch",
	.schema = &schema,
	.id_len = sizeof(struct sched_key),
	.maps = maps,
	.nmaps = ARRAY_SIZE(maps),
	.shared = shared,
	.default_keys = default_keys,
	.max_keys_div = 8,
	.budget = budget,
	COLL_SKEL_OPS(sched),
	.configure = configure,
	.harvest = harvest,
	.to_row = to_row,
};
