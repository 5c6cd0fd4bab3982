/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flight recorder: a sink that writes every interval's rows (idle
 * waits included, before any grouping) to segment files in a directory
 * (recfmt.h), and the readers that play them back: top --replay and
 * report. Replay loads no BPF and needs only read access.
 */
#ifndef LATSCOPE_RECORD_H
#define LATSCOPE_RECORD_H

#include "opts.h"
#include "rows.h"

#define REC_FSYNC_NS	(5 * 1000000000ULL) /* what power loss may take */
#define REC_SEGMENT_MAX (16u << 20)	    /* a segment is rotated at this size */

struct recorder;
struct run;

/*
 * Open (create, mode 0700) and lock o->dir for recording: done before
 * privileges are dropped. 0; -EWOULDBLOCK when another recorder holds the
 * directory; another -errno; why says what failed.
 */
int recorder__open(struct recorder **out, const struct options *o, char *why, size_t why_len);

/*
 * Append iv as one frame (a new segment on the first call, after a short
 * write and at REC_SEGMENT_MAX). Intervals that could not be written
 * (disk full) are counted and added to the next interval's
 * drops[LS_DROP_RECORD], in iv itself so other sinks show them too. Never
 * fails the agent: problems are logged (once per episode).
 */
void recorder__write(struct recorder *r, struct interval *iv);

/* fsync and close; NULL is fine */
void recorder__close(struct recorder *r);

/* `latscope record`: the collect-and-write loop. Exit status. */
int record__run(struct run *r, struct interval *iv, struct recorder *rec);

/* `latscope top --replay` and `latscope report`: exit status. */
int replay__run(const struct options *o);
int report__run(const struct options *o);

#endif
