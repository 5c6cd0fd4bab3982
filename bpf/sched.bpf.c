// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scheduler accounting from sched:sched_wakeup, sched_wakeup_new and
 * sched_switch: run-queue latency, on-CPU time, off-CPU time split by why
 * the task left the CPU, and who held the CPU while a task waited.
 *
 * Per-thread state lives in task storage (tp_btf programs, which get
 * trusted task pointers) or, for the raw_tp fallback whose task pointers
 * cannot key task storage, in an LRU hash keyed by thread id.
 */
#include "common.bpf.h"
#include "compat.bpf.h"
#include "harvest.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING	     0x0
#define TASK_INTERRUPTIBLE   0x1
#define TASK_UNINTERRUPTIBLE 0x2
#define TASK_DEAD	     0x80
#define TASK_NOLOAD	     0x400
#define OFF_PREEMPTED	     0xffffffffu

#define VERDICT_UNKNOWN 0
#define VERDICT_YES	1
#define VERDICT_NO	2

/*
 * Per-thread accumulation, as for syscalls (bpf/syscalls.bpf.c): a switch
 * adds to the thread's own bank of the current epoch instead of four hash
 * lookups; each interval user space bumps the epoch, waits for an RCU grace
 * period and runs ls_harvest_sched, which flushes every thread's previous
 * bank into sched_stats, runq_lat and runq_culprits. A dying thread flushes
 * its banks at its last switch-out. A slot taken by another bucket or
 * culprit is flushed first; a bank whose owner key changes (cgroup move,
 * comm change with --by comm) is flushed first.
 */
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
	__u32 waker_pid; /* who woke it last */
	__u32 waker_tid;
	/* per-thread totals since attach (for the slow-syscall breakdown) */
	__u64 oncpu_ns;
	__u64 runq_ns;
	__u64 blocked_ns;
	__u64 disk_ns;
	__u32 switches;
	__u8 verdict; /* cached filter verdict, VERDICT_* */
	__u8 pad[3];
	struct sched_bank bank[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_sched);
} task_sched SEC(".maps");

/* raw_tp fallback only; user space shrinks it to 1 entry otherwise */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct task_sched);
} task_sched_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct sched_key);
	__type(value, struct sched_val);
} sched_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct runq_key);
	__type(value, struct runq_val);
} runq_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct culprit_key);
	__type(value, __u64);
} runq_culprits SEC(".maps");

/* a new LRU entry's value: too large for the BPF stack; never written */
static struct task_sched sched_zero;

