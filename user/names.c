// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ktab.h"
#include "latscope.h"
#include "names.h"
#include "util.h"

extern const char *const syscall_names[];
extern const size_t syscall_names_len;

#define COMM_TTL_NS (5ULL * 1000000000ULL)
/* a gone task's comm is kept this long: its pid may be reused after */
#define GONE_TTL_NS (30ULL * 1000000000ULL)
/* comm entries at most; past it, expired ones are dropped */
#define COMM_CAP     16384
#define CG_RESCAN_NS (1ULL * 1000000000ULL)
#define CG_MAX_DEPTH 32

const char *syscall_name(unsigned int nr)
{
	if (nr == LS_NR_FUTEX_WAIT)
		return "futex_wait";
	if (nr == LS_NR_URING_WAIT)
		return "io_uring_wait";
	return nr < syscall_names_len ? syscall_names[nr] : NULL;
}

int syscall_nr(const char *name)
{
	for (size_t i = 0; i < syscall_names_len; i++)
		if (syscall_names[i] && !strcmp(syscall_names[i], name))
			return (int)i;
	if (!strcmp(name, "futex_wait"))
		return LS_NR_FUTEX_WAIT;
	if (!strcmp(name, "io_uring_wait"))
		return LS_NR_URING_WAIT;
	return -1;
}

const char *errno_name(int err, char *buf, size_t len)
{
	/* kernel-internal codes (include/linux/errno.h) never reach user space
	 * but do show up at the sys_exit tracepoint, before signal handling
	 * turns them into a restart or EINTR */
	static const char *const internal[] = {
		[512 - 512] = "ERESTARTSYS",
		[513 - 512] = "ERESTARTNOINTR",
		[514 - 512] = "ERESTARTNOHAND",
		[515 - 512] = "ENOIOCTLCMD",
		[516 - 512] = "ERESTART_RESTARTBLOCK",
		[517 - 512] = "EPROBE_DEFER",
		[518 - 512] = "EOPENSTALE",
		[519 - 512] = "ENOPARAM",
		[521 - 512] = "EBADHANDLE",
		[522 - 512] = "ENOTSYNC",
		[523 - 512] = "EBADCOOKIE",
		[524 - 512] = "ENOTSUPP",
		[525 - 512] = "ETOOSMALL",
		[526 - 512] = "ESERVERFAULT",
		[527 - 512] = "EBADTYPE",
		[528 - 512] = "EJUKEBOX",
		[529 - 512] = "EIOCBQUEUED",
		[530 - 512] = "ERECALLCONFLICT",
	};
	const char *s = NULL;

	if (err > 0 && err < 512)
		s = strerrorname_np(err);
	else if (err >= 512 && err < 512 + (int)ARRAY_SIZE(internal))
		s = internal[err - 512];
	if (s)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "E%d", err);
	return buf;
}

struct comm_entry {
	char comm[16];
	uint64_t expires_ns;
	int gone;
};

