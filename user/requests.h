/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The requests collector (bpf/requests.bpf.c): exchanges per socket. */
#ifndef LATSCOPE_REQUESTS_H
#define LATSCOPE_REQUESTS_H

#include "collector.h"

#define REQ_DEFAULT_MAX_KEYS   8192  /* req_stats; req_hist gets 2x */
#define REQ_SOCK_HASH_ENTRIES  65536 /* raw_tp: sockets with state at most */
#define REQ_DEFAULT_TIMEOUT_NS (30ULL * 1000 * 1000 * 1000)

extern const struct coll_desc req_coll_desc;

/* one row of the requests table: an owner, a direction and an endpoint */
struct req_row {
	struct row_id id;
	uint16_t dir;		       /* enum ls_req_dir */
	uint16_t family, rport, lport; /* server rows: lport only */
	uint8_t raddr[16];
	struct req_val v; /* interval deltas */
	uint64_t open;	  /* gauge: exchanges in flight at the read */
	struct row_hist lat;
};

#endif
