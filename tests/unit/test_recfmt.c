// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The recording format: exact round trips of every row kind, and a reader
 * that survives truncation at every byte and random corruption. */
#include <stdlib.h>
#include <string.h>
#include "collector.h"
#include "recfmt.h"
#include "schema.h"
#include "test.h"
#include "util.h"

static const char *const cgroups[] = {"/system.slice/nginx.service", "/user.slice/a b",
				      "/kubepods/pod1/0123456789abcdef0123"};

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* a value of any magnitude: small counts and huge ones alike */
static uint64_t rnd_val(void)
{
	return rnd() >> (rnd() % 64);
}

static const struct row_schema *kinds[IV_MAX_TABLES];
static size_t nkinds;

static void setup_kinds(void)
{
	nkinds = 0;
	for (size_t i = 0; i < coll_count; i++)
		kinds[nkinds++] = coll_all[i]->schema;
}

static void fill_row(struct interval *iv, const struct row_schema *s, void *row, int i)
{
	struct row_id *id = row;

	for (size_t off = sizeof(*id); off < s->row_size; off += 8) {
		uint64_t w = rnd_val();

		memcpy((char *)row + off, &w, 8);
	}
	id->pid = (uint32_t)(1000 + rnd() % 100000);
	id->tid = rnd() % 3 ? 0 : id->pid + (uint32_t)(rnd() % 50);
	id->cgid = rnd() % 4 ? 1234 + rnd() % 5 : rnd();
	snprintf(id->comm, sizeof(id->comm), "%s%d", i % 7 ? "worker-" : "x\x01\xff", i % 11);
	id->cgroup = rnd() % 4 ? cgroups[rnd() % 3] : NULL;
	for (size_t f = 0; f < s->nfields; f++) {
		const struct field *fl = &s->fields[f];
		char *p = (char *)row + fl->off;

		if (fl->off < sizeof(*id))
			continue;
		if (fl->kind == FK_HIST) {
			struct row_hist *h = (void *)p;
			size_t n = rnd() % 6;
			struct hbin *b = interval__bins_reserve(iv, n);
			uint32_t bucket = (uint32_t)(rnd() % 40);

			memset(h, 0, sizeof(*h));
			for (size_t k = 0; k < n; k++) {
				b[k].bucket = bucket;
				b[k].count = 1 + rnd_val() % 100000;
				b[k].sum = rnd_val();
				bucket += 1 + (uint32_t)(rnd() % 30);
			}
			/* stored unsorted: the format sorts, the test compares sorted */
			if (n > 1) {
				struct hbin t = b[0];

				b[0] = b[n - 1];
				b[n - 1] = t;
			}
			interval__set_hist(iv, h, n);
			h->sum_ns = rnd_val();
			h->max_ns = rnd_val();
		} else if (fl->kind == FK_ERRNOS) {
			struct row_list *l = (void *)p;

			l->off = (uint32_t)iv->nerrs;
			l->n = (uint32_t)(rnd() % 4);
			for (uint32_t k = 0; k < l->n; k++)
				interval__add_errno(iv, (uint32_t)(1 + rnd() % 133), rnd_val());
		} else if (fl->kind == FK_CULPRITS) {
			struct row_list *l = (void *)p;

			l->off = (uint32_t)iv->nculprits;
			l->n = (uint32_t)(rnd() % 4);
			for (uint32_t k = 0; k < l->n; k++) {
				struct culprit c = {.pid = (uint32_t)rnd(),
						    .cgid = rnd(),
						    .runq_ns = rnd_val()};

				snprintf(c.comm, sizeof(c.comm), "hog%u", (unsigned)(rnd() % 9));
				c.cgroup = rnd() % 2 ? cgroups[rnd() % 3] : NULL;
				interval__add_culprit(iv, &c);
			}
		}
	}
}

