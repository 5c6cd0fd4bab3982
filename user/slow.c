// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "json.h"
#include "names.h"
#include "schema.h"
#include "sink.h"
#include "slow.h"
#include "sysclass.h"
#include "util.h"

#define ROW(r) ((const struct slow_row *)(r))

/* --- cells that need more than their kind --- */

static char *text_time(const struct field *f, const void *row, const struct interval *iv, char *buf,
		       size_t len)
{
	time_t sec = (time_t)(ROW(row)->end_ns / 1000000000ULL);
	unsigned ms = (unsigned)(ROW(row)->end_ns % 1000000000ULL / 1000000);
	struct tm tm;
	char hms[16];

	(void)f, (void)iv;
	localtime_r(&sec, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03u", hms, ms);
	return buf;
}

static void json_time(const struct field *f, const void *row, const struct interval *iv,
		      struct jw *w)
{
	char ts[40];

	(void)iv;
	jw_str(w, f->json,
	       fmt_rfc3339(*(const uint64_t *)((const char *)row + f->off), ts, sizeof(ts)));
}

/* comm/tid, escaped */
static char *text_who(const struct field *f, const void *row, const struct interval *iv, char *buf,
		      size_t len)
{
	char comm[LS_COMM_LEN * 4 + 1];

	(void)f, (void)iv;
	snprintf(buf, len, "%s/%u", fmt_safe(ROW(row)->id.comm, LS_COMM_LEN, comm, sizeof(comm)),
		 ROW(row)->id.tid);
	return buf;
}

static char *text_ret(const struct field *f, const void *row, const struct interval *iv, char *buf,
		      size_t len)
{
	int64_t ret = ROW(row)->ret;
	char en[32];

	(void)f, (void)iv;
	if (ret < 0 && ret >= -4095)
		snprintf(buf, len, "-%s", errno_name((int)-ret, en, sizeof(en)));
	else
		snprintf(buf, len, "%lld", (long long)ret);
	return buf;
}

static void json_ret(const struct field *f, const void *row, const struct interval *iv,
		     struct jw *w)
{
	int64_t ret = ROW(row)->ret;
	char en[32];

	(void)f, (void)iv;
	jw_int(w, "ret", ret);
	if (ret < 0 && ret >= -4095)
		jw_str(w, "errno", errno_name((int)-ret, en, sizeof(en)));
}

static const char *const softirq_names[] = {
	"HI",	    "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
	"IRQ_POLL", "TASKLET", "SCHED",	 "HRTIMER", "RCU",
};

/* context and vector of a waker ("softirq" "NET_RX"); false: none */
static bool waker_ctx(const struct ls_waker *w, const char **ctx, char *vec, size_t len)
{
	switch (w->ctx) {
	case LS_WAKE_TASK: *ctx = "task"; return true;
	case LS_WAKE_SOFTIRQ:
		*ctx = "softirq";
		if (w->vec && w->vec <= ARRAY_SIZE(softirq_names))
			snprintf(vec, len, "%s", softirq_names[w->vec - 1]);
		else
			snprintf(vec, len, "softirq_%u", w->vec ? w->vec - 1u : 0u);
		return true;
	case LS_WAKE_HARDIRQ:
		*ctx = "hardirq";
		if (w->name[0])
			fmt_safe(w->name, sizeof(w->name), vec, len);
		else
			snprintf(vec, len, "irq_%d", w->irq);
		return true;
	case LS_WAKE_HRTIMER:
		*ctx = w->vec ? "softirq" : "hardirq";
		snprintf(vec, len, "hrtimer");
		return true;
	default: return false;
	}
}

static char *text_waker(const struct field *f, const void *row, const struct interval *iv,
			char *buf, size_t len)
{
	const struct ls_waker *w = &ROW(row)->waker;
	char comm[LS_COMM_LEN * 4 + 1], vec[LS_COMM_LEN * 4 + 1] = "";
	const char *ctx;

	(void)f, (void)iv;
	if (!waker_ctx(w, &ctx, vec, sizeof(vec))) {
		buf[0] = 0;
		return buf;
	}
	fmt_safe(w->comm, sizeof(w->comm), comm, sizeof(comm));
	if (w->ctx == LS_WAKE_TASK)
		snprintf(buf, len, "(woken by %s/%u)", comm, w->tid);
	else
		snprintf(buf, len, "(woken by %s %s over %s/%u)", ctx, vec, comm, w->tid);
	return buf;
}

static void json_task(struct jw *w, const char *name, const struct ls_waker *k)
{
	jw_obj_start(w, name);
	jw_uint(w, "pid", k->pid);
	jw_uint(w, "tid", k->tid);
	jw_strn(w, "comm", k->comm, strnlen(k->comm, sizeof(k->comm)));
	jw_obj_end(w);
}

static void json_waker(const struct field *f, const void *row, const struct interval *iv,
		       struct jw *w)
{
	const struct ls_waker *k = &ROW(row)->waker;
	char vec[LS_COMM_LEN * 4 + 1] = "";
	const char *ctx;

	(void)iv;
	if (!waker_ctx(k, &ctx, vec, sizeof(vec))) {
		jw_null(w, f->json);
		return;
	}
	jw_obj_start(w, f->json);
	jw_str(w, "context", ctx);
	if (k->ctx == LS_WAKE_TASK) {
		jw_uint(w, "pid", k->pid);
		jw_uint(w, "tid", k->tid);
		jw_strn(w, "comm", k->comm, strnlen(k->comm, sizeof(k->comm)));
	} else {
		if (k->ctx == LS_WAKE_HARDIRQ && k->name[0])
			jw_strn(w, "vector", k->name, strnlen(k->name, sizeof(k->name)));
		else
			jw_str(w, "vector", vec);
		json_task(w, "over", k);
	}
	jw_obj_end(w);
}

/* what an fd is, as the contract names it */
static const char *fd_type(const struct ls_fd *fd)
{
	static const struct {
		const char *anon, *type;
	} anon[] = {{"[eventfd]", "eventfd"}, {"[timerfd]", "timerfd"}, {"[eventpoll]", "epoll"}};

	switch (fd->type) {
	case LS_FD_TCP: return "tcp";
	case LS_FD_UDP: return "udp";
	case LS_FD_UNIX: return "unix";
	case LS_FD_FILE: return "file";
	case LS_FD_PIPE: return "pipe";
	case LS_FD_ANON:
		for (size_t i = 0; i < ARRAY_SIZE(anon); i++)
			if (!strncmp(fd->path, anon[i].anon, sizeof(fd->path)))
				return anon[i].type;
		return "other";
	case LS_FD_NONE: return NULL;
	default: return "other";
	}
}

static bool fd_is_inet(const struct ls_fd *fd)
{
	return (fd->type == LS_FD_TCP || fd->type == LS_FD_UDP || fd->type == LS_FD_SOCK) &&
	       (fd->family == AF_INET || fd->family == AF_INET6);
}

static char *text_fd(const struct field *f, const void *row, const struct interval *iv, char *buf,
		     size_t len)
{
	const struct slow_row *r = ROW(row);
	const char *type = fd_type(&r->fd);
	char a[INET6_ADDRSTRLEN + 2], path[sizeof(r->path) * 4];

	(void)f, (void)iv;
	if (!type) {
		buf[0] = 0;
		return buf;
	}
	if (fd_is_inet(&r->fd) && r->fd.rport) {
		fmt_addr(r->fd.family, r->fd.raddr, a, sizeof(a));
		snprintf(buf, len, "fd=%d %s %s%s%s:%u", r->fd.fd, type,
			 r->fd.family == AF_INET6 ? "[" : "", a,
			 r->fd.family == AF_INET6 ? "]" : "", r->fd.rport);
	} else if (fd_is_inet(&r->fd)) {
		snprintf(buf, len, "fd=%d %s :%u", r->fd.fd, type, r->fd.lport);
	} else if (r->fd.type == LS_FD_FILE) {
		snprintf(buf, len, "fd=%d %s", r->fd.fd,
			 fmt_safe(r->path, sizeof(r->path), path, sizeof(path)));
	} else {
		snprintf(buf, len, "fd=%d %s", r->fd.fd, type);
	}
	return buf;
}

static void json_fd(const struct field *f, const void *row, const struct interval *iv, struct jw *w)
{
	const struct slow_row *r = ROW(row);
	const char *type = fd_type(&r->fd);
	char a[INET6_ADDRSTRLEN];

	(void)iv;
	if (!type) {
		jw_null(w, f->json);
		return;
	}
	jw_obj_start(w, f->json);
	jw_int(w, "fd", r->fd.fd);
	jw_str(w, "type", type);
	if (fd_is_inet(&r->fd)) {
		jw_str(w, "laddr", fmt_addr(r->fd.family, r->fd.laddr, a, sizeof(a)));
		jw_uint(w, "lport", r->fd.lport);
		jw_str(w, "raddr", fmt_addr(r->fd.family, r->fd.raddr, a, sizeof(a)));
		jw_uint(w, "rport", r->fd.rport);
	} else if (r->fd.type == LS_FD_FILE) {
		jw_str(w, "path", r->path);
		jw_uint(w, "mnt_id", r->fd.mnt_id);
		jw_bool(w, "truncated", r->fd.truncated);
	} else if (r->fd.type == LS_FD_ANON && !strcmp(type, "other")) {
		jw_strn(w, "name", r->fd.path, strnlen(r->fd.path, sizeof(r->fd.path)));
	}
	jw_obj_end(w);
}

static void json_partial(const struct field *f, const void *row, const struct interval *iv,
			 struct jw *w)
{
	(void)iv;
	jw_bool(w, f->json, ROW(row)->partial);
}

#define NS(member, key, pre)                                                                    \
	{                                                                                       \
		.name = #member, .json = key, .kind = FK_NS, FIELD_AT(struct slow_row, member), \
		.scale = 1e3, .line = pre                                                       \
	}

static const struct field slow_fields[] = {
	{.name = "time",
	 .json = "time",
	 .kind = FK_DERIVED,
	 FIELD_AT(struct slow_row, end_ns),
	 .line = "",
	 .text = text_time,
	 .jsonfn = json_time},
	{.name = "who", .kind = FK_DERIVED, .line = "", .text = text_who},
	{.name = "syscall",
	 .json = "syscall",
	 .kind = FK_STRP,
	 FIELD_AT(struct slow_row, syscall),
	 .line = ""},
	{.name = "fd",
	 .json = "fd",
	 .kind = FK_DERIVED,
	 .line = "",
	 .text = text_fd,
	 .jsonfn = json_fd},
	NS(lat_ns, "lat_us", ""),
	NS(oncpu_ns, "oncpu_us", "= cpu "),
	NS(runq_ns, "runq_us", "+ runq "),
	NS(preempted_ns, "preempted_us", NULL),
	NS(blocked_ns, "blocked_us", "+ blocked "),
	NS(disk_ns, "blocked_disk_us", NULL),
	{.name = "switches",
	 .json = "switches",
	 .kind = FK_U32,
	 FIELD_AT(struct slow_row, switches)},
	{.name = "start",
	 .json = "start",
	 .kind = FK_DERIVED,
	 FIELD_AT(struct slow_row, start_ns),
	 .jsonfn = json_time},
	{.name = "cpu", .json = "cpu", .kind = FK_U32, FIELD_AT(struct slow_row, cpu)},
	{.name = "partial", .json = "partial", .kind = FK_DERIVED, .jsonfn = json_partial},
	{.name = "waker",
	 .json = "waker",
	 .kind = FK_DERIVED,
	 .line = "",
	 .text = text_waker,
	 .jsonfn = json_waker},
	{.name = "ret",
	 .json = "ret",
	 .kind = FK_DERIVED,
	 .line = "\xe2\x86\x92 ",
	 .text = text_ret,
	 .jsonfn = json_ret},
};

const struct row_schema slow_schema = {
	.name = "slow",
	.row_size = sizeof(struct slow_row),
	.fields = slow_fields,
	.nfields = ARRAY_SIZE(slow_fields),
	.default_sort = "lat_ns",
};

/* --- mount points --- */

struct mount_pt {
	uint32_t id;
	char *point;
};

struct mounts {
	struct mount_pt *m;
	size_t n, cap;
	uint64_t last_read_ns;
};

struct mounts *mounts__new(void)
{
	return calloc(1, sizeof(struct mounts));
}

static void mounts_clear(struct mounts *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->m[i].point);
	m->n = 0;
}

