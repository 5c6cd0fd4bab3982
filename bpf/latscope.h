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

#define LS_COMM_LEN    16
#define LS_MAX_SYSCALL 1024 /* syscall numbers at or above are ignored */
/* waiting kinds of two syscalls, keyed apart at sys_enter from their
 * arguments (idle waits, DESIGN.md section 4); above every real number */
#define LS_NR_FUTEX_WAIT (LS_MAX_SYSCALL - 2) /* futex with a FUTEX_WAIT* op */
#define LS_NR_URING_WAIT (LS_MAX_SYSCALL - 1) /* io_uring_enter with GETEVENTS */
#define LS_MAX_PIDS	 64		      /* entries in the -p filter */

/* how rows are keyed; chosen at load time (rodata) */
enum ls_by {
	LS_BY_PROCESS = 0,
	LS_BY_THREAD = 1,
	LS_BY_CGROUP = 2,
	LS_BY_COMM = 3, /* the key's pid, tid and cgid bytes hold the comm */
};

/* indexes of the drop counter array: why an event could not be recorded */
enum ls_drop {
	LS_DROP_SYS_LAT = 0,  /* syscall_lat full */
	LS_DROP_SYS_ERR,      /* syscall_errs full */
	LS_DROP_TASK,	      /* no per-task storage */
	LS_DROP_SCHED,	      /* sched_stats full */
	LS_DROP_RUNQ,	      /* runq_lat full */
	LS_DROP_CULPRIT,      /* runq_culprits full */
	LS_DROP_TCP,	      /* tcp_stats full */
	LS_DROP_TCP_HIST,     /* tcp_hist full */
	LS_DROP_NO_SWITCH_IN, /* a thread switched out (or in a syscall's exit)
			       * with no switch-in seen since its last switch-out */
	LS_DROP_RECURSION,    /* user space: runs the kernel skipped because a
			       * program was already running on that CPU
			       * (every program's recursion_misses) */
	LS_DROP_RECORD,	      /* user space: intervals the flight recorder
			       * could not write (disk full) */
	LS_DROP_REQ,	      /* req_stats full */
	LS_DROP_REQ_HIST,     /* req_hist full */
	LS_DROP_REQ_SOCK,     /* no per-socket request state (storage or
			       * req_sk_hash full: its exchanges are lost) */
	LS_DROP_MAX,
};

/*
 * syscall_lat: one entry per (owner, syscall, latency octave). The octave
 * (a power of two of nanoseconds) is part of the key and its 8 sub-buckets
 * are in the value, so that the per-CPU value stays small while a
 * syscall's few busy octaves cost a few entries, not one per bucket (see
 * DESIGN.md, memory budget).
 */
struct sys_key {
	__u32 pid;    /* tgid; 0 when keyed by cgroup */
	__u32 tid;    /* thread id when keyed by thread, else 0 */
	__u64 cgid;   /* cgroup v2 id of the caller */
	__u16 nr;     /* syscall number */
	__u16 octave; /* hist_bucket(latency ns) / HIST_SUB */
	__u32 pad;
};

struct oct_val {
	__u64 count[8]; /* per sub-bucket: hist_bucket() % HIST_SUB */
	__u64 sum_ns;
	__u64 max_ns; /* largest latency seen in this octave */
};

/* a single histogram bucket's value (tcp_hist) */
struct sys_val {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns; /* largest latency seen in this bucket */
};

/* syscall_errs: failed returns per (owner, syscall, errno) */
struct err_key {
	__u32 pid;
	__u32 tid;
	__u64 cgid;
	__u16 nr;
	__u16 err; /* -ret, 1..4095 */
	__u32 pad;
};

/* syscall_waits: where the time of calls that left the CPU went, per
 * (owner, syscall), for top --breakdown / --threshold (same identity
 * bytes as err_key) */
struct waits_key {
	__u32 pid;
	__u32 tid;
	__u64 cgid;
	__u16 nr;
	__u16 pad1;
	__u32 pad2;
};

