// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Renders the rows of a fixture file (tests/fixtures/rows.txt) through the
 * real sinks, so tests/unit/test_golden.py can compare text and NDJSON
 * byte for byte with the golden files.
 *
 * Usage: render_rows FIXTURE [--json] [--sort NAME] [--by process|thread|cgroup]
 *                    [--rows N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "rows.h"
#include "sink.h"
#include "stats.h"
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

static void summarize(const struct hspec *h, struct lat_summary *out)
{
	hist_summarize(h->bins, h->n, h->sum, h->max, out);
}

static void owner(char **t, int n, uint32_t *pid, uint32_t *tid, uint64_t *cgid, char *comm,
		  const char **cgroup, enum ls_by by)
{
	*pid = by == LS_BY_CGROUP ? 0 : (uint32_t)num(t, n, "pid");
	*tid = by == LS_BY_THREAD ? (uint32_t)num(t, n, "tid") : 0;
	*cgid = num(t, n, "cgid");
	snprintf(comm, LS_COMM_LEN, "%s", decode(field(t, n, "comm")));
	*cgroup = decode(field(t, n, "cgroup"));
}

static void add_sys(struct interval *iv, char **t, int n)
{
	struct sys_row *r;
	struct hspec h;
	char buf[512], *save = NULL;

	if (array_grow((void **)&iv->sys, &iv->sys_cap, iv->nsys + 1, sizeof(*r)))
		exit(1);
	r = &iv->sys[iv->nsys++];
	memset(r, 0, sizeof(*r));
	owner(t, n, &r->pid, &r->tid, &r->cgid, r->comm, &r->cgroup, iv->by);
	r->nr = (uint32_t)num(t, n, "nr");
	hist(field(t, n, "lat"), &h);
	summarize(&h, &r->lat);
	r->count = r->lat.count;
	r->err_off = iv->nerrs;
	snprintf(buf, sizeof(buf), "%s", field(t, n, "errs"));
	for (char *e = strtok_r(buf, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		unsigned en;
		unsigned long long c;

		if (sscanf(e, "%u:%llu", &en, &c) != 2)
			die("errno", e);
		if (array_grow((void **)&iv->errs, &iv->errs_cap, iv->nerrs + 1, sizeof(*iv->errs)))
			exit(1);
		iv->errs[iv->nerrs].err = en;
		iv->errs[iv->nerrs++].count = c;
		r->errors += c;
	}
	r->err_n = iv->nerrs - r->err_off;
}

static void add_sched(struct interval *iv, char **t, int n)
{
	struct sched_row *r;
	struct hspec h;
	char buf[1024], *save = NULL;

	if (array_grow((void **)&iv->sched, &iv->sched_cap, iv->nsched + 1, sizeof(*r)))
		exit(1);
	r = &iv->sched[iv->nsched++];
	memset(r, 0, sizeof(*r));
	owner(t, n, &r->pid, &r->tid, &r->cgid, r->comm, &r->cgroup, iv->by);
	hist(field(t, n, "runq"), &h);
	summarize(&h, &r->runq);
	r->runq_ns = h.sum;
	r->oncpu_ns = num(t, n, "oncpu");
	r->sleep_ns = num(t, n, "sleep");
	r->disk_ns = num(t, n, "disk");
	r->preempted_ns = num(t, n, "preempted");
	r->other_ns = num(t, n, "other");
	r->vol_switches = num(t, n, "vol");
	r->invol_switches = num(t, n, "invol");
	r->offcpu_ns = r->sleep_ns + r->disk_ns + r->preempted_ns + r->other_ns;
	r->cul_off = iv->nculprits;
	snprintf(buf, sizeof(buf), "%s", field(t, n, "cul"));
	for (char *e = strtok_r(buf, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
		char comm[64], cg[256];
		unsigned pid;
		unsigned long long cgid, ns;
		struct culprit *c;

		if (sscanf(e, "%u:%llu:%63[^:]:%255[^:]:%llu", &pid, &cgid, comm, cg, &ns) != 5)
			die("culprit", e);
		if (r->cul_n == SCHED_CULPRITS)
			continue;
		if (array_grow((void **)&iv->culprits, &iv->culprits_cap, iv->nculprits + 1,
			       sizeof(*c)))
			exit(1);
		c = &iv->culprits[iv->nculprits++];
		memset(c, 0, sizeof(*c));
		c->pid = pid;
		c->cgid = cgid;
		snprintf(c->comm, sizeof(c->comm), "%s", decode(comm));
		c->cgroup = decode(cg);
		c->runq_ns = ns;
		r->cul_n++;
	}
}

static void add_tcp(struct interval *iv, char **t, int n)
{
	struct tcp_row *r;
	struct hspec h;
	unsigned long long v[10];

	if (array_grow((void **)&iv->tcp, &iv->tcp_cap, iv->ntcp + 1, sizeof(*r)))
		exit(1);
	r = &iv->tcp[iv->ntcp++];
	memset(r, 0, sizeof(*r));
	owner(t, n, &r->pid, &r->tid, &r->cgid, r->comm, &r->cgroup, iv->by);
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
	hist(field(t, n, "connect"), &h);
	summarize(&h, &r->connect);
	hist(field(t, n, "rtt"), &h);
	summarize(&h, &r->rtt);
	hist(field(t, n, "lifetime"), &h);
	summarize(&h, &r->lifetime);
}

int main(int argc, char **argv)
{
	struct interval iv = {};
	struct text_opts to = {.show_sys = true, .show_sched = true, .show_tcp = true};
	bool json = false;
	char line[4096];
	FILE *f;

	if (argc < 2)
		die("usage", "render_rows FIXTURE [options]");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--sort") && i + 1 < argc) {
			if (sort_parse(argv[++i], &to.sort))
				die("--sort", argv[i]);
		} else if (!strcmp(argv[i], "--by") && i + 1 < argc) {
			i++;
			iv.by = !strcmp(argv[i], "thread")   ? LS_BY_THREAD
				: !strcmp(argv[i], "cgroup") ? LS_BY_CGROUP
							     : LS_BY_PROCESS;
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
		for (char *t = strtok_r(line, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
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
	rows_sort(&iv, to.sort);
	if (json)
		return sink_json__render(stdout, &iv) ? 1 : 0;
	return sink_text__render(stdout, &iv, &to) ? 1 : 0;
}
