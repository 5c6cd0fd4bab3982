/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Rows: what collectors produce for one interval and every sink renders.
 * An interval holds one table per row kind; a table's rows are described
 * by its schema (schema.h, which also sorts, groups and summarises them),
 * so sinks render any row kind without knowing it. Rows keep their histogram bins, errnos and culprits in the
 * interval's shared storage, so they can be merged and exported as
 * cumulative buckets. No sink reads maps; no collector formats output.
 */
#ifndef LATSCOPE_ROWS_H
#define LATSCOPE_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "latscope.h"
#include "stats.h"

/* who a row belongs to; every row struct starts with one */
struct row_id {
	uint32_t pid, tid; /* tid only with --by thread; both 0 by comm/cgroup */
	uint64_t cgid;	   /* 0 with --by comm */
	char comm[LS_COMM_LEN];
	const char *cgroup; /* owned by struct names or the interval; may be NULL */
};

/* a latency histogram of a row: bins at iv->bins[off .. off + n) */
struct row_hist {
	uint32_t off, n;
	uint64_t sum_ns;      /* exact sum of the samples */
	uint64_t max_ns;      /* largest sample, within its bucket; 0: unknown */
	struct lat_summary s; /* from the bins, by interval__summarize() */
};

/* a row's list in the interval's errs or culprits storage */
struct row_list {
	uint32_t off, n;
};

struct errno_count {
	uint32_t err;
	uint64_t count;
};

struct culprit {
	uint32_t pid;
	uint64_t cgid;
	char comm[LS_COMM_LEN];
	const char *cgroup;
	uint64_t runq_ns; /* run-queue wait of the victim while it held the CPU */
};

#define ROW_CULPRITS 3 /* kept per row, largest first */

struct row_schema;

struct table {
	const struct row_schema *schema;
	bool active;	 /* its collector runs: text shows it (JSON shows every table) */
	size_t row_size; /* schema->row_size */
	void *rows;	 /* n rows of row_size bytes */
	size_t n, cap;
	size_t idle_hidden; /* rows left out as idle waits (interval__hide_idle) */
};

#define IV_MAX_TABLES 8

struct interval {
	uint64_t realtime_ns; /* when the interval ended */
	double interval_s;    /* measured length */
	enum ls_by by;
	bool replay;	     /* read back from a recording (recfmt.h) */
	uint64_t nintervals; /* intervals merged in it (a roll-up); 0: one */
	double rollup_s;     /* replay: the roll-up tier it was read from; 0: none */
	unsigned groups;     /* optional field groups shown (schema.h FG_*) */
	struct table tables[IV_MAX_TABLES];
	size_t ntables;
	struct hbin *bins;
	size_t nbins, bins_cap;
	struct errno_count *errs;
	size_t nerrs, errs_cap;
	struct culprit *culprits;
	size_t nculprits, culprits_cap;
	uint64_t drops[LS_DROP_MAX]; /* events lost during the interval */
};

/* drop counter names as they appear in JSON/metrics */
extern const char *const drop_names[LS_DROP_MAX];

/* Append a zeroed row to t. Returns it, or NULL on ENOMEM. Pointers to
 * earlier rows of t may move. */
void *table__add(struct table *t);

static inline void *table__row(const struct table *t, size_t i)
{
	return (char *)t->rows + i * t->row_size;
}

/* Append n bins to iv->bins (they may be a range of iv->bins itself);
 * returns the offset of the first, or -ENOMEM. */
long interval__add_bins(struct interval *iv, const struct hbin *bins, size_t n);

/*
 * Room for up to max bins at the end of iv->bins, to fill in place and
 * then keep with interval__set_hist(). NULL on ENOMEM.
 */
struct hbin *interval__bins_reserve(struct interval *iv, size_t max);
/* Keep the first n reserved bins as histogram h's. */
void interval__set_hist(struct interval *iv, struct row_hist *h, size_t n);
/* Append one errno count / culprit; 0 or -ENOMEM. */
int interval__add_errno(struct interval *iv, uint32_t err, uint64_t count);
int interval__add_culprit(struct interval *iv, const struct culprit *c);

/* Empty every table (keeping schemas), the shared storage and drops. */
void interval__reset(struct interval *iv);
void interval__free(struct interval *iv);

/*
 * Make dst (empty or a previous copy, whose storage is reused) a deep copy
 * of src: tables, rows, bins, errnos, culprits, drops. Strings stay shared
 * (struct names owns them). 0 or -ENOMEM (dst then half-copied: reset or
 * free it).
 */
int interval__copy(struct interval *dst, const struct interval *src);

#endif
