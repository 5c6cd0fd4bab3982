/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Dropping the privileges the agent no longer needs once it is attached. */
#ifndef LATSCOPE_PRIVS_H
#define LATSCOPE_PRIVS_H

#include <stdbool.h>

/*
 * Drop capabilities once attached, and set no_new_privs. Reading and
 * deleting map elements through fds the process already holds, consuming
 * the ring buffer and reading program info is all that is left to do: on
 * recent kernels that needs no capability at all, older ones refuse it
 * without CAP_BPF when unprivileged BPF is disabled. So probe rather than
 * compare versions: works() runs in a child process with every capability
 * dropped; when it returns true the agent drops them all, else it keeps
 * CAP_BPF (CAP_SYS_ADMIN on kernels without CAP_BPF). Attached programs
 * and links stay as they are (they are owned by fds). Returns 0 or -errno;
 * *kept says whether a capability was kept.
 */
int privs_drop(bool (*works)(void *ctx), void *ctx, bool *kept);

#endif
