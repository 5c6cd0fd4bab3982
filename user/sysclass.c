// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "names.h"
#include "sysclass.h"
#include "util.h"

/* blocking in these means waiting for work (README, Idle waits) */
static const char *const idle_waits[] = {
	"epoll_wait",	   "epoll_pwait",   "epoll_pwait2",  "poll",
	"ppoll",	   "select",	    "pselect6",	     "nanosleep",
	"clock_nanosleep", "pause",	    "rt_sigsuspend", "rt_sigtimedwait",
	"wait4",	   "waitid",	    "accept",	     "accept4",
	"io_getevents",	   "io_pgetevents", "futex_waitv",   "msgrcv",
	"semtimedop",	   "futex_wait",    "io_uring_wait",
};

/* the first argument is an fd */
static const char *const fd_arg0[] = {
	"read",		  "write",	     "pread64",	 "pwrite64",   "readv",
	"writev",	  "preadv",	     "pwritev",	 "preadv2",    "pwritev2",
	"recvfrom",	  "sendto",	     "recvmsg",	 "sendmsg",    "recvmmsg",
	"sendmmsg",	  "connect",	     "fsync",	 "fdatasync",  "sync_file_range",
	"ftruncate",	  "fallocate",	     "flock",	 "getdents64", "ioctl",
	"sendfile",	  "splice",	     "tee",	 "epoll_wait", "epoll_pwait",
	"epoll_pwait2",	  "epoll_ctl",	     "shutdown", "lseek",      "fcntl",
	"io_uring_enter", "copy_file_range", "fstat",	 "newfstatat", "getsockopt",
	"setsockopt",	  "io_uring_wait",
};

/* a non-negative return is a new fd (resolved at exit) */
static const char *const fd_ret[] = {
	"open", "openat", "openat2", "creat", "accept", "accept4",
};

static bool in(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

bool sysclass_idle(const char *name)
{
	return in(idle_waits, ARRAY_SIZE(idle_waits), name);
}

/* is name in the comma-separated list? */
static bool picked(const char *list, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *e = strchrnul(p, ',');

		if ((size_t)(e - p) == l && !strncmp(p, name, l))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

int sysclass_build(uint8_t cls[LS_MAX_SYSCALL], bool all, const char *pick, char *err, size_t len)
{
	/* every name asked for must be a syscall (or a waiting kind) */
	for (const char *p = pick; p && *p;) {
		const char *e = strchrnul(p, ',');
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)(e - p), p);
		if (syscall_nr(name) < 0) {
			snprintf(err, len, "invalid --syscall '%s': no syscall called '%s'", pick,
				 name);
			return -EINVAL;
		}
		p = *e ? e + 1 : e;
	}
	for (unsigned int nr = 0; nr < LS_MAX_SYSCALL; nr++) {
		const char *name = syscall_name(nr);
		uint8_t c = 0;

		if (name && in(fd_arg0, ARRAY_SIZE(fd_arg0), name))
			c |= LS_SC_FD_ARG0;
		if (name && in(fd_ret, ARRAY_SIZE(fd_ret), name))
			c |= LS_SC_FD_RET;
		if (pick ? !name || !picked(pick, name) : !all && name && sysclass_idle(name))
			c |= LS_SC_HIDE;
		cls[nr] = c;
	}
	return 0;
}

const char *sysclass_call_name(unsigned int nr, char *buf, size_t len)
{
	const char *name = syscall_name(nr);

	if (name)
		return name;
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}
