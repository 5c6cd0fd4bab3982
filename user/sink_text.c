// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Plain-text tables, one per active row kind, from the field tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "schema.h"
#include "sink.h"
#include "util.h"

#define CELL 256

static int term_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 24;
}

static size_t fit(size_t n, int max_rows, int avail)
{
	if (max_rows > 0 && (size_t)max_rows < n)
		n = max_rows;
	if (avail >= 0 && (size_t)avail < n)
		n = avail;
	return n;
}

const char *sink_text__cell(const struct field *f, const void *row, const struct interval *iv,
			    char *buf, size_t len)
{
	const char *p = (const char *)row + f->off;

	if (f->text)
		return f->text(f, row, iv, buf, len);
	switch (f->kind) {
	case FK_U16: snprintf(buf, len, "%u", *(const uint16_t *)p); return buf;
	case FK_U32: snprintf(buf, len, "%u", *(const uint32_t *)p); return buf;
	case FK_U64: return fmt_count(*(const uint64_t *)p, buf, len);
	case FK_NS: return fmt_duration((double)*(const uint64_t *)p, buf, len);
	case FK_CHARS: return fmt_safe(p, f->size, buf, len);
	case FK_STRP: {
		const char *str = *(const char *const *)p;

		return str && *str ? fmt_safe(str, (size_t)-1, buf, len) : "?";
	}
	case FK_HIST:
	case FK_HSTAT: {
		const struct row_hist *h = (const void *)p;

		if ((f->flags & F_DASH) && !h->s.count)
			return "-";
		if (f->stat == HS_COUNT)
			return fmt_count(h->s.count, buf, len);
		return fmt_duration(hist_stat(h, f->stat), buf, len);
	}
	case FK_RATIO: {
		double pct;

		if (!field__ratio(f, row, &pct))
			return "-";
		snprintf(buf, len, "%.1f", pct);
		return buf;
	}
	case FK_ERRNOS:
	case FK_CULPRITS: snprintf(buf, len, "%u", ((const struct row_list *)p)->n); return buf;
	default: return "";
	}
}

static void put_cell(FILE *out, const struct field *f, const char *s, bool first)
{
	int w = f->width;

	if (!first)
		fputs(f->flags & F_SEP2 ? "  " : " ", out);
	if (!w) {
		fputs(s, out);
	} else if (f->flags & F_TAIL) {
		size_t l = strlen(s);

		/* keep the informative tail of long paths */
		fprintf(out, "%-*s", w, l > (size_t)w ? s + l - w : s);
	} else if (f->flags & F_LEFT) {
		fprintf(out, "%-*.*s", w, w, s);
	} else {
		fprintf(out, "%*s", w, s);
	}
}

/* every shown column: the owner's, then the row kind's */
#define FOR_EACH_COLUMN(s, f, i)                                                                  \
	for (size_t i = 0; i < owner_nfields + (s)->nfields; i++)                                 \
		if ((f = i < owner_nfields ? &owner_fields[i] : &(s)->fields[i - owner_nfields]), \
		    field__shown(f, iv->by, iv->groups, true))

static void render_table(FILE *out, const struct interval *iv, const struct table *t, size_t limit)
{
	const struct row_schema *s = t->schema;
	const struct field *f;
	char buf[CELL];
	bool first = true;

	FOR_EACH_COLUMN(s, f, i)
	{
		put_cell(out, f, f->header, first);
		first = false;
	}
	fputc('\n', out);
	for (size_t r = 0; r < limit; r++) {
		const void *row = table__row(t, r);

		first = true;
		FOR_EACH_COLUMN(s, f, i)
		{
			put_cell(out, f, sink_text__cell(f, row, iv, buf, sizeof(buf)), first);
			first = false;
		}
		fputc('\n', out);
	}
	if (limit < t->n)
		fprintf(out, "... %zu more rows\n", t->n - limit);
}

int sink_text__render(FILE *f, const struct interval *iv, const struct text_opts *o)
{
	char ts[40];
	uint64_t dropped = 0;
	int avail = -1, shown = 0, tables = 0;
	size_t i, idle = 0;

	for (i = 0; i < LS_DROP_MAX; i++)
		dropped += iv->drops[i];
	for (i = 0; i < iv->ntables; i++)
		tables += iv->tables[i].active;
	if (o->tty) {
		avail = term_rows() - 3;
		if (tables > 1)
			avail = (avail - 3 * (tables - 1)) / tables;
		if (avail < 1)
			avail = 1;
		fputs("\033[H\033[2J", f);
	}
	for (i = 0; i < iv->ntables; i++)
		idle += iv->tables[i].idle_hidden;
	fprintf(f, "%s%s  interval %.2fs  sorted by %s  dropped: %llu",
		fmt_rfc3339(iv->realtime_ns, ts, sizeof(ts)), iv->replay ? " (recorded)" : "",
		iv->interval_s, o->sort ? o->sort : "p99", (unsigned long long)dropped);
	if (idle)
		fprintf(f, "  idle-wait rows hidden: %zu (--all shows them)", idle);
	fputc('\n', f);
	for (i = 0; i < iv->ntables; i++) {
		const struct table *t = &iv->tables[i];

		if (!t->active)
			continue;
		if (shown++)
			fputc('\n', f);
		fprintf(f, "%s: %zu rows\n", t->schema->name, t->n);
		render_table(f, iv, t, fit(t->n, o->max_rows, avail));
	}
	if (!o->tty)
		fputc('\n', f);
	errno = 0;
	fflush(f);
	return stream_error(f);
}

int sink_text__line(FILE *f, const struct row_schema *s, const void *row)
{
	static const struct interval none;
	char buf[CELL * 3];
	bool first = true;

	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *fd = &s->fields[i];
		const char *c;

		if (!fd->line)
			continue;
		c = sink_text__cell(fd, row, &none, buf, sizeof(buf));
		if (!*c)
			continue;
		fprintf(f, "%s%s%s", first ? "" : " ", fd->line, c);
		first = false;
	}
	fputc('\n', f);
	errno = 0;
	fflush(f);
	return stream_error(f);
}
