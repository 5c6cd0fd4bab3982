// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Prometheus store and renderer (user/prom.c) over intervals built
 * from the input: rows of every collector's schema (the syscalls table
 * most often), filled field by field from the schema, with arbitrary pids,
 * comms and cgroup paths (any bytes), syscall numbers, histogram bins with
 * any bucket index and count, errnos and culprits; a small --max-series
 * and, for some inputs, a short series TTL or custom le bounds. After each
 * interval both formats are rendered into memory and checked:
 *
 * - every line is a HELP, a TYPE or a sample that parses (metric and label
 *   names, label values with only the format's escapes, a number), the
 *   page is valid UTF-8 and holds no control byte but the line ends;
 * - each family is declared once, before its samples, and every sample
 *   belongs to the family declared last; no series appears twice; no
 *   label name appears twice in a series;
 * - histogram buckets are in increasing le order ending in +Inf, their
 *   counts never decrease, and +Inf equals _count;
 * - a counter, bucket, _sum or _count never decreases from one render to
 *   the next while its series lives;
 * - without a TTL nothing is lost: the _count of every histogram family,
 *   every integer counter family and every drop reason sum to what the
 *   rows held (folding into "other" moves counts, never drops them);
 * - no more than --max-series label sets per family before folding;
 * - OpenMetrics: the store's page holds no "# EOF" of its own, and the
 *   page serve makes of it ends with exactly one.
 */
#include <math.h>
#include "collector.h"
#include "fuzz.h"
#include "hist.h"
#include "prom.h"
#include "rows.h"
#include "schema.h"
#include "syscalls.h"
#include "util.h"

FUZZ_HARNESS_BEGIN

#define MAX_INTERVALS 6
#define MAX_ROWS      12
#define MAX_FAMILIES  64

/* one sample of a page: the key is "name{labels}", in the page itself */
struct sample {
	const char *key;
	double v;
};

struct page {
	struct sample *s;
	size_t n, cap;
};

/* what the rows held, per family, for the no-loss check */
struct expect {
	char fam[96];
	uint64_t n;
};

struct world {
	struct expect ex[MAX_FAMILIES];
	size_t nex;
	uint64_t drops[LS_DROP_MAX];
	const char *cgroups[4];
	char comms[4][LS_COMM_LEN];
	bool exact; /* no TTL: totals must match */
	size_t max_series;
};

static void expect_add(struct world *w, const char *fam, uint64_t n)
{
	size_t i;

	for (i = 0; i < w->nex; i++)
		if (!strcmp(w->ex[i].fam, fam))
			break;
	if (i == w->nex) {
		FUZZ_ASSERT(w->nex < MAX_FAMILIES, "too many families");
		snprintf(w->ex[w->nex++].fam, sizeof(w->ex[0].fam), "%s", fam);
	}
	w->ex[i].n += n;
}

/* --- building intervals -------------------------------------------------- */

static uint64_t small_or_any(struct fz *z, int bytes)
{
	return fz_u8(z) & 1 ? fz_uint(z, bytes) : fz_u8(z) % 8;
}

static void fill_hist(struct fz *z, struct interval *iv, struct row_hist *h)
{
	size_t nb = fz_u8(z) % 8;
	/* as the collectors do: room for the most, then keep what was used */
	struct hbin *b = interval__bins_reserve(iv, 8);

	FUZZ_ASSERT(b, "out of memory");
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < nb; i++) {
		uint8_t mode = fz_u8(z);

		/* mostly real bucket indexes, sometimes anything at all */
		b[i].bucket = mode < 240 ? fz_below(z, HIST_BUCKETS) : (uint32_t)fz_uint(z, 4);
		b[i].count = fz_uint(z, 4);
		b[i].sum = 0;
	}
	h->sum_ns = fz_uint(z, 4);
	h->max_ns = fz_uint(z, 4);
	interval__set_hist(iv, h, nb);
}

/* one row of schema s, field by field (fields share storage: HSTAT, RATIO
 * and DERIVED fields read what others hold) */
