/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The TCP collector (bpf/tcp.bpf.c). */
#ifndef LATSCOPE_TCP_H
#define LATSCOPE_TCP_H

#include <stdint.h>
#include "collector.h"
#include "names.h"
#include "rows.h"

#define TCP_DEFAULT_MAX_KEYS 8192 /* tcp_stats; tcp_hist gets 2x */

/* endpoint filters of the tcp collector (--port, --raddr) */
struct tcp_filter {
	uint16_t port; /* 0: any */
	int family;    /* 0: any address; AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefix; /* bits */
};

struct tcp_coll;

/* Open, configure, load and attach. 0 or -errno with the reason in why. */
int tcp_coll__open(struct tcp_coll **out, const struct coll_opts *o, const struct tcp_filter *tf,
		   char *why, size_t why_len);

/* "tp_btf" or "raw_tp" */
const char *tcp_coll__variant(const struct tcp_coll *c);

/* Append this interval's tcp rows to iv; adds drops. 0 or -errno. */
int tcp_coll__collect(struct tcp_coll *c, struct names *names, struct interval *iv);

/* Bytes the collector's maps may take at most (not per-CPU). */
uint64_t tcp_coll__budget(uint32_t max_keys);

void tcp_coll__free(struct tcp_coll *c);

#endif
