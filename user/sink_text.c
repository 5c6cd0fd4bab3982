// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "names.h"
#include "sink.h"
#include "util.h"

static const char *const sort_names[] = {
	[SORT_P99] = "p99",	[SORT_P50] = "p50",	  [SORT_MAX] = "max",
	[SORT_COUNT] = "count", [SORT_ERRORS] = "errors", [SORT_TIME] = "time",
};

int sort_parse(const char *s, enum sort_by *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(sort_names); i++)
		if (!strcmp(s, sort_names[i])) {
			*out = (enum sort_by)i;
			return 0;
		}
	return -EINVAL;
}

static double sort_value(const struct sys_row *r, enum sort_by by)
{
	switch (by) {
	case SORT_P50: return r->lat.p50;
	case SORT_MAX: return r->lat.max;
	case SORT_COUNT: return (double)r->count;
	case SORT_ERRORS: return (double)r->errors;
	case SORT_TIME: return r->lat.total;
	case SORT_P99:
	default: return r->lat.p99;
	}
}

static enum sort_by g_sort;

static int row_cmp(const void *a, const void *b)
{
	const struct sys_row *x = a, *y = b;
	double vx = sort_value(x, g_sort), vy = sort_value(y, g_sort);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	/* stable, readable tie-break: busiest first, then by identity */
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->nr > y->nr) - (x->nr < y->nr);
}

static double sched_sort_value(const struct sched_row *r, enum sort_by by)
{
	switch (by) {
	case SORT_P50: return r->runq.p50;
	case SORT_MAX: return r->runq.max;
	case SORT_COUNT: return (double)r->runq.count;
	case SORT_ERRORS:
	case SORT_TIME: return (double)r->runq_ns;
	case SORT_P99:
	default: return r->runq.p99;
	}
}

static int sched_cmp(const void *a, const void *b)
{
	const struct sched_row *x = a, *y = b;
	double vx = sched_sort_value(x, g_sort), vy = sched_sort_value(y, g_sort);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (x->runq_ns != y->runq_ns)
		return x->runq_ns > y->runq_ns ? -1 : 1;
	if (x->oncpu_ns != y->oncpu_ns)
		return x->oncpu_ns > y->oncpu_ns ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static double tcp_sort_value(const struct tcp_row *r, enum sort_by by)
{
	switch (by) {
	case SORT_P50: return r->connect.p50;
	case SORT_MAX: return r->connect.max;
	case SORT_COUNT: return (double)r->v.connects;
	case SORT_ERRORS:
		return (double)(r->v.connect_errors + r->v.retransmits + r->v.resets_sent +
				r->v.resets_received);
	case SORT_TIME: return r->connect.total;
	case SORT_P99:
	default: return r->connect.p99;
	}
}

static int tcp_cmp(const void *a, const void *b)
{
	const struct tcp_row *x = a, *y = b;
	double vx = tcp_sort_value(x, g_sort), vy = tcp_sort_value(y, g_sort);
	uint64_t tx = x->v.connect_errors + x->v.retransmits,
		 ty = y->v.connect_errors + y->v.retransmits;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (tx != ty) /* trouble first */
		return tx > ty ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return memcmp(x->raddr, y->raddr, 16);
}

void rows_sort(struct interval *iv, enum sort_by by)
{
	g_sort = by;
	qsort(iv->sys, iv->nsys, sizeof(*iv->sys), row_cmp);
	qsort(iv->sched, iv->nsched, sizeof(*iv->sched), sched_cmp);
	qsort(iv->tcp, iv->ntcp, sizeof(*iv->tcp), tcp_cmp);
}

static int term_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 24;
}

static void owner_header(FILE *f, enum ls_by by)
{
	if (by == LS_BY_CGROUP)
		fprintf(f, "%-40s ", "CGROUP");
	else if (by == LS_BY_THREAD)
		fprintf(f, "%7s %7s %-15s ", "PID", "TID", "COMM");
	else
		fprintf(f, "%7s %-15s ", "PID", "COMM");
}