static void fill_row(struct fz *z, struct world *w, struct interval *iv, const struct row_schema *s)
{
	struct table *t = interval__table(iv, s);
	char *row;

	FUZZ_ASSERT(t, "no room for a table");
	row = table__add(t);
	FUZZ_ASSERT(row, "out of memory");
	for (size_t i = 0; i < owner_nfields + s->nfields; i++) {
		const struct field *f =
			i < owner_nfields ? &owner_fields[i] : &s->fields[i - owner_nfields];
		char *p = row + f->off;
		bool ctr = f->role == PROM_COUNTER;

		switch (f->kind) {
		case FK_U16: *(uint16_t *)p = (uint16_t)small_or_any(z, 2); break;
		case FK_U32: *(uint32_t *)p = (uint32_t)small_or_any(z, 4); break;
		case FK_U64:
		case FK_NS: {
			/* counters stay far from overflowing a uint64_t over the run */
			uint64_t v = ctr ? fz_uint(z, 4) : small_or_any(z, 8);

			*(uint64_t *)p = v;
			if (ctr && f->kind == FK_U64) {
				char fam[96];

				snprintf(fam, sizeof(fam), "latscope_%s", f->prom);
				expect_add(w, fam, v);
			}
			break;
		}
		case FK_CHARS:
			if (fz_u8(z) & 1) {
				for (size_t k = 0; k < f->size; k++) /* maybe without a NUL */
					p[k] = (char)fz_u8(z);
			} else {
				memcpy(p, w->comms[fz_u8(z) % 4],
				       f->size < LS_COMM_LEN ? f->size : LS_COMM_LEN);
			}
			break;
		case FK_STRP: *(const char **)p = w->cgroups[fz_u8(z) % 4]; break;
		case FK_BYTES:
			for (size_t k = 0; k < f->size; k++)
				p[k] = (char)(fz_u8(z) & 1 ? fz_u8(z) : 0);
			break;
		case FK_HIST: {
			struct row_hist *h = (struct row_hist *)p;

			fill_hist(z, iv, h);
			if (f->role == PROM_HISTOGRAM) {
				char fam[96];
				uint64_t n = 0;

				for (uint32_t b = 0; b < h->n; b++)
					n += iv->bins[h->off + b].count;
				snprintf(fam, sizeof(fam), "latscope_%s_count", f->prom);
				expect_add(w, fam, n);
			}
			break;
		}
		case FK_ERRNOS: {
			struct row_list *l = (struct row_list *)p;
			size_t n = fz_u8(z) % 4;

			l->off = (uint32_t)iv->nerrs;
			l->n = 0;
			for (size_t e = 0; e < n; e++) {
				uint32_t err = (uint32_t)small_or_any(z, 4);
				uint64_t c = fz_uint(z, 4);

				FUZZ_ASSERT(!interval__add_errno(iv, err, c), "out of memory");
				l->n++;
				if (f->role == PROM_ERRNO_COUNTER) {
					char fam[96];

					snprintf(fam, sizeof(fam), "latscope_%s", f->prom);
					expect_add(w, fam, c);
				}
			}
			break;
		}
		case FK_CULPRITS: {
			struct row_list *l = (struct row_list *)p;
			size_t n = fz_u8(z) % (ROW_CULPRITS + 1);

			l->off = (uint32_t)iv->nculprits;
			l->n = (uint32_t)n;
			for (size_t e = 0; e < n; e++) {
				struct culprit c = {.pid = (uint32_t)small_or_any(z, 4),
						    .cgid = fz_u8(z),
						    .cgroup = w->cgroups[fz_u8(z) % 4],
						    .runq_ns = fz_uint(z, 4)};

				memcpy(c.comm, w->comms[fz_u8(z) % 4], LS_COMM_LEN);
				FUZZ_ASSERT(!interval__add_culprit(iv, &c), "out of memory");
			}
			break;
		}
		default: break;
		}
	}
}

/* --- checking pages -------------------------------------------------------- */

static bool name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/* a metric or label name at s; its length, 0 if none */
static size_t name_len(const char *s, bool colon)
{
	size_t n = 0;

	while (name_char(s[n], n == 0, colon))
		n++;
	return n;
}

static bool has_suffix(const char *s, size_t n, const char *sfx)
{
	size_t l = strlen(sfx);

	return n >= l && !memcmp(s + n - l, sfx, l);
}

/* the histogram being checked: its base series and last le */
struct hstate {
	char base[2048]; /* name{labels without le} */
	double le;
	double cum;
	bool open, inf;
	double inf_count;
};

