/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Dropping the privileges the agent no longer needs once it is attached. */
#ifndef LATSCOPE_PRIVS_H
#define LATSCOPE_PRIVS_H

/*
 * Reduce the effective, permitted and inheritable capability sets to
 * CAP_BPF alone (CAP_SYS_ADMIN on kernels without CAP_BPF): reading and
 * deleting map elements through fds the process already holds is all that
 * is left to do, and kernels before 6.5 refuse even that without CAP_BPF
 * when unprivileged BPF is disabled. Also sets no_new_privs. Attached
 * programs and links stay as they are (they are owned by fds). Returns 0 or
 * -errno.
 */
int privs_drop(void);

#endif