struct waits_val {
	__u64 calls;  /* calls that left the CPU (or went over the threshold) */
	__u64 lat_ns; /* their latency */
	__u64 oncpu_ns;
	__u64 runq_ns;
	__u64 preempted_ns;
	__u64 blocked_ns;
	__u64 disk_ns;
	__u64 over; /* calls at or over the threshold */
};

struct comm_val {
	char comm[LS_COMM_LEN];
};

/* sched_stats: per (owner) scheduler time accounting, ns */
struct sched_key {
	__u32 pid;
	__u32 tid;
	__u64 cgid;
};

struct sched_val {
	__u64 runq_ns; /* waited runnable for a CPU */
	__u64 oncpu_ns;
	__u64 sleep_ns;	      /* off CPU after leaving in S (interruptible) */
	__u64 disk_ns;	      /* off CPU after leaving in D (uninterruptible) */
	__u64 preempted_ns;   /* off CPU after being preempted while runnable */
	__u64 other_ns;	      /* off CPU after leaving in any other state */
	__u64 vol_switches;   /* left the CPU to block */
	__u64 invol_switches; /* left the CPU while still runnable */
};

/* runq_lat: run-queue latency histogram, bucket in the key */
struct runq_key {
	__u32 pid;
	__u32 tid;
	__u64 cgid;
	__u16 bucket;
	__u16 pad1;
	__u32 pad2;
};

struct runq_val {
	__u64 count;
	__u64 max_ns;
};

/* runq_culprits: who held the CPU when a waiting task finally got it */
struct culprit_key {
	__u32 pid; /* victim, keyed like sched_key */
	__u32 tid;
	__u64 cgid;
	__u32 cpid; /* culprit tgid */
	__u32 pad;
	__u64 ccgid; /* culprit cgroup */
};

/* tcp_stats: per (owner, remote endpoint) TCP counters */
struct conn_key {
	__u32 pid; /* owner's tgid; 0 when unknown (socket older than us) */
	__u32 tid;
	__u64 cgid;
	__u8 raddr[16]; /* IPv4 in the first 4 bytes */
	__u16 rport;	/* 0 for accepted connections (clients' ports vary) */
	__u16 lport;	/* local port of accepted connections, else 0 */
	__u16 family;	/* AF_INET or AF_INET6 */
	__u16 pad;
};

struct conn_val {
	__u64 connects; /* attempts that finished, either way */
	__u64 connect_errors;
	__u64 refused;	/* ... of which by a reset (ECONNREFUSED) */
	__u64 timeouts; /* ... of which timed out (ETIMEDOUT) */
	__u64 retransmits;
	__u64 resets_sent;
	__u64 resets_received;
	__u64 closed;	  /* established connections that ended */
	__u64 bytes_sent; /* acked bytes of the closed connections */
	__u64 bytes_received;
};

enum tcp_hist_kind {
	TCP_HIST_CONNECT = 0, /* SYN_SENT/SYN_RECV -> ESTABLISHED */
	TCP_HIST_RTT,	      /* smoothed RTT samples */
	TCP_HIST_LIFETIME,    /* first sight -> CLOSE */
	TCP_HIST_KINDS,
};

/* tcp_hist: latency histograms per endpoint, kind and bucket in the key */
struct conn_hist_key {
	struct conn_key k;
	__u16 kind;
	__u16 bucket;
	__u32 pad;
};

/* tcp_listeners: who listens where; the owner of the connections it
 * accepts. Written by BPF at listen() and by user space at start for
 * listeners that predate latscope. */
struct listen_key {
	__u32 netns;  /* network namespace inode */
	__u16 port;   /* host order */
	__u16 family; /* the listener's own */
};

struct ls_owner {
	__u32 pid;
	__u32 tid;
	__u64 cgid;
	__u8 wanted; /* passes the task filters */
	__u8 pad[7];
};

