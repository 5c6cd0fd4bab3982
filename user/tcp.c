// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "ktab.h"
#include "log.h"
#include "names.h"
#include "schema.h"
#include "probe.h"
#include "tcp.h"
#include "tcp.skel.h"
#include "util.h"

enum { MAP_STATS, MAP_HIST };

#define NCTR (int)(sizeof(struct conn_val) / sizeof(uint64_t))
_Static_assert(NCTR <= COLL_MAX_CTR, "conn_val fits a delta");
_Static_assert(sizeof(struct conn_hist_key) <= COLL_MAX_KEY, "conn_hist_key fits a delta");

/* /proc/PID/comm into comm (32 bytes), "" when unreadable */
static void proc_comm(uint32_t pid, char *comm)
{
	char file[64];
	FILE *f;

	comm[0] = 0;
	snprintf(file, sizeof(file), "/proc/%u/comm", pid);
	f = fopen(file, "r");
	if (f) {
		if (!fgets(comm, 32, f))
			comm[0] = 0;
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = 0;
}

/* a listener's owner as the BPF keys hold it for this --by */
static void owner_key(struct ls_owner *o, enum ls_by by, uint32_t pid)
{
	char comm[32];

	if (by == LS_BY_CGROUP)
		o->pid = 0;
	if (by != LS_BY_COMM)
		return;
	proc_comm(pid, comm);
	/* the comm takes the place of pid, tid and cgid */
	memset(o, 0, offsetof(struct ls_owner, wanted));
	memcpy(o, comm, strnlen(comm, LS_COMM_LEN - 1));
}
static uint64_t proc_cgroup(uint32_t pid, char *path, size_t len)
{
	const char *mnt = cgroup2_mount();
	char file[64], line[4096], full[4400];
	struct stat st;
	FILE *f;

	path[0] = 0;
	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = fopen(file, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, len, "%s", line + 3);
			break;
		}
	fclose(f);
	if (!mnt || !path[0])
		return 0;
	snprintf(full, sizeof(full), "%s%s", mnt, path);
	return stat(full, &st) ? 0 : st.st_ino;
}

static bool proc_wanted(uint32_t pid, const struct filter_opts *f, const char *cgpath)
{
	char comm[32];

	if (f->npids) {
		int i;

		for (i = 0; i < f->npids && f->pids[i] != pid; i++)
			;
		if (i == f->npids)
			return false;
	}
	if (f->comm) {
		proc_comm(pid, comm);
		if (strncmp(comm, f->comm, LS_COMM_LEN - 1))
			return false;
	}
	if (f->cgroup_fd >= 0 && f->cgroup_path) {
		size_t l = strlen(f->cgroup_path);

		while (l > 1 && f->cgroup_path[l - 1] == '/')
			l--;
		if (strcmp(f->cgroup_path, "/") &&
		    (strncmp(cgpath, f->cgroup_path, l) || (cgpath[l] && cgpath[l] != '/')))
			return false;
	}
	return true;
}

static uint32_t link_inode(const char *path, const char *prefix)
{
	char buf[64];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	size_t pl = strlen(prefix);

	if (n <= (ssize_t)pl || strncmp(buf, prefix, pl))
		return 0;
	buf[n] = 0;
	return (uint32_t)strtoul(buf + pl, NULL, 10);
}

/* add the LISTEN sockets of /proc/PID/net/tcp{,6} to tab (inode -> key) */
static void parse_listeners(uint32_t pid, uint32_t netns, struct ktab *tab)
{
	for (int v6 = 0; v6 < 2; v6++) {
		char file[64], line[512];
		FILE *f;

		snprintf(file, sizeof(file), "/proc/%u/net/%s", pid, v6 ? "tcp6" : "tcp");
		f = fopen(file, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char local[64], st[8];
			unsigned long inode;
			unsigned int port;
			struct listen_key *k;
			char *colon;
			uint32_t ino;

			if (sscanf(line, " %*s %63s %*s %7s %*s %*s %*s %*s %*s %lu", local, st,
				   &inode) != 3)
				continue;
			colon = strchr(local, ':');
			if (strcmp(st, "0A") || !colon || !inode) /* 0A: TCP_LISTEN */
				continue;
			port = (unsigned int)strtoul(colon + 1, NULL, 16);
			ino = (uint32_t)inode;
			k = ktab__upsert(tab, &ino, NULL);
			if (!k)
				continue;
			k->netns = netns;
			k->port = (uint16_t)port;
			k->family = v6 ? AF_INET6 : AF_INET;
		}
		fclose(f);
	}
}

