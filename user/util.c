// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "util.h"

int parse_duration(const char *s, uint64_t def_unit_ns, uint64_t *ns)
{
	static const struct {
		const char *sfx;
		double mult;
	} units[] = {
		{"ns", 1},  {"us", 1e3}, {"µs", 1e3},	{"ms", 1e6},
		{"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9},
	};
	char *end;
	double v, mult = (double)def_unit_ns;
	size_t i;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s)
		return -EINVAL;
	/* reject hex floats and "inf"/"nan" that strtod would take */
	for (const char *p = s; p < end; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return -EINVAL;
	if (errno == ERANGE || !isfinite(v))
		return v == 0 ? -EINVAL : -ERANGE;
	if (*end) {
		for (i = 0; i < ARRAY_SIZE(units); i++)
			if (!strcmp(end, units[i].sfx))
				break;
		if (i == ARRAY_SIZE(units))
			return -EINVAL;
		mult = units[i].mult;
	}
	v *= mult;
	if (v < 1 || v > 366 * 86400e9) /* each option checks its own range */
		return -ERANGE;
	*ns = (uint64_t)(v + 0.5);
	return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_pid_list(const char *s, uint32_t *pids, int cap)
{
	int n = 0;

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		char *end;
		unsigned long v;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || v == 0 || v > 4194304 /* PID_MAX_LIMIT */)
			return -EINVAL;
		if (*end != ',' && *end)
			return -EINVAL;
		if (n == cap)
			return -E2BIG;
		pids[n++] = (uint32_t)v;
		if (!*end)
			return n;
		s = end + 1;
	}
}

char *fmt_duration(double ns, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {
		{"us", 1e3},
		{"ms", 1e6},
		{"s", 1e9},
	};
	size_t i;

	if (!isfinite(ns))
		return snprintf(buf, len, "-"), buf;
	/* pick the unit after rounding, so 999.6ns prints as 1.00us */
	if (ns < 999.5) {
		snprintf(buf, len, "%.0fns", ns < 0 ? 0 : ns);
		return buf;
	}
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		double x = ns / units[i].scale;
		bool last = i == ARRAY_SIZE(units) - 1;

		if (x < 9.995)
			snprintf(buf, len, "%.2f%s", x, units[i].unit);
		else if (x < 99.95)
			snprintf(buf, len, "%.1f%s", x, units[i].unit);
		else if (x < 999.5 || last)
			snprintf(buf, len, "%.0f%s", x, units[i].unit);
		else
			continue;
		break;
	}
	return buf;
}

char *fmt_count(uint64_t n, char *buf, size_t len)
{
	if (n < 100000)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else if (n < 999950)
		snprintf(buf, len, "%.1fk", n / 1e3);
	else if (n < 999950000ULL)
		snprintf(buf, len, "%.1fM", n / 1e6);
	else
		snprintf(buf, len, "%.1fG", n / 1e9);
	return buf;
}

char *fmt_rfc3339(uint64_t realtime_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(realtime_ns / 1000000000ULL);
	unsigned ms = (unsigned)(realtime_ns % 1000000000ULL / 1000000);
	struct tm tm;
	char tmp[32];

	gmtime_r(&sec, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", tmp, ms);
	return buf;
}

int parse_addr_prefix(const char *s, int *family, uint8_t addr[16], unsigned int *prefix)
{
	char buf[64], *slash;
	unsigned int bits, max;
	uint8_t a[16] = {};
	int fam;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, a) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		fam = AF_INET6;
	else
		return -EINVAL;
	max = fam == AF_INET ? 32 : 128;
	bits = max;
	if (slash) {
		uint64_t v;

		if (parse_uint(slash + 1, max, &v))
			return -EINVAL;
		bits = (unsigned int)v;
	}
	for (unsigned int i = bits; i < max; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	*family = fam;
	memcpy(addr, a, 16);
	*prefix = bits;
	return 0;
}

char *fmt_addr(int family, const uint8_t addr[16], char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int array_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

char *fmt_safe(const char *s, size_t n, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!len)
		return buf;
	for (size_t i = 0; s && i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= len)
				break;
			buf[o++] = (char)c;
			continue;
		}
		if (o + 4 >= len)
			break;
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 15];
	}
	buf[o] = 0;
	return buf;
}

int stream_error(FILE *f)
{
	if (!ferror(f))
		return 0;
	return errno ? -errno : -EIO;
}

int parse_listen(const char *s, struct sockaddr_storage *ss, unsigned int *len)
{
	char host[64];
	const char *colon;
	uint64_t port;
	bool v6 = s[0] == '[';
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (!n || n >= sizeof(host) || parse_uint(colon + 1, 65535, &port) || !port)
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = 0;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

char *fmt_endpoint(int family, const uint8_t addr[16], unsigned int port, char *buf, size_t len)
{
	char a[64];

	fmt_addr(family, addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}
