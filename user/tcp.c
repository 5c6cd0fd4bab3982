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
#include "ctrtab.h"
#include "hist.h"
#include "ktab.h"
#include "log.h"
#include "mapread.h"
#include "probe.h"
#include "tcp.h"
#include "tcp.skel.h"
#include "util.h"

#define NCTR (int)(sizeof(struct conn_val) / sizeof(uint64_t))

struct stat_delta {
	struct conn_key k;
	struct conn_val d;
};

struct hist_delta {
	struct conn_hist_key k;
	uint64_t count, sum_ns, max_ns;
};

struct tcp_coll {
	struct tcp *skel;
	struct tcp_filter tf; /* endpoint filters, when tf_set */
	bool tf_set;
	const char *variant;
	uint32_t max_keys;
	double interval_s;
	struct ctrtab *prev_stats, *prev_hist;
	uint64_t prev_drops[LS_DROP_MAX];
	uint32_t gen;
	long nkeys[2];
	int err;
	struct stat_delta *sd;
	size_t nsd, sd_cap;
	struct hist_delta *hd;
	size_t nhd, hd_cap;
};

static void set_autoload(struct tcp *s, bool btf)
{
	/* which tcp_retransmit_skb prototype this kernel has */
	bool retx_err = probe_tp_nargs("tcp_retransmit_skb") >= 3;

	probe_release(); /* libbpf parses its own copy while loading */
	bpf_program__set_autoload(s->progs.ls_tcp_state_btf, btf);
	bpf_program__set_autoload(s->progs.ls_tcp_retx_btf, btf && !retx_err);
	bpf_program__set_autoload(s->progs.ls_tcp_retx3_btf, btf && retx_err);
	bpf_program__set_autoload(s->progs.ls_tcp_rst_o_btf, btf);
	bpf_program__set_autoload(s->progs.ls_tcp_rst_i_btf, btf);
	bpf_program__set_autoload(s->progs.ls_tcp_probe_btf, btf);
	bpf_program__set_autoload(s->progs.ls_tcp_dstr_btf, btf);
	bpf_program__set_autoload(s->progs.ls_tcp_state_raw, !btf);
	bpf_program__set_autoload(s->progs.ls_tcp_retx_raw, !btf && !retx_err);
	bpf_program__set_autoload(s->progs.ls_tcp_retx3_raw, !btf && retx_err);
	bpf_program__set_autoload(s->progs.ls_tcp_rst_o_raw, !btf);
	bpf_program__set_autoload(s->progs.ls_tcp_rst_i_raw, !btf);
	bpf_program__set_autoload(s->progs.ls_tcp_probe_raw, !btf);
	bpf_program__set_autoload(s->progs.ls_tcp_dstr_raw, !btf);
}

static int open_variant(void *coll, const struct coll_opts *o, bool btf, char *why, size_t why_len)
{
	struct tcp_coll *c = coll;
	const struct tcp_filter *tf = c->tf_set ? &c->tf : NULL;
	struct tcp *s;
	int err;

	s = tcp__open();
	if (!s) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s", strerror(-err));
		return err;
	}
	COLL_SET_RODATA(s->rodata, &o->filter);
	if (tf) {
		s->rodata->filter_port = tf->port;
		s->rodata->filter_raddr_on = tf->family != 0;
		s->rodata->filter_family = tf->family;
		s->rodata->filter_prefix = tf->prefix;
		memcpy((void *)s->rodata->filter_raddr, tf->addr, 16);
	}
	set_autoload(s, btf);
	bpf_map__set_max_entries(s->maps.tcp_stats, c->max_keys);
	bpf_map__set_max_entries(s->maps.tcp_hist, c->max_keys * 2);

	err = tcp__load(s);
	if (err) {
		snprintf(why, why_len, "cannot load %s programs: %s", btf ? "tp_btf" : "raw_tp",
			 strerror(-err));
		goto destroy;
	}
	err = coll_apply_filters(s->maps.filter_pids, s->maps.filter_cgroup, &o->filter, why,
				 why_len);
	if (err)
		goto destroy;
	err = tcp__attach(s);
	if (err) {
		snprintf(why, why_len,
			 "cannot attach to sock:inet_sock_set_state and tcp:* (%s): %s",
			 btf ? "tp_btf" : "raw_tp", strerror(-err));
		goto destroy;
	}
	c->skel = s;
	c->variant = btf ? "tp_btf" : "raw_tp";
	return 0;
destroy:
	tcp__destroy(s);
	return err;
}

