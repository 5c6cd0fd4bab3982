// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The three escapers of strings from the traced host, on arbitrary bytes:
 *
 * prom_escape (Prometheus label values): the output is valid UTF-8 with no
 * byte below 0x20 and no DEL, every quote and backslash escaped and only
 * the escapes the formats define (\\, \", \n); it is exactly the escaping
 * of a prefix of the input, cut between characters, and cut only when the
 * buffer is full.
 *
 * fmt_safe (text and TUI cells): printable ASCII only, never reads past n
 * bytes, and decodes (\xNN) back to exactly a prefix of the input.
 *
 * json_escape and the jw_* writer (NDJSON): the string is valid JSON and
 * valid UTF-8, and decodes to the input with each byte that does not start
 * a well-formed UTF-8 sequence replaced by U+FFFD; a whole document of
 * fields named and valued by the input passes a JSON validator.
 */
#include <math.h>
#include "fuzz.h"
#include "json.h"
#include "prom.h"
#include "util.h"

FUZZ_HARNESS_BEGIN

/* --- prom_escape ---------------------------------------------------- */

/* the escaping of one character of s (written from the format's spec) */
static size_t prom_piece(const uint8_t *s, size_t left, char *out, size_t *consumed)
{
	size_t n;

	*consumed = 1;
	if (s[0] == '\\' || s[0] == '"') {
		out[0] = '\\';
		out[1] = (char)s[0];
		return 2;
	}
	if (s[0] == '\n')
		return memcpy(out, "\\n", 2), 2;
	if (s[0] >= 0x20 && s[0] < 0x7f)
		return out[0] = (char)s[0], 1;
	n = s[0] >= 0x80 ? fuzz_utf8_len(s, left) : 0;
	if (n) {
		memcpy(out, s, n);
		*consumed = n;
		return n;
	}
	return (size_t)snprintf(out, 8, "\\\\x%02x", s[0]);
}

static void check_prom_escape(const char *in, size_t cap)
{
	char *out = malloc(cap), piece[8];
	size_t o = 0, i = 0, len = strlen(in), olen;

	prom_escape(in, out, cap);
	olen = strnlen(out, cap);
	FUZZ_ASSERT(olen < cap, "prom_escape output not NUL-terminated in %zu bytes", cap);
	FUZZ_ASSERT(fuzz_utf8_bad(out, olen) == olen, "prom_escape output not UTF-8 at %zu: %s",
		    fuzz_utf8_bad(out, olen), fuzz_show(out, olen));
	for (size_t k = 0; k < olen; k++) {
		uint8_t c = (uint8_t)out[k];

		FUZZ_ASSERT(c >= 0x20 && c != 0x7f, "control byte 0x%02x in label value %s", c,
			    fuzz_show(out, olen));
		if (c == '\\') {
			k++;
			FUZZ_ASSERT(k < olen && (out[k] == '\\' || out[k] == '"' || out[k] == 'n'),
				    "escape \\%c is not one of the format's: %s",
				    k < olen ? out[k] : '0', fuzz_show(out, olen));
		} else {
			FUZZ_ASSERT(c != '"', "unescaped quote in %s", fuzz_show(out, olen));
		}
	}
	/* exactly the escaping of a prefix, cut between characters */
	while (i < len) {
		size_t used, n = prom_piece((const uint8_t *)in + i, len - i, piece, &used);

		if (o + n > olen)
			break;
		FUZZ_ASSERT(!memcmp(out + o, piece, n), "character at input %zu escaped as %s", i,
			    fuzz_show(out + o, olen - o < 8 ? olen - o : 8));
		o += n;
		i += used;
	}
	FUZZ_ASSERT(o == olen, "output has %zu bytes past the last whole character: %s", olen - o,
		    fuzz_show(out, olen));
	/* cut only when the next character would not have fitted with room to
	 * spare (prom_escape keeps 5 bytes, the longest escape, in hand) */
	FUZZ_ASSERT(i == len || olen + 5 >= cap, "cut at %zu of %zu with %zu of %zu bytes used", i,
		    len, olen, cap);
	free(out);
}

/* --- fmt_safe --------------------------------------------------------- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void check_fmt_safe(const uint8_t *in, size_t n, size_t cap)
{
	/* exactly n bytes, not NUL-terminated: fmt_safe must stop at n */
	char *s = malloc(n ? n : 1), *out = malloc(cap);
	size_t olen, i = 0, limit;

	memcpy(s, in, n);
	fmt_safe(s, n, out, cap);
	limit = strnlen(s, n);
	olen = strnlen(out, cap);
	FUZZ_ASSERT(olen < cap, "fmt_safe output not NUL-terminated in %zu bytes", cap);
	for (size_t k = 0; k < olen; k++) {
		uint8_t c = (uint8_t)out[k];

		FUZZ_ASSERT(c >= 0x20 && c < 0x7f, "byte 0x%02x in a text cell: %s", c,
			    fuzz_show(out, olen));
		if (c == '\\') {
			int hi, lo;

			FUZZ_ASSERT(k + 3 < olen + 1 && out[k + 1] == 'x', "cut escape: %s",
				    fuzz_show(out, olen));
			hi = hexval(out[k + 2]);
			lo = hexval(out[k + 3]);
			FUZZ_ASSERT(hi >= 0 && lo >= 0, "bad escape: %s", fuzz_show(out, olen));
			FUZZ_ASSERT(i < limit && (uint8_t)s[i] == hi * 16 + lo,
				    "escape decodes to another byte than the input's");
			FUZZ_ASSERT(s[i] < 0x20 || (uint8_t)s[i] >= 0x7f || s[i] == '\\',
				    "printable byte 0x%02x escaped", (uint8_t)s[i]);
			k += 3;
		} else {
			FUZZ_ASSERT(i < limit && s[i] == (char)c,
				    "output differs from input at %zu", i);
		}
		i++;
	}
	/* cut only when the next character did not fit */
	if (i < limit) {
		uint8_t c = (uint8_t)s[i];
		size_t need = c >= 0x20 && c < 0x7f && c != '\\' ? 1 : 4;

		FUZZ_ASSERT(olen + need + 1 > cap, "cut at %zu of %zu with room left", i, limit);
	}
	free(s);
	free(out);
}

