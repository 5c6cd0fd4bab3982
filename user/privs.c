// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "privs.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* keep only capability keep (-1: none) */
static int cap_keep(int keep)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (keep >= 0)
		d[keep / 32].effective = d[keep / 32].permitted = 1u << (keep % 32);
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* does works() succeed at CapEff 0? (in a child: a drop cannot be undone) */
static bool works_unprivileged(bool (*works)(void *ctx), void *ctx)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (!pid)
		_exit(!cap_keep(-1) && works(ctx) ? 0 : 1);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int privs_drop(bool (*works)(void *ctx), void *ctx, bool *kept)
{
	int keep = prctl(PR_CAPBSET_READ, CAP_BPF, 0, 0, 0) >= 0 ? CAP_BPF : CAP_SYS_ADMIN;
	int err;

	*kept = !works || !works_unprivileged(works, ctx);
	if ((err = cap_keep(*kept ? keep : -1)))
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}
