// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Exact output of the streaming JSON writer. Byte-level escaping of
 * arbitrary input is covered exhaustively by test_json_roundtrip.py; here
 * are the writer's structure and a few escapes spelled out.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "test.h"
#include "json.h"

/* a writer into memory so the produced bytes can be compared */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct jw w;
};

static void cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	jw_init(&c->w, c->f);
}

/* closes the stream; the caller frees c->buf */
static const char *cap_close(struct capture *c)
{
	fclose(c->f);
	return c->buf;
}

static char *escape(const char *s, size_t len)
{
	struct capture c;

	cap_open(&c);
	json_escape(c.f, s, len);
	return (char *)cap_close(&c);
}

TEST_CASE(json_writer_nested_objects_and_arrays)
{
	static const char want[] = "{\"name\":\"read\",\"count\":42,\"delta\":-3,"
				   "\"lat\":{\"p50\":1.5,\"p99\":null},"
				   "\"buckets\":[[1,2],[],{}],\"tags\":[\"a\",null],\"empty\":{}}";
	struct capture c;
	const char *got;
	bool ok;

	cap_open(&c);
	jw_obj_start(&c.w, NULL);
	jw_str(&c.w, "name", "read");
	jw_uint(&c.w, "count", 42);
	jw_int(&c.w, "delta", -3);
	jw_obj_start(&c.w, "lat");
	jw_num(&c.w, "p50", 1.5);
	jw_num(&c.w, "p99", NAN);
	jw_obj_end(&c.w);
	jw_arr_start(&c.w, "buckets");
	jw_arr_start(&c.w, NULL);
	jw_uint(&c.w, NULL, 1);
	jw_uint(&c.w, NULL, 2);
	jw_arr_end(&c.w);
	jw_arr_start(&c.w, NULL);
	jw_arr_end(&c.w);
	jw_obj_start(&c.w, NULL);
	jw_obj_end(&c.w);
	jw_arr_end(&c.w);
	jw_arr_start(&c.w, "tags");
	jw_str(&c.w, NULL, "a");
	jw_str(&c.w, NULL, NULL);
	jw_arr_end(&c.w);
	jw_obj_start(&c.w, "empty");
	jw_obj_end(&c.w);
	jw_obj_end(&c.w);
	got = cap_close(&c);
	ok = !strcmp(got, want);
	if (!ok)
		printf("  got:  %s\n  want: %s\n", got, want);
	free(c.buf);
	ASSERT(ok, "nested document differs");
}

TEST_CASE(json_writer_top_level_values_are_not_comma_joined)
{
	/* one document per line (NDJSON): the writer must not join them */
	struct capture c;
	const char *got;
	bool ok;

	cap_open(&c);
	jw_obj_start(&c.w, NULL);
	jw_uint(&c.w, "a", 1);
	jw_obj_end(&c.w);
	fputc('\n', c.f);
	jw_obj_start(&c.w, NULL);
	jw_uint(&c.w, "b", 2);
	jw_obj_end(&c.w);
	got = cap_close(&c);
	ok = !strcmp(got, "{\"a\":1}\n{\"b\":2}");
	if (!ok)
		printf("  got: %s\n", got);
	free(c.buf);
	ASSERT(ok, "second top-level object differs");
}

TEST_CASE(json_writer_nests_to_max_depth)
{
	/* JW_MAX_DEPTH - 1 open containers, each with two members */
	char want[256], *p = want;
	struct capture c;
	const char *got;
	int d;
	bool ok;

	cap_open(&c);
	for (d = 0; d < JW_MAX_DEPTH - 1; d++) {
		jw_arr_start(&c.w, NULL);
		jw_uint(&c.w, NULL, d);
		p += sprintf(p, "[%d,", d);
	}
	for (d = JW_MAX_DEPTH - 2; d >= 0; d--) {
		jw_uint(&c.w, NULL, 100 + d);
		jw_arr_end(&c.w);
		p += sprintf(p, d == JW_MAX_DEPTH - 2 ? "%d]" : ",%d]", 100 + d);
	}
	got = cap_close(&c);
	ok = !strcmp(got, want);
	if (!ok)
		printf("  got:  %s\n  want: %s\n", got, want);
	free(c.buf);
	ASSERT(ok, "deeply nested arrays differ");
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? */
static bool is_json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !*p;
}

