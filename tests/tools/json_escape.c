// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reads all of stdin as raw bytes and writes json_escape() of them to
 * stdout, nothing else, so tests/unit/test_json_roundtrip.py can compare
 * the escaper byte for byte with Python's own UTF-8 decoder.
 */
#include <stdio.h>
#include <stdlib.h>
#include "json.h"

int main(void)
{
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap);

	if (!buf)
		return 1;
	while ((n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			char *p = realloc(buf, cap * 2);

			if (!p)
				return 1;
			buf = p;
			cap *= 2;
		}
	}
	if (ferror(stdin)) {
		fprintf(stderr, "json_escape: cannot read stdin\n");
		return 1;
	}
	json_escape(stdout, buf, len);
	free(buf);
	/* a short write must fail the test, not truncate its input silently */
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}
