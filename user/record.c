// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flight recorder and its readers: see record.h and README.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "collector.h"
#include "log.h"
#include "recfmt.h"
#include "record.h"
#include "run.h"
#include "schema.h"
#include "sink.h"
#include "util.h"

#define PRUNE_EVERY_NS (60 * 1000000000ULL)
#define NS	       1000000000ULL

/*
 * The tiers: 0 holds one frame per interval (SEG-*.lsr, as format version
 * 1 always did); 1 and 2 hold the roll-ups (R1-*.lsr, R2-*.lsr), built in
 * memory from the intervals and appended when their window is complete.
 */
#define NTIERS 3
static const char *const tier_prefix[NTIERS] = {"SEG", "R1", "R2"};

struct tier {
	int fd;	       /* the open segment, -1 when none */
	char cur[64];  /* the last segment opened (open or not) */
	char prev[64]; /* the one before: cur again if cur is left empty */
	struct rec_header h;
	struct rec_enc *enc;
	uint64_t seg_bytes, hdr_bytes, seg_start_ns;
	uint64_t keep_ns; /* retention by age */
	/* roll-up tiers: the window being built */
	uint64_t len_ns; /* window length; 0: tier 0 */
	struct interval acc, tmp;
	uint64_t win, last_end;
	bool have;
};

struct recorder {
	int dirfd;
	char dir[PATH_MAX];
	struct tier t[NTIERS];
	struct rec_buf buf;
	uint64_t seg_max, max_size, max_age_ns, interval_ns, prune_every_ns;
	uint64_t last_sync_ns, last_prune_ns;
	uint64_t pending; /* intervals lost since the last frame written */
	uint64_t rollups_lost;
	bool paused;
	enum ls_by by;
};

struct seg {
	char name[64];
	int tier;
	uint64_t start_ns;
	uint64_t size;
	uint64_t mtime_ns;
};

static const struct row_schema *kinds[IV_MAX_TABLES];
static size_t nkinds;

