// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP trouble per owner and remote endpoint, from tracepoints only:
 * sock:inet_sock_set_state (connect latency and failures, lifetime),
 * tcp:tcp_retransmit_skb, tcp:tcp_send_reset, tcp:tcp_receive_reset,
 * tcp:tcp_probe (RTT samples) and tcp:tcp_destroy_sock (cleanup).
 *
 * State changes mostly run in softirq context, where the current task is
 * unrelated to the socket, so the owner is remembered when the socket is
 * first seen in process context: connect() for active opens, listen() for
 * the listener that accepted connections belong to.
 */
#include "common.bpf.h"
#include "compat.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define AF_INET	      2
#define AF_INET6      10
#define IPPROTO_TCP   6
#define ECONNREFUSED  111
#define ETIMEDOUT     110
#define RTT_SAMPLE_NS (100ULL * 1000 * 1000) /* at most one RTT sample per socket per 100 ms */

/* TCP states (include/net/tcp_states.h) */
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT	2
#define TCP_SYN_RECV	3
#define TCP_CLOSE	7
#define TCP_LISTEN	10

const volatile __u16 filter_port = 0; /* remote port (local port of accepted) */
const volatile __u32 filter_raddr_on = 0;
const volatile __u16 filter_family = 0;
const volatile __u32 filter_prefix = 0; /* bits */
const volatile __u8 filter_raddr[16] = {};

struct sk_state {
	struct conn_key k;
	__u64 ts_start; /* SYN_SENT/SYN_RECV or first sight */
	__u64 ts_rtt;	/* last RTT sample */
	__u8 established;
	__u8 closed;
	__u8 connecting; /* a connect attempt is in flight */
	__u8 passive;	 /* accepted: remote endpoint not read yet */
	__u8 pad[4];
};

/* per-socket state, keyed by the socket's address; deleted at
 * tcp_destroy_sock, bounded by LRU for sockets we never see destroyed */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sk_state);
} tcp_sock_state SEC(".maps");

/* who listens on a port: the owner of the connections it accepts */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct ls_owner);
} tcp_listeners SEC(".maps");

/* counters are updated rarely (per connection, retransmit, reset, sampled
 * RTT), so one shared copy with atomic adds beats a per-CPU value that
 * would cost (keys x CPUs) memory */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct conn_key);
	__type(value, struct conn_val);
} tcp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct conn_hist_key);
	__type(value, struct sys_val);
} tcp_hist SEC(".maps");

static __always_inline bool endpoint_wanted(const struct conn_key *k)
{
	int i;

	if (filter_port && (k->rport ? k->rport : k->lport) != filter_port)
		return false;
	if (!filter_raddr_on)
		return true;
	if (k->family != filter_family)
		return false;
	for (i = 0; i < 16; i++) {
		int bits = (int)filter_prefix - 8 * i;
		__u8 mask;

		if (bits <= 0)
			break;
		mask = bits >= 8 ? 0xff : (__u8)(0xff << (8 - bits));
		if ((k->raddr[i] ^ filter_raddr[i]) & mask)
			return false;
	}
	return true;
}

/* remote address and ports of sk into k; false if not IPv4/IPv6 TCP.
 * IPv4-mapped IPv6 peers (an IPv4 client of a dual-stack listener) are
 * reported as the IPv4 addresses they are. */
static __always_inline bool read_endpoint(const struct sock *sk, struct conn_key *k, bool passive)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return false;
	if (family == AF_INET) {
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(k->raddr, &d, 4);
	} else if (family == AF_INET6) {
		__u32 w[4];

		BPF_CORE_READ_INTO(&w, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
		if (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff)) {
			family = AF_INET;
			__builtin_memcpy(k->raddr, &w[3], 4);
		} else {
			__builtin_memcpy(k->raddr, w, 16);
		}
	} else {
		return false;
	}
	k->family = family;
	if (passive)
		k->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	else
		k->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return true;
}

static __always_inline void set_owner_current(struct conn_key *k)
{
	__u64 pt = bpf_get_current_pid_tgid();

	if (key_by == LS_BY_COMM) {
		bpf_get_current_comm(k, LS_COMM_LEN);
		return;
	}
	if (key_by != LS_BY_CGROUP)
		k->pid = pt >> 32;
	if (key_by == LS_BY_THREAD)
		k->tid = (__u32)pt;
	k->cgid = bpf_get_current_cgroup_id();
}

static __always_inline struct conn_val *stats_of(const struct conn_key *k)
{
	struct conn_val *v = bpf_map_lookup_elem(&tcp_stats, k), zero = {};

	if (v)
		return v;
	bpf_map_update_elem(&tcp_stats, k, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&tcp_stats, k);
	if (!v)
		count_drop(LS_DROP_TCP);
	return v;
}

