/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The syscall latency/error collector (bpf/syscalls.bpf.c). */
#ifndef LATSCOPE_SYSCALLS_H
#define LATSCOPE_SYSCALLS_H

#include "collector.h"

/*
 * Default size of syscall_lat: as many entries as fit in SYS_BUDGET_BYTES
 * with this host's possible CPUs (the per-CPU value is replicated on each),
 * between 1024 and 32768, in steps of 1024: 32768 on up to 10 CPUs, 5120
 * on 64. An entry holds one octave of one syscall of one owner. syscall_errs
 * gets a quarter.
 */
#define SYS_BUDGET_BYTES (28ULL << 20)
#define SYS_MIN_KEYS	 1024
#define SYS_MAX_KEYS	 32768

extern const struct coll_desc sys_coll_desc;

/* one row of the syscalls table */
struct sys_row {
	struct row_id id;
	uint32_t nr;
	uint64_t count, errors;
	struct row_hist lat;	/* ns */
	struct row_list errs;	/* by count, largest first */
	struct waits_val waits; /* calls that left the CPU (--breakdown, --threshold) */
};

#endif
