// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flight recorder's on-disk format: see recfmt.h and README.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "recfmt.h"
#include "schema.h"
#include "util.h"

/* ---- bytes ---- */

void rec_buf__free(struct rec_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int buf_need(struct rec_buf *b, size_t n)
{
	return array_grow((void **)&b->p, &b->cap, b->n + n, 1) ? -ENOMEM : 0;
}

static int put(struct rec_buf *b, const void *p, size_t n)
{
	if (buf_need(b, n))
		return -ENOMEM;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

static int put_u8(struct rec_buf *b, uint8_t v)
{
	return put(b, &v, 1);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int put_var(struct rec_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	while (v >= 0x80) {
		t[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (uint8_t)v;
	return put(b, t, n);
}

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzz(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int put_str(struct rec_buf *b, const char *s, size_t n)
{
	return put_var(b, n) || put(b, s, n) ? -ENOMEM : 0;
}

/* a bounded reader over bytes: every get fails once anything was short */
struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t get_var(struct cur *c)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (c->p >= c->end)
			break;
		uint8_t b = *c->p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static const uint8_t *get_bytes(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	return p;
}

/* a length-prefixed string into buf (cut to len - 1, NUL-terminated) */
static void get_str(struct cur *c, char *buf, size_t len)
{
	uint64_t n = get_var(c);
	const uint8_t *p = get_bytes(c, n);

	buf[0] = 0;
	if (p)
		snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), (const char *)p);
}

/* ---- row layouts ---- */

/* where a row kind keeps histograms and lists; the rest are 8-byte words */
struct layout {
	size_t nhist, nerr, ncul;
	size_t hist[8], err[4], cul[4];
};

static bool has_off(const size_t *v, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == off)
			return true;
	return false;
}

static int layout_of(const struct row_schema *s, struct layout *l)
{
	memset(l, 0, sizeof(*l));
	if (s->row_size % 8 || sizeof(struct row_id) % 8)
		return -ENOTSUP;
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];

		if (f->off < sizeof(struct row_id))
			continue; /* the owner: encoded on its own */
		switch (f->kind) {
		case FK_STRP: return -ENOTSUP; /* a pointer: not a recordable value */
		case FK_HIST:
			if (f->off % 8)
				return -ENOTSUP;
			if (!has_off(l->hist, l->nhist, f->off)) {
				if (l->nhist == ARRAY_SIZE(l->hist))
					return -ENOTSUP;
				l->hist[l->nhist++] = f->off;
			}
			break;
		case FK_ERRNOS:
			if (f->off % 8)
				return -ENOTSUP;
			if (!has_off(l->err, l->nerr, f->off)) {
				if (l->nerr == ARRAY_SIZE(l->err))
					return -ENOTSUP;
				l->err[l->nerr++] = f->off;
			}
			break;
		case FK_CULPRITS:
			if (f->off % 8)
				return -ENOTSUP;
			if (!has_off(l->cul, l->ncul, f->off)) {
				if (l->ncul == ARRAY_SIZE(l->cul))
					return -ENOTSUP;
				l->cul[l->ncul++] = f->off;
			}
			break;
		default: break;
		}
	}
	return 0;
}

/* is the 8-byte word at off part of a histogram or list (encoded apart)? */
static bool word_special(const struct layout *l, size_t off)
{
	for (size_t i = 0; i < l->nhist; i++)
		if (off >= l->hist[i] && off < l->hist[i] + sizeof(struct row_hist))
			return true;
	for (size_t i = 0; i < l->nerr; i++)
		if (off == l->err[i])
			return true;
	for (size_t i = 0; i < l->ncul; i++)
		if (off == l->cul[i])
			return true;
	return false;
}

bool rec_schema_ok(const struct row_schema *s)
{
	struct layout l;

	return !layout_of(s, &l);
}

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

uint32_t rec_schema_hash(const struct row_schema *s)
{
	uint32_t h = 2166136261u;
	uint64_t v[4] = {s->row_size, sizeof(struct row_id), sizeof(struct row_hist),
			 sizeof(struct culprit)};

	h = fnv(h, s->name, strlen(s->name) + 1);
	h = fnv(h, v, sizeof(v));
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		uint64_t w[4] = {f->kind, f->off, f->size, f->flags & F_KEY};

		h = fnv(h, f->name, strlen(f->name) + 1);
		h = fnv(h, w, sizeof(w));
	}
	return h;
}