void mounts__free(struct mounts *m)
{
	if (!m)
		return;
	mounts_clear(m);
	free(m->m);
	free(m);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

static void mounts_read(struct mounts *m)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	mounts_clear(m);
	while (getline(&line, &cap, f) > 0) {
		unsigned int id;
		char point[4096];

		if (sscanf(line, "%u %*u %*s %*s %4095s", &id, point) != 2)
			continue;
		if (array_grow((void **)&m->m, &m->cap, m->n + 1, sizeof(*m->m)))
			break;
		unescape_octal(point);
		m->m[m->n].id = id;
		m->m[m->n].point = strdup(point);
		if (m->m[m->n].point)
			m->n++;
	}
	free(line);
	fclose(f);
}

const char *mounts__point(struct mounts *m, uint32_t id)
{
	struct timespec ts;
	uint64_t now;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->n; i++)
			if (m->m[i].id == id)
				return m->m[i].point;
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		if (pass || (m->last_read_ns && now - m->last_read_ns < 1000000000ULL))
			return NULL;
		m->last_read_ns = now;
		mounts_read(m);
	}
	return NULL;
}

/* --- events to rows --- */

void slow_row__fill(struct slow_row *r, const struct slow_event *e, struct names *names,
		    struct mounts *mounts, int64_t mono_to_real_ns)
{
	memset(r, 0, sizeof(*r));
	r->id.pid = e->pid;
	r->id.tid = e->tid;
	r->id.cgid = e->cgid;
	memcpy(r->id.comm, e->comm, LS_COMM_LEN);
	r->id.comm[LS_COMM_LEN - 1] = 0;
	r->id.cgroup = names ? names__cgroup(names, e->cgid) : NULL;
	r->start_ns = e->start_ns + mono_to_real_ns;
	r->end_ns = r->start_ns + e->lat_ns;
	r->syscall = sysclass_call_name(e->nr, r->name_buf, sizeof(r->name_buf));
	r->ret = e->ret;
	r->lat_ns = e->lat_ns;
	r->oncpu_ns = e->oncpu_ns;
	r->runq_ns = e->runq_ns;
	r->preempted_ns = e->preempted_ns;
	r->blocked_ns = e->blocked_ns;
	r->disk_ns = e->disk_ns;
	r->switches = e->switches;
	r->partial = e->flags & LS_SLOW_PARTIAL;
	r->cpu = e->cpu;
	r->waker = e->waker;
	r->fd = e->fd;
	r->fd.path[sizeof(r->fd.path) - 1] = 0;
	if (r->fd.type == LS_FD_FILE) {
		const char *mp = mounts ? mounts__point(mounts, e->fd.mnt_id) : NULL;
		const char *cut = r->fd.truncated ? "/..." : "";

		/* the path below the mount, under the mount point when known */
		if (!mp)
			snprintf(r->path, sizeof(r->path), "%s%s", cut, r->fd.path);
		else if (!strcmp(mp, "/"))
			snprintf(r->path, sizeof(r->path), "%s%s", cut,
				 r->fd.path[0] || *cut ? r->fd.path : "/");
		else
			snprintf(r->path, sizeof(r->path), "%s%s%s", mp, cut, r->fd.path);
	}
}

