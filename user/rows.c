// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "rows.h"

const char *const drop_names[LS_DROP_MAX] = {
	[LS_DROP_SYS_LAT] = "syscall_lat", [LS_DROP_SYS_ERR] = "syscall_errs",
	[LS_DROP_TASK] = "task_storage",   [LS_DROP_SCHED] = "sched_stats",
	[LS_DROP_RUNQ] = "runq_lat",	   [LS_DROP_CULPRIT] = "runq_culprits",
	[LS_DROP_TCP] = "tcp_stats",	   [LS_DROP_TCP_HIST] = "tcp_hist",
};

void interval__reset(struct interval *iv)
{
	iv->nsys = 0;
	iv->nerrs = 0;
	iv->nsched = 0;
	iv->nculprits = 0;
	iv->ntcp = 0;
	memset(iv->drops, 0, sizeof(iv->drops));
}

void interval__free(struct interval *iv)
{
	free(iv->sys);
	free(iv->errs);
	free(iv->sched);
	free(iv->culprits);
	free(iv->tcp);
	memset(iv, 0, sizeof(*iv));
}
