/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The TCP collector (bpf/tcp.bpf.c). */
#ifndef LATSCOPE_TCP_H
#define LATSCOPE_TCP_H

#include "collector.h"

#define TCP_DEFAULT_MAX_KEYS 8192 /* tcp_stats; tcp_hist gets 2x */

extern const struct coll_desc tcp_coll_desc;

/* one row of the tcp table: an owner and a remote endpoint */
struct tcp_row {
	struct row_id id;	       /* pid 0: owner unknown (socket predates latscope) */
	uint16_t family, rport, lport; /* lport set (rport 0) for accepted connections */
	uint8_t raddr[16];
	struct conn_val v;			/* interval deltas */
	struct row_hist connect, rtt, lifetime; /* ns */
};

#endif