static __always_inline void hist_add(const struct conn_key *k, __u16 kind, __u64 ns)
{
	struct conn_hist_key hk = {.k = *k, .kind = kind, .bucket = hist_bucket(ns)};
	struct sys_val *v = bpf_map_lookup_elem(&tcp_hist, &hk), zero = {};

	if (!v) {
		bpf_map_update_elem(&tcp_hist, &hk, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&tcp_hist, &hk);
		if (!v) {
			count_drop(LS_DROP_TCP_HIST);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->sum_ns, ns);
	if (ns > v->max_ns) /* a lost race only loses a max within one bucket */
		v->max_ns = ns;
}

/*
 * State of a socket seen for the first time outside connect()/accept:
 * it predates latscope, so its owner is unknown (pid 0). Only kept when no
 * task filter is on, since it cannot be matched against one.
 */
static __always_inline struct sk_state *state_or_adopt(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct sk_state *s = bpf_map_lookup_elem(&tcp_sock_state, &key), fresh = {};

	if (s || any_task_filter())
		return s;
	if (!read_endpoint(sk, &fresh.k, false))
		return NULL;
	if (!endpoint_wanted(&fresh.k))
		return NULL;
	fresh.k.cgid = 0;
	fresh.established = 1; /* not a connect we could time */
	bpf_map_update_elem(&tcp_sock_state, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tcp_sock_state, &key);
}

static __always_inline void on_listen(const struct sock *sk)
{
	struct listen_key lk = {};
	struct ls_owner o = {};

	lk.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	lk.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	lk.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	{
		struct conn_key k = {};

		set_owner_current(&k);
		o.pid = k.pid;
		o.tid = k.tid;
		o.cgid = k.cgid;
	}
	o.wanted = !any_task_filter() || task_wanted(bpf_get_current_pid_tgid() >> 32);
	bpf_map_update_elem(&tcp_listeners, &lk, &o, BPF_ANY);
	if (o.wanted)
		note_comm(o.pid, o.tid);
}

static __always_inline void on_connect_start(const struct sock *sk, __u64 now)
{
	__u64 key = (__u64)sk, pt = bpf_get_current_pid_tgid();
	struct sk_state s = {};

	if (any_task_filter() && !task_wanted(pt >> 32))
		return;
	if (!read_endpoint(sk, &s.k, false) || !endpoint_wanted(&s.k))
		return;
	set_owner_current(&s.k);
	s.ts_start = now;
	s.connecting = 1;
	bpf_map_update_elem(&tcp_sock_state, &key, &s, BPF_ANY);
	note_comm(pt >> 32, (__u32)pt);
}

static __always_inline void on_accept_start(const struct sock *sk, __u64 now)
{
	__u64 key = (__u64)sk;
	struct listen_key lk = {};
	struct sk_state s = {};
	struct ls_owner *o;

	if (!read_endpoint(sk, &s.k, true))
		return;
	lk.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	lk.port = s.k.lport;
	lk.family = BPF_CORE_READ(sk, __sk_common.skc_family); /* the listener's, unmapped */
	o = bpf_map_lookup_elem(&tcp_listeners, &lk);
	if (o) {
		if (!o->wanted)
			return;
		s.k.pid = o->pid;
		s.k.tid = o->tid;
		s.k.cgid = o->cgid;
	} else if (any_task_filter()) {
		return;
	}
	/* only the local port is known yet: see settle_passive() */
	if (filter_port && s.k.lport != filter_port)
		return;
	s.ts_start = now;
	s.connecting = 1;
	s.passive = 1;
	bpf_map_update_elem(&tcp_sock_state, &key, &s, BPF_ANY);
}

/*
 * An accepted socket enters SYN_RECV as a clone of its listener, and on
 * older kernels inet_csk_clone_lock() sets that state before the peer's
 * address and port are copied from the request: Debian's 6.1 shows the
 * listener's wildcard address and port 0 there, 6.18 the peer's. So the
 * endpoint of a passive open is read, and filtered, when it leaves SYN_RECV.
 */
static __always_inline bool settle_passive(const struct sock *sk, struct sk_state *s)
{
	struct conn_key k = s->k;

	__builtin_memset(k.raddr, 0, sizeof(k.raddr));
	if (!read_endpoint(sk, &k, true) || !endpoint_wanted(&k))
		return false;
	s->k = k;
	s->passive = 0;
	return true;
}

static __always_inline void on_close(const struct sock *sk, struct sk_state *s, __u64 now)
{
	struct conn_val *v;

	if (s->closed)
		return;
	s->closed = 1;
	v = stats_of(&s->k);
	if (!v)
		return;
	if (s->connecting) {
		int err = BPF_CORE_READ(sk, sk_err);

		s->connecting = 0;
		/* an accepted child that dies before ESTABLISHED (it lost the
		 * race to be queued, say) is no failure a client saw */
		if (s->k.lport && !s->k.rport)
			return;
		__sync_fetch_and_add(&v->connects, 1);
		__sync_fetch_and_add(&v->connect_errors, 1);
		if (err == ECONNREFUSED)
			__sync_fetch_and_add(&v->refused, 1);
		else if (err == ETIMEDOUT)
			__sync_fetch_and_add(&v->timeouts, 1);
		return;
	}
	if (!s->established)
		return;
	__sync_fetch_and_add(&v->closed, 1);
	__sync_fetch_and_add(&v->bytes_sent, BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked));
	__sync_fetch_and_add(&v->bytes_received,
			     BPF_CORE_READ((struct tcp_sock *)sk, bytes_received));
	if (s->ts_start)
		hist_add(&s->k, TCP_HIST_LIFETIME, now - s->ts_start);
}