void rec_header__set_kinds(struct rec_header *h, const struct row_schema *const *schemas, size_t n)
{
	h->nkinds = 0;
	for (size_t i = 0; i < n && h->nkinds < REC_MAX_KINDS; i++) {
		struct rec_kind *k = &h->kinds[h->nkinds++];

		snprintf(k->name, sizeof(k->name), "%s", schemas[i]->name);
		k->hash = rec_schema_hash(schemas[i]);
		k->row_size = (uint32_t)schemas[i]->row_size;
	}
}

/* ---- frames ---- */

static int frame(struct rec_buf *out, uint8_t type, const struct rec_buf *payload)
{
	uint8_t hdr[REC_FRAME_HDR];
	uint32_t crc = (uint32_t)crc32(0, &type, 1);

	crc = (uint32_t)crc32(crc, payload->p, (uInt)payload->n);
	le32(hdr, REC_FRAME_MAGIC);
	le32(hdr + 4, (uint32_t)payload->n);
	le32(hdr + 8, crc);
	hdr[12] = type;
	return put(out, hdr, sizeof(hdr)) || put(out, payload->p, payload->n) ? -ENOMEM : 0;
}

/* ---- the dictionary of strings (comm, cgroup paths) ---- */

struct dict {
	char **s;	/* index -> string */
	size_t n, cap;	/* committed strings: n; pending: up to npend */
	size_t npend;	/* strings added by the frame being encoded */
	uint32_t *slot; /* open addressing: index + 1, 0 empty */
	size_t nslot;	/* power of two */
};

static uint32_t str_hash(const char *s, size_t n)
{
	return fnv(2166136261u, s, n);
}

static long dict_find(const struct dict *d, const char *s, size_t n)
{
	if (!d->nslot)
		return -1;
	for (size_t i = str_hash(s, n) & (d->nslot - 1);; i = (i + 1) & (d->nslot - 1)) {
		uint32_t v = d->slot[i];

		if (!v)
			return -1;
		if (strlen(d->s[v - 1]) == n && !memcmp(d->s[v - 1], s, n))
			return v - 1;
	}
}

static int dict_rehash(struct dict *d, size_t nslot)
{
	uint32_t *slot = calloc(nslot, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t k = 0; k < d->npend; k++) {
		size_t i = str_hash(d->s[k], strlen(d->s[k])) & (nslot - 1);

		while (slot[i])
			i = (i + 1) & (nslot - 1);
		slot[i] = (uint32_t)k + 1;
	}
	free(d->slot);
	d->slot = slot;
	d->nslot = nslot;
	return 0;
}

/* the index of s (n bytes), added as pending when new; -ENOMEM */
static long dict_index(struct dict *d, const char *s, size_t n)
{
	long i = dict_find(d, s, n);
	char *c;

	if (i >= 0)
		return i;
	if ((d->npend + 1) * 2 > d->nslot && dict_rehash(d, d->nslot ? d->nslot * 2 : 256))
		return -ENOMEM;
	if (array_grow((void **)&d->s, &d->cap, d->npend + 1, sizeof(*d->s)) ||
	    !(c = strndup(s, n)))
		return -ENOMEM;
	d->s[d->npend] = c;
	i = str_hash(s, n) & (d->nslot - 1);
	while (d->slot[i])
		i = (i + 1) & (d->nslot - 1);
	d->slot[i] = (uint32_t)d->npend + 1;
	return (long)d->npend++;
}

/* forget the pending strings (the frame that added them was not written) */
static void dict_rollback(struct dict *d)
{
	while (d->npend > d->n)
		free(d->s[--d->npend]);
	/* without memory for new slots, forget every slot: committed strings
	 * are then sent again under new indices, which readers accept */
	if (dict_rehash(d, d->nslot ? d->nslot : 256) && d->slot)
		memset(d->slot, 0, d->nslot * sizeof(*d->slot));
}

