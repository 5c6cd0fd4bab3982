// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* NDJSON: one "interval" object per call, every table, from the field tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "names.h"
#include "schema.h"
#include "sink.h"
#include "util.h"

static void hist_member(struct jw *w, const char *name, const struct lat_summary *l, double scale)
{
	jw_obj_start(w, name);
	jw_num(w, "p50", l->p50 / scale);
	jw_num(w, "p90", l->p90 / scale);
	jw_num(w, "p99", l->p99 / scale);
	jw_num(w, "p999", l->p999 / scale);
	jw_num(w, "max", l->max / scale);
	jw_num(w, "mean", l->mean / scale);
	jw_obj_end(w);
}

static void member(struct jw *w, const struct field *f, const void *row, const struct interval *iv)
{
	const char *p = (const char *)row + f->off;
	double scale = f->scale > 0 ? f->scale : 1;
	char en[32];

	if (f->jsonfn) {
		f->jsonfn(f, row, iv, w);
		return;
	}
	switch (f->kind) {
	case FK_U16: jw_uint(w, f->json, *(const uint16_t *)p); break;
	case FK_U32: jw_uint(w, f->json, *(const uint32_t *)p); break;
	case FK_U64: jw_uint(w, f->json, *(const uint64_t *)p); break;
	case FK_NS: jw_num(w, f->json, (double)*(const uint64_t *)p / scale); break;
	case FK_CHARS: jw_strn(w, f->json, p, strnlen(p, f->size)); break;
	case FK_STRP: {
		const char *s = *(const char *const *)p;

		jw_str(w, f->json, s ? s : "");
		break;
	}
	case FK_HIST: hist_member(w, f->json, &((const struct row_hist *)p)->s, scale); break;
	case FK_HSTAT: {
		const struct row_hist *h = (const void *)p;

		if (f->stat == HS_COUNT)
			jw_uint(w, f->json, h->s.count);
		else
			jw_num(w, f->json, hist_stat(h, f->stat) / scale);
		break;
	}
	case FK_RATIO: {
		double pct;

		if (field__ratio(f, row, &pct))
			jw_num(w, f->json, pct);
		else
			jw_null(w, f->json);
		break;
	}
	case FK_ERRNOS: {
		const struct row_list *l = (const void *)p;

		jw_obj_start(w, f->json);
		for (uint32_t i = 0; i < l->n; i++) {
			const struct errno_count *e = &iv->errs[l->off + i];

			jw_uint(w, errno_name((int)e->err, en, sizeof(en)), e->count);
		}
		jw_obj_end(w);
		break;
	}
	case FK_CULPRITS: {
		const struct row_list *l = (const void *)p;

		jw_arr_start(w, f->json);
		for (uint32_t i = 0; i < l->n; i++) {
			const struct culprit *c = &iv->culprits[l->off + i];

			jw_obj_start(w, NULL);
			jw_uint(w, "pid", c->pid);
			jw_str(w, "comm", c->comm);
			jw_str(w, "cgroup", c->cgroup ? c->cgroup : "");
			jw_num(w, "runq_us", c->runq_ns / 1e3);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		break;
	}
	default: jw_null(w, f->json); break;
	}
}

char *sink_json__value(const struct field *f, const void *row, const struct interval *iv, char *buf,
		       size_t len)
{
	char *text = NULL, *v;
	size_t n = 0, vl;
	struct jw w;
	FILE *mem;

	if (!len)
		return buf;
	buf[0] = 0;
	mem = open_memstream(&text, &n);
	if (!mem)
		return buf;
	/* {"key":value}: the member as the interval object has it */
	jw_init(&w, mem);
	jw_obj_start(&w, NULL);
	member(&w, f, row, iv);
	jw_obj_end(&w);
	if (fclose(mem) == 0 && text && (v = strstr(text, "\":")) && n > 0) {
		v += 2;
		vl = strlen(v) - 1; /* without the closing brace */
		if (vl < len)
			snprintf(buf, len, "%.*s", (int)vl, v);
	}
	free(text);
	return buf;
}

/* the owner's fields shown for by, then the row kind's */
static void row_members(struct jw *w, const struct row_schema *s, const void *row,
			const struct interval *iv, enum ls_by by, unsigned groups)
{
	for (size_t i = 0; i < owner_nfields + s->nfields; i++) {
		const struct field *fd =
			i < owner_nfields ? &owner_fields[i] : &s->fields[i - owner_nfields];

		if (field__shown(fd, by, groups, false))
			member(w, fd, row, iv);
	}
}

int sink_json__object(FILE *f, const struct row_schema *s, const void *row, enum ls_by by)
{
	static const struct interval none;
	struct jw w;

	jw_init(&w, f);
	jw_obj_start(&w, NULL);
	jw_str(&w, "type", s->name);
	row_members(&w, s, row, &none, by, ~0u);
	jw_obj_end(&w);
	fputc('\n', f);
	errno = 0;
	fflush(f);
	return stream_error(f);
}

static const char *const by_names[] = {
	[LS_BY_PROCESS] = "process",
	[LS_BY_THREAD] = "thread",
	[LS_BY_CGROUP] = "cgroup",
	[LS_BY_COMM] = "comm",
};

const char *sink_by_name(enum ls_by by)
{
	return (unsigned)by < sizeof(by_names) / sizeof(by_names[0]) ? by_names[by] : "?";
}

int sink_json__render(FILE *f, const struct interval *iv)
{
	return sink_json__report(f, iv, NULL);
}

int sink_json__report(FILE *f, const struct interval *iv, const struct report_info *ri)
{
	char ts[40];
	struct jw w;

	jw_init(&w, f);
	jw_obj_start(&w, NULL);
	if (ri) {
		jw_str(&w, "type", "report");
		jw_str(&w, "from", fmt_rfc3339(ri->from_ns, ts, sizeof(ts)));
		jw_str(&w, "to", fmt_rfc3339(iv->realtime_ns, ts, sizeof(ts)));
		jw_str(&w, "key", sink_by_name(iv->by));
		jw_uint(&w, "intervals", ri->nintervals);
		jw_arr_start(&w, "tiers");
		for (size_t i = 0; i < ri->ntiers; i++) {
			jw_obj_start(&w, NULL);
			jw_num(&w, "length_s", ri->tier_s[i]);
			jw_uint(&w, "frames", ri->tier_frames[i]);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
	} else {
		jw_str(&w, "type", "interval");
		jw_str(&w, "time", fmt_rfc3339(iv->realtime_ns, ts, sizeof(ts)));
	}
	if (iv->replay)
		jw_bool(&w, "replay", true);
	if (iv->replay && !ri && iv->rollup_s > 0) { /* a roll-up tier's frame */
		jw_num(&w, "rollup_s", iv->rollup_s);
		jw_uint(&w, "intervals", iv->nintervals);
	}
	jw_num(&w, "interval_s", iv->interval_s);
	{
		size_t idle = 0;

		for (size_t t = 0; t < iv->ntables; t++)
			idle += iv->tables[t].idle_hidden;
		jw_uint(&w, "idle_rows", idle);
	}
	for (size_t t = 0; t < iv->ntables; t++) {
		const struct table *tb = &iv->tables[t];
		const struct row_schema *s = tb->schema;

		jw_arr_start(&w, s->name);
		for (size_t r = 0; r < tb->n; r++) {
			const void *row = table__row(tb, r);

			jw_obj_start(&w, NULL);
			row_members(&w, s, row, iv, iv->by, iv->groups);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
	}
	jw_obj_start(&w, "drops");
	for (size_t i = 0; i < LS_DROP_MAX; i++)
		jw_uint(&w, drop_names[i], iv->drops[i]);
	jw_obj_end(&w);
	if (ri) {
		jw_arr_start(&w, "slow");
		if (ri->slow_json)
			ri->slow_json(&w, ri->ctx);
		jw_arr_end(&w);
	}
	jw_obj_end(&w);
	fputc('\n', f);
	errno = 0;
	fflush(f);
	return stream_error(f);
}