static const char *num(double v, char *out, size_t len)
{
	struct capture c;

	cap_open(&c);
	jw_num(&c.w, NULL, v);
	snprintf(out, len, "%s", cap_close(&c));
	free(c.buf);
	return out;
}

TEST_CASE(json_num_three_decimals_trimmed)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{1.0, "1"},
		{0.1234, "0.123"},
		{0.1236, "0.124"},
		{-0.0001, "0"},
		{-0.0, "0"},
		{0.0, "0"},
		{100.0, "100"},
		{10.5, "10.5"},
		{2.25, "2.25"},
		{-1.5, "-1.5"},
		{0.0004, "0"},
		{12345678.9, "12345678.9"},
		{86400e9, "86400000000000"},
		{NAN, "null"},
		{INFINITY, "null"},
		{-INFINITY, "null"},
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT(!strcmp(num(cases[i].v, buf, sizeof(buf)), cases[i].want),
		       "%g: got \"%s\", want \"%s\"", cases[i].v, buf, cases[i].want);
		ASSERT(isnan(cases[i].v) || isinf(cases[i].v) || is_json_number(buf),
		       "%g: \"%s\" is not a JSON number", cases[i].v, buf);
	}
}

/*
 * A finite double must come out as a number equal to it (to 3 decimals),
 * however large: a silently shortened number is worse than any format.
 */
TEST_CASE(json_num_huge_values_keep_their_magnitude)
{
	static const double vals[] = {
		999999999999999.9,	1e15, 18446744073709551615.0, 1e60, 1e100, 1e300, -1e300,
		1.7976931348623157e308,
	};
	char buf[512];
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		double back;

		num(vals[i], buf, sizeof(buf));
		ASSERT(is_json_number(buf), "%g: \"%s\" is not a JSON number", vals[i], buf);
		back = strtod(buf, NULL);
		/* 3 decimals below 1e15; above, every significant digit */
		ASSERT(fabs(back - vals[i]) <= 0.0005 * (fabs(vals[i]) < 1e15) || back == vals[i],
		       "%.17g: written as \"%s\", which reads back as %.17g", vals[i], buf, back);
	}
}

TEST_CASE(json_escape_specific_bytes)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{"", 0, "\"\""},
		{"plain", 5, "\"plain\""},
		{"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
		{"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
		{"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\""},
		{"a\0b", 3, "\"a\\u0000b\""},
		{"/", 1, "\"/\""},
		/* well-formed UTF-8 passes through unchanged: é, €, 😀 */
		{"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
		 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
		/* U+10FFFF is the last valid code point */
		{"\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""},
		/* each bad byte is one U+FFFD, decoding resumes at the next byte */
		{"\xff", 1, "\"\\ufffd\""},
		{"\x80x", 2, "\"\\ufffdx\""},
		{"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},			     /* overlong '/' */
		{"\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\""},	     /* overlong '/' */
		{"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},	     /* surrogate D800 */
		{"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* U+110000 */
		{"\xe2\x82", 2, "\"\\ufffd\\ufffd\""},			     /* truncated at end */
		{"\xe2\x82"
		 "A",
		 3, "\"\\ufffd\\ufffdA\""},		    /* cut by ASCII */
		{"\xf0\xc3\xa9", 3, "\"\\ufffd\xc3\xa9\""}, /* cut by a valid char */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = escape(cases[i].in, cases[i].len);
		bool ok = !strcmp(got, cases[i].want);

		if (!ok)
			printf("  case %zu: got %s, want %s\n", i, got, cases[i].want);
		free(got);
		ASSERT(ok, "json_escape case %zu differs", i);
	}
}

TEST_CASE(json_names_are_escaped_too)
{
	struct capture c;
	const char *got;
	bool ok;

	cap_open(&c);
	jw_obj_start(&c.w, NULL);
	jw_strn(&c.w, "k\"\xff", "v\0w", 3);
	jw_obj_end(&c.w);
	got = cap_close(&c);
	ok = !strcmp(got, "{\"k\\\"\\ufffd\":\"v\\u0000w\"}");
	if (!ok)
		printf("  got: %s\n", got);
	free(c.buf);
	ASSERT(ok, "escaped name/value differ");
}
