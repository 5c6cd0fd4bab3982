/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Prometheus sink (DESIGN.md section 6): cumulative series kept in user
 * space from interval rows, rendered as the text format 0.0.4 or as
 * OpenMetrics 1.0 from the field tables (a field's prom family and role).
 * Never reads maps; never names a row kind.
 *
 * Counters never go backwards: each label set keeps its own running totals,
 * whatever happens to the kernel keys or processes that fed it. Histograms
 * are folded from the internal log-linear bins into a fixed set of le
 * bounds, each a bin bound, so every bucket count is exact.
 */
#ifndef LATSCOPE_PROM_H
#define LATSCOPE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "rows.h"

#define PROM_MAX_BOUNDS 128

struct prom_opts {
	size_t max_series; /* label sets per row kind before folding to "other" */
	uint64_t ttl_ns;   /* a series not updated for this long is dropped */
	/* le bounds in ns, ascending, each a histogram bin's lower bound;
	 * nbounds 0: the default set (prom_default_bounds) */
	uint64_t bounds_ns[PROM_MAX_BOUNDS];
	size_t nbounds;
};

struct prom_store;

/* The default le set: two bounds per octave (2^k and 1.5 * 2^k ns) from
 * 1.024 us to 17.18 s. Returns how many were written into out. */
size_t prom_default_bounds(uint64_t *out, size_t cap);

/*
 * Parse a --buckets list (durations, comma-separated, ascending): each is
 * raised to the nearest histogram bin bound at or above it. 0, or -EINVAL
 * with a message in err.
 */
int prom_parse_bounds(const char *s, struct prom_opts *o, char *err, size_t err_len);

struct prom_store *prom_store__new(const struct prom_opts *o);
void prom_store__free(struct prom_store *st);

struct row_schema;
/* Export row kind s from the start (its families show, empty, before the
 * first interval). 0 or -ENOMEM. */
int prom_store__kind(struct prom_store *st, const struct row_schema *s);

/*
 * Add an interval's rows to the cumulative series; now_ns (monotonic)
 * stamps the series it touches and expires the ones untouched for longer
 * than the TTL. Drops are added to the dropped counters. 0 or -ENOMEM.
 */
int prom_store__add(struct prom_store *st, const struct interval *iv, uint64_t now_ns);

/* Series currently kept, all row kinds together; and label sets folded
 * into "other" since start. */
size_t prom_store__series(const struct prom_store *st);
uint64_t prom_store__folded(const struct prom_store *st);

/*
 * Write every family of the store: HELP, TYPE, then the samples, in the
 * text format 0.0.4 or OpenMetrics (without its final "# EOF", so the
 * caller can add families of its own). Includes latscope_dropped_total.
 * 0 or -errno of the stream.
 */
int prom_store__render(const struct prom_store *st, FILE *f, bool openmetrics);

/*
 * Escape a label value for either format: backslash, double quote and
 * newline as the formats say; other control bytes and bytes that are not
 * valid UTF-8 as the four characters \xNN (so the value stays valid UTF-8
 * and a scrape is never rejected for it). Returns out.
 */
char *prom_escape(const char *s, char *out, size_t len);

/* Family metadata in either format: "# HELP" and "# TYPE" lines. name is
 * the sample name without a _total suffix for OpenMetrics counters. */
void prom_meta(FILE *f, bool openmetrics, const char *name, const char *type, const char *help);

#endif