/* --- the ring buffer --- */

struct slow_reader {
	struct ring_buffer *rb;
	struct bpf_map *drops;
	struct names *names;
	struct mounts *mounts;
	bool json;
	FILE *out;
	int err; /* the first render error */
	uint64_t reported[LS_SLOW_DROPS];
};

static int64_t mono_to_real(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000LL + (r.tv_nsec - m.tv_nsec);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct slow_reader *r = ctx;
	struct slow_row row;
	int err;

	if (len < sizeof(struct slow_event) || r->err)
		return 0;
	slow_row__fill(&row, data, r->names, r->mounts, mono_to_real());
	err = r->json ? sink_json__object(r->out, &slow_schema, &row, LS_BY_THREAD)
		      : sink_text__line(r->out, &slow_schema, &row);
	if (err)
		r->err = err;
	return 0;
}

struct slow_reader *slow_reader__new(struct bpf_map *events, struct bpf_map *drops,
				     struct names *names, bool json, FILE *out)
{
	struct slow_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->drops = drops;
	r->names = names;
	r->json = json;
	r->out = out;
	r->mounts = mounts__new();
	r->rb = ring_buffer__new(bpf_map__fd(events), on_event, r, NULL);
	if (!r->mounts || !r->rb) {
		int err = errno;

		slow_reader__free(r);
		errno = err ? err : ENOMEM;
		return NULL;
	}
	return r;
}

