// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * opts_parse over an argv made of the input split at NUL and newline,
 * as given, then after each of the subcommands top, slow and serve.
 *
 * Invariants: it returns 0 or -EINVAL; on -EINVAL the message is one
 * non-empty line that names what was wrong (the option as typed, or the
 * value, as found in argv; an "unknown option" is never a valid option or
 * the program name); on 0 every field is within what its option allows,
 * and parsing the same argv again gives the same struct. Each argv is
 * freed before the next parse, so a parser that keeps a pointer into the
 * previous argv (getopt's state) is a use-after-free ASan sees.
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <string.h>
#include <sys/socket.h>
#include "collector.h"
#include "fuzz.h"
#include "hist.h"
#include "opts.h"
#include "schema.h"
#include "util.h"

FUZZ_HARNESS_BEGIN

#define MAX_ARGS 64

/* the long options of DESIGN.md section 4 (a stale list only weakens the
 * "unknown option" check, it cannot make it fail) */
/* every long option, from the parser's own table (never a copy that goes
 * stale when an option is added) */
static size_t n_long_names;
static const char *long_names[128];

__attribute__((constructor)) static void collect_long_names(void)
{
	for (const struct option *o = opts_long_options; o->name && n_long_names < 128; o++)
		long_names[n_long_names++] = o->name;
}

static bool in_argv(int argc, char **argv, const char *s, size_t n)
{
	for (int i = 1; i < argc; i++)
		if (memmem(argv[i], strlen(argv[i]), s, n))
			return true;
	return false;
}

static bool is_argv_elem(int argc, char **argv, const char *s, size_t n)
{
	for (int i = 1; i < argc; i++)
		if (strlen(argv[i]) == n && !memcmp(argv[i], s, n))
			return true;
	return false;
}

/* a whole valid option by itself: "--json", "-vvh", "-vi5" */
static bool valid_option(const char *s, size_t n)
{
	if (n > 2 && s[0] == '-' && s[1] == '-') {
		for (size_t i = 0; i < n_long_names; i++)
			if (strlen(long_names[i]) == n - 2 && !memcmp(s + 2, long_names[i], n - 2))
				return true;
		return false;
	}
	if (n < 2 || s[0] != '-' || s[1] == '-')
		return false;
	for (size_t i = 1; i < n; i++) {
		if (s[i] == 'v' || s[i] == 'h')
			continue;
		return s[i] == 'i' || s[i] == 'n' || s[i] == 'p'; /* the rest is its value */
	}
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || c == '-';
}

/* the text between prefix and suffix if msg is exactly prefix...suffix */
static bool between(const char *msg, const char *prefix, const char *suffix, const char **x,
		    size_t *n)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), lm = strlen(msg);

	if (lm < lp + ls || strncmp(msg, prefix, lp) || strcmp(msg + lm - ls, suffix))
		return false;
	*x = msg + lp;
	*n = lm - lp - ls;
	return true;
}

