/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Turning numbers into names: syscalls, errnos, comms, cgroup paths. */
#ifndef LATSCOPE_NAMES_H
#define LATSCOPE_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Name of syscall nr from the build host's headers (or of a waiting kind,
 * LS_NR_FUTEX_WAIT: "futex_wait", LS_NR_URING_WAIT: "io_uring_wait"), or
 * NULL if unknown. */
const char *syscall_name(unsigned int nr);
/* Number of a syscall name, or -1. */
int syscall_nr(const char *name);

/*
 * Symbolic errno ("ENOENT"), including the kernel-internal restart codes a
 * syscall exit can show (ERESTARTSYS...), else "E<n>". Returns buf.
 */
const char *errno_name(int err, char *buf, size_t len);

struct names;

/* NULL with errno set on allocation failure. */
struct names *names__new(void);
void names__free(struct names *n);

/* fills out (LS_COMM_LEN bytes) with the comm BPF recorded, "" if none */
typedef void (*comm_fallback_fn)(uint32_t pid, uint32_t tid, char *out, void *ctx);

/*
 * comm of a process (tid == 0) or thread, read from /proc and cached for a
 * few seconds. Only when the task is gone is fallback (may be NULL) asked
 * for the comm BPF saw; the answer is remembered for 30 s, after which
 * /proc is asked again (the pid may have been reused). The cache is bounded
 * (16384 entries, expired ones evicted first). Never NULL; "?" when
 * unknown.
 */
const char *names__comm(struct names *n, uint32_t pid, uint32_t tid, comm_fallback_fn fallback,
			void *ctx);

/* entries in the comm cache, and (if evictions) how many were evicted so
 * far: the cache holds at most a bounded number */
size_t names__comm_len(const struct names *n, uint64_t *evictions);

/*
 * Path of a cgroup v2 id relative to the cgroup2 mount ("/" for the root,
 * "/system.slice/ssh.service"), found by walking the hierarchy (rescanned
 * at most once a second on a miss). Never NULL; "" when unknown.
 */
const char *names__cgroup(struct names *n, uint64_t cgid);

/*
 * A readable service name for a cgroup path: the container id shortened to
 * 12 hex digits when the last component holds one ("docker-<64 hex>.scope"
 * -> "<12 hex>"), else the systemd unit ("ssh.service", "session-3.scope"),
 * else the path itself. Returns buf.
 */
const char *service_name(const char *cgroup, char *buf, size_t len);

/* Mount point of the cgroup2 hierarchy ("/sys/fs/cgroup"), or NULL. */
const char *cgroup2_mount(void);

/* --cgroup PATH relative to the cgroup2 mount, with a leading '/' (static buffer) */
const char *cgroup_rel(const char *path);

/*
 * Open --cgroup PATH, absolute or relative to the cgroup2 mount, or a unit
 * or container name ("nginx.service": the one cgroup of that name, up to 6
 * levels deep). Puts its path relative to the mount in rel. Returns an fd,
 * or -ENOENT/-EINVAL with a one-line message naming the option in err.
 */
int cgroup_open(const char *path, char *rel, size_t rel_len, char *err, size_t len);

#endif
