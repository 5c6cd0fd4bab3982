/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sinks render rows through their schemas; they never read maps and never
 * name a row kind. */
#ifndef LATSCOPE_SINK_H
#define LATSCOPE_SINK_H

#include <stdbool.h>
#include <stdio.h>
#include "rows.h"

struct text_opts {
	bool tty;	  /* clear and redraw instead of appending blocks */
	int max_rows;	  /* 0: no limit (on a TTY the screen height wins) */
	const char *sort; /* for the header: what the rows are sorted by */
};

/* one block: a timestamp header, then the active tables. 0 or -errno. */
int sink_text__render(FILE *f, const struct interval *iv, const struct text_opts *o);

/* one NDJSON "interval" object per call, every table. 0 or -errno. */
int sink_json__render(FILE *f, const struct interval *iv);

struct jw;

/* what a report says beside its rows */
struct report_info {
	uint64_t from_ns;
	size_t nintervals;
	size_t ntiers; /* the recording's tiers: frame length, frames read */
	double tier_s[4];
	size_t tier_frames[4];
	/* the "slow" array's members; NULL: none */
	void (*slow_json)(struct jw *w, void *ctx);
	void *ctx;
};

/*
 * iv as one NDJSON "report" object (DESIGN.md section 5): a recorded window
 * merged, from ri->from_ns to iv->realtime_ns. 0 or -errno.
 */
int sink_json__report(FILE *f, const struct interval *iv, const struct report_info *ri);

/* "process", "thread", "cgroup", "comm" */
const char *sink_by_name(enum ls_by by);

struct row_schema;
struct field;

/*
 * The text cell of field f of row, as every text front end shows it (the
 * plain tables, the TUI): the field's text hook, else its kind's format
 * (counts compacted, durations scaled, strings from the traced host
 * escaped with fmt_safe, "-" for a ratio over 0). Returns buf or a
 * constant string; never NULL.
 */
const char *sink_text__cell(const struct field *f, const void *row, const struct interval *iv,
			    char *buf, size_t len);

/*
 * Field f of row as the NDJSON sink writes its value (without the key)
 * into buf, for a field that has no text form. Returns buf ("" when it
 * does not fit).
 */
char *sink_json__value(const struct field *f, const void *row, const struct interval *iv, char *buf,
		       size_t len);

/*
 * One row as one line (events such as slow calls): the fields with a line
 * prefix, in table order, separated by spaces. 0 or -errno.
 */
int sink_text__line(FILE *f, const struct row_schema *s, const void *row);

/* One row as one NDJSON object {"type": schema name, fields shown for
 * by...}. 0 or -errno. */
int sink_json__object(FILE *f, const struct row_schema *s, const void *row, enum ls_by by);

#endif
