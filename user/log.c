// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include "log.h"

int log_verbosity;

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_verbosity)
		return;
	fputs("latscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
