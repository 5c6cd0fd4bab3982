// SPDX-License-Identifier: GPL-2.0-only
/*
 * Syscall latency and errors, from raw_syscalls:sys_enter/sys_exit.
 * Each program exists as tp_btf and as raw_tp; user space autoloads one set.
 */
#include "common.bpf.h"
#include "compat.bpf.h"
#include "harvest.bpf.h"
#include "slow.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Per-thread accumulation. A thread's exit path adds each call to a slot of
 * its own task-storage value (direct-mapped by syscall and latency octave):
 * no map lookup, no owner or cgroup read on the hot path. A slot taken by
 * another (syscall, octave) is flushed to syscall_lat first. Slots live in
 * two banks chosen by harvest_epoch: each interval user space bumps the
 * epoch, waits for running programs to finish (an RCU grace period, see
 * harvest.bpf.h), then runs ls_harvest_sys (a task iterator) that flushes every
 * thread's previous bank into syscall_lat, which user space then reads as
 * before. A thread that exits flushes its banks itself (ls_exit_task_*).
 */
/* latscope's own tgid: its map reads would otherwise be traced by itself */
const volatile __u32 self_tgid = 0;
/* this architecture's futex and io_uring_enter numbers (~0: none) */
const volatile __u32 nr_futex = ~0U;
const volatile __u32 nr_uring = ~0U;

#define FUTEX_CMD_MASK	  127 /* without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */
#define FUTEX_WAIT	  0
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQ_PI 11
#define IORING_GETEVENTS  1

/* the key of a call: its number, or the waiting kind of futex/io_uring */
static __always_inline __u32 call_nr(struct pt_regs *regs, long id)
{
	if (id == nr_futex) {
		__u32 op = BPF_CORE_READ(regs, si) & FUTEX_CMD_MASK;

		if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET || op == FUTEX_WAIT_REQ_PI)
			return LS_NR_FUTEX_WAIT;
	} else if (id == nr_uring && (BPF_CORE_READ(regs, r10) & IORING_GETEVENTS)) {
		return LS_NR_URING_WAIT;
	}
	return id;
}

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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct waits_key);
	__type(value, struct waits_val);
} syscall_waits SEC(".maps");