static void seed_one(struct coll *c, uint32_t pid, const struct filter_opts *f,
		     struct ktab *netns_seen, struct ktab *listen_inodes)
{
	char path[64], cgpath[4096];
	struct dirent *de;
	uint32_t netns;
	struct ls_owner o = {};
	bool have_owner = false, created;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	netns = link_inode(path, "net:[");
	if (!netns)
		return;
	ktab__upsert(netns_seen, &netns, &created);
	if (created)
		parse_listeners(pid, netns, listen_inodes);
	if (!ktab__len(listen_inodes))
		return;
	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char fdpath[300];
		struct listen_key *k;
		uint32_t ino;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/%u/fd/%s", pid, de->d_name);
		ino = link_inode(fdpath, "socket:[");
		if (!ino || !(k = ktab__get(listen_inodes, &ino)))
			continue;
		if (!have_owner) {
			o.pid = pid;
			o.cgid = proc_cgroup(pid, cgpath, sizeof(cgpath));
			o.wanted = proc_wanted(pid, f, cgpath);
			owner_key(&o, f->by, pid);
			have_owner = true;
		}
		/* BPF_NOEXIST: a listen() seen by BPF meanwhile is fresher */
		bpf_map__update_elem(((struct tcp *)coll__skel(c))->maps.tcp_listeners, k,
				     sizeof(*k), &o, sizeof(o), BPF_NOEXIST);
	}
	closedir(d);
}

/*
 * Listeners opened before latscope attached are unknown to BPF: find them
 * the way ss -lp does (LISTEN sockets of /proc/PID/net/tcp{,6}, matched by
 * inode against /proc/PID/fd) so their accepted connections get an owner.
 * Only the -p processes are scanned when a pid filter is set.
 */
static void seed_listeners(struct coll *c, const struct filter_opts *f)
{
	struct ktab *netns_seen = ktab__new(sizeof(uint32_t), 1);
	struct ktab *listen_inodes = ktab__new(sizeof(uint32_t), sizeof(struct listen_key));
	struct dirent *de;
	DIR *d;

	if (!netns_seen || !listen_inodes)
		goto out;
	if (f->npids) {
		for (int i = 0; i < f->npids; i++)
			seed_one(c, f->pids[i], f, netns_seen, listen_inodes);
		goto out;
	}
	d = opendir("/proc");
	if (!d)
		goto out;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			seed_one(c, (uint32_t)strtoul(de->d_name, NULL, 10), f, netns_seen,
				 listen_inodes);
	closedir(d);
out:
	ktab__free(netns_seen);
	ktab__free(listen_inodes);
}

static uint32_t default_keys(int ncpu)
{
	(void)ncpu;
	return TCP_DEFAULT_MAX_KEYS;
}

static uint64_t budget(uint32_t max_keys, int ncpu)
{
	uint64_t k = max_keys ? max_keys : TCP_DEFAULT_MAX_KEYS;

	(void)ncpu; /* no per-CPU maps */
	return k * (sizeof(struct conn_key) + sizeof(struct conn_val) + 64) +
	       2 * k * (sizeof(struct conn_hist_key) + sizeof(struct sys_val) + 64) +
	       16384ULL * (8 + 64 + 64) /* tcp_sock_state */ + 4096ULL * (8 + 24 + 64);
}

static void fold_stats(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max)
{
	(void)ncpu;
	memcpy(ctr, vals, sizeof(struct conn_val));
	*max = 0;
}

static const struct coll_map maps[] = {
	[MAP_STATS] = {"tcp_stats", sizeof(struct conn_key), sizeof(struct conn_val), false, NCTR,
		       fold_stats, 1, 1},
	[MAP_HIST] = {"tcp_hist", sizeof(struct conn_hist_key), sizeof(struct sys_val), false, 2,
		      coll_fold_sys_val, 2, 1},
};