/* --- JSON --------------------------------------------------------------- */

struct jp {
	const char *s;
	size_t i, n;
	char *dec; /* decoded string bytes, when wanted */
	size_t dlen;
};

static bool jp_lit(struct jp *p, const char *lit)
{
	size_t l = strlen(lit);

	if (p->n - p->i < l || memcmp(p->s + p->i, lit, l))
		return false;
	p->i += l;
	return true;
}

static int jp_hex4(struct jp *p)
{
	int v = 0;

	if (p->n - p->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i++];
		int h = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static void put_utf8(struct jp *p, uint32_t cp)
{
	char *d;

	if (!p->dec)
		return;
	d = p->dec + p->dlen;
	if (cp < 0x80) {
		d[0] = (char)cp;
		p->dlen += 1;
	} else if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		p->dlen += 2;
	} else if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		p->dlen += 3;
	} else {
		d[0] = (char)(0xf0 | cp >> 18);
		d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		d[3] = (char)(0x80 | (cp & 0x3f));
		p->dlen += 4;
	}
}

/* a JSON string per RFC 8259 section 7, decoded into p->dec if set */
static bool jp_string(struct jp *p)
{
	if (!jp_lit(p, "\""))
		return false;
	while (p->i < p->n) {
		uint8_t c = (uint8_t)p->s[p->i];
		size_t u;

		if (c == '"') {
			p->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			u = fuzz_utf8_len((const uint8_t *)p->s + p->i, p->n - p->i);
			if (!u)
				return false;
			if (p->dec)
				memcpy(p->dec + p->dlen, p->s + p->i, u);
			p->dlen += p->dec ? u : 0;
			p->i += u;
			continue;
		}
		if (++p->i >= p->n)
			return false;
		c = (uint8_t)p->s[p->i++];
		switch (c) {
		case '"':
		case '\\':
		case '/': put_utf8(p, c); break;
		case 'b': put_utf8(p, '\b'); break;
		case 'f': put_utf8(p, '\f'); break;
		case 'n': put_utf8(p, '\n'); break;
		case 'r': put_utf8(p, '\r'); break;
		case 't': put_utf8(p, '\t'); break;
		case 'u': {
			int cp = jp_hex4(p), lo;

			if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				return false;
			if (cp >= 0xd800 && cp <= 0xdbff) { /* a pair, or invalid */
				if (!jp_lit(p, "\\u") || (lo = jp_hex4(p)) < 0xdc00 || lo > 0xdfff)
					return false;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(p, (uint32_t)cp);
			break;
		}
		default: return false;
		}
	}
	return false;
}

static void jp_ws(struct jp *p)
{
	while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]) && p->s[p->i])
		p->i++;
}

/* RFC 8259 number */
static bool jp_number(struct jp *p)
{
	size_t d;

	jp_lit(p, "-");
	d = strspn(p->s + p->i, "0123456789");
	if (!d || (d > 1 && p->s[p->i] == '0'))
		return false;
	p->i += d;
	if (jp_lit(p, ".")) {
		d = strspn(p->s + p->i, "0123456789");
		if (!d)
			return false;
		p->i += d;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (!jp_lit(p, "+"))
			jp_lit(p, "-");
		d = strspn(p->s + p->i, "0123456789");
		if (!d)
			return false;
		p->i += d;
	}
	return p->i <= p->n;
}

