// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The interactive top (tui.h). The screen is a header of items (host,
 * collectors, drops, the agent's cost, the view's settings), the table of
 * the current view and a status line. Tables are rendered from the field
 * tables through the text sink's cells, so every string from the traced
 * host arrives here already escaped; cells are checked once more before
 * they reach the terminal. The interval on screen is kept as collected
 * (raw) and re-derived (idle waits, filter, grouping, sort) whenever a
 * setting changes, so every key acts at once, also while paused.
 */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <ncurses.h>
#include <term.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "collector.h"
#include "log.h"
#include "names.h"
#include "schema.h"
#include "sink.h"
#include "tui.h"
#include "util.h"

#ifndef LATSCOPE_VERSION
#define LATSCOPE_VERSION "dev"
#endif

#define INTERVAL_MIN_NS 100000000ULL   /* + and - stay within 0.1 s.. */
#define INTERVAL_MAX_NS 60000000000ULL /* ..60 s */
#define MSG_NS		3000000000ULL  /* how long a status message stays */
#define MIN_COLS	40
#define MIN_LINES	10
#define LINE_MAX_W	1024 /* widest line drawn; wider terminals get blank space */
#define MAX_COLS	(IV_MAX_TABLES * 8)
#define CELL		256
#define ID_MAX		128
#define FILTER_MAX	64

enum grouping { G_THREAD, G_PROCESS, G_COMM, G_SERVICE };
static const char *const grouping_names[] = {"thread", "process", "comm", "service"};

enum overlay { OV_NONE, OV_HELP, OV_DETAILS };

/* colour pairs: latency grades */
enum { CP_YELLOW = 1, CP_MAGENTA, CP_RED };

struct view {
	const struct row_schema *schema;
	const struct field *sort;
};

struct col {
	const struct field *f;
	int w, min, natural;
	bool flex, shrink;
};

struct tui {
	struct run *r;
	struct interval *raw;  /* the interval on screen, as collected */
	struct interval shown; /* raw with the settings applied */
	struct interval spare; /* collected while paused */
	struct view views[IV_MAX_TABLES];
	size_t nviews, view;
	enum grouping groupings[4];
	size_t ngroupings, grouping;
	bool show_idle, paused, color, utf8;
	uint64_t interval_ns, intervals;
	uint64_t paused_n, paused_drops, paused_at_ns;
	char filter[FILTER_MAX];
	size_t filtered_out;
	bool editing;
	char edit[FILTER_MAX];
	enum overlay overlay;
	size_t sel, top;
	uint8_t sel_id[ID_MAX];
	bool sel_valid; /* sel_id names the row to follow (the user picked it) */
	bool sel_found; /* the selected row is in the interval on screen */
	struct agent_cost cost;
	bool cost_ok;
	char host[4 * 64 + 1], kernel[4 * 64 + 1];
	const char *ell, *arrow;
	char msg[160];
	uint64_t msg_until_ns;
	int table_h;
};

/* --- text that fits ---------------------------------------------------- */

/* display columns of s: ASCII and our own one-column glyphs (UTF-8) */
static int dwidth(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* the byte offset of display column n of s */
static size_t dbytes(const char *s, int n)
{
	size_t i = 0;

	while (s[i] && n > 0) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n--;
	}
	return i;
}

/*
 * The text every cell passes before the terminal: cells arrive escaped by
 * the sinks (fmt_safe); a byte outside printable ASCII here would be a
 * hook that forgot, so it becomes '?' rather than reach the terminal.
 */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	buf[i] = 0;
	return buf;
}

enum align { AL_LEFT, AL_RIGHT, AL_TAIL };

/* s in exactly w columns: padded, or cut with an ellipsis (at the front
 * for AL_TAIL, which keeps the informative end of paths) */
static char *fit(const struct tui *t, const char *s, int w, enum align al, char *buf, size_t len)
{
	int n = dwidth(s);

	buf[0] = 0;
	if (w <= 0)
		return buf;
	if (w > LINE_MAX_W)
		w = LINE_MAX_W;
	if (n <= w) {
		if (al == AL_RIGHT)
			snprintf(buf, len, "%*s%s", w - n, "", s);
		else
			snprintf(buf, len, "%s%*s", s, w - n, "");
	} else if (al == AL_TAIL) {
		snprintf(buf, len, "%s%s", t->ell, s + dbytes(s, n - (w - 1)));
	} else {
		snprintf(buf, len, "%.*s%s", (int)dbytes(s, w - 1), s, t->ell);
	}
	return buf;
}

/* draw s at (y, x), at most w columns (cut with an ellipsis); the next x */
static int put(const struct tui *t, int y, int x, const char *s, int w, attr_t attr)
{
	char buf[4 * LINE_MAX_W];
	int n = dwidth(s);

	if (w > COLS - x)
		w = COLS - x;
	if (w <= 0)
		return x;
	if (n > w)
		s = fit(t, s, w, AL_LEFT, buf, sizeof(buf)), n = w;
	attron(attr);
	mvaddstr(y, x, s);
	attroff(attr);
	return x + n;
}

static void set_msg(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_msg(struct tui *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->msg_until_ns = run_clock_ns(CLOCK_MONOTONIC) + MSG_NS;
}

/* --- the interval on screen -------------------------------------------- */

static struct table *view_table(struct interval *iv, const struct view *v)
{
	for (size_t i = 0; i < iv->ntables; i++)
		if (iv->tables[i].schema == v->schema)
			return &iv->tables[i];
	return NULL;
}

static uint64_t lost_drops(const struct interval *iv)
{
	uint64_t n = 0;

	/* switch_in_missing counts tracepoints the kernel did not deliver:
	 * informational, no count lost (README, Drops) */
	for (size_t i = 0; i < LS_DROP_MAX; i++)
		if (i != LS_DROP_NO_SWITCH_IN)
			n += iv->drops[i];
	return n;
}

/* a row's identity: its owner and key fields, to find it again after a
 * refresh */
static void row_identity(const struct row_schema *s, const void *row, uint8_t id[ID_MAX])
{
	const struct row_id *o = row;
	size_t n = 0;

	memset(id, 0, ID_MAX);
	memcpy(id, &o->pid, 4);
	memcpy(id + 4, &o->tid, 4);
	memcpy(id + 8, &o->cgid, 8);
	memcpy(id + 16, o->comm, LS_COMM_LEN);
	n = 16 + LS_COMM_LEN;
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];

		if (!(f->flags & F_KEY) || n + f->size > ID_MAX)
			continue;
		memcpy(id + n, (const char *)row + f->off, f->size);
		n += f->size;
	}
}

