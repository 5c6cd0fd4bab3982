// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's own cost: CPU, RSS, map fill and BPF program run time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "run.h"

struct agent {
	int stats_fd; /* BPF_ENABLE_STATS; -1: statistics off */
	char stats_why[160];
	bool sampled;	  /* prev_run_* hold a sample's statistics */
	uint64_t prev_ns; /* CLOCK_MONOTONIC of the previous sample */
	double prev_cpu_s;
	uint64_t prev_run_ns, prev_run_cnt;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct agent *agent__new(bool stats, char *why, size_t len)
{
	struct agent *a = calloc(1, sizeof(*a));

	if (len)
		why[0] = 0;
	if (!a) {
		snprintf(why, len, "cannot allocate the cost sampler: %s", strerror(errno));
		return NULL;
	}
	a->stats_fd = -1;
	a->prev_ns = mono_ns();
	a->prev_cpu_s = cpu_seconds();
	if (stats) {
		a->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (a->stats_fd < 0) {
			int err = errno;

			snprintf(a->stats_why, sizeof(a->stats_why),
				 "cannot enable BPF run-time statistics: %s%s", strerror(err),
				 err == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
			snprintf(why, len, "%s", a->stats_why);
			a->stats_fd = -1;
		}
	}
	return a;
}

void agent__free(struct agent *a)
{
	if (!a)
		return;
	if (a->stats_fd >= 0)
		close(a->stats_fd);
	free(a);
}

int agent__for_each_prog(const struct run *r, int (*fn)(const struct agent_prog *p, void *ctx),
			 void *ctx)
{
	for (size_t i = 0; i < r->n; i++) {
		struct bpf_object *obj = coll__object(r->c[i]);
		struct bpf_program *p;

		if (!obj)
			continue;
		bpf_object__for_each_program(p, obj)
		{
			struct bpf_prog_info info;
			__u32 len = sizeof(info);
			struct agent_prog ap;
			int fd = bpf_program__fd(p), err;

			if (fd < 0) /* not loaded: the other attach flavour */
				continue;
			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(fd, &info, &len))
				return -errno;
			ap.coll = coll__desc(r->c[i])->name;
			ap.name = bpf_program__name(p);
			ap.run_ns = info.run_time_ns;
			ap.run_cnt = info.run_cnt;
			ap.misses = info.recursion_misses;
			if ((err = fn(&ap, ctx)))
				return err;
		}
	}
	return 0;
}

static int add_prog(const struct agent_prog *p, void *ctx)
{
	struct agent_cost *c = ctx;

	c->bpf_run_ns += p->run_ns;
	c->bpf_run_cnt += p->run_cnt;
	c->bpf_misses += p->misses;
	return 0;
}

static uint64_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

int agent__sample(struct agent *a, const struct run *r, struct agent_cost *out)
{
	uint64_t now = mono_ns();
	int err;

	memset(out, 0, sizeof(*out));
	out->cpu_s = cpu_seconds();
	if (out->cpu_s < 0) {
		err = -errno;
		memset(out, 0, sizeof(*out));
		return err;
	}
	out->period_s = (now - a->prev_ns) / 1e9;
	out->rss_bytes = rss_bytes();
	if (out->period_s > 0)
		out->cpu_pct = 100 * (out->cpu_s - a->prev_cpu_s) / out->period_s;
	out->stats = a->stats_fd >= 0;
	out->stats_why = a->stats_why[0] ? a->stats_why : NULL;
	err = agent__for_each_prog(r, add_prog, out);
	if (err) { /* a program we hold an fd of: not expected; say unknown */
		out->stats = false;
		out->bpf_run_ns = out->bpf_run_cnt = out->bpf_misses = 0;
	}
	if (out->stats && a->sampled && out->period_s > 0) {
		out->bpf_ns_per_s = (out->bpf_run_ns - a->prev_run_ns) / out->period_s;
		out->runs_per_s = (out->bpf_run_cnt - a->prev_run_cnt) / out->period_s;
	}
	for (size_t i = 0; i < r->n; i++) {
		const char *name;
		double f = coll__fill(r->c[i], &name);

		if (name && (!out->map_name || f > out->map_fill)) {
			out->map_fill = f;
			out->map_name = name;
		}
	}
	a->prev_ns = now;
	a->prev_cpu_s = out->cpu_s;
	a->prev_run_ns = out->bpf_run_ns;
	a->prev_run_cnt = out->bpf_run_cnt;
	a->sampled = out->stats;
	return 0;
}
