// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include "schema.h"
#include "util.h"

#define BY_PROC_THREAD (BY_BIT(LS_BY_PROCESS) | BY_BIT(LS_BY_THREAD))

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
	 .flags = F_OWNER | F_LEFT,
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
	 .json_by = BY_PROC_THREAD | BY_BIT(LS_BY_CGROUP),
	 .prom = "cgroup",
	 .role = PROM_LABEL},
};
const size_t owner_nfields = ARRAY_SIZE(owner_fields);

bool field__shown(const struct field *f, enum ls_by by, bool text)
{
	unsigned mask = text ? f->text_by : f->json_by;

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
