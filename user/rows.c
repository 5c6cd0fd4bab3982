// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "rows.h"
#include "schema.h"
#include "util.h"

const char *const drop_names[LS_DROP_MAX] = {
	[LS_DROP_SYS_LAT] = "syscall_lat", [LS_DROP_SYS_ERR] = "syscall_errs",
	[LS_DROP_TASK] = "task_storage",   [LS_DROP_SCHED] = "sched_stats",
	[LS_DROP_RUNQ] = "runq_lat",	   [LS_DROP_CULPRIT] = "runq_culprits",
	[LS_DROP_TCP] = "tcp_stats",	   [LS_DROP_TCP_HIST] = "tcp_hist",
};

struct table *interval__table(struct interval *iv, const struct row_schema *schema)
{
	struct table *t;

	for (size_t i = 0; i < iv->ntables; i++)
		if (iv->tables[i].schema == schema)
			return &iv->tables[i];
	if (iv->ntables == IV_MAX_TABLES)
		return NULL;
	t = &iv->tables[iv->ntables++];
	memset(t, 0, sizeof(*t));
	t->schema = schema;
	t->row_size = schema->row_size;
	return t;
}

void *table__add(struct table *t)
{
	void *r;

	if (array_grow(&t->rows, &t->cap, t->n + 1, t->row_size))
		return NULL;
	r = table__row(t, t->n++);
	memset(r, 0, t->row_size);
	return r;
}

long interval__add_bins(struct interval *iv, const struct hbin *bins, size_t n)
{
	size_t off = iv->nbins;

	if (!n)
		return (long)off;
	if (array_grow((void **)&iv->bins, &iv->bins_cap, iv->nbins + n, sizeof(*bins)))
		return -ENOMEM;
	memcpy(iv->bins + off, bins, n * sizeof(*bins));
	iv->nbins += n;
	return (long)off;
}

struct hbin *interval__bins_reserve(struct interval *iv, size_t max)
{
	if (array_grow((void **)&iv->bins, &iv->bins_cap, iv->nbins + max, sizeof(*iv->bins)))
		return NULL;
	return iv->bins + iv->nbins;
}

void interval__set_hist(struct interval *iv, struct row_hist *h, size_t n)
{
	h->off = (uint32_t)iv->nbins;
	h->n = (uint32_t)n;
	iv->nbins += n;
}

int interval__add_errno(struct interval *iv, uint32_t err, uint64_t count)
{
	if (array_grow((void **)&iv->errs, &iv->errs_cap, iv->nerrs + 1, sizeof(*iv->errs)))
		return -ENOMEM;
	iv->errs[iv->nerrs].err = err;
	iv->errs[iv->nerrs++].count = count;
	return 0;
}

int interval__add_culprit(struct interval *iv, const struct culprit *c)
{
	if (array_grow((void **)&iv->culprits, &iv->culprits_cap, iv->nculprits + 1,
		       sizeof(*iv->culprits)))
		return -ENOMEM;
	iv->culprits[iv->nculprits++] = *c;
	return 0;
}

void interval__summarize(struct interval *iv)
{
	for (size_t t = 0; t < iv->ntables; t++) {
		const struct table *tb = &iv->tables[t];
		const struct row_schema *s = tb->schema;

		for (size_t f = 0; f < s->nfields; f++) {
			if (s->fields[f].kind != FK_HIST)
				continue;
			for (size_t i = 0; i < tb->n; i++) {
				struct row_hist *h =
					(void *)((char *)table__row(tb, i) + s->fields[f].off);

				hbin_sort(iv->bins + h->off, h->n);
				hist_summarize(iv->bins + h->off, h->n, h->sum_ns, h->max_ns,
					       &h->s);
			}
		}
	}
}

/* qsort has no context argument: one sort at a time */
static struct {
	const struct row_schema *s;
	const struct field *f;
	const struct interval *iv;
} sort_ctx;

/* the schema's key fields (syscall, endpoint...), in table order */
static int key_cmp(const struct row_schema *s, const void *a, const void *b)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		double vx, vy;
		int r;

		if (!(f->flags & F_KEY))
			continue;
		if (f->kind == FK_BYTES || f->kind == FK_CHARS) {
			r = memcmp((const char *)a + f->off, (const char *)b + f->off, f->size);
			if (r)
				return r;
			continue;
		}
		vx = field__value(f, a, NULL);
		vy = field__value(f, b, NULL);
		if (vx != vy)
			return vx < vy ? -1 : 1;
	}
	return 0;
}

static int id_cmp(const struct row_schema *s, const void *a, const void *b)
{
	const struct row_id *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return key_cmp(s, a, b);
}

static int sort_cmp(const void *a, const void *b)
{
	double vx = field__value(sort_ctx.f, a, sort_ctx.iv);
	double vy = field__value(sort_ctx.f, b, sort_ctx.iv);
	int r;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (sort_ctx.s->tiebreak && (r = sort_ctx.s->tiebreak(a, b)))
		return r;
	return id_cmp(sort_ctx.s, a, b);
}

void interval__sort(struct interval *iv, const char *sort)
{
	for (size_t t = 0; t < iv->ntables; t++) {
		struct table *tb = &iv->tables[t];
		const struct row_schema *s = tb->schema;
		const struct field *f = schema__sort_field(s, sort);

		if (!f)
			f = schema__sort_field(s, s->default_sort);
		if (!f)
			continue;
		sort_ctx.s = s;
		sort_ctx.f = f;
		sort_ctx.iv = iv;
		qsort(tb->rows, tb->n, tb->row_size, sort_cmp);
	}
}

