// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"
#include "names.h"
#include "prom.h"
#include "schema.h"
#include "util.h"

#define LABELS_MAX 1024 /* one series' label pairs, escaped */

struct errno_ctr {
	uint32_t err;
	uint64_t n;
};

struct series {
	struct series *next; /* hash chain */
	uint64_t hash;
	uint64_t seen_ns; /* last interval that added to it */
	char *labels;	  /* escaped pairs: comm="x",cgroup="y",syscall="read" */
	uint64_t *ctr;	  /* per counter slot: count, or ns for FK_NS */
	uint64_t *hist;	  /* per histogram slot: nbounds + 1 buckets, sum_ns, count */
	struct errno_ctr *errs;
	size_t nerrs, errs_cap;
};

/* what the store keeps for one row kind */
struct kind {
	const struct row_schema *s;
	const struct field *f[64]; /* owner fields then the schema's */
	int slot[64];		   /* counter or histogram slot of each field, or -1 */
	size_t nf, nctr, nhist;
	struct series **tab; /* hash table of nb chains */
	size_t nb, n;
};

struct prom_store {
	struct prom_opts o;
	char le[PROM_MAX_BOUNDS + 1][32];	/* each bound's le="..." pair, then +Inf */
	uint32_t bound_bucket[PROM_MAX_BOUNDS]; /* bin index of each bound */
	uint8_t slot_of[HIST_BUCKETS];		/* bin index -> le slot (nbounds: +Inf) */
	struct kind kinds[IV_MAX_TABLES];
	size_t nkinds;
	uint64_t drops[LS_DROP_MAX];
	uint64_t folded;
};

size_t prom_default_bounds(uint64_t *out, size_t cap)
{
	size_t n = 0;

	for (int k = 10; k <= 34 && n < cap; k++) {
		out[n++] = 1ULL << k;
		if (k < 34 && n < cap)
			out[n++] = 3ULL << (k - 1);
	}
	return n;
}

int prom_parse_bounds(const char *s, struct prom_opts *o, char *err, size_t err_len)
{
	char buf[2048], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf) || !*s) {
		snprintf(err, err_len, "invalid --buckets '%.40s': want DURATION[,DURATION...]", s);
		return -EINVAL;
	}
	strcpy(buf, s);
	o->nbounds = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t ns;
		uint32_t b;

		if (parse_duration(tok, 1000000000ULL, &ns) || !ns || ns > (1ULL << 62)) {
			snprintf(err, err_len,
				 "invalid --buckets '%s': '%s' is not a duration (e.g. 1ms, 2.5s)",
				 s, tok);
			return -EINVAL;
		}
		b = hist_bucket(ns);
		if (hist_bucket_lo(b) != ns) /* up to the next bin bound */
			b++;
		ns = hist_bucket_lo(b);
		if (o->nbounds && ns <= o->bounds_ns[o->nbounds - 1]) {
			snprintf(err, err_len,
				 "invalid --buckets '%s': bounds must increase (after rounding up "
				 "to histogram bins, '%s' is %llu ns)",
				 s, tok, (unsigned long long)ns);
			return -EINVAL;
		}
		if (o->nbounds == PROM_MAX_BOUNDS) {
			snprintf(err, err_len, "invalid --buckets '%.40s...': at most %d bounds", s,
				 PROM_MAX_BOUNDS);
			return -EINVAL;
		}
		o->bounds_ns[o->nbounds++] = ns;
	}
	return 0;
}

static const struct field *kind_field(const struct row_schema *s, size_t i)
{
	return i < owner_nfields ? &owner_fields[i] : &s->fields[i - owner_nfields];
}

static struct kind *kind_of(struct prom_store *st, const struct row_schema *s)
{
	struct kind *k;