static void dict_free(struct dict *d)
{
	for (size_t i = 0; i < d->npend; i++)
		free(d->s[i]);
	free(d->s);
	free(d->slot);
	memset(d, 0, sizeof(*d));
}

/* ---- the encoder ---- */

struct rec_enc {
	struct rec_header h;
	const struct row_schema *schemas[REC_MAX_KINDS]; /* by kind, once seen */
	struct layout lay[REC_MAX_KINDS];
	struct dict d;
	struct rec_buf body, raw, z;
	struct hbin *tmp;
	size_t tmp_cap;
};

struct rec_enc *rec_enc__new(const struct rec_header *h)
{
	struct rec_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->h = *h;
	/* version 2 only adds roll-up frames' interval count */
	e->h.version = h->rollup_ns ? REC_VERSION : REC_VERSION_IV;
	return e;
}

void rec_enc__free(struct rec_enc *e)
{
	if (!e)
		return;
	dict_free(&e->d);
	rec_buf__free(&e->body);
	rec_buf__free(&e->raw);
	rec_buf__free(&e->z);
	free(e->tmp);
	free(e);
}

int rec_enc__header(struct rec_enc *e, struct rec_buf *out)
{
	struct rec_buf p = {};
	uint8_t ver[4];
	const struct rec_header *h = &e->h;
	int err = -ENOMEM;

	le32(ver, h->version);
	if (put(out, REC_MAGIC, 8) || put(out, ver, 4))
		goto out;
	if (put_str(&p, h->host, strlen(h->host)) || put_str(&p, h->kernel, strlen(h->kernel)) ||
	    put_str(&p, h->boot_id, strlen(h->boot_id)) || put_var(&p, h->start_ns) ||
	    put_var(&p, h->interval_ns) || put_var(&p, h->by) || put_var(&p, h->nkinds))
		goto out;
	for (size_t i = 0; i < h->nkinds; i++)
		if (put_str(&p, h->kinds[i].name, strlen(h->kinds[i].name)) ||
		    put_var(&p, h->kinds[i].hash) || put_var(&p, h->kinds[i].row_size))
			goto out;
	/* after the kinds, so a reader that stops there (the first version
	 * 1 reader) still reads the header: 0, the base tier, if absent */
	if (put_var(&p, h->rollup_ns))
		goto out;
	err = frame(out, REC_T_HEADER, &p);
out:
	rec_buf__free(&p);
	return err;
}

static int kind_of(struct rec_enc *e, const struct row_schema *s)
{
	for (size_t k = 0; k < e->h.nkinds; k++) {
		if (e->schemas[k] == s)
			return (int)k;
		if (!e->schemas[k] && !strcmp(e->h.kinds[k].name, s->name) &&
		    e->h.kinds[k].hash == rec_schema_hash(s)) {
			if (layout_of(s, &e->lay[k]))
				return -ENOTSUP;
			e->schemas[k] = s;
			return (int)k;
		}
	}
	return -ENOENT;
}

static int put_string_ref(struct rec_enc *e, const char *s, size_t n)
{
	long i;

	if (!s)
		return put_var(&e->body, 0);
	i = dict_index(&e->d, s, n);
	return i < 0 ? (int)i : put_var(&e->body, (uint64_t)i + 1);
}