static void owner_cells(FILE *f, enum ls_by by, uint32_t pid, uint32_t tid, const char *comm,
			const char *cgroup)
{
	if (by == LS_BY_CGROUP) {
		const char *cg = cgroup && *cgroup ? cgroup : "?";
		size_t l = strlen(cg);

		/* keep the informative tail of long paths */
		fprintf(f, "%-40s ", l > 40 ? cg + l - 40 : cg);
	} else if (by == LS_BY_THREAD) {
		fprintf(f, "%7u %7u %-15.15s ", pid, tid, comm);
	} else {
		fprintf(f, "%7u %-15.15s ", pid, comm);
	}
}

static size_t fit(size_t n, int max_rows, int avail)
{
	if (max_rows > 0 && (size_t)max_rows < n)
		n = max_rows;
	if (avail >= 0 && (size_t)avail < n)
		n = avail;
	return n;
}

static void render_syscalls(FILE *f, const struct interval *iv, size_t limit)
{
	char p50[16], p99[16], mx[16], tot[16], cnt[16], errs[40], en[32];

	owner_header(f, iv->by);
	fprintf(f, "%-18s %8s %-18s %8s %8s %8s %8s\n", "SYSCALL", "COUNT", "ERRORS", "P50", "P99",
		"MAX", "TOTAL");
	for (size_t i = 0; i < limit; i++) {
		const struct sys_row *r = &iv->sys[i];
		const char *name = syscall_name(r->nr);
		char nbuf[24];

		if (!name) {
			snprintf(nbuf, sizeof(nbuf), "syscall_%u", r->nr);
			name = nbuf;
		}
		owner_cells(f, iv->by, r->pid, r->tid, r->comm, r->cgroup);
		if (r->errors && r->err_n)
			snprintf(errs, sizeof(errs), "%s %s",
				 fmt_count(r->errors, cnt, sizeof(cnt)),
				 errno_name(iv->errs[r->err_off].err, en, sizeof(en)));
		else
			snprintf(errs, sizeof(errs), "%llu", (unsigned long long)r->errors);
		fprintf(f, "%-18.18s %8s %-18.18s %8s %8s %8s %8s\n", name,
			fmt_count(r->count, cnt, sizeof(cnt)), errs,
			fmt_duration(r->lat.p50, p50, sizeof(p50)),
			fmt_duration(r->lat.p99, p99, sizeof(p99)),
			fmt_duration(r->lat.max, mx, sizeof(mx)),
			fmt_duration(r->lat.total, tot, sizeof(tot)));
	}
	if (limit < iv->nsys)
		fprintf(f, "... %zu more rows\n", iv->nsys - limit);
}

static void render_sched(FILE *f, const struct interval *iv, size_t limit)
{
	char p50[16], p99[16], mx[16], tot[16], off[16], sw[16], cul[64], cq[16];

	owner_header(f, iv->by);
	fprintf(f, "%8s %8s %8s %9s %6s %8s %8s  %s\n", "RUNQ-P50", "RUNQ-P99", "RUNQ-MAX",
		"RUNQ-TOT", "%CPU", "OFF-CPU", "SWITCHES", "TOP CULPRIT (its share of RUNQ-TOT)");
	for (size_t i = 0; i < limit; i++) {
		const struct sched_row *r = &iv->sched[i];
		double pct = iv->interval_s > 0 ? r->oncpu_ns / (iv->interval_s * 1e7) : 0;

		owner_cells(f, iv->by, r->pid, r->tid, r->comm, r->cgroup);
		if (r->cul_n) {
			const struct culprit *c = &iv->culprits[r->cul_off];

			snprintf(cul, sizeof(cul), "%u %s (%s)", c->pid, c->comm,
				 fmt_duration((double)c->runq_ns, cq, sizeof(cq)));
		} else {
			snprintf(cul, sizeof(cul), "-");
		}
		fprintf(f, "%8s %8s %8s %9s %6.1f %8s %8s  %s\n",
			fmt_duration(r->runq.p50, p50, sizeof(p50)),
			fmt_duration(r->runq.p99, p99, sizeof(p99)),
			fmt_duration(r->runq.max, mx, sizeof(mx)),
			fmt_duration((double)r->runq_ns, tot, sizeof(tot)), pct,
			fmt_duration((double)r->offcpu_ns, off, sizeof(off)),
			fmt_count(r->vol_switches + r->invol_switches, sw, sizeof(sw)), cul);
	}
	if (limit < iv->nsched)
		fprintf(f, "... %zu more rows\n", iv->nsched - limit);
}

