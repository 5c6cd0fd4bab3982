// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floors for scripts/bench.sh, on raw_syscalls sys_enter/sys_exit:
 *  - floor_*: tp_btf programs that do nothing. What they cost is the price
 *    of having any BPF program on the syscall path.
 *  - timing_*: the least an exact per-syscall latency costs with
 *    tracepoints: sys_enter keeps one clock read in task storage (looked
 *    up, created only when missing), sys_exit reads the clock again and
 *    adds count and sum to a per-CPU array.
 * floor.c autoloads one pair.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} timing_start SEC(".maps");

struct timing_sum {
	__u64 count, sum_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct timing_sum);
} timing_total SEC(".maps");

SEC("tp_btf/sys_enter")
int floor_sys_enter(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int floor_sys_exit(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int timing_sys_enter(void *ctx)
{
	__u64 *start = bpf_task_storage_get(&timing_start, bpf_get_current_task_btf(), 0,
					    BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (start)
		*start = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int timing_sys_exit(void *ctx)
{
	__u64 *start = bpf_task_storage_get(&timing_start, bpf_get_current_task_btf(), 0, 0);
	struct timing_sum *t;
	__u32 zero = 0;

	if (!start || !*start)
		return 0;
	t = bpf_map_lookup_elem(&timing_total, &zero);
	if (t) {
		t->count += 1;
		t->sum_ns += bpf_ktime_get_ns() - *start;
	}
	*start = 0;
	return 0;
}
