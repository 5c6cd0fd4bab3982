// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "requests.h"
#include "requests.skel.h"
#include "schema.h"
#include "util.h"

enum { MAP_STATS, MAP_HIST };

#define NCTR (int)(sizeof(struct req_val) / sizeof(uint64_t))
_Static_assert(NCTR <= COLL_MAX_CTR, "req_val fits a delta");
_Static_assert(sizeof(struct req_hist_key) <= COLL_MAX_KEY, "req_hist_key fits a delta");

static uint32_t default_keys(int ncpu)
{
	(void)ncpu;
	return REQ_DEFAULT_MAX_KEYS;
}

static uint64_t budget(uint32_t max_keys, int ncpu)
{
	uint64_t k = max_keys ? max_keys : REQ_DEFAULT_MAX_KEYS;

	(void)ncpu; /* no per-CPU maps */
	/* sk storage is charged to the sockets; req_sk_hash exists (full
	 * size) only in the raw_tp flavour */
	return k * (sizeof(struct req_key) + sizeof(struct req_val) + 64) +
	       2 * k * (sizeof(struct req_hist_key) + sizeof(struct sys_val) + 64) +
	       REQ_SOCK_HASH_ENTRIES * (8ULL + 112 + 64);
}

static void fold_stats(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	(void)ncpu;
	memcpy(ctr, vals, sizeof(struct req_val));
	*max = 0;
}

static const struct coll_map maps[] = {
	[MAP_STATS] = {"req_stats", sizeof(struct req_key), sizeof(struct req_val), false, NCTR,
		       fold_stats, 1, 1},
	[MAP_HIST] = {"req_hist", sizeof(struct req_hist_key), sizeof(struct sys_val), false, 2,
		      coll_fold_sys_val, 2, 1},
};

COLL_SKEL(requests)

static int configure(void *skel, const struct coll_opts *o, bool btf)
{
	struct requests *s = skel;
	const struct tcp_filter *tf = o->tcp;
	bpf_map__set_max_entries(s->maps.req_sk_hash, btf ? 1 : REQ_SOCK_HASH_ENTRIES);
	COLL_SET_RODATA(s->rodata, &o->filter);
	s->rodata->request_timeout_ns =
		o->request_timeout_ns ? o->request_timeout_ns : REQ_DEFAULT_TIMEOUT_NS;
	if (tf) {
		s->rodata->filter_port = tf->port;
		s->rodata->filter_raddr_on = tf->family != 0;
		s->rodata->filter_family = tf->family;
		s->rodata->filter_prefix = tf->prefix;
		memcpy((void *)s->rodata->filter_raddr, tf->addr, 16);
	}
	return 0;
}

/* exchanges in flight: begun and not ended, from the map itself (the
 * deltas cannot give a gauge) */
static uint64_t open_now(struct coll *c, const void *key)
{
	struct bpf_map *m = coll__map(c, "req_stats");
	struct req_val v;

	if (!m || bpf_map__lookup_elem(m, key, sizeof(struct req_key), &v, sizeof(v), 0))
		return 0;
	if (v.started < v.count + v.mixed + v.unanswered + v.reset)
		return 0; /* the key was expired and made again */
	return v.started - v.count - v.mixed - v.unanswered - v.reset;
}

static int to_row(struct coll *c, void *row, const struct coll_delta *d, size_t n,
		  struct interval *iv)
{
	struct req_row *r = row;
	const struct req_key *k = (const void *)d[0].key;
	struct hbin *bins = interval__bins_reserve(iv, HIST_BUCKETS);
	uint32_t top = 0;
	size_t nb = 0;

	if (!bins)
		return -ENOMEM;
	r->dir = k->dir;
	r->family = k->family;
	r->rport = k->rport;
	r->lport = k->lport;
	memcpy(r->raddr, k->raddr, 16);
	for (size_t i = 0; i < n; i++) {
		const struct req_hist_key *hk = (const void *)d[i].key;

		if (d[i].map == MAP_STATS) {
			memcpy(&r->v, d[i].v, sizeof(r->v));
			r->open = open_now(c, d[i].key);
			continue;
		}
		if (!d[i].v[0] || nb == HIST_BUCKETS)
			continue;
		bins[nb].bucket = hk->bucket;
		bins[nb].count = d[i].v[0];
		bins[nb++].sum = d[i].v[1];
		r->lat.sum_ns += d[i].v[1];
		if (hk->bucket >= top) {
			top = hk->bucket;
			r->lat.max_ns = hist_bucket_clamp(hk->bucket, d[i].max);
		}
	}
	interval__set_hist(iv, &r->lat, nb);
	return 0;
}