/* "10.0.0.2:8080", "[::1]:443"; accepted connections: "10.0.0.1 -> :8080" */
static char *fmt_endpoint(const struct tcp_row *r, char *buf, size_t len)
{
	char a[64];

	fmt_addr(r->family, r->raddr, a, sizeof(a));
	if (r->lport && !r->rport)
		snprintf(buf, len, r->family == AF_INET6 ? "[%s] -> :%u" : "%s -> :%u", a,
			 r->lport);
	else
		snprintf(buf, len, r->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, r->rport);
	return buf;
}

static void render_tcp(FILE *f, const struct interval *iv, size_t limit)
{
	char ep[96], cp99[16], r50[16], r99[16], n1[16], n2[16], n3[16], n4[16], rst[40];

	owner_header(f, iv->by);
	fprintf(f, "%-28s %6s %8s %6s %7s %11s %8s %8s %6s\n", "REMOTE", "CONN", "CONN-P99", "FAIL",
		"RETRANS", "RST OUT/IN", "RTT-P50", "RTT-P99", "CLOSED");
	for (size_t i = 0; i < limit; i++) {
		const struct tcp_row *r = &iv->tcp[i];

		owner_cells(f, iv->by, r->pid, r->tid, r->comm, r->cgroup);
		snprintf(rst, sizeof(rst), "%llu/%llu", (unsigned long long)r->v.resets_sent,
			 (unsigned long long)r->v.resets_received);
		fprintf(f, "%-28.28s %6s %8s %6s %7s %11s %8s %8s %6s\n",
			fmt_endpoint(r, ep, sizeof(ep)), fmt_count(r->v.connects, n1, sizeof(n1)),
			r->connect.count ? fmt_duration(r->connect.p99, cp99, sizeof(cp99)) : "-",
			fmt_count(r->v.connect_errors, n2, sizeof(n2)),
			fmt_count(r->v.retransmits, n3, sizeof(n3)), rst,
			r->rtt.count ? fmt_duration(r->rtt.p50, r50, sizeof(r50)) : "-",
			r->rtt.count ? fmt_duration(r->rtt.p99, r99, sizeof(r99)) : "-",
			fmt_count(r->v.closed, n4, sizeof(n4)));
	}
	if (limit < iv->ntcp)
		fprintf(f, "... %zu more rows\n", iv->ntcp - limit);
}

int sink_text__render(FILE *f, const struct interval *iv, const struct text_opts *o)
{
	char ts[40];
	uint64_t dropped = 0;
	int avail = -1;
	size_t i;

	for (i = 0; i < LS_DROP_MAX; i++)
		dropped += iv->drops[i];
	if (o->tty) {
		int tables = o->show_sys + o->show_sched + o->show_tcp;

		avail = term_rows() - 3;
		if (tables > 1)
			avail = (avail - 3 * (tables - 1)) / tables;
		if (avail < 1)
			avail = 1;
		fputs("\033[H\033[2J", f);
	}
	fprintf(f, "%s  interval %.2fs  sorted by %s  dropped: %llu\n",
		fmt_rfc3339(iv->realtime_ns, ts, sizeof(ts)), iv->interval_s, sort_names[o->sort],
		(unsigned long long)dropped);
	if (o->show_sys) {
		fprintf(f, "syscalls: %zu rows\n", iv->nsys);
		render_syscalls(f, iv, fit(iv->nsys, o->max_rows, avail));
	}
	if (o->show_sched) {
		if (o->show_sys)
			fputc('\n', f);
		fprintf(f, "sched: %zu rows\n", iv->nsched);
		render_sched(f, iv, fit(iv->nsched, o->max_rows, avail));
	}
	if (o->show_tcp) {
		if (o->show_sys || o->show_sched)
			fputc('\n', f);
		fprintf(f, "tcp: %zu rows\n", iv->ntcp);
		render_tcp(f, iv, fit(iv->ntcp, o->max_rows, avail));
	}
	if (!o->tty)
		fputc('\n', f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
