/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Streaming JSON writer: every output path branches once on the format and
 * then calls these. Output is always valid UTF-8 JSON, whatever bytes a
 * string holds (see json_escape).
 */
#ifndef LATSCOPE_JSON_H
#define LATSCOPE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 16

struct jw {
	FILE *f;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
};

/*
 * Write s[0..len) as a quoted JSON string. Well-formed UTF-8 passes through;
 * ", \ and control characters are escaped; every byte that does not start a
 * well-formed UTF-8 sequence (overlong, surrogate, > U+10FFFF, truncated)
 * becomes one U+FFFD, and decoding resumes at the next byte.
 */
void json_escape(FILE *f, const char *s, size_t len);

void jw_init(struct jw *w, FILE *f);
/* name is NULL inside arrays and at top level */
void jw_obj_start(struct jw *w, const char *name);
void jw_obj_end(struct jw *w);
void jw_arr_start(struct jw *w, const char *name);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *name, const char *s);
void jw_strn(struct jw *w, const char *name, const char *s, size_t len);
void jw_uint(struct jw *w, const char *name, uint64_t v);
void jw_int(struct jw *w, const char *name, int64_t v);
/* up to 3 decimals, trailing zeros trimmed; non-finite becomes null */
void jw_num(struct jw *w, const char *name, double v);
void jw_null(struct jw *w, const char *name);
void jw_bool(struct jw *w, const char *name, bool v);

#endif
