/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel differences handled with CO-RE, in one place. Each shim names the
 * change it papers over.
 */
#ifndef LATSCOPE_COMPAT_BPF_H
#define LATSCOPE_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* task_struct::state became ::__state in v5.14 (2f064a59a11f) */
struct task_struct___pre514 {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_run_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (__u32)BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/* cgroup v2 id of a task that is not current: its default-hierarchy
 * cgroup's kernfs node id (what bpf_get_current_cgroup_id returns) */
static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

#endif /* LATSCOPE_COMPAT_BPF_H */
