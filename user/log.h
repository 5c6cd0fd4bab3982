/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Diagnostics go to stderr through these; data goes to stdout. */
#ifndef LATSCOPE_LOG_H
#define LATSCOPE_LOG_H

extern int log_verbosity; /* 0 = errors and notices, 1 = -v, 2 = -vv */

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)	 log_msg(0, __VA_ARGS__)
#define log_info(...)	 log_msg(0, __VA_ARGS__)
#define log_verbose(...) log_msg(1, __VA_ARGS__)
#define log_debug(...)	 log_msg(2, __VA_ARGS__)

#endif
