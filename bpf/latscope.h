/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by the BPF programs and user space. Plain fixed-width types
 * only, explicit padding, sizes checked on both sides.
 */
#ifndef LATSCOPE_H
#define LATSCOPE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define LS_COMM_LEN	16
#define LS_MAX_SYSCALL	1024	/* syscall numbers at or above are ignored */
#define LS_MAX_PIDS	64	/* entries in the -p filter */

/* how rows are keyed; chosen at load time (rodata) */
enum ls_by {
	LS_BY_PROCESS = 0,
	LS_BY_THREAD = 1,
	LS_BY_CGROUP = 2,
};

/* indexes of the drop counter array: why an event could not be recorded */
enum ls_drop {
	LS_DROP_SYS_LAT = 0,	/* syscall_lat full */
	LS_DROP_SYS_ERR,	/* syscall_errs full */
	LS_DROP_TASK,		/* no per-task storage */
	LS_DROP_MAX,
};

/*
 * syscall_lat: one entry per (owner, syscall, latency bucket). The bucket
 * is part of the key so that the per-CPU value stays small (see DESIGN.md,
 * memory budget): a process touches only a handful of buckets per syscall.
 */
struct sys_key {
	__u32 pid;	/* tgid; 0 when keyed by cgroup */
	__u32 tid;	/* thread id when keyed by thread, else 0 */
	__u64 cgid;	/* cgroup v2 id of the caller */
	__u16 nr;	/* syscall number */
	__u16 bucket;	/* hist_bucket(latency ns) */
	__u32 pad;
};

struct sys_val {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;	/* largest latency seen in this bucket */
};

/* syscall_errs: failed returns per (owner, syscall, errno) */
struct err_key {
	__u32 pid;
	__u32 tid;
	__u64 cgid;
	__u16 nr;
	__u16 err;	/* -ret, 1..4095 */
	__u32 pad;
};

struct comm_val {
	char comm[LS_COMM_LEN];
};

#ifdef __cplusplus
#define LS_STATIC_ASSERT static_assert
#else
#define LS_STATIC_ASSERT _Static_assert
#endif
LS_STATIC_ASSERT(sizeof(struct sys_key) == 24, "sys_key layout");
LS_STATIC_ASSERT(sizeof(struct sys_val) == 24, "sys_val layout");
LS_STATIC_ASSERT(sizeof(struct err_key) == 24, "err_key layout");

#endif /* LATSCOPE_H */
