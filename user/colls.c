// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The registry of collectors: the one place that lists them. */
#include "collector.h"
#include "requests.h"
#include "sched.h"
#include "syscalls.h"
#include "tcp.h"
#include "util.h"

const struct coll_desc *const coll_all[] = {&sys_coll_desc, &sched_coll_desc, &tcp_coll_desc,
					    &req_coll_desc};
const size_t coll_count = ARRAY_SIZE(coll_all);

const struct coll_desc *coll_by_name(const char *name)
{
	for (size_t i = 0; i < coll_count; i++)
		if (!strcmp(coll_all[i]->name, name))
			return coll_all[i];
	return NULL;
}
