// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "schema.h"
#include "util.h"

#define BY_PROC_THREAD (BY_BIT(LS_BY_PROCESS) | BY_BIT(LS_BY_THREAD))

static char *text_service(const struct field *f, const void *row, const struct interval *iv,
			  char *buf, size_t len)
{
	const char *cg = ((const struct row_id *)row)->cgroup;
	char name[256];

	(void)f, (void)iv;
	return fmt_safe(service_name(cg ? cg : "", name, sizeof(name)), (size_t)-1, buf, len);
}

static void json_service(const struct field *f, const void *row, const struct interval *iv,
			 struct jw *w)
{
	const char *cg = ((const struct row_id *)row)->cgroup;
	char buf[256];

	(void)iv;
	jw_str(w, f->json, service_name(cg ? cg : "", buf, sizeof(buf)));
}

static const char *label_service(const struct field *f, const void *row, char *buf, size_t len)
{
	const char *cg = ((const struct row_id *)row)->cgroup;

	(void)f;
	return cg && *cg ? service_name(cg, buf, len) : NULL;
}

const struct field owner_fields[] = {
	{.name = "cgroup",
	 .header = "CGROUP",
	 .width = 40,
	 .kind = FK_STRP,
	 FIELD_AT(struct row_id, cgroup),
	 .flags = F_OWNER | F_TAIL,
	 .text_by = BY_BIT(LS_BY_CGROUP)},
	{.name = "pid",
	 .header = "PID",
	 .width = 7,
	 .json = "pid",
	 .kind = FK_U32,
	 FIELD_AT(struct row_id, pid),
	 .flags = F_OWNER,
	 .text_by = BY_PROC_THREAD,
	 .json_by = BY_PROC_THREAD},
	{.name = "tid",
	 .header = "TID",
	 .width = 7,
	 .json = "tid",
	 .kind = FK_U32,
	 FIELD_AT(struct row_id, tid),
	 .flags = F_OWNER,
	 .text_by = BY_BIT(LS_BY_THREAD),
	 .json_by = BY_BIT(LS_BY_THREAD)},
	{.name = "comm",
	 .header = "COMM",
	 .width = 15,
	 .json = "comm",
	 .kind = FK_CHARS,
	 FIELD_AT(struct row_id, comm),
	 .flags = F_OWNER | F_LEFT | F_OPEN,
	 .text_by = BY_PROC_THREAD | BY_BIT(LS_BY_COMM),
	 .json_by = BY_PROC_THREAD | BY_BIT(LS_BY_COMM),
	 .prom = "comm",
	 .role = PROM_LABEL},
	/* JSON has the cgroup after the comm; a --by comm row has none */
	{.name = "cgroup_json",
	 .json = "cgroup",
	 .kind = FK_STRP,
	 FIELD_AT(struct row_id, cgroup),
	 .flags = F_OWNER,
	 .json_by = BY_PROC_THREAD | BY_BIT(LS_BY_CGROUP)},
	/* a readable name for the cgroup (DESIGN.md section 5) */
	{.name = "service",
	 .header = "SERVICE",
	 .width = 24,
	 .json = "service",
	 .kind = FK_DERIVED,
	 FIELD_AT(struct row_id, cgroup),
	 .flags = F_OWNER | F_TAIL | F_OPEN,
	 .text_by = BY_BIT(LS_BY_CGROUP),
	 .json_by = BY_PROC_THREAD | BY_BIT(LS_BY_CGROUP),
	 .text = text_service,
	 .jsonfn = json_service,
	 /* Prometheus's cgroup label is the readable name (DESIGN.md section 6) */
	 .prom = "cgroup",
	 .role = PROM_LABEL,
	 .label = label_service},
};
const size_t owner_nfields = ARRAY_SIZE(owner_fields);

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

bool field__shown(const struct field *f, enum ls_by by, unsigned groups, bool text)
{
	unsigned mask = text ? f->text_by : f->json_by;

	if (f->group & ~groups)
		return false;
	if (text ? !f->header : !f->json)
		return false;
	return !(f->flags & F_OWNER) || (mask & BY_BIT(by));
}

const struct field *schema__sort_field(const struct row_schema *s, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];

		if (!(f->flags & F_SORT))
			continue;
		if (!strcmp(f->name, name))
			return f;
		for (size_t a = 0; a < ARRAY_SIZE(f->aliases) && f->aliases[a]; a++)
			if (!strcmp(f->aliases[a], name))
				return f;
	}
	return NULL;
}

