/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One per-thread value for every object: the syscall collector's part, the
 * scheduler collector's part and the in-flight call's breakdown for `slow`.
 * Each object declares the task_state map from this header; the first to
 * load creates it and the others reuse it (bpf_map__reuse_fd, see
 * coll_desc.shared), so sched_switch, sched_waking and sys_exit reach all
 * of a thread's state with the one task-storage lookup each already makes.
 */
#ifndef LATSCOPE_TASK_BPF_H
#define LATSCOPE_TASK_BPF_H

#include "common.bpf.h"

/* syscalls: per-thread accumulation (bpf/syscalls.bpf.c explains it) */
#define SYS_SLOTS 8 /* per bank, a power of two */

struct sys_slot {
	__u16 nr;
	__u16 octave;
	__u32 n; /* calls in this slot; 0: free */
	__u32 count[HIST_SUB];
	__u64 sum_ns;
	__u64 max_ns;
};

struct sys_bank {
	__u64 used;		/* owner taken and some slot written this epoch */
	__u64 claim;		/* being flushed by the harvest or the exit hook */
	struct key_owner owner; /* the key's leading bytes at first use (sys_key) */
	struct sys_slot slot[SYS_SLOTS];
};

struct task_sys {
	__u64 start_ns; /* 0: not inside a traced syscall */
	__u32 nr;
	__u8 seen; /* the checks below were made */
	__u8 self; /* a thread of latscope itself: not traced */
	__u16 pad;
	__u64 cgid, cgid_gen; /* cached_cgroup_id() */
	struct sys_bank bank[2];
};

/* sched: per-thread accumulation (bpf/sched.bpf.c explains it) */
#define RUNQ_SLOTS 8 /* direct-mapped by bucket */
#define CUL_SLOTS  4 /* direct-mapped by culprit tgid */

struct runq_slot {
	__u32 bucket;
	__u32 count;
	__u64 max_ns;
};

struct cul_slot {
	__u32 cpid;
	__u32 pad;
	__u64 ccgid;
	__u64 runq_ns; /* 0: free */
};

struct sched_bank {
	__u64 used;  /* owner set this epoch */
	__u64 claim; /* being flushed by the harvest or the dying thread */
	struct key_owner owner;
	__u64 stats[8]; /* struct sched_val deltas */
	struct runq_slot runq[RUNQ_SLOTS];
	struct cul_slot cul[CUL_SLOTS];
};

struct task_sched {
	__u64 ts_oncpu;	   /* switched in at; 0: not known to be on CPU */
	__u64 ts_off;	   /* switched out at; 0: not known to be off CPU */
	__u64 ts_runnable; /* runnable (woken or preempted) since; 0: not waiting */
	__u64 cgid;	   /* cgroup id, cached (common.bpf.h) */
	__u64 cgid_gen;	   /* cgroup_gen when cgid was read */
	__u32 tgid;
	__u32 off_state; /* state when it left the CPU, or OFF_PREEMPTED */
	__u8 verdict;	 /* cached filter verdict, VERDICT_* */
	__u8 pad[7];
	struct sched_bank bank[2];
};

/*
 * The breakdown of the syscall in flight, written only while the thread is
 * inside a traced syscall (task_sys.start_ns set) and only when calls_on: sched_switch adds on-CPU time at switch-out and run-queue/blocked
 * time at switch-in, sched_waking records the waker, sys_exit adds the
 * last on-CPU stretch and reports. Cleared at the next sys_enter.
 */
struct call_acct {
	__u64 dirty; /* some field below written since the call began */
	__u64 oncpu_ns;
	__u64 runq_ns;
	__u64 preempted_ns;
	__u64 blocked_ns;
	__u64 disk_ns;
	__u32 switches;
	__u32 lost; /* a switch-in was not seen: some of the call is unaccounted */
	struct ls_waker waker;
};

struct task_state {
	struct task_sys sys;
	struct task_sched sched;
	struct call_acct call;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} task_state SEC(".maps");

/* the per-call breakdown is kept (slow, top --breakdown/--threshold) */
const volatile __u32 calls_on = 0;
/* `slow` runs: events for calls at or over the threshold */
const volatile __u32 slow_on = 0;
const volatile __u64 slow_threshold_ns = ~0ULL;

#endif /* LATSCOPE_TASK_BPF_H */
