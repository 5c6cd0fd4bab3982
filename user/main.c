// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* latscope: parse options, build the collectors, run the loop, clean up. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "mapread.h"
#include "names.h"
#include "opts.h"
#include "privs.h"
#include "probe.h"
#include "sink.h"
#include "sched.h"
#include "syscalls.h"
#include "tcp.h"
#include "util.h"

#ifndef LATSCOPE_VERSION
#define LATSCOPE_VERSION "dev"
#endif

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
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

/* --cgroup PATH relative to the cgroup2 mount, with a leading '/' */
static const char *cgroup_rel(const char *path)
{
	static char rel[4096];
	const char *mnt = cgroup2_mount();
	size_t ml = mnt ? strlen(mnt) : 0;

	if (mnt && !strncmp(path, mnt, ml) && (path[ml] == '/' || !path[ml]))
		path += ml;
	snprintf(rel, sizeof(rel), "%s%s", path[0] == '/' ? "" : "/", path);
	return rel;
}

/* open --cgroup PATH, absolute or relative to the cgroup2 mount */
static int open_cgroup(const char *path, char *err, size_t len)
{
	const char *mnt = cgroup2_mount();
	char full[4096];
	struct stat st;
	int fd;

	if (!mnt) {
		snprintf(err, len, "invalid --cgroup '%s': no cgroup v2 hierarchy is mounted",
			 path);
		return -ENOENT;
	}
	if (!strncmp(path, mnt, strlen(mnt)) && (path[strlen(mnt)] == '/' || !path[strlen(mnt)]))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", mnt, path[0] == '/' ? path + 1 : path);
	fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, len, "invalid --cgroup '%s': cannot open %s: %s", path, full,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	return fd;
}

struct collectors {
	struct sys_coll *sys;
	struct sched_coll *sched;
	struct tcp_coll *tcp;
};

static void collectors__free(struct collectors *cs)
{
	sys_coll__free(cs->sys);
	sched_coll__free(cs->sched);
	tcp_coll__free(cs->tcp);
	memset(cs, 0, sizeof(*cs));
}

/*
 * Start the collectors the options ask for. One that cannot start is
 * switched off with one line saying why; only when none starts is it an
 * error (returns -ENOENT).
 */
static int collectors__open(struct collectors *cs, const struct options *o, int cg_fd)
{
	struct coll_opts co = {};
	bool want_sys = !o->no_syscalls && (o->view == VIEW_ALL || o->view == VIEW_SYSCALLS);
	bool want_sched = !o->no_sched && (o->view == VIEW_ALL || o->view == VIEW_SCHED);
	bool want_tcp = !o->no_tcp && (o->view == VIEW_ALL || o->view == VIEW_TCP);
	char why[256];

	co.filter.by = o->by;
	co.filter.pids = o->pids;
	co.filter.npids = o->npids;
	co.filter.comm = o->comm;
	co.filter.cgroup_fd = cg_fd;
	co.filter.cgroup_path = cg_fd >= 0 ? cgroup_rel(o->cgroup) : NULL;
	co.attach = attach_mode_from_env();
	co.interval_s = o->interval_ns / 1e9;
	if (want_sys) {
		co.max_keys = o->max_keys;
		if (sys_coll__open(&cs->sys, &co, why, sizeof(why)))
			log_error("syscalls collector off: %s", why);
	}
	/* without --max-keys each collector sizes its maps by its own default */
	if (want_sched) {
		co.max_keys = o->max_keys / 8;
		if (sched_coll__open(&cs->sched, &co, why, sizeof(why)))
			log_error("sched collector off: %s", why);
	}
	if (want_tcp) {
		co.max_keys = o->max_keys / 2;
		if (tcp_coll__open(&cs->tcp, &co, &o->tcp, why, sizeof(why)))
			log_error("tcp collector off: %s", why);
	}
	return cs->sys || cs->sched || cs->tcp ? 0 : -ENOENT;
}

