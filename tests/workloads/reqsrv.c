// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Request/response workloads with known ground truth, for
 * tests/e2e/test_requests.py.
 *
 *   reqsrv serve PORT     keep-alive HTTP/1.1-ish server on 127.0.0.1:PORT,
 *                         one connection at a time. "GET /sleep/MS" is
 *                         answered after MS milliseconds (headers and body
 *                         in two writes); "GET /hang" is never answered.
 *                         Prints "listening", then for every answered
 *                         request "req US": its own timing, from the first
 *                         read of the request to the last write of the
 *                         answer (what the requests collector measures).
 *   reqsrv get PORT MS[,MS...] [halfclose]
 *                         one connection, one request per MS in order, each
 *                         answer read whole before the next request;
 *                         halfclose: only the first request, then
 *                         shutdown(SHUT_WR), then its answer. Prints
 *                         "done N".
 *   reqsrv pingpong N     N loopback round trips in one thread; prints
 *                         "ns_per_round_trip X" (the cost probe of the
 *                         README's Requests section)
 *   reqsrv hang PORT HOLD_MS
 *                         one connection, one request never answered,
 *                         closed after HOLD_MS. Prints "done 1".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "reqsrv: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* serve one connection until EOF */
static void serve_conn(int fd)
{
	char buf[4096];
	size_t have = 0;
	double t0 = 0;

	for (;;) {
		char *end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;

		if (!end) {
			ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);

			if (n <= 0)
				return;
			if (!have)
				t0 = now_us(); /* the request's first read */
			have += (size_t)n;
			continue;
		}
		{
			size_t used = (size_t)(end + 4 - buf);
			char hdr[128], body[64];
			int ms = -1, bl, hl;

			buf[have] = 0;
			if (sscanf(buf, "GET /sleep/%d", &ms) != 1) {
				/* /hang: read on, never answer */
				memmove(buf, buf + used, have - used);
				have -= used;
				continue;
			}
			sleep_ms(ms);
			bl = snprintf(body, sizeof(body), "slept %d\n", ms);
			hl = snprintf(hdr, sizeof(hdr),
				      "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", bl);
			if (write_all(fd, hdr, (size_t)hl) || write_all(fd, body, (size_t)bl))
				return;
			printf("req %.1f\n", now_us() - t0);
			fflush(stdout);
			memmove(buf, buf + used, have - used);
			have -= used;
			if (have)
				t0 = now_us(); /* pipelined: not what the tests send */
		}
	}
}

static _Noreturn void serve(int port)
{
	struct sockaddr_in a = loopback(port);
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16))
		die("bind/listen");
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(ls, NULL, NULL);

		if (fd < 0)
			die("accept");
		/* the answer is two writes: without this, Nagle holds the second
		 * until the client's delayed ACK (~40 ms), which the client then
		 * rightly sees as latency the server never measured */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		serve_conn(fd);
		close(fd);
	}
}

static int dial(int port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

/* read one answer: headers, then Content-Length bytes; 0 or -1 */
static int read_answer(int fd)
{
	char buf[4096];
	size_t have = 0;
	char *end;
	int len;

	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end &&
		    sscanf(strstr(buf, "Content-Length:") ? strstr(buf, "Content-Length:") : "x",
			   "Content-Length: %d", &len) == 1 &&
		    have >= (size_t)(end + 4 - buf) + (size_t)len)
			return 0;
	}
}

static void send_get(int fd, int ms)
{
	char req[128];
	int l = snprintf(req, sizeof(req), "GET /sleep/%d HTTP/1.1\r\nHost: x\r\n\r\n", ms);

	if (write_all(fd, req, (size_t)l))
		die("write");
}

static int get(int port, char *list, int halfclose)
{
	int fd = dial(port), n = 0;

	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		send_get(fd, atoi(tok));
		if (halfclose) /* one request, then our FIN */
			shutdown(fd, SHUT_WR);
		if (read_answer(fd))
			die("read answer");
		n++;
		if (halfclose)
			break;
	}
	close(fd);
	printf("done %d\n", n);
	return 0;
}

static int hang(int port, int hold_ms)
{
	int fd = dial(port);
	static const char req[] = "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n";

	if (write_all(fd, req, sizeof(req) - 1))
		die("write");
	sleep_ms(hold_ms);
	close(fd);
	printf("done 1\n");
	return 0;
}

/* N loopback round trips of 64 bytes over one connection, both ends in
 * this thread (no context switch: the cost of the hooks, not of waking) */
static int pingpong(long n)
{
	struct sockaddr_in a = loopback(0);
	socklen_t al = sizeof(a);
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0), c, s;
	char buf[64] = {0};
	double t0;

	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &al))
		die("listen");
	c = dial(ntohs(a.sin_port));
	s = accept(ls, NULL, NULL);
	if (s < 0)
		die("accept");
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		if (write(c, buf, sizeof(buf)) != sizeof(buf) ||
		    read(s, buf, sizeof(buf)) != sizeof(buf) ||
		    write(s, buf, sizeof(buf)) != sizeof(buf) ||
		    read(c, buf, sizeof(buf)) != sizeof(buf))
			die("round trip");
	}
	printf("ns_per_round_trip %.1f\n", (now_us() - t0) * 1e3 / n);
	close(c);
	close(s);
	close(ls);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		serve(atoi(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "get"))
		return get(atoi(argv[2]), argv[3], argc > 4 && !strcmp(argv[4], "halfclose"));
	if (argc >= 3 && !strcmp(argv[1], "pingpong"))
		return pingpong(atol(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "hang"))
		return hang(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: reqsrv serve PORT | get PORT MS[,MS...] [halfclose] | "
			"hang PORT HOLD_MS\n");
	return 2;
}