static int bin_cmp(const void *a, const void *b)
{
	const struct hbin *x = a, *y = b;

	return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

static int put_hist(struct rec_enc *e, const struct interval *iv, const struct row_hist *h)
{
	struct rec_buf *b = &e->body;
	uint32_t prev = 0;

	if (put_var(b, h->n) || put_var(b, h->sum_ns) || put_var(b, h->max_ns))
		return -ENOMEM;
	if (!h->n)
		return 0;
	if (h->off > iv->nbins || h->n > iv->nbins - h->off)
		return -EINVAL;
	if (array_grow((void **)&e->tmp, &e->tmp_cap, h->n, sizeof(*e->tmp)))
		return -ENOMEM;
	memcpy(e->tmp, iv->bins + h->off, h->n * sizeof(*e->tmp));
	/* in bucket order, so each bucket is a small step from the last; a
	 * stable-enough sort: equal buckets add up whatever their order */
	qsort(e->tmp, h->n, sizeof(*e->tmp), bin_cmp);
	for (uint32_t i = 0; i < h->n; i++) {
		const struct hbin *x = &e->tmp[i];

		if (put_var(b, x->bucket - prev) || put_var(b, x->count) || put_var(b, x->sum))
			return -ENOMEM;
		prev = x->bucket;
	}
	return 0;
}

static int put_row(struct rec_enc *e, const struct interval *iv, const struct layout *l,
		   size_t row_size, const void *row, struct row_id *prev)
{
	const struct row_id *id = row;
	struct rec_buf *b = &e->body;
	int err;

	if (put_var(b, zz((int64_t)id->pid - (int64_t)prev->pid)) ||
	    put_var(b, id->tid ? zz((int64_t)id->tid - (int64_t)id->pid) + 1 : 0) ||
	    put_var(b, zz((int64_t)(id->cgid - prev->cgid))))
		return -ENOMEM;
	if ((err = put_string_ref(e, id->comm, strnlen(id->comm, LS_COMM_LEN))) ||
	    (err = put_string_ref(e, id->cgroup, id->cgroup ? strlen(id->cgroup) : 0)))
		return err;
	*prev = *id;
	for (size_t off = sizeof(struct row_id); off < row_size; off += 8) {
		uint64_t w;

		if (word_special(l, off))
			continue;
		memcpy(&w, (const char *)row + off, 8);
		if (put_var(b, w))
			return -ENOMEM;
	}
	for (size_t i = 0; i < l->nhist; i++)
		if ((err = put_hist(e, iv, (const void *)((const char *)row + l->hist[i]))))
			return err;
	for (size_t i = 0; i < l->nerr; i++) {
		const struct row_list *rl = (const void *)((const char *)row + l->err[i]);

		if (rl->off > iv->nerrs || rl->n > iv->nerrs - rl->off)
			return -EINVAL;
		if (put_var(b, rl->n))
			return -ENOMEM;
		for (uint32_t k = 0; k < rl->n; k++)
			if (put_var(b, iv->errs[rl->off + k].err) ||
			    put_var(b, iv->errs[rl->off + k].count))
				return -ENOMEM;
	}
	for (size_t i = 0; i < l->ncul; i++) {
		const struct row_list *rl = (const void *)((const char *)row + l->cul[i]);

		if (rl->off > iv->nculprits || rl->n > iv->nculprits - rl->off)
			return -EINVAL;
		if (put_var(b, rl->n))
			return -ENOMEM;
		for (uint32_t k = 0; k < rl->n; k++) {
			const struct culprit *c = &iv->culprits[rl->off + k];

			if (put_var(b, c->pid) || put_var(b, c->cgid) || put_var(b, c->runq_ns))
				return -ENOMEM;
			if ((err = put_string_ref(e, c->comm, strnlen(c->comm, LS_COMM_LEN))) ||
			    (err = put_string_ref(e, c->cgroup, c->cgroup ? strlen(c->cgroup) : 0)))
				return err;
		}
	}
	return 0;
}

static int enc_interval(struct rec_enc *e, const struct interval *iv, struct rec_buf *out)
{
	uint64_t len_bits;
	size_t ntables = 0;
	uLongf zlen;
	int err;

	e->body.n = e->raw.n = e->z.n = 0;
	for (size_t t = 0; t < iv->ntables; t++) {
		const struct table *tb = &iv->tables[t];
		struct row_id prev = {};
		int k = kind_of(e, tb->schema);

		if (k == -ENOENT)
			continue;
		if (k < 0)
			return k;
		ntables++;
		if (put_var(&e->body, (uint64_t)k) || put_u8(&e->body, tb->active) ||
		    put_var(&e->body, tb->n))
			return -ENOMEM;
		for (size_t r = 0; r < tb->n; r++)
			if ((err = put_row(e, iv, &e->lay[k], tb->row_size, table__row(tb, r),
					   &prev)))
				return err;
	}
	/* time, length (the double's bits: exact), drops, new strings, tables */
	memcpy(&len_bits, &iv->interval_s, 8);
	if (put_var(&e->raw, iv->realtime_ns) || put_var(&e->raw, len_bits) ||
	    put_var(&e->raw, LS_DROP_MAX))
		return -ENOMEM;
	for (size_t i = 0; i < LS_DROP_MAX; i++)
		if (put_var(&e->raw, iv->drops[i]))
			return -ENOMEM;
	if (e->h.version >= 2 && put_var(&e->raw, iv->nintervals ? iv->nintervals : 1))
		return -ENOMEM;
	if (put_var(&e->raw, e->d.n) || put_var(&e->raw, e->d.npend - e->d.n))
		return -ENOMEM;
	for (size_t i = e->d.n; i < e->d.npend; i++)
		if (put_str(&e->raw, e->d.s[i], strlen(e->d.s[i])))
			return -ENOMEM;
	if (put_var(&e->raw, ntables) || put(&e->raw, e->body.p, e->body.n))
		return -ENOMEM;
	/* the payload: its uncompressed length, then zlib at level 1 */
	zlen = compressBound((uLong)e->raw.n);
	if (put_var(&e->z, e->raw.n) || buf_need(&e->z, zlen))
		return -ENOMEM;
	if (compress2(e->z.p + e->z.n, &zlen, e->raw.p, (uLong)e->raw.n, 1) != Z_OK)
		return -ENOMEM;
	e->z.n += zlen;
	return frame(out, REC_T_INTERVAL, &e->z);
}

int rec_enc__interval(struct rec_enc *e, const struct interval *iv, struct rec_buf *out)
{
	int err;

	out->n = 0;
	err = enc_interval(e, iv, out);
	if (err) {
		out->n = 0;
		dict_rollback(&e->d);
	}
	return err;
}

void rec_enc__commit(struct rec_enc *e)
{
	e->d.n = e->d.npend;
}

/* ---- the reader ---- */

struct rec_reader {
	const uint8_t *data;
	size_t len, pos;
	struct rec_header h;
	const struct row_schema *schemas[REC_MAX_KINDS]; /* by kind; NULL: unknown */
	struct layout lay[REC_MAX_KINDS];
	char **strs; /* the segment's dictionary */
	size_t nstrs, strs_cap;
	size_t skipped, bad;
	struct rec_buf raw;
};

const struct rec_header *rec_reader__header(const struct rec_reader *r)
{
	return &r->h;
}

size_t rec_reader__skipped(const struct rec_reader *r)
{
	return r->skipped;
}

size_t rec_reader__bad_frames(const struct rec_reader *r)
{
	return r->bad;
}

void rec_reader__free(struct rec_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nstrs; i++)
		free(r->strs[i]);
	free(r->strs);
	rec_buf__free(&r->raw);
	free(r);
}

