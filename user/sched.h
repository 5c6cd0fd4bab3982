/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The scheduler collector (bpf/sched.bpf.c). */
#ifndef LATSCOPE_SCHED_H
#define LATSCOPE_SCHED_H

#include "collector.h"

#define SCHED_DEFAULT_MAX_KEYS 2048 /* sched_stats; runq_lat gets 4x, runq_culprits 2x */

extern const struct coll_desc sched_coll_desc;

/* one row of the sched table; times in ns */
struct sched_row {
	struct row_id id;
	struct row_hist runq; /* run-queue waits; runq.sum_ns is their total */
	uint64_t oncpu_ns, offcpu_ns;
	uint64_t sleep_ns, disk_ns, preempted_ns, other_ns;
	uint64_t vol_switches, invol_switches;
	struct row_list culprits; /* top ROW_CULPRITS, largest first */
};

#endif