	for (size_t i = 0; i < st->nkinds; i++)
		if (st->kinds[i].s == s)
			return &st->kinds[i];
	if (st->nkinds == IV_MAX_TABLES || owner_nfields + s->nfields > ARRAY_SIZE(k->f))
		return NULL;
	k = &st->kinds[st->nkinds];
	memset(k, 0, sizeof(*k));
	k->s = s;
	for (size_t i = 0; i < owner_nfields + s->nfields; i++) {
		const struct field *f = kind_field(s, i);

		k->f[k->nf] = f;
		k->slot[k->nf] = -1;
		if (f->role == PROM_COUNTER)
			k->slot[k->nf] = (int)k->nctr++;
		else if (f->role == PROM_HISTOGRAM)
			k->slot[k->nf] = (int)k->nhist++;
		k->nf++;
	}
	k->nb = 256;
	k->tab = calloc(k->nb, sizeof(*k->tab));
	if (!k->tab)
		return NULL;
	st->nkinds++;
	return k;
}

struct prom_store *prom_store__new(const struct prom_opts *o)
{
	struct prom_store *st = calloc(1, sizeof(*st));
	size_t j = 0;

	if (!st)
		return NULL;
	st->o = *o;
	if (!st->o.nbounds)
		st->o.nbounds = prom_default_bounds(st->o.bounds_ns, PROM_MAX_BOUNDS);
	for (size_t i = 0; i < st->o.nbounds; i++) {
		st->bound_bucket[i] = hist_bucket(st->o.bounds_ns[i]);
		snprintf(st->le[i], sizeof(st->le[i]), "le=\"%.12g\"", st->o.bounds_ns[i] / 1e9);
	}
	snprintf(st->le[st->o.nbounds], sizeof(st->le[0]), "le=\"+Inf\"");
	/* a bin counts toward every bound at or above its upper edge: the
	 * first bound whose own bin is past it */
	for (uint32_t b = 0; b < HIST_BUCKETS; b++) {
		while (j < st->o.nbounds && st->bound_bucket[j] <= b)
			j++;
		st->slot_of[b] = (uint8_t)j;
	}
	return st;
}

static void series_free(struct series *s)
{
	free(s->labels);
	free(s->ctr);
	free(s->hist);
	free(s->errs);
	free(s);
}

void prom_store__free(struct prom_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nkinds; i++) {
		struct kind *k = &st->kinds[i];

		for (size_t b = 0; b < k->nb; b++)
			for (struct series *s = k->tab[b], *nx; s; s = nx) {
				nx = s->next;
				series_free(s);
			}
		free(k->tab);
	}
	free(st);
}

char *prom_escape(const char *s, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (!len)
		return out;
	while (*p && o + 5 < len) {
		unsigned char c = *p;
		size_t n = 0; /* length of a valid UTF-8 sequence starting here */

		if (c == '\\' || c == '"') {
			out[o++] = '\\';
			out[o++] = (char)c;
			p++;
			continue;
		}
		if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
			p++;
			continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		/* overlong, surrogates and beyond U+10FFFF are not valid either */
		if ((n == 3 && c == 0xe0 && p[1] < 0xa0) || (n == 3 && c == 0xed && p[1] >= 0xa0) ||
		    (n == 4 && c == 0xf0 && p[1] < 0x90) || (n == 4 && c == 0xf4 && p[1] >= 0x90))
			n = 0;
		if (n && o + n < len) {
			memcpy(out + o, p, n);
			o += n;
			p += n;
			continue;
		}
		/* the value holds the four characters \xNN; the backslash itself
		 * is escaped as the formats require */
		o += (size_t)snprintf(out + o, len - o, "\\\\x%02x", c);
		p++;
	}
	out[o] = 0;
	return out;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* the label pairs of row, open-ended values replaced by "other" when fold */
static void row_labels(const struct kind *k, const void *row, bool fold, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < k->nf && o < len; i++) {
		const struct field *f = k->f[i];
		char raw[512], esc[LABELS_MAX / 2];
		const char *v;

		if (f->role != PROM_LABEL)
			continue;
		v = fold && (f->flags & F_OPEN) ? "other" : field__label(f, row, raw, sizeof(raw));
		if (!v || !*v)
			continue;
		o += (size_t)snprintf(out + o, len - o, "%s%s=\"%s\"", o ? "," : "", f->prom,
				      prom_escape(v, esc, sizeof(esc)));
	}
}

