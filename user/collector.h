/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Collectors: one description per collector (its BPF object, maps, key
 * layout and a to-row function) and one generic path for all of them:
 * open -> configure -> load -> attach (tp_btf, falling back to raw_tp),
 * then per interval read every map, merge CPUs, turn cumulative counters
 * into deltas, merge the maps by row identity, build rows, expire idle
 * keys. Adding a collector = a BPF file, its key/value structs in
 * latscope.h, and a struct coll_desc.
 */
#ifndef LATSCOPE_COLLECTOR_H
#define LATSCOPE_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "latscope.h"
#include "rows.h"

struct bpf_object;
struct names;

enum attach_mode {
	ATTACH_AUTO = 0, /* tp_btf, falling back to raw_tp */
	ATTACH_TP_BTF,
	ATTACH_RAW_TP,
};

struct filter_opts {
	enum ls_by by;
	const uint32_t *pids;
	int npids;
	const char *comm;	 /* NULL: no comm filter */
	int cgroup_fd;		 /* -1: no cgroup filter */
	const char *cgroup_path; /* that cgroup, relative to the cgroup2 mount */
};

/* endpoint filters of the tcp collector (--port, --raddr) */
struct tcp_filter {
	uint16_t port; /* 0: any */
	int family;    /* 0: any address; AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefix; /* bits */
};

/* `slow` (bpf/slow.bpf.h): NULL in coll_opts when it does not run */
struct slow_opts {
	uint32_t max_rate;  /* events per second, in-kernel token bucket */
	uint8_t *sys_class; /* LS_MAX_SYSCALL bytes, enum ls_sys_class */
};

/* maps several collectors' objects share (coll_desc.shared): the first to
 * load creates each, the others reuse it */
#define COLL_MAX_SHARED 4
struct coll_shared {
	struct {
		const char *name;
		int fd; /* owned by the object that created it */
	} m[COLL_MAX_SHARED];
	int n;
};

struct coll_opts {
	struct filter_opts filter;
	const struct slow_opts *slow;
	bool calls;		      /* keep the per-call breakdown (slow, --breakdown) */
	uint64_t threshold_ns;	      /* slow calls: at least this long; UINT64_MAX: none */
	struct coll_shared *shared;   /* NULL: nothing shared */
	const struct tcp_filter *tcp; /* NULL: none */
	enum attach_mode attach;
	uint32_t max_keys;	     /* size of the collector's largest map; 0: default */
	double interval_s;	     /* for idle-key expiry */
	uint64_t request_timeout_ns; /* requests: unanswered after this; 0: default */
};

/* every skeleton's rodata starts with common.bpf.h's globals */
#define COLL_SET_RODATA(rodata, f)                                                          \
	do {                                                                                \
		(rodata)->key_by = (f)->by;                                                 \
		(rodata)->filter_pid_on = (f)->npids > 0;                                   \
		(rodata)->filter_comm_on = (f)->comm != NULL;                               \
		if ((f)->comm)                                                              \
			strncpy((char *)(rodata)->filter_comm, (f)->comm, LS_COMM_LEN - 1); \
		(rodata)->filter_cg_on = (f)->cgroup_fd >= 0;                               \
	} while (0)

#define COLL_MAX_CTR 10 /* counters per key at most (struct conn_val) */
#define COLL_MAX_KEY 48 /* key bytes at most (struct conn_hist_key) */
/* one element's values at most (a per-CPU value on every possible CPU) */
#define COLL_MAX_VALS (1 << 20)

/* one aggregate map of a collector */
struct coll_map {
	const char *name; /* in the BPF object */
	size_t key_sz, val_sz;
	bool percpu;
	int nctr; /* cumulative u64 counters per key */
	/* value(s) of every CPU (or the one value) -> counters and the
	 * largest sample (not a counter; 0 when the map keeps none) */
	void (*fold)(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max);
	uint32_t size_mul, size_div; /* max_entries = max_keys * mul / div */
};

/* coll_map.fold for a map whose value is one struct sys_val (a histogram
 * bucket: count, sum, max): two counters and the max */
void coll_fold_sys_val(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max);

/* what changed in one key since the last read */
struct coll_delta {
	uint32_t map; /* index in coll_desc.maps */
	uint64_t v[COLL_MAX_CTR];
	uint64_t max;
	uint8_t key[COLL_MAX_KEY];
};

struct coll;

struct coll_desc {
	const char *name;  /* "syscalls" */
	const char *needs; /* for check: tracepoints and map types */
	const char *hooks; /* for errors: what attaching means */
	const struct row_schema *schema;
	/* leading bytes of every key of every map that identify a row;
	 * they start with (pid, tid, cgid), or the comm with --by comm */
	size_t id_len;
	const struct coll_map *maps;
	size_t nmaps;
	/* maps shared with other collectors' objects, NULL-terminated */
	const char *const *shared;
	uint32_t (*default_keys)(int ncpu);
	/* --max-keys N sizes this collector's largest map to N / max_keys_div
	 * (README, Memory) */
	uint32_t max_keys_div;
	/* bytes the maps may take at most */
	uint64_t (*budget)(uint32_t max_keys, int ncpu);
	/* the generated skeleton */
	void *(*skel_open)(void);
	int (*skel_load)(void *skel);
	int (*skel_attach)(void *skel);
	void (*skel_destroy)(void *skel);
	struct bpf_object *(*skel_obj)(void *skel);
	/* before load: rodata and anything the generic path cannot know.
	 * Programs ending in _btf / _raw are autoloaded by flavour first. */
	int (*configure)(void *skel, const struct coll_opts *o, bool btf);
	/* before every read of the maps: move what the BPF side keeps
	 * elsewhere (per-thread accumulators) into them. 0 or -errno; may be
	 * NULL */
	int (*harvest)(struct coll *c);
	/* after attach, still privileged (e.g. state from /proc); may be NULL */
	void (*started)(struct coll *c, const struct coll_opts *o);
	/*
	 * Fill row (zeroed, its struct row_id done) from the deltas of one
	 * identity, sorted by map, then by the rest of the key. 0 or -errno.
	 */
	int (*to_row)(struct coll *c, void *row, const struct coll_delta *d, size_t n,
		      struct interval *iv);
};

