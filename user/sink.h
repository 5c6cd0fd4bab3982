/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sinks render rows; they never read maps. */
#ifndef LATSCOPE_SINK_H
#define LATSCOPE_SINK_H

#include <stdbool.h>
#include <stdio.h>
#include "rows.h"

enum sort_by {
	SORT_P99 = 0,
	SORT_P50,
	SORT_MAX,
	SORT_COUNT,
	SORT_ERRORS,
	SORT_TIME,
};

/* parse a --sort value; -EINVAL when unknown */
int sort_parse(const char *s, enum sort_by *out);

/* order iv's syscall rows for display, largest first */
void rows_sort(struct interval *iv, enum sort_by by);

struct text_opts {
	bool tty;     /* clear and redraw instead of appending blocks */
	int max_rows; /* 0: no limit (on a TTY the screen height wins) */
	enum sort_by sort;
	bool show_sys, show_sched, show_tcp; /* which tables */
};

/* one block: a timestamp header, then the table. Returns 0 or -errno. */
int sink_text__render(FILE *f, const struct interval *iv, const struct text_opts *o);

/* one NDJSON "interval" object per call. Returns 0 or -errno. */
int sink_json__render(FILE *f, const struct interval *iv);

#endif
