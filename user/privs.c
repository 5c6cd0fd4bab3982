// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "privs.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

int privs_drop(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	int keep = prctl(PR_CAPBSET_READ, CAP_BPF, 0, 0, 0) >= 0 ? CAP_BPF : CAP_SYS_ADMIN;

	memset(d, 0, sizeof(d));
	d[keep / 32].effective = d[keep / 32].permitted = 1u << (keep % 32);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}
