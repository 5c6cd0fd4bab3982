// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* slow: which calls are reported (user/sysclass.c) and how an event renders
 * through its field table (user/slow.c, the generic sinks). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "names.h"
#include "sink.h"
#include "slow.h"
#include "sysclass.h"
#include "test.h"

static uint8_t cls_of(const uint8_t *cls, const char *name)
{
	return cls[syscall_nr(name)];
}

TEST_CASE(sysclass_default_hides_idle_waits_only)
{
	uint8_t cls[LS_MAX_SYSCALL];
	char err[128];

	ASSERT(sysclass_build(cls, false, NULL, err, sizeof(err)) == 0, "%s", err);
	ASSERT(!(cls_of(cls, "read") & LS_SC_HIDE), "read hidden");
	ASSERT(cls_of(cls, "read") & LS_SC_FD_ARG0, "read's fd is not its first argument");
	ASSERT(cls_of(cls, "accept4") & LS_SC_FD_RET, "accept4 does not return an fd");
	ASSERT(!(cls_of(cls, "accept4") & LS_SC_FD_ARG0), "accept4 resolves the listener");
	for (const char *const *n = (const char *const[]){"epoll_wait", "clock_nanosleep", "wait4",
							  "accept", "ppoll", NULL};
	     *n; n++)
		ASSERT(cls_of(cls, *n) & LS_SC_HIDE, "idle wait %s reported by default", *n);
	/* futex: only the WAIT kind (keyed apart in BPF from the op) is idle */
	ASSERT(cls_of(cls, "futex_wait") & LS_SC_HIDE, "futex_wait reported by default");
	ASSERT(!(cls_of(cls, "futex") & LS_SC_HIDE), "futex wake hidden");
	ASSERT(cls_of(cls, "io_uring_wait") & LS_SC_HIDE, "io_uring wait reported");
	ASSERT(!(cls_of(cls, "io_uring_enter") & LS_SC_HIDE), "io_uring submit hidden");
}

TEST_CASE(sysclass_all_reports_idle_waits_too)
{
	uint8_t cls[LS_MAX_SYSCALL];
	char err[128];

	ASSERT(sysclass_build(cls, true, NULL, err, sizeof(err)) == 0, "%s", err);
	ASSERT(!(cls_of(cls, "epoll_wait") & LS_SC_HIDE), "epoll_wait hidden with --all");
	ASSERT(!(cls_of(cls, "futex_wait") & LS_SC_HIDE), "futex_wait hidden with --all");
}

TEST_CASE(sysclass_syscall_list_picks_and_overrides_idle)
{
	uint8_t cls[LS_MAX_SYSCALL];
	char err[128];

	ASSERT(sysclass_build(cls, false, "read,epoll_wait,futex_wait", err, sizeof(err)) == 0,
	       "%s", err);
	ASSERT(!(cls_of(cls, "read") & LS_SC_HIDE), "read hidden though picked");
	ASSERT(cls_of(cls, "write") & LS_SC_HIDE, "write reported though not picked");
	ASSERT(!(cls_of(cls, "epoll_wait") & LS_SC_HIDE), "a picked idle wait is hidden");
	/* futex_wait picked, the other futex ops not */
	ASSERT(!(cls_of(cls, "futex_wait") & LS_SC_HIDE), "picked futex_wait hidden");
	ASSERT(cls_of(cls, "futex") & LS_SC_HIDE, "futex reported though not picked");
	ASSERT(sysclass_build(cls, false, "read,nosuchcall", err, sizeof(err)) == -EINVAL,
	       "unknown syscall accepted");
	ASSERT(strstr(err, "--syscall") && strstr(err, "'nosuchcall'"), "message: %s", err);
}