static __always_inline int on_sys_enter(struct pt_regs *regs, long id)
{
	struct task_state *st;
	struct task_sys *ts;
	__u64 pid_tgid;

	if ((unsigned long)id >= LS_MAX_SYSCALL)
		return 0;
	if (any_task_filter()) {
		pid_tgid = bpf_get_current_pid_tgid();
		if (!current_wanted(pid_tgid))
			return 0;
	}
	st = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count_drop(LS_DROP_TASK);
		return 0;
	}
	ts = &st->sys;
	if (!ts->seen) { /* first syscall of this thread since we attached */
		ts->seen = 1;
		ts->self = bpf_get_current_pid_tgid() >> 32 == self_tgid;
	}
	if (ts->self)
		return 0;
	if (calls_on && st->call.dirty) /* the breakdown of the previous call */
		__builtin_memset(&st->call, 0, sizeof(st->call));
	ts->nr = call_nr(regs, id);
	ts->start_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline void record_errno(const struct sys_key *k, __u32 nr, long ret)
{
	struct err_key ek = {
		.pid = k->pid,
		.tid = k->tid,
		.cgid = k->cgid,
		.nr = nr,
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

/* the key's leading 16 bytes (pid, tid, cgid, or the comm) for task t */
static __always_inline void owner_of(struct key_owner *owner, struct task_struct *t, __u64 cgid)
{
	struct sys_key *k = (void *)owner;

	if (key_by == LS_BY_COMM) {
		key_owner_comm(owner, t);
		return;
	}
	k->pid = key_by == LS_BY_CGROUP ? 0 : BPF_CORE_READ(t, tgid);
	k->tid = key_by == LS_BY_THREAD ? BPF_CORE_READ(t, pid) : 0;
	k->cgid = cgid;
}

/* add a slot to syscall_lat and free it; atomic adds: a harvest and an
 * exit path may flush into the same per-CPU value on one CPU */
/* global: verified once, not at every call site */
__noinline int flush_slot(const struct key_owner *owner, struct sys_slot *sl)
{
	struct sys_key k = {};
	struct oct_val *v;
	__u32 n;

	if (!owner || !sl)
		return 0;
	n = sl->n;
	if (!n)
		return 0;
	__builtin_memcpy(&k, owner, 16);
	k.nr = sl->nr;
	k.octave = sl->octave;
	v = bpf_map_lookup_elem(&syscall_lat, &k);
	if (!v) {
		struct oct_val zero = {};

		/* EEXIST here means another CPU created it first: fine */
		bpf_map_update_elem(&syscall_lat, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&syscall_lat, &k);
		if (!v) {
			count_drops(LS_DROP_SYS_LAT, n);
			goto out;
		}
		if (key_by != LS_BY_COMM && key_by != LS_BY_CGROUP)
			note_comm(k.pid, k.tid ? k.tid : k.pid);
	}
	/* no branch per bucket: each would double the paths the verifier walks */
	for (int i = 0; i < HIST_SUB; i++)
		__sync_fetch_and_add(&v->count[i], sl->count[i]);
	__sync_fetch_and_add(&v->sum_ns, sl->sum_ns);
	if (sl->max_ns > v->max_ns)
		v->max_ns = sl->max_ns;
out:
	__builtin_memset(sl, 0, sizeof(*sl));
	return 0;
}

/* add a call's breakdown to syscall_waits; global: verified once */
__noinline int add_waits(const struct key_owner *owner, __u32 nr, const struct waits_val *w)
{
	struct waits_key k = {};
	struct waits_val *v;
	__u64 *dst, *src;

	if (!owner || !w)
		return 0;
	__builtin_memcpy(&k, owner, 16);
	k.nr = nr;
	v = bpf_map_lookup_elem(&syscall_waits, &k);
	if (!v) {
		struct waits_val zero = {};

		bpf_map_update_elem(&syscall_waits, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&syscall_waits, &k);
		if (!v) {
			count_drop(LS_DROP_SYS_ERR);
			return 0;
		}
	}
	dst = (__u64 *)v;
	src = (__u64 *)w;
	for (int i = 0; i < 8; i++)
		dst[i] += src[i];
	return 0;
}

__noinline int flush_bank(struct sys_bank *bk)
{
	if (!bk)
		return 0;
	for (int i = 0; i < SYS_SLOTS; i++)
		flush_slot(&bk->owner, &bk->slot[i]);
	bk->used = 0;
	return 0;
}

/* flush a bank another context may be flushing too: one of them does it */
static __always_inline void flush_claimed(struct sys_bank *bk)
{
	if (!bk->used || __sync_lock_test_and_set(&bk->claim, 1))
		return;
	flush_bank(bk);
	__sync_lock_test_and_set(&bk->claim, 0); /* release, with a full barrier */
}

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_state *st;
	struct task_sys *ts;
	struct sys_bank *bk;
	struct sys_slot *sl;
	__u32 b, oct, nr;
	__u64 lat, now;

	/* an unselected thread: no state to look up */
	if (any_task_filter() && !current_wanted(bpf_get_current_pid_tgid()))
		return 0;
	/* no entry or no start: the syscall began before we attached, or the
	 * thread was filtered out at entry */
	st = bpf_task_storage_get(&task_state, t, 0, 0);
	if (!st || !st->sys.start_ns)
		return 0;
	ts = &st->sys;
	now = bpf_ktime_get_ns();
	lat = now - ts->start_ns;
	nr = ts->nr;
	if (slow_on && lat >= slow_threshold_ns)
		slow_report(st, regs, ret, now);
	ts->start_ns = 0;
	b = hist_bucket(lat);
	oct = b / HIST_SUB;

	bk = &ts->bank[harvest_epoch & 1];
	if (ts->cgid_gen != cgroup_gen) { /* some task changed cgroup */
		__u64 id = bpf_get_current_cgroup_id();

		if (id != ts->cgid && bk->used)
			flush_bank(bk); /* its counts belong to the old cgroup */
		ts->cgid = id;
		ts->cgid_gen = cgroup_gen;
	}
	if (!bk->used) { /* first call of this thread in this epoch */
		owner_of(&bk->owner, t, ts->cgid);
		bk->used = 1;
	}
	sl = &bk->slot[(nr * 7 + oct) & (SYS_SLOTS - 1)];
	if (sl->n && (sl->nr != nr || sl->octave != oct))
		flush_slot(&bk->owner, sl);
	sl->nr = nr;
	sl->octave = oct;
	sl->n += 1;
	sl->count[b & (HIST_SUB - 1)] += 1;
	sl->sum_ns += lat;
	if (lat > sl->max_ns)
		sl->max_ns = lat;

	if (ret < 0 && ret >= -4095)
		record_errno((struct sys_key *)&bk->owner, nr, ret);
	/* a call that never left the CPU was all on CPU: nothing to add */
	if (calls_on && (st->call.dirty || lat >= slow_threshold_ns)) {
		struct waits_val w = {
			.calls = 1,
			.lat_ns = lat,
			.oncpu_ns = call_oncpu(st, now - lat, now),
			.runq_ns = st->call.runq_ns,
			.preempted_ns = st->call.preempted_ns,
			.blocked_ns = st->call.blocked_ns,
			.disk_ns = st->call.disk_ns,
			.over = lat >= slow_threshold_ns,
		};

		add_waits(&bk->owner, nr, &w);
	}
	return 0;
}

/* every thread's bank of the previous epoch, after the barrier */
SEC("iter/task")
int ls_harvest_sys(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct task_state *st;

	if (!t)
		return 0;
	st = bpf_task_storage_get(&task_state, t, 0, 0);
	if (st)
		flush_claimed(&st->sys.bank[(harvest_epoch - 1) & 1]);
	return 0;
}

/* a thread's last flush: its current bank (nobody else writes it) and the
 * previous one (the harvest may be at it) */
static __always_inline int on_task_exit(void)
{
	struct task_state *st = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), 0, 0);
	__u32 e = harvest_epoch;

	if (!st)
		return 0;
	flush_claimed(&st->sys.bank[e & 1]);
	flush_claimed(&st->sys.bank[(e - 1) & 1]);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ls_exit_task_btf)
{
	return on_task_exit();
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(ls_exit_task_raw)
{
	return on_task_exit();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(ls_enter_btf, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ls_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(ls_enter_raw, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(ls_exit_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret);
}

GEN_PROGS
