/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's own cost, for every front end that shows it (the TUI header;
 * the exporter's process_* series and per-program run time): the
 * process's CPU time and RSS, how full the collectors' maps are, and with
 * BPF run-time statistics on (--stats) the run time and run count of every
 * program of every collector.
 *
 * Statistics are switched on through a BPF_ENABLE_STATS fd held for the
 * life of the agent object (the kernel switches them off again when the
 * last such fd is closed), never through the host-wide sysctl
 * kernel.bpf_stats_enabled. They cost two clock reads per run of every BPF
 * program on the host while on, hence an option. Asking for the fd needs
 * CAP_SYS_ADMIN: agent__new() runs before privileges are dropped.
 */
#ifndef LATSCOPE_AGENT_H
#define LATSCOPE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct run;

struct agent_cost {
	double period_s;    /* since the previous sample (or agent__new) */
	double cpu_s;	    /* user + system CPU seconds since exec */
	double cpu_pct;	    /* of one CPU, over the period */
	uint64_t rss_bytes; /* resident set; 0 when unknown */
	/* BPF run-time statistics are on: the next four are known */
	bool stats;
	const char *stats_why; /* when asked for but off: why; else NULL */
	uint64_t bpf_run_ns;   /* every program's run time since it loaded */
	uint64_t bpf_run_cnt;  /* and its runs */
	double bpf_ns_per_s;   /* run time per second of the period */
	double runs_per_s;     /* program runs (events) per second of the period */
	/* runs the kernel skipped because a program of ours was already
	 * running on the CPU (recursion), since loading; known without stats */
	uint64_t bpf_misses;
	/* the fullest aggregate map at the last read: keys / max_entries */
	double map_fill;
	const char *map_name; /* its name; NULL when no collector runs */
};

/*
 * A cost sampler. With stats, also switch BPF run-time statistics on for
 * its life. NULL (errno set, the reason in why) only when out of memory:
 * when the kernel refuses the statistics the agent samples without them
 * and says why in why and in every agent_cost (stats_why).
 */
struct agent *agent__new(bool stats, char *why, size_t len);

/*
 * Fill out with the cost since the previous sample of a and the totals of
 * r's collectors. 0, or -errno when the process's own usage cannot be read
 * (out is then zeroed).
 */
int agent__sample(struct agent *a, const struct run *r, struct agent_cost *out);

/* one loaded program: its collector, name, and (with statistics on) run
 * time and runs since it loaded; misses are counted with or without */
struct agent_prog {
	const char *coll;
	const char *name;
	uint64_t run_ns, run_cnt, misses;
};

/*
 * Call fn for every loaded program of every collector of r, in collector
 * order. Stops at and returns the first non-zero fn return; else 0, or
 * -errno when a program's information cannot be read.
 */
int agent__for_each_prog(const struct run *r, int (*fn)(const struct agent_prog *p, void *ctx),
			 void *ctx);

void agent__free(struct agent *a);

#endif