/* the message names the option as typed (or abbreviated) and the value */
static void check_message(int argc, char **argv, const char *err, size_t err_len)
{
	const char *x, *q;
	size_t n, len = strnlen(err, err_len);
	bool cut = len == err_len - 1; /* snprintf truncated it: skip the suffix checks */

	FUZZ_ASSERT(len < err_len, "message not NUL-terminated");
	FUZZ_ASSERT(len > 0, "-EINVAL with an empty message");
	FUZZ_ASSERT(!strchr(err, '\n'), "message of more than one line: %s", fuzz_show(err, len));
	if (cut) { /* the end is gone: only the start can be checked */
		q = strchr(err, '\'');
		FUZZ_ASSERT(q && (!strncmp(err, "invalid --", 10) || !strncmp(err, "unknown ", 8) ||
				  !strncmp(err, "option '", 8) || !strncmp(err, "unexpected ", 11)),
			    "message of an unknown form: %s", fuzz_show(err, len));
		return;
	}
	if (between(err, "unknown option '", "' (see --help)", &x, &n)) {
		if (n == 2 && x[0] == '-') { /* one of a cluster: -Z of -vZ, -- of -v- */
			bool given = false;

			for (int i = 1; i < argc && !given; i++)
				given = argv[i][0] == '-' && argv[i][1] != '-' &&
					strchr(argv[i] + 1, x[1]);
			FUZZ_ASSERT(given && !strchr("vhinp", x[1]),
				    "unknown option %s is not an unknown option given: %s",
				    fuzz_show(x, n), fuzz_show(err, len));
			return;
		}
		FUZZ_ASSERT(n && x[0] == '-' && is_argv_elem(argc, argv, x, n),
			    "unknown option names something that is not an option given: %s",
			    fuzz_show(err, len));
		FUZZ_ASSERT(!valid_option(x, n), "a valid option called unknown: %s",
			    fuzz_show(err, len));
		return;
	}
	if (between(err, "option '", "' needs a value", &x, &n)) {
		FUZZ_ASSERT(n && x[0] == '-' && is_argv_elem(argc, argv, x, n),
			    "missing value of something that is not an option given: %s",
			    fuzz_show(err, len));
		return;
	}
	if (between(err, "unexpected argument '", "' (see --help)", &x, &n)) {
		FUZZ_ASSERT(is_argv_elem(argc, argv, x, n), "unexpected argument not in argv: %s",
			    fuzz_show(err, len));
		return;
	}
	if (!strncmp(err, "unknown command '", 17)) {
		size_t al = strlen(argv[1]);

		FUZZ_ASSERT(len > 17 + al && !strncmp(err + 17, argv[1], al) &&
				    err[17 + al] == '\'',
			    "unknown command is not argv[1]: %s", fuzz_show(err, len));
		return;
	}
	/* "invalid X 'V'": X is the option (a value there is a wrong name) */
	if (!strncmp(err, "invalid ", 8))
		FUZZ_ASSERT(err[8] == '-', "invalid names no option: %s", fuzz_show(err, len));
	if (!strncmp(err, "invalid --", 10)) {
		const char *name = err + 8, *sp = strchr(name, ' ');
		size_t nl = sp ? (size_t)(sp - name) : strlen(name);
		bool found = false, valued = false;

		/* given as --NAME, an abbreviation, --NAME=V or a short option;
		 * NAME may be a list of aliases (--until/--to) */
		for (int i = 1; i < argc && !found; i++) {
			const char *a = argv[i], *alt = name;
			size_t al = strcspn(a, "=");

			while (a[0] == '-' && a[1] == '-' && alt < name + nl && !found) {
				size_t l = strcspn(alt, "/ ");

				found = al >= 3 && al <= l && !memcmp(a, alt, al);
				alt += l + 1;
			}
			if (a[0] == '-' && a[1] != '-')
				found = (nl == 10 && !memcmp(name, "--interval", nl) &&
					 strchr(a, 'i')) ||
					(nl == 7 && !memcmp(name, "--count", nl) &&
					 strchr(a, 'n')) ||
					(nl == 5 && !memcmp(name, "--pid", nl) && strchr(a, 'p'));
		}
		if (sp && sp[1] == '\'') {
			const char *v = sp + 2, *end = strstr(v, "': ");

			FUZZ_ASSERT(end, "value not quoted: %s", fuzz_show(err, len));
			n = (size_t)(end - v);
			if (n >= 3 && !memcmp(end - 3, "...", 3)) /* a long list, cut */
				n -= 3;
			FUZZ_ASSERT(in_argv(argc, argv, v, n),
				    "the value quoted is not in argv: %s", fuzz_show(err, len));
			valued = n > 0;
		}
		/* an alias of the option typed (--at for --from) is named by the value */
		FUZZ_ASSERT(found || valued, "message names an option not given: %s",
			    fuzz_show(err, len));
		return;
	}
	FUZZ_ASSERT(strncmp(err, "invalid ", 8), "invalid what? %s", fuzz_show(err, len));
	/* any other form ("--record is an option of serve", "report needs
	 * --from TIME"): a value quoted from argv, or an option by its name */
	q = strchr(err, '\'');
	if (q) {
		x = q + 1;
		q = strchr(x, '\'');
		n = q ? (size_t)(q - x) : strlen(x);
		FUZZ_ASSERT(in_argv(argc, argv, x, n), "message quotes what is not in argv: %s",
			    fuzz_show(err, len));
		return;
	}
	for (size_t i = 0; i < n_long_names; i++) {
		const char *m = err;
		size_t l = strlen(long_names[i]);

		while ((m = strstr(m, "--"))) {
			m += 2;
			if (!strncmp(m, long_names[i], l) && !name_char(m[l]))
				return;
		}
	}
	FUZZ_ASSERT(0, "message names no option and quotes no value: %s", fuzz_show(err, len));
}