int slow_reader__poll(struct slow_reader *r, int timeout_ms)
{
	int n = ring_buffer__poll(r->rb, timeout_ms);

	if (r->err)
		return r->err;
	return n == -EINTR ? 0 : n;
}

int slow_reader__drops(struct slow_reader *r)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t now[LS_SLOW_DROPS] = {}, d[LS_SLOW_DROPS];
	uint64_t *vals;
	struct timespec rt;
	char ts[40];

	if (ncpu <= 0 || !(vals = calloc(ncpu, sizeof(*vals))))
		return -ENOMEM;
	for (uint32_t k = 0; k < LS_SLOW_DROPS; k++) {
		if (!bpf_map__lookup_elem(r->drops, &k, sizeof(k), vals, ncpu * sizeof(*vals), 0))
			for (int c = 0; c < ncpu; c++)
				now[k] += vals[c];
		d[k] = now[k] - r->reported[k];
		r->reported[k] = now[k];
	}
	free(vals);
	if (!d[LS_SLOW_RATE_LIMITED] && !d[LS_SLOW_LOST])
		return 0;
	if (!r->json) {
		fprintf(stderr,
			"latscope: %llu slow calls not shown: %llu over --max-rate, %llu lost "
			"(ring buffer full)\n",
			(unsigned long long)(d[LS_SLOW_RATE_LIMITED] + d[LS_SLOW_LOST]),
			(unsigned long long)d[LS_SLOW_RATE_LIMITED],
			(unsigned long long)d[LS_SLOW_LOST]);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	fprintf(r->out,
		"{\"type\":\"drops\",\"time\":\"%s\",\"rate_limited\":%llu,\"lost\":%llu}\n",
		fmt_rfc3339(rt.tv_sec * 1000000000ULL + rt.tv_nsec, ts, sizeof(ts)),
		(unsigned long long)d[LS_SLOW_RATE_LIMITED], (unsigned long long)d[LS_SLOW_LOST]);
	errno = 0;
	fflush(r->out);
	return stream_error(r->out);
}

bool slow_reader__failed(const struct slow_reader *r)
{
	return r->err != 0;
}

void slow_reader__free(struct slow_reader *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	mounts__free(r->mounts);
	free(r);
}
