/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Command line: the contract of DESIGN.md section 4. */
#ifndef LATSCOPE_OPTS_H
#define LATSCOPE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "latscope.h"
#include "sink.h"
#include "syscalls.h"
#include "tcp.h"

enum view {
	VIEW_ALL = 0, /* every collector that is on */
	VIEW_SYSCALLS,
	VIEW_SCHED,
	VIEW_TCP,
};

struct options {
	const char *cmd; /* "top", "check" */
	uint64_t interval_ns;
	uint64_t count; /* 0: until interrupted */
	uint32_t pids[LS_MAX_PIDS];
	int npids;
	const char *comm;
	const char *cgroup;
	enum ls_by by;
	struct tcp_filter tcp; /* --port, --raddr */
	bool json;
	bool no_syscalls, no_sched, no_tcp;
	enum sort_by sort;
	enum view view;
	int max_rows; /* -1: default */
	uint32_t max_keys;
	bool keep_privileges;
	int verbose;
	bool help, version;
};

/*
 * Parse argv into o. Returns 0, or -EINVAL with a one-line message naming
 * the option and the value in err (for exit status 2).
 */
int opts_parse(struct options *o, int argc, char **argv, char *err, size_t err_len);

extern const char usage_text[];

#endif