/* does the row's comm or service hold the filter (case-insensitive)? */
static bool row_matches(const void *row, const char *filter)
{
	const struct row_id *id = row;
	char esc[4 * 256 + 1], svc[256];

	if (strcasestr(fmt_safe(id->comm, LS_COMM_LEN, esc, sizeof(esc)), filter))
		return true;
	service_name(id->cgroup ? id->cgroup : "", svc, sizeof(svc));
	return strcasestr(fmt_safe(svc, sizeof(svc), esc, sizeof(esc)), filter) != NULL;
}

static size_t filter_rows(struct interval *iv, const char *filter, const struct table *count)
{
	size_t out = 0;

	for (size_t t = 0; t < iv->ntables; t++) {
		struct table *tb = &iv->tables[t];
		size_t keep = 0;

		for (size_t r = 0; r < tb->n; r++) {
			void *row = table__row(tb, r);

			if (!row_matches(row, filter)) {
				out += tb == count;
				continue;
			}
			if (keep != r)
				memcpy(table__row(tb, keep), row, tb->row_size);
			keep++;
		}
		tb->n = keep;
	}
	return out;
}

/* the shown interval from raw and the settings; keeps the selected row */
static int derive(struct tui *t)
{
	const struct view *v = &t->views[t->view];
	struct table *tb;
	int err;

	err = interval__copy(&t->shown, t->raw);
	if (err)
		return err;
	if (t->show_idle)
		t->shown.groups |= FG_IDLE; /* the details say which rows are idle */
	else
		interval__hide_idle(&t->shown);
	t->filtered_out = 0;
	if (t->filter[0]) /* process rows still know comm and service */
		t->filtered_out = filter_rows(&t->shown, t->filter, view_table(&t->shown, v));
	switch (t->groupings[t->grouping]) {
	case G_PROCESS:
		err = t->raw->by == LS_BY_THREAD ? interval__group_by_process(&t->shown) : 0;
		break;
	case G_COMM: err = t->raw->by != LS_BY_COMM ? interval__group_by_comm(&t->shown) : 0; break;
	case G_SERVICE:
		err = t->raw->by != LS_BY_CGROUP ? interval__group_by_cgroup(&t->shown) : 0;
		break;
	default: break;
	}
	if (err)
		return err;
	interval__summarize(&t->shown);
	if (v->sort)
		interval__sort(&t->shown, v->sort->name);
	tb = view_table(&t->shown, v);
	t->sel_found = false;
	if (!tb || !tb->n) {
		t->sel = t->top = 0;
		return 0;
	}
	if (t->sel_valid) {
		uint8_t id[ID_MAX];

		for (size_t i = 0; i < tb->n && !t->sel_found; i++) {
			row_identity(v->schema, table__row(tb, i), id);
			if (!memcmp(id, t->sel_id, ID_MAX)) {
				t->sel = i;
				t->sel_found = true;
			}
		}
	}
	if (t->sel >= tb->n)
		t->sel = tb->n - 1;
	/* a followed row gone quiet: open details keep following it (and say
	 * so); else the selection stays in its place */
	if (t->sel_valid && !t->sel_found && t->overlay != OV_DETAILS)
		t->sel_valid = false;
	if (!t->sel_valid)
		t->sel_found = true;
	return 0;
}

/* --- columns ----------------------------------------------------------- */

static bool shrinkable(const struct field *f)
{
	return f->flags & (F_LEFT | F_TAIL);
}

/* counts and durations: fmt_count and fmt_duration write at most 6
 * characters below 1000 s, so their columns can narrow to that */
static bool compact(const struct field *f)
{
	return !f->text && (f->kind == FK_U64 || f->kind == FK_NS || f->kind == FK_HSTAT);
}

static int sep(const struct col *c, size_t i)
{
	return i == 0 ? 0 : c->f->flags & F_SEP2 ? 2 : 1;
}

/*
 * The columns of a table that fit in the terminal: string columns shrink
 * (to 8 or their header) and number columns narrow (to 6, what their
 * values take), then trailing columns go, never the sorted one; room left
 * is given back evenly, and a last column of unbounded width takes the
 * rest of the line.
 */