/* rows of one group: same comm and same key fields */
static int group_cmp(const void *a, const void *b)
{
	const struct row_id *x = a, *y = b;
	int r = strncmp(x->comm, y->comm, LS_COMM_LEN);

	return r ? r : key_cmp(sort_ctx.s, a, b);
}

static int errno_desc(const void *a, const void *b)
{
	const struct errno_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return (x->err > y->err) - (x->err < y->err);
}

static int culprit_desc(const void *a, const void *b)
{
	const struct culprit *x = a, *y = b;

	if (x->runq_ns != y->runq_ns)
		return x->runq_ns > y->runq_ns ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* merge src's field f into dst's (both rows of one group) */
static int merge_field(struct interval *iv, const struct field *f, void *dst, const void *src)
{
	char *d = (char *)dst + f->off;
	const char *s = (const char *)src + f->off;

	switch (f->kind) {
	case FK_U64:
	case FK_NS: *(uint64_t *)d += *(const uint64_t *)s; return 0;
	case FK_HIST: {
		struct row_hist *hd = (void *)d;
		const struct row_hist *hs = (const void *)s;
		long off;

		/* a fresh range holding both: ranges of other rows stay intact */
		off = interval__add_bins(iv, iv->bins + hd->off, hd->n);
		if (off < 0 || interval__add_bins(iv, iv->bins + hs->off, hs->n) < 0)
			return -ENOMEM;
		hd->off = (uint32_t)off;
		hd->n += hs->n;
		hd->sum_ns += hs->sum_ns;
		if (hs->max_ns > hd->max_ns)
			hd->max_ns = hs->max_ns;
		return 0;
	}
	case FK_ERRNOS: {
		struct row_list *ld = (void *)d;
		const struct row_list *ls = (const void *)s;
		size_t start = iv->nerrs;

		for (uint32_t i = 0; i < ld->n + ls->n; i++) {
			const struct errno_count *e =
				i < ld->n ? &iv->errs[ld->off + i] : &iv->errs[ls->off + i - ld->n];
			size_t j;

			for (j = start; j < iv->nerrs && iv->errs[j].err != e->err; j++)
				;
			if (j < iv->nerrs) {
				iv->errs[j].count += e->count;
			} else {
				struct errno_count c = *e;

				if (interval__add_errno(iv, c.err, c.count))
					return -ENOMEM;
			}
		}
		qsort(iv->errs + start, iv->nerrs - start, sizeof(*iv->errs), errno_desc);
		ld->off = (uint32_t)start;
		ld->n = (uint32_t)(iv->nerrs - start);
		return 0;
	}
	case FK_CULPRITS: {
		/* lists are already cut to their top entries: the merged top is
		 * a lower bound of each culprit's share, never more */
		struct row_list *ld = (void *)d;
		const struct row_list *ls = (const void *)s;
		size_t start = iv->nculprits;

		for (uint32_t i = 0; i < ld->n + ls->n; i++) {
			const struct culprit *c = i < ld->n ? &iv->culprits[ld->off + i]
							    : &iv->culprits[ls->off + i - ld->n];
			size_t j;

			for (j = start; j < iv->nculprits && iv->culprits[j].pid != c->pid; j++)
				;
			if (j < iv->nculprits) {
				iv->culprits[j].runq_ns += c->runq_ns;
			} else {
				struct culprit cc = *c;

				if (interval__add_culprit(iv, &cc))
					return -ENOMEM;
			}
		}
		qsort(iv->culprits + start, iv->nculprits - start, sizeof(*iv->culprits),
		      culprit_desc);
		ld->off = (uint32_t)start;
		ld->n = (uint32_t)(iv->nculprits - start);
		if (ld->n > ROW_CULPRITS)
			ld->n = ROW_CULPRITS;
		return 0;
	}
	default: /* keys, strings, derived: equal within a group or recomputed */ return 0;
	}
}

int interval__group_by_comm(struct interval *iv)
{
	iv->by = LS_BY_COMM;
	for (size_t t = 0; t < iv->ntables; t++) {
		struct table *tb = &iv->tables[t];
		const struct row_schema *s = tb->schema;
		size_t out = 0;

		sort_ctx.s = s;
		qsort(tb->rows, tb->n, tb->row_size, group_cmp);
		for (size_t i = 0; i < tb->n; i++) {
			void *r = table__row(tb, i), *dst = table__row(tb, out ? out - 1 : 0);
			struct row_id *id = r;

			if (out && !group_cmp(dst, r)) {
				for (size_t f = 0; f < s->nfields; f++)
					if (merge_field(iv, &s->fields[f], dst, r))
						return -ENOMEM;
				continue;
			}
			id->pid = id->tid = 0;
			id->cgid = 0;
			id->cgroup = NULL;
			if (out != i)
				memcpy(table__row(tb, out), r, tb->row_size);
			out++;
		}
		tb->n = out;
	}
	return 0;
}

void interval__reset(struct interval *iv)
{
	for (size_t t = 0; t < iv->ntables; t++)
		iv->tables[t].n = 0;
	iv->nbins = 0;
	iv->nerrs = 0;
	iv->nculprits = 0;
	memset(iv->drops, 0, sizeof(iv->drops));
}

void interval__free(struct interval *iv)
{
	for (size_t t = 0; t < iv->ntables; t++)
		free(iv->tables[t].rows);
	free(iv->bins);
	free(iv->errs);
	free(iv->culprits);
	memset(iv, 0, sizeof(*iv));
}
