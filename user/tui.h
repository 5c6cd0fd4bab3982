/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The interactive full-screen `top` (ncurses): a header with the host, the
 * collectors and the agent's own cost, and one table per view (syscalls,
 * sched, tcp) rendered from the field tables like every other sink. Keys
 * switch the view, the sort field and the grouping, filter by comm or
 * service, show idle waits, pause, change the interval, scroll and open a
 * row's details; `?` lists them. It owns its loop: one run__collect() per
 * interval, keys read while it waits.
 */
#ifndef LATSCOPE_TUI_H
#define LATSCOPE_TUI_H

#include <stdbool.h>
#include "opts.h"
#include "rows.h"
#include "run.h"

/* Does this run get the TUI: `top`, not --json, stdin and stdout TTYs? */
bool tui__wanted(const struct options *o);

/*
 * Run the TUI until `q`, SIGINT or SIGTERM (run_stop), with r's collectors
 * attached and iv set up with a table per row kind. The terminal is
 * restored on every way out; diagnostics logged meanwhile are held and
 * written to stderr after it. 0, or 1 with a message logged (the maps
 * could not be read, the terminal could not be set up).
 */
int tui__run(struct run *r, struct interval *iv);

#endif
