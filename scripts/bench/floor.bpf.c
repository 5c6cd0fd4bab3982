// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor for scripts/bench.sh: tp_btf programs on raw_syscalls
 * sys_enter and sys_exit that do nothing. What they cost is the price of
 * having any BPF program on the syscall path, which no collector can beat.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

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
