/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel feature probes: the single place that decides what this kernel has. */
#ifndef LATSCOPE_PROBE_H
#define LATSCOPE_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* vmlinux BTF present (needed for CO-RE and tp_btf) */
bool probe_btf(void);
/* a BTF-typed raw tracepoint (tp_btf) exists for tracepoint tp */
bool probe_tp_btf(const char *tp);
/*
 * Number of arguments of tracepoint tp in this kernel (its BTF typedef's
 * prototype, minus the leading data pointer), or -1 when unknown. Some
 * tracepoints grew arguments over time (tcp_retransmit_skb: err in 6.x).
 */
int probe_tp_nargs(const char *tp);
bool probe_raw_tp(void);

/* Free the parsed vmlinux BTF the probes keep (several MiB) until needed again. */
void probe_release(void);
bool probe_task_storage(void);
bool probe_ringbuf(void);
bool probe_percpu_hash(void);

/*
 * May this process load and attach tracing BPF programs? (CAP_SYS_ADMIN, or
 * CAP_BPF with CAP_PERFMON.) On false, what is missing goes to why.
 */
bool probe_privileges(char *why, size_t len);

#endif
