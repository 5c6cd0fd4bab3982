/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the libFuzzer targets share: an assertion that aborts (libFuzzer
 * saves the input as a crash), a reader of the fuzzer's bytes, and
 * independent checkers of what the renderers promise (UTF-8, no control
 * bytes). The checkers are written from the specs, not from user/, so a
 * renderer and its check cannot share a mistake.
 */
#ifndef LATSCOPE_FUZZ_H
#define LATSCOPE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Between these, the harness is left out of libFuzzer's coverage: an input
 * is interesting for what it makes user/ code do, not for the branches of
 * the checks (which, instrumented, were also the slowest part of a run).
 */
/* (_Pragma takes one string literal: no line break in it) */
/* clang-format off */
#define FUZZ_HARNESS_BEGIN \
	_Pragma("clang attribute push(__attribute__((no_sanitize(\"coverage\"))), apply_to = function)")
#define FUZZ_HARNESS_END _Pragma("clang attribute pop")
/* clang-format on */

FUZZ_HARNESS_BEGIN

/* an invariant: on violation, say which and abort (a crash to libFuzzer) */
#define FUZZ_ASSERT(cond, ...)                                                                    \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "\nINVARIANT VIOLATED %s:%d: %s\n  ", __FILE__, __LINE__, \
				#cond);                                                           \
			fprintf(stderr, __VA_ARGS__);                                             \
			fprintf(stderr, "\n");                                                    \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

/* the fuzzer's bytes, consumed from the front; zeros once they run out */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *z)
{
	uint8_t v = 0;

	if (z->n) {
		v = *z->p++;
		z->n--;
	}
	return v;
}

static inline uint64_t fz_uint(struct fz *z, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)fz_u8(z) << (8 * i);
	return v;
}

/* a value in [0, n) (n > 0) */
static inline uint32_t fz_below(struct fz *z, uint32_t n)
{
	return (uint32_t)(fz_uint(z, n > 256 ? (n > 65536 ? 4 : 2) : 1) % n);
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629 table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0.
 */
static inline size_t fuzz_utf8_len(const uint8_t *s, size_t left)
{
	uint8_t c = s[0];
	uint8_t lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* offset of the first byte that is not valid UTF-8, or len */
static inline size_t fuzz_utf8_bad(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = fuzz_utf8_len((const uint8_t *)s + i, len - i);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

/* a printable rendering of (part of) a buffer for a violation message */
static inline const char *fuzz_show(const char *s, size_t len)
{
	static char out[1024];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < sizeof(out); i++) {
		uint8_t c = (uint8_t)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
	}
	out[o] = 0;
	return out;
}

/* an in-memory FILE; fuzz_mem_end closes it and returns the bytes (free) */
struct fuzz_mem {
	FILE *f;
	char *buf;
	size_t len;
};

static inline void fuzz_mem_start(struct fuzz_mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	FUZZ_ASSERT(m->f, "open_memstream failed");
}

static inline char *fuzz_mem_end(struct fuzz_mem *m)
{
	FUZZ_ASSERT(fclose(m->f) == 0, "closing the memstream failed");
	return m->buf;
}

FUZZ_HARNESS_END

#endif
