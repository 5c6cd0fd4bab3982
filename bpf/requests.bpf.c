// SPDX-License-Identifier: GPL-2.0-only
/*
 * Request latency per service from turn taking on TCP sockets, with no
 * protocol parser (README, Requests). The sock:sock_recv_length and
 * sock:sock_send_length tracepoints (6.5+) fire in the caller's context
 * after every recvmsg/sendmsg with the byte count; a small state machine
 * per socket turns them into exchanges:
 *
 *   server (accepted): a request starts at the first read of > 0 bytes
 *   after a write (or after accept); its answer is every write until the
 *   next such read. Latency: first read of the request -> last write of
 *   the answer.
 *   client (connected out): the same with reads and writes swapped.
 *
 * An exchange ends at the next request or when the socket is destroyed
 * (tcp:tcp_destroy_sock, after the owner closed it). A request not
 * answered within request_timeout_ns is unanswered, one cut by close
 * sooner is reset; both are known when the socket next moves (the next
 * request or close): map iterators, which could sweep the state once per
 * interval, are refused on the hosts we run on (EPERM), and sk storage
 * cannot be walked any other way.
 *
 * Sockets get their state when they become ESTABLISHED
 * (sock:inet_sock_set_state): in sk storage for tp_btf (the tracepoints
 * hand us a trusted socket), in an LRU hash keyed by the socket's address
 * for raw_tp (which cannot use sk storage), deleted when the socket is
 * destroyed and re-initialised at every ESTABLISHED, so a reused address
 * starts afresh.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define AF_INET	     2
#define AF_INET6     10
#define IPPROTO_TCP  6
#define MSG_PEEK     0x2
#define MSG_ERRQUEUE 0x2000

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT	2
#define TCP_SYN_RECV	3

/* set by user space before load */
const volatile __u64 request_timeout_ns = 30ULL * 1000 * 1000 * 1000;
const volatile __u16 filter_port = 0; /* server: local port; client: remote port */
const volatile __u32 filter_raddr_on = 0;
const volatile __u16 filter_family = 0;
const volatile __u32 filter_prefix = 0; /* bits */
const volatile __u8 filter_raddr[16] = {};

enum req_phase {
	PH_IDLE = 0, /* waiting for a request */
	PH_REQUEST,  /* request being received (server) / sent (client) */
	PH_ANSWER,   /* answer being sent (server) / received (client) */
};

enum req_end {
	END_ANSWERED,
	END_UNANSWERED,
	END_RESET,
};

struct req_sock {
	struct req_key k; /* endpoint fixed when established; owner per exchange */
	__u64 t_start;	  /* first transfer of the request */
	__u64 t_last;	  /* last transfer of the answer */
	__u64 bytes_in, bytes_out;
	__u64 owner_pt;	 /* pid_tgid the owner bytes of k were made for */
	__u64 owner_gen; /* cgroup_gen then */
	__u8 phase;	 /* enum req_phase */
	__u8 mixed;	 /* a send saw the peer's next bytes waiting: turns
			  * mean nothing on this socket any more */
	__u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct req_sock);
} req_sk_store SEC(".maps");

/* raw_tp: state by socket address (user space sizes it; 1 for tp_btf) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct req_sock);
} req_sk_hash SEC(".maps");

/* counters change once or twice per exchange: one shared value with
 * atomic adds, as tcp_stats */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct req_key);
	__type(value, struct req_val);
} req_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct req_hist_key);
	__type(value, struct sys_val);
} req_hist SEC(".maps");

static __always_inline struct req_val *stats_of(const struct req_key *k)
{
	struct req_val *v = bpf_map_lookup_elem(&req_stats, k), zero = {};

	if (v)
		return v;
	bpf_map_update_elem(&req_stats, k, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&req_stats, k);
	if (!v)
		count_drop(LS_DROP_REQ);
	return v;
}