/* cgroup v2 id (inode of its directory) and path of a process */
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
	char comm[32] = "", file[64];
	FILE *fp;

	if (f->npids) {
		int i;

		for (i = 0; i < f->npids && f->pids[i] != pid; i++)
			;
		if (i == f->npids)
			return false;
	}
	if (f->comm) {
		snprintf(file, sizeof(file), "/proc/%u/comm", pid);
		fp = fopen(file, "r");
		if (fp) {
			if (!fgets(comm, sizeof(comm), fp))
				comm[0] = 0;
			fclose(fp);
		}
		comm[strcspn(comm, "\n")] = 0;
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

static void seed_one(struct tcp_coll *c, uint32_t pid, const struct filter_opts *f,
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
			have_owner = true;
		}
		/* BPF_NOEXIST: a listen() seen by BPF meanwhile is fresher */
		bpf_map__update_elem(c->skel->maps.tcp_listeners, k, sizeof(*k), &o, sizeof(o),
				     BPF_NOEXIST);
	}
	closedir(d);
}

/*
 * Listeners opened before latscope attached are unknown to BPF: find them
 * the way ss -lp does (LISTEN sockets of /proc/PID/net/tcp{,6}, matched by
 * inode against /proc/PID/fd) so their accepted connections get an owner.
 * Only the -p processes are scanned when a pid filter is set.
 */
static void seed_listeners(struct tcp_coll *c, const struct filter_opts *f)
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

int tcp_coll__open(struct tcp_coll **out, const struct coll_opts *o, const struct tcp_filter *tf,
		   char *why, size_t why_len)
{
	struct tcp_coll *c;
	int err = -ENOMEM;

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	c->max_keys = o->max_keys ? o->max_keys : TCP_DEFAULT_MAX_KEYS;
	if (tf) {
		c->tf = *tf;
		c->tf_set = true;
	}
	c->interval_s = o->interval_s > 0 ? o->interval_s : 1;
	c->prev_stats = ctrtab__new(sizeof(struct conn_key), NCTR);
	c->prev_hist = ctrtab__new(sizeof(struct conn_hist_key), 2);
	if (!c->prev_stats || !c->prev_hist) {
		snprintf(why, why_len, "out of memory");
		goto fail;
	}
	err = coll_open_variants("tcp", open_variant, c, o, why, why_len);
	if (err)
		goto fail;
	seed_listeners(c, &o->filter);
	*out = c;
	return 0;
fail:
	tcp_coll__free(c);
	return err;
}

const char *tcp_coll__variant(const struct tcp_coll *c)
{
	return c->variant;
}

uint64_t tcp_coll__budget(uint32_t max_keys)
{
	uint64_t k = max_keys ? max_keys : TCP_DEFAULT_MAX_KEYS;

	return k * (sizeof(struct conn_key) + sizeof(struct conn_val) + 64) +
	       2 * k * (sizeof(struct conn_hist_key) + sizeof(struct sys_val) + 64) +
	       16384ULL * (8 + 64 + 64) /* tcp_sock_state */ + 4096ULL * (8 + 24 + 64);
}

void tcp_coll__free(struct tcp_coll *c)
{
	if (!c)
		return;
	tcp__destroy(c->skel);
	ctrtab__free(c->prev_stats);
	ctrtab__free(c->prev_hist);
	free(c->sd);
	free(c->hd);
	free(c);
}

static void on_stat(const void *key, const void *val, void *ctx)
{
	struct tcp_coll *c = ctx;
	uint64_t cur[NCTR], d[NCTR];
	int r;

	memcpy(cur, val, sizeof(cur));
	r = ctrtab__update(c->prev_stats, key, cur, d);
	if (r <= 0) {
		if (r < 0)
			c->err = r;
		return;
	}
	if (array_grow((void **)&c->sd, &c->sd_cap, c->nsd + 1, sizeof(*c->sd))) {
		c->err = -ENOMEM;
		return;
	}
	memcpy(&c->sd[c->nsd].k, key, sizeof(struct conn_key));
	memcpy(&c->sd[c->nsd++].d, d, sizeof(d));
}

static void on_hist(const void *key, const void *val, void *ctx)
{
	struct tcp_coll *c = ctx;
	const struct sys_val *v = val;
	uint64_t cur[2] = {v->count, v->sum_ns}, d[2];
	int r;

	r = ctrtab__update(c->prev_hist, key, cur, d);
	if (r <= 0) {
		if (r < 0)
			c->err = r;
		return;
	}
	if (array_grow((void **)&c->hd, &c->hd_cap, c->nhd + 1, sizeof(*c->hd))) {
		c->err = -ENOMEM;
		return;
	}
	memcpy(&c->hd[c->nhd].k, key, sizeof(struct conn_hist_key));
	c->hd[c->nhd].count = d[0];
	c->hd[c->nhd].sum_ns = d[1];
	c->hd[c->nhd++].max_ns = v->max_ns;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct conn_key));
}

static int hd_cmp(const void *a, const void *b)
{
	const struct hist_delta *x = a, *y = b;
	int r = key_cmp(&x->k.k, &y->k.k);

	if (r)
		return r;
	if (x->k.kind != y->k.kind)
		return x->k.kind < y->k.kind ? -1 : 1;
	return (x->k.bucket > y->k.bucket) - (x->k.bucket < y->k.bucket);
}

