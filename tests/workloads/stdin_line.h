/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the workloads share: reading the harness's commands on stdin. */
#ifndef LATSCOPE_WORKLOAD_STDIN_LINE_H
#define LATSCOPE_WORKLOAD_STDIN_LINE_H

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * Read one line from fd 0 with plain read() calls (no stdio buffering, so
 * the syscalls are the ones a test expects); returns its length, 0 at EOF.
 */
static ssize_t read_line(char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(0, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return n;
}

#endif
