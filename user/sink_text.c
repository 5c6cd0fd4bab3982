// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "names.h"
#include "sink.h"
#include "util.h"

static const char *const sort_names[] = {
	[SORT_P99] = "p99", [SORT_P50] = "p50", [SORT_MAX] = "max",
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

void rows_sort(struct interval *iv, enum sort_by by)
{
	g_sort = by;
	qsort(iv->sys, iv->nsys, sizeof(*iv->sys), row_cmp);
}

static int term_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 24;
}

int sink_text__render(FILE *f, const struct interval *iv, const struct text_opts *o)
{
	char ts[40], p50[16], p99[16], mx[16], tot[16], cnt[16], errs[40], en[32];
	uint64_t dropped = 0;
	size_t i, limit = iv->nsys;

	for (i = 0; i < LS_DROP_MAX; i++)
		dropped += iv->drops[i];
	if (o->max_rows > 0 && (size_t)o->max_rows < limit)
		limit = o->max_rows;
	if (o->tty) {
		int avail = term_rows() - 4;

		if (avail < 1)
			avail = 1;
		if ((size_t)avail < limit)
			limit = avail;
		fputs("\033[H\033[2J", f);
	}
	fprintf(f, "%s  interval %.2fs  syscalls: %zu rows, sorted by %s  dropped: %llu\n",
		fmt_rfc3339(iv->realtime_ns, ts, sizeof(ts)), iv->interval_s, iv->nsys,
		sort_names[o->sort], (unsigned long long)dropped);
	if (iv->by == LS_BY_CGROUP)
		fprintf(f, "%-40s ", "CGROUP");
	else if (iv->by == LS_BY_THREAD)
		fprintf(f, "%7s %7s %-15s ", "PID", "TID", "COMM");
	else
		fprintf(f, "%7s %-15s ", "PID", "COMM");
	fprintf(f, "%-18s %8s %-18s %8s %8s %8s %8s\n", "SYSCALL", "COUNT", "ERRORS", "P50",
		"P99", "MAX", "TOTAL");
	for (i = 0; i < limit; i++) {
		const struct sys_row *r = &iv->sys[i];
		const char *name = syscall_name(r->nr);
		char nbuf[24];

		if (!name) {
			snprintf(nbuf, sizeof(nbuf), "syscall_%u", r->nr);
			name = nbuf;
		}
		if (iv->by == LS_BY_CGROUP) {
			const char *cg = r->cgroup && *r->cgroup ? r->cgroup : "?";
			size_t l = strlen(cg);

			/* keep the informative tail of long paths */
			fprintf(f, "%-40s ", l > 40 ? cg + l - 40 : cg);
		} else if (iv->by == LS_BY_THREAD) {
			fprintf(f, "%7u %7u %-15.15s ", r->pid, r->tid, r->comm);
		} else {
			fprintf(f, "%7u %-15.15s ", r->pid, r->comm);
		}
		if (r->errors && r->err_n)
			snprintf(errs, sizeof(errs), "%s %s", fmt_count(r->errors, cnt, sizeof(cnt)),
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
	if (!o->tty)
		fputc('\n', f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
