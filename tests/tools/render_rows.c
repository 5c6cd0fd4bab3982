// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Renders the rows of a fixture file (tests/fixtures/rows.txt) through the
 * real sinks, so tests/unit/test_golden.py can compare text and NDJSON
 * byte for byte with the golden files.
 *
 * Usage: render_rows FIXTURE [--json] [--sort NAME] [--rows N]
 *                    [--by process|thread|comm|cgroup] [--group-comm]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "rows.h"
#include "sched.h"
#include "schema.h"
#include "sink.h"
#include "stats.h"
#include "syscalls.h"
#include "tcp.h"
#include "util.h"

#define MAXBINS 64

struct hspec {
	struct hbin bins[MAXBINS];
	size_t n;
	uint64_t sum, max;
};

static char strs[64][256];
static int nstrs;

static void die(const char *what, const char *v)
{
	fprintf(stderr, "render_rows: bad %s '%s'\n", what, v);
	exit(2);
}

/* %XX-decoded copy, kept for the life of the program */
static const char *decode(const char *s)
{
	char *o;
	size_t j = 0;

	if (nstrs == 64)
		die("fixture", "too many strings");
	o = strs[nstrs++];
	for (size_t i = 0; s[i] && j < 255; i++) {
		if (s[i] == '%' && s[i + 1] && s[i + 2]) {
			char hex[3] = {s[i + 1], s[i + 2], 0};

			o[j++] = (char)strtoul(hex, NULL, 16);
			i += 2;
		} else {
			o[j++] = s[i];
		}
	}
	o[j] = 0;
	return o;
}

static const char *field(char **toks, int n, const char *name)
{
	size_t l = strlen(name);

	for (int i = 0; i < n; i++)
		if (!strncmp(toks[i], name, l) && toks[i][l] == '=')
			return toks[i] + l + 1;
	die("missing field", name);
	return NULL;
}

static uint64_t num(char **toks, int n, const char *name)
{
	return strtoull(field(toks, n, name), NULL, 0);
}