struct names {
	struct ktab *comms; /* (pid, tid) -> comm_entry */
	uint64_t comm_evictions;
	struct ktab *cgroups; /* cgid -> char * */
	uint64_t cg_last_scan_ns;
	char *cg_mount;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct names *names__new(void)
{
	struct names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->comms = ktab__new(8, sizeof(struct comm_entry));
	n->cgroups = ktab__new(8, sizeof(char *));
	if (!n->comms || !n->cgroups) {
		names__free(n);
		errno = ENOMEM;
		return NULL;
	}
	return n;
}

void names__free(struct names *n)
{
	size_t pos = 0;
	const void *k;
	void *v;

	if (!n)
		return;
	if (n->cgroups)
		while (ktab__next(n->cgroups, &pos, &k, &v))
			free(*(char **)v);
	ktab__free(n->cgroups);
	ktab__free(n->comms);
	free(n->cg_mount);
	free(n);
}

static int read_comm(uint32_t pid, uint32_t tid, char *out, size_t len)
{
	char path[64];
	ssize_t r;
	int fd;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read(fd, out, len - 1);
	close(fd);
	if (r <= 0)
		return -EIO;
	if (out[r - 1] == '\n')
		r--;
	out[r] = 0;
	return 0;
}

/* drop the expired entries (all of them, the oldest first being no better
 * a guess); if none had expired, drop every gone one */
static void evict_comms(struct names *n, uint64_t now)
{
	size_t pos = 0, nv = 0, cap = 0;
	uint64_t *victims = NULL;
	const void *k;
	void *v;

	for (int pass = 0; pass < 2 && !nv; pass++) {
		pos = 0;
		while (ktab__next(n->comms, &pos, &k, &v)) {
			const struct comm_entry *e = v;

			if (pass ? !e->gone : now < e->expires_ns)
				continue;
			if (array_grow((void **)&victims, &cap, nv + 1, sizeof(*victims)))
				break;
			memcpy(&victims[nv++], k, sizeof(*victims));
		}
	}
	for (size_t i = 0; i < nv; i++)
		ktab__del(n->comms, &victims[i]);
	n->comm_evictions += nv;
	free(victims);
}

size_t names__comm_len(const struct names *n, uint64_t *evictions)
{
	if (evictions)
		*evictions = n->comm_evictions;
	return ktab__len(n->comms);
}

const char *names__comm(struct names *n, uint32_t pid, uint32_t tid, comm_fallback_fn fallback,
			void *ctx)
{
	uint64_t key = (uint64_t)pid << 32 | tid, now = now_ns();
	struct comm_entry *e;
	char seen[16] = "";
	bool created;

	if (ktab__len(n->comms) >= COMM_CAP)
		evict_comms(n, now);
	e = ktab__upsert(n->comms, &key, &created);
	if (!e)
		return "?";
	if (!created && now < e->expires_ns)
		return e->comm;
	if (read_comm(pid, tid, e->comm, sizeof(e->comm)) == 0) {
		e->expires_ns = now + COMM_TTL_NS;
		return e->comm;
	}
	/* gone: keep what we knew, else what BPF saw */
	if (fallback)
		fallback(pid, tid, seen, ctx);
	seen[sizeof(seen) - 1] = 0;
	if (seen[0])
		snprintf(e->comm, sizeof(e->comm), "%s", seen);
	else if (created || !e->comm[0])
		snprintf(e->comm, sizeof(e->comm), "?");
	e->gone = 1;
	e->expires_ns = now + GONE_TTL_NS;
	return e->comm;
}

const char *cgroup2_mount(void)
{
	static char path[256];
	struct mntent *m;
	FILE *f;

	if (path[0])
		return path;
	f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return NULL;
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(path, sizeof(path), "%s", m->mnt_dir);
			break;
		}
	endmntent(f);
	return path[0] ? path : NULL;
}

/* the cgroup v2 id is the inode number of the cgroup's directory */
static void cg_scan(struct names *n, const char *dir, size_t mlen, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (depth > CG_MAX_DEPTH || stat(dir, &st))
		return;
	{
		uint64_t id = st.st_ino;
		bool created;
		char **slot = ktab__upsert(n->cgroups, &id, &created);

		if (slot && created)
			*slot = strdup(dir[mlen] ? dir + mlen : "/");
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[4096];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		cg_scan(n, sub, mlen, depth + 1);
	}
	closedir(d);
}

const char *names__cgroup(struct names *n, uint64_t cgid)
{
	const char *mnt;
	char **p = ktab__get(n->cgroups, &cgid);
	uint64_t now;

	if (p && *p)
		return *p;
	now = now_ns();
	mnt = cgroup2_mount();
	if (!mnt || (n->cg_last_scan_ns && now - n->cg_last_scan_ns < CG_RESCAN_NS))
		return "";
	n->cg_last_scan_ns = now;
	cg_scan(n, mnt, strlen(mnt), 0);
	p = ktab__get(n->cgroups, &cgid);
	return p && *p ? *p : "";
}