static size_t layout(const struct interval *iv, const struct view *v, struct col *cols)
{
	const struct row_schema *s = v->schema;
	size_t n = 0, i;
	int used, extra;

	for (i = 0; i < owner_nfields + s->nfields && n < MAX_COLS; i++) {
		const struct field *f =
			i < owner_nfields ? &owner_fields[i] : &s->fields[i - owner_nfields];
		struct col *c = &cols[n];
		int hl;

		if (!field__shown(f, iv->by, iv->groups, true))
			continue;
		hl = (int)strlen(f->header) + 1; /* room for the sort arrow */
		c->f = f;
		c->flex = !f->width;
		c->shrink = shrinkable(f);
		c->natural = c->flex ? hl : f->width > hl ? f->width : hl;
		if (c->flex)
			c->min = 12;
		else if (c->shrink) /* names: cut with an ellipsis */
			c->min = hl > 8 ? hl : 8;
		else if (compact(f)) /* at most 6 characters: see compact() */
			c->min = hl > 6 ? hl : 6;
		else
			c->min = c->natural;
		if (c->min > c->natural)
			c->min = c->natural;
		n++;
	}
	for (;;) {
		used = 0;
		for (i = 0; i < n; i++)
			used += cols[i].min + sep(&cols[i], i);
		if (used <= COLS || n <= 1)
			break;
		/* drop the last column that is not the sort column */
		for (i = n; i-- > 1;)
			if (cols[i].f != v->sort)
				break;
		if (i == 0)
			break;
		memmove(&cols[i], &cols[i + 1], (n - i - 1) * sizeof(*cols));
		n--;
	}
	/* room left: string columns grow back a column at a time, evenly */
	extra = COLS - used;
	for (i = 0; i < n; i++)
		cols[i].w = cols[i].min;
	for (bool grew = true; extra > 0 && grew;) {
		grew = false;
		for (i = 0; i < n && extra > 0; i++)
			if (!cols[i].flex && cols[i].w < cols[i].natural) {
				cols[i].w++;
				extra--;
				grew = true;
			}
	}
	for (i = 0; i < n; i++)
		if (cols[i].flex && extra > 0)
			cols[i].w += extra;
	if (n && cols[0].w > COLS) /* one column on a very narrow screen */
		cols[0].w = COLS;
	return n;
}

static enum align col_align(const struct field *f)
{
	return f->flags & F_TAIL ? AL_TAIL : f->flags & F_LEFT || !f->width ? AL_LEFT : AL_RIGHT;
}

/* a latency statistic: graded by colour */
static bool is_latency(const struct field *f)
{
	return f->kind == FK_HSTAT && f->stat != HS_COUNT && f->stat != HS_TOTAL;
}

static attr_t grade(const struct tui *t, double ns)
{
	if (!t->color || ns < 1e6)
		return 0;
	if (ns < 1e7)
		return COLOR_PAIR(CP_YELLOW);
	if (ns < 1e8)
		return COLOR_PAIR(CP_MAGENTA);
	return COLOR_PAIR(CP_RED) | A_BOLD;
}

/* --- drawing ----------------------------------------------------------- */

struct item {
	char text[320];
	attr_t attr;
	bool br; /* starts a line */
};

/* draw items from line y in lines of at most COLS columns, two spaces
 * apart; the lines used */
static int flow(const struct tui *t, const struct item *it, size_t n, int y)
{
	int x = 0, used = n ? 1 : 0;

	for (size_t i = 0; i < n; i++) {
		int w = dwidth(it[i].text);

		if (i && (it[i].br || x + 2 + w > COLS)) {
			used++;
			x = 0;
		} else if (i) {
			x += 2;
		}
		put(t, y + used - 1, x, it[i].text, COLS - x, it[i].attr);
		x += w > COLS ? COLS : w;
	}
	return used;
}

static void uptime(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ULL;

	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
}

#define ITEM(br_, attr_, ...)                                                  \
	do {                                                                   \
		if (n < cap) {                                                 \
			snprintf(it[n].text, sizeof(it[n].text), __VA_ARGS__); \
			it[n].attr = (attr_);                                  \
			it[n++].br = (br_);                                    \
		}                                                              \
	} while (0)

/* the header's items; how many */
static size_t header_items(struct tui *t, struct item *it, size_t cap)
{
	const struct interval *iv = &t->shown;
	const struct view *v = &t->views[t->view];
	const struct table *tb = view_table(&t->shown, v);
	const struct agent_cost *c = &t->cost;
	char a[64], b[64], when[16] = "-";
	size_t n = 0;
	uint64_t lost = lost_drops(iv);

	uptime(run_clock_ns(CLOCK_MONOTONIC) - t->r->start_mono_ns, a, sizeof(a));
	if (t->intervals) {
		time_t sec = (time_t)(t->raw->realtime_ns / 1000000000ULL);
		struct tm tm;

		localtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	}
	ITEM(false, A_BOLD, "latscope %s", LATSCOPE_VERSION);
	ITEM(false, 0, "host %s", t->host);
	ITEM(false, 0, "kernel %s", t->kernel);
	ITEM(false, 0, "up %s", a);
	ITEM(false, 0, "interval %.3gs", t->interval_ns / 1e9);
	ITEM(false, 0, "at %s", when);

	/* collectors up, and the ones off */
	{
		char cs[256] = "";

		for (size_t i = 0; i < coll_count; i++) {
			const char *variant = NULL;

			for (size_t j = 0; j < t->r->n; j++)
				if (coll__desc(t->r->c[j]) == coll_all[i])
					variant = coll__variant(t->r->c[j]);
			snprintf(cs + strlen(cs), sizeof(cs) - strlen(cs), "%s%s %s", i ? ", " : "",
				 coll_all[i]->name, variant ? variant : "off");
		}
		ITEM(true, 0, "collectors: %s", cs);
	}
	if (lost) {
		char what[160] = "";

		for (size_t i = 0; i < LS_DROP_MAX; i++)
			if (i != LS_DROP_NO_SWITCH_IN && iv->drops[i])
				snprintf(what + strlen(what), sizeof(what) - strlen(what),
					 "%s%s %llu", what[0] ? ", " : "", drop_names[i],
					 (unsigned long long)iv->drops[i]);
		ITEM(false, t->color ? COLOR_PAIR(CP_RED) | A_BOLD : A_BOLD, "drops %llu (%s)",
		     (unsigned long long)lost, what);
	} else {
		ITEM(false, 0, "drops 0");
	}
	if (iv->drops[LS_DROP_NO_SWITCH_IN])
		ITEM(false, 0, "switch-ins missed %llu",
		     (unsigned long long)iv->drops[LS_DROP_NO_SWITCH_IN]);
	if (v->schema->idle && t->show_idle)
		ITEM(false, 0, "idle waits shown");
	else if (v->schema->idle)
		ITEM(false, 0, "idle rows hidden %zu", tb ? tb->idle_hidden : 0);

	/* the agent's own cost */
	if (t->cost_ok) {
		ITEM(true, 0, "agent cpu %.1f%%", c->cpu_pct);
		ITEM(false, 0, "rss %.1fM", c->rss_bytes / 1048576.0);
		if (c->stats) {
			fmt_duration(c->bpf_ns_per_s, a, sizeof(a));
			ITEM(false, 0, "bpf %s/s", a);
			ITEM(false, 0, "events %s/s",
			     fmt_count((uint64_t)c->runs_per_s, b, sizeof(b)));
		} else {
			ITEM(false, 0, "bpf -/s  events -/s (%s)",
			     c->stats_why ? "--stats refused" : "--stats shows them");
		}
		if (c->bpf_misses)
			ITEM(false, t->color ? COLOR_PAIR(CP_RED) : A_BOLD,
			     "bpf misses %llu since start", (unsigned long long)c->bpf_misses);
		if (c->map_name)
			ITEM(false, 0, "map fill %.0f%% (%s)", 100 * c->map_fill, c->map_name);
	} else {
		ITEM(true, 0, "agent cpu -");
	}

	/* the view and its settings */
	for (size_t i = 0; i < t->nviews; i++)
		ITEM(i == 0, i == t->view ? A_REVERSE | A_BOLD : 0, "%zu %s", i + 1,
		     t->views[i].schema->name);
	ITEM(false, 0, "rows %zu", tb ? tb->n : 0);
	ITEM(false, 0, "group %s", grouping_names[t->groupings[t->grouping]]);
	ITEM(false, 0, "sort %s", v->sort ? v->sort->name : "-");
	if (t->filter[0]) {
		char esc[4 * FILTER_MAX + 1];

		ITEM(false, A_BOLD, "filter '%s' (%zu rows out)",
		     fmt_safe(t->filter, sizeof(t->filter), esc, sizeof(esc)), t->filtered_out);
	}
	if (t->paused) {
		char at[16];
		time_t sec = (time_t)(t->paused_at_ns / 1000000000ULL);
		struct tm tm;

		localtime_r(&sec, &tm);
		strftime(at, sizeof(at), "%H:%M:%S", &tm);
		ITEM(false, A_REVERSE | A_BOLD,
		     "PAUSED at %s: %llu intervals since not shown, drops in them %llu (p resumes)",
		     at, (unsigned long long)t->paused_n, (unsigned long long)t->paused_drops);
	}
	return n;
}

