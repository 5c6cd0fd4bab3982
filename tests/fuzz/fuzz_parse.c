// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The value parsers behind the options (user/util.c, prom_parse_bounds),
 * each on the input as a NUL-terminated string in a buffer of exactly its
 * size (so ASan sees any read past the NUL).
 *
 * Invariants: each returns only its documented codes and leaves its
 * outputs untouched on error; parse_uint and parse_pid_list agree with a
 * reference parser written here; parse_duration agrees with exact integer
 * arithmetic for plain integers with a unit and stays in (0, 366 days]
 * (util.h still says 1 day: the code and each option's own check are
 * what counts);
 * parse_addr_prefix and parse_listen accept only well-formed results
 * (family, prefix, zero host bits, port 1..65535) and accept their own
 * formatted output back; prom_parse_bounds gives strictly increasing
 * histogram bin bounds, at most PROM_MAX_BOUNDS, each the least bin bound
 * at or above the duration it was given; parse_time (--at, --from...) is
 * exactly now minus the duration for -DURATION, today for HH:MM[:SS],
 * and for a UTC RFC 3339 time the same date and time when formatted back
 * (no date normalised into another, no overflow of the nanoseconds).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "fuzz.h"
#include "hist.h"
#include "opts.h"
#include "prom.h"
#include "util.h"

FUZZ_HARNESS_BEGIN

#define SENTINEL	0x5a5a5a5a5a5a5a5aULL
#define MAX_DURATION_NS (366 * 86400000000000ULL)

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* decimal value of a digit string; false on overflow of uint64_t */
static bool ref_uint(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

static void check_uint(const char *s)
{
	static const uint64_t maxes[] = {0, 65535, 1000000000ULL, UINT64_MAX};

	for (size_t i = 0; i < ARRAY_SIZE(maxes); i++) {
		uint64_t out = SENTINEL, ref;
		int rc = parse_uint(s, maxes[i], &out);
		bool fits = all_digits(s) && ref_uint(s, strlen(s), &ref) && ref <= maxes[i];

		FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ERANGE, "parse_uint: %d", rc);
		FUZZ_ASSERT((rc == 0) == fits, "parse_uint('%s', %llu) = %d",
			    fuzz_show(s, strlen(s)), (unsigned long long)maxes[i], rc);
		if (rc == 0)
			FUZZ_ASSERT(out == ref, "parse_uint('%s') = %llu, want %llu",
				    fuzz_show(s, strlen(s)), (unsigned long long)out,
				    (unsigned long long)ref);
		else
			FUZZ_ASSERT(out == SENTINEL, "parse_uint changed its output on error");
		/* not a number at all is -EINVAL; a number too large is -ERANGE */
		if (rc && all_digits(s))
			FUZZ_ASSERT(rc == -ERANGE, "parse_uint('%s'): %d for a number too large",
				    fuzz_show(s, strlen(s)), rc);
	}
}

/* the pid list as the contract says: PID[,PID...], each in [1, 4194304] */
static int ref_pid_list(const char *s, uint32_t *pids, int cap)
{
	int n = 0;

	for (;;) {
		size_t len = strcspn(s, ",");
		uint64_t v;

		if (!len)
			return -EINVAL;
		for (size_t i = 0; i < len; i++)
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
		if (!ref_uint(s, len, &v) || v == 0 || v > 4194304)
			return -EINVAL;
		if (n == cap)
			return -E2BIG;
		pids[n++] = (uint32_t)v;
		if (!s[len])
			return n;
		s += len + 1;
	}
}

static void check_pid_list(const char *s)
{
	static const int caps[] = {1, 3, 64};

	for (size_t c = 0; c < ARRAY_SIZE(caps); c++) {
		uint32_t *pids = malloc(sizeof(*pids) * (size_t)caps[c]), ref[64];
		int n = parse_pid_list(s, pids, caps[c]);
		int want = ref_pid_list(s, ref, caps[c]);

		FUZZ_ASSERT(n == want, "parse_pid_list('%s', cap %d) = %d, want %d",
			    fuzz_show(s, strlen(s)), caps[c], n, want);
		FUZZ_ASSERT(n != 0, "an empty pid list accepted");
		for (int i = 0; i < n; i++) {
			FUZZ_ASSERT(pids[i] > 0 && pids[i] <= 4194304, "pid %u", pids[i]);
			FUZZ_ASSERT(pids[i] == ref[i], "pid %d: %u, want %u", i, pids[i], ref[i]);
		}
		free(pids);
	}
}

/* "<digits><unit>" with at most 12 digits: the exact value in ns, or false */
static bool ref_duration(const char *s, uint64_t def_unit, uint64_t *ns)
{
	static const struct {
		const char *sfx;
		uint64_t mult;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"\xc2\xb5s", 1000},
		     {"ms", 1000000},
		     {"s", 1000000000ULL},
		     {"m", 60000000000ULL},
		     {"h", 3600000000000ULL},
		     {"d", 86400000000000ULL}};
	size_t d = strspn(s, "0123456789");
	uint64_t v, mult = def_unit;

	if (!d || d > 12 || !ref_uint(s, d, &v))
		return false;
	if (s[d]) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(units); i++)
			if (!strcmp(s + d, units[i].sfx))
				break;
		if (i == ARRAY_SIZE(units))
			return false;
		mult = units[i].mult;
	}
	if (v > UINT64_MAX / mult) /* far out of range either way */
		v = UINT64_MAX / mult;
	*ns = v * mult;
	return true;
}