/* the frame at pos, if intact: its type and payload */
static bool frame_at(const struct rec_reader *r, size_t pos, uint8_t *type, const uint8_t **payload,
		     uint32_t *len)
{
	const uint8_t *p = r->data + pos;
	uint32_t n, crc;

	if (r->len - pos < REC_FRAME_HDR || get_le32(p) != REC_FRAME_MAGIC)
		return false;
	n = get_le32(p + 4);
	if (n > REC_FRAME_MAX || n > r->len - pos - REC_FRAME_HDR)
		return false;
	crc = (uint32_t)crc32(0, p + 12, 1);
	crc = (uint32_t)crc32(crc, p + REC_FRAME_HDR, n);
	if (crc != get_le32(p + 8))
		return false;
	*type = p[12];
	*payload = p + REC_FRAME_HDR;
	*len = n;
	return true;
}

static int parse_header(struct rec_reader *r, const uint8_t *p, uint32_t n,
			const struct row_schema *const *schemas, size_t nschemas, char *why,
			size_t why_len)
{
	struct cur c = {p, p + n};
	struct rec_header *h = &r->h;
	uint64_t v;

	get_str(&c, h->host, sizeof(h->host));
	get_str(&c, h->kernel, sizeof(h->kernel));
	get_str(&c, h->boot_id, sizeof(h->boot_id));
	h->start_ns = get_var(&c);
	h->interval_ns = get_var(&c);
	v = get_var(&c);
	if (v > LS_BY_COMM)
		c.bad = true;
	h->by = (enum ls_by)v;
	v = get_var(&c);
	if (v > REC_MAX_KINDS)
		c.bad = true;
	for (size_t i = 0; !c.bad && i < v; i++) {
		struct rec_kind *k = &h->kinds[h->nkinds++];

		get_str(&c, k->name, sizeof(k->name));
		k->hash = (uint32_t)get_var(&c);
		k->row_size = (uint32_t)get_var(&c);
	}
	if (!c.bad && c.p < c.end)
		h->rollup_ns = get_var(&c);
	if (c.bad || !h->interval_ns) {
		snprintf(why, why_len, "its header is corrupt");
		return -EINVAL;
	}
	for (size_t i = 0; i < h->nkinds; i++) {
		for (size_t s = 0; s < nschemas; s++) {
			if (strcmp(schemas[s]->name, h->kinds[i].name))
				continue;
			if (rec_schema_hash(schemas[s]) != h->kinds[i].hash ||
			    layout_of(schemas[s], &r->lay[i])) {
				snprintf(why, why_len,
					 "its %s rows have a layout this version cannot read",
					 h->kinds[i].name);
				return -EINVAL;
			}
			r->schemas[i] = schemas[s];
		}
	}
	return 0;
}

