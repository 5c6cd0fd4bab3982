/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Command line: the contract of DESIGN.md section 4. */
#ifndef LATSCOPE_OPTS_H
#define LATSCOPE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include "latscope.h"
#include "collector.h"
#include "prom.h"

struct options {
	const char *cmd; /* "top", "slow", "serve", "record", "report", "check" */
	uint64_t interval_ns;
	uint64_t count; /* 0: until interrupted */
	uint32_t pids[LS_MAX_PIDS];
	int npids;
	const char *comm;
	const char *cgroup;
	enum ls_by by;
	bool by_set;		     /* --by given */
	struct tcp_filter tcp;	     /* --port, --raddr */
	uint64_t request_timeout_ns; /* --request-timeout */
	bool json;
	const char *off[8]; /* collectors switched off (--no-NAME) */
	int noff;
	const char *sort; /* field name or alias; NULL: p99 */
	const char *view; /* the only collector to run; NULL: all that are on */
	int max_rows;	  /* -1: default */
	uint32_t max_keys;
	bool keep_privileges;
	bool all;		  /* include idle waits */
	bool breakdown;		  /* top: on-CPU / run-queue / blocked shares */
	bool threshold_set;	  /* --threshold given (top: count calls over it) */
	uint64_t threshold_ns;	  /* slow: report calls at least this long */
	uint64_t max_rate;	  /* slow: events per second at most */
	const char *syscalls;	  /* slow: only these (comma-separated), NULL: all */
	const char *listen;	  /* serve: ADDR:PORT */
	uint64_t max_connections; /* serve: open connections at most */
	struct prom_opts prom;	  /* serve: series cap, TTL, le bounds */
	const char *dir;	  /* record, replay, report: the recording directory */
	uint64_t max_size;	  /* record: bytes kept at most */
	uint64_t max_age_ns;	  /* record: segments older than this are removed */
	bool record;		  /* serve --record */
	bool replay;		  /* top --replay */
	uint64_t at_ns, until_ns; /* top --replay, report: CLOCK_REALTIME; 0: unset */
	uint64_t resolution_ns;	  /* report: read the tier of at most this; 0: auto */
	bool stats;		  /* top TUI, serve: BPF run-time statistics */
	bool no_color;		  /* top TUI: no colours (so does a non-empty NO_COLOR) */
	int verbose;
	bool help, version;
};

/*
 * Parse argv into o. Returns 0, or -EINVAL with a one-line message naming
 * the option and the value in err (for exit status 2).
 */
int opts_parse(struct options *o, int argc, char **argv, char *err, size_t err_len);

/*
 * A TIME of the command line into CLOCK_REALTIME ns: RFC 3339
 * (2024-05-01T14:03:00Z, +02:00 offsets, fractions), HH:MM[:SS] in local
 * time today, or -DURATION (ago) from now_ns. 0 or -EINVAL.
 */
int parse_time(const char *s, uint64_t now_ns, uint64_t *out);

extern const char usage_text[];

/* the long options (getopt_long's table, {} at the end): for tools that
 * must know them all, such as the option fuzzer */
extern const struct option opts_long_options[];

#endif
