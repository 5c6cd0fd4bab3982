// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scheduler accounting from sched:sched_waking, sched_wakeup_new and
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
#include "task.bpf.h"

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
/* raw_tp fallback only; user space shrinks it to 1 entry otherwise */
const volatile __u32 state_in_lru = 0;
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

/* the scheduler part of a thread's state; *call its in-flight syscall's
 * breakdown when calls_on and it is inside one (tp_btf only), else NULL */
static __always_inline struct task_sched *state_of(struct task_struct *t, __u32 tid, bool btf,
						   struct call_acct **call, __u64 *call_start)
{
	struct task_sched *s;

	*call = NULL;
	*call_start = 0;
	if (btf) {
		struct task_state *st =
			bpf_task_storage_get(&task_state, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (!st)
			return NULL;
		if (calls_on && st->sys.start_ns) {
			*call = &st->call;
			*call_start = st->sys.start_ns;
		}
		return &st->sched;
	}
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

/*
 * Interrupt context of each CPU, for naming wakers (`slow` only): set and
 * cleared by the irq_handler, softirq and hrtimer_expire entry/exit
 * tracepoints, which are loaded only when `slow` runs.
 */
struct irq_ctx {
	__u32 irq;     /* irq number + 1 while a handler runs, else 0 */
	__u32 soft;    /* softirq vector + 1 while one runs, else 0 */
	__u32 hrtimer; /* an hrtimer callback runs */
	__u32 pad;
	__u64 action; /* the handler's struct irqaction */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_ctx);
} irq_ctx SEC(".maps");

static __always_inline struct irq_ctx *this_irq_ctx(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&irq_ctx, &zero);
}

/* the current context woke a thread inside a traced call */
static __always_inline void note_waker(struct call_acct *call, __u64 cur)
{
	struct ls_waker *w = &call->waker;
	struct irq_ctx *ic = this_irq_ctx();

	w->ctx = LS_WAKE_TASK;
	w->vec = 0;
	w->irq = 0;
	w->name[0] = 0;
	if (ic && ic->irq) {
		struct irqaction *a = (void *)ic->action;

		w->ctx = LS_WAKE_HARDIRQ;
		w->irq = ic->irq - 1;
		bpf_probe_read_kernel_str(w->name, sizeof(w->name), BPF_CORE_READ(a, name));
	} else if (ic && ic->hrtimer) {
		w->ctx = LS_WAKE_HRTIMER;
		w->vec = ic->soft;
	} else if (ic && ic->soft) {
		w->ctx = LS_WAKE_SOFTIRQ;
		w->vec = ic->soft;
	}
	/* the waker, or the task the interrupt ran over */
	w->pid = cur >> 32;
	w->tid = (__u32)cur;
	bpf_get_current_comm(w->comm, sizeof(w->comm));
	call->dirty = 1;
}

/* at sched_waking, which runs in the waker's context (sched_wakeup may run
 * on the wakee's CPU over the idle task and name the wrong waker) */
static __always_inline int on_wakeup(struct task_struct *p, bool btf)
{
	struct task_sched *s;
	struct call_acct *call;
	__u64 start;
	__u32 tid = BPF_CORE_READ(p, pid);

	if (!tid)
		return 0;
	s = state_of(p, tid, btf, &call, &start);
	if (!s)
		return 0;
	/* keep the earliest: a task already waiting stays waiting since then */
	if (!s->ts_runnable)
		s->ts_runnable = bpf_ktime_get_ns();
	if (call)
		note_waker(call, bpf_get_current_pid_tgid());
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
	struct call_acct *call;
	__u64 start;

	if (!tid) /* the idle task */
		return 0;
	s = state_of(prev, tid, btf, &call, &start);
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
	/* switched out before without being seen back: its time since then is
	 * unknown (the switch-in's tracepoint did not reach us) */
	if (!s->ts_oncpu && s->ts_off)
		count_drop(LS_DROP_NO_SWITCH_IN);
	if (call) { /* on CPU inside the call since it began or came back */
		__u64 from = s->ts_oncpu > start ? s->ts_oncpu : start;

		if (s->ts_oncpu || !s->ts_off || s->ts_off < start)
			call->oncpu_ns += now > from ? now - from : 0;
		else
			call->lost = 1; /* off since ts_off, back at an unknown time */
		call->switches += 1;
		call->dirty = 1;
	}
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
	struct call_acct *call;
	__u64 start;

	if (!tid)
		return;
	s = state_of(next, tid, btf, &call, &start);
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
	if (call) { /* off CPU inside the call: waiting for a CPU, or blocked */
		call->runq_ns += runq;
		if (state == OFF_PREEMPTED)
			call->preempted_ns += runq;
		call->blocked_ns += blocked;
		if ((state & TASK_UNINTERRUPTIBLE) && !(state & TASK_NOLOAD) &&
		    state != OFF_PREEMPTED)
			call->disk_ns += blocked;
		call->dirty = 1;
	}

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
	__u32 state = task_run_state(prev);
	/* preempted tasks stay on the run queue whatever their state says */
	bool runnable = preempt || state == TASK_RUNNING;

	__u64 prev_cgid = account_prev(prev, runnable, state, now, cur, btf);

	account_next(next, now, cur, prev_cgid, btf);
	return 0;
}

SEC("tp_btf/sched_waking")
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

SEC("raw_tp/sched_waking")
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
	struct task_state *st;
	struct task_sched *s;
	__u32 tid;

	if (!t)
		return 0;
	if (state_in_lru) { /* the raw_tp flavour keeps its state by tid */
		tid = t->pid;
		s = bpf_map_lookup_elem(&task_sched_lru, &tid);
	} else {
		st = bpf_task_storage_get(&task_state, t, 0, 0);
		if (!st)
			return 0;
		s = &st->sched;
	}
	if (s)
		flush_sched_claimed(&s->bank[(harvest_epoch - 1) & 1]);
	return 0;
}

/* interrupt context, for `slow`'s wakers; autoloaded only when it runs */
SEC("tp_btf/irq_handler_entry")
int BPF_PROG(ls_irq_in_btf, int irq, struct irqaction *action)
{
	struct irq_ctx *ic = this_irq_ctx();

	if (ic) {
		ic->irq = irq + 1;
		ic->action = (__u64)action;
	}
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(ls_irq_out_btf)
{
	struct irq_ctx *ic = this_irq_ctx();

	if (ic)
		ic->irq = 0;
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(ls_soft_in_btf, unsigned int vec)
{
	struct irq_ctx *ic = this_irq_ctx();

	if (ic)
		ic->soft = vec + 1;
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(ls_soft_out_btf)
{
	struct irq_ctx *ic = this_irq_ctx();

	if (ic)
		ic->soft = 0;
	return 0;
}

SEC("tp_btf/hrtimer_expire_entry")
int BPF_PROG(ls_hrt_in_btf)
{
	struct irq_ctx *ic = this_irq_ctx();

	if (ic)
		ic->hrtimer = 1;
	return 0;
}

SEC("tp_btf/hrtimer_expire_exit")
int BPF_PROG(ls_hrt_out_btf)
{
	struct irq_ctx *ic = this_irq_ctx();

	if (ic)
		ic->hrtimer = 0;
	return 0;
}
