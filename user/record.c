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

struct recorder {
	int dirfd, fd; /* fd: the open segment, -1 when none */
	char dir[PATH_MAX];
	char cur[64];  /* the last segment opened (open or not) */
	char prev[64]; /* the one before: cur again if cur is left empty */
	struct rec_header h;
	struct rec_enc *enc;
	struct rec_buf buf;
	uint64_t seg_bytes, hdr_bytes, seg_max, max_size, max_age_ns;
	uint64_t last_sync_ns, last_prune_ns;
	uint64_t pending; /* intervals lost since the last frame written */
	bool paused;
};

struct seg {
	char name[64];
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
		int pid, len = 0;

		if (sscanf(de->d_name, "SEG-%20llu-%d.lsr%n", &start, &pid, &len) != 2 ||
		    de->d_name[len] || strlen(de->d_name) >= sizeof(v->name))
			continue;
		if (fstatat(dirfd, de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		if (array_grow((void **)&v, &cap, n + 1, sizeof(*v))) {
			closedir(d);
			free(v);
			return -ENOMEM;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
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

int recorder__open(struct recorder **out, const struct options *o, char *why, size_t why_len)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct utsname u;
	int err;

	if (!r) {
		snprintf(why, why_len, "cannot allocate the recorder: %s", strerror(errno));
		return -ENOMEM;
	}
	r->fd = -1;
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
		snprintf(r->h.host, sizeof(r->h.host), "%s", u.nodename);
		snprintf(r->h.kernel, sizeof(r->h.kernel), "%s", u.release);
	}
	read_line("/proc/sys/kernel/random/boot_id", r->h.boot_id, sizeof(r->h.boot_id));
	r->h.interval_ns = o->interval_ns;
	r->h.by = o->by;
	rec_header__set_kinds(&r->h, kinds, nkinds);
	r->max_size = o->max_size;
	r->max_age_ns = o->max_age_ns;
	/* about eight segments within --max-size, so removing the oldest
	 * frees a small part of it */
	r->seg_max = o->max_size / 8;
	if (r->seg_max > REC_SEGMENT_MAX)
		r->seg_max = REC_SEGMENT_MAX;
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

static void seg_close(struct recorder *r)
{
	if (r->fd < 0)
		return;
	fdatasync(r->fd);
	close(r->fd);
	r->fd = -1;
	rec_enc__free(r->enc);
	r->enc = NULL;
}

static int seg_open(struct recorder *r)
{
	char name[sizeof(r->cur)];
	int err;

	r->h.start_ns = run_clock_ns(CLOCK_REALTIME);
	/* r->cur keeps naming the last segment written until this one has its
	 * header: prune() never removes it, so a full disk cannot take it all */
	snprintf(name, sizeof(name), "SEG-%020llu-%d.lsr", (unsigned long long)r->h.start_ns,
		 (int)getpid());
	r->fd = openat(r->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (r->fd < 0)
		return -errno;
	r->enc = rec_enc__new(&r->h);
	r->buf.n = 0;
	if (!r->enc || rec_enc__header(r->enc, &r->buf)) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = write_all(r->fd, r->buf.p, r->buf.n)))
		goto fail;
	fsync(r->dirfd); /* the new name survives a power loss too */
	r->seg_bytes = r->hdr_bytes = r->buf.n;
	memcpy(r->prev, r->cur, sizeof(r->prev));
	memcpy(r->cur, name, sizeof(r->cur));
	return 0;
fail:
	close(r->fd);
	r->fd = -1;
	rec_enc__free(r->enc);
	r->enc = NULL;
	unlinkat(r->dirfd, name, 0); /* a segment without a whole header is nothing */
	return err;
}

/*
 * Remove the oldest segments (never the last one written, open or not) while the directory is
 * over --max-size or they are older than --max-age; with force, at least
 * one. Returns how many were removed.
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
	for (long i = 0; i < n; i++) {
		bool old = v[i].mtime_ns + r->max_age_ns < now;

		if (!strcmp(v[i].name, r->cur))
			continue;
		if (!force && !old && total <= r->max_size)
			break;
		if (unlinkat(r->dirfd, v[i].name, 0))
			continue;
		log_verbose("recorder: removed %s (%llu bytes)", v[i].name,
			    (unsigned long long)v[i].size);
		total -= v[i].size;
		removed++;
		force = false;
	}
	free(v);
	return removed;
}

static int try_write(struct recorder *r, struct interval *iv)
{
	uint64_t now;
	int err;

	if (r->fd < 0 && (err = seg_open(r)))
		return err;
	iv->drops[LS_DROP_RECORD] += r->pending;
	err = rec_enc__interval(r->enc, iv, &r->buf);
	iv->drops[LS_DROP_RECORD] -= r->pending;
	if (err)
		return err;
	if ((err = write_all(r->fd, r->buf.p, r->buf.n))) {
		/* a partial frame ends the segment (the next write starts a
		 * new one), and is cut off so readers find no torn frame
		 * (should the cut fail, they skip it by its CRC) */
		if (ftruncate(r->fd, (off_t)r->seg_bytes))
			log_debug("recorder: cannot cut the partial frame off %s: %s", r->cur,
				  strerror(errno));
		seg_close(r);
		/* a segment with no frame is nothing: the last one with frames
		 * is again the one prune() keeps */
		if (r->seg_bytes == r->hdr_bytes && !unlinkat(r->dirfd, r->cur, 0))
			memcpy(r->cur, r->prev, sizeof(r->cur));
		return err;
	}
	rec_enc__commit(r->enc);
	r->seg_bytes += r->buf.n;
	now = run_clock_ns(CLOCK_MONOTONIC);
	if (now - r->last_sync_ns >= REC_FSYNC_NS) {
		fdatasync(r->fd);
		r->last_sync_ns = now;
	}
	if (r->seg_bytes >= r->seg_max) {
		seg_close(r);
		prune(r, false);
		r->last_prune_ns = now;
	} else if (now - r->last_prune_ns >= PRUNE_EVERY_NS) {
		prune(r, false);
		r->last_prune_ns = now;
	}
	return 0;
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

void recorder__write(struct recorder *r, struct interval *iv)
{
	int err = r->paused && !room_again(r) ? -ENOSPC : try_write(r, iv);

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
		return;
	}
	if (r->paused)
		log_info("recording to %s resumed after %llu intervals lost", r->dir,
			 (unsigned long long)r->pending);
	r->paused = false;
	r->pending = 0;
}

