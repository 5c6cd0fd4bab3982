// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include "json.h"
#include "names.h"
#include "sink.h"
#include "util.h"

static void lat_fields(struct jw *w, const char *name, const struct lat_summary *l)
{
	jw_obj_start(w, name);
	jw_num(w, "p50", l->p50 / 1e3);
	jw_num(w, "p90", l->p90 / 1e3);
	jw_num(w, "p99", l->p99 / 1e3);
	jw_num(w, "p999", l->p999 / 1e3);
	jw_num(w, "max", l->max / 1e3);
	jw_num(w, "mean", l->mean / 1e3);
	jw_obj_end(w);
}

/* who a row belongs to; --by cgroup rows are keyed by the cgroup alone */
static void owner_fields(struct jw *w, enum ls_by by, uint32_t pid, uint32_t tid, const char *comm,
			 const char *cgroup)
{
	if (by != LS_BY_CGROUP) {
		jw_uint(w, "pid", pid);
		if (by == LS_BY_THREAD)
			jw_uint(w, "tid", tid);
		jw_str(w, "comm", comm);
	}
	jw_str(w, "cgroup", cgroup ? cgroup : "");
}

int sink_json__render(FILE *f, const struct interval *iv)
{
	char ts[40], en[32], nbuf[24];
	struct jw w;
	size_t i, j;

	jw_init(&w, f);
	jw_obj_start(&w, NULL);
	jw_str(&w, "type", "interval");
	jw_str(&w, "time", fmt_rfc3339(iv->realtime_ns, ts, sizeof(ts)));
	jw_num(&w, "interval_s", iv->interval_s);
	jw_arr_start(&w, "syscalls");
	for (i = 0; i < iv->nsys; i++) {
		const struct sys_row *r = &iv->sys[i];
		const char *name = syscall_name(r->nr);

		if (!name) {
			snprintf(nbuf, sizeof(nbuf), "syscall_%u", r->nr);
			name = nbuf;
		}
		jw_obj_start(&w, NULL);
		owner_fields(&w, iv->by, r->pid, r->tid, r->comm, r->cgroup);
		jw_str(&w, "syscall", name);
		jw_uint(&w, "count", r->count);
		jw_uint(&w, "errors", r->errors);
		jw_obj_start(&w, "errnos");
		for (j = 0; j < r->err_n; j++) {
			const struct errno_count *e = &iv->errs[r->err_off + j];

			jw_uint(&w, errno_name(e->err, en, sizeof(en)), e->count);
		}
		jw_obj_end(&w);
		lat_fields(&w, "lat_us", &r->lat);
		jw_num(&w, "total_us", r->lat.total / 1e3);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr_start(&w, "sched");
	for (i = 0; i < iv->nsched; i++) {
		const struct sched_row *r = &iv->sched[i];

		jw_obj_start(&w, NULL);
		owner_fields(&w, iv->by, r->pid, r->tid, r->comm, r->cgroup);
		jw_uint(&w, "runq_count", r->runq.count);
		lat_fields(&w, "runq_us", &r->runq);
		jw_num(&w, "runq_total_us", r->runq_ns / 1e3);
		jw_num(&w, "oncpu_us", r->oncpu_ns / 1e3);
		jw_num(&w, "offcpu_us", r->offcpu_ns / 1e3);
		jw_num(&w, "offcpu_sleep_us", r->sleep_ns / 1e3);
		jw_num(&w, "offcpu_disk_us", r->disk_ns / 1e3);
		jw_num(&w, "preempted_us", r->preempted_ns / 1e3);
		jw_uint(&w, "vol_switches", r->vol_switches);
		jw_uint(&w, "invol_switches", r->invol_switches);
		jw_arr_start(&w, "culprits");
		for (j = 0; j < r->cul_n; j++) {
			const struct culprit *c = &iv->culprits[r->cul_off + j];

			jw_obj_start(&w, NULL);
			jw_uint(&w, "pid", c->pid);
			jw_str(&w, "comm", c->comm);
			jw_str(&w, "cgroup", c->cgroup ? c->cgroup : "");
			jw_num(&w, "runq_us", c->runq_ns / 1e3);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr_start(&w, "tcp");
	for (i = 0; i < iv->ntcp; i++) {
		const struct tcp_row *r = &iv->tcp[i];
		char addr[64];
		struct lat_summary ms = r->lifetime;

		jw_obj_start(&w, NULL);
		owner_fields(&w, iv->by, r->pid, r->tid, r->comm, r->cgroup);
		jw_str(&w, "direction", r->lport && !r->rport ? "in" : "out");
		jw_str(&w, "raddr", fmt_addr(r->family, r->raddr, addr, sizeof(addr)));
		jw_uint(&w, "rport", r->rport);
		jw_uint(&w, "lport", r->lport);
		jw_uint(&w, "connects", r->v.connects);
		jw_uint(&w, "connect_errors", r->v.connect_errors);
		jw_uint(&w, "connect_refused", r->v.refused);
		jw_uint(&w, "connect_timeouts", r->v.timeouts);
		lat_fields(&w, "connect_us", &r->connect);
		jw_uint(&w, "retransmits", r->v.retransmits);
		jw_uint(&w, "resets_sent", r->v.resets_sent);
		jw_uint(&w, "resets_received", r->v.resets_received);
		jw_uint(&w, "rtt_samples", r->rtt.count);
		lat_fields(&w, "rtt_us", &r->rtt);
		jw_uint(&w, "closed", r->v.closed);
		jw_uint(&w, "bytes_sent", r->v.bytes_sent);
		jw_uint(&w, "bytes_received", r->v.bytes_received);
		/* lifetime in ms: the same summary scaled by 1e3 more */
		ms.p50 /= 1e3;
		ms.p90 /= 1e3;
		ms.p99 /= 1e3;
		ms.p999 /= 1e3;
		ms.max /= 1e3;
		ms.mean /= 1e3;
		lat_fields(&w, "lifetime_ms", &ms);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_start(&w, "drops");
	for (i = 0; i < LS_DROP_MAX; i++)
		jw_uint(&w, drop_names[i], iv->drops[i]);
	jw_obj_end(&w);
	jw_obj_end(&w);
	fputc('\n', f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
