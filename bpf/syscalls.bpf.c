// SPDX-License-Identifier: GPL-2.0-only
/*
 * Syscall latency and errors, from raw_syscalls:sys_enter/sys_exit.
 * Each program exists as tp_btf and as raw_tp; user space autoloads one set.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* per-thread state, freed by the kernel together with the task */
struct task_sys {
	__u64 start_ns; /* 0: not inside a traced syscall */
	__u32 nr;
	__u8 seen; /* the checks below were made */
	__u8 self; /* a thread of latscope itself: not traced */
	__u16 pad;
	__u64 cgid, cgid_gen; /* cached_cgroup_id() */
};

/* latscope's own tgid: its map reads would otherwise be traced by itself */
const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_sys);
} task_sys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sys_key);
	__type(value, struct oct_val);
} syscall_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct err_key);
	__type(value, __u64);
} syscall_errs SEC(".maps");

static __always_inline int on_sys_enter(long id)
{
	struct task_sys *ts;
	__u64 pid_tgid;

	if ((unsigned long)id >= LS_MAX_SYSCALL)
		return 0;
	if (filter_pid_on || filter_comm_on || filter_cg_on) {
		pid_tgid = bpf_get_current_pid_tgid();
		if (!task_wanted(pid_tgid >> 32))
			return 0;
	}
	ts = bpf_task_storage_get(&task_sys, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts) {
		count_drop(LS_DROP_TASK);
		return 0;
	}
	if (!ts->seen) { /* first syscall of this thread since we attached */
		ts->seen = 1;
		ts->self = bpf_get_current_pid_tgid() >> 32 == self_tgid;
	}
	if (ts->self)
		return 0;
	ts->nr = id;
	ts->start_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline void record_errno(struct sys_key *k, long ret)
{
	struct err_key ek = {
		.pid = k->pid,
		.tid = k->tid,
		.cgid = k->cgid,
		.nr = k->nr,
		.err = (__u16)-ret,
	};
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&syscall_errs, &ek);
	if (v) {
		*v += 1;
		return;
	}
	if (bpf_map_update_elem(&syscall_errs, &ek, &one, BPF_NOEXIST)) {
		/* lost a race with another CPU creating the key: retry once */
		v = bpf_map_lookup_elem(&syscall_errs, &ek);
		if (v)
			*v += 1;
		else
			count_drop(LS_DROP_SYS_ERR);
	}
}

static __always_inline int on_sys_exit(long ret)
{
	struct task_sys *ts;
	struct sys_key k = {};
	struct oct_val *v;
	__u32 b;
	__u64 pid_tgid, lat;

	/* no entry or no start: the syscall began before we attached, or the
	 * thread was filtered out at entry */
	ts = bpf_task_storage_get(&task_sys, bpf_get_current_task_btf(), 0, 0);
	if (!ts || !ts->start_ns)
		return 0;
	lat = bpf_ktime_get_ns() - ts->start_ns;
	ts->start_ns = 0;

	pid_tgid = bpf_get_current_pid_tgid();
	if (key_by == LS_BY_COMM) {
		bpf_get_current_comm(&k, LS_COMM_LEN);
	} else {
		if (key_by != LS_BY_CGROUP)
			k.pid = pid_tgid >> 32;
		if (key_by == LS_BY_THREAD)
			k.tid = (__u32)pid_tgid;
		k.cgid = cached_cgroup_id(&ts->cgid, &ts->cgid_gen);
	}
	k.nr = ts->nr;
	b = hist_bucket(lat);
	k.octave = b / HIST_SUB;

	v = bpf_map_lookup_elem(&syscall_lat, &k);
	if (!v) {
		struct oct_val zero = {};

		/* EEXIST here means another CPU created it first: fine */
		bpf_map_update_elem(&syscall_lat, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&syscall_lat, &k);
		if (!v) {
			count_drop(LS_DROP_SYS_LAT);
			return 0;
		}
		note_comm(k.pid, (__u32)pid_tgid);
	}
	v->count[b & (HIST_SUB - 1)] += 1;
	v->sum_ns += lat;
	if (lat > v->max_ns)
		v->max_ns = lat;

	if (ret < 0 && ret >= -4095)
		record_errno(&k, ret);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(ls_enter_btf, struct pt_regs *regs, long id)
{
	return on_sys_enter(id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ls_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(ls_enter_raw, struct pt_regs *regs, long id)
{
	return on_sys_enter(id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(ls_exit_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(ret);
}

CGROUP_GEN_PROGS
