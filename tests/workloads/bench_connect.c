// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP path cost probe for scripts/bench.sh: a loopback connect/accept/close
 * loop for SECONDS, then prints connections per second.
 * Usage: bench_connect [SECONDS] (default 2, fractions allowed)
 *
 * A thread accepts and closes at once; the main thread connects, waits for
 * the EOF and closes. The server side closing first puts TIME_WAIT on the
 * listener's side, so the client never runs out of ephemeral ports however
 * many connections a run makes (a SYN reusing a 4-tuple recycles the
 * TIME_WAIT socket). Every connection is a full handshake and a FIN in each
 * direction: no RST, nothing a TCP collector would count as trouble.
 * The bench pins it to one CPU (taskset -c N): with the two threads on
 * different CPUs the rate swings 4x with where the scheduler puts them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listen_fd;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* listener shut down: the run is over */
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2, t0, t1;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	long conns = 0, errors = 0;
	pthread_t th;
	char c;

	if (secs <= 0) {
		fprintf(stderr, "bench_connect: invalid duration '%s'\n", argv[1]);
		return 2;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 4096) || getsockname(listen_fd, (struct sockaddr *)&sa, &len)) {
		perror("bench_connect: listen on 127.0.0.1");
		return 1;
	}
	if (pthread_create(&th, NULL, server, NULL)) {
		fprintf(stderr, "bench_connect: cannot start the accept thread\n");
		return 1;
	}
	t0 = now_s();
	do {
		/* check the clock every 64 connections, not on every one */
		for (int i = 0; i < 64; i++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);

			if (fd < 0) {
				perror("bench_connect: socket");
				return 1;
			}
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
				errors++;
			} else {
				/* 0 (EOF) once the server has closed its end */
				while (read(fd, &c, 1) < 0 && errno == EINTR)
					;
				conns++;
			}
			close(fd);
		}
		t1 = now_s();
	} while (t1 - t0 < secs);
	shutdown(listen_fd, SHUT_RDWR);
	pthread_join(th, NULL);
	if (errors)
		fprintf(stderr, "bench_connect: %ld failed connects\n", errors);
	if (!conns)
		return 1;
	printf("%.0f\n", conns / (t1 - t0));
	return 0;
}