static __always_inline void hist_add(const struct req_key *k, __u64 ns)
{
	struct req_hist_key hk = {.k = *k, .bucket = hist_bucket(ns)};
	struct sys_val *v = bpf_map_lookup_elem(&req_hist, &hk), zero = {};

	if (!v) {
		bpf_map_update_elem(&req_hist, &hk, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&req_hist, &hk);
		if (!v) {
			count_drop(LS_DROP_REQ_HIST);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->sum_ns, ns);
	if (ns > v->max_ns) /* a lost race only loses a max within one bucket */
		v->max_ns = ns;
}

/* the exchange in s is over: count it, by how it ended */
static __always_inline void finish(struct req_sock *s, enum req_end how)
{
	struct req_val *v = stats_of(&s->k);

	s->phase = PH_IDLE;
	if (!v)
		return;
	if (s->mixed)
		__sync_fetch_and_add(&v->mixed, 1);
	else if (how == END_UNANSWERED)
		__sync_fetch_and_add(&v->unanswered, 1);
	else if (how == END_RESET)
		__sync_fetch_and_add(&v->reset, 1);
	else {
		__sync_fetch_and_add(&v->count, 1);
		hist_add(&s->k, s->t_last - s->t_start);
	}
	__sync_fetch_and_add(&v->bytes_in, s->bytes_in);
	__sync_fetch_and_add(&v->bytes_out, s->bytes_out);
}

/* the owner bytes of the key: the current task, per --by */
static __always_inline void set_owner(struct req_sock *s, __u64 pt)
{
	__u64 gen = cgroup_gen;

	if (key_by == LS_BY_COMM) {
		bpf_get_current_comm(&s->k, LS_COMM_LEN);
		return;
	}
	if (s->owner_pt == pt && s->owner_gen == gen)
		return;
	s->owner_pt = pt;
	s->owner_gen = gen;
	s->k.pid = key_by == LS_BY_CGROUP ? 0 : pt >> 32;
	s->k.tid = key_by == LS_BY_THREAD ? (__u32)pt : 0;
	s->k.cgid = bpf_get_current_cgroup_id();
	note_comm(pt >> 32, (__u32)pt);
}

/* bytes the peer sent that the socket's owner has not read yet, less a
 * FIN (as tcp_inq() counts them) */
static __always_inline __u32 rcv_backlog(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 n = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);

	if (n && (BPF_CORE_READ(sk, __sk_common.skc_flags) &
		  (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
		n--;
	return n;
}

static __always_inline struct req_sock *state_of(struct sock *sk, bool btf)
{
	__u64 key = (__u64)sk;

	if (btf)
		return bpf_sk_storage_get(&req_sk_store, sk, 0, 0);
	return bpf_map_lookup_elem(&req_sk_hash, &key);
}

static __always_inline int on_xfer(struct sock *sk, int ret, int flags, bool send, bool btf)
{
	__u64 pt, now;
	struct req_sock *s;
	bool request;

	if (ret <= 0 || !sk || (!send && (flags & (MSG_PEEK | MSG_ERRQUEUE))))
		return 0;
	pt = bpf_get_current_pid_tgid();
	if (any_task_filter() && !current_wanted(pt))
		return 0;
	s = state_of(sk, btf);
	if (!s || !s->k.dir)
		return 0;
	now = bpf_ktime_get_ns();
	/* does this transfer carry (part of) a request? */
	request = s->k.dir == LS_REQ_SERVER ? !send : send;
	if (request) {
		if (s->phase == PH_ANSWER)
			finish(s, END_ANSWERED);
		else if (s->phase == PH_REQUEST && now - s->t_start >= request_timeout_ns)
			finish(s, END_UNANSWERED); /* the peer gave up and asks again */
		if (s->phase == PH_IDLE) {
			struct req_val *v;

			set_owner(s, pt);
			s->phase = PH_REQUEST;
			s->t_start = now;
			s->bytes_in = s->bytes_out = 0;
			v = stats_of(&s->k);
			if (v)
				__sync_fetch_and_add(&v->started, 1);
		}
	} else {
		if (s->phase == PH_IDLE) /* a greeting, or an answer too late */
			return 0;
		s->phase = PH_ANSWER;
		s->t_last = now;
	}
	if (send)
		s->bytes_out += ret;
	else
		s->bytes_in += ret;
	if (send && !s->mixed && rcv_backlog(sk))
		s->mixed = 1;
	return 0;
}

static __always_inline bool peer_wanted(__u16 family, const __u8 *raddr)
{
	int i;

	if (!filter_raddr_on)
		return true;
	if (family != filter_family)
		return false;
	for (i = 0; i < 16; i++) {
		int bits = (int)filter_prefix - 8 * i;
		__u8 mask;

		if (bits <= 0)
			break;
		mask = bits >= 8 ? 0xff : (__u8)(0xff << (8 - bits));
		if ((raddr[i] ^ filter_raddr[i]) & mask)
			return false;
	}
	return true;
}

/* the endpoint part of the key of a socket just established; false when
 * not IPv4/IPv6 TCP or filtered out. IPv4-mapped IPv6 peers are the IPv4
 * addresses they are. */
static __always_inline bool endpoint_of(const struct sock *sk, struct req_key *k, bool server)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u8 raddr[16] = {};

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return false;
	if (family == AF_INET) {
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(raddr, &d, 4);
	} else if (family == AF_INET6) {
		__u32 w[4];

		BPF_CORE_READ_INTO(&w, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
		if (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff)) {
			family = AF_INET;
			__builtin_memcpy(raddr, &w[3], 4);
		} else {
			__builtin_memcpy(raddr, w, 16);
		}
	} else {
		return false;
	}
	if (!peer_wanted(family, raddr))
		return false;
	if (server) {
		k->dir = LS_REQ_SERVER;
		k->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		return !filter_port || k->lport == filter_port;
	}
	k->dir = LS_REQ_CLIENT;
	k->family = family;
	__builtin_memcpy(k->raddr, raddr, 16);
	k->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return !filter_port || k->rport == filter_port;
}

static __always_inline int on_set_state(struct sock *sk, int oldstate, int newstate, bool btf)
{
	struct req_sock fresh = {}, *s;
	__u64 key = (__u64)sk;

	if (!sk)
		return 0;
	if (newstate == TCP_ESTABLISHED && (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV)) {
		if (!endpoint_of(sk, &fresh.k, oldstate == TCP_SYN_RECV)) {
			if (!btf)
				bpf_map_delete_elem(&req_sk_hash, &key);
			return 0;
		}
		if (btf) {
			s = bpf_sk_storage_get(&req_sk_store, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (!s) {
				count_drop(LS_DROP_REQ_SOCK);
				return 0;
			}
			*s = fresh;
		} else if (bpf_map_update_elem(&req_sk_hash, &key, &fresh, BPF_ANY)) {
			count_drop(LS_DROP_REQ_SOCK);
		}
	}
	return 0;
}

/*
 * The socket is going away (the owner closed it, and TCP is done with
 * it): not at TCP_CLOSE, which a socket reaches with data still unread
 * (a client that half-closed gets the answer and the server's FIN
 * together, enters TIME_WAIT, and only then reads the answer).
 */
static __always_inline int on_destroy(struct sock *sk, bool btf)
{
	struct req_sock *s;
	__u64 key = (__u64)sk;

	if (!sk)
		return 0;
	s = state_of(sk, btf);
	if (!s)
		return 0;
	/* an answer was under way: the exchange is complete; a request
	 * still waiting for its answer was cut */
	if (s->phase == PH_ANSWER)
		finish(s, END_ANSWERED);
	else if (s->phase == PH_REQUEST)
		finish(s, bpf_ktime_get_ns() - s->t_start >= request_timeout_ns ? END_UNANSWERED
										: END_RESET);
	s->k.dir = 0;
	if (!btf)
		bpf_map_delete_elem(&req_sk_hash, &key);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(ls_req_recv_btf, struct sock *sk, int ret, int flags)
{
	return on_xfer(sk, ret, flags, false, true);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(ls_req_send_btf, struct sock *sk, int ret, int flags)
{
	return on_xfer(sk, ret, flags, true, true);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ls_req_state_btf, struct sock *sk, int oldstate, int newstate)
{
	return on_set_state(sk, oldstate, newstate, true);
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(ls_req_dstr_btf, struct sock *sk)
{
	return on_destroy(sk, true);
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(ls_req_recv_raw, struct sock *sk, int ret, int flags)
{
	return on_xfer(sk, ret, flags, false, false);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(ls_req_send_raw, struct sock *sk, int ret, int flags)
{
	return on_xfer(sk, ret, flags, true, false);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ls_req_state_raw, struct sock *sk, int oldstate, int newstate)
{
	return on_set_state(sk, oldstate, newstate, false);
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(ls_req_dstr_raw, struct sock *sk)
{
	return on_destroy(sk, false);
}

GEN_PROGS
