/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The syscall latency/error collector (bpf/syscalls.bpf.c). */
#ifndef LATSCOPE_SYSCALLS_H
#define LATSCOPE_SYSCALLS_H

#include <stdint.h>
#include "collector.h"
#include "names.h"
#include "rows.h"

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

uint32_t sys_coll__default_keys(int ncpu);

struct sys_coll;

/*
 * Open, configure, load and attach the collector. On success *out is set
 * and 0 returned; on failure -errno and a reason in why.
 */
int sys_coll__open(struct sys_coll **out, const struct coll_opts *opts, char *why, size_t why_len);

/* "tp_btf" or "raw_tp": which program flavour is attached */
const char *sys_coll__variant(const struct sys_coll *c);

/*
 * Read the maps, turn cumulative counters into interval deltas and append
 * this interval's rows (with percentiles) to iv; adds drops to iv->drops.
 * Returns 0 or -errno.
 */
int sys_coll__collect(struct sys_coll *c, struct names *names, struct interval *iv);

/* Bytes the collector's maps may take at most with ncpu possible CPUs. */
uint64_t sys_coll__budget(uint32_t max_keys, int ncpu);

void sys_coll__free(struct sys_coll *c);

#endif
