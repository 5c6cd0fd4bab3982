/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `slow`, syscall side: at sys_exit, a call at or over the threshold is
 * classified (idle waits and calls not asked for are left out), admitted
 * by an in-kernel token bucket, completed with its last on-CPU stretch and
 * its fd (resolved here, in the kernel: socket addresses, a file's last
 * path components, a pipe or anon inode's kind) and sent on the ring
 * buffer. The breakdown itself was added by sched_switch and sched_waking
 * into task_state.call (bpf/task.bpf.h). Nothing here runs for a call
 * under the threshold.
 */
#ifndef LATSCOPE_SLOW_BPF_H
#define LATSCOPE_SLOW_BPF_H

#include <bpf/bpf_endian.h>
#include "task.bpf.h"

/* one byte per syscall number, enum ls_sys_class (user/sysclass.c) */
const volatile __u8 sys_class[LS_MAX_SYSCALL] = {};
/* token bucket as a generic cell rate: one event per slow_interval_ns,
 * bursts up to slow_burst_ns worth of them */
const volatile __u64 slow_interval_ns = 500000;
const volatile __u64 slow_burst_ns = 100000000;

__u64 slow_tat; /* theoretical arrival time of the next event */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} slow_events SEC(".maps");

/* the record is built here (too large for the stack), then copied out */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct slow_event);
} slow_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LS_SLOW_DROPS);
	__type(key, __u32);
	__type(value, __u64);
} slow_drops SEC(".maps");

static __always_inline void slow_drop(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&slow_drops, &what);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* may one more event go out at now? A lost compare-and-swap race is
 * retried a few times, then counted as rate limited */
static __always_inline bool slow_admit(__u64 now)
{
	for (int i = 0; i < 4; i++) {
		__u64 tat = slow_tat, base = tat > now ? tat : now;

		if (base - now > slow_burst_ns)
			return false;
		if (__sync_val_compare_and_swap(&slow_tat, tat, base + slow_interval_ns) == tat)
			return true;
	}
	return false;
}

#define LS_S_IFMT   0170000
#define LS_S_IFSOCK 0140000
#define LS_S_IFLNK  0120000
#define LS_S_IFREG  0100000
#define LS_S_IFBLK  0060000
#define LS_S_IFDIR  0040000
#define LS_S_IFCHR  0020000
#define LS_S_IFIFO  0010000

#define LS_AF_UNIX  1
#define LS_AF_INET  2
#define LS_AF_INET6 10

/* up to LS_PATH_COMPS components of f's path below its mount, root first */
static __always_inline void file_path(struct ls_fd *out, struct file *f)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry), *p;
	struct vfsmount *mnt = BPF_CORE_READ(f, f_path.mnt);
	struct dentry *root = BPF_CORE_READ(mnt, mnt_root);
	struct mount *m = (void *)mnt - bpf_core_field_offset(struct mount, mnt);
	__u64 ds[LS_PATH_COMPS] = {};
	__u32 n = 0, off = 0, idx;
	bool whole = false;

	out->mnt_id = BPF_CORE_READ(m, mnt_id);
	for (int i = 0; i <= LS_PATH_COMPS; i++) {
		if (!d || d == root) {
			whole = true;
			break;
		}
		p = BPF_CORE_READ(d, d_parent);
		if (!p || p == d) {
			whole = true;
			break;
		}
		if (i == LS_PATH_COMPS)
			break;
		ds[i] = (__u64)d;
		n = i + 1;
		d = p;
	}
	out->truncated = !whole;
	for (int i = LS_PATH_COMPS - 1; i >= 0; i--) {
		const unsigned char *name;
		long len;

		if ((__u32)i >= n)
			continue;
		if (off >= LS_PATH_MAX - 2) {
			out->truncated = 1;
			break;
		}
		/* masks the verifier sees (the compiler knows off is small) */
		idx = off;
		barrier_var(idx);
		out->path[idx & (LS_PATH_MAX - 1)] = '/';
		idx = ++off;
		barrier_var(idx);
		d = (struct dentry *)ds[i & (LS_PATH_COMPS - 1)];
		name = BPF_CORE_READ(d, d_name.name);
		len = bpf_probe_read_kernel_str(&out->path[idx & (LS_PATH_MAX - 1)], LS_PATH_MAX,
						name);
		if (len > 1)
			off += len - 1;
	}
	idx = off;
	barrier_var(idx);
	out->path[idx & (2 * LS_PATH_MAX - 1)] = 0;
}