static void kinds_init(void)
{
	nkinds = 0;
	for (size_t i = 0; i < coll_count && nkinds < IV_MAX_TABLES; i++)
		kinds[nkinds++] = coll_all[i]->schema;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* the segments of the directory open at dirfd, oldest first; -errno */
static long segs_list(int dirfd, struct seg **out)
{
	struct seg *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return err;
	}
	while ((de = readdir(d))) {
		unsigned long long start;
		struct stat st;
		int pid, len = 0, tier = 0;

		if (sscanf(de->d_name, "SEG-%20llu-%d.lsr%n", &start, &pid, &len) != 2 &&
		    (len = 0,
		     sscanf(de->d_name, "R%1d-%20llu-%d.lsr%n", &tier, &start, &pid, &len) != 3 ||
			     tier < 1 || tier >= NTIERS))
			continue;
		if (!len || de->d_name[len] || strlen(de->d_name) >= sizeof(v->name))
			continue;
		if (fstatat(dirfd, de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		if (array_grow((void **)&v, &cap, n + 1, sizeof(*v))) {
			closedir(d);
			free(v);
			return -ENOMEM;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		v[n].tier = tier;
		v[n].start_ns = start;
		v[n].size = (uint64_t)st.st_size;
		v[n].mtime_ns = st.st_mtim.tv_sec * 1000000000ULL + st.st_mtim.tv_nsec;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), seg_cmp);
	*out = v;
	return (long)n;
}

/* ---- rows ---- */

/* one histogram's bins appended to acc: with compact, sorted and one per
 * bucket (counts and sums of a bucket add exactly) */
static int copy_hist(struct interval *acc, const struct interval *iv, struct row_hist *h,
		     bool compact)
{
	struct hbin *b;
	size_t m = 0;

	if (!compact) {
		long off = interval__add_bins(acc, iv->bins + h->off, h->n);

		if (off < 0)
			return (int)off;
		h->off = (uint32_t)off;
		return 0;
	}
	if (!(b = interval__bins_reserve(acc, h->n)))
		return -ENOMEM;
	memcpy(b, iv->bins + h->off, h->n * sizeof(*b));
	hbin_sort(b, h->n);
	for (size_t i = 0; i < h->n; i++) {
		if (m && b[m - 1].bucket == b[i].bucket) {
			b[m - 1].count += b[i].count;
			b[m - 1].sum += b[i].sum;
		} else {
			b[m++] = b[i];
		}
	}
	interval__set_hist(acc, h, m);
	return 0;
}

/* iv's rows appended to acc (bins, errnos and culprits copied) */
static int copy_rows(struct interval *acc, const struct interval *iv, bool compact)
{
	for (size_t t = 0; t < iv->ntables; t++) {
		const struct table *tb = &iv->tables[t];
		const struct row_schema *s = tb->schema;
		struct table *d = interval__table(acc, s);

		if (!d)
			return -ENOMEM;
		d->active |= tb->active;
		for (size_t r = 0; r < tb->n; r++) {
			char *row = table__add(d);

			if (!row)
				return -ENOMEM;
			memcpy(row, table__row(tb, r), s->row_size);
			for (size_t f = 0; f < s->nfields; f++) {
				const struct field *fl = &s->fields[f];
				struct row_list *l = (void *)(row + fl->off);
				int err;

				if (fl->off < sizeof(struct row_id))
					continue;
				if (fl->kind == FK_HIST) {
					if ((err = copy_hist(acc, iv, (void *)(row + fl->off),
							     compact)))
						return err;
				} else if (fl->kind == FK_ERRNOS) {
					uint32_t off = (uint32_t)acc->nerrs;

					for (uint32_t k = 0; k < l->n; k++)
						if (interval__add_errno(acc,
									iv->errs[l->off + k].err,
									iv->errs[l->off + k].count))
							return -ENOMEM;
					l->off = off;
				} else if (fl->kind == FK_CULPRITS) {
					uint32_t off = (uint32_t)acc->nculprits;

					for (uint32_t k = 0; k < l->n; k++)
						if (interval__add_culprit(
							    acc, &iv->culprits[l->off + k]))
							return -ENOMEM;
					l->off = off;
				}
			}
		}
	}
	return 0;
}

/* ---- recording ---- */

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/*
 * The roll-up lengths and retentions: 10 s kept 6 h and 1 min kept for the
 * rest of --max-age; tier 0 kept 1 h. Test hook (README): LATSCOPE_TIERS=
 * "L1,L2[,K0,K1]" in seconds shortens them (roll-up lengths, then how long
 * tiers 0 and 1 are kept). 0 or -EINVAL.
 */
static int tiers_conf(uint64_t len[NTIERS], uint64_t keep[NTIERS], uint64_t max_age)
{
	const char *env = getenv("LATSCOPE_TIERS");
	double v[4] = {10, 60, 3600, 6 * 3600};
	int n = 0;

	if (env && *env) {
		char *end;
		const char *p = env;

		for (n = 0; n < 4; n++) {
			v[n] = strtod(p, &end);
			if (end == p || v[n] <= 0 || v[n] > 1e7)
				return -EINVAL;
			p = end;
			if (!*p)
				break;
			if (*p++ != ',')
				return -EINVAL;
		}
		if (n < 1 || n == 2 || n > 3 || *p)
			return -EINVAL;
		if (n == 1) { /* lengths only: keep the default retention's shape */
			v[2] = v[0] * 360;
			v[3] = v[0] * 2160;
		}
	}
	len[0] = 0;
	len[1] = (uint64_t)(v[0] * NS);
	len[2] = (uint64_t)(v[1] * NS);
	keep[0] = (uint64_t)(v[2] * NS);
	keep[1] = (uint64_t)(v[3] * NS);
	keep[2] = max_age;
	for (int i = 0; i < NTIERS; i++)
		if (keep[i] > max_age)
			keep[i] = max_age;
	return len[1] < len[2] ? 0 : -EINVAL;
}

int recorder__open(struct recorder **out, const struct options *o, char *why, size_t why_len)
{
	struct recorder *r = calloc(1, sizeof(*r));
	uint64_t len[NTIERS], keep[NTIERS];
	struct rec_header h = {};
	struct utsname u;
	int err;

	if (!r) {
		snprintf(why, why_len, "cannot allocate the recorder: %s", strerror(errno));
		return -ENOMEM;
	}
	if (tiers_conf(len, keep, o->max_age_ns)) {
		snprintf(why, why_len,
			 "invalid LATSCOPE_TIERS '%s': expected L1,L2[,K0,K1] in seconds "
			 "(roll-up lengths L1 < L2, retention of tiers 0 and 1)",
			 getenv("LATSCOPE_TIERS"));
		free(r);
		return -EINVAL;
	}
	snprintf(r->dir, sizeof(r->dir), "%s", o->dir);
	if (mkdir(o->dir, 0700) && errno != EEXIST) {
		err = -errno;
		snprintf(why, why_len, "cannot create %s: %s", o->dir, strerror(-err));
		goto fail;
	}
	r->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot open %s: %s", o->dir, strerror(-err));
		goto fail;
	}
	if (flock(r->dirfd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (err == -EWOULDBLOCK)
			snprintf(why, why_len,
				 "cannot lock %s: another recorder is writing there (one "
				 "recorder per directory; use --dir)",
				 o->dir);
		else
			snprintf(why, why_len, "cannot lock %s: %s", o->dir, strerror(-err));
		close(r->dirfd);
		goto fail;
	}
	kinds_init();
	if (!uname(&u)) {
		snprintf(h.host, sizeof(h.host), "%s", u.nodename);
		snprintf(h.kernel, sizeof(h.kernel), "%s", u.release);
	}
	read_line("/proc/sys/kernel/random/boot_id", h.boot_id, sizeof(h.boot_id));
	h.interval_ns = o->interval_ns;
	h.by = o->by;
	rec_header__set_kinds(&h, kinds, nkinds);
	r->by = o->by;
	r->interval_ns = o->interval_ns;
	r->max_size = o->max_size;
	r->max_age_ns = o->max_age_ns;
	/* about eight segments within --max-size, so removing the oldest
	 * frees a small part of it */
	r->seg_max = o->max_size / 8;
	if (r->seg_max > REC_SEGMENT_MAX)
		r->seg_max = REC_SEGMENT_MAX;
	r->prune_every_ns = PRUNE_EVERY_NS;
	for (int i = 0; i < NTIERS; i++) {
		struct tier *t = &r->t[i];

		t->fd = -1;
		t->h = h;
		t->h.rollup_ns = len[i];
		t->len_ns = len[i];
		t->keep_ns = keep[i];
		if (keep[i] / 4 < r->prune_every_ns)
			r->prune_every_ns = keep[i] / 4;
		for (size_t k = 0; k < nkinds; k++) {
			interval__table(&t->acc, kinds[k]);
			interval__table(&t->tmp, kinds[k]);
		}
	}
	*out = r;
	return 0;
fail:
	free(r);
	return err;
}

/* write all of p or fail: never a frame after a partial one (the caller
 * cuts the partial frame off and closes the segment on any failure). A
 * short write is continued, so a full disk says ENOSPC. 0 or -errno. */
static int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (!w)
			return -EIO;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static void seg_close(struct tier *t)
{
	if (t->fd < 0)
		return;
	fdatasync(t->fd);
	close(t->fd);
	t->fd = -1;
	rec_enc__free(t->enc);
	t->enc = NULL;
}

static int seg_open(struct recorder *r, struct tier *t, int ti)
{
	char name[sizeof(t->cur)];
	int err;

	t->h.start_ns = run_clock_ns(CLOCK_REALTIME);
	/* t->cur keeps naming the last segment written until this one has its
	 * header: prune() never removes it, so a full disk cannot take it all */
	snprintf(name, sizeof(name), "%s-%020llu-%d.lsr", tier_prefix[ti],
		 (unsigned long long)t->h.start_ns, (int)getpid());
	t->fd = openat(r->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (t->fd < 0)
		return -errno;
	t->enc = rec_enc__new(&t->h);
	r->buf.n = 0;
	if (!t->enc || rec_enc__header(t->enc, &r->buf)) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = write_all(t->fd, r->buf.p, r->buf.n)))
		goto fail;
	fsync(r->dirfd); /* the new name survives a power loss too */
	t->seg_bytes = t->hdr_bytes = r->buf.n;
	t->seg_start_ns = t->h.start_ns;
	memcpy(t->prev, t->cur, sizeof(t->prev));
	memcpy(t->cur, name, sizeof(t->cur));
	return 0;
fail:
	close(t->fd);
	t->fd = -1;
	rec_enc__free(t->enc);
	t->enc = NULL;
	unlinkat(r->dirfd, name, 0); /* a segment without a whole header is nothing */
	return err;
}

static bool is_current(const struct recorder *r, const char *name)
{
	for (int i = 0; i < NTIERS; i++)
		if (!strcmp(r->t[i].cur, name))
			return true;
	return false;
}

/*
 * Remove segments (never the last one written of a tier, open or not):
 * those older than their tier's retention; then, while the directory is
 * over --max-size (with force: at least one), the oldest of the finest
 * tier that has one to remove. Returns how many were removed.
 */
static int prune(struct recorder *r, bool force)
{
	struct seg *v = NULL;
	long n = segs_list(r->dirfd, &v);
	uint64_t total = 0, now = run_clock_ns(CLOCK_REALTIME);
	int removed = 0;

	if (n <= 0)
		return 0;
	for (long i = 0; i < n; i++)
		total += v[i].size;
	for (long i = 0; i <= n; i++) {
		long pick = i;

		if (i == n) { /* by age done: now by size, finest tier first */
			if (!force && total <= r->max_size)
				break;
			pick = -1;
			for (int ti = 0; ti < NTIERS && pick < 0; ti++)
				for (long k = 0; k < n && pick < 0; k++)
					if (v[k].name[0] && v[k].tier == ti &&
					    !is_current(r, v[k].name))
						pick = k;
			if (pick < 0)
				break;
			i--; /* again, until within bounds */
		} else if (is_current(r, v[i].name) ||
			   v[i].mtime_ns + r->t[v[i].tier].keep_ns >= now) {
			continue;
		}
		if (unlinkat(r->dirfd, v[pick].name, 0)) {
			v[pick].name[0] = 0;
			continue;
		}
		log_verbose("recorder: removed %s (%llu bytes)", v[pick].name,
			    (unsigned long long)v[pick].size);
		total -= v[pick].size;
		v[pick].name[0] = 0;
		removed++;
		force = false;
	}
	free(v);
	return removed;
}

/* one frame of iv (an interval or a roll-up) appended to tier t: 0 or -errno */
static int tier_write(struct recorder *r, int ti, const struct interval *iv)
{
	struct tier *t = &r->t[ti];
	int err;

	if (t->fd < 0 && (err = seg_open(r, t, ti)))
		return err;
	if ((err = rec_enc__interval(t->enc, iv, &r->buf)))
		return err;
	if ((err = write_all(t->fd, r->buf.p, r->buf.n))) {
		/* a partial frame ends the segment (the next write starts a
		 * new one), and is cut off so readers find no torn frame
		 * (should the cut fail, they skip it by its CRC) */
		if (ftruncate(t->fd, (off_t)t->seg_bytes))
			log_debug("recorder: cannot cut the partial frame off %s: %s", t->cur,
				  strerror(errno));
		seg_close(t);
		/* a segment with no frame is nothing: the last one with frames
		 * is again the one prune() keeps */
		if (t->seg_bytes == t->hdr_bytes && !unlinkat(r->dirfd, t->cur, 0))
			memcpy(t->cur, t->prev, sizeof(t->cur));
		return err;
	}
	rec_enc__commit(t->enc);
	t->seg_bytes += r->buf.n;
	/* rotated by size, and by age so retention removes a tier's data in
	 * steps of a quarter of its retention */
	if (t->seg_bytes >= r->seg_max ||
	    run_clock_ns(CLOCK_REALTIME) - t->seg_start_ns >= t->keep_ns / 4)
		seg_close(t);
	return 0;
}

/* the roll-up's rows of one key made one row; bins of one bucket one bin */
static int rollup_merge(struct recorder *r, struct tier *t)
{
	struct interval *a = &t->acc, *c = &t->tmp;
	int err;

	switch (r->by) {
	case LS_BY_THREAD: err = interval__group_by_thread(a); break;
	case LS_BY_COMM: err = interval__group_by_comm(a); break;
	case LS_BY_CGROUP: err = interval__group_by_cgroup(a); break;
	default: err = interval__group_by_process(a); break;
	}
	if (err)
		return err;
	/* grouping leaves the merged ranges' old bins behind: copy what is
	 * used, each histogram's bins sorted and one per bucket */
	interval__reset(c);
	if ((err = copy_rows(c, a, true)))
		return err;
	memcpy(c->drops, a->drops, sizeof(c->drops));
	c->interval_s = a->interval_s;
	c->nintervals = a->nintervals;
	c->realtime_ns = a->realtime_ns;
	c->by = a->by;
	{
		struct interval x = *a;

		*a = *c;
		*c = x;
	}
	return 0;
}

/* the roll-up of tier t written (kept in memory only until now) */
static void rollup_flush(struct recorder *r, int ti)
{
	struct tier *t = &r->t[ti];
	int err = -ENOSPC;

	if (!t->have)
		return;
	t->have = false;
	if (!r->paused && !(err = tier_write(r, ti, &t->acc)))
		return;
	/* its intervals are in tier 0 (or counted there as lost) */
	if (!r->rollups_lost++ || r->rollups_lost % 1000 == 0)
		log_error("recorder: a %.0f s roll-up could not be written (%s); its intervals "
			  "stay in the 1 s tier until they age out (%llu lost so far)",
			  t->len_ns / 1e9, strerror(-err), (unsigned long long)r->rollups_lost);
}

static void rollup_add(struct recorder *r, int ti, const struct interval *iv, uint64_t lost)
{
	struct tier *t = &r->t[ti];
	uint64_t end = iv->realtime_ns, len = (uint64_t)(iv->interval_s * 1e9);
	uint64_t start = end > len ? end - len : 0;
	uint64_t win = end / t->len_ns;
	int err;

	/* a window ends with the first interval of the next one, or at a
	 * gap: a roll-up spans only intervals that follow on */
	if (t->have && (win != t->win || start > t->last_end + r->interval_ns / 2))
		rollup_flush(r, ti);
	if (!t->have) {
		interval__reset(&t->acc);
		t->acc.interval_s = 0;
		t->acc.by = r->by;
	}
	if ((err = copy_rows(&t->acc, iv, false)) || (err = rollup_merge(r, t))) {
		log_error("recorder: cannot build the %.0f s roll-up: %s", t->len_ns / 1e9,
			  strerror(-err));
		t->have = false;
		return;
	}
	for (size_t i = 0; i < LS_DROP_MAX; i++)
		t->acc.drops[i] += iv->drops[i];
	t->acc.drops[LS_DROP_RECORD] += lost;
	t->acc.interval_s += iv->interval_s;
	t->acc.nintervals += iv->nintervals ? iv->nintervals : 1;
	t->acc.realtime_ns = end;
	t->win = win;
	t->last_end = end;
	t->have = true;
}

/* paused: is there room for a segment again? (not just for the frame a
 * cut partial one left room for, or the recorder would flap) */
static bool room_again(const struct recorder *r)
{
	struct statvfs st;

	if (fstatvfs(r->dirfd, &st))
		return true; /* cannot tell: let the write say */
	return (uint64_t)st.f_bavail * st.f_frsize >= r->seg_max;
}

static int try_write(struct recorder *r, struct interval *iv)
{
	int err;

	iv->drops[LS_DROP_RECORD] += r->pending;
	err = tier_write(r, 0, iv);
	iv->drops[LS_DROP_RECORD] -= r->pending;
	return err;
}

void recorder__write(struct recorder *r, struct interval *iv)
{
	int err = r->paused && !room_again(r) ? -ENOSPC : try_write(r, iv);
	uint64_t now, lost = 0;

	/* disk full: the oldest segment goes first, then one more try; once
	 * paused, history is kept and each interval only tries again */
	if ((err == -ENOSPC || err == -EDQUOT) && !r->paused && prune(r, true))
		err = try_write(r, iv);
	if (err) {
		r->pending++;
		iv->drops[LS_DROP_RECORD]++;
		if (!r->paused)
			log_error("recording to %s paused: %s; intervals not written are "
				  "counted as dropped (what=record) until writes succeed",
				  r->dir, strerror(-err));
		r->paused = true;
	} else {
		if (r->paused)
			log_info("recording to %s resumed after %llu intervals lost", r->dir,
				 (unsigned long long)r->pending);
		lost = r->pending;
		r->paused = false;
		r->pending = 0;
	}
	/* the roll-ups hold what the interval frames hold: an interval not
	 * written is a gap there too (and the next one carries the count) */
	if (!err)
		for (int ti = 1; ti < NTIERS; ti++)
			rollup_add(r, ti, iv, lost);
	now = run_clock_ns(CLOCK_MONOTONIC);
	if (now - r->last_sync_ns >= REC_FSYNC_NS) {
		for (int ti = 0; ti < NTIERS; ti++)
			if (r->t[ti].fd >= 0)
				fdatasync(r->t[ti].fd);
		r->last_sync_ns = now;
	}
	if (r->t[0].fd < 0 || now - r->last_prune_ns >= r->prune_every_ns) {
		if (!r->paused)
			prune(r, false);
		r->last_prune_ns = now;
	}
}

void recorder__close(struct recorder *r)
{
	if (!r)
		return;
	/* a clean stop writes the unfinished roll-ups (a kill -9 loses them) */
	for (int ti = 1; ti < NTIERS; ti++)
		rollup_flush(r, ti);
	for (int ti = 0; ti < NTIERS; ti++) {
		seg_close(&r->t[ti]);
		interval__free(&r->t[ti].acc);
		interval__free(&r->t[ti].tmp);
	}
	close(r->dirfd);
	rec_buf__free(&r->buf);
	free(r);
}

int record__run(struct run *r, struct interval *iv, struct recorder *rec)
{
	const struct options *o = r->o;
	uint64_t deadline = r->prev_ns + o->interval_ns, n = 0;

	for (;;) {
		struct timespec ts = {.tv_sec = deadline / 1000000000ULL,
				      .tv_nsec = deadline % 1000000000ULL};
		uint64_t now;

		while (!run_stop &&
		       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		now = run_clock_ns(CLOCK_MONOTONIC);
		/* on a signal the partial interval is still recorded */
		if (run_stop && now - r->prev_ns < o->interval_ns / 20)
			break;
		if (run__collect(r, iv))
			return 1;
		/* idle waits included, no grouping: replay decides */
		recorder__write(rec, iv);
		if (run_stop || (o->count && ++n >= o->count))
			break;
		deadline += o->interval_ns;
		if (deadline < now)
			deadline = now + o->interval_ns;
	}
	return 0;
}

/* ---- replay ---- */

/* a segment's bytes, as far as they are written now; NULL with errno */
static uint8_t *load(int dirfd, const char *name, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t n = 0, cap = 0;
	uint8_t *p = NULL;
	ssize_t got;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (array_grow((void **)&p, &cap, n + 65536, 1)) {
			free(p);
			close(fd);
			errno = ENOMEM;
			return NULL;
		}
		got = read(fd, p + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (got < 0) {
		free(p);
		return NULL;
	}
	*len = n;
	return p;
}

/* can rows recorded by rec be shown (or reported) by want? */
static bool by_reachable(enum ls_by rec, enum ls_by want)
{
	if (rec == want || rec == LS_BY_THREAD)
		return true;
	return rec == LS_BY_PROCESS && (want == LS_BY_COMM || want == LS_BY_CGROUP);
}

/* rows made want rows; force: also when they already are (a report's
 * rows of one key from many intervals) */
static int group_as(struct interval *iv, enum ls_by want, bool force)
{
	if (iv->by == want && !force)
		return 0;
	switch (want) {
	case LS_BY_COMM: return interval__group_by_comm(iv);
	case LS_BY_CGROUP: return interval__group_by_cgroup(iv);
	case LS_BY_PROCESS: return interval__group_by_process(iv);
	default: return 0;
	}
}

struct player {
	const struct options *o;
	int dirfd;
	struct seg *segs;
	long nsegs;
	enum ls_by want;
	bool want_known;
	uint64_t prev_end;   /* end of the last interval seen, 0: none */
	uint64_t nominal_ns; /* the recording's interval */
	size_t ngaps, nframes;
	size_t tier_frames[NTIERS];
	uint64_t bound[NTIERS];	   /* start of a tier's first frame; UINT64_MAX: none */
	uint64_t tier_len[NTIERS]; /* a tier's frame length (tier 0: the interval) */
	int only;		   /* report --resolution: the one tier read; -1: auto */
	struct span {
		uint64_t s, e;
	} * spans; /* report: the frames taken */
	size_t nspans, spans_cap;
	struct text_opts to;
	/* report: the readers (their strings) live until the end */
	struct rec_reader **readers;
	uint8_t **bufs;
	size_t nreaders, readers_cap, bufs_cap;
};

static int gap(struct player *p, uint64_t from, uint64_t to)
{
	char a[40], b[40];

	p->ngaps++;
	if (!strcmp(p->o->cmd, "report"))
		return 0;
	if (p->o->json)
		printf("{\"type\":\"gap\",\"from\":\"%s\",\"to\":\"%s\"}\n",
		       fmt_rfc3339(from, a, sizeof(a)), fmt_rfc3339(to, b, sizeof(b)));
	else
		printf("-- gap: nothing recorded from %s to %s --\n\n",
		       fmt_rfc3339(from, a, sizeof(a)), fmt_rfc3339(to, b, sizeof(b)));
	fflush(stdout);
	return stream_error(stdout);
}

/* a span longer than 1.5 intervals with no frame is a gap */
static int check_gap(struct player *p, uint64_t start_ns)
{
	uint64_t from = p->prev_end ? p->prev_end : p->o->at_ns;

	if (start_ns > from && (start_ns - from) * 2 > 3 * p->nominal_ns)
		return gap(p, from, start_ns);
	return 0;
}

static int show(struct player *p, struct interval *iv)
{
	const struct options *o = p->o;
	int err;

	iv->groups = (o->breakdown ? FG_BREAKDOWN : 0) | (o->threshold_set ? FG_OVER : 0) |
		     (o->all ? FG_IDLE : 0);
	if (!o->all)
		interval__hide_idle(iv);
	if ((err = group_as(iv, p->want, false)))
		return err;
	for (size_t t = 0; o->view && t < iv->ntables; t++)
		if (strcmp(iv->tables[t].schema->name, o->view))
			iv->tables[t].active = false;
	interval__summarize(iv);
	interval__sort(iv, p->to.sort);
	return o->json ? sink_json__render(stdout, iv) : sink_text__render(stdout, iv, &p->to);
}

/* report: iv's rows appended to acc (bins, errnos and culprits copied) */
static int append(struct interval *acc, const struct interval *iv)
{
	int err = copy_rows(acc, iv, false);

	if (err)
		return err;
	for (size_t i = 0; i < LS_DROP_MAX; i++)
		acc->drops[i] += iv->drops[i];
	acc->interval_s += iv->interval_s;
	acc->nintervals += iv->nintervals ? iv->nintervals : 1;
	return 0;
}

static size_t rows_of(const struct interval *iv)
{
	size_t n = 0;

	for (size_t t = 0; t < iv->ntables; t++)
		n += iv->tables[t].n;
	return n;
}

static uint64_t frame_start(const struct interval *iv)
{
	uint64_t len = (uint64_t)(iv->interval_s * 1e9);

	return iv->realtime_ns > len ? iv->realtime_ns - len : 0;
}

/* is [s, e] within a frame taken already? (its middle is: frames of
 * one recording either hold the same intervals or none of them) */
static bool taken(const struct player *p, uint64_t s, uint64_t e)
{
	uint64_t mid = s + (e - s) / 2;

	for (size_t i = 0; i < p->nspans; i++)
		if (p->spans[i].s < mid && mid < p->spans[i].e)
			return true;
	return false;
}

/*
 * Which frames of tier ti are read. top --replay: the finest tier
 * available, so a roll-up only where every finer tier has no frame yet
 * (one that starts before their first frame), in time order. report: every frame ending
 * in the window from the one tier asked (--resolution); or, auto, the
 * coarsest frames that lie inside the window, the finer tiers filling
 * what they leave (the window's edges, roll-ups not written): a time is
 * read from one tier only, so nothing is counted twice.
 */
static bool wanted(const struct player *p, int ti, uint64_t start, uint64_t end, bool report)
{
	const struct options *o = p->o;
	uint64_t slack = p->nominal_ns / 4;

	if (end < o->at_ns || end > o->until_ns)
		return false;
	if (!report) { /* a roll-up that starts before finer frames exist (the
			* one across the boundary too: the finer frames it holds
			* are then left out), in time order */
		for (int f = 0; f < ti; f++)
			if (start + slack >= p->bound[f])
				return false;
		return !p->prev_end || start + slack >= p->prev_end;
	}
	if (p->only >= 0)
		return true;
	if (ti && start + slack < o->at_ns)
		return false;
	return !taken(p, start, end);
}

/* the frames of one tier's segments that wanted() takes, in order */
static int play_tier(struct player *p, int ti, struct interval *iv, struct interval *acc)
{
	const struct options *o = p->o;
	bool report = acc != NULL;
	int err = 0;

	for (long i = 0; i < p->nsegs; i++) {
		const struct seg *s = &p->segs[i];
		const struct rec_header *h;
		struct rec_reader *rd;
		char why[256];
		uint8_t *data;
		size_t len;
		long next;
		int rc;

		if (s->tier != ti)
			continue;
		/* a segment starts when its first frame is written, up to a
		 * frame (and the interval that completes a roll-up) after it */
		if (s->start_ns > o->until_ns + p->tier_len[ti] + 2 * p->nominal_ns)
			break;
		for (next = i + 1; next < p->nsegs && p->segs[next].tier != ti; next++)
			;
		if (next < p->nsegs && p->segs[next].start_ns <= o->at_ns)
			continue; /* over before the window (the next one started earlier) */
		if (!(data = load(p->dirfd, s->name, &len))) {
			log_error("cannot read %s/%s: %s", o->dir, s->name, strerror(errno));
			continue;
		}
		rd = rec_reader__new(data, len, kinds, nkinds, why, sizeof(why));
		if (!rd) {
			log_error("cannot read %s/%s: %s; skipped", o->dir, s->name, why);
			free(data);
			continue;
		}
		h = rec_reader__header(rd);
		if (!p->want_known) {
			p->want = o->by_set ? o->by : h->by;
			if (!o->by_set && h->by == LS_BY_THREAD && report)
				p->want = LS_BY_PROCESS;
			p->want_known = true;
		}
		if (!by_reachable(h->by, p->want) || (report && p->want == LS_BY_THREAD)) {
			log_error("invalid --by '%s': %s/%s was recorded by %s, which has no "
				  "finer rows%s",
				  sink_by_name(p->want), o->dir, s->name, sink_by_name(h->by),
				  report && p->want == LS_BY_THREAD ? " (report merges by process)"
								    : "");
			rec_reader__free(rd);
			free(data);
			return 2;
		}
		p->nominal_ns = h->interval_ns;
		while ((rc = rec_reader__next(rd, iv)) == 1) {
			uint64_t end = iv->realtime_ns, start = frame_start(iv);

			if (end > o->until_ns)
				break;
			if (!wanted(p, ti, start, end, report))
				continue;
			log_debug("replay: tier %d frame %.3f..%.3f (%llu intervals)", ti,
				  start / 1e9, end / 1e9, (unsigned long long)iv->nintervals);
			if (!report && (err = check_gap(p, start)))
				break;
			p->prev_end = end;
			p->nframes++;
			p->tier_frames[ti]++;
			if (report) {
				if (array_grow((void **)&p->spans, &p->spans_cap, p->nspans + 1,
					       sizeof(*p->spans))) {
					err = -ENOMEM;
					break;
				}
				p->spans[p->nspans++] = (struct span){start, end};
				acc->by = h->by;
				if ((err = append(acc, iv)))
					break;
				/* merge as we go: memory follows keys, not the window */
				if (rows_of(acc) > 200000 && (err = group_as(acc, p->want, true)))
					break;
			} else if ((err = show(p, iv))) {
				break;
			}
		}
		if (rec_reader__skipped(rd))
			log_error("%s/%s: skipped %zu bytes (%zu torn or corrupt frames)", o->dir,
				  s->name, rec_reader__skipped(rd), rec_reader__bad_frames(rd));
		if (report) { /* the rows point at its strings */
			if (array_grow((void **)&p->readers, &p->readers_cap, p->nreaders + 1,
				       sizeof(*p->readers)) ||
			    array_grow((void **)&p->bufs, &p->bufs_cap, p->nreaders + 1,
				       sizeof(*p->bufs)))
				err = -ENOMEM;
			else {
				p->readers[p->nreaders] = rd;
				p->bufs[p->nreaders++] = data;
				rd = NULL;
				data = NULL;
			}
		}
		rec_reader__free(rd);
		free(data);
		if (rc < 0)
			err = rc;
		if (err)
			return err;
	}
	return 0;
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->s > y->s) - (x->s < y->s);
}

/*
 * Every recorded interval (or roll-up) read for the window [at, until]
 * (wanted()), shown in order (top --replay) or appended to acc (report).
 * Exit status.
 */
static int play(struct player *p, struct interval *iv, struct interval *acc)
{
	const struct options *o = p->o;
	bool report = acc != NULL;
	int err = 0;

	for (int k = 0; k < NTIERS && !err; k++) {
		int ti = NTIERS - 1 - k; /* coarsest first: older, or preferred */

		if (p->only >= 0 && ti != p->only)
			continue;
		err = play_tier(p, ti, iv, acc);
	}
	if (err == 2)
		return 2;
	if (!err && report && p->nspans) { /* the gaps between the frames taken */
		qsort(p->spans, p->nspans, sizeof(*p->spans), span_cmp);
		for (size_t i = 0; i < p->nspans; i++) {
			uint64_t from = i ? p->spans[i - 1].e : o->at_ns;

			if (p->spans[i].s > from && (p->spans[i].s - from) * 2 > 3 * p->nominal_ns)
				gap(p, from, p->spans[i].s);
		}
		p->prev_end = p->spans[p->nspans - 1].e;
	}
	if (!err) {
		uint64_t now = run_clock_ns(CLOCK_REALTIME);
		uint64_t end = o->until_ns < now ? o->until_ns : now;

		if (!p->nominal_ns)
			p->nominal_ns = o->interval_ns;
		/* nothing after the last frame up to the window's end (past) */
		if (!p->prev_end)
			err = gap(p, o->at_ns, end);
		else if (end > p->prev_end && (end - p->prev_end) * 2 > 3 * p->nominal_ns &&
			 o->until_ns < now)
			err = gap(p, p->prev_end, end);
	}
	if (err == -EPIPE)
		return 0;
	if (err) {
		log_error("cannot replay: %s", strerror(-err));
		return 1;
	}
	return 0;
}

/* each tier's first frame and frame length (wanted() needs them) */
static void tiers_scan(struct player *p, struct interval *iv)
{
	for (int ti = 0; ti < NTIERS; ti++) {
		p->bound[ti] = UINT64_MAX;
		for (long i = 0; i < p->nsegs && p->bound[ti] == UINT64_MAX; i++) {
			struct rec_reader *rd;
			uint8_t *data;
			size_t len;
			char why[256];

			if (p->segs[i].tier != ti ||
			    !(data = load(p->dirfd, p->segs[i].name, &len)))
				continue;
			if ((rd = rec_reader__new(data, len, kinds, nkinds, why, sizeof(why)))) {
				const struct rec_header *h = rec_reader__header(rd);

				p->tier_len[ti] = ti ? h->rollup_ns : h->interval_ns;
				if (!p->nominal_ns)
					p->nominal_ns = h->interval_ns;
				if (rec_reader__next(rd, iv) == 1)
					p->bound[ti] = frame_start(iv);
				rec_reader__free(rd);
			}
			free(data);
		}
	}
	interval__reset(iv);
}

static void player_close(struct player *p);

static int player_open(struct player *p, const struct options *o, struct interval *iv)
{
	memset(p, 0, sizeof(*p));
	p->o = o;
	p->to.sort = o->sort ? o->sort : "p99";
	p->to.max_rows = o->max_rows > 0 ? o->max_rows : 25;
	kinds_init();
	p->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		log_error("cannot open %s: %s%s", o->dir, strerror(errno),
			  errno == EACCES ? "; try: sudo latscope" : "");
		return 1;
	}
	p->nsegs = segs_list(p->dirfd, &p->segs);
	if (p->nsegs < 0) {
		log_error("cannot list %s: %s", o->dir, strerror((int)-p->nsegs));
		close(p->dirfd);
		return 1;
	}
	if (!p->nsegs) {
		log_error("no recording in %s (see latscope record)", o->dir);
		free(p->segs);
		close(p->dirfd);
		return 1;
	}
	/* every row kind has a table in the output, as live */
	for (size_t i = 0; i < nkinds; i++)
		interval__table(iv, kinds[i]);
	tiers_scan(p, iv);
	p->only = -1;
	if (o->resolution_ns) { /* the coarsest tier of at most that */
		for (int ti = 0; ti < NTIERS; ti++)
			if (p->tier_len[ti] && p->tier_len[ti] <= o->resolution_ns)
				p->only = ti;
		if (p->only < 0) {
			log_error("invalid --resolution: %s holds nothing that fine (its "
				  "interval is %.3g s)",
				  o->dir, p->tier_len[0] / 1e9);
			player_close(p);
			return 2;
		}
	}
	return 0;
}

static void player_close(struct player *p)
{
	for (size_t i = 0; i < p->nreaders; i++) {
		rec_reader__free(p->readers[i]);
		free(p->bufs[i]);
	}
	free(p->readers);
	free(p->bufs);
	free(p->spans);
	free(p->segs);
	close(p->dirfd);
}

int replay__run(const struct options *o)
{
	struct interval iv = {};
	struct player p;
	int rc = player_open(&p, o, &iv);

	if (rc)
		return rc;
	rc = play(&p, &iv, NULL);
	player_close(&p);
	interval__free(&iv);
	return rc;
}

int report__run(const struct options *o)
{
	struct interval iv = {}, acc = {};
	struct report_info ri = {};
	struct player p;
	int rc = player_open(&p, o, &iv), err;
	char a[40], b[40];

	if (rc)
		return rc;
	for (size_t i = 0; i < nkinds; i++)
		interval__table(&acc, kinds[i]);
	rc = play(&p, &iv, &acc);
	if (rc)
		goto out;
	if (!p.want_known)
		p.want = o->by;
	acc.replay = true;
	acc.realtime_ns = o->until_ns;
	acc.groups = (o->breakdown ? FG_BREAKDOWN : 0) | (o->threshold_set ? FG_OVER : 0) |
		     (o->all ? FG_IDLE : 0);
	if ((err = group_as(&acc, p.want, true))) {
		log_error("cannot merge the window: %s", strerror(-err));
		rc = 1;
		goto out;
	}
	if (!o->all)
		interval__hide_idle(&acc);
	for (size_t t = 0; o->view && t < acc.ntables; t++)
		if (strcmp(acc.tables[t].schema->name, o->view))
			acc.tables[t].active = false;
	interval__summarize(&acc);
	interval__sort(&acc, p.to.sort);
	ri.from_ns = o->at_ns;
	ri.nintervals = (size_t)acc.nintervals;
	for (int k = 0; k < NTIERS; k++) { /* coarsest first, those the recording has */
		int ti = NTIERS - 1 - k;

		if (!p.tier_len[ti])
			continue;
		ri.tier_s[ri.ntiers] = p.tier_len[ti] / 1e9;
		ri.tier_frames[ri.ntiers++] = p.tier_frames[ti];
	}
	if (o->json) {
		err = sink_json__report(stdout, &acc, &ri);
	} else {
		printf("report %s to %s: %zu intervals recorded, %zu gaps, by %s\n",
		       fmt_rfc3339(o->at_ns, a, sizeof(a)), fmt_rfc3339(o->until_ns, b, sizeof(b)),
		       ri.nintervals, p.ngaps, sink_by_name(p.want));
		printf("read from:");
		for (size_t i = 0; i < ri.ntiers; i++)
			printf("%s %zu frames of %gs", i ? "," : "", ri.tier_frames[i],
			       ri.tier_s[i]);
		printf("\n");
		if (o->max_rows <= 0)
			p.to.max_rows = 10; /* the worst rows: what goes in a ticket */
		err = sink_text__render(stdout, &acc, &p.to);
	}
	if (err && err != -EPIPE) {
		log_error("cannot write the output: %s", strerror(-err));
		rc = 1;
	}
out:
	player_close(&p);
	interval__free(&iv);
	interval__free(&acc);
	return rc;
}
