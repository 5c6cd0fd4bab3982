// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "collector.h"
#include "opts.h"
#include "schema.h"
#include "util.h"

static uint64_t run_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char usage_text[] =
	"Usage: latscope [top] [options]     live latency tables (default)\n"
	"       latscope slow [options]      each slow syscall, with where its time went\n"
	"       latscope serve [options]     Prometheus/OpenMetrics exporter on /metrics\n"
	"       latscope record [options]    flight recorder: intervals to disk\n"
	"       latscope top --replay --at TIME [--until TIME]   recorded intervals\n"
	"       latscope report --from TIME --to TIME   a recorded window, merged\n"
	"       latscope check               what this kernel supports, per collector\n"
	"       latscope --version | --help\n"
	"\n"
	"Common options:\n"
	"  -i, --interval SEC      refresh interval, fractions allowed (default 1)\n"
	"  -n, --count N           stop after N intervals and exit 0\n"
	"  -p, --pid PID[,PID...]  only these processes (up to 64)\n"
	"      --comm NAME         only tasks with this comm (first 15 bytes)\n"
	"      --cgroup PATH|NAME  only tasks in this cgroup v2 (and below); a path, or\n"
	"                          a unit/container name such as nginx.service\n"
	"      --json              NDJSON to stdout\n"
	"      --all               include idle waits (epoll_wait, futex_wait, sleeps...)\n"
	"      --keep-privileges   do not drop capabilities once attached (by default\n"
	"                          only CAP_BPF is kept)\n"
	"  -v, --verbose           more diagnostics (twice: libbpf debug)\n"
	"  -h, --help, --version\n"
	"\n"
	"top:\n"
	"      --by process|thread|comm|cgroup   row key (default process); comm and\n"
	"                          cgroup are keyed in the kernel\n"
	"      --sort FIELD        row order, largest first (default p99): p99, p50,\n"
	"                          max, count, errors, time, or any sortable field\n"
	"                          name (e.g. error_pct, runq_total, blocked_pct)\n"
	"      --view syscalls|sched|tcp|requests   show (and run) only this collector\n"
	"      --breakdown         syscalls: share of latency on CPU, waiting for a\n"
	"                          CPU and blocked (CPU%, RUNQ%, BLK%)\n"
	"      --threshold DURATION   syscalls: count calls at least this long (OVER)\n"
	"      --port PORT         tcp, requests: only this remote port (local port of\n"
	"                          accepted connections)\n"
	"      --raddr ADDR[/N]    tcp, requests: only remote addresses in this prefix\n"
	"      --request-timeout DURATION   requests: a request not answered within\n"
	"                          this is counted unanswered (default 30s)\n"
	"      --rows N            at most N rows per interval in text mode\n"
	"      --max-keys N        syscall_lat map entries (default: what fits in\n"
	"                          28 MiB); the other maps scale with it\n"
	"      --no-syscalls, --no-sched, --no-tcp, --no-requests   switch\n"
	"                          collectors off\n"
	"      --stats             on a terminal: show BPF run time and events per second\n"
	"                          in the header (enables kernel BPF run-time statistics\n"
	"                          while latscope runs)\n"
	"      --no-color          on a terminal: no colours (so does NO_COLOR)\n"
	"\n"
	"On a terminal top is interactive: 1-4 views, s sort, g group, / filter,\n"
	"i idle waits, p pause, +/- interval, Enter details, ? help, q quit.\n"
	"\n"
	"slow:\n"
	"      --threshold DURATION   report calls at least this long (default 10ms;\n"
	"                          a bare number is ms; 0: every call)\n"
	"      --syscall NAME[,NAME...]   only these syscalls (idle ones included)\n"
	"      --max-rate N        events per second at most, in the kernel (default\n"
	"                          2000); the rest are counted as rate limited\n"
	"\n"
	"serve:\n"
	"      --listen ADDR:PORT  where to serve /metrics (default 127.0.0.1:9580;\n"
	"                          [IPV6]:PORT; 0.0.0.0 or [::] for every interface)\n"
	"      --max-series N      label sets per metric before the rest are folded\n"
	"                          into comm=\"other\" (default 1000)\n"
	"      --series-ttl DURATION   forget series not updated for this long\n"
	"                          (default 10m)\n"
	"      --buckets DURATION[,DURATION...]   histogram le bounds (default two per\n"
	"                          octave, 1.024us to 17.18s; see latscope(8))\n"
	"      --max-connections N  open HTTP connections at most (default 1024)\n"
	"      --stats             export each BPF program's run time and runs (enables\n"
	"                          kernel BPF run-time statistics while latscope runs)\n"
	"\n"
	"record, serve --record, top --replay, report:\n"
	"      --dir DIR           the recording directory (default /var/lib/latscope)\n"
	"      --max-size SIZE     record: bytes kept at most, K/M/G (default 1G)\n"
	"      --max-age DURATION  record: remove what is older (default 7d)\n"
	"      --record            serve: record too (one agent, both sinks)\n"
	"      --replay            top: show recorded intervals instead of live ones\n"
	"      --at TIME           top --replay: from this time\n"
	"      --until TIME        top --replay: up to this time (default: --at + 1m)\n"
	"      --from TIME, --to TIME   report: the window (--to defaults to now)\n"
	"                          TIME: RFC 3339, HH:MM[:SS] today (local), or\n"
	"                          -DURATION ago (e.g. -15m)\n"
	"      --resolution auto|DURATION  report: read only the roll-up tier of at\n"
	"                          most DURATION (1s, 10s, 1m: the window rounded to\n"
	"                          it); auto (default): the coarsest inside the window\n"
	"\n"
	"Examples:\n"
	"  latscope                              every process, refreshed each second\n"
	"  latscope -p 812 --breakdown           where pid 812's syscall time goes\n"
	"  latscope --by cgroup --view sched     run-queue delay per service\n"
	"  latscope --json -n 10 > run.ndjson    ten intervals for a script\n"
	"  latscope slow --threshold 20ms        every call of 20 ms or more, explained\n"
	"  latscope slow -p 812 --syscall read,recvfrom --json\n"
	"  latscope serve --listen [::1]:9580    metrics for a Prometheus on this host\n"
	"  latscope record --dir /var/lib/latscope   keep the last day on disk\n"
	"  latscope top --replay --at 14:03      the tables as they were at 14:03\n"
	"  latscope report --from -15m --json    the last 15 minutes, merged\n"
	"  latscope check                        what this kernel can do\n"
	"\n"
	"Durations take ns/us/ms/s/m/h/d suffixes. Needs root (CAP_BPF + CAP_PERFMON).\n"
	"See latscope(8).\n";