static int cmd_top(const struct options *o)
{
	struct collectors cs = {};
	struct names *names = NULL;
	struct interval iv = {};
	struct text_opts to = {};
	char why[256], what[96] = "";
	uint64_t t_start = clock_ns(CLOCK_MONOTONIC), t_prev, deadline, n = 0;
	int err = 0, cg_fd = -1;
	bool tty = !o->json && isatty(STDOUT_FILENO);

	if (!probe_privileges(why, sizeof(why))) {
		log_error("%s; try: sudo latscope", why);
		return 1;
	}
	for (int i = 0; i < o->npids; i++)
		if (kill((pid_t)o->pids[i], 0) && errno == ESRCH) {
			log_error("invalid --pid '%u': no such process", o->pids[i]);
			return 2;
		}
	if ((o->no_syscalls && o->no_sched && o->no_tcp) ||
	    (o->view == VIEW_SYSCALLS && o->no_syscalls) ||
	    (o->view == VIEW_SCHED && o->no_sched) || (o->view == VIEW_TCP && o->no_tcp)) {
		log_error("nothing to trace: the collectors asked for are switched off");
		return 2;
	}
	if (o->cgroup) {
		cg_fd = open_cgroup(o->cgroup, why, sizeof(why));
		if (cg_fd < 0) {
			log_error("%s", why);
			return 2;
		}
	}
	names = names__new();
	if (!names) {
		log_error("cannot allocate name caches: %s", strerror(errno));
		err = 1;
		goto cleanup;
	}
	if (collectors__open(&cs, o, cg_fd)) {
		log_error("no collector could start; see 'latscope check'");
		err = 1;
		goto cleanup;
	}
	if (cs.sys)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "syscalls (%s)",
			 sys_coll__variant(cs.sys));
	if (cs.sched)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%ssched (%s)",
			 *what ? ", " : "", sched_coll__variant(cs.sched));
	if (cs.tcp)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%stcp (%s)",
			 *what ? ", " : "", tcp_coll__variant(cs.tcp));
	if (!o->keep_privileges && (err = privs_drop())) {
		log_error(
			"cannot drop privileges: %s; --keep-privileges runs without dropping them",
			strerror(-err));
		err = 1;
		goto cleanup;
	}
	log_info("attached %s in %.0f ms; interval %.3gs%s", what,
		 (clock_ns(CLOCK_MONOTONIC) - t_start) / 1e6, o->interval_ns / 1e9,
		 tty ? "; Ctrl-C to quit" : "");

	iv.by = o->by;
	to.tty = tty;
	to.sort = o->sort;
	to.max_rows = o->max_rows > 0 ? o->max_rows : tty ? 0 : 25;
	to.show_sys = cs.sys != NULL;
	to.show_sched = cs.sched != NULL;
	to.show_tcp = cs.tcp != NULL;
	t_prev = clock_ns(CLOCK_MONOTONIC);
	deadline = t_prev + o->interval_ns;
	for (;;) {
		struct timespec ts = {.tv_sec = deadline / 1000000000ULL,
				      .tv_nsec = deadline % 1000000000ULL};
		uint64_t now;

		while (!stop_signal &&
		       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		now = clock_ns(CLOCK_MONOTONIC);
		/* on a signal, a pipe still gets the partial interval: no data lost */
		if (stop_signal && (tty || now - t_prev < o->interval_ns / 20))
			break;
		interval__reset(&iv);
		iv.realtime_ns = clock_ns(CLOCK_REALTIME);
		iv.interval_s = (now - t_prev) / 1e9;
		t_prev = now;
		if (cs.sys && (err = sys_coll__collect(cs.sys, names, &iv))) {
			log_error("cannot read syscall maps: %s", strerror(-err));
			err = 1;
			goto cleanup;
		}
		if (cs.sched && (err = sched_coll__collect(cs.sched, names, &iv))) {
			log_error("cannot read sched maps: %s", strerror(-err));
			err = 1;
			goto cleanup;
		}
		if (cs.tcp && (err = tcp_coll__collect(cs.tcp, names, &iv))) {
			log_error("cannot read tcp maps: %s", strerror(-err));
			err = 1;
			goto cleanup;
		}
		rows_sort(&iv, o->sort);
		err = o->json ? sink_json__render(stdout, &iv)
			      : sink_text__render(stdout, &iv, &to);
		if (err) {
			/* reader went away (e.g. `| head`): a normal way to stop */
			err = 0;
			break;
		}
		if (stop_signal || (o->count && ++n >= o->count))
			break;
		deadline += o->interval_ns;
		if (deadline < now) /* we fell behind (suspended?): skip, don't burst */
			deadline = now + o->interval_ns;
	}
	err = 0;
cleanup:
	collectors__free(&cs);
	names__free(names);
	interval__free(&iv);
	if (cg_fd >= 0)
		close(cg_fd);
	return err;
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

/* load and attach one collector in one flavour, then detach: the truth
 * about whether it runs here */
static int try_sys(enum attach_mode m, char *why, size_t len)
{
	struct coll_opts co = {.filter = {.cgroup_fd = -1}, .attach = m, .max_keys = 64};
	struct sys_coll *c = NULL;
	int err = sys_coll__open(&c, &co, why, len);

	sys_coll__free(c);
	return err;
}

static int try_sched(enum attach_mode m, char *why, size_t len)
{
	struct coll_opts co = {.filter = {.cgroup_fd = -1}, .attach = m, .max_keys = 64};
	struct sched_coll *c = NULL;
	int err = sched_coll__open(&c, &co, why, len);

	sched_coll__free(c);
	return err;
}

static int try_tcp(enum attach_mode m, char *why, size_t len)
{
	struct coll_opts co = {.filter = {.cgroup_fd = -1}, .attach = m, .max_keys = 64};
	struct tcp_coll *c = NULL;
	int err = tcp_coll__open(&c, &co, NULL, why, len);

	tcp_coll__free(c);
	return err;
}

static const struct {
	const char *name, *needs;
	int (*try)(enum attach_mode m, char *why, size_t len);
} check_colls[] = {
	{"syscalls",
	 "tracepoints raw_syscalls:sys_enter, raw_syscalls:sys_exit;\n"
	 "  maps: per-CPU hash (syscall_lat, syscall_errs), task storage (task_sys), LRU hash "
	 "(task_comm)",
	 try_sys},
	{"sched",
	 "tracepoints sched:sched_wakeup, sched:sched_wakeup_new, sched:sched_switch;\n"
	 "  maps: per-CPU hash (sched_stats, runq_lat, runq_culprits), task storage (task_sched;\n"
	 "  LRU hash task_sched_lru for raw_tp)",
	 try_sched},
	{"tcp",
	 "tracepoints sock:inet_sock_set_state, tcp:tcp_retransmit_skb, tcp:tcp_send_reset,\n"
	 "  tcp:tcp_receive_reset, tcp:tcp_probe, tcp:tcp_destroy_sock;\n"
	 "  maps: hash (tcp_stats, tcp_hist), LRU hash (tcp_sock_state, tcp_listeners)",
	 try_tcp},
};

static int cmd_check(const struct options *o)
{
	int ncpu = ncpus_possible(), ok = 0;
	bool priv, btf = probe_btf();
	const char *mnt = cgroup2_mount();
	char why[256], kver[128] = "?";
	FILE *f = fopen("/proc/sys/kernel/osrelease", "r");

	(void)o;
	if (f) {
		if (fgets(kver, sizeof(kver), f))
			kver[strcspn(kver, "\n")] = 0;
		fclose(f);
	}
	priv = probe_privileges(why, sizeof(why));
	printf("latscope %s on Linux %s, %d possible CPUs\n\n", LATSCOPE_VERSION, kver, ncpu);
	printf("kernel features:\n");
	printf("  %-36s %s\n", "BTF (/sys/kernel/btf/vmlinux)", yesno(btf));
	printf("  %-36s %s\n", "raw_tp programs", yesno(probe_raw_tp()));
	printf("  %-36s %s\n", "tp_btf raw_syscalls:sys_enter/exit",
	       yesno(btf && probe_tp_btf("sys_enter") && probe_tp_btf("sys_exit")));
	printf("  %-36s %s\n", "tp_btf sched:sched_wakeup/switch",
	       yesno(btf && probe_tp_btf("sched_wakeup") && probe_tp_btf("sched_switch")));
	printf("  %-36s %s\n", "tp_btf sock:inet_sock_set_state, tcp:*",
	       yesno(btf && probe_tp_btf("inet_sock_set_state") &&
		     probe_tp_btf("tcp_retransmit_skb") && probe_tp_btf("tcp_probe")));
	probe_release();
	printf("  %-36s %s\n", "task storage map", yesno(probe_task_storage()));
	printf("  %-36s %s\n", "per-CPU hash map", yesno(probe_percpu_hash()));
	printf("  %-36s %s\n", "ring buffer map", yesno(probe_ringbuf()));
	printf("  %-36s %s%s%s\n", "cgroup v2", yesno(mnt), mnt ? " at " : "", mnt ? mnt : "");
	printf("  %-36s %s%s%s\n", "privileges", yesno(priv), priv ? "" : ": ", priv ? "" : why);

	for (size_t c = 0; c < ARRAY_SIZE(check_colls); c++) {
		static const struct {
			enum attach_mode m;
			const char *name;
		} variants[] = {
			{ATTACH_TP_BTF, "tp_btf"},
			{ATTACH_RAW_TP, "raw_tp"},
		};
		const char *use = NULL;

		printf("\ncollector %s: %s\n", check_colls[c].name, check_colls[c].needs);
		if (!priv) {
			printf("  verdict: %s: unavailable: %s\n", check_colls[c].name, why);
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
			if (check_colls[c].try(variants[i].m, why, sizeof(why)) == 0) {
				printf("  %-8s ok (loaded and attached)\n", variants[i].name);
				if (!use)
					use = variants[i].name;
			} else {
				printf("  %-8s no: %s\n", variants[i].name, why);
			}
		}
		if (use) {
			printf("  verdict: %s: ok, will use %s\n", check_colls[c].name, use);
			ok++;
		} else {
			printf("  verdict: %s: unavailable (see the reasons above)\n",
			       check_colls[c].name);
		}
	}
	printf("\nmemory budget of BPF maps at defaults: %.1f MiB on this host (%d CPUs), "
	       "%.1f MiB on a 64-CPU host\n",
	       (sys_coll__budget(0, ncpu) + sched_coll__budget(0, ncpu) + tcp_coll__budget(0)) /
		       1048576.0,
	       ncpu,
	       (sys_coll__budget(0, 64) + sched_coll__budget(0, 64) + tcp_coll__budget(0)) /
		       1048576.0);
	printf("verdict: %d of %zu collectors can run\n", ok, ARRAY_SIZE(check_colls));
	return ok ? 0 : 1;
}

struct cmd {
	const char *name;
	int (*fn)(const struct options *o);
};

static const struct cmd cmds[] = {
	{"top", cmd_top},
	{"check", cmd_check},
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
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(o.cmd, cmds[i].name))
			return cmds[i].fn(&o);
	log_error("unknown command '%s'", o.cmd);
	return 2;
}
