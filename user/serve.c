// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>
#include <zlib.h>
#include "agent.h"
#include "log.h"
#include "prom.h"
#include "record.h"
#include "serve.h"
#include "util.h"

#ifndef LATSCOPE_VERSION
#define LATSCOPE_VERSION "dev"
#endif

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OM	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* one rendered body: a format, plain or gzip, for one store generation;
 * shared by the cache and the responses sending it, freed by the last */
#define CHUNK (1u << 20)

struct body {
	char **chunk; /* CHUNK bytes each (mmap: given back to the system when
		       * freed), the last one partly used: a large page never
		       * needs one large allocation or a copy */
	size_t nchunk, len;
	uint64_t gen;
	int refs;
	bool revoked; /* its chunks were freed under a slow reader */
};

/*
 * Pages with their chunks still held. A client that asks each interval
 * and reads nothing would otherwise pin one page per interval until its
 * idle timeout (10 s: ~150 MB of 15 MB text pages at 3,000 series). So the
 * pages of older generations may hold at most as many bytes as the
 * current generation's (and 4 MiB whatever): past that the oldest is
 * revoked, its slow readers' connections are closed, and its memory goes
 * back to the system at once. A reader that keeps up (one page read
 * before the next but one interval) is never cut. Bodies live in the
 * HTTP thread only.
 */
#define MAX_PAGES     16
#define OLD_PAGES_MIN ((size_t)4 << 20)
static struct body *live_pages[MAX_PAGES];

static void body_drop_chunks(struct body *b)
{
	for (size_t i = 0; i < b->nchunk; i++)
		munmap(b->chunk[i], CHUNK);
	free(b->chunk);
	b->chunk = NULL;
	b->nchunk = 0;
	for (size_t i = 0; i < MAX_PAGES; i++)
		if (live_pages[i] == b)
			live_pages[i] = NULL;
}

static void body_put(void *p)
{
	struct body *b = p;

	if (b && !__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL)) {
		body_drop_chunks(b);
		free(b);
	}
}

/* the live page to revoke first: of the oldest generation; -1 when the
 * older generations are within their allowance (or there are none) */
static int revoke_pick(bool full)
{
	size_t cur = 0, old = 0;
	uint64_t gen = 0;
	int oldest = -1;

	for (int i = 0; i < MAX_PAGES; i++)
		if (live_pages[i] && live_pages[i]->gen > gen)
			gen = live_pages[i]->gen;
	for (int i = 0; i < MAX_PAGES; i++) {
		const struct body *p = live_pages[i];

		if (!p)
			continue;
		if (p->gen == gen) {
			cur += p->len;
			continue;
		}
		old += p->len;
		if (oldest < 0 || p->gen < live_pages[oldest]->gen)
			oldest = i;
	}
	return full || old > (cur > OLD_PAGES_MIN ? cur : OLD_PAGES_MIN) ? oldest : -1;
}

/* note a new page; revoke old ones past their allowance */
static void body_live(struct body *b)
{
	bool placed = false;
	int i;

	while (!placed) {
		for (i = 0; i < MAX_PAGES && !placed; i++)
			if (!live_pages[i]) {
				live_pages[i] = b;
				placed = true;
			}
		if (!placed && (i = revoke_pick(true)) >= 0) {
			live_pages[i]->revoked = true;
			body_drop_chunks(live_pages[i]);
		} else if (!placed) {
			return; /* sixteen pages of the current generation: cannot be */
		}
	}
	while ((i = revoke_pick(false)) >= 0) {
		live_pages[i]->revoked = true;
		body_drop_chunks(live_pages[i]);
	}
}

static bool body_append(struct body *b, const char *p, size_t n)
{
	while (n) {
		size_t at = b->len % CHUNK, k = CHUNK - at;

		if (!at && b->len / CHUNK == b->nchunk) {
			char **c = realloc(b->chunk, (b->nchunk + 1) * sizeof(*c));
			void *m;

			if (!c)
				return false;
			b->chunk = c;
			m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
			if (m == MAP_FAILED)
				return false;
			c[b->nchunk++] = m;
		}
		k = k < n ? k : n;
		memcpy(b->chunk[b->len / CHUNK] + at, p, k);
		b->len += k;
		p += k;
		n -= k;
	}
	return true;
}

