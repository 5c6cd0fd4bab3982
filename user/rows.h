/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Rows: what collectors produce for one interval and every sink renders.
 * No sink reads maps; no collector formats output.
 */
#ifndef LATSCOPE_ROWS_H
#define LATSCOPE_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include "latscope.h"
#include "stats.h"

struct errno_count {
	uint32_t err;
	uint64_t count;
};

struct sys_row {
	uint32_t pid, tid; /* tid only with --by thread; pid 0 with --by cgroup */
	uint64_t cgid;
	uint32_t nr;
	char comm[LS_COMM_LEN];
	const char *cgroup; /* owned by struct names; valid until it is freed */
	uint64_t count, errors;
	struct lat_summary lat; /* ns */
	size_t err_off, err_n;	/* this row's errnos in interval.errs, by count desc */
};

struct culprit {
	uint32_t pid;
	uint64_t cgid;
	char comm[LS_COMM_LEN];
	const char *cgroup;
	uint64_t runq_ns; /* run-queue wait of the victim while it held the CPU */
};

#define SCHED_CULPRITS 3 /* kept per row, largest first */

struct sched_row {
	uint32_t pid, tid;
	uint64_t cgid;
	char comm[LS_COMM_LEN];
	const char *cgroup;
	struct lat_summary runq; /* ns; runq.count = waits */
	uint64_t runq_ns, oncpu_ns, offcpu_ns;
	uint64_t sleep_ns, disk_ns, preempted_ns, other_ns;
	uint64_t vol_switches, invol_switches;
	size_t cul_off, cul_n; /* this row's culprits in interval.culprits */
};

struct tcp_row {
	uint32_t pid, tid; /* pid 0: owner unknown (socket predates latscope) */
	uint64_t cgid;
	char comm[LS_COMM_LEN];
	const char *cgroup;
	uint16_t family, rport, lport; /* lport set (rport 0) for accepted connections */
	uint8_t raddr[16];
	struct conn_val v;			   /* interval deltas */
	struct lat_summary connect, rtt, lifetime; /* ns */
};

struct interval {
	uint64_t realtime_ns; /* when the interval ended */
	double interval_s;    /* measured length */
	enum ls_by by;
	struct sys_row *sys;
	size_t nsys, sys_cap;
	struct errno_count *errs;
	size_t nerrs, errs_cap;
	struct sched_row *sched;
	size_t nsched, sched_cap;
	struct culprit *culprits;
	size_t nculprits, culprits_cap;
	struct tcp_row *tcp;
	size_t ntcp, tcp_cap;
	uint64_t drops[LS_DROP_MAX]; /* events lost during the interval */
};

/* drop counter names as they appear in JSON/metrics */
extern const char *const drop_names[LS_DROP_MAX];

void interval__reset(struct interval *iv);
void interval__free(struct interval *iv);

#endif