const char *field__label(const struct field *f, const void *row, char *buf, size_t len)
{
	const char *p = (const char *)row + f->off;
	uint64_t v;

	if (f->label)
		return f->label(f, row, buf, len);
	switch (f->kind) {
	case FK_CHARS: snprintf(buf, len, "%.*s", (int)strnlen(p, f->size), p); return buf;
	case FK_STRP: return *(const char *const *)p;
	case FK_U16: v = *(const uint16_t *)p; break;
	case FK_U32: v = *(const uint32_t *)p; break;
	case FK_U64: v = *(const uint64_t *)p; break;
	default: return NULL;
	}
	if (!v) /* a port or id of 0: the row has none */
		return NULL;
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

bool field__ratio(const struct field *f, const void *row, double *pct)
{
	uint64_t num = *(const uint64_t *)((const char *)row + f->off);
	uint64_t den = *(const uint64_t *)((const char *)row + f->off2);

	*pct = den ? 100.0 * (double)num / (double)den : 0;
	return den != 0;
}

double hist_stat(const struct row_hist *h, enum hist_stat st)
{
	switch (st) {
	case HS_P50: return h->s.p50;
	case HS_P90: return h->s.p90;
	case HS_P99: return h->s.p99;
	case HS_P999: return h->s.p999;
	case HS_MAX: return h->s.max;
	case HS_MEAN: return h->s.mean;
	case HS_TOTAL: return h->s.total;
	case HS_COUNT: return (double)h->s.count;
	}
	return 0;
}

double field__value(const struct field *f, const void *row, const struct interval *iv)
{
	const char *p = (const char *)row + f->off;

	if (f->value)
		return f->value(f, row, iv);
	switch (f->kind) {
	case FK_U16: return *(const uint16_t *)p;
	case FK_U32: return *(const uint32_t *)p;
	case FK_U64:
	case FK_NS: return (double)*(const uint64_t *)p;
	case FK_HIST:
	case FK_HSTAT: return hist_stat((const struct row_hist *)p, f->stat);
	case FK_ERRNOS:
	case FK_CULPRITS: return ((const struct row_list *)p)->n;
	case FK_RATIO: {
		double pct;

		field__ratio(f, row, &pct);
		return pct;
	}
	default: return 0;
	}
}

void interval__hide_idle(struct interval *iv)
{
	for (size_t t = 0; t < iv->ntables; t++) {
		struct table *tb = &iv->tables[t];
		size_t keep = 0;

		tb->idle_hidden = 0;
		if (!tb->schema->idle)
			continue;
		for (size_t r = 0; r < tb->n; r++) {
			void *row = table__row(tb, r);

			if (tb->schema->idle(row)) {
				tb->idle_hidden++;
				continue;
			}
			if (keep != r)
				memcpy(table__row(tb, keep), row, tb->row_size);
			keep++;
		}
		tb->n = keep;
	}
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
		if (tb->n)
			qsort(tb->rows, tb->n, tb->row_size, sort_cmp);
	}
}

/* rows of one group: same comm (cgroup id, pid) and same key fields */
static int group_comm_cmp(const void *a, const void *b)
{
	const struct row_id *x = a, *y = b;
	int r = strncmp(x->comm, y->comm, LS_COMM_LEN);

	return r ? r : key_cmp(sort_ctx.s, a, b);
}

static int group_cgroup_cmp(const void *a, const void *b)
{
	const struct row_id *x = a, *y = b;

	if (x->cgid != y->cgid)
		return x->cgid < y->cgid ? -1 : 1;
	return key_cmp(sort_ctx.s, a, b);
}

static int group_process_cmp(const void *a, const void *b)
{
	const struct row_id *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return key_cmp(sort_ctx.s, a, b);
}

static int group_thread_cmp(const void *a, const void *b)
{
	return id_cmp(sort_ctx.s, a, b);
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
		if (iv->nerrs - start > 1)
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

/* what a grouping keeps of the owner: the rest is cleared */
static void group_id(struct row_id *id, enum ls_by by)
{
	switch (by) {
	case LS_BY_COMM:
		id->pid = id->tid = 0;
		id->cgid = 0;
		id->cgroup = NULL;
		break;
	case LS_BY_CGROUP:
		id->pid = id->tid = 0;
		memset(id->comm, 0, sizeof(id->comm));
		break;
	case LS_BY_THREAD: break;
	default: id->tid = 0; break;
	}
}

/* merge the rows of every table that cmp finds equal into one row keyed by by */
static int group_by(struct interval *iv, enum ls_by by, int (*cmp)(const void *, const void *))
{
	iv->by = by;
	for (size_t t = 0; t < iv->ntables; t++) {
		struct table *tb = &iv->tables[t];
		const struct row_schema *s = tb->schema;
		size_t out = 0;

		sort_ctx.s = s;
		if (tb->n)
			qsort(tb->rows, tb->n, tb->row_size, cmp);
		for (size_t i = 0; i < tb->n; i++) {
			void *r = table__row(tb, i), *dst = table__row(tb, out ? out - 1 : 0);

			if (out && !cmp(dst, r)) {
				for (size_t f = 0; f < s->nfields; f++)
					if (merge_field(iv, &s->fields[f], dst, r))
						return -ENOMEM;
				continue;
			}
			group_id(r, by);
			if (out != i)
				memcpy(table__row(tb, out), r, tb->row_size);
			out++;
		}
		tb->n = out;
	}
	return 0;
}

int interval__group_by_comm(struct interval *iv)
{
	return group_by(iv, LS_BY_COMM, group_comm_cmp);
}

int interval__group_by_cgroup(struct interval *iv)
{
	return group_by(iv, LS_BY_CGROUP, group_cgroup_cmp);
}

int interval__group_by_process(struct interval *iv)
{
	return group_by(iv, LS_BY_PROCESS, group_process_cmp);
}

int interval__group_by_thread(struct interval *iv)
{
	return group_by(iv, LS_BY_THREAD, group_thread_cmp);
}