COLL_SKEL(tcp)

static int configure(void *skel, const struct coll_opts *o, bool btf)
{
	struct tcp *s = skel;
	const struct tcp_filter *tf = o->tcp;
	/* which tcp_retransmit_skb prototype this kernel has */
	bool retx_err = probe_tp_nargs("tcp_retransmit_skb") >= 3;

	probe_release(); /* libbpf parses its own copy while loading */
	bpf_program__set_autoload(s->progs.ls_tcp_retx_btf, btf && !retx_err);
	bpf_program__set_autoload(s->progs.ls_tcp_retx3_btf, btf && retx_err);
	bpf_program__set_autoload(s->progs.ls_tcp_retx_raw, !btf && !retx_err);
	bpf_program__set_autoload(s->progs.ls_tcp_retx3_raw, !btf && retx_err);
	COLL_SET_RODATA(s->rodata, &o->filter);
	if (tf) {
		s->rodata->filter_port = tf->port;
		s->rodata->filter_raddr_on = tf->family != 0;
		s->rodata->filter_family = tf->family;
		s->rodata->filter_prefix = tf->prefix;
		memcpy((void *)s->rodata->filter_raddr, tf->addr, 16);
	}
	return 0;
}

static void started(struct coll *c, const struct coll_opts *o)
{
	seed_listeners(c, &o->filter);
}

static struct row_hist *hist_of(struct tcp_row *r, uint32_t kind)
{
	return kind == TCP_HIST_CONNECT ? &r->connect
	       : kind == TCP_HIST_RTT	? &r->rtt
					: &r->lifetime;
}

static int to_row(struct coll *c, void *row, const struct coll_delta *d, size_t n,
		  struct interval *iv)
{
	struct tcp_row *r = row;
	const struct conn_key *k = (const void *)d[0].key;

	(void)c;
	r->family = k->family;
	r->rport = k->rport;
	r->lport = k->lport;
	memcpy(r->raddr, k->raddr, 16);
	for (size_t i = 0; i < n; i++)
		if (d[i].map == MAP_STATS)
			memcpy(&r->v, d[i].v, sizeof(r->v));
	for (uint32_t kind = 0; kind < TCP_HIST_KINDS; kind++) {
		struct row_hist *h = hist_of(r, kind);
		struct hbin *bins = interval__bins_reserve(iv, HIST_BUCKETS);
		uint32_t top = 0;
		size_t nb = 0;

		if (!bins)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const struct conn_hist_key *hk = (const void *)d[i].key;

			if (d[i].map != MAP_HIST || hk->kind != kind || !d[i].v[0] ||
			    nb == HIST_BUCKETS)
				continue;
			bins[nb].bucket = hk->bucket;
			bins[nb].count = d[i].v[0];
			bins[nb++].sum = d[i].v[1];
			h->sum_ns += d[i].v[1];
			if (hk->bucket >= top) {
				top = hk->bucket;
				h->max_ns = hist_bucket_clamp(hk->bucket, d[i].max);
			}
		}
		interval__set_hist(iv, h, nb);
	}
	return 0;
}

static bool accepted(const struct tcp_row *r)
{
	return r->lport && !r->rport;
}

/* "10.0.0.2:8080", "[::1]:443"; accepted connections: "10.0.0.1 -> :8080" */
static char *endpoint_text(const struct field *f, const void *row, const struct interval *iv,
			   char *buf, size_t len)
{
	const struct tcp_row *r = row;
	char a[64];

	(void)f;
	(void)iv;
	if (!accepted(r))
		return fmt_endpoint(r->family, r->raddr, r->rport, buf, len);
	fmt_addr(r->family, r->raddr, a, sizeof(a));
	snprintf(buf, len, r->family == AF_INET6 ? "[%s] -> :%u" : "%s -> :%u", a, r->lport);
	return buf;
}

static void direction_json(const struct field *f, const void *row, const struct interval *iv,
			   struct jw *w)
{
	(void)iv;
	jw_str(w, f->json, accepted(row) ? "in" : "out");
}