static const char *dir_name(const struct req_row *r)
{
	return r->dir == LS_REQ_SERVER ? "server" : "client";
}

static char *direction_text(const struct field *f, const void *row, const struct interval *iv,
			    char *buf, size_t len)
{
	(void)f;
	(void)iv;
	snprintf(buf, len, "%s", dir_name(row));
	return buf;
}

static void direction_json(const struct field *f, const void *row, const struct interval *iv,
			   struct jw *w)
{
	(void)iv;
	jw_str(w, f->json, dir_name(row));
}

static const char *direction_label(const struct field *f, const void *row, char *buf, size_t len)
{
	(void)f;
	snprintf(buf, len, "%s", dir_name(row));
	return buf;
}

/* server rows: ":6379"; client rows: "10.0.0.2:6379", "[::1]:443" */
static char *endpoint_text(const struct field *f, const void *row, const struct interval *iv,
			   char *buf, size_t len)
{
	const struct req_row *r = row;

	(void)f;
	(void)iv;
	if (r->dir == LS_REQ_SERVER) {
		snprintf(buf, len, ":%u", r->lport);
		return buf;
	}
	return fmt_endpoint(r->family, r->raddr, r->rport, buf, len);
}

static void raddr_json(const struct field *f, const void *row, const struct interval *iv,
		       struct jw *w)
{
	const struct req_row *r = row;
	char a[64];

	(void)iv;
	if (r->dir == LS_REQ_CLIENT)
		jw_str(w, f->json, fmt_addr(r->family, r->raddr, a, sizeof(a)));
	else
		jw_str(w, f->json, "");
}

static const char *raddr_label(const struct field *f, const void *row, char *buf, size_t len)
{
	const struct req_row *r = row;

	(void)f;
	if (r->dir != LS_REQ_CLIENT || !r->family)
		return NULL;
	return fmt_addr(r->family, r->raddr, buf, len);
}

/* everything that went wrong: the "errors" sort */
static double problems_value(const struct field *f, const void *row, const struct interval *iv)
{
	const struct req_row *r = row;

	(void)f;
	(void)iv;
	return (double)(r->v.unanswered + r->v.reset);
}

#define CTR_AT(nm, js, member, hdr, w)                                     \
	.name = nm, .header = hdr, .width = w, .json = js, .kind = FK_U64, \
	FIELD_AT(struct req_row, member), .flags = F_SORT
#define CTR(nm, js, member, hdr, w)            \
	{                                      \
		CTR_AT(nm, js, member, hdr, w) \
	}
#define HSTAT(nm, al, hdr, st)                                                            \
	{                                                                                 \
		.name = nm, .aliases = {al}, .header = hdr, .width = 8, .kind = FK_HSTAT, \
		FIELD_AT(struct req_row, lat), .stat = st, .flags = F_SORT | F_DASH       \
	}