struct rec_reader *rec_reader__new(const void *data, size_t len,
				   const struct row_schema *const *schemas, size_t nschemas,
				   char *why, size_t why_len)
{
	struct rec_reader *r = calloc(1, sizeof(*r));
	const uint8_t *payload;
	uint32_t n;
	uint8_t type;

	if (!r) {
		snprintf(why, why_len, "%s", strerror(errno));
		return NULL;
	}
	r->data = data;
	r->len = len;
	if (len < REC_PREFIX || memcmp(data, REC_MAGIC, 8)) {
		snprintf(why, why_len, "not a latscope recording");
		goto bad;
	}
	r->h.version = get_le32(r->data + 8);
	if (r->h.version < 1 || r->h.version > REC_VERSION) {
		snprintf(why, why_len, "recorded in format version %u; this latscope reads 1 to %u",
			 r->h.version, REC_VERSION);
		goto bad;
	}
	if (!frame_at(r, REC_PREFIX, &type, &payload, &n) || type != REC_T_HEADER) {
		snprintf(why, why_len, "its header is torn or corrupt");
		goto bad;
	}
	if (parse_header(r, payload, n, schemas, nschemas, why, why_len))
		goto bad;
	r->pos = REC_PREFIX + REC_FRAME_HDR + n;
	return r;
bad:
	rec_reader__free(r);
	errno = EINVAL;
	return NULL;
}

static const char *ref_str(struct rec_reader *r, struct cur *c, bool *null)
{
	uint64_t i = get_var(c);

	*null = !i;
	if (!i)
		return NULL;
	if (i > r->nstrs) {
		c->bad = true;
		return NULL;
	}
	return r->strs[i - 1];
}

static void get_comm(struct rec_reader *r, struct cur *c, char comm[LS_COMM_LEN])
{
	bool null;
	const char *s = ref_str(r, c, &null);

	memset(comm, 0, LS_COMM_LEN);
	if (s)
		memcpy(comm, s, strnlen(s, LS_COMM_LEN));
}

