// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "collector.h"
#include "mapread.h"
#include "stats.h"
#include "util.h"

/* idle keys are deleted from the kernel map after this long... */
#define IDLE_EXPIRE_S 60.0
/* ...or after two idle intervals once the map is this full */
#define FULL_RATIO 0.75

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

bool coll_owner_gone(uint32_t pid, uint32_t tid)
{
	int r;

	if (!pid)
		return false;
	r = tid ? (int)syscall(SYS_tgkill, pid, tid, 0) : kill((pid_t)pid, 0);
	return r && errno == ESRCH;
}

uint32_t coll_idle_limit(double interval_s, long nkeys, uint32_t max_keys)
{
	uint32_t limit = (uint32_t)(IDLE_EXPIRE_S / (interval_s > 0 ? interval_s : 1));

	if (nkeys > (long)(max_keys * FULL_RATIO) || limit < 2)
		limit = 2;
	return limit;
}
