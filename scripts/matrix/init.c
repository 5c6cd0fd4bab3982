// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * PID 1 of the kernel-matrix guests (scripts/kernel-matrix.sh), linked
 * statically into a tiny initramfs next to the guest kernel's modules.
 *
 * Debian's 6.1 kernels build virtio and 9p as modules, so the host root,
 * shared read-only over virtio-9p, cannot be the root device directly. This
 * init loads /modules/ *.ko in name order (the script numbers them in
 * dependency order), mounts the share on /root, switches into it, gives the
 * test a writable /run and /tmp, the usual pseudo file systems and an up
 * loopback, runs the program named by the kernel parameter lt_init= (the
 * kernel hands parameters without a dot to init as environment variables),
 * reaps everything, and powers the machine off: PID 1 must never exit, that
 * panics the guest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MOD_DIR	 "/modules"
#define NEW_ROOT "/root"
/* 9p: bigger messages mean fewer round trips through the emulated device;
 * the share is read-only, so the page cache cannot go stale under us */
#define P9_OPTS "trans=virtio,version=9p2000.L,msize=262144,cache=loose"

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("lt-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* not reached; never return from PID 1 */
	for (;;)
		pause();
}

static void die(const char *what)
{
	say("cannot %s: %s; powering off", what, strerror(errno));
	power_off();
}

static int mount_one(const char *src, const char *dst, const char *type, unsigned long flags,
		     const char *opts)
{
	mkdir(dst, 0755); /* fails harmlessly when it exists or the fs is read-only */
	if (mount(src, dst, type, flags, opts) && errno != EBUSY) {
		say("cannot mount %s on %s: %s", type, dst, strerror(errno));
		return -errno;
	}
	return 0;
}

static int is_ko(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 3 && !strcmp(d->d_name + n - 3, ".ko");
}

static void load_modules(void)
{
	struct dirent **names;
	char path[512];
	int n, i, fd;

	n = scandir(MOD_DIR, &names, is_ko, alphasort);
	if (n < 0)
		die("list " MOD_DIR);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), MOD_DIR "/%s", names[i]->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(path);
		if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST) {
			say("cannot load %s: %s", path, strerror(errno));
			power_off();
		}
		close(fd);
		free(names[i]);
	}
	free(names);
	say("loaded %d modules", n);
}

static void loopback_up(void)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	strcpy(ifr.ifr_name, "lo");
	if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			say("cannot bring lo up: %s", strerror(errno));
	}
	close(s);
}

static void console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
}

int main(void)
{
	const char *prog = getenv("lt_init");
	int status = 0;
	pid_t child, pid;

	mount_one("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	console_stdio();
	mount_one("proc", "/proc", "proc", 0, NULL);
	load_modules();

	if (mount_one("/dev/root", NEW_ROOT, "9p", MS_RDONLY, P9_OPTS))
		power_off();
	if (chdir(NEW_ROOT) || mount(".", "/", NULL, MS_MOVE, NULL) || chroot(".") || chdir("/"))
		die("switch to the shared root");
	say("switched to the shared root");

	/* the shared root is read-only: pseudo file systems and scratch space
	 * are mounted over its directories, in this guest only */
	mount_one("proc", "/proc", "proc", 0, NULL);
	mount_one("sysfs", "/sys", "sysfs", 0, NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	/* a checkout under /tmp (a CI clone, say) must stay visible: scratch
	 * space then lives in /run only (TMPDIR below) */
	if (!prog || strncmp(prog, "/tmp/", 5))
		mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	mount_one("bpf", "/sys/fs/bpf", "bpf", 0, NULL);
	mount_one("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	mount_one("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	loopback_up();
	console_stdio();

	if (!prog || !*prog) {
		say("no lt_init= on the kernel command line; powering off");
		power_off();
	}
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/run", 1);
	setenv("TMPDIR", "/run", 1);
	setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
	say("running %s", prog);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		execl(prog, prog, (char *)NULL);
		say("cannot run %s: %s", prog, strerror(errno));
		_exit(127);
	}
	/* PID 1 adopts orphans: reap them all until the test itself ends */
	for (;;) {
		pid = wait(&status);
		if (pid == child)
			break;
		if (pid < 0 && errno == ECHILD)
			break;
	}
	say("%s exited with status %d", prog,
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	kill(-1, SIGKILL);
	while (wait(NULL) > 0)
		;
	power_off();
	return 0;
}
