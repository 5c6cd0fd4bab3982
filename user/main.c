// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* latscope: parse options, build the collectors, run the loop, clean up. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "check.h"
#include "collector.h"
#include "log.h"
#include "names.h"
#include "opts.h"
#include "privs.h"
#include "probe.h"
#include "record.h"
#include "run.h"
#include "schema.h"
#include "serve.h"
#include "sink.h"
#include "slow.h"
#include "sysclass.h"
#include "tui.h"
#include "util.h"

#ifndef LATSCOPE_VERSION
#define LATSCOPE_VERSION "dev"
#endif

static void on_signal(int sig)
{
	run_stop = sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's own warnings are noise while we try fallbacks; our one-line
	 * messages say what failed. -v shows warnings, -vv debug. */
	if ((level == LIBBPF_WARN && log_verbosity < 1) ||
	    (level == LIBBPF_DEBUG && log_verbosity < 2) ||
	    (level == LIBBPF_INFO && log_verbosity < 1))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static enum attach_mode attach_mode_from_env(void)
{
	const char *s = getenv("LATSCOPE_ATTACH");

	if (s && !strcmp(s, "raw_tp"))
		return ATTACH_RAW_TP;
	if (s && !strcmp(s, "tp_btf"))
		return ATTACH_TP_BTF;
	return ATTACH_AUTO;
}

/* the collectors `slow` needs: syscalls (the events), sched (the breakdown) */
static bool slow_needs(const char *name)
{
	return !strcmp(name, "syscalls") || !strcmp(name, "sched");
}

/* is collector d switched on by the options? */
static bool coll_wanted(const struct options *o, const struct coll_desc *d)
{
	if (!strcmp(o->cmd, "slow"))
		return slow_needs(d->name);
	for (int i = 0; i < o->noff; i++)
		if (!strcmp(o->off[i], d->name))
			return false;
	/* the syscalls' breakdown is made by the sched collector's programs */
	if (o->breakdown && !strcmp(d->name, "sched"))
		return true;
	/* the TUI switches views: --view only picks the first (DESIGN.md section 8) */
	return !o->view || tui__wanted(o) || !strcmp(o->view, d->name);
}

static void collectors__free(struct run *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		coll__free(cs->c[i]);
	cs->n = 0;
}

/*
 * Start the collectors the options ask for. One that cannot start is
 * switched off with one line saying why; only when none starts is it an
 * error (returns -ENOENT).
 */
static int collectors__open(struct run *cs, const struct options *o, int cg_fd, const char *cg_rel,
			    const struct slow_opts *slow)
{
	struct coll_opts co = {};
	struct coll_shared shared = {};
	char why[256];

	co.filter.by = o->by;
	co.filter.pids = o->pids;
	co.filter.npids = o->npids;
	co.filter.comm = o->comm;
	co.filter.cgroup_fd = cg_fd;
	co.filter.cgroup_path = cg_fd >= 0 ? cg_rel : NULL;
	co.tcp = &o->tcp;
	co.attach = attach_mode_from_env();
	co.interval_s = o->interval_ns / 1e9;
	co.request_timeout_ns = o->request_timeout_ns;
	co.slow = slow;
	co.calls = slow || o->breakdown || o->threshold_set;
	co.threshold_ns = slow || o->threshold_set ? o->threshold_ns : UINT64_MAX;
	co.shared = &shared;
	for (size_t i = 0; i < coll_count && cs->n < ARRAY_SIZE(cs->c); i++) {
		const struct coll_desc *d = coll_all[i];

		if (!coll_wanted(o, d))
			continue;
		co.max_keys = o->max_keys / d->max_keys_div;
		if (coll__open(&cs->c[cs->n], d, &co, why, sizeof(why))) {
			log_error("%s collector off: %s", d->name, why);
			cs->down[cs->ndown++] = d->name;
		} else
			cs->n++;
	}
	return cs->n ? 0 : -ENOENT;
}

/* slow: both its collectors up, sched in the flavour that gives the
 * breakdown; the reader of their events. NULL with a message logged. */
static struct slow_reader *slow_start(struct run *cs, const struct options *o, struct names *names)
{
	struct bpf_map *events = NULL, *drops = NULL;
	bool sched = false;
	struct slow_reader *r;

	for (size_t i = 0; i < cs->n; i++) {
		if (!events)
			events = coll__map(cs->c[i], "slow_events");
		if (!drops)
			drops = coll__map(cs->c[i], "slow_drops");
		sched |= !strcmp(coll__desc(cs->c[i])->name, "sched");
	}
	if (!events || !drops || !sched) {
		log_error("slow needs the syscalls and sched collectors (sched on tp_btf "
			  "tracepoints); see 'latscope check'");
		return NULL;
	}
	r = slow_reader__new(events, drops, names, o->json, stdout);
	if (!r)
		log_error("cannot read the slow-call ring buffer: %s", strerror(errno));
	return r;
}

/* wait until deadline (CLOCK_MONOTONIC ns) or a signal, rendering slow
 * events meanwhile when there is a reader. 0, or the -errno of a failed
 * write of an event */
static int wait_until(uint64_t deadline, struct slow_reader *slow)
{
	struct timespec ts = {.tv_sec = deadline / 1000000000ULL,
			      .tv_nsec = deadline % 1000000000ULL};

	if (!slow) {
		while (!run_stop &&
		       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		return 0;
	}
	for (;;) {
		uint64_t now = run_clock_ns(CLOCK_MONOTONIC);
		int ms, n;

		if (run_stop || now >= deadline)
			return 0;
		ms = (int)((deadline - now + 999999) / 1000000);
		n = slow_reader__poll(slow, ms > 100 ? 100 : ms);
		if (n < 0 && n != -EINTR && slow_reader__failed(slow))
			return n;
	}
}

/* privs_drop()'s probe: every collector's reads, and the slow ring buffer */
static bool run_works_unprivileged(void *ctx)
{
	struct run *r = ctx;

	for (size_t i = 0; i < r->n; i++) {
		struct bpf_map *rb = coll__map(r->c[i], "slow_events");
		struct ring_buffer *ring;

		if (!coll__works_unprivileged(r->c[i]))
			return false;
		if (rb && bpf_map__fd(rb) >= 0) {
			ring = ring_buffer__new(bpf_map__fd(rb), NULL, NULL, NULL);
			if (!ring)
				return false;
			ring_buffer__free(ring);
		}
	}
	return true;
}

/* plain text blocks or NDJSON intervals on stdout, or the slow-call stream */
static int stream_loop(struct run *r, struct interval *iv, struct slow_reader *slow)
{
	const struct options *o = r->o;
	struct text_opts to = {};
	uint64_t deadline, n = 0;
	int err;

	to.sort = o->sort ? o->sort : "p99";
	to.max_rows = o->max_rows > 0 ? o->max_rows : 25;
	deadline = r->prev_ns + o->interval_ns;
	for (;;) {
		uint64_t now;

		err = wait_until(deadline, slow);
		if (err)
			goto out_error;
		now = run_clock_ns(CLOCK_MONOTONIC);
		/* on a signal, a pipe still gets the partial interval: no data lost */
		if (run_stop && now - r->prev_ns < o->interval_ns / 20)
			break;
		if (run__collect(r, iv))
			return 1;
		if (!o->all) /* waiting for work is not latency (DESIGN.md section 4) */
			interval__hide_idle(iv);
		/* a collector that runs only to help another is not shown */
		for (size_t t = 0; o->view && t < iv->ntables; t++)
			if (strcmp(iv->tables[t].schema->name, o->view))
				iv->tables[t].active = false;
		if (slow) { /* the maps are read all the same: they must not fill */
			slow_reader__poll(slow, 0);
			err = slow_reader__drops(slow);
		} else {
			interval__summarize(iv);
			interval__sort(iv, to.sort);
			err = o->json ? sink_json__render(stdout, iv)
				      : sink_text__render(stdout, iv, &to);
		}
		if (err)
			goto out_error;
		if (run_stop || (o->count && ++n >= o->count))
			break;
		deadline += o->interval_ns;
		if (deadline < now) /* we fell behind (suspended?): skip, don't burst */
			deadline = now + o->interval_ns;
	}
	if (slow) { /* what came in since the last interval */
		err = slow_reader__poll(slow, 0);
		if (err >= 0)
			err = slow_reader__drops(slow);
		if (err < 0)
			goto out_error;
	}
	return 0;
out_error:
	/* the reader went away (e.g. `| head`): a normal way to stop */
	if (err == -EPIPE)
		return 0;
	log_error("cannot write the output: %s", strerror(-err));
	return 1;
}

static int cmd_run(const struct options *o)
{
	struct run r = {.o = o};
	struct interval iv = {};
	struct slow_reader *slow = NULL;
	struct slow_opts so = {};
	uint8_t sys_class[LS_MAX_SYSCALL];
	bool is_slow = !strcmp(o->cmd, "slow"), is_serve = !strcmp(o->cmd, "serve");
	bool is_record = !strcmp(o->cmd, "record");
	char why[256], what[160] = "", cg_rel[4096] = "";
	int err = 0, cg_fd = -1, http_fd = -1;
	bool any = false, kept = true;

	r.start_mono_ns = run_clock_ns(CLOCK_MONOTONIC);
	if (!probe_privileges(why, sizeof(why))) {
		log_error("%s; try: sudo latscope", why);
		return 1;
	}
	for (int i = 0; i < o->npids; i++)
		if (kill((pid_t)o->pids[i], 0) && errno == ESRCH) {
			log_error("invalid --pid '%u': no such process", o->pids[i]);
			return 2;
		}
	for (size_t i = 0; i < coll_count; i++)
		any |= coll_wanted(o, coll_all[i]);
	if (!any) {
		log_error("nothing to trace: the collectors asked for are switched off");
		return 2;
	}
	if (is_slow) {
		if (sysclass_build(sys_class, o->all, o->syscalls, why, sizeof(why))) {
			log_error("%s", why);
			return 2;
		}
		so.max_rate = (uint32_t)o->max_rate;
		so.sys_class = sys_class;
	}
	/* a bad address or a port in use fails before anything is loaded */
	if (is_serve && (http_fd = serve__listen(o->listen, why, sizeof(why))) < 0) {
		log_error("%s", why);
		return 2;
	}
	/* the directory is opened and locked before anything is loaded (a
	 * second recorder fails at once) and before privileges are dropped */
	if ((is_record || o->record) && (err = recorder__open(&r.rec, o, why, sizeof(why)))) {
		log_error("%s", why);
		if (http_fd >= 0)
			close(http_fd);
		return err == -EWOULDBLOCK ? 2 : 1;
	}
	if (o->cgroup) {
		cg_fd = cgroup_open(o->cgroup, cg_rel, sizeof(cg_rel), why, sizeof(why));
		if (cg_fd < 0) {
			log_error("%s", why);
			recorder__close(r.rec);
			return 2;
		}
	}
	r.names = names__new();
	if (!r.names) {
		log_error("cannot allocate name caches: %s", strerror(errno));
		err = 1;
		goto cleanup;
	}
	if (collectors__open(&r, o, cg_fd, cg_rel, is_slow ? &so : NULL)) {
		log_error("no collector could start; see 'latscope check'");
		err = 1;
		goto cleanup;
	}
	if (is_slow && !(slow = slow_start(&r, o, r.names))) {
		err = 1;
		goto cleanup;
	}
	/* every row kind has a table in the output, even when its collector is off */
	iv.by = o->by;
	iv.groups = (o->breakdown ? FG_BREAKDOWN : 0) | (o->threshold_set ? FG_OVER : 0) |
		    (o->all ? FG_IDLE : 0);
	for (size_t i = 0; i < coll_count; i++)
		interval__table(&iv, coll_all[i]->schema);
	for (size_t i = 0; i < r.n; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s (%s)",
			 i ? ", " : "", coll__desc(r.c[i])->name, coll__variant(r.c[i]));
	/* --stats needs CAP_SYS_ADMIN: before the drop, held for the run */
	if ((tui__wanted(o) || is_serve) && !(r.agent = agent__new(o->stats, why, sizeof(why)))) {
		log_error("%s", why);
		err = 1;
		goto cleanup;
	}
	if (!o->keep_privileges && (err = privs_drop(run_works_unprivileged, &r, &kept))) {
		log_error(
			"cannot drop privileges: %s; --keep-privileges runs without dropping them",
			strerror(-err));
		err = 1;
		goto cleanup;
	}
	log_info("attached %s in %.0f ms; interval %.3gs", what,
		 (run_clock_ns(CLOCK_MONOTONIC) - r.start_mono_ns) / 1e6, o->interval_ns / 1e9);
	if (!o->keep_privileges)
		log_debug("capabilities dropped%s",
			  kept ? " but CAP_BPF (this kernel needs it)" : "");
	r.prev_ns = run_clock_ns(CLOCK_MONOTONIC);
	if (is_serve) {
		err = serve__run(&r, &iv, http_fd);
		http_fd = -1;
	} else if (is_record) {
		err = record__run(&r, &iv, r.rec);
	} else {
		err = tui__wanted(o) ? tui__run(&r, &iv) : stream_loop(&r, &iv, slow);
	}
cleanup:
	recorder__close(r.rec);
	agent__free(r.agent);
	slow_reader__free(slow);
	collectors__free(&r);
	names__free(r.names);
	interval__free(&iv);
	if (cg_fd >= 0)
		close(cg_fd);
	if (http_fd >= 0)
		close(http_fd);
	return err;
}

/* top: live, or --replay from a recording (no BPF, no privileges) */
static int cmd_top(const struct options *o)
{
	return o->replay ? replay__run(o) : cmd_run(o);
}

static int cmd_report(const struct options *o)
{
	return report__run(o);
}

static int cmd_check(const struct options *o)
{
	(void)o;
	return check__run();
}

struct cmd {
	const char *name;
	int (*fn)(const struct options *o);
};

static const struct cmd cmds[] = {
	{"top", cmd_top},  {"record", cmd_run}, {"report", cmd_report},
	{"slow", cmd_run}, {"serve", cmd_run},	{"check", cmd_check},
};

int main(int argc, char **argv)
{
	struct options o;
	struct sigaction sa = {.sa_handler = on_signal};
	char err[512];

	if (opts_parse(&o, argc, argv, err, sizeof(err))) {
		log_error("%s", err);
		return 2;
	}
	if (o.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (o.version) {
		printf("latscope %s\n", LATSCOPE_VERSION);
		return 0;
	}
	log_verbosity = o.verbose;
	libbpf_set_print(libbpf_print);
	/* no SA_RESTART: the interval sleep must wake up on a signal */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* serve is a foreground service: a hangup (a closed terminal) is not a
	 * reason to stop */
	if (!strcmp(o.cmd, "serve") || !strcmp(o.cmd, "record"))
		signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(o.cmd, cmds[i].name))
			return cmds[i].fn(&o);
	log_error("unknown command '%s'", o.cmd);
	return 2;
}