static __always_inline void sock_info(struct ls_fd *out, struct file *f)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u16 family, proto;

	if (!sk) {
		out->type = LS_FD_SOCK;
		return;
	}
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	proto = BPF_CORE_READ(sk, sk_protocol);
	out->family = family;
	if (family == LS_AF_UNIX) {
		out->type = LS_FD_UNIX;
		return;
	}
	if (family != LS_AF_INET && family != LS_AF_INET6) {
		out->type = LS_FD_SOCK;
		return;
	}
	out->type = proto == IPPROTO_TCP   ? LS_FD_TCP
		    : proto == IPPROTO_UDP ? LS_FD_UDP
					   : LS_FD_SOCK;
	out->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	out->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == LS_AF_INET) {
		__u32 a;

		BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(out->laddr, &a, 4);
		BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_daddr);
		__builtin_memcpy(out->raddr, &a, 4);
	} else {
		struct in6_addr a6;

		BPF_CORE_READ_INTO(&a6, sk, __sk_common.skc_v6_rcv_saddr);
		__builtin_memcpy(out->laddr, &a6, 16);
		BPF_CORE_READ_INTO(&a6, sk, __sk_common.skc_v6_daddr);
		__builtin_memcpy(out->raddr, &a6, 16);
	}
}

/* what fd of the current task is; global: verified once, run only for
 * slow calls */
__noinline int resolve_fd(struct ls_fd *out, int fd)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds, *f = NULL;
	__u32 mode;

	if (!out)
		return 0;
	out->fd = fd;
	out->type = LS_FD_NONE;
	out->truncated = 0;
	out->path[0] = 0;
	if (fd < 0)
		return 0;
	fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || (__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode) & LS_S_IFMT;
	switch (mode) {
	case LS_S_IFSOCK: sock_info(out, f); break;
	case LS_S_IFIFO: out->type = LS_FD_PIPE; break;
	case LS_S_IFREG:
	case LS_S_IFDIR:
	case LS_S_IFCHR:
	case LS_S_IFBLK:
	case LS_S_IFLNK:
		out->type = LS_FD_FILE;
		file_path(out, f);
		break;
	case 0: /* anon inode: its dentry says what ("[eventfd]") */
		out->type = LS_FD_ANON;
		bpf_probe_read_kernel_str(out->path, LS_PATH_MAX,
					  BPF_CORE_READ(f, f_path.dentry, d_name.name));
		break;
	default: out->type = LS_FD_OTHER; break;
	}
	return 0;
}

/* on CPU during the call: the stretches sched_switch closed, and the last
 * one, since the call began or the thread came back, whichever is later */
static __always_inline __u64 call_oncpu(struct task_state *st, __u64 start, __u64 now)
{
	struct call_acct *c = &st->call;
	__u64 from = st->sched.ts_oncpu > start ? st->sched.ts_oncpu : start, known;

	/* back on CPU without a switch-in seen (the tracepoint did not reach
	 * us): the time since the last switch-out is unknown; what the other
	 * parts leave of the latency is the best estimate */
	if ((!st->sched.ts_oncpu && st->sched.ts_off >= start) || c->lost) {
		c->lost = 1;
		known = c->oncpu_ns + c->runq_ns + c->blocked_ns;
		return now - start > known ? now - start - known + c->oncpu_ns : c->oncpu_ns;
	}
	return c->oncpu_ns + (now > from ? now - from : 0);
}

/* the call in flight of the current thread took lat = now - start: report it */
static __always_inline void slow_report(struct task_state *st, struct pt_regs *regs, long ret,
					__u64 now)
{
	struct task_sys *ts = &st->sys;
	__u32 nr = ts->nr & (LS_MAX_SYSCALL - 1), zero = 0;
	__u8 cls = sys_class[nr];
	struct slow_event *e;
	__u64 pid_tgid;
	int fd = -1;

	if (cls & LS_SC_HIDE)
		return;
	if (!slow_admit(now)) {
		slow_drop(LS_SLOW_RATE_LIMITED);
		return;
	}
	e = bpf_map_lookup_elem(&slow_scratch, &zero);
	if (!e)
		return;
	pid_tgid = bpf_get_current_pid_tgid();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->cgid = bpf_get_current_cgroup_id();
	e->nr = nr;
	e->ret = ret;
	e->start_ns = ts->start_ns;
	e->lat_ns = now - ts->start_ns;
	e->cpu = bpf_get_smp_processor_id();
	e->oncpu_ns = call_oncpu(st, ts->start_ns, now);
	e->flags = st->call.lost ? LS_SLOW_PARTIAL : 0;
	e->runq_ns = st->call.runq_ns;
	e->preempted_ns = st->call.preempted_ns;
	e->blocked_ns = st->call.blocked_ns;
	e->disk_ns = st->call.disk_ns;
	e->switches = st->call.switches;
	e->waker = st->call.waker;
	if (cls & LS_SC_FD_ARG0)
		fd = (int)BPF_CORE_READ(regs, di);
	else if ((cls & LS_SC_FD_RET) && ret >= 0)
		fd = (int)ret;
	resolve_fd(&e->fd, fd);
	if (bpf_ringbuf_output(&slow_events, e, sizeof(*e), 0))
		slow_drop(LS_SLOW_LOST);
}

#endif /* LATSCOPE_SLOW_BPF_H */
