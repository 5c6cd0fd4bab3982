// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "collector.h"
#include "log.h"
#include "mapread.h"
#include "names.h"
#include "stats.h"
#include "util.h"

/* idle keys are deleted from the kernel map after this long... */
#define IDLE_EXPIRE_S 60.0
/* ...or after two idle intervals once the map is this full */
#define FULL_RATIO 0.75

int coll_open_variants(const char *name, coll_variant_fn fn, void *coll, const struct coll_opts *o,
		       char *why, size_t why_len)
{
	int err;

	if (o->attach != ATTACH_RAW_TP) {
		err = fn(coll, o, true, why, why_len);
		if (!err || o->attach == ATTACH_TP_BTF)
			return err;
		log_verbose("%s: %s; trying raw_tp", name, why);
	}
	return fn(coll, o, false, why, why_len);
}

int coll_apply_filters(struct bpf_map *pids, struct bpf_map *cgroup, const struct filter_opts *f,
		       char *why, size_t why_len)
{
	int err;

	for (int i = 0; i < f->npids; i++) {
		__u8 one = 1;

		err = bpf_map__update_elem(pids, &f->pids[i], sizeof(f->pids[i]), &one, sizeof(one),
					   BPF_ANY);
		if (err) {
			snprintf(why, why_len, "cannot set pid filter: %s", strerror(-err));
			return err;
		}
	}
	if (f->cgroup_fd >= 0) {
		__u32 zero = 0;

		err = bpf_map__update_elem(cgroup, &zero, sizeof(zero), &f->cgroup_fd,
					   sizeof(f->cgroup_fd), BPF_ANY);
		if (err) {
			snprintf(why, why_len, "cannot set cgroup filter: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

int coll_read_drops(struct bpf_map *map, uint64_t prev[LS_DROP_MAX], uint64_t drops[LS_DROP_MAX])
{
	int ncpu = ncpus_possible();
	uint64_t *vals = calloc(ncpu, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (__u32 d = 0; d < LS_DROP_MAX; d++) {
		uint64_t sum;

		if (bpf_map_lookup_elem(bpf_map__fd(map), &d, vals))
			continue;
		sum = percpu_sum(vals, ncpu);
		drops[d] += counter_delta(prev[d], sum);
		prev[d] = sum;
	}
	free(vals);
	return 0;
}

/* answers are cached for a second: many keys share an owner, and every
 * kill(2) here would also be traced by our own programs */
#define GONE_CACHE  4096
#define GONE_TTL_NS 1000000000ULL

bool coll_owner_gone(uint32_t pid, uint32_t tid)
{
	static struct {
		uint32_t pid, tid;
		uint64_t at_ns;
		bool gone;
	} cache[GONE_CACHE];
	uint32_t slot = (pid * 2654435761u ^ tid * 40503u) % GONE_CACHE;
	struct timespec ts;
	uint64_t now;
	int r;

	if (!pid)
		return false;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (cache[slot].pid == pid && cache[slot].tid == tid &&
	    now - cache[slot].at_ns < GONE_TTL_NS)
		return cache[slot].gone;
	r = tid ? (int)syscall(SYS_tgkill, pid, tid, 0) : kill((pid_t)pid, 0);
	cache[slot].pid = pid;
	cache[slot].tid = tid;
	cache[slot].at_ns = now;
	cache[slot].gone = r && errno == ESRCH;
	return cache[slot].gone;
}

uint32_t coll_idle_limit(double interval_s, long nkeys, uint32_t max_keys)
{
	uint32_t limit = (uint32_t)(IDLE_EXPIRE_S / (interval_s > 0 ? interval_s : 1));

	if (nkeys > (long)(max_keys * FULL_RATIO) || limit < 2)
		limit = 2;
	return limit;
}

struct comm_ctx {
	struct bpf_map *map;
	enum ls_by by;
};

static void comm_from_map(uint32_t pid, uint32_t tid, char *out, void *ctx)
{
	struct comm_ctx *c = ctx;
	struct comm_val cv = {};
	__u32 id = c->by == LS_BY_THREAD && tid ? tid : pid;

	if (!bpf_map__lookup_elem(c->map, &id, sizeof(id), &cv, sizeof(cv), 0))
		memcpy(out, cv.comm, LS_COMM_LEN);
}

void coll_row_comm(struct bpf_map *task_comm, struct names *names, enum ls_by by, uint32_t pid,
		   uint32_t tid, char *out)
{
	struct comm_ctx ctx = {.map = task_comm, .by = by};

	if (!pid) {
		snprintf(out, LS_COMM_LEN, "?");
		return;
	}
	snprintf(out, LS_COMM_LEN, "%s",
		 names__comm(names, pid, by == LS_BY_THREAD ? tid : 0, comm_from_map, &ctx));
}
