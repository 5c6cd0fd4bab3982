// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The row model: sorting by any field, grouping by comm from merged bins,
 * the generic collector read (maps merged by row identity), counter
 * tables, and the options that reach them. No root, no BPF.
 */
#include <errno.h>
#include <stdlib.h>
#include "collector.h"
#include "ctrtab.h"
#include "hist.h"
#include "mapread.h"
#include "opts.h"
#include "rows.h"
#include "sched.h"
#include "schema.h"
#include "syscalls.h"
#include "test.h"

/* a syscall row of pid with the exact samples given (ns) and errnos */
static struct sys_row *sys_row_of(struct interval *iv, uint32_t pid, const char *comm, uint32_t nr,
				  const uint64_t *ns, size_t n, uint32_t err, uint64_t nerr)
{
	struct table *t = interval__table(iv, sys_coll_desc.schema);
	struct sys_row *r = table__add(t);
	struct hbin *b = interval__bins_reserve(iv, n);

	t->active = true;
	r->id.pid = pid;
	snprintf(r->id.comm, LS_COMM_LEN, "%s", comm);
	r->nr = nr;
	for (size_t i = 0; i < n; i++) {
		b[i].bucket = hist_bucket(ns[i]);
		b[i].count = 1;
		b[i].sum = 0;
		r->lat.sum_ns += ns[i];
		if (ns[i] > r->lat.max_ns)
			r->lat.max_ns = ns[i];
	}
	interval__set_hist(iv, &r->lat, n);
	r->count = n;
	r->errs.off = (uint32_t)iv->nerrs;
	if (nerr) {
		interval__add_errno(iv, err, nerr);
		r->errs.n = 1;
		r->errors = nerr;
	}
	return r;
}

static const struct sys_row *sys_at(const struct interval *iv, size_t i)
{
	return table__row(&iv->tables[0], i);
}

TEST_CASE(sort_by_field_names_and_short_aliases_largest_first)
{
	struct interval iv = {};
	uint64_t fast[] = {100, 100, 100, 100}, slow[] = {5000000}, mid[] = {20000, 30000};

	sys_row_of(&iv, 1, "a", 0, fast, 4, 0, 0);
	sys_row_of(&iv, 2, "b", 0, slow, 1, 0, 0);
	sys_row_of(&iv, 3, "c", 0, mid, 2, 11, 2);
	interval__summarize(&iv);

	interval__sort(&iv, "p99");
	ASSERT_EQ_U64(sys_at(&iv, 0)->id.pid, 2, "p99: slowest first");
	ASSERT_EQ_U64(sys_at(&iv, 2)->id.pid, 1, "p99: fastest last");
	interval__sort(&iv, "count");
	ASSERT_EQ_U64(sys_at(&iv, 0)->id.pid, 1, "count: busiest first");
	interval__sort(&iv, "errors");
	ASSERT_EQ_U64(sys_at(&iv, 0)->id.pid, 3, "errors: failing first");
	/* a field of another row kind only: this table keeps its default */
	interval__sort(&iv, "runq_total");
	ASSERT_EQ_U64(sys_at(&iv, 0)->id.pid, 2, "unknown here: default p99");
	interval__free(&iv);
}