static int grow(struct kind *k)
{
	size_t nb = k->nb * 4;
	struct series **tab = calloc(nb, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (size_t b = 0; b < k->nb; b++)
		for (struct series *s = k->tab[b], *nx; s; s = nx) {
			nx = s->next;
			s->next = tab[s->hash % nb];
			tab[s->hash % nb] = s;
		}
	free(k->tab);
	k->tab = tab;
	k->nb = nb;
	return 0;
}

static struct series *find(const struct kind *k, const char *labels, uint64_t h)
{
	for (struct series *s = k->tab[h % k->nb]; s; s = s->next)
		if (s->hash == h && !strcmp(s->labels, labels))
			return s;
	return NULL;
}

static struct series *create(const struct prom_store *st, struct kind *k, const char *labels,
			     uint64_t h)
{
	struct series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->hash = h;
	s->labels = strdup(labels);
	s->ctr = calloc(k->nctr ? k->nctr : 1, sizeof(*s->ctr));
	s->hist = calloc(k->nhist ? k->nhist * (st->o.nbounds + 3) : 1, sizeof(*s->hist));
	if (!s->labels || !s->ctr || !s->hist || (k->n >= k->nb * 2 && grow(k))) {
		series_free(s);
		return NULL;
	}
	s->next = k->tab[h % k->nb];
	k->tab[h % k->nb] = s;
	k->n++;
	return s;
}

static int add_errno(struct series *s, uint32_t err, uint64_t n)
{
	for (size_t i = 0; i < s->nerrs; i++)
		if (s->errs[i].err == err) {
			s->errs[i].n += n;
			return 0;
		}
	if (s->nerrs == s->errs_cap) {
		size_t cap = s->errs_cap ? s->errs_cap * 2 : 4;
		struct errno_ctr *e = realloc(s->errs, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		s->errs = e;
		s->errs_cap = cap;
	}
	s->errs[s->nerrs].err = err;
	s->errs[s->nerrs++].n = n;
	return 0;
}

static int add_row(struct prom_store *st, struct kind *k, const struct interval *iv,
		   const void *row, uint64_t now_ns)
{
	char labels[LABELS_MAX];
	struct series *s;
	uint64_t h;

	row_labels(k, row, false, labels, sizeof(labels));
	h = fnv1a(labels);
	s = find(k, labels, h);
	if (!s && k->n >= st->o.max_series) {
		/* at the cap: the open-ended labels become "other" */
		row_labels(k, row, true, labels, sizeof(labels));
		h = fnv1a(labels);
		s = find(k, labels, h);
		st->folded++;
	}
	if (!s && !(s = create(st, k, labels, h)))
		return -ENOMEM;
	s->seen_ns = now_ns;
	for (size_t i = 0; i < k->nf; i++) {
		const struct field *f = k->f[i];
		const char *p = (const char *)row + f->off;

		if (f->role == PROM_COUNTER) {
			s->ctr[k->slot[i]] += *(const uint64_t *)p;
		} else if (f->role == PROM_HISTOGRAM) {
			const struct row_hist *rh = (const struct row_hist *)p;
			uint64_t *hb = &s->hist[(size_t)k->slot[i] * (st->o.nbounds + 3)];

			for (uint32_t b = 0; b < rh->n; b++) {
				const struct hbin *bin = &iv->bins[rh->off + b];

				hb[st->slot_of[bin->bucket < HIST_BUCKETS ? bin->bucket
									  : HIST_BUCKETS - 1]] +=
					bin->count;
				hb[st->o.nbounds + 2] += bin->count;
			}
			hb[st->o.nbounds + 1] += rh->sum_ns;
		} else if (f->role == PROM_ERRNO_COUNTER) {
			const struct row_list *l = (const struct row_list *)p;

			for (uint32_t e = 0; e < l->n; e++)
				if (add_errno(s, iv->errs[l->off + e].err,
					      iv->errs[l->off + e].count))
					return -ENOMEM;
		}
	}
	return 0;
}

static void expire(struct prom_store *st, uint64_t now_ns)
{
	for (size_t i = 0; i < st->nkinds; i++) {
		struct kind *k = &st->kinds[i];

		for (size_t b = 0; b < k->nb; b++)
			for (struct series **pp = &k->tab[b]; *pp;) {
				struct series *s = *pp;

				if (now_ns - s->seen_ns > st->o.ttl_ns) {
					*pp = s->next;
					series_free(s);
					k->n--;
				} else {
					pp = &s->next;
				}
			}
	}
}

int prom_store__kind(struct prom_store *st, const struct row_schema *s)
{
	return kind_of(st, s) ? 0 : -ENOMEM;
}

int prom_store__add(struct prom_store *st, const struct interval *iv, uint64_t now_ns)
{
	for (size_t t = 0; t < iv->ntables; t++) {
		const struct table *tb = &iv->tables[t];
		struct kind *k = kind_of(st, tb->schema);

		if (!k)
			return -ENOMEM;
		for (size_t r = 0; r < tb->n; r++) {
			int err = add_row(st, k, iv, table__row(tb, r), now_ns);

			if (err)
				return err;
		}
	}
	for (int d = 0; d < LS_DROP_MAX; d++)
		st->drops[d] += iv->drops[d];
	if (st->o.ttl_ns)
		expire(st, now_ns);
	return 0;
}

size_t prom_store__series(const struct prom_store *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nkinds; i++)
		n += st->kinds[i].n;
	return n;
}

uint64_t prom_store__folded(const struct prom_store *st)
{
	return st->folded;
}

static void help_text(FILE *f, const char *s, bool openmetrics)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && openmetrics)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