static int get_hist(struct cur *c, struct interval *iv, struct row_hist *h)
{
	uint64_t n = get_var(c), bucket = 0;
	struct hbin *b;

	memset(h, 0, sizeof(*h));
	h->sum_ns = get_var(c);
	h->max_ns = get_var(c);
	/* each bin takes at least 3 bytes: a count beyond that is corrupt */
	if (c->bad || n > (size_t)(c->end - c->p) / 3) {
		c->bad = true;
		return 0;
	}
	if (!n)
		return 0;
	if (!(b = interval__bins_reserve(iv, n)))
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		bucket += get_var(c);
		if (bucket > UINT32_MAX)
			c->bad = true;
		b[i].bucket = (uint32_t)bucket;
		b[i].count = get_var(c);
		b[i].sum = get_var(c);
	}
	interval__set_hist(iv, h, n);
	return 0;
}

static int get_row(struct rec_reader *r, struct cur *c, struct interval *iv, size_t k, void *row,
		   struct row_id *prev)
{
	const struct layout *l = &r->lay[k];
	size_t row_size = r->schemas[k]->row_size;
	struct row_id *id = row;
	uint64_t v;
	bool null;
	int err;

	id->pid = (uint32_t)(prev->pid + unzz(get_var(c)));
	v = get_var(c);
	id->tid = v ? (uint32_t)(id->pid + unzz(v - 1)) : 0;
	id->cgid = prev->cgid + (uint64_t)unzz(get_var(c));
	get_comm(r, c, id->comm);
	id->cgroup = ref_str(r, c, &null);
	*prev = *id;
	for (size_t off = sizeof(struct row_id); off < row_size; off += 8) {
		uint64_t w;

		if (word_special(l, off))
			continue;
		w = get_var(c);
		memcpy((char *)row + off, &w, 8);
	}
	for (size_t i = 0; i < l->nhist; i++)
		if ((err = get_hist(c, iv, (void *)((char *)row + l->hist[i]))))
			return err;
	for (size_t i = 0; i < l->nerr; i++) {
		struct row_list *rl = (void *)((char *)row + l->err[i]);
		uint64_t n = get_var(c);

		if (n > (size_t)(c->end - c->p) / 2) {
			c->bad = true;
			return 0;
		}
		rl->off = (uint32_t)iv->nerrs;
		rl->n = (uint32_t)n;
		for (uint64_t j = 0; j < n; j++) {
			uint64_t e = get_var(c), cnt = get_var(c);

			if (interval__add_errno(iv, (uint32_t)e, cnt))
				return -ENOMEM;
		}
	}
	for (size_t i = 0; i < l->ncul; i++) {
		struct row_list *rl = (void *)((char *)row + l->cul[i]);
		uint64_t n = get_var(c);

		if (n > (size_t)(c->end - c->p) / 5) {
			c->bad = true;
			return 0;
		}
		rl->off = (uint32_t)iv->nculprits;
		rl->n = (uint32_t)n;
		for (uint64_t j = 0; j < n; j++) {
			struct culprit cu = {};

			cu.pid = (uint32_t)get_var(c);
			cu.cgid = get_var(c);
			cu.runq_ns = get_var(c);
			get_comm(r, c, cu.comm);
			cu.cgroup = ref_str(r, c, &null);
			if (interval__add_culprit(iv, &cu))
				return -ENOMEM;
		}
	}
	return 0;
}

