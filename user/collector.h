/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What every collector shares: attach flavours, filters, common loading steps. */
#ifndef LATSCOPE_COLLECTOR_H
#define LATSCOPE_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "latscope.h"

enum attach_mode {
	ATTACH_AUTO = 0, /* tp_btf, falling back to raw_tp */
	ATTACH_TP_BTF,
	ATTACH_RAW_TP,
};

struct filter_opts {
	enum ls_by by;
	const uint32_t *pids;
	int npids;
	const char *comm;	 /* NULL: no comm filter */
	int cgroup_fd;		 /* -1: no cgroup filter */
	const char *cgroup_path; /* that cgroup, relative to the cgroup2 mount */
};

struct coll_opts {
	struct filter_opts filter;
	enum attach_mode attach;
	uint32_t max_keys; /* size of the collector's largest map; 0: default */
	double interval_s; /* for idle-key expiry */
};

/* every skeleton's rodata starts with common.bpf.h's globals */
#define COLL_SET_RODATA(rodata, f)                                                          \
	do {                                                                                \
		(rodata)->key_by = (f)->by;                                                 \
		(rodata)->filter_pid_on = (f)->npids > 0;                                   \
		(rodata)->filter_comm_on = (f)->comm != NULL;                               \
		if ((f)->comm)                                                              \
			strncpy((char *)(rodata)->filter_comm, (f)->comm, LS_COMM_LEN - 1); \
		(rodata)->filter_cg_on = (f)->cgroup_fd >= 0;                               \
	} while (0)

/* open, load and attach one flavour of a collector (tp_btf when btf) */
typedef int (*coll_variant_fn)(void *coll, const struct coll_opts *o, bool btf, char *why,
			       size_t why_len);

/*
 * Open a collector in the flavour o->attach asks for: ATTACH_AUTO tries
 * tp_btf, then raw_tp. Returns 0 or -errno with the reason in why.
 */
int coll_open_variants(const char *name, coll_variant_fn fn, void *coll, const struct coll_opts *o,
		       char *why, size_t why_len);

/*
 * Fill the filter maps of a loaded object. Returns 0 or -errno with the
 * reason in why.
 */
int coll_apply_filters(struct bpf_map *pids, struct bpf_map *cgroup, const struct filter_opts *f,
		       char *why, size_t why_len);

/*
 * Read a per-CPU drop-counter array and add what is new since *prev to
 * drops[]. Returns 0 or -errno.
 */
int coll_read_drops(struct bpf_map *map, uint64_t prev[LS_DROP_MAX], uint64_t drops[LS_DROP_MAX]);

/*
 * Has the owner of a row key gone? pid 0 (cgroup rows) never is; tid 0
 * means the whole process. Used to free the keys of exited tasks early.
 */
bool coll_owner_gone(uint32_t pid, uint32_t tid);

struct names;

/*
 * comm of a row's owner into out (LS_COMM_LEN bytes): from /proc through
 * the names cache, and only for tasks that are gone from the collector's
 * task_comm map (keyed by tid with --by thread, else by pid). pid 0 (owner
 * unknown) gives "?".
 */
void coll_row_comm(struct bpf_map *task_comm, struct names *names, enum ls_by by, uint32_t pid,
		   uint32_t tid, char *out);

/* how many idle intervals before a key is deleted from its kernel map */
uint32_t coll_idle_limit(double interval_s, long nkeys, uint32_t max_keys);

#endif
