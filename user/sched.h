/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The scheduler collector (bpf/sched.bpf.c). */
#ifndef LATSCOPE_SCHED_H
#define LATSCOPE_SCHED_H

#include <stdint.h>
#include "collector.h"
#include "names.h"
#include "rows.h"

#define SCHED_DEFAULT_MAX_KEYS 2048 /* sched_stats; runq_lat gets 4x, runq_culprits 2x */

struct sched_coll;

/* Open, configure, load and attach. 0 or -errno with the reason in why. */
int sched_coll__open(struct sched_coll **out, const struct coll_opts *o, char *why, size_t why_len);

/* "tp_btf" or "raw_tp" */
const char *sched_coll__variant(const struct sched_coll *c);

/*
 * Read the maps and append this interval's sched rows (with run-queue
 * percentiles and top culprits) to iv; adds drops. 0 or -errno.
 */
int sched_coll__collect(struct sched_coll *c, struct names *names, struct interval *iv);

/* fd of the per-thread task storage map, for other collectors to read */
int sched_coll__task_map_fd(const struct sched_coll *c);

/* Bytes the collector's maps may take at most with ncpu possible CPUs. */
uint64_t sched_coll__budget(uint32_t max_keys, int ncpu);

/* Number of keys the kernel maps hold now (sched_stats, runq_lat, runq_culprits). */
long sched_coll__nkeys(const struct sched_coll *c);

void sched_coll__free(struct sched_coll *c);

#endif
