// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * service_name() (user/names.c), the cgroup-name decoder behind the
 * SERVICE column, JSON "service" and the Prometheus cgroup label, on any
 * bytes a cgroup path can hold. What it promises, checked from the rules
 * rather than from its code:
 * - the result is NUL-terminated inside the buffer, whatever its size;
 * - it is taken from the path, never made up: the first 12 of a run of
 *   exactly 64 hex digits (a container id), one whole path component
 *   ending in .service/.scope/.socket/.mount (or .slice when it is the
 *   last), or the path itself — each cut to the buffer;
 * - a container id wins over a unit name in the same or an outer
 *   component, and the innermost component that names something wins;
 * - the same path gives the same name (no hidden state).
 */
#include <ctype.h>
#include "fuzz.h"
#include "names.h"

FUZZ_HARNESS_BEGIN

static bool ends_with(const char *s, size_t n, const char *sfx)
{
	size_t l = strlen(sfx);

	return n > l && !memcmp(s + n - l, sfx, l);
}

/* does the component [s, s+n) name a unit (last: it ends the path)? */
static bool unit_component(const char *s, size_t n, bool last)
{
	return ends_with(s, n, ".service") || ends_with(s, n, ".scope") ||
	       ends_with(s, n, ".socket") || ends_with(s, n, ".mount") ||
	       (last && ends_with(s, n, ".slice"));
}

/* the start of the first maximal run of exactly 64 hex digits (a
 * container id) in [s, s+n), or -1 */
static long hex64(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && isxdigit((unsigned char)s[j]))
			j++;
		if (j - i == 64)
			return (long)i;
		i = j > i ? j : i + 1;
	}
	return -1;
}

/* what the name must be, by the rules above */
static void expected(const char *path, char *out, size_t len)
{
	size_t end = strlen(path), total = end;

	while (end > 0) {
		size_t start = end;
		long h;

		while (start > 0 && path[start - 1] != '/')
			start--;
		h = hex64(path + start, end - start);
		if (h >= 0) {
			snprintf(out, len, "%.12s", path + start + h);
			return;
		}
		if (unit_component(path + start, end - start, end == total)) {
			snprintf(out, len, "%.*s", (int)(end - start), path + start);
			return;
		}
		end = start ? start - 1 : 0;
	}
	snprintf(out, len, "%s", path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path, want[4096], got[4096], again[4096];
	size_t len;
	const char *r;

	if (!size || size > 2048)
		return 0;
	/* the first byte sizes the output buffer (1..256 or the whole path) */
	len = data[0] == 255 ? size + 1 : 1 + data[0];
	path = malloc(size);
	memcpy(path, data + 1, size - 1);
	path[size - 1] = 0;
	memset(got, 'X', sizeof(got));
	r = service_name(path, got, len);
	FUZZ_ASSERT(r == got, "service_name returned another buffer");
	FUZZ_ASSERT(memchr(got, 0, len), "no NUL within the %zu-byte buffer", len);
	FUZZ_ASSERT(got[len] == 'X', "wrote past the %zu-byte buffer", len);
	expected(path, want, len);
	FUZZ_ASSERT(!strcmp(got, want), "path '%s' (buffer %zu): got '%s', want '%s'", path, len,
		    got, want);
	FUZZ_ASSERT(!strcmp(service_name(path, again, len), got), "not deterministic for '%s'",
		    path);
	free(path);
	return 0;
}

FUZZ_HARNESS_END