TEST_CASE(sysclass_names_the_waiting_kinds)
{
	char buf[24];

	ASSERT(!strcmp(sysclass_call_name(LS_NR_FUTEX_WAIT, buf, sizeof(buf)), "futex_wait"),
	       "futex wait");
	ASSERT(syscall_nr("futex_wait") == LS_NR_FUTEX_WAIT &&
		       syscall_nr("io_uring_wait") == LS_NR_URING_WAIT,
	       "waiting kinds by name");
	ASSERT(!strcmp(sysclass_call_name(syscall_nr("futex"), buf, sizeof(buf)), "futex"),
	       "futex wake");
	ASSERT(!strcmp(sysclass_call_name(1000, buf, sizeof(buf)), "syscall_1000"),
	       "unknown number");
	ASSERT(sysclass_idle("futex_wait") && !sysclass_idle("futex") && !sysclass_idle("read"),
	       "idle table");
}

/* a slow recvfrom on a TCP socket, woken by a softirq over redis-server */
static void tcp_event(struct slow_event *e)
{
	memset(e, 0, sizeof(*e));
	e->pid = 812;
	e->tid = 813;
	memcpy(e->comm, "\x1b]0;pwn\x07", 8);
	e->nr = (uint16_t)syscall_nr("recvfrom");
	e->ret = -11;
	e->start_ns = 1000000000ULL;
	e->lat_ns = 14200000;
	e->oncpu_ns = 300000;
	e->runq_ns = 9100000;
	e->blocked_ns = 4800000;
	e->switches = 2;
	e->waker.ctx = LS_WAKE_SOFTIRQ;
	e->waker.vec = 4; /* NET_RX + 1 */
	e->waker.pid = 900;
	e->waker.tid = 901;
	strcpy(e->waker.comm, "redis-server");
	e->fd.fd = 7;
	e->fd.type = LS_FD_TCP;
	e->fd.family = AF_INET;
	e->fd.lport = 40000;
	e->fd.rport = 443;
	inet_pton(AF_INET, "10.0.0.1", e->fd.laddr);
	inet_pton(AF_INET, "10.0.0.2", e->fd.raddr);
}

static char *render(const struct slow_event *e, bool json)
{
	struct slow_row r;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	slow_row__fill(&r, e, NULL, NULL, 0);
	if (json)
		sink_json__object(f, &slow_schema, &r, LS_BY_THREAD);
	else
		sink_text__line(f, &slow_schema, &r);
	fclose(f);
	return out;
}

TEST_CASE(slow_text_line_says_where_the_time_went_and_escapes_the_comm)
{
	struct slow_event e;
	char *s;

	tcp_event(&e);
	s = render(&e, false);
	ASSERT(!strchr(s, '\x1b') && !strchr(s, '\x07'), "raw control bytes in: %s", s);
	ASSERT(strstr(s, "\\x1b]0;pwn\\x07/813 recvfrom fd=7 tcp 10.0.0.2:443 14.2ms"),
	       "owner, call, fd, latency: %s", s);
	ASSERT(strstr(s, "= cpu 300us + runq 9.10ms + blocked 4.80ms"), "breakdown: %s", s);
	ASSERT(strstr(s, "(woken by softirq NET_RX over redis-server/901)"), "waker: %s", s);
	ASSERT(strstr(s, "-EAGAIN\n"), "return: %s", s);
	free(s);
}

TEST_CASE(slow_json_has_the_contract_members)
{
	struct slow_event e;
	char *s;

	tcp_event(&e);
	s = render(&e, true);
	ASSERT(!strncmp(s,
			"{\"type\":\"slow\",\"pid\":812,\"tid\":813,\"comm\":\"\\u001b]0;"
			"pwn\\u0007\"",
			60),
	       "head: %s", s);
	ASSERT(strstr(s, "\"syscall\":\"recvfrom\""), "syscall: %s", s);
	ASSERT(strstr(s, "\"ret\":-11,\"errno\":\"EAGAIN\""), "ret: %s", s);
	ASSERT(strstr(s, "\"lat_us\":14200,\"oncpu_us\":300,\"runq_us\":9100"), "times: %s", s);
	ASSERT(strstr(s, "\"waker\":{\"context\":\"softirq\",\"vector\":\"NET_RX\",\"over\":{"
			 "\"pid\":900,\"tid\":901,\"comm\":\"redis-server\"}}"),
	       "waker: %s", s);
	ASSERT(strstr(s, "\"fd\":{\"fd\":7,\"type\":\"tcp\",\"laddr\":\"10.0.0.1\",\"lport\":40000,"
			 "\"raddr\":\"10.0.0.2\",\"rport\":443}"),
	       "fd: %s", s);
	ASSERT(strstr(s, "\"start\":\"1970-01-01T00:00:01.000Z\""), "start: %s", s);
	free(s);
}