/*
 * requests: exchanges (a request and its answer) per socket, from turn
 * taking on data transfer (bpf/requests.bpf.c). Rows are keyed by owner,
 * direction and endpoint: the local port of server sockets, the remote
 * address and port of client sockets.
 */
enum ls_req_dir {
	LS_REQ_SERVER = 1, /* accepted: reads requests, writes answers */
	LS_REQ_CLIENT = 2, /* connected out: writes requests, reads answers */
};

struct req_key {
	__u32 pid; /* owner at the exchange's start (tgid) */
	__u32 tid;
	__u64 cgid;
	__u8 raddr[16]; /* client sockets; IPv4 in the first 4 bytes */
	__u16 rport;	/* client sockets, else 0 */
	__u16 lport;	/* server sockets, else 0 */
	__u16 family;	/* client sockets: AF_INET or AF_INET6; server: 0 */
	__u8 dir;	/* enum ls_req_dir */
	__u8 pad;
};

struct req_val {
	__u64 count;	  /* exchanges timed (one at a time, answered) */
	__u64 mixed;	  /* exchanges on sockets marked mixed: never timed */
	__u64 unanswered; /* requests not answered within --request-timeout */
	__u64 reset;	  /* exchanges cut by a close or reset mid-request */
	__u64 started;	  /* exchanges begun: open = started - the four above */
	__u64 bytes_in;	  /* of the exchanges that ended */
	__u64 bytes_out;
};

/* req_hist: exchange latency, bucket in the key */
struct req_hist_key {
	struct req_key k;
	__u16 bucket;
	__u16 pad1;
	__u32 pad2;
};

/*
 * `slow`: one ring-buffer record per syscall at or over the threshold.
 * sys_class (rodata, one byte per syscall number, filled by user space
 * from user/sysclass.c) says where the fd is and which calls are left out.
 */
enum ls_sys_class {
	LS_SC_FD_ARG0 = 1 << 0, /* the first argument is an fd */
	LS_SC_FD_RET = 1 << 1,	/* a non-negative return is a new fd */
	LS_SC_HIDE = 1 << 2,	/* never reported (idle wait, or not --syscall) */
};

#define LS_SLOW_PARTIAL 1 /* a switch-in was not seen: oncpu_ns is the remainder */

enum ls_wake_ctx {
	LS_WAKE_NONE = 0, /* not woken during the call */
	LS_WAKE_TASK,	  /* by the task pid/tid/comm */
	LS_WAKE_SOFTIRQ,  /* in a softirq (vec) over the task pid/tid/comm */
	LS_WAKE_HARDIRQ,  /* in an interrupt handler (irq, name) over pid/tid/comm */
	LS_WAKE_HRTIMER,  /* in an hrtimer callback (hardirq or, vec set, softirq) */
};

struct ls_waker {
	__u8 ctx; /* enum ls_wake_ctx */
	__u8 vec; /* softirq vector + 1 for SOFTIRQ (and HRTIMER in a softirq) */
	__u16 pad;
	__s32 irq; /* HARDIRQ: the irq number */
	__u32 pid, tid;
	char comm[LS_COMM_LEN];
	char name[LS_COMM_LEN]; /* HARDIRQ: the handler's name */
};

enum ls_fd_type {
	LS_FD_NONE = 0, /* no fd, or not resolved */
	LS_FD_TCP,
	LS_FD_UDP,
	LS_FD_UNIX,
	LS_FD_FILE,
	LS_FD_PIPE,
	LS_FD_ANON, /* anon inode: path holds its name ("[eventfd]") */
	LS_FD_SOCK, /* another socket family or protocol */
	LS_FD_OTHER,
};

#define LS_PATH_COMPS 8	  /* path components kept, leaf last */
#define LS_PATH_MAX   256 /* bytes of path kept */