void prom_meta(FILE *f, bool openmetrics, const char *name, const char *type, const char *help)
{
	char fam[256];
	size_t n = strlen(name);

	snprintf(fam, sizeof(fam), "%s", name);
	/* OpenMetrics names a counter family without its _total, an info
	 * family without its _info */
	if (openmetrics && !strcmp(type, "counter") && n > 6 && !strcmp(name + n - 6, "_total"))
		fam[n - 6] = 0;
	if (openmetrics && !strcmp(type, "info") && n > 5 && !strcmp(name + n - 5, "_info"))
		fam[n - 5] = 0;
	if (!openmetrics && !strcmp(type, "info"))
		type = "gauge";
	fprintf(f, "# HELP %s ", fam);
	help_text(f, help ? help : "", openmetrics);
	fprintf(f, "\n# TYPE %s %s\n", fam, type);
}

/* {labels,extra} or nothing (a page has ~50 of these per series: no printf) */
static void put_labels(FILE *f, const char *labels, const char *extra)
{
	bool a = labels && *labels, b = extra && *extra;

	if (!a && !b)
		return;
	fputc_unlocked('{', f);
	if (a)
		fputs_unlocked(labels, f);
	if (a && b)
		fputc_unlocked(',', f);
	if (b)
		fputs_unlocked(extra, f);
	fputc_unlocked('}', f);
}

/* " N\n" */
static void put_count(FILE *f, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '\n';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	*--p = ' ';
	fwrite_unlocked(p, 1, (size_t)(buf + sizeof(buf) - p), f);
}

static void put_seconds(FILE *f, uint64_t ns)
{
	fprintf(f, " %.12g\n", ns / 1e9);
}