TEST_CASE(slow_unknown_waker_and_fd_are_null_and_cut_paths_say_so)
{
	struct slow_event e;
	char *s;

	tcp_event(&e);
	e.waker.ctx = LS_WAKE_NONE;
	e.fd.type = LS_FD_NONE;
	s = render(&e, true);
	ASSERT(strstr(s, "\"fd\":null") && strstr(s, "\"waker\":null"), "nulls: %s", s);
	free(s);
	e.fd.type = LS_FD_FILE;
	e.fd.truncated = 1;
	strcpy(e.fd.path, "/d5/d6/d7/d8/d9/d10/d11/f\x1b");
	s = render(&e, true);
	ASSERT(strstr(s, "\"path\":\"/.../d5/d6/d7/d8/d9/d10/d11/f\\u001b\""), "json path: %s", s);
	ASSERT(strstr(s, "\"truncated\":true"), "truncated: %s", s);
	free(s);
	s = render(&e, false);
	ASSERT(strstr(s, "fd=7 /.../d5/d6/d7/d8/d9/d10/d11/f\\x1b "), "text path: %s", s);
	free(s);
	e.fd.type = LS_FD_ANON;
	strcpy(e.fd.path, "[timerfd]");
	s = render(&e, true);
	ASSERT(strstr(s, "\"fd\":{\"fd\":7,\"type\":\"timerfd\"}"), "anon: %s", s);
	free(s);
}

TEST_CASE(service_names_units_containers_or_the_path)
{
	static const struct {
		const char *cg, *want;
	} cases[] = {
		{"/system.slice/ssh.service", "ssh.service"},
		{"/user.slice/user-1000.slice/session-3.scope/a/deep/dir", "session-3.scope"},
		{"/system.slice/"
		 "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef."
		 "scope",
		 "0123456789ab"},
		{"/kubepods/burstable/pod1/"
		 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		 "fedcba987654"},
		{"/user.slice", "user.slice"},
		{"/", "/"},
		{"/mygroup/sub", "/mygroup/sub"},
		{"", ""},
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT(!strcmp(service_name(cases[i].cg, buf, sizeof(buf)), cases[i].want),
		       "%s: got '%s', want '%s'", cases[i].cg, buf, cases[i].want);
}

/* issue 14: the comm cache stays bounded whatever pids come by */
TEST_CASE(comm_cache_is_bounded_and_counts_evictions)
{
	struct names *n = names__new();
	uint64_t ev = 0;
	size_t len;

	ASSERT(n, "names");
	/* pids that cannot exist: each one a gone entry */
	for (uint32_t i = 0; i < 20000; i++)
		ASSERT(!strcmp(names__comm(n, 0x7f000000u + i, 0, NULL, NULL), "?"), "pid %u", i);
	len = names__comm_len(n, &ev);
	ASSERT(len <= 16384, "comm cache holds %zu entries", len);
	ASSERT(ev >= 20000 - 16384, "evictions %llu", (unsigned long long)ev);
	ASSERT_EQ_U64(len + ev, 20000, "every entry either kept or counted as evicted");
	/* our own pid is alive: read from /proc */
	ASSERT(strcmp(names__comm(n, (uint32_t)getpid(), 0, NULL, NULL), "?"), "own comm");
	names__free(n);
}