static void draw_header_cols(const struct tui *t, int y, const struct col *cols, size_t n,
			     const struct view *v)
{
	char h[CELL], buf[4 * LINE_MAX_W];
	int x = 0;

	/* the bar across the line, then each title over its column */
	attron(A_REVERSE);
	mvhline(y, 0, ' ', COLS);
	attroff(A_REVERSE);
	for (size_t i = 0; i < n; i++) {
		const struct col *c = &cols[i];
		bool sorted = c->f == v->sort;
		enum align al = col_align(c->f) == AL_RIGHT ? AL_RIGHT : AL_LEFT;

		x += sep(c, i);
		if (sorted)
			snprintf(h, sizeof(h), "%s%s", t->arrow, c->f->header);
		else
			snprintf(h, sizeof(h), "%s", c->f->header);
		fit(t, h, c->w, al, buf, sizeof(buf));
		put(t, y, x, buf, c->w, sorted ? A_BOLD | A_UNDERLINE : A_REVERSE);
		x += c->w;
	}
}

static void draw_row(const struct tui *t, int y, const struct col *cols, size_t n,
		     const struct interval *iv, const void *row, bool selected, bool idle)
{
	char cell[CELL], safe[CELL], buf[4 * LINE_MAX_W];
	attr_t base = (selected ? A_REVERSE : 0) | (idle ? A_DIM : 0);
	int x = 0;

	if (selected) {
		attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		attroff(A_REVERSE);
	}
	for (size_t i = 0; i < n; i++) {
		const struct col *c = &cols[i];
		const char *s = sink_text__cell(c->f, row, iv, cell, sizeof(cell));
		attr_t a = base;

		if (i) {
			put(t, y, x, sep(c, i) == 2 ? "  " : " ", sep(c, i), base);
			x += sep(c, i);
		}
		if (is_latency(c->f))
			a |= grade(t, field__value(c->f, row, iv));
		fit(t, printable(s, safe, sizeof(safe)), c->w, col_align(c->f), buf, sizeof(buf));
		put(t, y, x, buf, c->w, a);
		x += c->w;
	}
}

/* --- details of a row ---------------------------------------------------- */

struct text_lines {
	char (*l)[512];
	size_t n, cap;
};