static void page_add(struct page *pg, const char *key, double v)
{
	if (pg->n == pg->cap) {
		pg->cap = pg->cap ? pg->cap * 2 : 256;
		pg->s = realloc(pg->s, pg->cap * sizeof(*pg->s));
		FUZZ_ASSERT(pg->s, "out of memory");
	}
	pg->s[pg->n].key = key;
	pg->s[pg->n++].v = v;
}

static int sample_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sample *)a)->key, ((const struct sample *)b)->key);
}

static void page_free(struct page *pg)
{
	free(pg->s);
	memset(pg, 0, sizeof(*pg));
}

static double sum_of(const struct page *pg, const char *name)
{
	size_t l = strlen(name);
	double v = 0;

	for (size_t i = 0; i < pg->n; i++)
		if (!strncmp(pg->s[i].key, name, l) &&
		    (pg->s[i].key[l] == '{' || pg->s[i].key[l] == 0))
			v += pg->s[i].v;
	return v;
}

/*
 * Parse and check a page; its samples go into pg (sorted by key). The
 * histogram checks rely on the renderer writing a series' buckets, then
 * its _sum and _count, together.
 */
static void check_page(char *page, size_t len, bool om, struct page *pg)
{
	char declared[MAX_FAMILIES * 4][96];
	size_t ndeclared = 0;
	char fam[96] = "", type[16] = "";
	struct hstate h = {0};
	const char *line = page, *end = page + len;

	FUZZ_ASSERT(fuzz_utf8_bad(page, len) == len, "page not UTF-8 at %zu",
		    fuzz_utf8_bad(page, len));
	FUZZ_ASSERT(!len || page[len - 1] == '\n', "page does not end with a newline");
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t ll = (size_t)(nl - line), n;
		const char *p = line, *lb, *key_end;
		char labels_seen[16][64];
		size_t nlabels = 0;
		double v;
		char *vend;

		for (size_t k = 0; k < ll; k++)
			FUZZ_ASSERT((uint8_t)line[k] >= 0x20 && line[k] != 0x7f,
				    "control byte 0x%02x in line: %s", (uint8_t)line[k],
				    fuzz_show(line, ll));
		FUZZ_ASSERT(!(ll == 5 && !memcmp(line, "# EOF", 5)),
			    "# EOF inside the store's page");
		if (ll > 7 && (!memcmp(line, "# HELP ", 7) || !memcmp(line, "# TYPE ", 7))) {
			bool is_type = line[2] == 'T';

			p = line + 7;
			n = name_len(p, true);
			FUZZ_ASSERT(n && n < sizeof(fam) && (p[n] == ' '), "bad family name in: %s",
				    fuzz_show(line, ll));
			if (is_type) {
				const char *t = p + n + 1;
				size_t tl = ll - (size_t)(t - line);

				FUZZ_ASSERT(tl < sizeof(type), "type: %s", fuzz_show(line, ll));
				memcpy(type, t, tl);
				type[tl] = 0;
				FUZZ_ASSERT(!strcmp(type, "counter") || !strcmp(type, "gauge") ||
						    !strcmp(type, "histogram") ||
						    (om && !strcmp(type, "info")),
					    "type '%s'", type);
				FUZZ_ASSERT(!h.open, "TYPE %.*s inside the histogram series %s",
					    (int)n, p, h.base);
				memcpy(fam, p, n);
				fam[n] = 0;
				for (size_t k = 0; k < ndeclared; k++)
					FUZZ_ASSERT(strcmp(declared[k], fam),
						    "family %s declared twice", fam);
				FUZZ_ASSERT(ndeclared < ARRAY_SIZE(declared), "too many families");
				snprintf(declared[ndeclared++], sizeof(declared[0]), "%s", fam);
				/* OpenMetrics: a counter family has no _total in its name */
				if (om && !strcmp(type, "counter"))
					FUZZ_ASSERT(!has_suffix(fam, n, "_total"),
						    "OpenMetrics counter family %s", fam);
			} else {
				/* HELP text: only \\ and \n escapes (and \" in OpenMetrics) */
				for (const char *q = p + n + 1; q < nl; q++)
					if (*q == '\\') {
						q++;
						FUZZ_ASSERT(q < nl && (*q == '\\' || *q == 'n' ||
								       (om && *q == '"')),
							    "bad HELP escape: %s",
							    fuzz_show(line, ll));
					} else if (om) {
						FUZZ_ASSERT(*q != '"',
							    "raw quote in OpenMetrics HELP");
					}
			}
			line = nl + 1;
			continue;
		}
		FUZZ_ASSERT(line[0] != '#', "unknown comment line: %s", fuzz_show(line, ll));
		/* a sample: name{label="value",...} value */
		n = name_len(p, true);
		FUZZ_ASSERT(n, "sample without a name: %s", fuzz_show(line, ll));
		FUZZ_ASSERT(fam[0], "sample before any TYPE: %s", fuzz_show(line, ll));
		{
			size_t fl = strlen(fam);
			bool ok = n >= fl && !memcmp(p, fam, fl);
			const char *sfx = p + fl;
			size_t sl = n - fl;

			if (ok && !strcmp(type, "histogram"))
				ok = (sl == 7 && !memcmp(sfx, "_bucket", 7)) ||
				     (sl == 4 && !memcmp(sfx, "_sum", 4)) ||
				     (sl == 6 && !memcmp(sfx, "_count", 6));
			else if (ok && om && !strcmp(type, "counter"))
				ok = sl == 6 && !memcmp(sfx, "_total", 6);
			else if (ok && om && !strcmp(type, "info"))
				ok = sl == 5 && !memcmp(sfx, "_info", 5);
			else if (ok)
				ok = sl == 0;
			FUZZ_ASSERT(ok, "sample %.*s outside its family %s (%s)", (int)n, p, fam,
				    type);
		}
		p += n;
		lb = p;
		if (*p == '{') {
			p++;
			while (*p != '}') {
				size_t ln = name_len(p, false);

				FUZZ_ASSERT(ln && ln < 64 && p[ln] == '=' && p[ln + 1] == '"',
					    "bad label at %zu: %s", (size_t)(p - line),
					    fuzz_show(line, ll));
				for (size_t k = 0; k < nlabels; k++)
					FUZZ_ASSERT(strlen(labels_seen[k]) != ln ||
							    memcmp(labels_seen[k], p, ln),
						    "label %.*s twice: %s", (int)ln, p,
						    fuzz_show(line, ll));
				if (nlabels < ARRAY_SIZE(labels_seen)) {
					memcpy(labels_seen[nlabels], p, ln);
					labels_seen[nlabels++][ln] = 0;
				}
				p += ln + 2;
				while (*p != '"') {
					FUZZ_ASSERT(p < nl, "unterminated label value: %s",
						    fuzz_show(line, ll));
					if (*p == '\\') {
						p++;
						FUZZ_ASSERT(*p == '\\' || *p == '"' || *p == 'n',
							    "bad escape \\%c in: %s", *p,
							    fuzz_show(line, ll));
					}
					p++;
				}
				p++;
				if (*p == ',')
					p++;
				else
					FUZZ_ASSERT(*p == '}', "junk after a label value: %s",
						    fuzz_show(line, ll));
			}
			p++;
		}
		key_end = p;
		FUZZ_ASSERT(*p == ' ', "no space before the value: %s", fuzz_show(line, ll));
		v = strtod(p + 1, &vend);
		FUZZ_ASSERT(vend == nl && vend > p + 1 && isfinite(v) && v >= 0,
			    "bad sample value: %s", fuzz_show(line, ll));
		page_add(pg, line, v);

		/* histograms: buckets of one series, then _sum, then _count */
		if (!strcmp(type, "histogram")) {
			/* the le pair is the last; a label name may end in "le" */
			size_t kl = (size_t)(key_end - lb);
			const char *le = memmem(lb, kl, ",le=\"", 5);
			char base[2048];

			if (!le)
				le = memmem(lb, kl, "{le=\"", 5);
			if (le)
				le++;

			if (has_suffix(line, (size_t)(lb - line), "_bucket")) {
				double lev;

				FUZZ_ASSERT(le && le < key_end, "bucket without le: %s",
					    fuzz_show(line, ll));
				/* the series without its le pair */
				snprintf(base, sizeof(base), "%.*s%.*s", (int)(le - line), line,
					 (int)(key_end - strchr(le + 4, '"') - 1),
					 strchr(le + 4, '"') + 1);
				if (!strncmp(le + 4, "+Inf\"", 5))
					lev = INFINITY;
				else
					lev = strtod(le + 4, NULL);
				if (!h.open || strcmp(h.base, base)) {
					FUZZ_ASSERT(!h.open || h.inf,
						    "series %s ended without +Inf", h.base);
					h.open = true;
					h.inf = false;
					h.le = -1;
					h.cum = 0;
					snprintf(h.base, sizeof(h.base), "%s", base);
				}
				FUZZ_ASSERT(!h.inf, "bucket after +Inf: %s", fuzz_show(line, ll));
				FUZZ_ASSERT(lev > h.le, "le not increasing: %s",
					    fuzz_show(line, ll));
				FUZZ_ASSERT(v >= h.cum, "bucket count decreasing: %s",
					    fuzz_show(line, ll));
				h.le = lev;
				h.cum = v;
				if (isinf(lev)) {
					h.inf = true;
					h.inf_count = v;
				}
			} else if (has_suffix(line, (size_t)(lb - line), "_count")) {
				FUZZ_ASSERT(h.open && h.inf, "_count without buckets: %s",
					    fuzz_show(line, ll));
				FUZZ_ASSERT(v == h.inf_count, "+Inf %.0f != _count %.0f: %s",
					    h.inf_count, v, fuzz_show(line, ll));
				h.open = false;
			}
		}
		page[key_end - page] = 0; /* the key ends there (the value is read) */
		line = nl + 1;
	}
	FUZZ_ASSERT(!h.open, "page ended inside a histogram");
	if (pg->n)
		qsort(pg->s, pg->n, sizeof(*pg->s), sample_cmp);
	for (size_t i = 1; i < pg->n; i++)
		FUZZ_ASSERT(strcmp(pg->s[i - 1].key, pg->s[i].key), "series twice: %s",
			    fuzz_show(pg->s[i].key, strlen(pg->s[i].key)));
}

