// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Prometheus sink (user/prom.c) over fixture rows: cumulative series
 * that never go backwards, le buckets that count exactly what the bins
 * hold, the series cap, expiry, escaping, and the listen/bucket parsers.
 * No root, no BPF, no HTTP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "hist.h"
#include "names.h"
#include "prom.h"
#include "rows.h"
#include "schema.h"
#include "syscalls.h"
#include "test.h"
#include "util.h"

#define MS 1000000ULL

/* a syscall row: n samples of ns each, nerr ENOENT */
static void add_sys(struct interval *iv, uint32_t pid, const char *comm, const char *nr_name,
		    uint64_t ns, uint64_t n, uint64_t nerr)
{
	struct table *t = interval__table(iv, sys_coll_desc.schema);
	struct sys_row *r = table__add(t);
	struct hbin *b = interval__bins_reserve(iv, 1);

	r->id.pid = pid;
	r->id.cgroup = "/system.slice/redis-server.service";
	snprintf(r->id.comm, LS_COMM_LEN, "%s", comm);
	r->nr = (uint32_t)syscall_nr(nr_name);
	b->bucket = hist_bucket(ns);
	b->count = n;
	r->lat.sum_ns = ns * n;
	interval__set_hist(iv, &r->lat, n ? 1 : 0);
	r->count = n;
	r->errs.off = (uint32_t)iv->nerrs;
	if (nerr) {
		interval__add_errno(iv, ENOENT, nerr);
		r->errs.n = 1;
		r->errors = nerr;
	}
}

/* the page as one string (free it) */
static char *render(struct prom_store *st, bool om)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	prom_store__render(st, f, om);
	fclose(f);
	return buf;
}

