// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include <time.h>
#include "log.h"
#include "run.h"

volatile sig_atomic_t run_stop;

uint64_t run_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int run__collect(struct run *r, struct interval *iv)
{
	uint64_t now = run_clock_ns(CLOCK_MONOTONIC);

	interval__reset(iv);
	iv->realtime_ns = run_clock_ns(CLOCK_REALTIME);
	iv->interval_s = (now - r->prev_ns) / 1e9;
	r->prev_ns = now;
	for (size_t i = 0; i < r->n; i++) {
		int err = coll__collect(r->c[i], r->names, iv);

		if (err) {
			log_error("cannot read %s maps: %s", coll__desc(r->c[i])->name,
				  strerror(-err));
			return 1;
		}
	}
	return 0;
}