static __always_inline struct task_sched *state_of(struct task_struct *t, __u32 tid, bool btf)
{
	struct task_sched *s;

	if (btf)
		return bpf_task_storage_get(&task_sched, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	s = bpf_map_lookup_elem(&task_sched_lru, &tid);
	if (s)
		return s;
	bpf_map_update_elem(&task_sched_lru, &tid, &sched_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&task_sched_lru, &tid);
}

/* the filter verdict of a task that is not current: -p and --comm can be
 * read off the task; --cgroup only when it last ran (cached verdict) */
static __always_inline bool other_wanted(struct task_struct *t, struct task_sched *s)
{
	if (!filter_pid_on && !filter_comm_on && !filter_cg_on)
		return true;
	if (s->verdict != VERDICT_UNKNOWN)
		return s->verdict == VERDICT_YES;
	if (filter_cg_on)
		return false;
	if (filter_pid_on) {
		__u32 tgid = BPF_CORE_READ(t, tgid);

		if (!bpf_map_lookup_elem(&filter_pids, &tgid))
			return false;
	}
	if (filter_comm_on) {
		char comm[LS_COMM_LEN];
		int i;

		BPF_CORE_READ_STR_INTO(&comm, t, comm);
		for (i = 0; i < LS_COMM_LEN; i++) {
			if (comm[i] != filter_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return true;
}

static __always_inline void *get_or_init(void *map, void *key, void *zero, __u32 drop)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		count_drop(drop);
	return v;
}

static __always_inline void fill_key(struct sched_key *k, struct task_struct *task, __u32 tgid,
				     __u32 tid, __u64 cgid)
{
	if (key_by == LS_BY_COMM) {
		key_owner_comm(k, task);
		return;
	}
	if (key_by != LS_BY_CGROUP)
		k->pid = tgid;
	if (key_by == LS_BY_THREAD)
		k->tid = tid;
	k->cgid = cgid;
}

/* flushes: atomic adds, a harvest and a switch may flush into the same
 * per-CPU value on one CPU */
/* global: verified once, not at every call site */
__noinline int flush_runq(const struct key_owner *owner, struct runq_slot *sl)
{
	struct runq_key rk = {};
	struct runq_val rz = {}, *rv;

	if (!owner || !sl || !sl->count)
		return 0;
	__builtin_memcpy(&rk, owner, 16);
	rk.bucket = sl->bucket;
	rv = get_or_init(&runq_lat, &rk, &rz, LS_DROP_RUNQ);
	if (rv) {
		__sync_fetch_and_add(&rv->count, sl->count);
		if (sl->max_ns > rv->max_ns)
			rv->max_ns = sl->max_ns;
	}
	sl->count = 0;
	sl->max_ns = 0;
	return 0;
}

__noinline int flush_cul(const struct key_owner *owner, struct cul_slot *sl)
{
	struct culprit_key ck = {};
	__u64 czero = 0, *cv;

	if (!owner || !sl || !sl->runq_ns)
		return 0;
	ck.cpid = sl->cpid;
	ck.ccgid = sl->ccgid;
	__builtin_memcpy(&ck, owner, 16);
	cv = get_or_init(&runq_culprits, &ck, &czero, LS_DROP_CULPRIT);
	if (cv)
		__sync_fetch_and_add(cv, sl->runq_ns);
	sl->runq_ns = 0;
	return 0;
}

__noinline int flush_sched_bank(struct sched_bank *bk)
{
	struct sched_val zero = {};
	struct sched_key k;
	__u64 *v;
	int i;

	if (!bk || !bk->used)
		return 0;
	/* a stack copy: 6.1 takes no global function's argument as a map key */
	__builtin_memcpy(&k, &bk->owner, sizeof(k));
	v = get_or_init(&sched_stats, &k, &zero, LS_DROP_SCHED);
	/* no branch per counter: each would double the paths the verifier walks */
	if (v)
		for (i = 0; i < 8; i++)
			__sync_fetch_and_add(&v[i], bk->stats[i]);
	__builtin_memset(bk->stats, 0, sizeof(bk->stats));
	for (i = 0; i < RUNQ_SLOTS; i++)
		flush_runq(&bk->owner, &bk->runq[i]);
	for (i = 0; i < CUL_SLOTS; i++)
		flush_cul(&bk->owner, &bk->cul[i]);
	bk->used = 0;
	return 0;
}

static __always_inline void flush_sched_claimed(struct sched_bank *bk)
{
	if (!bk->used || __sync_lock_test_and_set(&bk->claim, 1))
		return;
	flush_sched_bank(bk);
	__sync_lock_test_and_set(&bk->claim, 0); /* release, with a full barrier */
}

/* the thread's bank of this epoch, owned by key (flushed first if it was
 * another key's: the thread moved cgroup or changed comm) */
static __always_inline struct sched_bank *bank_of(struct task_sched *s, const struct sched_key *k)
{
	struct sched_bank *bk = &s->bank[harvest_epoch & 1];
	const __u64 *o = (const __u64 *)&bk->owner, *n = (const __u64 *)k;

	if (bk->used && (o[0] != n[0] || o[1] != n[1]))
		flush_sched_bank(bk);
	if (!bk->used) {
		__builtin_memcpy(&bk->owner, k, 16);
		bk->used = 1;
	}
	return bk;
}

static __always_inline int on_wakeup(struct task_struct *p, bool btf)
{
	struct task_sched *s;
	__u64 cur = bpf_get_current_pid_tgid();
	__u32 tid = BPF_CORE_READ(p, pid);

	if (!tid)
		return 0;
	s = state_of(p, tid, btf);
	if (!s)
		return 0;
	/* keep the earliest: a task already waiting stays waiting since then */
	if (!s->ts_runnable)
		s->ts_runnable = bpf_ktime_get_ns();
	s->waker_pid = cur >> 32;
	s->waker_tid = (__u32)cur;
	return 0;
}

/* cur: bpf_get_current_pid_tgid() of prev, which is current here. Returns
 * prev's cgroup id (0 when unknown) for the culprit key of the other half */
static __always_inline __u64 account_prev(struct task_struct *prev, bool runnable, __u32 state,
					  __u64 now, __u64 cur, bool btf)
{
	__u32 tgid = cur >> 32, tid = (__u32)cur;
	struct task_sched *s;
	struct sched_key k = {};
	struct sched_bank *bk;

	if (!tid) /* the idle task */
		return 0;
	s = state_of(prev, tid, btf);
	if (!s) {
		count_drop(LS_DROP_TASK);
		return 0;
	}
	s->tgid = tgid;
	cached_cgroup_id(&s->cgid, &s->cgid_gen);
	if (any_task_filter())
		s->verdict = current_wanted(cur) ? VERDICT_YES : VERDICT_NO;
	if (s->verdict != VERDICT_NO) {
		fill_key(&k, prev, tgid, tid, s->cgid);
		bk = bank_of(s, &k);
		if (s->ts_oncpu)
			bk->stats[1] += now - s->ts_oncpu; /* oncpu_ns */
		bk->stats[runnable ? 7 : 6] += 1;	   /* invol/vol_switches */
		if (state & TASK_DEAD) {		   /* its last switch-out */
			flush_sched_claimed(&s->bank[0]);
			flush_sched_claimed(&s->bank[1]);
		}
	}
	if (s->ts_oncpu)
		s->oncpu_ns += now - s->ts_oncpu;
	s->switches += 1;
	s->ts_oncpu = 0;
	s->ts_off = now;
	s->off_state = runnable ? OFF_PREEMPTED : state;
	s->ts_runnable = runnable ? now : 0;
	return s->cgid;
}

static __always_inline void account_next(struct task_struct *next, __u64 now, __u64 cur,
					 __u64 prev_cgid, bool btf)
{
	__u32 tid = BPF_CORE_READ(next, pid), state;
	__u64 off, runq, blocked;
	struct task_sched *s;
	struct sched_key k = {};
	struct sched_bank *bk;

	if (!tid)
		return;
	s = state_of(next, tid, btf);
	if (!s) {
		count_drop(LS_DROP_TASK);
		return;
	}
	s->ts_oncpu = now;
	if (!s->ts_off && !s->ts_runnable)
		return; /* first sight of this task: nothing to account yet */
	runq = s->ts_runnable ? now - s->ts_runnable : 0;
	off = s->ts_off ? now - s->ts_off : runq;
	if (runq > off)
		runq = off;
	blocked = off - runq;
	state = s->ts_off ? s->off_state : OFF_PREEMPTED;
	s->ts_off = 0;
	s->ts_runnable = 0;
	s->runq_ns += runq;
	s->blocked_ns += blocked;
	if ((state & TASK_UNINTERRUPTIBLE) && !(state & TASK_NOLOAD) && state != OFF_PREEMPTED)
		s->disk_ns += blocked;

	if (!other_wanted(next, s))
		return;
	if (!s->tgid)
		s->tgid = BPF_CORE_READ(next, tgid);
	if (s->cgid_gen != cgroup_gen) { /* not current: read it off the task */
		s->cgid = task_cgroup_id(next);
		s->cgid_gen = cgroup_gen;
	}
	fill_key(&k, next, s->tgid, tid, s->cgid);
	bk = bank_of(s, &k);
	bk->stats[0] += runq; /* struct sched_val order */
	if (state == OFF_PREEMPTED)
		bk->stats[4] += off;
	else if ((state & TASK_UNINTERRUPTIBLE) && !(state & TASK_NOLOAD))
		bk->stats[3] += off;
	else if (state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE))
		bk->stats[2] += off; /* S, and TASK_IDLE kernel threads */
	else
		bk->stats[5] += off;

	if (!runq)
		return;
	{
		__u32 b = hist_bucket(runq);
		struct runq_slot *sl = &bk->runq[b & (RUNQ_SLOTS - 1)];

		if (sl->count && sl->bucket != b)
			flush_runq(&bk->owner, sl);
		sl->bucket = b;
		sl->count += 1;
		if (runq > sl->max_ns)
			sl->max_ns = runq;
	}
	/* the task that held this CPU until now is who it waited for */
	if ((__u32)cur) {
		__u32 cpid = cur >> 32;
		struct cul_slot *cs = &bk->cul[cpid & (CUL_SLOTS - 1)];

		if (cs->runq_ns && (cs->cpid != cpid || cs->ccgid != prev_cgid))
			flush_cul(&bk->owner, cs);
		if (!cs->runq_ns) {
			cs->cpid = cpid;
			cs->ccgid = prev_cgid;
			note_comm_pid(cpid); /* prev is current: the culprit's name */
		}
		cs->runq_ns += runq;
	}
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev,
				     struct task_struct *next, bool btf)
{
	__u64 now = bpf_ktime_get_ns(), cur = bpf_get_current_pid_tgid();
	__u32 state = task_state(prev);
	/* preempted tasks stay on the run queue whatever their state says */
	bool runnable = preempt || state == TASK_RUNNING;

	__u64 prev_cgid = account_prev(prev, runnable, state, now, cur, btf);

	account_next(next, now, cur, prev_cgid, btf);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(ls_wakeup_btf, struct task_struct *p)
{
	return on_wakeup(p, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(ls_wake_new_btf, struct task_struct *p)
{
	return on_wakeup(p, true);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ls_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next, true);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(ls_wakeup_raw, struct task_struct *p)
{
	return on_wakeup(p, false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(ls_wake_new_raw, struct task_struct *p)
{
	return on_wakeup(p, false);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(ls_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next, false);
}

GEN_PROGS

/* every thread's bank of the previous epoch, after the barrier */
SEC("iter/task")
int ls_harvest_sched(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct task_sched *s;
	__u32 tid;

	if (!t)
		return 0;
	s = bpf_task_storage_get(&task_sched, t, 0, 0);
	if (!s) { /* the raw_tp flavour keeps its state by tid */
		tid = t->pid;
		s = bpf_map_lookup_elem(&task_sched_lru, &tid);
	}
	if (s)
		flush_sched_claimed(&s->bank[(harvest_epoch - 1) & 1]);
	return 0;
}
