/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a syscall is, beyond its number: an idle wait (blocking means
 * waiting for work, DESIGN.md section 4), and where its fd is. One table,
 * shared by `slow` (which leaves idle waits out) and the views of `top`.
 */
#ifndef LATSCOPE_SYSCLASS_H
#define LATSCOPE_SYSCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "latscope.h"

/* Is the syscall called name an idle wait? futex and io_uring_enter are
 * by their arguments: their waiting kinds are keyed apart in the kernel as
 * futex_wait and io_uring_wait (LS_NR_*_WAIT), which are. */
bool sysclass_idle(const char *name);

/*
 * The per-syscall bytes of bpf/slow.bpf.h (enum ls_sys_class) into cls:
 * idle waits hidden unless all; with pick (a comma-separated list of
 * syscall names, NULL for every syscall) every other syscall hidden and
 * the named ones shown even when idle. 0, or -EINVAL with a one-line
 * message naming the unknown syscall in err.
 */
int sysclass_build(uint8_t cls[LS_MAX_SYSCALL], bool all, const char *pick, char *err, size_t len);

/* The name of a call: the syscall's (futex_wait, io_uring_wait for the
 * waiting kinds), else "syscall_N". Returns buf or a static string. */
const char *sysclass_call_name(unsigned int nr, char *buf, size_t len);

#endif