static __always_inline int on_set_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk, now;
	struct sk_state *s;

	if (newstate == TCP_LISTEN) {
		if (BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP)
			on_listen(sk);
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (newstate == TCP_SYN_SENT) {
		on_connect_start(sk, now);
		return 0;
	}
	if (newstate == TCP_SYN_RECV) {
		on_accept_start(sk, now);
		return 0;
	}
	s = bpf_map_lookup_elem(&tcp_sock_state, &key);
	if (!s)
		return 0;
	if (s->passive && !settle_passive(sk, s)) {
		bpf_map_delete_elem(&tcp_sock_state, &key);
		return 0;
	}
	if (newstate == TCP_ESTABLISHED && s->connecting) {
		struct conn_val *v = stats_of(&s->k);

		s->connecting = 0;
		s->established = 1;
		if (v)
			__sync_fetch_and_add(&v->connects, 1);
		hist_add(&s->k, TCP_HIST_CONNECT, now - s->ts_start);
	} else if (newstate == TCP_CLOSE) {
		on_close(sk, s, now);
	}
	return 0;
}

static __always_inline int on_retransmit(const struct sock *sk)
{
	struct sk_state *s = state_or_adopt(sk);
	struct conn_val *v;

	if (s && (v = stats_of(&s->k)))
		__sync_fetch_and_add(&v->retransmits, 1);
	return 0;
}

static __always_inline int on_send_reset(const struct sock *sk)
{
	struct sk_state *s;
	struct conn_val *v;

	if (!sk) /* a reset for a packet no socket wanted */
		return 0;
	s = state_or_adopt(sk);
	if (s && (v = stats_of(&s->k)))
		__sync_fetch_and_add(&v->resets_sent, 1);
	return 0;
}

static __always_inline int on_receive_reset(const struct sock *sk)
{
	struct sk_state *s = state_or_adopt(sk);
	struct conn_val *v;

	if (s && (v = stats_of(&s->k)))
		__sync_fetch_and_add(&v->resets_received, 1);
	return 0;
}

static __always_inline int on_probe(const struct sock *sk)
{
	__u64 key = (__u64)sk, now;
	struct sk_state *s = bpf_map_lookup_elem(&tcp_sock_state, &key);
	__u32 srtt_us;

	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - s->ts_rtt < RTT_SAMPLE_NS)
		return 0;
	s->ts_rtt = now;
	/* srtt_us holds 8x the smoothed RTT in microseconds */
	srtt_us = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;
	if (srtt_us)
		hist_add(&s->k, TCP_HIST_RTT, (__u64)srtt_us * 1000);
	return 0;
}

static __always_inline int on_destroy(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct sk_state *s = bpf_map_lookup_elem(&tcp_sock_state, &key);

	if (!s)
		return 0;
	/* a socket destroyed without passing CLOSE (e.g. a connect the
	 * process gave up on) still ends its attempt */
	on_close(sk, s, bpf_ktime_get_ns());
	bpf_map_delete_elem(&tcp_sock_state, &key);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ls_tcp_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	return on_set_state(sk, oldstate, newstate);
}

/* since 6.x the tracepoint also fires for retransmissions that failed
 * (err: e.g. -EBUSY while the original is still queued in the host);
 * only sent ones count, as in the kernel's RetransSegs. User space loads
 * the variant that matches the tracepoint's arguments. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(ls_tcp_retx_btf, const struct sock *sk)
{
	return on_retransmit(sk);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(ls_tcp_retx3_btf, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return err ? 0 : on_retransmit(sk);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(ls_tcp_rst_o_btf, const struct sock *sk)
{
	return on_send_reset(sk);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(ls_tcp_rst_i_btf, const struct sock *sk)
{
	return on_receive_reset(sk);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(ls_tcp_probe_btf, const struct sock *sk)
{
	return on_probe(sk);
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(ls_tcp_dstr_btf, const struct sock *sk)
{
	return on_destroy(sk);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ls_tcp_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	return on_set_state(sk, oldstate, newstate);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(ls_tcp_retx_raw, const struct sock *sk)
{
	return on_retransmit(sk);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(ls_tcp_retx3_raw, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return err ? 0 : on_retransmit(sk);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(ls_tcp_rst_o_raw, const struct sock *sk)
{
	return on_send_reset(sk);
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(ls_tcp_rst_i_raw, const struct sock *sk)
{
	return on_receive_reset(sk);
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(ls_tcp_probe_raw, const struct sock *sk)
{
	return on_probe(sk);
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(ls_tcp_dstr_raw, const struct sock *sk)
{
	return on_destroy(sk);
}
