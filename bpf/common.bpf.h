/* SPDX-License-Identifier: GPL-2.0-only */
/* Pieces every latscope BPF object uses: filters, keying, drop counters. */
#ifndef LATSCOPE_COMMON_BPF_H
#define LATSCOPE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "latscope.h"
#include "hist.h"

/* load-time configuration, written by user space before load */
const volatile __u32 key_by = LS_BY_PROCESS;
const volatile __u32 filter_pid_on = 0;
const volatile __u32 filter_comm_on = 0;
const volatile __u32 filter_cg_on = 0;
const volatile char filter_comm[LS_COMM_LEN] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} filter_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} filter_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LS_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* comm of each key owner, written only when a new key is created */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct comm_val);
} task_comm SEC(".maps");

/*
 * Reading a task's cgroup id costs ~55 ns here (bpf_get_current_cgroup_id
 * or the four loads behind it), on every event. Per-thread state caches it
 * with the value of cgroup_gen when it was read; every cgroup migration on
 * the host bumps cgroup_gen (cgroup:cgroup_attach_task, which fires once
 * per migration, with the leader only when a whole process moves), so a
 * cached id is re-read at the next event after any migration.
 */
__u64 cgroup_gen = 1;

/*
 * The -p/--comm/--cgroup verdict of the current thread is cached per CPU
 * (the last thread seen there), with filter_gen, which every event that can
 * change a verdict bumps: a comm change (task:task_rename, which exec and
 * PR_SET_NAME fire), a cgroup migration, and an exit (before its pid can be
 * reused). A thread of an unselected process then costs two loads and a
 * compare per event, not a hash lookup and a comm compare.
 */
__u64 filter_gen = 1;

struct verdict {
	__u64 pid_tgid;
	__u64 gen;
	__u64 wanted;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct verdict);
} verdict_cache SEC(".maps");

static __always_inline bool any_task_filter(void)
{
	return filter_pid_on || filter_comm_on || filter_cg_on;
}

static __always_inline int bump_filter_gen(void)
{
	if (any_task_filter())
		__sync_fetch_and_add(&filter_gen, 1);
	return 0;
}

static __always_inline int on_cgroup_attach(void)
{
	__sync_fetch_and_add(&cgroup_gen, 1);
	return bump_filter_gen();
}

/* the programs every object that caches cgroup ids or verdicts attaches */
#define GEN_PROGS                          \
	SEC("tp_btf/cgroup_attach_task")   \
	int BPF_PROG(ls_cg_attach_btf)     \
	{                                  \
		return on_cgroup_attach(); \
	}                                  \
	SEC("raw_tp/cgroup_attach_task")   \
	int BPF_PROG(ls_cg_attach_raw)     \
	{                                  \
		return on_cgroup_attach(); \
	}                                  \
	SEC("tp_btf/task_rename")          \
	int BPF_PROG(ls_rename_btf)        \
	{                                  \
		return bump_filter_gen();  \
	}                                  \
	SEC("raw_tp/task_rename")          \
	int BPF_PROG(ls_rename_raw)        \
	{                                  \
		return bump_filter_gen();  \
	}                                  \
	SEC("tp_btf/sched_process_exit")   \
	int BPF_PROG(ls_gone_btf)          \
	{                                  \
		return bump_filter_gen();  \
	}                                  \
	SEC("raw_tp/sched_process_exit")   \
	int BPF_PROG(ls_gone_raw)          \
	{                                  \
		return bump_filter_gen();  \
	}

/* the current task's cgroup id through a cache of it and its generation */
static __always_inline __u64 cached_cgroup_id(__u64 *cgid, __u64 *gen)
{
	__u64 g = cgroup_gen;

	if (*gen != g) {
		*cgid = bpf_get_current_cgroup_id();
		*gen = g;
	}
	return *cgid;
}

static __always_inline void count_drops(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&drops, &what);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void count_drop(__u32 what)
{
	count_drops(what, 1);
}

/* Does the current task pass the -p/--comm/--cgroup filters? */
static __always_inline bool task_wanted(__u32 tgid)
{
	if (filter_pid_on && !bpf_map_lookup_elem(&filter_pids, &tgid))
		return false;
	if (filter_comm_on) {
		char comm[LS_COMM_LEN];
		int i;

		bpf_get_current_comm(comm, sizeof(comm));
		for (i = 0; i < LS_COMM_LEN; i++) {
			if (comm[i] != filter_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	if (filter_cg_on && !bpf_current_task_under_cgroup(&filter_cgroup, 0))
		return false;
	return true;
}

/*
 * --by comm: the 16 leading bytes of every key (pid, tid, cgid) hold the
 * task's comm instead, so a churn of short-lived processes running one
 * command costs one key, not one per pid. task is the key's owner.
 */
static __always_inline void key_owner_comm(void *key, struct task_struct *task)
{
	bpf_core_read_str(key, LS_COMM_LEN, &task->comm);
}

/* the leading 16 bytes of a key (pid, tid, cgid, or the comm), sized for
 * the verifier when passed to global functions */
struct key_owner {
	__u8 b[16];
};

/* remember the comm of the current process under its pid, whatever --by */
static __always_inline void note_comm_pid(__u32 pid)
{
	struct comm_val c;

	if (key_by == LS_BY_CGROUP || key_by == LS_BY_COMM)
		return;
	bpf_get_current_comm(c.comm, sizeof(c.comm));
	bpf_map_update_elem(&task_comm, &pid, &c, BPF_ANY);
}

/* remember the comm of a newly seen key owner (cold path only) */
static __always_inline void note_comm(__u32 pid, __u32 tid)
{
	struct comm_val c;
	__u32 id = key_by == LS_BY_THREAD ? tid : pid;

	if (key_by == LS_BY_CGROUP || key_by == LS_BY_COMM)
		return;
	bpf_get_current_comm(c.comm, sizeof(c.comm));
	bpf_map_update_elem(&task_comm, &id, &c, BPF_ANY);
}

/* Does the current thread pass the filters? Through the per-CPU cache. */
static __always_inline bool current_wanted(__u64 pid_tgid)
{
	__u32 zero = 0;
	struct verdict *c = bpf_map_lookup_elem(&verdict_cache, &zero);
	__u64 gen = filter_gen;
	bool w;

	if (c && c->pid_tgid == pid_tgid && c->gen == gen)
		return c->wanted;
	w = task_wanted(pid_tgid >> 32);
	if (c) {
		c->pid_tgid = pid_tgid;
		c->gen = gen;
		c->wanted = w;
	}
	return w;
}

#endif /* LATSCOPE_COMMON_BPF_H */