/* SUM/MAX/b:c:s,... */
static void hist(const char *s, struct hspec *h)
{
	char buf[1024], *p, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	memset(h, 0, sizeof(*h));
	h->sum = strtoull(buf, &p, 0);
	if (*p++ != '/')
		die("histogram", s);
	h->max = strtoull(p, &p, 0);
	if (*p++ != '/')
		die("histogram", s);
	for (char *t = strtok_r(p, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned b;
		unsigned long long c, sm;

		if (sscanf(t, "%u:%llu:%llu", &b, &c, &sm) != 3 || h->n == MAXBINS)
			die("bin", t);
		h->bins[h->n].bucket = b;
		h->bins[h->n].count = c;
		h->bins[h->n++].sum = sm;
	}
}

/* a fixture histogram into the interval's bins */
static void hist_row(struct interval *iv, const char *spec, struct row_hist *out)
{
	struct hspec h;
	long off;

	hist(spec, &h);
	off = interval__add_bins(iv, h.bins, h.n);
	if (off < 0)
		exit(1);
	out->off = (uint32_t)off;
	out->n = (uint32_t)h.n;
	out->sum_ns = h.sum;
	out->max_ns = h.max;
}

static void *add_row(struct interval *iv, const struct coll_desc *d, char **t, int n)
{
	struct table *tb = interval__table(iv, d->schema);
	struct row_id *id;

	if (!tb || !(id = table__add(tb)))
		exit(1);
	tb->active = true;
	if (iv->by != LS_BY_CGROUP && iv->by != LS_BY_COMM)
		id->pid = (uint32_t)num(t, n, "pid");
	if (iv->by == LS_BY_THREAD)
		id->tid = (uint32_t)num(t, n, "tid");
	if (iv->by != LS_BY_COMM) {
		id->cgid = num(t, n, "cgid");
		id->cgroup = decode(field(t, n, "cgroup"));
	}
	if (iv->by != LS_BY_CGROUP)
		snprintf(id->comm, LS_COMM_LEN, "%s", decode(field(t, n, "comm")));
	return id;
}

static void add_sys(struct interval *iv, char **t, int n)
{
	struct sys_row *r = add_row(iv, &sys_coll_desc, t, n);
	char buf[512], *save = NULL;

	r->nr = (uint32_t)num(t, n, "nr");
	hist_row(iv, field(t, n, "lat"), &r->lat);
	for (uint32_t i = 0; i < r->lat.n; i++)
		r->count += iv->bins[r->lat.off + i].count;
	r->errs.off = (uint32_t)iv->nerrs;
	snprintf(buf, sizeof(buf), "%s", field(t, n, "errs"));
	for (char *e = strtok_r(buf, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		unsigned en;
		unsigned long long c;

		if (sscanf(e, "%u:%llu", &en, &c) != 2)
			die("errno", e);
		if (interval__add_errno(iv, en, c))
			exit(1);
		r->errors += c;
	}
	r->errs.n = (uint32_t)(iv->nerrs - r->errs.off);
}

static void add_sched(struct interval *iv, char **t, int n)
{
	struct sched_row *r = add_row(iv, &sched_coll_desc, t, n);
	char buf[1024], *save = NULL;

	hist_row(iv, field(t, n, "runq"), &r->runq);
	r->oncpu_ns = num(t, n, "oncpu");
	r->sleep_ns = num(t, n, "sleep");
	r->disk_ns = num(t, n, "disk");
	r->preempted_ns = num(t, n, "preempted");
	r->other_ns = num(t, n, "other");
	r->vol_switches = num(t, n, "vol");
	r->invol_switches = num(t, n, "invol");
	r->offcpu_ns = r->sleep_ns + r->disk_ns + r->preempted_ns + r->other_ns;
	r->culprits.off = (uint32_t)iv->nculprits;
	snprintf(buf, sizeof(buf), "%s", field(t, n, "cul"));
	for (char *e = strtok_r(buf, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
		char comm[64], cg[256];
		unsigned pid;
		unsigned long long cgid, ns;
		struct culprit c = {};

		if (sscanf(e, "%u:%llu:%63[^:]:%255[^:]:%llu", &pid, &cgid, comm, cg, &ns) != 5)
			die("culprit", e);
		if (r->culprits.n == ROW_CULPRITS)
			continue;
		c.pid = pid;
		c.cgid = cgid;
		snprintf(c.comm, sizeof(c.comm), "%s", decode(comm));
		c.cgroup = decode(cg);
		c.runq_ns = ns;
		if (interval__add_culprit(iv, &c))
			exit(1);
		r->culprits.n++;
	}
}

static void add_tcp(struct interval *iv, char **t, int n)
{
	struct tcp_row *r = add_row(iv, &tcp_coll_desc, t, n);
	unsigned long long v[10];

	r->family = num(t, n, "family") == 10 ? AF_INET6 : AF_INET;
	if (inet_pton(r->family, field(t, n, "raddr"), r->raddr) != 1)
		die("raddr", field(t, n, "raddr"));
	r->rport = (uint16_t)num(t, n, "rport");
	r->lport = (uint16_t)num(t, n, "lport");
	if (sscanf(field(t, n, "v"), "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) != 10)
		die("counters", field(t, n, "v"));
	r->v.connects = v[0];
	r->v.connect_errors = v[1];
	r->v.refused = v[2];
	r->v.timeouts = v[3];
	r->v.retransmits = v[4];
	r->v.resets_sent = v[5];
	r->v.resets_received = v[6];
	r->v.closed = v[7];
	r->v.bytes_sent = v[8];
	r->v.bytes_received = v[9];
	hist_row(iv, field(t, n, "connect"), &r->connect);
	hist_row(iv, field(t, n, "rtt"), &r->rtt);
	hist_row(iv, field(t, n, "lifetime"), &r->lifetime);
}

int main(int argc, char **argv)
{
	struct interval iv = {};
	struct text_opts to = {.sort = "p99"};
	bool json = false, group = false, hide_idle = false;
	char line[4096];
	FILE *f;

	if (argc < 2)
		die("usage", "render_rows FIXTURE [options]");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--sort") && i + 1 < argc) {
			to.sort = argv[++i];
		} else if (!strcmp(argv[i], "--group-comm")) {
			group = true; /* process rows merged by comm in user space */
		} else if (!strcmp(argv[i], "--by") && i + 1 < argc) {
			i++;
			iv.by = !strcmp(argv[i], "thread")   ? LS_BY_THREAD
				: !strcmp(argv[i], "cgroup") ? LS_BY_CGROUP
				: !strcmp(argv[i], "comm")   ? LS_BY_COMM
							     : LS_BY_PROCESS;
		} else if (!strcmp(argv[i], "--hide-idle")) {
			hide_idle = true; /* as top does without --all */
		} else if (!strcmp(argv[i], "--all")) {
			iv.groups |= FG_IDLE; /* as top --all: rows say whether idle */
		} else if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
			to.max_rows = atoi(argv[++i]);
		} else {
			die("option", argv[i]);
		}
	}
	f = fopen(argv[1], "r");
	if (!f)
		die("fixture", argv[1]);
	while (fgets(line, sizeof(line), f)) {
		char *toks[32], *save = NULL;
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		for (char *t = strtok_r(line, " ", &save); t && n < 32;
		     t = strtok_r(NULL, " ", &save))
			toks[n++] = t;
		if (!strcmp(toks[0], "sys"))
			add_sys(&iv, toks + 1, n - 1);
		else if (!strcmp(toks[0], "sched"))
			add_sched(&iv, toks + 1, n - 1);
		else if (!strcmp(toks[0], "tcp"))
			add_tcp(&iv, toks + 1, n - 1);
		else
			die("row kind", toks[0]);
	}
	fclose(f);
	iv.realtime_ns = 1795000000123000000ULL;
	iv.interval_s = 2.0;
	iv.drops[LS_DROP_RUNQ] = 3;
	if (group && interval__group_by_comm(&iv))
		exit(1);
	if (hide_idle)
		interval__hide_idle(&iv);
	interval__summarize(&iv);
	interval__sort(&iv, to.sort);
	if (json)
		return sink_json__render(stdout, &iv) ? 1 : 0;
	return sink_text__render(stdout, &iv, &to) ? 1 : 0;
}