static void check_bounds(const struct prom_opts *p)
{
	FUZZ_ASSERT(p->nbounds <= PROM_MAX_BOUNDS, "%zu bounds", p->nbounds);
	for (size_t i = 0; i < p->nbounds; i++) {
		FUZZ_ASSERT(hist_bucket_lo(hist_bucket(p->bounds_ns[i])) == p->bounds_ns[i],
			    "bound %llu is not a bin bound", (unsigned long long)p->bounds_ns[i]);
		FUZZ_ASSERT(!i || p->bounds_ns[i] > p->bounds_ns[i - 1], "bounds not increasing");
	}
}

/* what a successful parse may hold (the ranges opts.c's --help promises) */
static void check_options(const struct options *o)
{
	struct sockaddr_storage ss;
	unsigned int len;

	FUZZ_ASSERT(!strcmp(o->cmd, "top") || !strcmp(o->cmd, "slow") || !strcmp(o->cmd, "serve") ||
			    !strcmp(o->cmd, "check") || !strcmp(o->cmd, "record") ||
			    !strcmp(o->cmd, "report"),
		    "command %s", fuzz_show(o->cmd, strlen(o->cmd)));
	FUZZ_ASSERT(o->interval_ns >= 10000000ULL && o->interval_ns <= 86400000000000ULL,
		    "interval %llu ns", (unsigned long long)o->interval_ns);
	FUZZ_ASSERT(o->count <= 1000000000ULL, "count %llu", (unsigned long long)o->count);
	FUZZ_ASSERT(o->npids >= 0 && o->npids <= LS_MAX_PIDS, "%d pids", o->npids);
	for (int i = 0; i < o->npids; i++)
		FUZZ_ASSERT(o->pids[i] > 0 && o->pids[i] <= 4194304, "pid %u", o->pids[i]);
	FUZZ_ASSERT(!o->comm || *o->comm, "empty --comm accepted");
	FUZZ_ASSERT(!o->cgroup || *o->cgroup, "empty --cgroup accepted");
	FUZZ_ASSERT(o->by <= LS_BY_COMM, "by %d", o->by);
	FUZZ_ASSERT(!o->sort || o->sort[0], "empty --sort accepted");
	FUZZ_ASSERT(!o->view || coll_by_name(o->view), "unknown --view accepted");
	FUZZ_ASSERT(o->max_rows == -1 || (o->max_rows >= 1 && o->max_rows <= 1000000), "rows %d",
		    o->max_rows);
	FUZZ_ASSERT(!o->max_keys || (o->max_keys >= 64 && o->max_keys <= (1u << 24)), "max-keys %u",
		    o->max_keys);
	FUZZ_ASSERT(o->tcp.family == 0 || (o->tcp.family == AF_INET && o->tcp.prefix <= 32) ||
			    (o->tcp.family == AF_INET6 && o->tcp.prefix <= 128),
		    "raddr family %d prefix %u", o->tcp.family, o->tcp.prefix);
	FUZZ_ASSERT(o->noff >= 0 && o->noff <= (int)ARRAY_SIZE(o->off), "%d off", o->noff);
	for (int i = 0; i < o->noff; i++)
		FUZZ_ASSERT(coll_by_name(o->off[i]), "--no-%s", o->off[i]);
	FUZZ_ASSERT(o->threshold_ns <= 3600000000000ULL, "threshold %llu",
		    (unsigned long long)o->threshold_ns);
	FUZZ_ASSERT(o->max_rate >= 1 && o->max_rate <= 1000000, "max-rate %llu",
		    (unsigned long long)o->max_rate);
	FUZZ_ASSERT(!o->syscalls || (o->syscalls[0] && o->syscalls[0] != ','),
		    "--syscall list accepted: %s", o->syscalls);
	FUZZ_ASSERT(parse_listen(o->listen, &ss, &len) == 0, "--listen %s kept unparsable",
		    fuzz_show(o->listen, strlen(o->listen)));
	FUZZ_ASSERT(o->max_connections >= 4 && o->max_connections <= 1000000,
		    "max-connections %llu", (unsigned long long)o->max_connections);
	FUZZ_ASSERT(o->prom.max_series >= 1 && o->prom.max_series <= 10000000, "max-series %zu",
		    o->prom.max_series);
	FUZZ_ASSERT(o->prom.ttl_ns >= 1000000000ULL, "series-ttl %llu",
		    (unsigned long long)o->prom.ttl_ns);
	check_bounds(&o->prom);
	FUZZ_ASSERT(o->dir && *o->dir, "empty --dir accepted");
	FUZZ_ASSERT(o->max_size >= (1ULL << 20) && o->max_size <= (1ULL << 50), "max-size %llu",
		    (unsigned long long)o->max_size);
	FUZZ_ASSERT(o->max_age_ns >= 60000000000ULL && o->max_age_ns <= 366 * 86400000000000ULL,
		    "max-age %llu", (unsigned long long)o->max_age_ns);
	if (o->help || o->version)
		return;
	FUZZ_ASSERT(!o->record || !strcmp(o->cmd, "serve"), "--record with %s", o->cmd);
	FUZZ_ASSERT(!o->replay || !strcmp(o->cmd, "top"), "--replay with %s", o->cmd);
	if (o->replay || !strcmp(o->cmd, "report"))
		FUZZ_ASSERT(o->until_ns > o->at_ns, "a window from %llu to %llu",
			    (unsigned long long)o->at_ns, (unsigned long long)o->until_ns);
}