void recorder__close(struct recorder *r)
{
	if (!r)
		return;
	seg_close(r);
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

				if (fl->off < sizeof(struct row_id))
					continue;
				if (fl->kind == FK_HIST) {
					struct row_hist *h = (void *)(row + fl->off);
					long off = interval__add_bins(acc, iv->bins + h->off, h->n);

					if (off < 0)
						return (int)off;
					h->off = (uint32_t)off;
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
	for (size_t i = 0; i < LS_DROP_MAX; i++)
		acc->drops[i] += iv->drops[i];
	acc->interval_s += iv->interval_s;
	return 0;
}

static size_t rows_of(const struct interval *iv)
{
	size_t n = 0;

	for (size_t t = 0; t < iv->ntables; t++)
		n += iv->tables[t].n;
	return n;
}

/*
 * Every recorded interval that ends in [at, until], in order, shown (top
 * --replay) or appended to acc (report). Exit status.
 */
static int play(struct player *p, struct interval *iv, struct interval *acc)
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
		int rc;

		if (s->start_ns > o->until_ns)
			break;
		if (i + 1 < p->nsegs && p->segs[i + 1].start_ns <= o->at_ns)
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
			uint64_t end = iv->realtime_ns;
			uint64_t len_ns = (uint64_t)(iv->interval_s * 1e9);
			uint64_t start = end > len_ns ? end - len_ns : 0;

			if (end < o->at_ns)
				continue;
			if (end > o->until_ns)
				break;
			if ((err = check_gap(p, start)))
				break;
			p->prev_end = end;
			p->nframes++;
			if (report) {
				acc->by = h->by;
				acc->realtime_ns = end;
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
			break;
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
	if (o->json) {
		err = sink_json__report(stdout, &acc, o->at_ns, p.nframes);
	} else {
		printf("report %s to %s: %zu intervals recorded, %zu gaps, by %s\n",
		       fmt_rfc3339(o->at_ns, a, sizeof(a)), fmt_rfc3339(o->until_ns, b, sizeof(b)),
		       p.nframes, p.ngaps, sink_by_name(p.want));
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
