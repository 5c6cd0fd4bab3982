// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <math.h>
#include <string.h>
#include "json.h"

/* length of the well-formed UTF-8 sequence at s (1..4), or 0 if none */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_escape(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, run;

	putc_unlocked('"', f);
	while (i < len) {
		unsigned char c = s[i];

		/* copy runs of plain printable ASCII in one write */
		for (run = i; run < len && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' &&
			      s[run] != '\\';
		     run++)
			;
		if (run > i) {
			fwrite_unlocked(s + i, 1, run - i, f);
			i = run;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case '"': fputs_unlocked("\\\"", f); break;
			case '\\': fputs_unlocked("\\\\", f); break;
			case '\n': fputs_unlocked("\\n", f); break;
			case '\r': fputs_unlocked("\\r", f); break;
			case '\t': fputs_unlocked("\\t", f); break;
			case '\b': fputs_unlocked("\\b", f); break;
			case '\f': fputs_unlocked("\\f", f); break;
			default: fprintf(f, "\\u%04x", c); /* other controls and DEL */
			}
			i++;
			continue;
		}
		n = utf8_seq_len(s + i, len - i);
		if (n) {
			fwrite_unlocked(s + i, 1, n, f);
			i += n;
		} else {
			fputs_unlocked("\\ufffd", f);
			i++;
		}
	}
	putc_unlocked('"', f);
}

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

static void prefix(struct jw *w, const char *name)
{
	if (w->depth > 0) {
		if (w->need_comma[w->depth])
			putc_unlocked(',', w->f);
		w->need_comma[w->depth] = true;
	}
	if (name) {
		json_escape(w->f, name, strlen(name));
		putc_unlocked(':', w->f);
	}
}

static void open_(struct jw *w, const char *name, char c)
{
	prefix(w, name);
	fputc(c, w->f);
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(struct jw *w, char c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj_start(struct jw *w, const char *name)
{
	open_(w, name, '{');
}
void jw_obj_end(struct jw *w)
{
	close_(w, '}');
}
void jw_arr_start(struct jw *w, const char *name)
{
	open_(w, name, '[');
}
void jw_arr_end(struct jw *w)
{
	close_(w, ']');
}

void jw_strn(struct jw *w, const char *name, const char *s, size_t len)
{
	prefix(w, name);
	json_escape(w->f, s, len);
}

void jw_str(struct jw *w, const char *name, const char *s)
{
	if (!s) {
		jw_null(w, name);
		return;
	}
	jw_strn(w, name, s, strlen(s));
}

/* digits of v, backwards from end; returns the first */
static char *utoa_rev(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void jw_uint(struct jw *w, const char *name, uint64_t v)
{
	char buf[24], *p = utoa_rev(v, buf + sizeof(buf));

	prefix(w, name);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, w->f);
}

void jw_int(struct jw *w, const char *name, int64_t v)
{
	char buf[24], *p = utoa_rev(v < 0 ? -(uint64_t)v : (uint64_t)v, buf + sizeof(buf));

	if (v < 0)
		*--p = '-';
	prefix(w, name);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, w->f);
}

void jw_num(struct jw *w, const char *name, double v)
{
	char buf[48], *p, *end = buf + sizeof(buf);
	uint64_t milli, frac;
	bool neg = v < 0;

	if (!isfinite(v)) {
		jw_null(w, name);
		return;
	}
	prefix(w, name);
	if (fabs(v) >= 1e15) { /* fixed point would not fit: exponent form */
		snprintf(buf, sizeof(buf), "%.17g", v);
		fputs_unlocked(buf, w->f);
		return;
	}
	/* fixed point with up to 3 decimals, trailing zeros trimmed, by hand:
	 * printf of doubles dominated the agent's profile */
	milli = (uint64_t)(fabs(v) * 1000.0 + 0.5);
	frac = milli % 1000;
	p = end;
	if (frac) {
		int digits = 3;

		while (frac % 10 == 0) {
			frac /= 10;
			digits--;
		}
		while (digits--) {
			*--p = (char)('0' + frac % 10);
			frac /= 10;
		}
		*--p = '.';
	}
	p = utoa_rev(milli / 1000, p);
	if (neg && milli)
		*--p = '-';
	fwrite_unlocked(p, 1, end - p, w->f);
}

void jw_null(struct jw *w, const char *name)
{
	prefix(w, name);
	fputs_unlocked("null", w->f);
}

void jw_bool(struct jw *w, const char *name, bool v)
{
	prefix(w, name);
	fputs_unlocked(v ? "true" : "false", w->f);
}
