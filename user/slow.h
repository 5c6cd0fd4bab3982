/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `slow`: the slow-call events of bpf/slow.bpf.h turned into rows of one
 * more row kind (slow_schema), read from the ring buffer and handed to the
 * sinks one by one; the kernel's drop counters as "drops" lines.
 */
#ifndef LATSCOPE_SLOW_H
#define LATSCOPE_SLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "latscope.h"
#include "rows.h"

struct slow_row {
	struct row_id id; /* pid, tid, comm (at the call), cgroup */
	uint64_t end_ns;  /* realtime when the call returned */
	uint64_t start_ns;
	const char *syscall;
	int64_t ret;
	uint64_t lat_ns, oncpu_ns, runq_ns, preempted_ns, blocked_ns, disk_ns;
	uint32_t switches, cpu;
	bool partial; /* a switch-in was not seen: oncpu is the remainder */
	struct ls_waker waker;
	struct ls_fd fd;
	char path[LS_PATH_MAX * 3]; /* the file's path with its mount point */
	char name_buf[24];
};

extern const struct row_schema slow_schema;

struct names;
struct mounts;

/* mount id -> mount point, from /proc/self/mountinfo (reread on a miss, at
 * most once a second). NULL with errno on allocation failure. */
struct mounts *mounts__new(void);
void mounts__free(struct mounts *m);
/* the mount point of id, or NULL when unknown */
const char *mounts__point(struct mounts *m, uint32_t id);

/* Fill r from event e; mono_to_real_ns converts its CLOCK_MONOTONIC times. */
void slow_row__fill(struct slow_row *r, const struct slow_event *e, struct names *names,
		    struct mounts *mounts, int64_t mono_to_real_ns);

struct slow_reader;
struct bpf_map;

/*
 * A consumer of the events map that renders each event at once (JSON when
 * json, else a text line) to out. NULL with errno set on failure.
 */
struct slow_reader *slow_reader__new(struct bpf_map *events, struct bpf_map *drops,
				     struct names *names, bool json, FILE *out);
/* wait up to timeout_ms for events and render them: how many, or the
 * -errno of the first failed write (-EPIPE: the reader went away) */
int slow_reader__poll(struct slow_reader *r, int timeout_ms);
/* report events the kernel could not send since the last report (a JSON
 * "drops" line, or one line on stderr in text mode). 0 or -errno. */
int slow_reader__drops(struct slow_reader *r);
/* has rendering an event failed? */
bool slow_reader__failed(const struct slow_reader *r);
void slow_reader__free(struct slow_reader *r);

#endif