/* decode an interval payload into iv: 0, -EINVAL (corrupt), -ENOMEM */
static int decode_interval(struct rec_reader *r, const uint8_t *p, uint32_t n, struct interval *iv)
{
	struct cur z = {p, p + n}, c;
	uint64_t raw_len = get_var(&z), v, first, nnew, ntables;
	uLongf got;
	size_t nstrs0 = r->nstrs;
	int err = -EINVAL;

	if (z.bad || raw_len > 16 * (uint64_t)REC_FRAME_MAX)
		return -EINVAL;
	r->raw.n = 0;
	if (buf_need(&r->raw, raw_len ? raw_len : 1))
		return -ENOMEM;
	got = (uLongf)raw_len;
	if (uncompress(r->raw.p, &got, z.p, (uLong)(z.end - z.p)) != Z_OK || got != raw_len)
		return -EINVAL;
	c = (struct cur){r->raw.p, r->raw.p + raw_len};
	interval__reset(iv);
	for (size_t t = 0; t < iv->ntables; t++)
		iv->tables[t].active = false;
	iv->by = r->h.by;
	iv->replay = true;
	iv->realtime_ns = get_var(&c);
	v = get_var(&c);
	memcpy(&iv->interval_s, &v, 8);
	v = get_var(&c);
	for (uint64_t i = 0; !c.bad && i < v; i++) {
		uint64_t d = get_var(&c);

		if (i < LS_DROP_MAX) /* drop kinds a later version added: left out */
			iv->drops[i] = d;
	}
	if (r->h.version >= 2)
		iv->nintervals = get_var(&c);
	iv->rollup_s = r->h.rollup_ns / 1e9;
	first = get_var(&c);
	nnew = get_var(&c);
	/* the strings must follow on from the ones this reader has: a frame
	 * after a skipped one that added strings cannot be read */
	if (c.bad || first != r->nstrs || nnew > (size_t)(c.end - c.p))
		goto bad;
	for (uint64_t i = 0; i < nnew; i++) {
		uint64_t len = get_var(&c);
		const uint8_t *s = get_bytes(&c, len);
		char *dup;

		if (!s || memchr(s, 0, len))
			goto bad;
		if (array_grow((void **)&r->strs, &r->strs_cap, r->nstrs + 1, sizeof(*r->strs)) ||
		    !(dup = strndup((const char *)s, len))) {
			err = -ENOMEM;
			goto bad;
		}
		r->strs[r->nstrs++] = dup;
	}
	ntables = get_var(&c);
	if (ntables > REC_MAX_KINDS)
		goto bad;
	for (uint64_t t = 0; !c.bad && t < ntables; t++) {
		uint64_t k = get_var(&c), nrows;
		const uint8_t *active = get_bytes(&c, 1);
		struct table *tb;
		struct row_id prev = {};

		nrows = get_var(&c);
		/* a row takes at least 5 bytes (its owner) */
		if (c.bad || k >= r->h.nkinds || !r->schemas[k] ||
		    nrows > (size_t)(c.end - c.p) / 5)
			goto bad;
		tb = interval__table(iv, r->schemas[k]);
		if (!tb)
			goto bad;
		tb->active = *active;
		for (uint64_t i = 0; i < nrows && !c.bad; i++) {
			void *row = table__add(tb);

			if (!row) {
				err = -ENOMEM;
				goto bad;
			}
			if ((err = get_row(r, &c, iv, k, row, &prev)))
				goto bad;
			err = -EINVAL;
		}
	}
	if (c.bad || c.p != c.end)
		goto bad;
	return 0;
bad:
	/* the frame is not kept: nor are the strings it added */
	while (r->nstrs > nstrs0)
		free(r->strs[--r->nstrs]);
	interval__reset(iv);
	return err;
}

int rec_reader__next(struct rec_reader *r, struct interval *iv)
{
	while (r->pos < r->len) {
		const uint8_t *payload;
		uint8_t type;
		uint32_t n;
		int err;

		if (!frame_at(r, r->pos, &type, &payload, &n)) {
			/* torn or corrupt: resynchronise on the next frame magic */
			size_t next = r->pos + 1;
			uint8_t t;
			const uint8_t *pl;
			uint32_t nn;

			for (; next + 4 <= r->len; next++)
				if (get_le32(r->data + next) == REC_FRAME_MAGIC &&
				    frame_at(r, next, &t, &pl, &nn))
					break;
			if (next + 4 > r->len)
				next = r->len;
			r->skipped += next - r->pos;
			r->bad++;
			r->pos = next;
			continue;
		}
		r->pos += REC_FRAME_HDR + n;
		if (type != REC_T_INTERVAL)
			continue; /* a frame type of a later version: not ours to read */
		err = decode_interval(r, payload, n, iv);
		if (err == -ENOMEM)
			return err;
		if (err) {
			r->skipped += REC_FRAME_HDR + n;
			r->bad++;
			continue;
		}
		return 1;
	}
	return 0;
}