const char *cgroup_rel(const char *path)
{
	static char rel[4096];
	const char *mnt = cgroup2_mount();
	size_t ml = mnt ? strlen(mnt) : 0;

	if (mnt && !strncmp(path, mnt, ml) && (path[ml] == '/' || !path[ml]))
		path += ml;
	snprintf(rel, sizeof(rel), "%s%s", path[0] == '/' ? "" : "/", path);
	return rel;
}

/* directories called name below dir (up to depth levels), as paths
 * relative to the cgroup2 mount (rel), into found; how many in all */
static int find_unit(const char *dir, const char *rel, const char *name, int depth,
		     char found[][4096], int cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char sub[4096], subrel[4096];

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		snprintf(subrel, sizeof(subrel), "%s/%s", rel, e->d_name);
		if (!strcmp(e->d_name, name)) {
			if (n < cap)
				snprintf(found[n], sizeof(found[n]), "%s", subrel);
			n++;
		}
		if (depth > 1)
			n += find_unit(sub, subrel, name, depth - 1, found + (n < cap ? n : cap),
				       n < cap ? cap - n : 0);
	}
	closedir(d);
	return n;
}

int cgroup_open(const char *path, char *rel, size_t rel_len, char *err, size_t len)
{
	const char *mnt = cgroup2_mount();
	char full[4096], found[2][4096];
	struct stat st;
	int fd, n;

	if (!mnt) {
		snprintf(err, len, "invalid --cgroup '%s': no cgroup v2 hierarchy is mounted",
			 path);
		return -ENOENT;
	}
	if (!strncmp(path, mnt, strlen(mnt)) && (path[strlen(mnt)] == '/' || !path[strlen(mnt)]))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", mnt, path[0] == '/' ? path + 1 : path);
	snprintf(rel, rel_len, "%s", cgroup_rel(path));
	fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* a unit or container name ("nginx.service") rather than a path */
	if (fd < 0 && errno == ENOENT && !strchr(path, '/') && *path) {
		n = find_unit(mnt, "", path, 6, found, 2);
		if (n > 1) {
			snprintf(
				err, len,
				"invalid --cgroup '%s': %d cgroups have that name (%s, %s%s); give "
				"the path",
				path, n, found[0], found[1], n > 2 ? ", ..." : "");
			return -EINVAL;
		}
		if (n == 1) {
			snprintf(full, sizeof(full), "%s%s", mnt, found[0]);
			snprintf(rel, rel_len, "%s", found[0]);
			fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		} else {
			errno = ENOENT;
		}
	}
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, len, "invalid --cgroup '%s': cannot open %s: %s", path, full,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	return fd;
}

const char *service_name(const char *cgroup, char *buf, size_t len)
{
	static const char *const units[] = {".service", ".scope", ".socket", ".mount"};
	size_t end = strlen(cgroup);

	/* the innermost component that names a container or a unit */
	while (end > 0) {
		size_t start = end, l, run = 0;

		while (start > 0 && cgroup[start - 1] != '/')
			start--;
		l = end - start;
		for (size_t i = start; i < end; i++) {
			run = isxdigit((unsigned char)cgroup[i]) ? run + 1 : 0;
			if (run == 64 &&
			    (i + 1 == end || !isxdigit((unsigned char)cgroup[i + 1]))) {
				snprintf(buf, len, "%.12s", cgroup + i - 63);
				return buf;
			}
		}
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t u = strlen(units[i]);

			if (l > u && !strncmp(cgroup + end - u, units[i], u)) {
				snprintf(buf, len, "%.*s", (int)l, cgroup + start);
				return buf;
			}
		}
		/* a slice names the service only when it is the cgroup itself */
		if (end == strlen(cgroup) && l > 6 && !strncmp(cgroup + end - 6, ".slice", 6)) {
			snprintf(buf, len, "%.*s", (int)l, cgroup + start);
			return buf;
		}
		end = start ? start - 1 : 0;
	}
	snprintf(buf, len, "%s", cgroup);
	return buf;
}