static void raddr_json(const struct field *f, const void *row, const struct interval *iv,
		       struct jw *w)
{
	const struct tcp_row *r = row;
	char a[64];

	(void)iv;
	jw_str(w, f->json, fmt_addr(r->family, r->raddr, a, sizeof(a)));
}

static const char *raddr_label(const struct field *f, const void *row, char *buf, size_t len)
{
	const struct tcp_row *r = row;
	static const uint8_t zero[16];

	(void)f;
	if (!r->family || !memcmp(r->raddr, zero, sizeof(r->raddr)))
		return NULL;
	return fmt_addr(r->family, r->raddr, buf, len);
}

static char *resets_text(const struct field *f, const void *row, const struct interval *iv,
			 char *buf, size_t len)
{
	const struct tcp_row *r = row;

	(void)f;
	(void)iv;
	snprintf(buf, len, "%llu/%llu", (unsigned long long)r->v.resets_sent,
		 (unsigned long long)r->v.resets_received);
	return buf;
}

/* everything that went wrong on the endpoint: the "errors" sort */
static double problems_value(const struct field *f, const void *row, const struct interval *iv)
{
	const struct tcp_row *r = row;

	(void)f;
	(void)iv;
	return (double)(r->v.connect_errors + r->v.retransmits + r->v.resets_sent +
			r->v.resets_received);
}

#define CTR_AT(nm, js, member, hdr, w)                                     \
	.name = nm, .header = hdr, .width = w, .json = js, .kind = FK_U64, \
	FIELD_AT(struct tcp_row, v.member), .flags = F_SORT
#define CTR(nm, js, member, hdr, w)            \
	{                                      \
		CTR_AT(nm, js, member, hdr, w) \
	}
#define HSTAT(nm, al, hdr, member, st)                                                    \
	{                                                                                 \
		.name = nm, .aliases = {al}, .header = hdr, .width = 8, .kind = FK_HSTAT, \
		FIELD_AT(struct tcp_row, member), .stat = st, .flags = F_SORT | F_DASH    \
	}