struct ls_fd {
	__s32 fd;
	__u8 type;	/* enum ls_fd_type */
	__u8 truncated; /* path lost components past LS_PATH_COMPS or bytes */
	__u16 family;	/* sockets */
	__u16 lport, rport;
	__u32 mnt_id; /* files: the mount the path is relative to */
	__u8 laddr[16], raddr[16];
	char path[2 * LS_PATH_MAX]; /* "/a/b/c" relative to the mount; the
				      * second half is room for bounded writes */
};

struct slow_event {
	__u64 start_ns; /* bpf_ktime_get_ns() at sys_enter (CLOCK_MONOTONIC) */
	__u64 lat_ns;
	__u64 oncpu_ns;
	__u64 runq_ns;
	__u64 preempted_ns; /* part of runq_ns: runnable after a preemption */
	__u64 blocked_ns;
	__u64 disk_ns; /* part of blocked_ns: uninterruptible (D) */
	__s64 ret;
	__u64 cgid;
	__u32 pid, tid;
	__u32 switches;
	__u32 cpu;
	__u16 nr;    /* or LS_NR_*_WAIT */
	__u16 flags; /* LS_SLOW_* */
	__u32 pad;
	char comm[LS_COMM_LEN];
	struct ls_waker waker;
	struct ls_fd fd;
};

/* slow_drops indexes */
enum ls_slow_drop {
	LS_SLOW_RATE_LIMITED = 0, /* refused by the token bucket */
	LS_SLOW_LOST,		  /* ring buffer full */
	LS_SLOW_DROPS,
};

#ifdef __cplusplus
#define LS_STATIC_ASSERT static_assert
#else
#define LS_STATIC_ASSERT _Static_assert
#endif
LS_STATIC_ASSERT(sizeof(struct sys_key) == 24, "sys_key layout");
/* --by comm keeps the comm in the 16 bytes of (pid, tid, cgid) */
LS_STATIC_ASSERT(__builtin_offsetof(struct sys_key, nr) == LS_COMM_LEN, "owner bytes");
LS_STATIC_ASSERT(sizeof(struct sys_val) == 24, "sys_val layout");
LS_STATIC_ASSERT(sizeof(struct oct_val) == 80, "oct_val layout");
LS_STATIC_ASSERT(sizeof(struct err_key) == 24, "err_key layout");
LS_STATIC_ASSERT(sizeof(struct sched_key) == 16, "sched_key layout");
LS_STATIC_ASSERT(sizeof(struct sched_val) == 64, "sched_val layout");
LS_STATIC_ASSERT(sizeof(struct runq_key) == 24, "runq_key layout");
LS_STATIC_ASSERT(sizeof(struct runq_val) == 16, "runq_val layout");
LS_STATIC_ASSERT(sizeof(struct culprit_key) == 32, "culprit_key layout");
LS_STATIC_ASSERT(sizeof(struct conn_key) == 40, "conn_key layout");
LS_STATIC_ASSERT(sizeof(struct conn_val) == 80, "conn_val layout");
LS_STATIC_ASSERT(sizeof(struct conn_hist_key) == 48, "conn_hist_key layout");

LS_STATIC_ASSERT(sizeof(struct req_key) == 40, "req_key layout");
LS_STATIC_ASSERT(sizeof(struct req_val) == 56, "req_val layout");
LS_STATIC_ASSERT(sizeof(struct req_hist_key) == 48, "req_hist_key layout");
LS_STATIC_ASSERT(__builtin_offsetof(struct req_key, raddr) == LS_COMM_LEN, "owner bytes");
LS_STATIC_ASSERT(sizeof(struct waits_key) == 24, "waits_key layout");
LS_STATIC_ASSERT(sizeof(struct waits_val) == 64, "waits_val layout");
LS_STATIC_ASSERT(sizeof(struct ls_waker) == 48, "ls_waker layout");
LS_STATIC_ASSERT(sizeof(struct slow_event) % 8 == 0, "slow_event layout");

#endif /* LATSCOPE_H */