static void make_interval(struct interval *iv, uint64_t t, size_t rows)
{
	interval__reset(iv);
	iv->realtime_ns = t;
	iv->interval_s = 0.5 + (double)(rnd() % 1000) / 1e6;
	for (size_t d = 0; d < LS_DROP_MAX; d++)
		iv->drops[d] = rnd() % 3 ? 0 : rnd_val();
	for (size_t k = 0; k < nkinds; k++) {
		struct table *tb = interval__table(iv, kinds[k]);

		tb->active = k != 2;
		for (size_t r = 0; r < rows; r++)
			fill_row(iv, kinds[k], table__add(tb), (int)r);
	}
}

static int bin_cmp(const void *a, const void *b)
{
	const struct hbin *x = a, *y = b;

	return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* every field of every row, every bin, errno, culprit and drop: why it
 * differs, or NULL */
static const char *iv_diff(const struct interval *a, const struct interval *b, char *why,
			   size_t len)
{
	if (a->realtime_ns != b->realtime_ns || a->interval_s != b->interval_s)
		return "time or length";
	if (memcmp(a->drops, b->drops, sizeof(a->drops)))
		return "drops";
	if (!b->replay)
		return "not marked replay";
	for (size_t t = 0; t < a->ntables; t++) {
		const struct table *x = &a->tables[t], *y = NULL;
		const struct row_schema *s = x->schema;

		for (size_t u = 0; u < b->ntables; u++)
			if (b->tables[u].schema == s)
				y = &b->tables[u];
		if (!y || y->n != x->n || y->active != x->active) {
			snprintf(why, len, "table %s: rows or active differ", s->name);
			return why;
		}
		for (size_t r = 0; r < x->n; r++) {
			const char *rx = table__row(x, r);
			char ry[2048];

			memcpy(ry, table__row(y, r), s->row_size);
			if (!str_eq(((const struct row_id *)rx)->cgroup,
				    ((struct row_id *)ry)->cgroup)) {
				snprintf(why, len, "%s row %zu: cgroup", s->name, r);
				return why;
			}
			((struct row_id *)ry)->cgroup = ((const struct row_id *)rx)->cgroup;
			for (size_t f = 0; f < s->nfields; f++) {
				const struct field *fl = &s->fields[f];

				if (fl->off < sizeof(struct row_id))
					continue;
				if (fl->kind == FK_HIST) {
					const struct row_hist *hx = (const void *)(rx + fl->off);
					struct row_hist *hy = (void *)(ry + fl->off);
					struct hbin bx[64], by[64];

					if (hx->n != hy->n || hx->n > 64) {
						snprintf(why, len, "%s row %zu %s: bins", s->name,
							 r, fl->name);
						return why;
					}
					memcpy(bx, a->bins + hx->off, hx->n * sizeof(*bx));
					memcpy(by, b->bins + hy->off, hy->n * sizeof(*by));
					qsort(bx, hx->n, sizeof(*bx), bin_cmp);
					for (uint32_t k = 0; k < hx->n; k++)
						if (bx[k].bucket != by[k].bucket ||
						    bx[k].count != by[k].count ||
						    bx[k].sum != by[k].sum)
							hy->n = UINT32_MAX;
					if (hy->n == UINT32_MAX) {
						snprintf(why, len, "%s row %zu %s: bin values",
							 s->name, r, fl->name);
						return why;
					}
					hy->off = hx->off;
				} else if (fl->kind == FK_ERRNOS) {
					const struct row_list *lx = (const void *)(rx + fl->off);
					struct row_list *ly = (void *)(ry + fl->off);

					if (lx->n != ly->n)
						return "errno count";
					for (uint32_t k = 0; k < lx->n; k++)
						if (a->errs[lx->off + k].err !=
							    b->errs[ly->off + k].err ||
						    a->errs[lx->off + k].count !=
							    b->errs[ly->off + k].count)
							return "errno values";
					ly->off = lx->off;
				} else if (fl->kind == FK_CULPRITS) {
					const struct row_list *lx = (const void *)(rx + fl->off);
					struct row_list *ly = (void *)(ry + fl->off);

					if (lx->n != ly->n)
						return "culprit count";
					for (uint32_t k = 0; k < lx->n; k++) {
						const struct culprit *cx =
							&a->culprits[lx->off + k];
						const struct culprit *cy =
							&b->culprits[ly->off + k];

						if (cx->pid != cy->pid || cx->cgid != cy->cgid ||
						    cx->runq_ns != cy->runq_ns ||
						    memcmp(cx->comm, cy->comm, sizeof(cx->comm)) ||
						    !str_eq(cx->cgroup, cy->cgroup))
							return "culprit values";
					}
					ly->off = lx->off;
				}
			}
			if (memcmp(rx, ry, s->row_size)) {
				snprintf(why, len, "%s row %zu: bytes differ", s->name, r);
				return why;
			}
		}
	}
	return NULL;
}

static struct rec_header test_header(void)
{
	struct rec_header h = {};

	snprintf(h.host, sizeof(h.host), "host-1");
	snprintf(h.kernel, sizeof(h.kernel), "6.1.0-test");
	snprintf(h.boot_id, sizeof(h.boot_id), "0c1f7d0e-0000-4000-8000-000000000001");
	h.start_ns = 1700000000000000000ULL;
	h.interval_ns = 500000000ULL;
	h.by = LS_BY_PROCESS;
	rec_header__set_kinds(&h, kinds, nkinds);
	return h;
}

#define NFRAMES 8

/* a segment of NFRAMES intervals (kept in ivs) and where each frame ends */
static int make_segment(struct rec_buf *seg, struct interval *ivs, size_t ends[NFRAMES + 1],
			size_t rows)
{
	struct rec_header h = test_header();
	struct rec_enc *e = rec_enc__new(&h);
	struct rec_buf fr = {};

	if (!e || rec_enc__header(e, seg))
		return -1;
	ends[0] = seg->n;
	for (int i = 0; i < NFRAMES; i++) {
		make_interval(&ivs[i], h.start_ns + (uint64_t)(i + 1) * h.interval_ns, rows);
		if (rec_enc__interval(e, &ivs[i], &fr) || fr.n == 0)
			return -1;
		/* a frame not committed is re-sent: its strings with it */
		if (i == 3 && rec_enc__interval(e, &ivs[i], &fr))
			return -1;
		rec_enc__commit(e);
		if (array_grow((void **)&seg->p, &seg->cap, seg->n + fr.n, 1))
			return -1;
		memcpy(seg->p + seg->n, fr.p, fr.n);
		seg->n += fr.n;
		ends[i + 1] = seg->n;
	}
	rec_buf__free(&fr);
	rec_enc__free(e);
	return 0;
}

TEST_CASE(test_recfmt_every_row_kind_can_be_recorded)
{
	setup_kinds();
	for (size_t k = 0; k < nkinds; k++)
		ASSERT(rec_schema_ok(kinds[k]), "%s rows cannot be recorded", kinds[k]->name);
	ASSERT(rec_schema_hash(kinds[0]) != rec_schema_hash(kinds[1]), "hashes collide");
}

TEST_CASE(test_recfmt_round_trip_is_exact_for_every_field)
{
	struct interval ivs[NFRAMES] = {}, got = {};
	struct rec_buf seg = {};
	size_t ends[NFRAMES + 1];
	struct rec_reader *r;
	char why[200];
	int n = 0, rc;

	setup_kinds();
	ASSERT(!make_segment(&seg, ivs, ends, 40), "encoding failed");
	r = rec_reader__new(seg.p, seg.n, kinds, nkinds, why, sizeof(why));
	ASSERT(r, "reader: %s", why);
	ASSERT(rec_reader__header(r)->interval_ns == 500000000ULL &&
		       !strcmp(rec_reader__header(r)->host, "host-1") &&
		       !strcmp(rec_reader__header(r)->kernel, "6.1.0-test") &&
		       rec_reader__header(r)->by == LS_BY_PROCESS &&
		       rec_reader__header(r)->nkinds == nkinds,
	       "header fields differ");
	while ((rc = rec_reader__next(r, &got)) == 1) {
		const char *d;

		ASSERT(n < NFRAMES, "more frames than written");
		d = iv_diff(&ivs[n], &got, why, sizeof(why));
		ASSERT(!d, "frame %d: %s", n, d);
		n++;
	}
	ASSERT(rc == 0, "reader error %d", rc);
	ASSERT_EQ_U64(n, NFRAMES, "frames read back");
	ASSERT_EQ_U64(rec_reader__skipped(r), 0, "bytes skipped");
	rec_reader__free(r);
	/* a layout this build does not know is refused, not misread */
	{
		struct row_schema other = *kinds[0];
		const struct row_schema *ks[IV_MAX_TABLES];

		memcpy(ks, kinds, sizeof(ks));
		other.row_size += 8;
		ks[0] = &other;
		r = rec_reader__new(seg.p, seg.n, ks, nkinds, why, sizeof(why));
		ASSERT(!r && strstr(why, "layout"), "a changed layout was accepted");
	}
	for (int i = 0; i < NFRAMES; i++)
		interval__free(&ivs[i]);
	interval__free(&got);
	rec_buf__free(&seg);
}

TEST_CASE(test_recfmt_truncated_at_every_byte_returns_every_whole_frame)
{
	struct interval ivs[NFRAMES] = {}, got = {};
	struct rec_buf seg = {};
	size_t ends[NFRAMES + 1];
	char why[200];

	setup_kinds();
	ASSERT(!make_segment(&seg, ivs, ends, 3), "encoding failed");
	for (size_t cut = 0; cut <= seg.n; cut++) {
		/* a copy of exactly cut bytes, so ASan/valgrind see any overread */
		uint8_t *p = malloc(cut ? cut : 1);
		struct rec_reader *r;
		size_t whole = 0, n = 0;
		int rc;

		memcpy(p, seg.p, cut);
		r = rec_reader__new(p, cut, kinds, nkinds, why, sizeof(why));
		if (cut < ends[0]) {
			ASSERT(!r, "a segment cut at %zu inside its header was accepted", cut);
			free(p);
			continue;
		}
		ASSERT(r, "cut at %zu: %s", cut, why);
		while (whole < NFRAMES && ends[whole + 1] <= cut)
			whole++;
		while ((rc = rec_reader__next(r, &got)) == 1) {
			const char *d = iv_diff(&ivs[n], &got, why, sizeof(why));

			ASSERT(!d, "cut at %zu, frame %zu: %s", cut, n, d);
			n++;
		}
		ASSERT(rc == 0, "cut at %zu: error %d", cut, rc);
		ASSERT(n == whole, "cut at %zu: %zu frames, want %zu", cut, n, whole);
		ASSERT(rec_reader__skipped(r) == cut - ends[whole],
		       "cut at %zu: skipped %zu, want %zu", cut, rec_reader__skipped(r),
		       cut - ends[whole]);
		rec_reader__free(r);
		free(p);
	}
	for (int i = 0; i < NFRAMES; i++)
		interval__free(&ivs[i]);
	interval__free(&got);
	rec_buf__free(&seg);
}

TEST_CASE(test_recfmt_corrupt_bytes_are_skipped_never_misread)
{
	struct interval ivs[NFRAMES] = {}, got = {};
	struct rec_buf seg = {};
	size_t ends[NFRAMES + 1];
	char why[200];

	setup_kinds();
	ASSERT(!make_segment(&seg, ivs, ends, 5), "encoding failed");
	for (int trial = 0; trial < 3000; trial++) {
		uint8_t *p = malloc(seg.n);
		size_t first = seg.n, before = 0, n = 0, nflip = 1 + rnd() % 3;
		struct rec_reader *r;
		int rc;

		memcpy(p, seg.p, seg.n);
		for (size_t f = 0; f < nflip; f++) {
			size_t at = ends[0] + rnd() % (seg.n - ends[0]);
			uint8_t x = (uint8_t)(1 + rnd() % 255);

			p[at] ^= x;
			if (at < first)
				first = at;
		}
		while (before < NFRAMES && ends[before + 1] <= first)
			before++;
		r = rec_reader__new(p, seg.n, kinds, nkinds, why, sizeof(why));
		ASSERT(r, "trial %d: header refused: %s", trial, why);
		while ((rc = rec_reader__next(r, &got)) == 1) {
			size_t i = 0;
			const char *d;

			/* whatever comes back is one of the written intervals, whole */
			while (i < NFRAMES && ivs[i].realtime_ns != got.realtime_ns)
				i++;
			ASSERT(i < NFRAMES, "trial %d: an interval that was never written", trial);
			ASSERT(i >= n, "trial %d: intervals out of order", trial);
			d = iv_diff(&ivs[i], &got, why, sizeof(why));
			ASSERT(!d, "trial %d: frame %zu misread: %s", trial, i, d);
			if (i < before)
				ASSERT(i == n, "trial %d: frame %zu before the damage was lost",
				       trial, n);
			n = i + 1;
		}
		ASSERT(rc == 0, "trial %d: error %d", trial, rc);
		ASSERT(n >= before, "trial %d: %zu frames before the damage, %zu read", trial,
		       before, n);
		ASSERT(rec_reader__skipped(r) > 0, "trial %d: damage not reported", trial);
		rec_reader__free(r);
		free(p);
	}
	for (int i = 0; i < NFRAMES; i++)
		interval__free(&ivs[i]);
	interval__free(&got);
	rec_buf__free(&seg);
}

/* a roll-up segment is version 2 (its frames carry their interval count),
 * an interval segment still version 1; both read back exactly */
TEST_CASE(test_recfmt_rollup_segment_is_version_2_and_interval_segment_version_1)
{
	struct interval iv = {}, got = {};
	char why[200];

	setup_kinds();
	for (int tier = 0; tier < 2; tier++) {
		struct rec_header h = test_header();
		struct rec_buf seg = {}, fr = {};
		struct rec_enc *e;
		struct rec_reader *r;
		const char *d;
		uint32_t ver;

		h.rollup_ns = tier ? 10000000000ULL : 0;
		e = rec_enc__new(&h);
		ASSERT(e && !rec_enc__header(e, &seg), "header");
		make_interval(&iv, h.start_ns + 10000000000ULL, 30);
		iv.nintervals = tier ? 20 : 0;
		ASSERT(!rec_enc__interval(e, &iv, &fr), "encode");
		rec_enc__commit(e);
		ASSERT(!array_grow((void **)&seg.p, &seg.cap, seg.n + fr.n, 1), "ENOMEM");
		memcpy(seg.p + seg.n, fr.p, fr.n);
		seg.n += fr.n;
		memcpy(&ver, seg.p + 8, 4);
		ASSERT_EQ_U64(ver, tier ? 2 : 1, "format version written");
		r = rec_reader__new(seg.p, seg.n, kinds, nkinds, why, sizeof(why));
		ASSERT(r, "reader: %s", why);
		ASSERT_EQ_U64(rec_reader__header(r)->rollup_ns, h.rollup_ns, "roll-up length");
		ASSERT(rec_reader__next(r, &got) == 1, "no frame read back");
		d = iv_diff(&iv, &got, why, sizeof(why));
		ASSERT(!d, "tier %d: %s", tier, d);
		ASSERT_EQ_U64(got.nintervals, tier ? 20 : 0, "intervals of the frame");
		ASSERT(got.rollup_s == (tier ? 10.0 : 0.0), "rollup_s %g", got.rollup_s);
		rec_reader__free(r);
		rec_enc__free(e);
		rec_buf__free(&seg);
		rec_buf__free(&fr);
	}
	interval__free(&iv);
	interval__free(&got);
}