static const struct field fields[] = {
	{.name = "direction", .json = "direction", .kind = FK_DERIVED, .jsonfn = direction_json},
	{.name = "raddr",
	 .json = "raddr",
	 .kind = FK_BYTES,
	 FIELD_AT(struct tcp_row, raddr),
	 .flags = F_KEY | F_OPEN,
	 .prom = "raddr",
	 .role = PROM_LABEL,
	 .jsonfn = raddr_json,
	 .label = raddr_label},
	{.name = "rport",
	 .json = "rport",
	 .kind = FK_U16,
	 FIELD_AT(struct tcp_row, rport),
	 .flags = F_KEY,
	 .prom = "rport",
	 .role = PROM_LABEL},
	{.name = "lport",
	 .json = "lport",
	 .kind = FK_U16,
	 FIELD_AT(struct tcp_row, lport),
	 .flags = F_KEY,
	 .prom = "lport",
	 .role = PROM_LABEL},
	{.name = "family", .kind = FK_U16, FIELD_AT(struct tcp_row, family), .flags = F_KEY},
	{.name = "remote",
	 .header = "REMOTE",
	 .width = 28,
	 .kind = FK_DERIVED,
	 .flags = F_LEFT,
	 .text = endpoint_text},
	{.name = "connects",
	 .aliases = {"count"},
	 .header = "CONN",
	 .width = 6,
	 .json = "connects",
	 .kind = FK_U64,
	 FIELD_AT(struct tcp_row, v.connects),
	 .flags = F_SORT},
	HSTAT("connect_p99", "p99", "CONN-P99", connect, HS_P99),
	HSTAT("connect_p50", "p50", NULL, connect, HS_P50),
	HSTAT("connect_max", "max", NULL, connect, HS_MAX),
	HSTAT("connect_total", "time", NULL, connect, HS_TOTAL),
	{CTR_AT("connect_errors", "connect_errors", connect_errors, "FAIL", 6),
	 .prom = "tcp_connect_errors_total", .role = PROM_COUNTER,
	 .help = "Outgoing TCP connects that failed (refused, timed out, reset)."},
	CTR("connect_refused", "connect_refused", refused, NULL, 0),
	CTR("connect_timeouts", "connect_timeouts", timeouts, NULL, 0),
	{.name = "connect",
	 .json = "connect_us",
	 .kind = FK_HIST,
	 FIELD_AT(struct tcp_row, connect),
	 .scale = 1e3,
	 .prom = "tcp_connect_duration_seconds",
	 .role = PROM_HISTOGRAM,
	 .help = "TCP connect latency, SYN_SENT (SYN_RECV) to ESTABLISHED."},
	{CTR_AT("retransmits", "retransmits", retransmits, "RETRANS", 7),
	 .prom = "tcp_retransmits_total", .role = PROM_COUNTER,
	 .help = "TCP segments retransmitted (SYNs included)."},
	{CTR_AT("resets_sent", "resets_sent", resets_sent, NULL, 0), .prom = "tcp_resets_total",
	 .role = PROM_COUNTER, .prom_const = "direction=\"sent\"",
	 .help = "TCP resets, sent by this host or received from the peer."},
	{CTR_AT("resets_received", "resets_received", resets_received, NULL, 0),
	 .prom = "tcp_resets_total", .role = PROM_COUNTER, .prom_const = "direction=\"received\""},
	{.name = "resets",
	 .header = "RST OUT/IN",
	 .width = 11,
	 .kind = FK_DERIVED,
	 .text = resets_text},
	{.name = "problems",
	 .aliases = {"errors"},
	 .kind = FK_DERIVED,
	 .flags = F_SORT,
	 .value = problems_value},
	{.name = "rtt_samples",
	 .json = "rtt_samples",
	 .kind = FK_HSTAT,
	 FIELD_AT(struct tcp_row, rtt),
	 .stat = HS_COUNT},
	{.name = "rtt",
	 .json = "rtt_us",
	 .kind = FK_HIST,
	 FIELD_AT(struct tcp_row, rtt),
	 .scale = 1e3,
	 .prom = "tcp_rtt_seconds",
	 .role = PROM_HISTOGRAM,
	 .help = "Smoothed TCP round-trip time, sampled at most every 100 ms per socket."},
	HSTAT("rtt_p50", NULL, "RTT-P50", rtt, HS_P50),
	HSTAT("rtt_p99", NULL, "RTT-P99", rtt, HS_P99),
	CTR("closed", "closed", closed, "CLOSED", 6),
	CTR("bytes_sent", "bytes_sent", bytes_sent, NULL, 0),
	CTR("bytes_received", "bytes_received", bytes_received, NULL, 0),
	{.name = "lifetime",
	 .json = "lifetime_ms",
	 .kind = FK_HIST,
	 FIELD_AT(struct tcp_row, lifetime),
	 .scale = 1e6},
};

/* trouble first */
static int tiebreak(const void *a, const void *b)
{
	const struct tcp_row *x = a, *y = b;
	uint64_t tx = x->v.connect_errors + x->v.retransmits,
		 ty = y->v.connect_errors + y->v.retransmits;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return 0;
}

static const struct row_schema schema = {
	.name = "tcp",
	.row_size = sizeof(struct tcp_row),
	.fields = fields,
	.nfields = ARRAY_SIZE(fields),
	.default_sort = "connect_p99",
	.tiebreak = tiebreak,
};

const struct coll_desc tcp_coll_desc = {
	.name = "tcp",
	.needs = "tracepoints sock:inet_sock_set_state, tcp:tcp_retransmit_skb, "
		 "tcp:tcp_send_reset,\n  tcp:tcp_receive_reset, tcp:tcp_probe, "
		 "tcp:tcp_destroy_sock;\n  maps: hash (tcp_stats, tcp_hist), LRU hash "
		 "(tcp_sock_state, tcp_listeners)",
	.hooks = "sock:inet_sock_set_state and tcp:*",
	.schema = &schema,
	.id_len = sizeof(struct conn_key),
	.maps = maps,
	.nmaps = ARRAY_SIZE(maps),
	.default_keys = default_keys,
	.max_keys_div = 2,
	.budget = budget,
	COLL_SKEL_OPS(tcp),
	.configure = configure,
	.started = started,
	.to_row = to_row,
};