static const struct field fields[] = {
	{.name = "dir", .kind = FK_U16, FIELD_AT(struct req_row, dir), .flags = F_KEY},
	{.name = "direction",
	 .header = "DIR",
	 .width = 6,
	 .json = "direction",
	 .kind = FK_DERIVED,
	 .flags = F_LEFT,
	 .prom = "direction",
	 .role = PROM_LABEL,
	 .text = direction_text,
	 .jsonfn = direction_json,
	 .label = direction_label},
	{.name = "lport",
	 .json = "lport",
	 .kind = FK_U16,
	 FIELD_AT(struct req_row, lport),
	 .flags = F_KEY,
	 .prom = "lport",
	 .role = PROM_LABEL},
	{.name = "raddr",
	 .json = "raddr",
	 .kind = FK_BYTES,
	 FIELD_AT(struct req_row, raddr),
	 .flags = F_KEY | F_OPEN,
	 .prom = "raddr",
	 .role = PROM_LABEL,
	 .jsonfn = raddr_json,
	 .label = raddr_label},
	{.name = "rport",
	 .json = "rport",
	 .kind = FK_U16,
	 FIELD_AT(struct req_row, rport),
	 .flags = F_KEY,
	 .prom = "rport",
	 .role = PROM_LABEL},
	{.name = "family", .kind = FK_U16, FIELD_AT(struct req_row, family), .flags = F_KEY},
	{.name = "endpoint",
	 .header = "ENDPOINT",
	 .width = 24,
	 .kind = FK_DERIVED,
	 .flags = F_LEFT,
	 .text = endpoint_text},
	{CTR_AT("count", "count", v.count, "REQS", 7), .aliases = {"requests"}},
	{.name = "lat",
	 .json = "lat_us",
	 .kind = FK_HIST,
	 FIELD_AT(struct req_row, lat),
	 .scale = 1e3,
	 .prom = "request_duration_seconds",
	 .role = PROM_HISTOGRAM,
	 .help = "Request latency from socket turn taking: a server's first read of a "
		 "request to its last write of the answer (a client's first write to its "
		 "last read); one-request-at-a-time exchanges only."},
	HSTAT("lat_p50", "p50", "P50", HS_P50),
	HSTAT("lat_p99", "p99", "P99", HS_P99),
	HSTAT("lat_max", "max", "MAX", HS_MAX),
	HSTAT("lat_total", "time", NULL, HS_TOTAL),
	{CTR_AT("mixed", "mixed", v.mixed, "MIXED", 7), .prom = "requests_mixed_total",
	 .role = PROM_COUNTER,
	 .help = "Exchanges on sockets marked mixed (pipelined or multiplexed: a send saw the "
		 "peer's next bytes waiting), counted but never timed."},
	{CTR_AT("unanswered", "unanswered", v.unanswered, "UNANS", 6),
	 .prom = "requests_unanswered_total", .role = PROM_COUNTER,
	 .help = "Requests not answered within --request-timeout."},
	{CTR_AT("reset", "reset", v.reset, "RESET", 6), .prom = "requests_reset_total",
	 .role = PROM_COUNTER, .help = "Exchanges cut by a close or reset before their answer."},
	CTR("open", "open", open, "OPEN", 5),
	CTR("bytes_in", "bytes_in", v.bytes_in, "BYTES-IN", 10),
	CTR("bytes_out", "bytes_out", v.bytes_out, "BYTES-OUT", 10),
	{.name = "problems",
	 .aliases = {"errors"},
	 .kind = FK_DERIVED,
	 .flags = F_SORT,
	 .value = problems_value},
};

/* busiest first */
static int tiebreak(const void *a, const void *b)
{
	const struct req_row *x = a, *y = b;
	uint64_t tx = x->v.count + x->v.mixed, ty = y->v.count + y->v.mixed;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return 0;
}

static const struct row_schema schema = {
	.name = "requests",
	.row_size = sizeof(struct req_row),
	.fields = fields,
	.nfields = ARRAY_SIZE(fields),
	.default_sort = "lat_p99",
	.tiebreak = tiebreak,
};

const struct coll_desc req_coll_desc = {
	.name = "requests",
	.needs = "tracepoints sock:sock_recv_length, sock:sock_send_length (6.5+),\n"
		 "  sock:inet_sock_set_state, tcp:tcp_destroy_sock; maps: sk storage (tp_btf) or "
		 "LRU hash (raw_tp)\n"
		 "  (req_sk_store, req_sk_hash), hash (req_stats, req_hist)",
	.hooks = "sock:sock_recv_length, sock:sock_send_length, sock:inet_sock_set_state and "
		 "tcp:tcp_destroy_sock",
	.schema = &schema,
	.id_len = sizeof(struct req_key),
	.maps = maps,
	.nmaps = ARRAY_SIZE(maps),
	.default_keys = default_keys,
	.max_keys_div = 2,
	.budget = budget,
	COLL_SKEL_OPS(requests),
	.configure = configure,
	.to_row = to_row,
};