static bool key_stale(const void *key, void *ctx)
{
	const struct conn_key *k = key;

	(void)ctx;
	return coll_owner_gone(k->pid, k->tid);
}

struct del_ctx {
	int fd;
};

static void del_key(const void *key, void *ctx)
{
	bpf_map_delete_elem(((struct del_ctx *)ctx)->fd, key);
}

static struct tcp_row *new_row(struct tcp_coll *c, struct names *names, struct interval *iv,
			       const struct conn_key *k)
{
	struct tcp_row *r;

	if (array_grow((void **)&iv->tcp, &iv->tcp_cap, iv->ntcp + 1, sizeof(*r)))
		return NULL;
	r = &iv->tcp[iv->ntcp++];
	memset(r, 0, sizeof(*r));
	r->pid = k->pid;
	r->tid = k->tid;
	r->cgid = k->cgid;
	r->family = k->family;
	r->rport = k->rport;
	r->lport = k->lport;
	memcpy(r->raddr, k->raddr, 16);
	r->cgroup = k->cgid ? names__cgroup(names, k->cgid) : "";
	if (iv->by != LS_BY_CGROUP)
		coll_row_comm(c->skel->maps.task_comm, names, iv->by, k->pid, k->tid, r->comm);
	return r;
}

int tcp_coll__collect(struct tcp_coll *c, struct names *names, struct interval *iv)
{
	struct tcp *s = c->skel;
	struct del_ctx dc;
	size_t i = 0, h = 0;
	int err;

	c->gen++;
	c->nsd = c->nhd = 0;
	c->err = 0;
	ctrtab__begin(c->prev_stats, coll_idle_limit(c->interval_s, c->nkeys[0], c->max_keys),
		      key_stale, NULL);
	ctrtab__begin(c->prev_hist, coll_idle_limit(c->interval_s, c->nkeys[1], c->max_keys * 2),
		      key_stale, NULL);
	c->nkeys[0] = map_read_all(bpf_map__fd(s->maps.tcp_stats), sizeof(struct conn_key),
				   sizeof(struct conn_val), false, on_stat, c);
	c->nkeys[1] = map_read_all(bpf_map__fd(s->maps.tcp_hist), sizeof(struct conn_hist_key),
				   sizeof(struct sys_val), false, on_hist, c);
	if (c->nkeys[0] < 0)
		return (int)c->nkeys[0];
	if (c->nkeys[1] < 0)
		return (int)c->nkeys[1];
	if (c->err)
		return c->err;
	err = coll_read_drops(s->maps.drops, c->prev_drops, iv->drops);
	if (err)
		return err;
	qsort(c->sd, c->nsd, sizeof(*c->sd), key_cmp);
	qsort(c->hd, c->nhd, sizeof(*c->hd), hd_cmp);

	/* a row per endpoint key that changed in either map */
	while (i < c->nsd || h < c->nhd) {
		const struct conn_key *k;
		struct tcp_row *r;
		int cmp;

		if (i == c->nsd)
			cmp = 1;
		else if (h == c->nhd)
			cmp = -1;
		else
			cmp = key_cmp(&c->sd[i].k, &c->hd[h].k.k);
		k = cmp <= 0 ? &c->sd[i].k : &c->hd[h].k.k;
		r = new_row(c, names, iv, k);
		if (!r)
			return -ENOMEM;
		if (cmp <= 0)
			r->v = c->sd[i++].d;
		for (int kind = 0; kind < TCP_HIST_KINDS; kind++) {
			struct hbin bins[HIST_BUCKETS];
			uint64_t sum = 0, top_max = 0;
			size_t nb = 0;
			struct lat_summary *out = kind == TCP_HIST_CONNECT ? &r->connect
						  : kind == TCP_HIST_RTT   ? &r->rtt
									   : &r->lifetime;

			for (; h < c->nhd && !key_cmp(&c->hd[h].k.k, k) && c->hd[h].k.kind == kind;
			     h++) {
				if (!c->hd[h].count)
					continue;
				bins[nb].bucket = c->hd[h].k.bucket;
				bins[nb].count = c->hd[h].count;
				bins[nb++].sum = c->hd[h].sum_ns;
				sum += c->hd[h].sum_ns;
				top_max = hist_bucket_clamp(c->hd[h].k.bucket, c->hd[h].max_ns);
			}
			hist_summarize(bins, nb, sum, top_max, out);
		}
	}

	dc.fd = bpf_map__fd(s->maps.tcp_stats);
	ctrtab__expire(c->prev_stats, del_key, &dc);
	dc.fd = bpf_map__fd(s->maps.tcp_hist);
	ctrtab__expire(c->prev_hist, del_key, &dc);
	return 0;
}
