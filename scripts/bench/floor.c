// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loader for the bench floors (floor.bpf.c): `floor` loads and attaches
 * the do-nothing pair, `floor timing` the timing floor; prints
 * "latscope-floor: attached" on stderr and holds them until SIGINT/SIGTERM.
 * Built by scripts/bench.sh into build/bench/floor.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	bool timing = argc > 1 && !strcmp(argv[1], "timing");
	struct floor_bpf *skel;
	int err;

	libbpf_set_print(quiet);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	skel = floor_bpf__open();
	if (skel) {
		bpf_program__set_autoload(skel->progs.floor_sys_enter, !timing);
		bpf_program__set_autoload(skel->progs.floor_sys_exit, !timing);
		bpf_program__set_autoload(skel->progs.timing_sys_enter, timing);
		bpf_program__set_autoload(skel->progs.timing_sys_exit, timing);
		if (floor_bpf__load(skel)) {
			floor_bpf__destroy(skel);
			skel = NULL;
		}
	}
	if (!skel) {
		err = -errno;
		fprintf(stderr, "latscope-floor: cannot load floor.bpf.o: %s\n", strerror(-err));
		return 1;
	}
	err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "latscope-floor: cannot attach: %s\n", strerror(-err));
		goto cleanup;
	}
	fprintf(stderr, "latscope-floor: attached\n");
	while (!stop)
		pause();
cleanup:
	floor_bpf__destroy(skel);
	return err ? 1 : 0;
}