static void add_line(struct text_lines *ls, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_line(struct text_lines *ls, const char *fmt, ...)
{
	va_list ap;

	if (array_grow((void **)&ls->l, &ls->cap, ls->n + 1, sizeof(*ls->l)))
		return;
	va_start(ap, fmt);
	vsnprintf(ls->l[ls->n++], sizeof(*ls->l), fmt, ap);
	va_end(ap);
}

/* every JSON-visible field of the row, named as in NDJSON, with the text
 * formatting (exact counts) */
static void details(const struct interval *iv, const struct row_schema *s, const void *row,
		    struct text_lines *ls)
{
	char cell[CELL], safe[CELL];

	for (size_t i = 0; i < owner_nfields + s->nfields; i++) {
		const struct field *f =
			i < owner_nfields ? &owner_fields[i] : &s->fields[i - owner_nfields];
		const char *p = (const char *)row + f->off;

		if (!field__shown(f, iv->by, iv->groups, false))
			continue;
		switch (f->kind) {
		case FK_HIST: {
			const struct row_hist *h = (const void *)p;
			char v[6][24], tot[24];

			if (!h->s.count) {
				add_line(ls, "%-16s no samples", f->json);
				break;
			}
			fmt_duration(h->s.p50, v[0], sizeof(v[0]));
			fmt_duration(h->s.p90, v[1], sizeof(v[1]));
			fmt_duration(h->s.p99, v[2], sizeof(v[2]));
			fmt_duration(h->s.p999, v[3], sizeof(v[3]));
			fmt_duration(h->s.max, v[4], sizeof(v[4]));
			fmt_duration(h->s.mean, v[5], sizeof(v[5]));
			fmt_duration(h->s.total, tot, sizeof(tot));
			add_line(ls, "%-16s p50 %s  p90 %s  p99 %s  p999 %s  max %s  mean %s",
				 f->json, v[0], v[1], v[2], v[3], v[4], v[5]);
			add_line(ls, "%-16s %llu samples, %s in all", "",
				 (unsigned long long)h->s.count, tot);
			break;
		}
		case FK_ERRNOS: {
			const struct row_list *l = (const void *)p;
			char en[32], line[512] = "";

			for (uint32_t k = 0; k < l->n; k++) {
				const struct errno_count *e = &iv->errs[l->off + k];

				snprintf(line + strlen(line), sizeof(line) - strlen(line),
					 "%s%s %llu", k ? ", " : "",
					 errno_name((int)e->err, en, sizeof(en)),
					 (unsigned long long)e->count);
			}
			add_line(ls, "%-16s %s", f->json, l->n ? line : "none");
			break;
		}
		case FK_CULPRITS: {
			const struct row_list *l = (const void *)p;

			add_line(ls, "%-16s %s", f->json, l->n ? "" : "none");
			for (uint32_t k = 0; k < l->n; k++) {
				const struct culprit *c = &iv->culprits[l->off + k];
				char comm[4 * LS_COMM_LEN + 1], cg[4 * 256 + 1], d[24];

				add_line(ls, "%-16s pid %u  comm %s  cgroup %s  runq %s", "",
					 c->pid, fmt_safe(c->comm, LS_COMM_LEN, comm, sizeof(comm)),
					 fmt_safe(c->cgroup && *c->cgroup ? c->cgroup : "-",
						  (size_t)-1, cg, sizeof(cg)),
					 fmt_duration((double)c->runq_ns, d, sizeof(d)));
			}
			break;
		}
		case FK_U64:
			if (!f->text) { /* exact, not compacted */
				add_line(ls, "%-16s %llu", f->json,
					 (unsigned long long)*(const uint64_t *)p);
				break;
			}
			/* fall through */
		default: {
			const char *c = NULL;

			if (f->kind == FK_HSTAT && f->stat == HS_COUNT && !f->text) {
				snprintf(cell, sizeof(cell), "%llu",
					 (unsigned long long)((const struct row_hist *)p)->s.count);
				c = cell;
			}
			if (!c && f->kind != FK_BYTES && (f->text || f->kind != FK_DERIVED))
				c = sink_text__cell(f, row, iv, cell, sizeof(cell));
			if (!c || !*c) { /* no text form: the JSON value */
				size_t l;

				c = sink_json__value(f, row, iv, cell, sizeof(cell));
				l = strlen(cell);
				if (l >= 2 && cell[0] == '"' && cell[l - 1] == '"') {
					cell[l - 1] = 0;
					c = cell + 1;
				}
			}
			add_line(ls, "%-16s %s", f->json, printable(c, safe, sizeof(safe)));
		}
		}
	}
}

static void draw_details(struct tui *t, int y0, int h, const struct interval *iv,
			 const struct row_schema *s, const void *row)
{
	struct text_lines ls = {};
	char safe[512];

	attron(A_REVERSE);
	mvhline(y0, 0, ' ', COLS);
	attroff(A_REVERSE);
	put(t, y0, 0, "details of the selected row  (Enter or Esc closes; arrows move)", COLS,
	    A_REVERSE | A_BOLD);
	if (!row) {
		put(t, y0 + 1, 0,
		    "the selected row had no activity in this interval (arrows pick another)", COLS,
		    0);
		return;
	}
	details(iv, s, row, &ls);
	for (size_t i = 0; i < ls.n && (int)i < h - 1; i++) {
		if ((int)i == h - 2 && ls.n > (size_t)h - 1) {
			char more[64];

			snprintf(more, sizeof(more),
				 "... %zu more lines (a taller terminal shows them)", ls.n - i);
			put(t, y0 + 1 + (int)i, 0, more, COLS, A_DIM);
			break;
		}
		put(t, y0 + 1 + (int)i, 0, printable(ls.l[i], safe, sizeof(safe)), COLS, 0);
	}
	free(ls.l);
}

static const char *const help_text[] = {
	"latscope top: keys",
	"",
	"  1-4, Tab        view: syscalls, sched, tcp, requests (Shift-Tab: back)",
	"  s / S           sort by the next / previous sortable field (marked ARROW)",
	"  g               group rows: GROUPS",
	"  /               filter by comm or service substring (Enter applies,",
	"                  Esc cancels, empty clears)",
	"  i               show / hide idle waits (epoll_wait, futex_wait, sleeps...)",
	"  p               pause: the screen keeps its interval; collection goes on",
	"  + / -           interval longer / shorter (0.1 s .. 60 s)",
	"  arrows PgUp PgDn Home End   select a row",
	"  Enter           details of the selected row (every field, percentile,",
	"                  errno, culprit and endpoint)",
	"  ?               this help",
	"  q               quit (also Ctrl-C)",
	"",
	"Latency colours: under 1ms plain, 1-10ms yellow, 10-100ms magenta,",
	"100ms and more red (--no-color or NO_COLOR turn colour off).",
	"Header: drops are events the kernel side could not count; idle rows",
	"hidden are idle waits left out (i shows them); bpf/events per second",
	"need --stats.",
	"",
	"Any key closes this help.",
};

static void draw_help(const struct tui *t)
{
	size_t n = ARRAY_SIZE(help_text);
	int w = 0, h = (int)n + 2, x0, y0;
	char groups[64] = "", line[256];

	for (size_t i = 0; i < t->ngroupings; i++)
		snprintf(groups + strlen(groups), sizeof(groups) - strlen(groups), "%s%s",
			 i ? " -> " : "", grouping_names[t->groupings[i]]);
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(help_text[i]) + 20 > w)
			w = (int)strlen(help_text[i]) + 20;
	w = w + 4 > COLS ? COLS : w + 4;
	if (h > LINES - 1)
		h = LINES - 1;
	x0 = (COLS - w) / 2;
	y0 = (LINES - 1 - h) / 2;
	for (int y = 0; y < h; y++) {
		attron(A_REVERSE);
		mvhline(y0 + y, x0, ' ', w);
		attroff(A_REVERSE);
	}
	for (size_t i = 0; i < n && (int)i < h - 2; i++) {
		const char *s = help_text[i], *at;
		char *m;

		snprintf(line, sizeof(line), "%s", s);
		if ((at = strstr(s, "GROUPS")))
			snprintf(line, sizeof(line), "%.*s%s", (int)(at - s), s, groups);
		if ((m = strstr(line, "ARROW")))
			snprintf(m, sizeof(line) - (size_t)(m - line), "%s)", t->arrow);
		put(t, y0 + 1 + (int)i, x0 + 2, line, w - 4, A_REVERSE | (i == 0 ? A_BOLD : 0));
	}
}