TEST_CASE(sort_names_resolve_per_row_kind)
{
	const struct row_schema *sys = sys_coll_desc.schema, *sched = sched_coll_desc.schema;

	ASSERT(schema__sort_field(sys, "p99") &&
		       !strcmp(schema__sort_field(sys, "p99")->name, "p99"),
	       "syscalls p99");
	ASSERT(!strcmp(schema__sort_field(sched, "p99")->name, "runq_p99"), "sched p99 alias");
	ASSERT(!strcmp(schema__sort_field(sched, "time")->name, "runq_total"), "sched time");
	ASSERT(!strcmp(schema__sort_field(sched, "count")->name, "runq_count"), "sched count");
	ASSERT(schema__sort_field(sys, "runq_total") == NULL, "not a syscalls field");
	ASSERT(schema__sort_field(sys, "lat") == NULL, "histograms themselves do not sort");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* nearest-rank percentile of sorted samples */
static uint64_t exact_pct(const uint64_t *s, size_t n, double q)
{
	size_t rank = (size_t)(q * n + 0.999999);

	return s[(rank ? rank : 1) - 1];
}

TEST_CASE(group_by_comm_recomputes_percentiles_from_merged_bins)
{
	struct interval iv = {};
	uint64_t a[50], b[30], c[20], all[100];
	const struct sys_row *r;
	size_t n = 0;

	/* three curl processes with different latency profiles: averaging
	 * their percentiles would be far off; merged bins are not */
	for (int i = 0; i < 50; i++)
		a[i] = 1000 + 37 * i; /* ~1-3 us */
	for (int i = 0; i < 30; i++)
		b[i] = 200000 + 9000 * i; /* ~0.2-0.5 ms */
	for (int i = 0; i < 20; i++)
		c[i] = 40000000 + 1000000 * i; /* 40-60 ms */
	sys_row_of(&iv, 10, "curl", 0, a, 50, 11, 2);
	sys_row_of(&iv, 11, "curl", 0, b, 30, 11, 3);
	sys_row_of(&iv, 12, "curl", 0, c, 20, 4, 1);
	sys_row_of(&iv, 13, "nginx", 0, a, 5, 0, 0);
	sys_row_of(&iv, 14, "curl", 1, a, 7, 0, 0); /* another syscall: its own row */
	memcpy(all, a, sizeof(a));
	memcpy(all + 50, b, sizeof(b));
	memcpy(all + 80, c, sizeof(c));
	qsort(all, 100, sizeof(all[0]), cmp_u64);

	ASSERT(interval__group_by_comm(&iv) == 0, "group");
	interval__summarize(&iv);
	interval__sort(&iv, "count");
	ASSERT_EQ_U64(iv.tables[0].n, 3, "rows: curl/read, curl/write, nginx/read");
	for (size_t i = 0; i < iv.tables[0].n; i++) {
		r = sys_at(&iv, i);
		ASSERT_EQ_U64(r->id.pid, 0, "no pid in a comm row");
		if (!strcmp(r->id.comm, "curl") && r->nr == 0)
			break;
	}
	ASSERT(!strcmp(r->id.comm, "curl") && r->nr == 0, "curl read row");
	ASSERT_EQ_U64(r->count, 100, "count adds up");
	ASSERT_EQ_U64(r->lat.s.count, 100, "merged bins hold every sample");
	ASSERT_EQ_U64(r->errors, 6, "errors add up");
	ASSERT_EQ_U64(r->errs.n, 2, "two errnos");
	ASSERT_EQ_U64(iv.errs[r->errs.off].err, 11, "most frequent errno first");
	ASSERT_EQ_U64(iv.errs[r->errs.off].count, 5, "EAGAIN 2 + 3");
	for (n = 0; n < 3; n++) {
		static const double qs[] = {0.5, 0.9, 0.99};
		double got = n == 0 ? r->lat.s.p50 : n == 1 ? r->lat.s.p90 : r->lat.s.p99;
		double want = (double)exact_pct(all, 100, qs[n]);

		ASSERT(got >= want * 0.875 && got <= want * 1.125,
		       "p%g of merged bins %.0f, exact %.0f (12.5%% bound)", qs[n] * 100, got,
		       want);
	}
	ASSERT(r->lat.s.max >= 59000000 * 0.875, "max from the slowest process");
	interval__free(&iv);
}

TEST_CASE(group_by_cgroup_merges_processes_of_one_cgroup_into_service_rows)
{
	struct interval iv = {};
	uint64_t a[40], b[60], all[100];
	struct sys_row *r;
	const struct sys_row *g;
	bool seen_web = false;

	/* two processes of nginx.service, one of ssh.service, and a second
	 * syscall of nginx: rows merge per (cgroup, syscall), never across */
	for (int i = 0; i < 40; i++)
		a[i] = 3000 + 50 * i;
	for (int i = 0; i < 60; i++)
		b[i] = 900000 + 20000 * i;
	r = sys_row_of(&iv, 10, "nginx", 0, a, 40, 11, 2);
	r->id.cgid = 7, r->id.cgroup = "/system.slice/nginx.service";
	r = sys_row_of(&iv, 11, "nginx", 0, b, 60, 11, 3);
	r->id.cgid = 7, r->id.cgroup = "/system.slice/nginx.service";
	r = sys_row_of(&iv, 12, "sshd", 0, a, 5, 0, 0);
	r->id.cgid = 9, r->id.cgroup = "/system.slice/ssh.service";
	r = sys_row_of(&iv, 10, "nginx", 1, a, 3, 0, 0);
	r->id.cgid = 7, r->id.cgroup = "/system.slice/nginx.service";
	memcpy(all, a, sizeof(a));
	memcpy(all + 40, b, sizeof(b));
	qsort(all, 100, sizeof(all[0]), cmp_u64);

	ASSERT(interval__group_by_cgroup(&iv) == 0, "group");
	ASSERT_EQ_U64(iv.by, LS_BY_CGROUP, "rows are cgroup rows");
	interval__summarize(&iv);
	interval__sort(&iv, "count");
	ASSERT_EQ_U64(iv.tables[0].n, 3, "rows: nginx/read, nginx/write, ssh/read");
	for (size_t i = 0; i < iv.tables[0].n; i++) {
		g = sys_at(&iv, i);
		ASSERT_EQ_U64(g->id.pid, 0, "no pid in a cgroup row");
		ASSERT(!g->id.comm[0], "no comm in a cgroup row: '%s'", g->id.comm);
		ASSERT(g->id.cgroup != NULL, "the cgroup path stays");
		if (g->id.cgid != 7 || g->nr != 0)
			continue;
		seen_web = true;
		ASSERT(!strcmp(g->id.cgroup, "/system.slice/nginx.service"), "path %s",
		       g->id.cgroup);
		ASSERT_EQ_U64(g->count, 100, "counts of both processes add up");
		ASSERT_EQ_U64(g->lat.s.count, 100, "merged bins hold every sample");
		ASSERT_EQ_U64(g->errors, 5, "errors add up");
		ASSERT_EQ_U64(g->errs.n, 1, "one errno");
		ASSERT_EQ_U64(iv.errs[g->errs.off].count, 5, "EAGAIN 2 + 3");
		ASSERT(g->lat.s.p50 >= exact_pct(all, 100, 0.5) * 0.875 &&
			       g->lat.s.p50 <= exact_pct(all, 100, 0.5) * 1.125,
		       "p50 %.0f from merged bins, exact %llu", g->lat.s.p50,
		       (unsigned long long)exact_pct(all, 100, 0.5));
		ASSERT(g->lat.s.max >= 900000 + 20000 * 59 * 0.875, "max from the slower process");
	}
	ASSERT(seen_web, "no nginx.service read row");
	ASSERT_EQ_U64(sys_at(&iv, 0)->count, 100, "busiest row first");
	interval__free(&iv);
}

TEST_CASE(grouping_rows_whose_bins_outgrow_the_array_keeps_every_sample)
{
	struct interval iv = {};
	static uint64_t ns[200];
	const struct sys_row *r;

	/* each merge appends both rows' bins: with these many the bin array
	 * grows (moves) while a row's own range is being copied from it */
	for (int i = 0; i < 200; i++)
		ns[i] = 1000 + 997 * (uint64_t)i * i;
	for (uint32_t p = 0; p < 8; p++)
		sys_row_of(&iv, 100 + p, "many", 0, ns, 200, 0, 0);
	ASSERT(interval__group_by_comm(&iv) == 0, "group");
	interval__summarize(&iv);
	r = sys_at(&iv, 0);
	ASSERT_EQ_U64(iv.tables[0].n, 1, "one row");
	ASSERT_EQ_U64(r->lat.s.count, 1600, "every sample of the eight rows");
	ASSERT(r->lat.s.max >= ns[199] * 0.875, "max %.0f", r->lat.s.max);
	interval__free(&iv);
}

TEST_CASE(grouping_adds_up_the_breakdown_sums_of_merged_rows)
{
	struct interval iv = {};
	uint64_t a[4] = {1000000, 1000000, 1000000, 1000000};
	const struct row_schema *s = sys_coll_desc.schema;
	const struct field *blk = NULL;
	struct sys_row *r;
	double pct;

	/* curl 1: all its time blocked; curl 2: all on the run queue. Merged,
	 * half and half: the shares come from summed parts, not the first
	 * row's */
	r = sys_row_of(&iv, 40, "curl", 0, a, 4, 0, 0);
	r->waits.calls = 4, r->waits.lat_ns = 4000000, r->waits.blocked_ns = 4000000;
	r = sys_row_of(&iv, 41, "curl", 0, a, 4, 0, 0);
	r->waits.calls = 4, r->waits.lat_ns = 4000000, r->waits.runq_ns = 4000000;
	ASSERT(interval__group_by_comm(&iv) == 0, "group");
	ASSERT_EQ_U64(iv.tables[0].n, 1, "one curl row");
	r = table__row(&iv.tables[0], 0);
	ASSERT_EQ_U64(r->waits.calls, 8, "calls that left the CPU");
	ASSERT_EQ_U64(r->waits.blocked_ns, 4000000, "blocked");
	ASSERT_EQ_U64(r->waits.runq_ns, 4000000, "run queue");
	for (size_t i = 0; i < s->nfields; i++)
		if (!strcmp(s->fields[i].name, "blocked_pct"))
			blk = &s->fields[i];
	ASSERT(blk, "blocked_pct field");
	pct = field__value(blk, r, &iv);
	ASSERT(pct > 49 && pct < 51, "blocked share %.1f%%, want 50", pct);
	interval__free(&iv);
}

TEST_CASE(group_by_process_merges_threads_and_copy_keeps_the_original)
{
	struct interval iv = {}, copy = {};
	uint64_t a[10] = {1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000};
	struct sys_row *r;

	r = sys_row_of(&iv, 20, "java", 0, a, 10, 0, 0);
	r->id.tid = 21;
	r = sys_row_of(&iv, 20, "java", 0, a, 4, 0, 0);
	r->id.tid = 22;
	r = sys_row_of(&iv, 30, "java", 0, a, 2, 0, 0);
	r->id.tid = 30;
	iv.by = LS_BY_THREAD;
	ASSERT(interval__copy(&copy, &iv) == 0, "copy");
	ASSERT(interval__group_by_process(&copy) == 0, "group");
	interval__summarize(&copy);
	interval__sort(&copy, "count");
	ASSERT_EQ_U64(copy.by, LS_BY_PROCESS, "process rows");
	ASSERT_EQ_U64(copy.tables[0].n, 2, "one row per process");
	ASSERT_EQ_U64(sys_at(&copy, 0)->id.pid, 20, "the two-thread process first");
	ASSERT_EQ_U64(sys_at(&copy, 0)->id.tid, 0, "no tid in a process row");
	ASSERT_EQ_U64(sys_at(&copy, 0)->count, 14, "both threads' calls");
	ASSERT_EQ_U64(sys_at(&copy, 0)->lat.s.count, 14, "both threads' bins");
	/* the original is untouched: the TUI re-derives from it */
	ASSERT_EQ_U64(iv.by, LS_BY_THREAD, "original still by thread");
	ASSERT_EQ_U64(iv.tables[0].n, 3, "original rows");
	ASSERT_EQ_U64(sys_at(&iv, 1)->id.tid, 22, "original tid");
	/* a second copy over the first reuses its storage */
	ASSERT(interval__copy(&copy, &iv) == 0, "copy again");
	ASSERT_EQ_U64(copy.tables[0].n, 3, "copy of three rows");
	ASSERT_EQ_U64(copy.nbins, iv.nbins, "bins copied");
	interval__free(&iv);
	interval__free(&copy);
}

/* --- the generic collector read, over fake maps --- */

struct fake_map {
	uint8_t key[8][COLL_MAX_KEY];
	uint8_t val[8][256];
	size_t n;
};

static struct fake_map fake[4]; /* one per map of the collector */
static int deleted;

static long fake_read(struct coll *c, size_t map, void *ctx,
		      void (*fn)(const void *key, const void *vals, void *ctx))
{
	(void)c;
	for (size_t i = 0; i < fake[map].n; i++)
		fn(fake[map].key[i], fake[map].val[i], ctx);
	return (long)fake[map].n;
}

/* what a flush adds to the value between the read and the delete */
static uint64_t race_add;

static long fake_take(struct coll *c, size_t map, const void *key, void *vals)
{
	(void)c;
	for (size_t i = 0; i < fake[map].n; i++) {
		if (memcmp(fake[map].key[i], key, sys_coll_desc.maps[map].key_sz))
			continue;
		((struct oct_val *)fake[map].val[i])->count[1] += race_add;
		memcpy(vals, fake[map].val[i], sizeof(fake[map].val[i]));
		fake[map].n--;
		memmove(fake[map].key[i], fake[map].key[i + 1], (fake[map].n - i) * COLL_MAX_KEY);
		memmove(fake[map].val[i], fake[map].val[i + 1],
			(fake[map].n - i) * sizeof(fake[map].val[i]));
		deleted++;
		return 0;
	}
	return -ENOENT;
}

TEST_CASE(change_only_in_secondary_map_is_reported_not_lost)
{
	struct coll_opts o = {.filter = {.by = LS_BY_CGROUP, .cgroup_fd = -1}, .max_keys = 1024};
	struct coll *c = coll__new_detached(&sys_coll_desc, &o, fake_read, fake_take);
	struct sys_key k = {.cgid = 7, .nr = 0, .octave = 2};
	struct err_key ek = {.cgid = 7, .nr = 0, .err = 11};
	struct oct_val *ov = (void *)fake[0].val[0];
	uint64_t *ev = (void *)fake[1].val[0];
	struct interval iv = {.by = LS_BY_CGROUP};
	const struct sys_row *r;
	int ncpu = ncpus_possible();

	ASSERT(c, "detached collector");
	ASSERT(ncpu * sizeof(struct oct_val) <= sizeof(fake[0].val[0]), "fake value room");
	memset(fake, 0, sizeof(fake));
	memcpy(fake[0].key[0], &k, sizeof(k));
	memcpy(fake[1].key[0], &ek, sizeof(ek));
	fake[0].n = fake[1].n = 1;
	ov[0].count[1] = 4;
	ov[0].sum_ns = 70;
	ov[0].max_ns = 20;
	ev[0] = 1;
	ASSERT(coll__collect(c, NULL, &iv) == 0, "first read");
	ASSERT_EQ_U64(iv.tables[0].n, 1, "one row");
	r = table__row(&iv.tables[0], 0);
	ASSERT_EQ_U64(r->count, 4, "count");
	ASSERT_EQ_U64(r->errors, 1, "errors");

	/* the next read: syscall_lat unchanged, syscall_errs moved on (the
	 * exit updated errs after the read of lat) */
	interval__reset(&iv);
	ev[0] = 3;
	ASSERT(coll__collect(c, NULL, &iv) == 0, "second read");
	ASSERT_EQ_U64(iv.tables[0].n, 1, "the errs-only change makes a row");
	r = table__row(&iv.tables[0], 0);
	ASSERT_EQ_U64(r->count, 0, "no new calls");
	ASSERT_EQ_U64(r->errors, 2, "both new errors reported");
	ASSERT_EQ_U64(r->errs.n, 1, "one errno");
	ASSERT_EQ_U64(iv.errs[r->errs.off].count, 2, "EAGAIN delta");

	/* nothing changed: no row at all */
	interval__reset(&iv);
	ASSERT(coll__collect(c, NULL, &iv) == 0, "third read");
	ASSERT_EQ_U64(iv.tables[0].n, 0, "idle: no row");
	interval__free(&iv);
	coll__free(c);
}

/* issue 14: an idle key is deleted after it was read; a flush that reached
 * it in between (race_add) must be counted, not lost with the key */
TEST_CASE(increment_between_read_and_delete_of_an_idle_key_is_counted)
{
	struct coll_opts o = {.filter = {.by = LS_BY_PROCESS, .cgroup_fd = -1}, .max_keys = 1024};
	struct coll *c = coll__new_detached(&sys_coll_desc, &o, fake_read, fake_take);
	/* a pid that cannot exist: its key is stale after two idle reads */
	struct sys_key k = {.pid = 0x7ffffff0, .nr = 39, .octave = 2};
	struct oct_val *ov = (void *)fake[0].val[0];
	struct interval iv = {.by = LS_BY_PROCESS};
	uint64_t total = 0;

	ASSERT(c, "detached collector");
	memset(fake, 0, sizeof(fake));
	memcpy(fake[0].key[0], &k, sizeof(k));
	fake[0].n = 1;
	ov[0].count[1] = 10;
	deleted = 0;
	race_add = 5;
	for (int read = 0; read < 6; read++) {
		interval__reset(&iv);
		ASSERT(coll__collect(c, NULL, &iv) == 0, "read %d", read);
		for (size_t r = 0; r < iv.tables[0].n; r++)
			total += ((const struct sys_row *)table__row(&iv.tables[0], r))->count;
	}
	ASSERT_EQ_U64(deleted, 1, "the idle key of a gone pid deleted");
	ASSERT_EQ_U64(total, 15, "the 10 read and the 5 added before the delete");
	interval__free(&iv);
	coll__free(c);
}

TEST_CASE(counter_table_turns_cumulative_reads_into_deltas)
{
	struct ctrtab *t = ctrtab__new(sizeof(uint32_t), 2);
	uint32_t key = 5;
	uint64_t cur[2] = {10, 100}, d[2];

	ASSERT(t, "ctrtab");
	ctrtab__begin(t, 2, NULL, NULL);
	ASSERT(ctrtab__update(t, &key, cur, d) == 1, "new key changed");
	ASSERT_EQ_U64(d[0], 10, "first delta is the value");
	ctrtab__begin(t, 2, NULL, NULL);
	ASSERT(ctrtab__update(t, &key, cur, d) == 0, "unchanged");
	cur[1] = 150;
	ctrtab__begin(t, 2, NULL, NULL);
	ASSERT(ctrtab__update(t, &key, cur, d) == 1, "second counter moved");
	ASSERT_EQ_U64(d[0], 0, "first unchanged");
	ASSERT_EQ_U64(d[1], 50, "second delta");
	ctrtab__free(t);
}

TEST_CASE(opts_accept_by_comm_and_field_sort_names)
{
	struct options o;
	char err[256];
	char *a1[] = {"latscope", "top", "--by", "comm", "--sort", "runq_total", "--no-tcp"};
	char *a2[] = {"latscope", "--sort", "no_such_field"};
	char *a3[] = {"latscope", "--by", "pid"};

	ASSERT(opts_parse(&o, 7, a1, err, sizeof(err)) == 0, "parse: %s", err);
	ASSERT_EQ_U64(o.by, LS_BY_COMM, "--by comm");
	ASSERT(!strcmp(o.sort, "runq_total"), "--sort field name");
	ASSERT(o.noff == 1 && !strcmp(o.off[0], "tcp"), "--no-tcp");
	ASSERT(opts_parse(&o, 3, a2, err, sizeof(err)) == -EINVAL, "bad sort");
	ASSERT(strstr(err, "--sort 'no_such_field'"), "names option and value: %s", err);
	ASSERT(opts_parse(&o, 3, a3, err, sizeof(err)) == -EINVAL, "bad by");
	ASSERT(strstr(err, "comm"), "lists comm: %s", err);
}