/* one parse of args[0..n) after argv[0] (and cmd when given), on a fresh copy */
static void parse_one(const char *cmd, char **args, int n)
{
	char *argv[MAX_ARGS + 3], err[512], err2[512];
	struct options o, o2;
	int argc = 0, rc, rc2;

	argv[argc++] = strdup("latscope");
	if (cmd)
		argv[argc++] = strdup(cmd);
	for (int i = 0; i < n; i++)
		argv[argc++] = strdup(args[i]);
	argv[argc] = NULL;
	memset(err, 0x55, sizeof(err));
	rc = opts_parse(&o, argc, argv, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL, "opts_parse returned %d", rc);
	if (rc) {
		check_message(argc, argv, err, sizeof(err));
	} else {
		check_options(&o);
		/* the same argv again, right after: the same options */
		rc2 = opts_parse(&o2, argc, argv, err2, sizeof(err2));
		FUZZ_ASSERT(rc2 == 0, "second parse of the same argv: %d %s", rc2, err2);
		/* times relative to now ("-15m", report's --to) may move on */
		o.at_ns = o2.at_ns = o.until_ns = o2.until_ns = 0;
		FUZZ_ASSERT(!memcmp(&o, &o2, sizeof(o)), "second parse of the same argv differs");
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = {NULL, "top", "slow", "serve"};
	char *buf = malloc(size + 1), *args[MAX_ARGS];
	int n = 0;
	size_t start = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	/* arguments end at NUL or newline; a trailing empty one is dropped */
	for (size_t i = 0; i <= size && n < MAX_ARGS; i++) {
		if (i < size && buf[i] != '\n' && buf[i] != 0)
			continue;
		if (i == size && i == start)
			break;
		buf[i] = 0;
		args[n++] = buf + start;
		start = i + 1;
	}
	for (size_t c = 0; c < ARRAY_SIZE(cmds); c++)
		parse_one(cmds[c], args, n);
	free(buf);
	return 0;
}

FUZZ_HARNESS_END