static void draw(struct tui *t)
{
	struct item it[48];
	const struct view *v = &t->views[t->view];
	struct table *tb = view_table(&t->shown, v);
	struct col cols[MAX_COLS];
	size_t n, ncols;
	int y, status = LINES - 1;

	erase();
	if (COLS < MIN_COLS || LINES < MIN_LINES) {
		char m[96];

		snprintf(m, sizeof(m), "terminal too small (%dx%d); latscope needs %dx%d", COLS,
			 LINES, MIN_COLS, MIN_LINES);
		put(t, 0, 0, m, COLS, A_BOLD);
		refresh();
		return;
	}
	n = header_items(t, it, ARRAY_SIZE(it));
	y = flow(t, it, n, 0);
	t->table_h = status - y - 1;
	if (t->overlay == OV_DETAILS) {
		draw_details(t, y, status - y, &t->shown, v->schema,
			     tb && tb->n && t->sel_found ? table__row(tb, t->sel) : NULL);
	} else if (!tb || !tb->active) {
		char m[128];

		snprintf(m, sizeof(m), "the %s collector is not running (see 'latscope check')",
			 v->schema->name);
		put(t, y + 1, 0, m, COLS, 0);
	} else {
		ncols = layout(&t->shown, v, cols);
		draw_header_cols(t, y, cols, ncols, v);
		if (t->sel < t->top)
			t->top = t->sel;
		if (t->table_h > 0 && t->sel >= t->top + (size_t)t->table_h)
			t->top = t->sel - (size_t)t->table_h + 1;
		for (size_t r = t->top; r < tb->n && (int)(r - t->top) < t->table_h; r++) {
			const void *row = table__row(tb, r);
			bool idle = t->show_idle && v->schema->idle && v->schema->idle(row);

			draw_row(t, y + 1 + (int)(r - t->top), cols, ncols, &t->shown, row,
				 r == t->sel, idle);
		}
		if (!tb->n)
			put(t, y + 1, 0,
			    t->intervals ? "no rows in this interval"
					 : "collecting the first interval...",
			    COLS, A_DIM);
	}
	if (t->editing) {
		char esc[4 * FILTER_MAX + 1], line[8 * FILTER_MAX];
		int x;

		snprintf(line, sizeof(line),
			 "filter (comm or service; Enter applies, Esc cancels): %s",
			 fmt_safe(t->edit, sizeof(t->edit), esc, sizeof(esc)));
		x = put(t, status, 0, line, COLS - 1, A_BOLD);
		move(status, x < COLS - 1 ? x : COLS - 1);
	} else if (t->msg[0] && run_clock_ns(CLOCK_MONOTONIC) < t->msg_until_ns) {
		put(t, status, 0, t->msg, COLS - 1, A_BOLD);
	} else {
		put(t, status, 0,
		    "q quit  ? help  1-4/Tab view  s/S sort  g group  / filter  i idle  p pause  "
		    "+/- interval  Enter details",
		    COLS - 1, A_DIM);
	}
	if (t->overlay == OV_HELP)
		draw_help(t);
	curs_set(t->editing ? 1 : 0);
	refresh();
}

/* --- keys -------------------------------------------------------------- */

static void cycle_sort(struct tui *t, int dir)
{
	struct view *v = &t->views[t->view];
	const struct row_schema *s = v->schema;
	size_t n = 0, cur = 0;
	const struct field *list[64];

	for (size_t i = 0; i < s->nfields && n < ARRAY_SIZE(list); i++) {
		const struct field *f = &s->fields[i];

		if (!(f->flags & F_SORT) || (f->group & ~t->raw->groups))
			continue;
		if (f == v->sort)
			cur = n;
		list[n++] = f;
	}
	if (!n)
		return;
	v->sort = list[(cur + n + (size_t)dir) % n];
	if (!v->sort->header)
		set_msg(t, "sorted by %s (not a column here; Enter shows it per row)",
			v->sort->name);
}

