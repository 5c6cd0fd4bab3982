/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The syscall latency/error collector (bpf/syscalls.bpf.c). */
#ifndef LATSCOPE_SYSCALLS_H
#define LATSCOPE_SYSCALLS_H

#include <stdint.h>
#include "collector.h"
#include "names.h"
#include "rows.h"

#define SYS_DEFAULT_MAX_KEYS 16384

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
