// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "rows.h"
#include "util.h"

const char *const drop_names[LS_DROP_MAX] = {
	[LS_DROP_SYS_LAT] = "syscall_lat",
	[LS_DROP_SYS_ERR] = "syscall_errs",
	[LS_DROP_TASK] = "task_storage",
	[LS_DROP_SCHED] = "sched_stats",
	[LS_DROP_RUNQ] = "runq_lat",
	[LS_DROP_CULPRIT] = "runq_culprits",
	[LS_DROP_TCP] = "tcp_stats",
	[LS_DROP_TCP_HIST] = "tcp_hist",
	[LS_DROP_NO_SWITCH_IN] = "switch_in_missing",
	[LS_DROP_RECURSION] = "recursion_misses",
	[LS_DROP_RECORD] = "record",
	[LS_DROP_REQ] = "req_stats",
	[LS_DROP_REQ_HIST] = "req_hist",
	[LS_DROP_REQ_SOCK] = "req_sock_state",
};

void *table__add(struct table *t)
{
	void *r;

	if (array_grow(&t->rows, &t->cap, t->n + 1, t->row_size))
		return NULL;
	r = table__row(t, t->n++);
	memset(r, 0, t->row_size);
	return r;
}

long interval__add_bins(struct interval *iv, const struct hbin *bins, size_t n)
{
	size_t off = iv->nbins, at = 0;
	/* bins may be a range of iv->bins itself (merging two rows), which
	 * growing the array moves: copy from its offset, not the old pointer */
	bool inside = iv->bins && (uintptr_t)bins >= (uintptr_t)iv->bins &&
		      (uintptr_t)bins < (uintptr_t)(iv->bins + iv->nbins);

	if (!n)
		return (long)off;
	if (inside)
		at = (size_t)(bins - iv->bins);
	if (array_grow((void **)&iv->bins, &iv->bins_cap, iv->nbins + n, sizeof(*bins)))
		return -ENOMEM;
	memcpy(iv->bins + off, inside ? iv->bins + at : bins, n * sizeof(*bins));
	iv->nbins += n;
	return (long)off;
}

struct hbin *interval__bins_reserve(struct interval *iv, size_t max)
{
	if (array_grow((void **)&iv->bins, &iv->bins_cap, iv->nbins + max, sizeof(*iv->bins)))
		return NULL;
	return iv->bins + iv->nbins;
}

void interval__set_hist(struct interval *iv, struct row_hist *h, size_t n)
{
	h->off = (uint32_t)iv->nbins;
	h->n = (uint32_t)n;
	iv->nbins += n;
}

int interval__add_errno(struct interval *iv, uint32_t err, uint64_t count)
{
	if (array_grow((void **)&iv->errs, &iv->errs_cap, iv->nerrs + 1, sizeof(*iv->errs)))
		return -ENOMEM;
	iv->errs[iv->nerrs].err = err;
	iv->errs[iv->nerrs++].count = count;
	return 0;
}

int interval__add_culprit(struct interval *iv, const struct culprit *c)
{
	if (array_grow((void **)&iv->culprits, &iv->culprits_cap, iv->nculprits + 1,
		       sizeof(*iv->culprits)))
		return -ENOMEM;
	iv->culprits[iv->nculprits++] = *c;
	return 0;
}

void interval__reset(struct interval *iv)
{
	for (size_t t = 0; t < iv->ntables; t++)
		iv->tables[t].n = iv->tables[t].idle_hidden = 0;
	iv->nbins = 0;
	iv->nerrs = 0;
	iv->nculprits = 0;
	memset(iv->drops, 0, sizeof(iv->drops));
	iv->nintervals = 0;
}

void interval__free(struct interval *iv)
{
	for (size_t t = 0; t < iv->ntables; t++)
		free(iv->tables[t].rows);
	free(iv->bins);
	free(iv->errs);
	free(iv->culprits);
	memset(iv, 0, sizeof(*iv));
}

/* dst's array *d (capacity *cap) made a copy of n elements of src */
static int copy_array(void **d, size_t *cap, const void *src, size_t n, size_t elem)
{
	if (array_grow(d, cap, n, elem))
		return -ENOMEM;
	if (n)
		memcpy(*d, src, n * elem);
	return 0;
}

int interval__copy(struct interval *dst, const struct interval *src)
{
	size_t t;

	for (t = 0; t < src->ntables; t++) {
		struct table *d = &dst->tables[t];
		const struct table *s = &src->tables[t];

		if (t >= dst->ntables || d->schema != s->schema) {
			free(t < dst->ntables ? d->rows : NULL);
			memset(d, 0, sizeof(*d));
		}
		if (copy_array(&d->rows, &d->cap, s->rows, s->n, s->row_size))
			return -ENOMEM;
		d->schema = s->schema;
		d->active = s->active;
		d->row_size = s->row_size;
		d->n = s->n;
		d->idle_hidden = s->idle_hidden;
	}
	for (; t < dst->ntables; t++) {
		free(dst->tables[t].rows);
		memset(&dst->tables[t], 0, sizeof(dst->tables[t]));
	}
	dst->ntables = src->ntables;
	if (copy_array((void **)&dst->bins, &dst->bins_cap, src->bins, src->nbins,
		       sizeof(*src->bins)) ||
	    copy_array((void **)&dst->errs, &dst->errs_cap, src->errs, src->nerrs,
		       sizeof(*src->errs)) ||
	    copy_array((void **)&dst->culprits, &dst->culprits_cap, src->culprits, src->nculprits,
		       sizeof(*src->culprits)))
		return -ENOMEM;
	dst->nbins = src->nbins;
	dst->nerrs = src->nerrs;
	dst->nculprits = src->nculprits;
	dst->realtime_ns = src->realtime_ns;
	dst->interval_s = src->interval_s;
	dst->by = src->by;
	dst->replay = src->replay;
	dst->groups = src->groups;
	memcpy(dst->drops, src->drops, sizeof(dst->drops));
	return 0;
}