static void change_interval(struct tui *t, int dir)
{
	static const uint64_t steps_ms[] = {100,  200,	 500,	1000,  2000,
					    5000, 10000, 20000, 30000, 60000};
	uint64_t cur = t->interval_ns, next = cur;

	if (dir > 0) {
		for (size_t i = 0; i < ARRAY_SIZE(steps_ms); i++)
			if (steps_ms[i] * 1000000ULL > cur) {
				next = steps_ms[i] * 1000000ULL;
				break;
			}
	} else {
		for (size_t i = ARRAY_SIZE(steps_ms); i-- > 0;)
			if (steps_ms[i] * 1000000ULL < cur) {
				next = steps_ms[i] * 1000000ULL;
				break;
			}
	}
	if (next < INTERVAL_MIN_NS)
		next = INTERVAL_MIN_NS;
	if (next > INTERVAL_MAX_NS)
		next = INTERVAL_MAX_NS;
	if (next == cur)
		set_msg(t, "interval stays %.3gs (0.1 s .. 60 s)", cur / 1e9);
	else
		set_msg(t, "interval %.3gs from the next one", next / 1e9);
	t->interval_ns = next;
}

static void edit_key(struct tui *t, int ch)
{
	size_t l = strlen(t->edit);

	if (ch == 27) { /* Esc: the filter stays as it was */
		t->editing = false;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		snprintf(t->filter, sizeof(t->filter), "%s", t->edit);
		t->editing = false;
		t->sel = t->top = 0;
		t->sel_valid = false;
	} else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && l) {
		t->edit[l - 1] = 0;
	} else if (ch == 21) { /* Ctrl-U */
		t->edit[0] = 0;
	} else if (ch >= 0x20 && ch < 0x7f && l + 1 < sizeof(t->edit)) {
		t->edit[l] = (char)ch;
		t->edit[l + 1] = 0;
	}
}

/* one key; false to quit */
static bool key(struct tui *t, int ch)
{
	struct table *tb = view_table(&t->shown, &t->views[t->view]);
	size_t rows = tb ? tb->n : 0, page = t->table_h > 1 ? (size_t)t->table_h - 1 : 1;

	if (ch == KEY_RESIZE)
		return true;
	if (t->editing) {
		edit_key(t, ch);
		return true;
	}
	if (t->overlay == OV_HELP && ch != 'q') {
		t->overlay = OV_NONE;
		return true;
	}
	switch (ch) {
	case 'q':
	case 'Q': return false;
	case '?':
	case 'h': t->overlay = OV_HELP; break;
	case '\t':
	case KEY_BTAB:
		t->view = (t->view + (ch == '\t' ? 1 : t->nviews - 1)) % t->nviews;
		t->sel = t->top = 0;
		t->sel_valid = false;
		break;
	case 's': cycle_sort(t, 1); break;
	case 'S': cycle_sort(t, -1); break;
	case 'g':
		if (t->ngroupings < 2) {
			set_msg(t, "rows are keyed by %s in the kernel (--by): no other grouping",
				t->raw->by == LS_BY_COMM ? "comm" : "cgroup");
			break;
		}
		t->grouping = (t->grouping + 1) % t->ngroupings;
		t->sel = t->top = 0;
		t->sel_valid = false;
		break;
	case '/':
		t->editing = true;
		snprintf(t->edit, sizeof(t->edit), "%s", t->filter);
		break;
	case 'i': t->show_idle = !t->show_idle; break;
	case 'p':
		t->paused = !t->paused;
		if (t->paused) {
			t->paused_n = t->paused_drops = 0;
			t->paused_at_ns = t->raw->realtime_ns;
		} else if (t->paused_n) { /* the latest interval, at once */
			struct interval tmp = *t->raw;

			*t->raw = t->spare;
			t->spare = tmp;
		}
		break;
	case '+':
	case '=': change_interval(t, 1); break;
	case '-':
	case '_': change_interval(t, -1); break;
	case KEY_UP:
	case 'k':
		if (t->sel)
			t->sel--;
		break;
	case KEY_DOWN:
	case 'j':
		if (t->sel + 1 < rows)
			t->sel++;
		break;
	case KEY_PPAGE: t->sel = t->sel > page ? t->sel - page : 0; break;
	case KEY_NPAGE:
		t->sel = rows && t->sel + page < rows ? t->sel + page : rows ? rows - 1 : 0;
		break;
	case KEY_HOME: t->sel = 0; break;
	case KEY_END: t->sel = rows ? rows - 1 : 0; break;
	case '\n':
	case '\r':
	case KEY_ENTER: t->overlay = t->overlay == OV_DETAILS ? OV_NONE : OV_DETAILS; break;
	case 27: t->overlay = OV_NONE; break;
	default:
		if (ch >= '1' && ch <= '9' && (size_t)(ch - '1') < t->nviews) {
			t->view = (size_t)(ch - '1');
			t->sel = t->top = 0;
			t->sel_valid = false;
		}
		break;
	}
	/* moving the selection (or opening its details) picks the row to
	 * follow across intervals; Home goes back to the top and stays there */
	if (tb && t->sel < tb->n &&
	    (ch == KEY_UP || ch == KEY_DOWN || ch == 'k' || ch == 'j' || ch == KEY_PPAGE ||
	     ch == KEY_NPAGE || ch == KEY_END || ch == '\n' || ch == '\r' || ch == KEY_ENTER)) {
		row_identity(t->views[t->view].schema, table__row(tb, t->sel), t->sel_id);
		t->sel_valid = true;
	}
	if (ch == KEY_HOME)
		t->sel_valid = false;
	return true;
}

/* --- setup ------------------------------------------------------------- */

static bool want_color(const struct options *o)
{
	const char *nc = getenv("NO_COLOR");

	return !o->no_color && !(nc && *nc);
}