static bool jp_value(struct jp *p, int depth)
{
	if (depth > 32)
		return false;
	jp_ws(p);
	if (p->i >= p->n)
		return false;
	switch (p->s[p->i]) {
	case '"': return jp_string(p);
	case '{':
	case '[': {
		char close = p->s[p->i] == '{' ? '}' : ']';
		bool obj = close == '}';

		p->i++;
		jp_ws(p);
		if (jp_lit(p, close == '}' ? "}" : "]"))
			return true;
		for (;;) {
			if (obj) {
				jp_ws(p);
				if (!jp_string(p))
					return false;
				jp_ws(p);
				if (!jp_lit(p, ":"))
					return false;
			}
			if (!jp_value(p, depth + 1))
				return false;
			jp_ws(p);
			if (jp_lit(p, ","))
				continue;
			return jp_lit(p, obj ? "}" : "]");
		}
	}
	case 't': return jp_lit(p, "true");
	case 'f': return jp_lit(p, "false");
	case 'n': return jp_lit(p, "null");
	default: return jp_number(p);
	}
}

/* what json_escape must decode to: well-formed UTF-8 kept, others U+FFFD */
static size_t ref_json_decoded(const uint8_t *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = fuzz_utf8_len(s + i, len - i);

		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	return o;
}

static void check_json_escape(const uint8_t *in, size_t len)
{
	struct fuzz_mem m;
	struct jp p = {0};
	char *out, *want = malloc(3 * len + 1);
	size_t wlen;

	fuzz_mem_start(&m);
	json_escape(m.f, (const char *)in, len);
	out = fuzz_mem_end(&m);
	p.s = out;
	p.n = m.len;
	p.dec = malloc(4 * m.len + 1);
	FUZZ_ASSERT(fuzz_utf8_bad(out, m.len) == m.len, "json_escape output not UTF-8: %s",
		    fuzz_show(out, m.len));
	FUZZ_ASSERT(jp_string(&p) && p.i == p.n, "json_escape output is not one JSON string: %s",
		    fuzz_show(out, m.len));
	wlen = ref_json_decoded(in, len, want);
	FUZZ_ASSERT(p.dlen == wlen && !memcmp(p.dec, want, wlen),
		    "json_escape decodes to something else than the input (%zu vs %zu bytes): %s",
		    p.dlen, wlen, fuzz_show(out, m.len));
	free(p.dec);
	free(want);
	free(out);
}

/* a small document through the jw_* writer, names and values from the input */
static void check_jw(const uint8_t *data, size_t size)
{
	struct fz z = {data, size};
	struct fuzz_mem m;
	struct jw w;
	struct jp p = {0};
	char *out, name[32];
	uint8_t nops = fz_u8(&z) % 24;

	fuzz_mem_start(&m);
	jw_init(&w, m.f);
	jw_obj_start(&w, NULL);
	for (int i = 0; i < nops; i++) {
		uint8_t op = fz_u8(&z), nl = fz_u8(&z) % sizeof(name);
		uint64_t u;
		double d;

		for (uint8_t k = 0; k < nl; k++)
			name[k] = (char)(fz_u8(&z) | 1); /* names are C strings */
		name[nl] = 0;
		switch (op % 8) {
		case 0: {
			size_t sl = fz_u8(&z);

			sl = sl < z.n ? sl : z.n;
			jw_strn(&w, name, (const char *)z.p, sl);
			z.p += sl;
			z.n -= sl;
			break;
		}
		case 1: jw_uint(&w, name, fz_uint(&z, 8)); break;
		case 2: jw_int(&w, name, (int64_t)fz_uint(&z, 8)); break;
		case 3:
			u = fz_uint(&z, 8);
			memcpy(&d, &u, sizeof(d));
			jw_num(&w, name, d);
			break;
		case 4: jw_bool(&w, name, op & 8); break;
		case 5: jw_null(&w, name); break;
		case 6:
			jw_arr_start(&w, name);
			jw_str(&w, NULL, name);
			jw_num(&w, NULL, (double)fz_uint(&z, 4) / 7.0);
			jw_arr_end(&w);
			break;
		case 7:
			jw_obj_start(&w, name);
			jw_str(&w, "k", name);
			jw_obj_end(&w);
			break;
		}
	}
	jw_obj_end(&w);
	out = fuzz_mem_end(&m);
	p.s = out;
	p.n = m.len;
	FUZZ_ASSERT(fuzz_utf8_bad(out, m.len) == m.len, "jw output not UTF-8: %s",
		    fuzz_show(out, m.len));
	FUZZ_ASSERT(jp_value(&p, 0) && (jp_ws(&p), p.i == p.n), "jw output is not JSON at %zu: %s",
		    p.i, fuzz_show(out, m.len));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (!size)
		return 0;
	/* the first byte picks the output buffer sizes; the rest is the string */
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	check_prom_escape(s, 1 + data[0] % 64);
	check_prom_escape(s, 5 * strlen(s) + 6); /* room for all of it */
	check_fmt_safe(data + 1, size - 1, 1 + data[0] % 64);
	check_fmt_safe(data + 1, size - 1, 4 * (size - 1) + 1);
	check_json_escape(data + 1, size - 1);
	check_jw(data, size);
	free(s);
	return 0;
}

FUZZ_HARNESS_END
