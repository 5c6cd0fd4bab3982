/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * latscope serve: the Prometheus/OpenMetrics exporter (DESIGN.md section 6)
 * over libmicrohttpd. The agent's loop reads the maps once per interval
 * into the cumulative store (prom.h); scrapes render from the store, at
 * most once per interval and format, so any number of scrapers cost no
 * extra map reads. HTTP runs in libmicrohttpd's own event thread (epoll):
 * a slow or idle client holds a connection slot, never the scrapes.
 */
#ifndef LATSCOPE_SERVE_H
#define LATSCOPE_SERVE_H

#include <stddef.h>
#include "rows.h"
#include "run.h"

/*
 * Bind and listen on --listen before anything is loaded, so a bad address
 * or a port in use fails fast. Returns the socket, or -1 with a one-line
 * reason in why.
 */
int serve__listen(const char *addr, char *why, size_t why_len);

/* Serve until run_stop. 0, or 1 with a message logged. Closes fd. */
int serve__run(struct run *r, struct interval *iv, int fd);

#endif