/* a series lives on: it never goes backwards */
static void check_monotonic(const struct page *prev, const struct page *cur)
{
	for (size_t i = 0; i < cur->n && prev->n; i++) {
		struct sample *o =
			bsearch(&cur->s[i], prev->s, prev->n, sizeof(*prev->s), sample_cmp);

		FUZZ_ASSERT(!o || cur->s[i].v >= o->v, "%s went from %.17g to %.17g",
			    fuzz_show(cur->s[i].key, strlen(cur->s[i].key)), o ? o->v : 0,
			    cur->s[i].v);
	}
}

/* label sets not folded into "other", per histogram family: the cap */
static void check_cap(const struct page *pg, size_t max_series)
{
	const char *fam = NULL;
	size_t fl = 0, n = 0;

	for (size_t i = 0; i < pg->n; i++) { /* sorted: a family's samples together */
		const char *k = pg->s[i].key, *b = strchr(k, '{');
		size_t l = b ? (size_t)(b - k) : strlen(k);

		if (!has_suffix(k, l, "_count"))
			continue;
		if (!fam || l != fl || strncmp(k, fam, l)) {
			fam = k;
			fl = l;
			n = 0;
		}
		if (!strstr(k, "comm=\"other\""))
			n++;
		FUZZ_ASSERT(n <= max_series, "%zu label sets of %.*s past --max-series %zu", n,
			    (int)fl, fam, max_series);
	}
}

