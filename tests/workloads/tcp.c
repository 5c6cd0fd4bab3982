// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP workloads with known ground truth, for tests/e2e/test_tcp.py.
 *
 *   tcp connect ADDR PORT N HOLD_MS   N sequential connects; each connection
 *                                     is held HOLD_MS, then closed; reports
 *                                     each connect's duration and errno
 *   tcp bulk ADDR PORT BYTES          one connection sending BYTES
 *   tcp serve PORT MODE               accept loop; MODE: sink (read until
 *                                     EOF), rst (close at once with
 *                                     SO_LINGER 0, sending a reset), unread
 *                                     (wait for data, close without reading)
 *
 * Protocol: prints "pid N", waits for a line on stdin (serve: starts at
 * once, after listen()), runs, prints one JSON line, then waits for EOF or
 * "exit" on stdin. IPv4 or IPv6 addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void wait_line(void)
{
	char buf[64];

	if (!fgets(buf, sizeof(buf), stdin))
		return;
}

static socklen_t make_addr(const char *host, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		return sizeof(*a6);
	}
	fprintf(stderr, "tcp: bad address '%s'\n", host);
	exit(2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int do_connect(const char *host, int port, int n, int hold_ms)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	double *ok = calloc(n, sizeof(double)), *all = calloc(n, sizeof(double));
	int nok = 0, refused = 0, other = 0, i;

	if (!ok || !all)
		return 1;
	for (i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);
		double t0 = now_us(), dt;
		int r = connect(fd, (struct sockaddr *)&ss, len);

		dt = now_us() - t0;
		all[i] = dt;
		if (r == 0) {
			ok[nok++] = dt;
			if (hold_ms)
				usleep(hold_ms * 1000);
		} else if (errno == ECONNREFUSED) {
			refused++;
		} else {
			other++;
		}
		close(fd);
	}
	qsort(ok, nok, sizeof(double), cmp_double);
	printf("{\"mode\":\"connect\",\"pid\":%d,\"attempts\":%d,\"ok\":%d,\"refused\":%d,"
	       "\"other_errors\":%d,\"connect_median_us\":%.1f,\"connect_us\":[",
	       getpid(), n, nok, refused, other, nok ? ok[nok / 2 - (nok % 2 == 0)] : 0.0);
	for (i = 0; i < n; i++)
		printf("%s%.1f", i ? "," : "", all[i]);
	printf("]}\n");
	fflush(stdout);
	free(ok);
	free(all);
	return 0;
}

static int do_bulk(const char *host, int port, long bytes)
{
	static char buf[65536];
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	long sent = 0;
	double t0;

	if (connect(fd, (struct sockaddr *)&ss, len)) {
		perror("connect");
		return 1;
	}
	t0 = now_us();
	while (sent < bytes) {
		ssize_t w =
			write(fd, buf,
			      bytes - sent < (long)sizeof(buf) ? bytes - sent : (long)sizeof(buf));

		if (w <= 0) {
			perror("write");
			return 1;
		}
		sent += w;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0) /* until the server closes */
		;
	close(fd);
	printf("{\"mode\":\"bulk\",\"pid\":%d,\"bytes\":%ld,\"seconds\":%.3f}\n", getpid(), sent,
	       (now_us() - t0) / 1e6);
	fflush(stdout);
	return 0;
}

static int do_serve(int port, const char *mode)
{
	struct sockaddr_in6 a = {
		.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
	int one = 1, zero = 0, lfd = socket(AF_INET6, SOCK_STREAM, 0), accepted = 0;
	struct pollfd p[2];

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 128)) {
		perror("bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
	p[1] = (struct pollfd){.fd = 0, .events = POLLIN};
	for (;;) {
		static char buf[65536];
		int fd;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) /* the harness says stop */
			break;
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		accepted++;
		if (!strcmp(mode, "rst")) {
			struct linger l = {.l_onoff = 1, .l_linger = 0};

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		} else if (!strcmp(mode, "unread")) {
			struct pollfd q = {.fd = fd, .events = POLLIN};

			poll(&q, 1, 2000); /* data arrived, left unread */
		} else {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		}
		close(fd);
	}
	printf("{\"mode\":\"serve\",\"pid\":%d,\"accepted\":%d}\n", getpid(), accepted);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int err;

	printf("pid %d\n", getpid());
	fflush(stdout);
	if (!strcmp(mode, "connect") && argc == 6) {
		wait_line();
		err = do_connect(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	} else if (!strcmp(mode, "bulk") && argc == 5) {
		wait_line();
		err = do_bulk(argv[2], atoi(argv[3]), atol(argv[4]));
	} else if (!strcmp(mode, "serve") && argc == 4) {
		return do_serve(atoi(argv[2]), argv[3]);
	} else {
		fprintf(stderr, "usage: tcp connect ADDR PORT N HOLD_MS | bulk ADDR PORT BYTES | "
				"serve PORT MODE\n");
		return 2;
	}
	if (err)
		return err;
	wait_line();
	return 0;
}