static void render_field(const struct prom_store *st, const struct kind *k, size_t i,
			 const struct series *s, FILE *f)
{
	const struct field *fd = k->f[i];
	char name[160], extra[256];

	snprintf(name, sizeof(name), "latscope_%s", fd->prom);
	if (fd->role == PROM_COUNTER) {
		fputs(name, f);
		put_labels(f, s->labels, fd->prom_const);
		if (fd->kind == FK_NS)
			put_seconds(f, s->ctr[k->slot[i]]);
		else
			fprintf(f, " %llu\n", (unsigned long long)s->ctr[k->slot[i]]);
	} else if (fd->role == PROM_ERRNO_COUNTER) {
		for (size_t e = 0; e < s->nerrs; e++) {
			char en[32];

			snprintf(extra, sizeof(extra), "errno=\"%s\"",
				 errno_name((int)s->errs[e].err, en, sizeof(en)));
			fputs(name, f);
			put_labels(f, s->labels, extra);
			fprintf(f, " %llu\n", (unsigned long long)s->errs[e].n);
		}
	} else if (fd->role == PROM_HISTOGRAM) {
		const uint64_t *hb = &s->hist[(size_t)k->slot[i] * (st->o.nbounds + 3)];
		uint64_t cum = 0;

		strcat(name, "_bucket");
		for (size_t b = 0; b <= st->o.nbounds; b++) {
			cum += hb[b];
			fputs_unlocked(name, f);
			put_labels(f, s->labels, st->le[b]);
			put_count(f, cum);
		}
		name[strlen(name) - 7] = 0;
		fprintf(f, "%s_sum", name);
		put_labels(f, s->labels, NULL);
		put_seconds(f, hb[st->o.nbounds + 1]);
		fprintf(f, "%s_count", name);
		put_labels(f, s->labels, NULL);
		fprintf(f, " %llu\n", (unsigned long long)hb[st->o.nbounds + 2]);
	}
}

static void render_kind(const struct prom_store *st, const struct kind *k, FILE *f,
			bool openmetrics)
{
	for (size_t i = 0; i < k->nf; i++) {
		const struct field *fd = k->f[i];
		const char *help = fd->help;
		char name[160];
		bool first = true;

		if (fd->role == PROM_NONE || fd->role == PROM_LABEL)
			continue;
		for (size_t j = 0; j < i && first; j++) /* a family shared by several fields */
			if (k->f[j]->role != PROM_LABEL && k->f[j]->prom &&
			    !strcmp(k->f[j]->prom, fd->prom))
				first = false;
		if (!first)
			continue;
		for (size_t j = i + 1; j < k->nf && !help; j++)
			if (k->f[j]->prom && !strcmp(k->f[j]->prom, fd->prom))
				help = k->f[j]->help;
		snprintf(name, sizeof(name), "latscope_%s", fd->prom);
		prom_meta(f, openmetrics, name,
			  fd->role == PROM_HISTOGRAM ? "histogram" : "counter", help);
		for (size_t b = 0; b < k->nb; b++)
			for (const struct series *s = k->tab[b]; s; s = s->next)
				for (size_t j = i; j < k->nf; j++)
					if (k->f[j]->role == fd->role && k->f[j]->prom &&
					    !strcmp(k->f[j]->prom, fd->prom))
						render_field(st, k, j, s, f);
	}
}

int prom_store__render(const struct prom_store *st, FILE *f, bool openmetrics)
{
	for (size_t i = 0; i < st->nkinds; i++)
		render_kind(st, &st->kinds[i], f, openmetrics);
	prom_meta(f, openmetrics, "latscope_dropped_total", "counter",
		  "Events the agent could not record, by reason (a full map, state "
		  "expected but missing, series folded into \"other\" at the cap).");
	for (int d = 0; d < LS_DROP_MAX; d++)
		fprintf(f, "latscope_dropped_total{what=\"%s\"} %llu\n", drop_names[d],
			(unsigned long long)st->drops[d]);
	fprintf(f, "latscope_dropped_total{what=\"series\"} %llu\n",
		(unsigned long long)st->folded);
	errno = 0;
	return ferror(f) ? -(errno ? errno : EIO) : 0;
}