static char *render(const struct prom_store *st, bool om, size_t *len)
{
	struct fuzz_mem m;
	char *page;

	fuzz_mem_start(&m);
	FUZZ_ASSERT(prom_store__render(st, m.f, om) == 0, "render failed");
	page = fuzz_mem_end(&m);
	*len = m.len;
	return page;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = {data, size};
	struct world *w = calloc(1, sizeof(*w));
	struct prom_opts o = {0};
	struct prom_store *st;
	struct interval iv = {0};
	struct page prev = {0}, cur = {0};
	char *prev_text = NULL;
	char cg[3][256];
	uint8_t mode = fz_u8(&z), nint = 1 + fz_u8(&z) % MAX_INTERVALS;
	uint64_t now = 1000000000ULL;

	o.max_series = w->max_series = 1 + fz_u8(&z) % 8;
	w->exact = !(mode & 1);
	o.ttl_ns = w->exact ? 0 : (1 + fz_u8(&z) % 3) * 1000000000ULL;
	if (mode & 2) { /* custom le bounds: increasing bin bounds */
		uint32_t b = 1 + fz_u8(&z) % 64;
		size_t n = 1 + fz_u8(&z) % 16;

		for (size_t i = 0; i < n && b < HIST_BUCKETS; i++) {
			o.bounds_ns[o.nbounds++] = hist_bucket_lo(b);
			b += 1 + fz_u8(&z) % 24;
		}
	}
	/* cgroup paths and comms of any bytes, shared by rows so series repeat */
	w->cgroups[0] = NULL;
	for (int i = 0; i < 3; i++) {
		size_t n = fz_u8(&z) % sizeof(cg[i]);

		for (size_t k = 0; k < n; k++)
			cg[i][k] = (char)(fz_u8(&z) | 1);
		cg[i][n] = 0;
		w->cgroups[i + 1] = cg[i];
	}
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < LS_COMM_LEN; k++)
			w->comms[i][k] = k < LS_COMM_LEN - 1 ? (char)fz_u8(&z) : 0;

	st = prom_store__new(&o);
	FUZZ_ASSERT(st, "prom_store__new");
	for (uint8_t i = 0; i < nint; i++) {
		uint8_t nrows = fz_u8(&z) % (MAX_ROWS + 1);
		char *text, *om;
		size_t tl, ol;

		interval__reset(&iv);
		for (uint8_t r = 0; r < nrows; r++) {
			uint8_t k = fz_u8(&z);
			const struct row_schema *s =
				k < 160 ? sys_coll_desc.schema : coll_all[k % coll_count]->schema;

			fill_row(&z, w, &iv, s);
		}
		for (int d = 0; d < LS_DROP_MAX; d++) {
			iv.drops[d] = fz_u8(&z) & 1 ? fz_uint(&z, 2) : 0;
			w->drops[d] += iv.drops[d];
		}
		FUZZ_ASSERT(prom_store__add(st, &iv, now) == 0, "prom_store__add failed");
		now += 1000000000ULL;

		text = render(st, false, &tl);
		check_page(text, tl, false, &cur);
		check_monotonic(&prev, &cur);
		check_cap(&cur, w->max_series);
		if (w->exact) {
			for (size_t e = 0; e < w->nex; e++)
				FUZZ_ASSERT(sum_of(&cur, w->ex[e].fam) == (double)w->ex[e].n,
					    "%s sums to %.0f, the rows held %llu", w->ex[e].fam,
					    sum_of(&cur, w->ex[e].fam),
					    (unsigned long long)w->ex[e].n);
			for (int d = 0; d < LS_DROP_MAX; d++) {
				char key[96];
				struct sample q = {.key = key}, *f;

				snprintf(key, sizeof(key), "latscope_dropped_total{what=\"%s\"}",
					 drop_names[d]);
				f = cur.n ? bsearch(&q, cur.s, cur.n, sizeof(*cur.s), sample_cmp)
					  : NULL;
				FUZZ_ASSERT(f && f->v == (double)w->drops[d], "%s: %.0f, want %llu",
					    key, f ? f->v : -1, (unsigned long long)w->drops[d]);
			}
		}
		page_free(&prev);
		free(prev_text); /* the keys of prev live in it */
		prev = cur;
		prev_text = text;
		memset(&cur, 0, sizeof(cur));
		/* OpenMetrics after the first and the last interval (pages are big:
		 * one of each format per interval halved the executions) */
		if (i && i != nint - 1)
			continue;
		om = render(st, true, &ol);
		/* serve ends the page with "# EOF" after the store's families */
		om = realloc(om, ol + 7);
		memcpy(om + ol, "# EOF\n", 7);
		check_page(om, ol, true, &cur);
		FUZZ_ASSERT(ol == 0 || om[ol - 1] == '\n', "no newline before # EOF");
		page_free(&cur);
		free(om);
	}
	page_free(&prev);
	free(prev_text);
	interval__free(&iv);
	prom_store__free(st);
	free(w);
	return 0;
}

FUZZ_HARNESS_END