/* the value of the sample line that starts with prefix, or -1 */
static double sample(const char *page, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = page; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

#define LBL "comm=\"redis-server\",cgroup=\"redis-server.service\",syscall=\"read\",idle=\"false\""

TEST_CASE(prom_counts_accumulate_across_intervals_and_never_go_back)
{
	struct prom_opts o = {.max_series = 100, .ttl_ns = 600 * 1000 * MS};
	struct prom_store *st = prom_store__new(&o);
	struct interval iv = {};
	char *page;

	ASSERT(st, "store");
	add_sys(&iv, 10, "redis-server", "read", 3 * MS, 5, 2);
	add_sys(&iv, 11, "redis-server", "read", 3 * MS, 7, 0); /* another pid, same labels */
	ASSERT(prom_store__add(st, &iv, 1000) == 0, "add 1");
	interval__reset(&iv);
	/* the next interval: one pid gone (a process exited, its kernel key
	 * deleted): the label set keeps its total */
	add_sys(&iv, 11, "redis-server", "read", 3 * MS, 1, 1);
	ASSERT(prom_store__add(st, &iv, 2000) == 0, "add 2");
	page = render(st, false);
	ASSERT_EQ_U64(sample(page, "latscope_syscall_duration_seconds_count{" LBL "}"), 13,
		      "calls of both pids over both intervals");
	ASSERT_EQ_U64(sample(page, "latscope_syscall_errors_total{" LBL ",errno=\"ENOENT\"}"), 3,
		      "ENOENT over both intervals");
	ASSERT(sample(page, "latscope_syscall_duration_seconds_sum{" LBL "}") > 0.0389 &&
		       sample(page, "latscope_syscall_duration_seconds_sum{" LBL "}") < 0.0391,
	       "sum of 13 x 3 ms in seconds: %g",
	       sample(page, "latscope_syscall_duration_seconds_sum{" LBL "}"));
	ASSERT(!strstr(page, "pid="), "a pid label leaked into the page");
	free(page);
	interval__free(&iv);
	prom_store__free(st);
}

TEST_CASE(prom_le_buckets_count_exactly_what_the_bins_hold)
{
	struct prom_opts o = {.max_series = 100, .ttl_ns = 600 * 1000 * MS};
	struct prom_store *st = prom_store__new(&o);
	struct interval iv = {};
	uint64_t b[PROM_MAX_BOUNDS];
	size_t nb = prom_default_bounds(b, PROM_MAX_BOUNDS);
	char *page, key[256];

	ASSERT(nb == 49 && b[0] == 1024 && b[nb - 1] == 1ULL << 34, "default bounds: %zu", nb);
	for (size_t i = 0; i < nb; i++)
		ASSERT(hist_bucket_lo(hist_bucket(b[i])) == b[i], "bound %llu is not a bin bound",
		       (unsigned long long)b[i]);
	/* 1535 ns is the last value below the 1.536 us bound, 1536 the first
	 * at it (it is in the next bin: le counts values below the bound's bin) */
	add_sys(&iv, 1, "redis-server", "read", 1535, 4, 0);
	add_sys(&iv, 2, "redis-server", "read", 1536, 2, 0);
	add_sys(&iv, 3, "redis-server", "read", 20ULL * 1000 * MS, 1, 0); /* past 17.18 s */
	ASSERT(prom_store__add(st, &iv, 1) == 0, "add");
	page = render(st, false);
	snprintf(key, sizeof(key), "latscope_syscall_duration_seconds_bucket{%s,le=\"1.024e-06\"}",
		 LBL);
	ASSERT_EQ_U64(sample(page, key), 0, "le 1.024us");
	snprintf(key, sizeof(key), "latscope_syscall_duration_seconds_bucket{%s,le=\"1.536e-06\"}",
		 LBL);
	ASSERT_EQ_U64(sample(page, key), 4, "le 1.536us");
	snprintf(key, sizeof(key), "latscope_syscall_duration_seconds_bucket{%s,le=\"2.048e-06\"}",
		 LBL);
	ASSERT_EQ_U64(sample(page, key), 6, "le 2.048us");
	snprintf(key, sizeof(key),
		 "latscope_syscall_duration_seconds_bucket{%s,le=\"17.179869184\"}", LBL);
	ASSERT_EQ_U64(sample(page, key), 6, "le 17.18s");
	snprintf(key, sizeof(key), "latscope_syscall_duration_seconds_bucket{%s,le=\"+Inf\"}", LBL);
	ASSERT_EQ_U64(sample(page, key), 7, "+Inf");
	free(page);
	interval__free(&iv);
	prom_store__free(st);
}

TEST_CASE(prom_series_cap_folds_open_labels_into_other_and_counts_it)
{
	struct prom_opts o = {.max_series = 2, .ttl_ns = 600 * 1000 * MS};
	struct prom_store *st = prom_store__new(&o);
	struct interval iv = {};
	char *page;

	add_sys(&iv, 1, "a", "read", MS, 1, 0);
	add_sys(&iv, 2, "b", "read", MS, 1, 0);
	add_sys(&iv, 3, "c", "read", MS, 3, 0);
	add_sys(&iv, 4, "d", "write", MS, 5, 0);
	ASSERT(prom_store__add(st, &iv, 1) == 0, "add");
	page = render(st, false);
	ASSERT_EQ_U64(sample(page, "latscope_syscall_duration_seconds_count{comm=\"other\","
				   "cgroup=\"other\",syscall=\"read\",idle=\"false\"}"),
		      3, "c folded, its syscall label kept");
	ASSERT_EQ_U64(sample(page, "latscope_syscall_duration_seconds_count{comm=\"other\","
				   "cgroup=\"other\",syscall=\"write\",idle=\"false\"}"),
		      5, "d folded");
	ASSERT(sample(page, "latscope_syscall_duration_seconds_count{comm=\"c\",cgroup="
			    "\"redis-server.service\",syscall=\"read\",idle=\"false\"}") < 0,
	       "c kept its own series past the cap");
	ASSERT_EQ_U64(sample(page, "latscope_dropped_total{what=\"series\"}"), 2, "folds counted");
	free(page);
	interval__free(&iv);
	prom_store__free(st);
}

TEST_CASE(prom_series_not_updated_for_the_ttl_are_dropped)
{
	struct prom_opts o = {.max_series = 100, .ttl_ns = 10 * MS};
	struct prom_store *st = prom_store__new(&o);
	struct interval iv = {};

	add_sys(&iv, 1, "a", "read", MS, 1, 0);
	add_sys(&iv, 2, "b", "read", MS, 1, 0);
	ASSERT(prom_store__add(st, &iv, 1000 * MS) == 0, "add");
	ASSERT_EQ_U64(prom_store__series(st), 2, "two series");
	interval__reset(&iv);
	add_sys(&iv, 2, "b", "read", MS, 1, 0);
	ASSERT(prom_store__add(st, &iv, 1009 * MS) == 0, "add");
	ASSERT_EQ_U64(prom_store__series(st), 2, "both within the TTL");
	interval__reset(&iv);
	ASSERT(prom_store__add(st, &iv, 1011 * MS) == 0, "add");
	ASSERT_EQ_U64(prom_store__series(st), 1, "a expired, b (seen at 1009 ms) kept");
	interval__free(&iv);
	prom_store__free(st);
}

TEST_CASE(prom_label_values_escaped_and_valid_utf8)
{
	struct prom_opts o = {.max_series = 100, .ttl_ns = 600 * 1000 * MS};
	struct prom_store *st = prom_store__new(&o);
	struct interval iv = {};
	char out[256], *page;

	ASSERT(!strcmp(prom_escape("a\"b\\c\nd", out, sizeof(out)), "a\\\"b\\\\c\\nd"), "%s", out);
	ASSERT(!strcmp(prom_escape("\x1b[2J\xff", out, sizeof(out)), "\\\\x1b[2J\\\\xff"), "%s",
	       out);
	ASSERT(!strcmp(prom_escape("caf\xc3\xa9", out, sizeof(out)), "caf\xc3\xa9"),
	       "valid UTF-8 kept: %s", out);
	ASSERT(!strcmp(prom_escape("\xc3(", out, sizeof(out)), "\\\\xc3("),
	       "a cut sequence escaped: %s", out);
	ASSERT(!strcmp(prom_escape("\xed\xa0\x80", out, sizeof(out)), "\\\\xed\\\\xa0\\\\x80"),
	       "a surrogate escaped: %s", out);
	add_sys(&iv, 1, "x\"\n\x1b]0;", "read", MS, 1, 0);
	ASSERT(prom_store__add(st, &iv, 1) == 0, "add");
	page = render(st, false);
	ASSERT(strstr(page, "comm=\"x\\\"\\n\\\\x1b]0;\""), "comm escaped in the page");
	for (const char *p = page; *p; p++)
		ASSERT(*p == '\n' || (unsigned char)*p >= 0x20, "raw control byte 0x%02x in page",
		       (unsigned char)*p);
	free(page);
	interval__free(&iv);
	prom_store__free(st);
}

TEST_CASE(prom_openmetrics_names_counter_families_without_total)
{
	struct prom_opts o = {.max_series = 100, .ttl_ns = 600 * 1000 * MS};
	struct prom_store *st = prom_store__new(&o);
	struct interval iv = {};
	char *text, *om;

	add_sys(&iv, 1, "a", "openat", MS, 3, 3);
	ASSERT(prom_store__add(st, &iv, 1) == 0, "add");
	text = render(st, false);
	om = render(st, true);
	ASSERT(strstr(text, "# TYPE latscope_syscall_errors_total counter\n"), "text TYPE");
	ASSERT(strstr(om, "# TYPE latscope_syscall_errors counter\n"), "OpenMetrics TYPE");
	ASSERT(strstr(om, "\nlatscope_syscall_errors_total{"), "OpenMetrics sample keeps _total");
	ASSERT(strstr(om, "# TYPE latscope_syscall_duration_seconds histogram\n"), "histogram");
	free(text);
	free(om);
	interval__free(&iv);
	prom_store__free(st);
}

TEST_CASE(prom_every_exported_field_has_help_and_a_countable_kind)
{
	for (size_t c = 0; c < coll_count; c++) {
		const struct row_schema *s = coll_all[c]->schema;

		for (size_t i = 0; i < s->nfields; i++) {
			const struct field *f = &s->fields[i];
			bool help = f->help;

			if (f->role == PROM_NONE || f->role == PROM_LABEL)
				continue;
			/* one help per family: an earlier field of it may carry it */
			for (size_t j = 0; j < i && !help; j++)
				help = s->fields[j].prom && !strcmp(s->fields[j].prom, f->prom) &&
				       s->fields[j].help;
			ASSERT(help, "%s.%s (%s) has no help", s->name, f->name, f->prom);
			if (f->role == PROM_COUNTER)
				ASSERT(f->kind == FK_U64 || f->kind == FK_NS,
				       "%s.%s: a counter must be FK_U64 or FK_NS", s->name,
				       f->name);
			if (f->role == PROM_HISTOGRAM)
				ASSERT(f->kind == FK_HIST, "%s.%s: histogram of kind %d", s->name,
				       f->name, f->kind);
		}
	}
}

TEST_CASE(prom_bucket_list_rounds_up_to_bin_bounds)
{
	struct prom_opts o = {};
	char err[256];

	ASSERT(prom_parse_bounds("1ms,10ms,1s", &o, err, sizeof(err)) == 0, "%s", err);
	ASSERT_EQ_U64(o.nbounds, 3, "bounds");
	ASSERT_EQ_U64(o.bounds_ns[0], 1048576, "1ms up to the bin bound 1.048576 ms");
	for (size_t i = 0; i < o.nbounds; i++)
		ASSERT(hist_bucket_lo(hist_bucket(o.bounds_ns[i])) == o.bounds_ns[i],
		       "bound %zu not a bin bound", i);
	ASSERT(prom_parse_bounds("10ms,1ms", &o, err, sizeof(err)) == -EINVAL, "decreasing");
	ASSERT(strstr(err, "--buckets"), "message names the option: %s", err);
	ASSERT(prom_parse_bounds("1ms,1.01ms", &o, err, sizeof(err)) == -EINVAL,
	       "two bounds in one bin");
	ASSERT(prom_parse_bounds("1ms,,2ms", &o, err, sizeof(err)) == 0 && o.nbounds == 2,
	       "empty items are skipped");
	ASSERT(prom_parse_bounds("fast", &o, err, sizeof(err)) == -EINVAL, "not a duration");
}

TEST_CASE(listen_addresses_parse_strictly)
{
	struct sockaddr_storage ss;
	unsigned int len;

	ASSERT(parse_listen("127.0.0.1:9580", &ss, &len) == 0 && ss.ss_family == AF_INET &&
		       ntohs(((struct sockaddr_in *)&ss)->sin_port) == 9580,
	       "ipv4");
	ASSERT(parse_listen("[::1]:80", &ss, &len) == 0 && ss.ss_family == AF_INET6 &&
		       len == sizeof(struct sockaddr_in6),
	       "ipv6");
	ASSERT(parse_listen("0.0.0.0:1", &ss, &len) == 0, "all interfaces when asked");
	for (const char *const *s =
		     (const char *const[]){":9580", "localhost:9580", "1.2.3.4", "1.2.3.4:0",
					   "1.2.3.4:65536", "::1:9580", "[::1]9580", "[::1]:", "",
					   "1.2.3.4:95x", NULL};
	     *s; s++)
		ASSERT(parse_listen(*s, &ss, &len) == -EINVAL, "'%s' accepted", *s);
}
