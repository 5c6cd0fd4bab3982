/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The epoch and barrier of per-thread accumulation (bpf/syscalls.bpf.c
 * explains it; user/collector.c's coll_harvest drives it): programs add to
 * the bank harvest_epoch selects; user space bumps the epoch, then updates
 * rcu_barrier, a map-in-map whose update makes the kernel wait for an RCU
 * grace period, so no program still writes the previous epoch's bank when
 * the object's task iterator flushes it.
 */
#ifndef LATSCOPE_HARVEST_BPF_H
#define LATSCOPE_HARVEST_BPF_H

#include "common.bpf.h"

/* bumped by user space once per interval, before the harvest */
__u32 harvest_epoch = 0;

struct barrier_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rcu_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct barrier_inner);
} rcu_barrier SEC(".maps") = {
	.values = {[0] = &rcu_inner},
};

#endif /* LATSCOPE_HARVEST_BPF_H */
