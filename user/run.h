/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One agent run: the collectors the options started, the name caches, and
 * the one step every front end repeats each interval (read the maps into
 * rows). The plain text/NDJSON loop, the interactive TUI and the exporter
 * each own their loop and call run__collect(); none reads maps itself.
 */
#ifndef LATSCOPE_RUN_H
#define LATSCOPE_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "collector.h"
#include "names.h"
#include "opts.h"
#include "rows.h"

/* the signal that asked the agent to stop (SIGINT, SIGTERM), or 0 */
extern volatile sig_atomic_t run_stop;

struct agent;
struct recorder;

struct run {
	const struct options *o;
	struct coll *c[8]; /* the collectors that started */
	size_t n;
	const char *down[8]; /* the ones asked for that could not start */
	size_t ndown;
	struct names *names;
	uint64_t start_mono_ns; /* CLOCK_MONOTONIC at exec */
	uint64_t prev_ns;	/* CLOCK_MONOTONIC at the end of the last interval */
	struct agent *agent;	/* the agent's own cost (agent.h); NULL when not shown */
	struct recorder *rec;	/* record, serve --record (record.h); else NULL */
};

/* CLOCK_MONOTONIC / CLOCK_REALTIME etc. in ns */
uint64_t run_clock_ns(clockid_t id);

/*
 * Empty iv and fill it with what every collector counted since the last
 * call (or since attaching): its time, measured length and rows, idle
 * waits included. 0, or 1 with a message logged.
 */
int run__collect(struct run *r, struct interval *iv);

#endif