static void setup(struct tui *t, struct run *r, struct interval *iv)
{
	const struct options *o = r->o;
	struct utsname u;

	memset(t, 0, sizeof(*t));
	t->r = r;
	t->raw = iv;
	t->interval_ns = o->interval_ns;
	t->show_idle = o->all;
	for (size_t i = 0; i < iv->ntables && t->nviews < ARRAY_SIZE(t->views); i++) {
		struct view *v = &t->views[t->nviews];
		const struct row_schema *s = iv->tables[i].schema;

		v->schema = s;
		v->sort = schema__sort_field(s, o->sort ? o->sort : "p99");
		if (!v->sort)
			v->sort = schema__sort_field(s, s->default_sort);
		if (o->view && !strcmp(o->view, s->name))
			t->view = t->nviews;
		t->nviews++;
	}
	switch (iv->by) {
	case LS_BY_THREAD:
		t->groupings[t->ngroupings++] = G_THREAD;
		/* fall through */
	case LS_BY_PROCESS:
		t->groupings[t->ngroupings++] = G_PROCESS;
		t->groupings[t->ngroupings++] = G_COMM;
		t->groupings[t->ngroupings++] = G_SERVICE;
		break;
	case LS_BY_COMM: t->groupings[t->ngroupings++] = G_COMM; break;
	case LS_BY_CGROUP: t->groupings[t->ngroupings++] = G_SERVICE; break;
	}
	if (uname(&u) == 0) {
		fmt_safe(u.nodename, sizeof(u.nodename), t->host, sizeof(t->host));
		fmt_safe(u.release, sizeof(u.release), t->kernel, sizeof(t->kernel));
	}
	t->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	t->ell = t->utf8 ? "\xe2\x80\xa6" : "~";   /* … */
	t->arrow = t->utf8 ? "\xe2\x96\xbc" : "v"; /* ▼ */
}

/* diagnostics logged while the screen is ours go to a memory file, and to
 * stderr once the terminal is back */
static int hold_stderr(int *saved)
{
	int fd = memfd_create("latscope-stderr", MFD_CLOEXEC);

	*saved = -1;
	if (fd < 0)
		return -errno;
	fflush(stderr);
	*saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (*saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
		int err = -errno;

		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		close(fd);
		return err;
	}
	return fd;
}

static void release_stderr(int fd, int saved)
{
	char buf[4096];
	ssize_t n;

	if (fd < 0)
		return;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (lseek(fd, 0, SEEK_SET) == 0)
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write(STDERR_FILENO, buf, (size_t)n) != n)
				break;
	close(fd);
}

bool tui__wanted(const struct options *o)
{
	static int known = -1;
	int err;

	if (strcmp(o->cmd, "top") || o->json || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return false;
	/* a terminal that can move the cursor (not TERM=dumb, not unknown);
	 * any other gets the plain blocks */
	if (known < 0) {
		known = 0;
		if (setupterm(NULL, STDOUT_FILENO, &err) == OK) {
			const char *cup = tigetstr("cup");

			known = cup && cup != (const char *)-1;
			del_curterm(cur_term);
		}
	}
	return known;
}

/* read the maps for one interval; 0, or 1 with a message logged */
static int collect(struct tui *t)
{
	struct interval *into = t->paused ? &t->spare : t->raw;

	if (run__collect(t->r, into))
		return 1;
	t->intervals++;
	if (t->paused) {
		t->paused_n++;
		t->paused_drops += lost_drops(into);
	}
	t->cost_ok = t->r->agent && agent__sample(t->r->agent, t->r, &t->cost) == 0;
	return 0;
}

int tui__run(struct run *r, struct interval *iv)
{
	struct tui *t = calloc(1, sizeof(*t));
	uint64_t deadline;
	int err = 0, logfd, saved = -1;
	SCREEN *scr;

	if (!t) {
		log_error("cannot allocate the TUI: %s", strerror(errno));
		return 1;
	}
	setlocale(LC_CTYPE, ""); /* UTF-8 glyphs; numbers stay in the C locale */
	setup(t, r, iv);
	/* the spare interval has every table the raw one has, in its order */
	if (interval__copy(&t->spare, iv)) {
		log_error("cannot allocate the TUI: %s", strerror(ENOMEM));
		err = 1;
		goto out_free;
	}
	logfd = hold_stderr(&saved);
	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		release_stderr(logfd, saved);
		log_error("cannot set up the terminal (TERM=%s)",
			  getenv("TERM") ? getenv("TERM") : "");
		err = 1;
		goto out_free;
	}
	set_term(scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	t->color = has_colors() && want_color(r->o);
	if (t->color) {
		start_color();
		use_default_colors();
		init_pair(CP_YELLOW, COLOR_YELLOW, -1);
		init_pair(CP_MAGENTA, COLOR_MAGENTA, -1);
		init_pair(CP_RED, COLOR_RED, -1);
	}
	err = derive(t);
	if (!err)
		draw(t);
	deadline = r->prev_ns + t->interval_ns;
	while (!err && !run_stop) {
		uint64_t now = run_clock_ns(CLOCK_MONOTONIC);
		int ch;

		if (now >= deadline) {
			if (collect(t)) {
				err = 1;
				break;
			}
			if ((err = derive(t)))
				break;
			draw(t);
			if (r->o->count && t->intervals >= r->o->count)
				break;
			deadline += t->interval_ns;
			if (deadline < now) /* we fell behind (suspended?): skip, don't burst */
				deadline = now + t->interval_ns;
			continue;
		}
		/* keys meanwhile; at least every 250 ms for the status line */
		timeout((int)((deadline - now) / 1000000 > 250 ? 250 : (deadline - now) / 1000000));
		ch = getch();
		if (ch == ERR) {
			if (t->msg[0] && now >= t->msg_until_ns) {
				t->msg[0] = 0;
				draw(t);
			}
			continue;
		}
		if (!key(t, ch))
			break;
		if (ch == '+' || ch == '=' || ch == '-' || ch == '_')
			deadline = r->prev_ns + t->interval_ns;
		if ((err = derive(t)))
			break;
		draw(t);
	}
	endwin();
	delscreen(scr);
	release_stderr(logfd, saved);
	if (err < 0) { /* the maps' errors are logged where they happen */
		log_error("cannot build the screen: %s", strerror(-err));
		err = 1;
	}
out_free:
	interval__free(&t->shown);
	interval__free(&t->spare);
	free(t);
	return err;
}