/* skeleton glue for a coll_desc: COLL_SKEL(syscalls) */
#define COLL_SKEL(n)                                \
	static void *n##_open_(void)                \
	{                                           \
		return n##__open();                 \
	}                                           \
	static int n##_load_(void *s)               \
	{                                           \
		return n##__load(s);                \
	}                                           \
	static int n##_attach_(void *s)             \
	{                                           \
		return n##__attach(s);              \
	}                                           \
	static void n##_destroy_(void *s)           \
	{                                           \
		n##__destroy(s);                    \
	}                                           \
	static struct bpf_object *n##_obj_(void *s) \
	{                                           \
		return ((struct n *)s)->obj;        \
	}
#define COLL_SKEL_OPS(n)                                                            \
	.skel_open = n##_open_, .skel_load = n##_load_, .skel_attach = n##_attach_, \
	.skel_destroy = n##_destroy_, .skel_obj = n##_obj_

/* every collector, in display order (user/colls.c) */
extern const struct coll_desc *const coll_all[];
extern const size_t coll_count;

/* the collector called name, or NULL */
const struct coll_desc *coll_by_name(const char *name);

/*
 * Open, configure, load and attach the collector in the flavour o->attach
 * asks for (ATTACH_AUTO: tp_btf, then raw_tp). 0 with *out set, or -errno
 * with the reason in why.
 */
int coll__open(struct coll **out, const struct coll_desc *d, const struct coll_opts *o, char *why,
	       size_t why_len);

/*
 * A collector with no BPF object, reading its maps through read() and
 * deleting through take() (unit tests feed it fake maps). read has
 * map_read_all's contract; take deletes a key and puts its values at
 * deletion in vals: 0, or -errno.
 */
struct coll *
coll__new_detached(const struct coll_desc *d, const struct coll_opts *o,
		   long (*read)(struct coll *c, size_t map, void *ctx,
				void (*fn)(const void *key, const void *vals, void *ctx)),
		   long (*take)(struct coll *c, size_t map, const void *key, void *vals));

const struct coll_desc *coll__desc(const struct coll *c);
/* "tp_btf" or "raw_tp" */
const char *coll__variant(const struct coll *c);
void *coll__skel(const struct coll *c);
/* the collector's BPF object (its programs, for run-time statistics), or
 * NULL when detached */
struct bpf_object *coll__object(const struct coll *c);
/*
 * How full the collector's fullest aggregate map was at the last read:
 * keys read / max_entries (0..1), its name in *map (NULL when the
 * collector has no map). Costs nothing: the read counts the keys anyway.
 */
double coll__fill(const struct coll *c, const char **map);
/* a map of the collector's object by name, or NULL */
struct bpf_map *coll__map(const struct coll *c, const char *name);

/*
 * Read the maps and append this interval's rows to iv's table of the
 * collector's schema (marked active); adds drops. 0 or -errno.
 */
int coll__collect(struct coll *c, struct names *names, struct interval *iv);

/* comm of a task for a row (the owner's, or a culprit's) into out */
void coll__comm(struct coll *c, uint32_t pid, uint32_t tid, char *out);
/* the path of a cgroup id ("" when 0 or unknown) */
const char *coll__cgroup(struct coll *c, uint64_t cgid);

void coll__free(struct coll *c);

/* Do this collector's reads (map reads, the idle-key delete, program
 * info) work without any capability? For privs_drop()'s probe. */
bool coll__works_unprivileged(struct coll *c);

/* Fill the filter maps of a loaded object. 0 or -errno with the reason in why. */
int coll_apply_filters(struct bpf_object *obj, const struct filter_opts *f, char *why,
		       size_t why_len);

/*
 * Has the owner of a row key gone? pid 0 (cgroup rows) never is; tid 0
 * means the whole process. Used to free the keys of exited tasks early.
 */
bool coll_owner_gone(uint32_t pid, uint32_t tid);

/* how many idle intervals before a key is deleted from its kernel map */
uint32_t coll_idle_limit(double interval_s, long nkeys, uint32_t max_keys);

struct bpf_map;
struct bpf_link;

/*
 * The harvest of per-thread accumulators (bpf/syscalls.bpf.c explains
 * them): bump *epoch (the object's mmap-ed harvest_epoch), update the
 * map-in-map barrier with inner (the kernel then waits for an RCU grace
 * period: no program still writes the previous epoch's bank), then run the
 * task iterator iter, which flushes every thread's previous bank into the
 * aggregate maps. 0 or -errno.
 */
int coll_harvest(uint32_t *epoch, struct bpf_map *barrier, struct bpf_map *inner,
		 struct bpf_link *iter);

/* ready-made folds: one u64 counter per CPU; n u64 counters per CPU */
void coll_fold_u64(const void *vals, int ncpu, uint64_t *ctr, uint64_t *max);

#endif