enum {
	OPT_COMM = 256,
	OPT_CGROUP,
	OPT_BY,
	OPT_JSON,
	OPT_SORT,
	OPT_VIEW,
	OPT_ROWS,
	OPT_MAX_KEYS,
	OPT_NO_SYSCALLS,
	OPT_NO_SCHED,
	OPT_NO_TCP,
	OPT_NO_REQUESTS,
	OPT_REQUEST_TIMEOUT,
	OPT_VERSION,
	OPT_PORT,
	OPT_RADDR,
	OPT_KEEP_PRIVS,
	OPT_ALL,
	OPT_THRESHOLD,
	OPT_SYSCALL,
	OPT_MAX_RATE,
	OPT_BREAKDOWN,
	OPT_LISTEN,
	OPT_MAX_SERIES,
	OPT_SERIES_TTL,
	OPT_BUCKETS,
	OPT_MAX_CONNECTIONS,
	OPT_STATS,
	OPT_NO_COLOR,
	OPT_DIR,
	OPT_MAX_SIZE,
	OPT_MAX_AGE,
	OPT_RECORD,
	OPT_REPLAY,
	OPT_AT,
	OPT_UNTIL,
	OPT_RESOLUTION,
};

const struct option opts_long_options[] = {
	{"interval", required_argument, NULL, 'i'},
	{"count", required_argument, NULL, 'n'},
	{"pid", required_argument, NULL, 'p'},
	{"comm", required_argument, NULL, OPT_COMM},
	{"cgroup", required_argument, NULL, OPT_CGROUP},
	{"by", required_argument, NULL, OPT_BY},
	{"json", no_argument, NULL, OPT_JSON},
	{"sort", required_argument, NULL, OPT_SORT},
	{"view", required_argument, NULL, OPT_VIEW},
	{"rows", required_argument, NULL, OPT_ROWS},
	{"max-keys", required_argument, NULL, OPT_MAX_KEYS},
	{"no-syscalls", no_argument, NULL, OPT_NO_SYSCALLS},
	{"no-sched", no_argument, NULL, OPT_NO_SCHED},
	{"no-tcp", no_argument, NULL, OPT_NO_TCP},
	{"no-requests", no_argument, NULL, OPT_NO_REQUESTS},
	{"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
	{"port", required_argument, NULL, OPT_PORT},
	{"raddr", required_argument, NULL, OPT_RADDR},
	{"keep-privileges", no_argument, NULL, OPT_KEEP_PRIVS},
	{"all", no_argument, NULL, OPT_ALL},
	{"threshold", required_argument, NULL, OPT_THRESHOLD},
	{"syscall", required_argument, NULL, OPT_SYSCALL},
	{"max-rate", required_argument, NULL, OPT_MAX_RATE},
	{"breakdown", no_argument, NULL, OPT_BREAKDOWN},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"max-series", required_argument, NULL, OPT_MAX_SERIES},
	{"series-ttl", required_argument, NULL, OPT_SERIES_TTL},
	{"buckets", required_argument, NULL, OPT_BUCKETS},
	{"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
	{"stats", no_argument, NULL, OPT_STATS},
	{"no-color", no_argument, NULL, OPT_NO_COLOR},
	{"dir", required_argument, NULL, OPT_DIR},
	{"max-size", required_argument, NULL, OPT_MAX_SIZE},
	{"max-age", required_argument, NULL, OPT_MAX_AGE},
	{"record", no_argument, NULL, OPT_RECORD},
	{"replay", no_argument, NULL, OPT_REPLAY},
	{"at", required_argument, NULL, OPT_AT},
	{"from", required_argument, NULL, OPT_AT},
	{"until", required_argument, NULL, OPT_UNTIL},
	{"to", required_argument, NULL, OPT_UNTIL},
	{"resolution", required_argument, NULL, OPT_RESOLUTION},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{},
};

#define BAD(...)                                     \
	do {                                         \
		snprintf(err, err_len, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

/* a --sort name some row kind can sort by */
static bool sort_known(const char *name)
{
	for (size_t i = 0; i < coll_count; i++)
		if (schema__sort_field(coll_all[i]->schema, name))
			return true;
	return false;
}

/* SIZE: bytes with an optional K, M or G (powers of 1024) */
static int parse_size(const char *s, uint64_t *out)
{
	uint64_t mult = 1, v;
	char num[32];
	size_t n = strlen(s);

	if (!n || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'K': mult = 1ULL << 10; break;
	case 'M': mult = 1ULL << 20; break;
	case 'G': mult = 1ULL << 30; break;
	case 'T': mult = 1ULL << 40; break;
	default: break;
	}
	if (mult > 1)
		num[n - 1] = 0;
	if (parse_uint(num, (1ULL << 50) / mult, &v))
		return -EINVAL;
	*out = v * mult;
	return 0;
}

int parse_time(const char *s, uint64_t now_ns, uint64_t *out)
{
	struct tm tm = {};
	const char *p;
	uint64_t d;
	int h, m, sec = 0, n = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '-') {
		if (parse_duration(s + 1, 1000000000ULL, &d) || d > now_ns)
			return -EINVAL;
		*out = now_ns - d;
		return 0;
	}
	/* HH:MM[:SS], local time today */
	if ((sscanf(s, "%2d:%2d%n", &h, &m, &n) == 2 && !s[n]) ||
	    (sscanf(s, "%2d:%2d:%2d%n", &h, &m, &sec, &n) == 3 && !s[n])) {
		time_t now = (time_t)(now_ns / 1000000000ULL);

		if (h > 23 || m > 59 || sec > 60 || h < 0 || m < 0 || sec < 0)
			return -EINVAL;
		localtime_r(&now, &tm);
		tm.tm_hour = h;
		tm.tm_min = m;
		tm.tm_sec = sec;
		tm.tm_isdst = -1;
		now = mktime(&tm);
		if (now == (time_t)-1)
			return -EINVAL;
		*out = (uint64_t)now * 1000000000ULL;
		return 0;
	}
	/* RFC 3339: date, T (or t, or a space), time, fraction, Z or offset */
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	{
		uint64_t frac = 0, scale = 1000000000ULL;
		long off = 0;
		int mday;
		time_t t;

		if (*p == '.') {
			if (!(p[1] >= '0' && p[1] <= '9'))
				return -EINVAL;
			for (p++; *p >= '0' && *p <= '9'; p++)
				if (scale > 1) {
					scale /= 10;
					frac += (uint64_t)(*p - '0') * scale;
				}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if ((*p == '+' || *p == '-') &&
			   sscanf(p + 1, "%2d:%2d%n", &h, &m, &n) == 2 && n == 5 && h <= 23 &&
			   m <= 59) {
			off = (h * 60L + m) * 60L * (*p == '-' ? -1 : 1);
			p += 6;
		} else {
			return -EINVAL;
		}
		if (*p)
			return -EINVAL;
		mday = tm.tm_mday;
		t = timegm(&tm);
		/* timegm() moves an impossible date on (Feb 31 is Mar 2/3) */
		if (t != (time_t)-1 && tm.tm_sec < 60) {
			struct tm chk;

			gmtime_r(&t, &chk);
			if (chk.tm_mday != mday)
				return -EINVAL;
		}
		/* nanoseconds since 1970 in 64 bits: up to the year 2554 */
		if (t == (time_t)-1 || t - off < 0 ||
		    (uint64_t)(t - off) >= UINT64_MAX / 1000000000ULL)
			return -EINVAL;
		*out = (uint64_t)(t - off) * 1000000000ULL + frac;
	}
	return 0;
}

int opts_parse(struct options *o, int argc, char **argv, char *err, size_t err_len)
{
	const char *at = NULL, *until = NULL, *resolution = NULL;
	int c, idx;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	o->cmd = "top";
	o->interval_ns = 1000000000ULL;
	o->max_rows = -1;
	o->threshold_ns = 10000000ULL;
	o->request_timeout_ns = 30000000000ULL;
	o->max_rate = 2000;
	o->listen = "127.0.0.1:9580";
	o->max_connections = 1024;
	o->prom.max_series = 1000;
	o->prom.ttl_ns = 600000000000ULL;
	o->dir = "/var/lib/latscope";
	o->max_size = 1ULL << 30;
	o->max_age_ns = 7 * 86400000000000ULL;
	/* the subcommand comes first, if given */
	if (argc > 1 && argv[1][0] != '-') {
		o->cmd = argv[1];
		if (strcmp(o->cmd, "top") && strcmp(o->cmd, "slow") && strcmp(o->cmd, "serve") &&
		    strcmp(o->cmd, "check") && strcmp(o->cmd, "record") && strcmp(o->cmd, "report"))
			BAD("unknown command '%s' (try: top, slow, serve, record, report, check; "
			    "see --help)",
			    o->cmd);
		argv++;
		argc--;
	}
	optind = 0; /* not 1: glibc forgets the previous argv only on 0 */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:n:p:vh", opts_long_options, &idx)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

		switch (c) {
		case 'i':
			if (parse_duration(optarg, 1000000000ULL, &o->interval_ns) ||
			    o->interval_ns < 10000000ULL || o->interval_ns > 86400000000000ULL)
				BAD("invalid --interval '%s': want seconds in [0.01, 86400] (e.g. "
				    "1, "
				    "0.5, 250ms)",
				    optarg);
			break;
		case 'n':
			if (parse_uint(optarg, 1000000000ULL, &o->count) || !o->count)
				BAD("invalid --count '%s': want a positive integer", optarg);
			break;
		case 'p': {
			int n = parse_pid_list(optarg, o->pids, LS_MAX_PIDS);

			if (n == -E2BIG)
				BAD("invalid --pid '%s': at most %d pids", optarg, LS_MAX_PIDS);
			if (n < 0)
				BAD("invalid --pid '%s': want PID[,PID...] of positive integers",
				    optarg);
			o->npids = n;
			break;
		}
		case OPT_COMM:
			if (!*optarg)
				BAD("invalid --comm '': want a process name");
			o->comm = optarg;
			break;
		case OPT_CGROUP:
			if (!*optarg)
				BAD("invalid --cgroup '': want a cgroup v2 path");
			o->cgroup = optarg;
			break;
		case OPT_BY:
			o->by_set = true;
			if (!strcmp(optarg, "process"))
				o->by = LS_BY_PROCESS;
			else if (!strcmp(optarg, "thread"))
				o->by = LS_BY_THREAD;
			else if (!strcmp(optarg, "comm"))
				o->by = LS_BY_COMM;
			else if (!strcmp(optarg, "cgroup"))
				o->by = LS_BY_CGROUP;
			else
				BAD("invalid --by '%s': want process, thread, comm or cgroup",
				    optarg);
			break;
		case OPT_JSON: o->json = true; break;
		case OPT_SORT:
			if (!sort_known(optarg))
				BAD("invalid --sort '%s': want p99, p50, max, count, errors, time "
				    "or a sortable field name",
				    optarg);
			o->sort = optarg;
			break;
		case OPT_VIEW:
			if (!coll_by_name(optarg))
				BAD("invalid --view '%s': want syscalls, sched, tcp or requests",
				    optarg);
			o->view = optarg;
			break;
		case OPT_ROWS:
			if (parse_uint(optarg, 1000000, &v) || !v)
				BAD("invalid --rows '%s': want a positive integer", optarg);
			o->max_rows = (int)v;
			break;
		case OPT_MAX_KEYS:
			if (parse_uint(optarg, 1u << 24, &v) || v < 64)
				BAD("invalid --max-keys '%s': want an integer in [64, 16777216]",
				    optarg);
			o->max_keys = (uint32_t)v;
			break;
		case OPT_PORT:
			if (parse_uint(optarg, 65535, &v) || !v)
				BAD("invalid --port '%s': want a TCP port in [1, 65535]", optarg);
			o->tcp.port = (uint16_t)v;
			break;
		case OPT_RADDR:
			if (parse_addr_prefix(optarg, &o->tcp.family, o->tcp.addr, &o->tcp.prefix))
				BAD("invalid --raddr '%s': want an IPv4/IPv6 address with an "
				    "optional /PREFIX (host bits zero)",
				    optarg);
			break;
		case OPT_KEEP_PRIVS: o->keep_privileges = true; break;
		case OPT_ALL: o->all = true; break;
		case OPT_BREAKDOWN: o->breakdown = true; break;
		case OPT_STATS: o->stats = true; break;
		case OPT_NO_COLOR: o->no_color = true; break;
		case OPT_REQUEST_TIMEOUT:
			if (parse_duration(optarg, 1000000000ULL, &o->request_timeout_ns) ||
			    o->request_timeout_ns < 1000000ULL ||
			    o->request_timeout_ns > 86400000000000ULL)
				BAD("invalid --request-timeout '%s': want a duration from 1ms to "
				    "1d "
				    "(e.g. 30s)",
				    optarg);
			break;
		case OPT_THRESHOLD:
			o->threshold_set = true;
			if (!strcmp(optarg, "0"))
				o->threshold_ns = 0;
			else if (parse_duration(optarg, 1000000ULL, &o->threshold_ns) ||
				 o->threshold_ns > 3600000000000ULL)
				BAD("invalid --threshold '%s': want a duration up to 1h (e.g. "
				    "10ms, "
				    "500us, 0 for every call)",
				    optarg);
			break;
		case OPT_SYSCALL:
			if (!*optarg || optarg[0] == ',' || strstr(optarg, ",,") ||
			    optarg[strlen(optarg) - 1] == ',')
				BAD("invalid --syscall '%s': want NAME[,NAME...]", optarg);
			o->syscalls = optarg;
			break;
		case OPT_MAX_RATE:
			if (parse_uint(optarg, 1000000, &o->max_rate) || !o->max_rate)
				BAD("invalid --max-rate '%s': want events per second in [1, "
				    "1000000]",
				    optarg);
			break;
		case OPT_LISTEN: {
			struct sockaddr_storage ss;
			unsigned int len;

			if (parse_listen(optarg, &ss, &len))
				BAD("invalid --listen '%s': want IPV4:PORT or [IPV6]:PORT (e.g. "
				    "127.0.0.1:9580)",
				    optarg);
			o->listen = optarg;
			break;
		}
		case OPT_MAX_SERIES:
			if (parse_uint(optarg, 10000000, &v) || !v)
				BAD("invalid --max-series '%s': want an integer in [1, 10000000]",
				    optarg);
			o->prom.max_series = v;
			break;
		case OPT_SERIES_TTL:
			if (parse_duration(optarg, 1000000000ULL, &o->prom.ttl_ns) ||
			    o->prom.ttl_ns < 1000000000ULL)
				BAD("invalid --series-ttl '%s': want a duration from 1s to 366d "
				    "(e.g. 10m, 1h)",
				    optarg);
			break;
		case OPT_BUCKETS:
			if (prom_parse_bounds(optarg, &o->prom, err, err_len))
				return -EINVAL;
			break;
		case OPT_MAX_CONNECTIONS:
			if (parse_uint(optarg, 1000000, &o->max_connections) ||
			    o->max_connections < 4)
				BAD("invalid --max-connections '%s': want an integer in [4, "
				    "1000000]",
				    optarg);
			break;
		case OPT_DIR:
			if (!*optarg)
				BAD("invalid --dir '': want a directory");
			o->dir = optarg;
			break;
		case OPT_MAX_SIZE:
			if (parse_size(optarg, &o->max_size) || o->max_size < (1ULL << 20))
				BAD("invalid --max-size '%s': want a size of at least 1M (e.g. "
				    "512M, 1G)",
				    optarg);
			break;
		case OPT_MAX_AGE:
			if (parse_duration(optarg, 1000000000ULL, &o->max_age_ns) ||
			    o->max_age_ns < 60000000000ULL ||
			    o->max_age_ns > 366 * 86400000000000ULL)
				BAD("invalid --max-age '%s': want a duration from 1m to 366d "
				    "(e.g. 7d, 12h)",
				    optarg);
			break;
		case OPT_RECORD: o->record = true; break;
		case OPT_REPLAY: o->replay = true; break;
		case OPT_AT:
			at = optarg;
			if (parse_time(optarg, run_realtime_ns(), &o->at_ns))
				BAD("invalid --%s '%s': want RFC 3339, HH:MM[:SS] or -DURATION "
				    "(e.g. 14:03, -15m)",
				    opts_long_options[idx].name, optarg);
			break;
		case OPT_UNTIL:
			until = optarg;
			if (parse_time(optarg, run_realtime_ns(), &o->until_ns))
				BAD("invalid --%s '%s': want RFC 3339, HH:MM[:SS] or -DURATION "
				    "(e.g. 14:10, -5m)",
				    opts_long_options[idx].name, optarg);
			break;
		case OPT_RESOLUTION:
			if (!strcmp(optarg, "auto"))
				o->resolution_ns = 0;
			else if (parse_duration(optarg, 1000000000ULL, &o->resolution_ns) ||
				 !o->resolution_ns)
				BAD("invalid --resolution '%s': want auto or a duration (e.g. 1s, "
				    "10s, 1m)",
				    optarg);
			resolution = optarg;
			break;
		case OPT_NO_SYSCALLS:
		case OPT_NO_SCHED:
		case OPT_NO_TCP:
		case OPT_NO_REQUESTS:
			/* --no-NAME: the option's own name says which collector */
			if (o->noff < (int)ARRAY_SIZE(o->off))
				o->off[o->noff++] = opts_long_options[idx].name + 3;
			break;
		case 'v': o->verbose++; break;
		case 'h': o->help = true; break;
		case OPT_VERSION: o->version = true; break;
		case ':': BAD("option '%s' needs a value", name);
		case '?':
		default:
			/* an unknown short option, maybe inside a cluster: optopt
			 * is it (for a long one, 0 or the option's val) */
			if (optopt && optopt < 256 && !strchr("inpvh", optopt))
				BAD("unknown option '-%c' (see --help)", optopt);
			BAD("unknown option '%s' (see --help)", name);
		}
	}
	if (optind < argc)
		BAD("unexpected argument '%s' (see --help)", argv[optind]);
	if (o->help || o->version)
		return 0;
	if (resolution && strcmp(o->cmd, "report"))
		BAD("--resolution is an option of report");
	if (o->record && strcmp(o->cmd, "serve"))
		BAD("--record is an option of serve (latscope record records alone)");
	if (o->replay && strcmp(o->cmd, "top"))
		BAD("--replay is an option of top (see also: latscope report)");
	if (o->replay && !at)
		BAD("top --replay needs --at TIME (e.g. --at 14:03, --at -15m)");
	if ((at || until) && !o->replay && strcmp(o->cmd, "report"))
		BAD("--at/--until and --from/--to go with top --replay or report");
	if (!strcmp(o->cmd, "report") && !at)
		BAD("report needs --from TIME (e.g. --from 14:00, --from -15m)");
	if (o->replay && !until)
		o->until_ns = o->at_ns + 60000000000ULL;
	if (!strcmp(o->cmd, "report") && !until)
		o->until_ns = run_realtime_ns();
	if ((o->replay || !strcmp(o->cmd, "report")) && o->until_ns <= o->at_ns)
		BAD("invalid %s '%s': the window ends before it starts",
		    until ? "--until/--to" : "--at", until ? until : at);
	return 0;
}