static void check_duration(const char *s)
{
	static const uint64_t units[] = {1, 1000000ULL, 1000000000ULL};

	for (size_t u = 0; u < ARRAY_SIZE(units); u++) {
		uint64_t ns = SENTINEL, want;
		int rc = parse_duration(s, units[u], &ns);

		FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ERANGE, "parse_duration: %d", rc);
		if (rc) {
			FUZZ_ASSERT(ns == SENTINEL, "parse_duration changed *ns on error");
		} else {
			FUZZ_ASSERT(ns >= 1 && ns <= MAX_DURATION_NS, "'%s' -> %llu ns",
				    fuzz_show(s, strlen(s)), (unsigned long long)ns);
			FUZZ_ASSERT((s[0] >= '0' && s[0] <= '9') || s[0] == '.',
				    "'%s' accepted as a duration", fuzz_show(s, strlen(s)));
		}
		/* exact for integers: the value in range iff accepted, and equal */
		if (ref_duration(s, units[u], &want)) {
			bool in_range = want >= 1 && want <= MAX_DURATION_NS;

			FUZZ_ASSERT((rc == 0) == in_range, "parse_duration('%s', %llu) = %d",
				    fuzz_show(s, strlen(s)), (unsigned long long)units[u], rc);
			FUZZ_ASSERT(rc || ns == want, "'%s' -> %llu ns, want %llu",
				    fuzz_show(s, strlen(s)), (unsigned long long)ns,
				    (unsigned long long)want);
		}
	}
}

static void check_addr_prefix(const char *s)
{
	uint8_t addr[16], addr2[16];
	unsigned int prefix = 999, prefix2;
	int fam = -1, fam2;
	char text[128], back[64];
	int rc = parse_addr_prefix(s, &fam, addr, &prefix);

	FUZZ_ASSERT(rc == 0 || rc == -EINVAL, "parse_addr_prefix: %d", rc);
	if (rc) {
		FUZZ_ASSERT(fam == -1 && prefix == 999, "outputs changed on error");
		return;
	}
	FUZZ_ASSERT(fam == AF_INET || fam == AF_INET6, "family %d", fam);
	FUZZ_ASSERT(prefix <= (fam == AF_INET ? 32u : 128u), "prefix %u", prefix);
	for (unsigned int i = prefix; i < (fam == AF_INET ? 32u : 128u); i++)
		FUZZ_ASSERT(!(addr[i / 8] & (0x80 >> (i % 8))), "host bit %u set in '%s'", i,
			    fuzz_show(s, strlen(s)));
	if (fam == AF_INET)
		for (int i = 4; i < 16; i++)
			FUZZ_ASSERT(!addr[i], "IPv4 address with bytes past the 4th");
	/* its own formatting parses back to the same */
	snprintf(text, sizeof(text), "%s/%u", fmt_addr(fam, addr, back, sizeof(back)), prefix);
	FUZZ_ASSERT(parse_addr_prefix(text, &fam2, addr2, &prefix2) == 0, "'%s' not re-parsed",
		    text);
	FUZZ_ASSERT(fam2 == fam && prefix2 == prefix && !memcmp(addr, addr2, 16),
		    "'%s' re-parsed differently", text);
}

static void check_listen(const char *s)
{
	struct sockaddr_storage ss, ss2;
	unsigned int len = 999, len2;
	char text[128], host[64];
	int rc = parse_listen(s, &ss, &len);

	FUZZ_ASSERT(rc == 0 || rc == -EINVAL, "parse_listen: %d", rc);
	if (rc) {
		FUZZ_ASSERT(len == 999, "*len changed on error");
		return;
	}
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ss;

		FUZZ_ASSERT(len == sizeof(*a), "len %u for IPv4", len);
		FUZZ_ASSERT(ntohs(a->sin_port) >= 1, "port 0 accepted: '%s'",
			    fuzz_show(s, strlen(s)));
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "%s:%u", host, ntohs(a->sin_port));
	} else {
		const struct sockaddr_in6 *a = (const void *)&ss;

		FUZZ_ASSERT(ss.ss_family == AF_INET6, "family %d", ss.ss_family);
		FUZZ_ASSERT(len == sizeof(*a), "len %u for IPv6", len);
		FUZZ_ASSERT(ntohs(a->sin6_port) >= 1, "port 0 accepted: '%s'",
			    fuzz_show(s, strlen(s)));
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "[%s]:%u", host, ntohs(a->sin6_port));
	}
	/* the port as written: no sign, no space, no junk (parse_uint's rules) */
	FUZZ_ASSERT(all_digits(strrchr(s, ':') + 1), "port of '%s' is not plain digits",
		    fuzz_show(s, strlen(s)));
	FUZZ_ASSERT(parse_listen(text, &ss2, &len2) == 0 && len2 == len && !memcmp(&ss, &ss2, len),
		    "'%s' (from '%s') not re-parsed the same", text, fuzz_show(s, strlen(s)));
}