static ssize_t body_write(void *cookie, const char *p, size_t n)
{
	return body_append(cookie, p, n) ? (ssize_t)n : -1;
}

/* libmicrohttpd pulls the page from here */
static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct body *b = cls;
	size_t at, n;

	if (b->revoked) /* too slow: newer pages needed the room */
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	at = pos % CHUNK;
	n = CHUNK - at;
	n = n < max ? n : max;
	n = n < b->len - pos ? n : b->len - pos;
	memcpy(buf, b->chunk[pos / CHUNK] + at, n);
	return (ssize_t)n;
}

static struct body *body_hold(struct body *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

struct server {
	struct run *r;
	pthread_mutex_t lock; /* the store, the bodies, the figures below */
	struct prom_store *st;
	uint64_t gen;		   /* bumped by every interval added */
	struct body *bodies[2][2]; /* [openmetrics][gzip]: the current ones, or NULL */
	double collect_s;	   /* the last interval's map read and fold */
	double render_s;	   /* the last body rendered */
	double start_realtime_s;
	char kernel[128];
	struct agent_cost cost; /* sampled each interval */
	uint64_t scrapes, bad_requests;
};

int serve__listen(const char *addr, char *why, size_t why_len)
{
	struct sockaddr_storage ss;
	unsigned int len;
	int fd, one = 1;

	if (parse_listen(addr, &ss, &len)) {
		snprintf(why, why_len,
			 "invalid --listen '%s': want IPV4:PORT or [IPV6]:PORT (e.g. "
			 "127.0.0.1:9580, [::1]:9580)",
			 addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", addr, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
		snprintf(why, why_len, "cannot listen on --listen '%s': %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* the agent's own figures, as the process_* families of client libraries */
static void process_metrics(FILE *f, const struct server *sv, bool om)
{
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long ut = 0, st = 0, rss = 0, vsz = 0;
	char buf[1024], *p;
	struct rlimit rl;
	FILE *s = fopen("/proc/self/stat", "r");
	DIR *d;
	long nfd = 0;

	if (s && fgets(buf, sizeof(buf), s) && (p = strrchr(buf, ')')))
		/* after the comm: state ppid ... utime(14) stime(15) ... vsize(23) rss(24) */
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
		       "%*d %*d %*u %llu %llu",
		       &ut, &st, &vsz, &rss);
	if (s)
		fclose(s);
	if ((d = opendir("/proc/self/fd"))) {
		for (struct dirent *e; (e = readdir(d));)
			nfd += e->d_name[0] != '.';
		closedir(d);
		nfd--; /* the directory's own fd */
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	prom_meta(f, om, "process_cpu_seconds_total", "counter",
		  "User and system CPU time the agent spent.");
	fprintf(f, "process_cpu_seconds_total %.2f\n", (double)(ut + st) / (double)tck);
	prom_meta(f, om, "process_resident_memory_bytes", "gauge", "The agent's resident memory.");
	fprintf(f, "process_resident_memory_bytes %llu\n", rss * (unsigned long long)page);
	prom_meta(f, om, "process_virtual_memory_bytes", "gauge", "The agent's virtual memory.");
	fprintf(f, "process_virtual_memory_bytes %llu\n", vsz);
	prom_meta(f, om, "process_open_fds", "gauge", "File descriptors the agent holds.");
	fprintf(f, "process_open_fds %ld\n", nfd);
	prom_meta(f, om, "process_max_fds", "gauge", "The agent's file descriptor limit.");
	fprintf(f, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	prom_meta(f, om, "process_start_time_seconds", "gauge",
		  "When the agent started, seconds since the epoch.");
	fprintf(f, "process_start_time_seconds %.3f\n", sv->start_realtime_s);
}

struct prog_ctx {
	FILE *f;
	int which; /* 0: run seconds, 1: runs, 2: recursion misses */
};

static int prog_line(const struct agent_prog *p, void *ctx)
{
	struct prog_ctx *c = ctx;
	static const char *const fam[] = {"latscope_bpf_program_run_seconds_total",
					  "latscope_bpf_program_runs_total",
					  "latscope_bpf_program_recursion_misses_total"};

	fprintf(c->f, "%s{collector=\"%s\",program=\"%s\"} ", fam[c->which], p->coll, p->name);
	if (c->which == 0)
		fprintf(c->f, "%.9f\n", p->run_ns / 1e9);
	else
		fprintf(c->f, "%llu\n",
			(unsigned long long)(c->which == 1 ? p->run_cnt : p->misses));
	return 0;
}

/* per-program run time and runs (with --stats), and recursion misses */
static void program_metrics(FILE *f, const struct server *sv, bool om)
{
	struct prog_ctx c = {.f = f};

	prom_meta(f, om, "latscope_bpf_stats_enabled", "gauge",
		  "1 when BPF run-time statistics are on for this agent (--stats).");
	fprintf(f, "latscope_bpf_stats_enabled %d\n", sv->cost.stats ? 1 : 0);
	if (sv->cost.stats) {
		prom_meta(f, om, "latscope_bpf_program_run_seconds_total", "counter",
			  "Time the agent's BPF programs ran, since loaded (--stats).");
		agent__for_each_prog(sv->r, prog_line, &c);
		c.which = 1;
		prom_meta(f, om, "latscope_bpf_program_runs_total", "counter",
			  "Runs of the agent's BPF programs, since loaded (--stats).");
		agent__for_each_prog(sv->r, prog_line, &c);
	}
	c.which = 2;
	prom_meta(f, om, "latscope_bpf_program_recursion_misses_total", "counter",
		  "Runs the kernel skipped because the program was already running on "
		  "that CPU.");
	agent__for_each_prog(sv->r, prog_line, &c);
}

static void agent_metrics(FILE *f, const struct server *sv, bool om)
{
	const struct run *r = sv->r;

	prom_meta(f, om, "latscope_build_info", "info",
		  "The agent's version, the libbpf it runs with and the kernel.");
	fprintf(f, "latscope_build_info{version=\"%s\",libbpf=\"%u.%u\",kernel=\"%s\"} 1\n",
		LATSCOPE_VERSION, libbpf_major_version(), libbpf_minor_version(), sv->kernel);
	prom_meta(f, om, "latscope_collector_up", "gauge",
		  "1 when the collector is attached, 0 when it was asked for and could not "
		  "start (see latscope check).");
	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "latscope_collector_up{collector=\"%s\",variant=\"%s\"} 1\n",
			coll__desc(r->c[i])->name, coll__variant(r->c[i]));
	for (size_t i = 0; i < r->ndown; i++)
		fprintf(f, "latscope_collector_up{collector=\"%s\",variant=\"none\"} 0\n",
			r->down[i]);
	prom_meta(f, om, "latscope_bpf_program_attached", "gauge",
		  "1 for every BPF program the agent has loaded and attached.");
	for (size_t i = 0; i < r->n; i++) {
		const struct coll_desc *d = coll__desc(r->c[i]);
		struct bpf_program *p;

		bpf_object__for_each_program(
			p, d->skel_obj(coll__skel(r->c[i]))) if (bpf_program__fd(p) >= 0)
			fprintf(f,
				"latscope_bpf_program_attached{collector=\"%s\",program="
				"\"%s\"} 1\n",
				d->name, bpf_program__name(p));
	}
	prom_meta(f, om, "latscope_series", "gauge",
		  "Label sets the exporter keeps (all metrics of all row kinds).");
	fprintf(f, "latscope_series %zu\n", prom_store__series(sv->st));
	prom_meta(f, om, "latscope_scrape_duration_seconds", "gauge",
		  "Time the agent spent producing its figures: the last interval's map "
		  "read and fold plus the last rendering of this page.");
	fprintf(f, "latscope_scrape_duration_seconds %.6f\n", sv->collect_s + sv->render_s);
	program_metrics(f, sv, om);
	process_metrics(f, sv, om);
}

/* a FILE that gzips what is written into a body (fopencookie) */
struct gzw {
	z_stream z;
	struct body *out;
	bool failed;
};

static bool gzw_run(struct gzw *g, int flush)
{
	char buf[65536];
	int rc;

	do {
		g->z.next_out = (Bytef *)buf;
		g->z.avail_out = sizeof(buf);
		rc = deflate(&g->z, flush);
		if ((rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) ||
		    !body_append(g->out, buf, sizeof(buf) - g->z.avail_out))
			return false;
	} while (!g->z.avail_out || (flush == Z_FINISH && rc != Z_STREAM_END));
	return true;
}

static ssize_t gzw_write(void *cookie, const char *buf, size_t n)
{
	struct gzw *g = cookie;

	g->z.next_in = (Bytef *)buf;
	g->z.avail_in = (uInt)n;
	if (g->failed || !gzw_run(g, Z_NO_FLUSH)) {
		g->failed = true;
		return -1;
	}
	return (ssize_t)n;
}

static int gzw_close(void *cookie)
{
	struct gzw *g = cookie;

	if (!g->failed && !gzw_run(g, Z_FINISH))
		g->failed = true;
	deflateEnd(&g->z);
	return g->failed ? -1 : 0;
}

/*
 * Render the page in one format, gzipped (level 1: ~20x smaller at a
 * fraction of level 6's cost) or plain. The gzip form is made as the page
 * is written: the plain page (~37 MB at 6,000 series) never exists for
 * Prometheus, which always asks for gzip.
 */
static struct body *render_body(struct server *sv, bool om, bool gz)
{
	static const cookie_io_functions_t gz_io = {.write = gzw_write, .close = gzw_close};
	struct body *b = calloc(1, sizeof(*b));
	uint64_t t0 = run_clock_ns(CLOCK_MONOTONIC);
	struct gzw g = {};
	FILE *f = NULL;
	int rc;

	if (!b)
		return NULL;
	b->refs = 1;
	b->gen = sv->gen;
	if (gz) {
		g.out = b;
		if (deflateInit2(&g.z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK &&
		    !(f = fopencookie(&g, "w", gz_io)))
			deflateEnd(&g.z);
	} else {
		static const cookie_io_functions_t io = {.write = body_write};

		f = fopencookie(b, "w", io);
	}
	if (!f) {
		body_put(b);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	prom_store__render(sv->st, f, om);
	agent_metrics(f, sv, om);
	if (om)
		fputs("# EOF\n", f);
	rc = fclose(f);
	if (rc || g.failed) {
		body_put(b);
		return NULL;
	}
	sv->render_s = (run_clock_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	return b;
}

/* The body for this format and encoding, held for the caller, rendered
 * when the store moved on; called with sv->lock held. */
static struct body *body_get(struct server *sv, bool om, bool gz)
{
	struct body **slot = &sv->bodies[om][gz];

	if (*slot && (*slot)->gen == sv->gen)
		return body_hold(*slot);
	/* let go of the old page first: two large pages are never held */
	body_put(*slot);
	*slot = render_body(sv, om, gz);
	if (!*slot)
		return NULL;
	body_live(*slot);
	return body_hold(*slot);
}

/* does the header list name this token, without q=0? */
static bool accepts(const char *hdr, const char *token)
{
	const char *p = hdr ? strcasestr(hdr, token) : NULL;

	while (p) {
		const char *end = strchr(p, ',');
		const char *q = strstr(p, "q=");

		if (!q || (end && q > end) || strtod(q + 2, NULL) > 0)
			return true;
		p = strcasestr(p + 1, token);
	}
	return false;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     const char *text)
{
	struct MHD_Response *rs =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!rs)
		return MHD_NO;
	MHD_add_response_header(rs, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(rs, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, rs);
	MHD_destroy_response(rs);
	return ret;
}

static const char index_html[] =
	"<!DOCTYPE html>\n<html><head><title>latscope</title></head><body>\n"
	"<h1>latscope</h1>\n<p>Syscall, scheduler and TCP latency of this host, "
	"per process and service.</p>\n"
	"<p><a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct server *sv = cls;
	struct MHD_Response *rs;
	struct body *b;
	enum MHD_Result ret;
	bool om, gz;

	(void)version, (void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		/* at once: a body that may follow is not read, the connection
		 * is closed after the answer */
		__atomic_add_fetch(&sv->bad_requests, 1, __ATOMIC_RELAXED);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
			     "method not allowed: use GET or HEAD\n");
	}
	/* a GET answered in the first call is taken as possibly having a body
	 * still to come and its connection is closed; answering in the second
	 * keeps it alive for the next scrape */
	if (!*state) {
		*state = sv;
		return MHD_YES;
	}
	if (*upload_len) { /* a GET with a body: not ours to read */
		*upload_len = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", index_html);
	if (strcmp(url, "/metrics")) {
		__atomic_add_fetch(&sv->bad_requests, 1, __ATOMIC_RELAXED);
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
			     "not found: the metrics are at /metrics\n");
	}
	om = accepts(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
		     "application/openmetrics-text");
	gz = accepts(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING),
		"gzip");
	pthread_mutex_lock(&sv->lock);
	b = body_get(sv, om, gz);
	rs = b ? MHD_create_response_from_callback(b->len, 65536, body_read, b, body_put) : NULL;
	if (b && !rs)
		body_put(b);
	sv->scrapes++;
	pthread_mutex_unlock(&sv->lock);
	if (!rs)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     "out of memory rendering the metrics\n");
	MHD_add_response_header(rs, MHD_HTTP_HEADER_CONTENT_TYPE, om ? CT_OM : CT_TEXT);
	MHD_add_response_header(rs, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (gz)
		MHD_add_response_header(rs, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(c, MHD_HTTP_OK, rs);
	MHD_destroy_response(rs);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_debug("http: %s", msg);
}

int serve__run(struct run *r, struct interval *iv, int fd)
{
	const struct options *o = r->o;
	struct server sv = {.r = r};
	struct prom_opts po = o->prom;
	struct MHD_Daemon *d;
	struct utsname u;
	struct rlimit rl;
	uint64_t deadline;
	int err = 0;

	pthread_mutex_init(&sv.lock, NULL);
	sv.gen = 1; /* no body rendered yet is current */
	sv.start_realtime_s = run_clock_ns(CLOCK_REALTIME) / 1e9 -
			      (run_clock_ns(CLOCK_MONOTONIC) - r->start_mono_ns) / 1e9;
	if (!uname(&u))
		snprintf(sv.kernel, sizeof(sv.kernel), "%s", u.release);
	sv.st = prom_store__new(&po);
	for (size_t i = 0; sv.st && i < iv->ntables; i++)
		if (prom_store__kind(sv.st, iv->tables[i].schema)) {
			prom_store__free(sv.st);
			sv.st = NULL;
		}
	if (!sv.st) {
		log_error("cannot allocate the metrics store: %s", strerror(errno));
		close(fd);
		return 1;
	}
	/* idle connections cost an fd each: take what the hard limit allows */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     handle, &sv, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned int)o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned int)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!d) {
		log_error("cannot start the HTTP server on %s: %s", o->listen, strerror(errno));
		prom_store__free(sv.st);
		close(fd);
		return 1;
	}
	log_info("serving http://%s/metrics", o->listen);
	deadline = r->prev_ns + o->interval_ns;
	while (!run_stop) {
		struct timespec ts = {.tv_sec = deadline / 1000000000ULL,
				      .tv_nsec = deadline % 1000000000ULL};
		uint64_t t0, now;

		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			continue; /* SIGHUP and friends: run_stop says whether to go */
		t0 = run_clock_ns(CLOCK_MONOTONIC);
		if (run__collect(r, iv)) {
			err = 1;
			break;
		}
		if (r->rec) /* before the exporter: it shows what could not be written */
			recorder__write(r->rec, iv);
		pthread_mutex_lock(&sv.lock);
		err = prom_store__add(sv.st, iv, t0);
		if (r->agent)
			agent__sample(r->agent, r, &sv.cost);
		sv.gen++;
		now = run_clock_ns(CLOCK_MONOTONIC);
		sv.collect_s = (now - t0) / 1e9;
		pthread_mutex_unlock(&sv.lock);
		if (err) {
			log_error("cannot keep the series: %s", strerror(-err));
			err = 1;
			break;
		}
		deadline += o->interval_ns;
		if (deadline < now)
			deadline = now + o->interval_ns;
	}
	MHD_stop_daemon(d);
	close(fd);
	for (int i = 0; i < 4; i++)
		body_put(sv.bodies[i / 2][i % 2]);
	prom_store__free(sv.st);
	pthread_mutex_destroy(&sv.lock);
	return err;
}
