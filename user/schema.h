/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Field tables: one description per row kind, read by every sink, by
 * sorting and by grouping (in the spirit of htop's process-field table).
 * A field says where its value sits in the row, what kind of value it is,
 * how text shows it (header, width), how JSON names it (key, scale), and
 * which Prometheus family and label role it has. Genuinely special cells
 * get a hook; a sink never branches on a row kind.
 */
#ifndef LATSCOPE_SCHEMA_H
#define LATSCOPE_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include "json.h"
#include "rows.h"

enum field_kind {
	FK_U16,	     /* uint16_t */
	FK_U32,	     /* uint32_t */
	FK_U64,	     /* uint64_t count */
	FK_NS,	     /* uint64_t nanoseconds; JSON divides by scale */
	FK_CHARS,    /* char[size], NUL-terminated */
	FK_STRP,     /* const char *, NULL as "" */
	FK_BYTES,    /* size raw bytes (an address); rendered by hooks */
	FK_HIST,     /* struct row_hist: JSON object of percentiles / scale */
	FK_HSTAT,    /* one statistic (stat) of the struct row_hist at off */
	FK_ERRNOS,   /* struct row_list into iv->errs: JSON {"ENAME": count} */
	FK_CULPRITS, /* struct row_list into iv->culprits: JSON array */
	FK_RATIO,    /* uint64_t at off over uint64_t at off2, in percent */
	FK_DERIVED,  /* no storage: value/text/json hooks only */
};

enum hist_stat { HS_P50, HS_P90, HS_P99, HS_P999, HS_MAX, HS_MEAN, HS_TOTAL, HS_COUNT };

/* what a field is to Prometheus (DESIGN.md section 6) */
enum prom_role {
	PROM_NONE = 0,
	PROM_LABEL,	    /* a label of every family of the row kind */
	PROM_COUNTER,	    /* a _total counter, base unit from the kind */
	PROM_HISTOGRAM,	    /* classic _bucket/_sum/_count, seconds */
	PROM_ERRNO_COUNTER, /* a counter per errno, label "errno" */
};

enum field_flags {
	F_SORT = 1u << 0,  /* --sort accepts its name and aliases */
	F_KEY = 1u << 1,   /* part of the row's identity (with the owner) */
	F_LEFT = 1u << 2,  /* text: left-aligned, cut to width */
	F_TAIL = 1u << 3,  /* text: left-aligned, long values keep their tail */
	F_DASH = 1u << 4,  /* text: "-" when the histogram is empty */
	F_SEP2 = 1u << 5,  /* text: two spaces before the column */
	F_OWNER = 1u << 6, /* in struct row_id: shown per --by (by_mask) */
	F_OPEN = 1u << 7,  /* Prometheus label with open-ended values (comm,
			    * service, address): "other" once a metric is at
			    * its series cap */
};

/* optional field groups (struct field.group, struct interval.groups) */
#define FG_BREAKDOWN (1u << 0) /* top --breakdown */
#define FG_OVER	     (1u << 1) /* top --threshold */
#define FG_IDLE	     (1u << 2) /* --all: rows say whether they are idle waits */

#define BY_BIT(b) (1u << (b))
#define BY_ALL	  0u

struct field;
typedef char *(*field_text_fn)(const struct field *f, const void *row, const struct interval *iv,
			       char *buf, size_t len);
typedef void (*field_json_fn)(const struct field *f, const void *row, const struct interval *iv,
			      struct jw *w);
typedef double (*field_value_fn)(const struct field *f, const void *row, const struct interval *iv);
/* a Prometheus label value, raw (the sink escapes it); NULL or "": no label */
typedef const char *(*field_label_fn)(const struct field *f, const void *row, char *buf,
				      size_t len);

struct field {
	const char *name;	/* --sort name; unique in its table */
	const char *aliases[3]; /* short --sort names ("p99") */
	const char *header;	/* text column title; NULL: not a column */
	int width;		/* text width; 0: last column, unbounded */
	const char *json;	/* JSON key; NULL: not in JSON */
	enum field_kind kind;
	size_t off, size; /* where in the row (size for FK_CHARS/FK_BYTES) */
	size_t off2;	  /* FK_RATIO: the denominator's offset */
	enum hist_stat stat;
	double scale; /* JSON value = stored value / scale (1e3: ns -> us) */
	unsigned flags;
	unsigned text_by, json_by; /* F_OWNER: BY_BIT()s of the --by modes shown */
	const char *prom;	   /* Prometheus family, without the latscope_ prefix */
	enum prom_role role;
	const char *help;
	/* constant label pair(s) of this field's samples, when several fields
	 * share one family (tcp_resets_total: direction="sent") */
	const char *prom_const;
	unsigned group; /* FG_*: shown only when the interval asks; 0: always */
	/* one-line form (an event per line): put before the cell; NULL: not
	 * in the line; a cell a hook leaves empty is left out with it */
	const char *line;
	field_text_fn text;   /* text cell, when the kind's default will not do */
	field_json_fn jsonfn; /* JSON member, likewise */
	field_value_fn value; /* number for sorting, likewise */
	field_label_fn label; /* PROM_LABEL value, when the kind's default will not do */
};

struct row_schema {
	const char *name;  /* JSON array key, text title, --view name */
	const char *label; /* Prometheus label of the row kind's key, if any */
	size_t row_size;   /* starts with struct row_id */
	const struct field *fields;
	size_t nfields;
	const char *default_sort; /* field name */
	/* order of rows equal in the sort field (busiest first...); <0, 0, >0 */
	int (*tiebreak)(const void *a, const void *b);
	/* is the row an idle wait (DESIGN.md section 4)? NULL: never */
	bool (*idle)(const void *row);
};

/* the fields every row kind starts with (struct row_id), in this order */
extern const struct field owner_fields[];
extern const size_t owner_nfields;

/* Is field f shown (text when text, else JSON) for rows keyed by by, with
 * the optional field groups groups (FG_*) asked for? */
bool field__shown(const struct field *f, enum ls_by by, unsigned groups, bool text);

/* The sortable field of s called name (or with that alias), or NULL. */
const struct field *schema__sort_field(const struct row_schema *s, const char *name);

/* The value of PROM_LABEL field f for row, raw; NULL when the row has none. */
const char *field__label(const struct field *f, const void *row, char *buf, size_t len);

/* The number a field stands for (sorting, derived cells). */
double field__value(const struct field *f, const void *row, const struct interval *iv);

/* FK_RATIO: the ratio in percent into *pct; false when the denominator is 0. */
bool field__ratio(const struct field *f, const void *row, double *pct);

/* The histogram statistic st of h, in ns (count for HS_COUNT). */
double hist_stat(const struct row_hist *h, enum hist_stat st);

/* The table of a schema, added (inactive, empty) when missing; NULL when full. */
struct table *interval__table(struct interval *iv, const struct row_schema *schema);

/* Drop the rows that are idle waits (schema idle hook) from every table,
 * counting them in the table's idle_hidden. */
void interval__hide_idle(struct interval *iv);

/* Percentiles of every histogram of every row, from its bins. */
void interval__summarize(struct interval *iv);

/*
 * Order every table for display, largest first, by the sortable field
 * called sort (a field name or a short alias such as "p99"); a table
 * without such a field uses its schema's default.
 */
void interval__sort(struct interval *iv, const char *sort);

/*
 * Merge the rows of every table that share a comm (and the schema's key
 * fields, e.g. the syscall): counts add up, histogram bins merge (the
 * percentiles are then recomputed from the merged bins, not averaged),
 * errno and culprit lists merge. The rows become --by comm rows (pid, tid
 * and cgroup cleared). 0 or -ENOMEM.
 */
int interval__group_by_comm(struct interval *iv);

/*
 * The same for the rows that share a cgroup (its id): --by cgroup rows,
 * each named by its service, made from process or thread rows (pid, tid
 * and comm cleared). 0 or -ENOMEM.
 */
int interval__group_by_cgroup(struct interval *iv);

/* The same for the rows of one process: --by thread rows become --by
 * process rows (tid cleared). 0 or -ENOMEM. */
int interval__group_by_process(struct interval *iv);

/* The same for the rows of one thread (pid and tid): rows of one key
 * from several intervals become one (the recorder's roll-ups). */
int interval__group_by_thread(struct interval *iv);

/* offsetof-style helpers for field tables */
#define FIELD_AT(type, member) .off = offsetof(type, member), .size = sizeof(((type *)0)->member)

#endif