static void check_bounds(const char *s)
{
	struct prom_opts o;
	char err[256];
	int rc;

	memset(&o, 0, sizeof(o));
	memset(err, 0, sizeof(err));
	rc = prom_parse_bounds(s, &o, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL, "prom_parse_bounds: %d", rc);
	if (rc) {
		/* one line, unless the value itself holds a newline (it is quoted
		 * as given: opts_parse's arguments come from a shell) */
		FUZZ_ASSERT(err[0] && (!strchr(err, '\n') || strchr(s, '\n')), "error message '%s'",
			    fuzz_show(err, strlen(err)));
		FUZZ_ASSERT(!strncmp(err, "invalid --buckets", 17), "message '%s' names no option",
			    fuzz_show(err, strlen(err)));
		return;
	}
	FUZZ_ASSERT(o.nbounds <= PROM_MAX_BOUNDS, "%zu bounds", o.nbounds);
	for (size_t i = 0; i < o.nbounds; i++) {
		uint64_t b = o.bounds_ns[i];

		FUZZ_ASSERT(hist_bucket_lo(hist_bucket(b)) == b, "bound %llu is not a bin bound",
			    (unsigned long long)b);
		FUZZ_ASSERT(!i || b > o.bounds_ns[i - 1], "bounds %llu then %llu",
			    (unsigned long long)o.bounds_ns[i - 1], (unsigned long long)b);
	}
	/* each bound is its item rounded up to the least bin bound at or above */
	{
		char *copy = strdup(s), *save = NULL, *tok;
		size_t i = 0;

		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
			uint64_t ns;

			FUZZ_ASSERT(i < o.nbounds, "more items than bounds");
			FUZZ_ASSERT(parse_duration(tok, 1000000000ULL, &ns) == 0,
				    "item not a duration");
			FUZZ_ASSERT(o.bounds_ns[i] >= ns, "bound below its item");
			FUZZ_ASSERT(hist_bucket(o.bounds_ns[i]) == 0 ||
					    hist_bucket_lo(hist_bucket(o.bounds_ns[i]) - 1) < ns,
				    "bound %llu not the least bin bound >= %llu",
				    (unsigned long long)o.bounds_ns[i], (unsigned long long)ns);
		}
		FUZZ_ASSERT(i == o.nbounds, "%zu items, %zu bounds", i, o.nbounds);
		free(copy);
	}
}

/* "YYYY-MM-DDTHH:MM:SS[.frac]Z", seconds below 60 (a leap second moves on) */
static bool rfc3339_utc(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; pat[i]; i++)
		if (pat[i] == 'd'   ? s[i] < '0' || s[i] > '9'
		    : pat[i] == 'T' ? !strchr("Tt ", s[i]) || !s[i]
				    : s[i] != pat[i])
			return false;
	if (s[17] >= '6')
		return false;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			;
	return (s[i] == 'Z' || s[i] == 'z') && !s[i + 1];
}

static void check_time(const char *s)
{
	const uint64_t now = 1800000000ULL * 1000000000ULL; /* 2027-01-15 */
	uint64_t out = SENTINEL, d;
	int rc = parse_time(s, now, &out);

	FUZZ_ASSERT(rc == 0 || rc == -EINVAL, "parse_time: %d", rc);
	if (rc) {
		FUZZ_ASSERT(out == SENTINEL, "parse_time changed *out on error");
		return;
	}
	if (s[0] == '-') {
		FUZZ_ASSERT(parse_duration(s + 1, 1000000000ULL, &d) == 0 && d <= now &&
				    out == now - d,
			    "'%s' -> %llu", fuzz_show(s, strlen(s)), (unsigned long long)out);
	} else if (s[0] >= '0' && s[0] <= '9' && (s[1] == ':' || s[2] == ':')) {
		FUZZ_ASSERT(out + 90000000000000ULL > now && out < now + 90000000000000ULL,
			    "'%s' is not today: %llu", fuzz_show(s, strlen(s)),
			    (unsigned long long)out);
	} else if (rfc3339_utc(s)) {
		char back[64];

		fmt_rfc3339(out, back, sizeof(back));
		FUZZ_ASSERT(!strncmp(back, s, 10) && !strncmp(back + 11, s + 11, 8),
			    "'%s' parsed as %s", fuzz_show(s, strlen(s)), back);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (strlen(s) == size) { /* a string with a NUL inside is two inputs in one */
		check_uint(s);
		check_pid_list(s);
		check_duration(s);
		check_addr_prefix(s);
		check_listen(s);
		check_bounds(s);
		check_time(s);
	}
	free(s);
	return 0;
}

FUZZ_HARNESS_END
