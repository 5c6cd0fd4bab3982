/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Small pure helpers: parsing and formatting. No I/O, no globals. */
#ifndef LATSCOPE_UTIL_H
#define LATSCOPE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Parse a duration such as "10ms", "500us", "1.5s", "250ns", "10m", "1h",
 * "7d". A bare number means def_unit_ns units (e.g. 1e9 for seconds). On
 * success stores nanoseconds in *ns and returns 0; returns -EINVAL on
 * malformed input and -ERANGE when the value is not in (0, 366 days] (each
 * option then checks its own range). *ns is untouched on error.
 */
int parse_duration(const char *s, uint64_t def_unit_ns, uint64_t *ns);

/*
 * Parse a non-negative decimal integer no larger than max (callers that
 * need a positive one check for zero). Returns 0 or -EINVAL
 * (not a number, trailing junk) or -ERANGE.
 */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * Parse "PID[,PID...]" into pids (at most cap). Returns the number parsed,
 * or -EINVAL on a malformed or zero/negative pid, -E2BIG when more than cap.
 */
int parse_pid_list(const char *s, uint32_t *pids, int cap);

/*
 * Format nanoseconds with an auto-scaled unit ("850ns", "12.3us", "4.50ms",
 * "1.20s") into buf, the unit chosen after rounding; "-" for NaN/inf.
 * Always NUL-terminates. Returns buf.
 */
char *fmt_duration(double ns, char *buf, size_t len);

/* Format a count compactly: exact below 100000, then "123.5k", "4.5M",
 * "1.2G". Returns buf. */
char *fmt_count(uint64_t n, char *buf, size_t len);

/*
 * Terminal-safe copy of the string s (at most n bytes, NUL ends it) into
 * buf: bytes outside printable ASCII and the backslash are written as
 * \xNN, so a traced host cannot send escape sequences to the operator's
 * terminal. Always NUL-terminates (cut at a whole escape). Returns buf.
 */
char *fmt_safe(const char *s, size_t n, char *buf, size_t len);

/* RFC 3339 UTC time with milliseconds from a CLOCK_REALTIME ns value. */
char *fmt_rfc3339(uint64_t realtime_ns, char *buf, size_t len);

/*
 * Parse "ADDR[/PREFIX]" (IPv4 or IPv6). Stores the family (AF_INET or
 * AF_INET6), the address bytes (network order, IPv4 in the first 4) and
 * the prefix length (default: the whole address). Host bits beyond the
 * prefix must be zero ("10.0.0.1/8" is rejected as ambiguous). Returns 0 or
 * -EINVAL.
 */
int parse_addr_prefix(const char *s, int *family, uint8_t addr[16], unsigned int *prefix);

/* After writing to f: 0, or -errno of the failed write (-EIO if unknown).
 * -EPIPE means the reader went away. */
int stream_error(FILE *f);

struct sockaddr_storage;
/*
 * Parse a listen address "IPV4:PORT" or "[IPV6]:PORT" (port 1..65535; no
 * host names, no bare ":PORT": all interfaces must be asked for as
 * 0.0.0.0 or [::]). Fills *ss and *len. 0 or -EINVAL.
 */
int parse_listen(const char *s, struct sockaddr_storage *ss, unsigned int *len);

/* "10.0.0.2:8080", "[::1]:443": an address and port as text. Returns buf. */
char *fmt_endpoint(int family, const uint8_t addr[16], unsigned int port, char *buf, size_t len);

/* Format a family/address as text ("10.0.0.1", "::1"). Returns buf. */
char *fmt_addr(int family, const uint8_t addr[16], char *buf, size_t len);

/*
 * Make room for need elements of elem bytes in *p (capacity *cap, doubled
 * as needed). Returns 0, or -ENOMEM with *p and *cap unchanged.
 */
int array_grow(void **p, size_t *cap, size_t need, size_t elem);

/* Counter delta that tolerates a reset (cur < prev means the key restarted). */
static inline uint64_t counter_delta(uint64_t prev, uint64_t cur)
{
	return cur >= prev ? cur - prev : cur;
}

#endif
