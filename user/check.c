// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* latscope check: what this kernel supports, per collector, and the map budget. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "collector.h"
#include "mapread.h"
#include "names.h"
#include "probe.h"
#include "util.h"

#ifndef LATSCOPE_VERSION
#define LATSCOPE_VERSION "dev"
#endif

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

/* load and attach one collector in one flavour, then detach: the truth
 * about whether it runs here */
static int try_open(const struct coll_desc *d, enum attach_mode m, char *why, size_t len)
{
	struct coll_opts co = {.filter = {.cgroup_fd = -1}, .attach = m, .max_keys = 64};
	struct coll *c = NULL;
	int err = coll__open(&c, d, &co, why, len);

	coll__free(c);
	return err;
}

/* bytes of every map at --max-keys max_keys (0: defaults) on ncpu CPUs */
static uint64_t budget_all(uint32_t max_keys, int ncpu)
{
	uint64_t b = 0;

	for (size_t i = 0; i < coll_count; i++)
		b += coll_all[i]->budget(max_keys / coll_all[i]->max_keys_div, ncpu);
	return b;
}

int check__run(void)
{
	static const struct {
		enum attach_mode m;
		const char *name;
	} variants[] = {
		{ATTACH_TP_BTF, "tp_btf"},
		{ATTACH_RAW_TP, "raw_tp"},
	};
	int ncpu = ncpus_possible(), ok = 0;
	bool priv, btf = probe_btf();
	const char *mnt = cgroup2_mount();
	char why[256], kver[128] = "?";
	FILE *f = fopen("/proc/sys/kernel/osrelease", "r");

	if (f) {
		if (fgets(kver, sizeof(kver), f))
			kver[strcspn(kver, "\n")] = 0;
		fclose(f);
	}
	priv = probe_privileges(why, sizeof(why));
	printf("latscope %s on Linux %s, %d possible CPUs\n\n", LATSCOPE_VERSION, kver, ncpu);
	printf("kernel features:\n");
	printf("  %-36s %s\n", "BTF (/sys/kernel/btf/vmlinux)", yesno(btf));
	printf("  %-36s %s\n", "raw_tp programs", yesno(probe_raw_tp()));
	printf("  %-36s %s\n", "tp_btf raw_syscalls:sys_enter/exit",
	       yesno(btf && probe_tp_btf("sys_enter") && probe_tp_btf("sys_exit")));
	printf("  %-36s %s\n", "tp_btf sched:sched_wakeup/switch",
	       yesno(btf && probe_tp_btf("sched_wakeup") && probe_tp_btf("sched_switch")));
	printf("  %-36s %s\n", "tp_btf sock:inet_sock_set_state, tcp:*",
	       yesno(btf && probe_tp_btf("inet_sock_set_state") &&
		     probe_tp_btf("tcp_retransmit_skb") && probe_tp_btf("tcp_probe")));
	printf("  %-36s %s\n", "tp_btf sock:sock_recv/send_length",
	       yesno(btf && probe_tp_btf("sock_recv_length") && probe_tp_btf("sock_send_length")));
	probe_release();
	printf("  %-36s %s\n", "task storage map", yesno(probe_task_storage()));
	printf("  %-36s %s\n", "per-CPU hash map", yesno(probe_percpu_hash()));
	printf("  %-36s %s\n", "ring buffer map", yesno(probe_ringbuf()));
	printf("  %-36s %s%s%s\n", "cgroup v2", yesno(mnt), mnt ? " at " : "", mnt ? mnt : "");
	printf("  %-36s %s%s%s\n", "privileges", yesno(priv), priv ? "" : ": ", priv ? "" : why);

	for (size_t c = 0; c < coll_count; c++) {
		const struct coll_desc *d = coll_all[c];
		const char *use = NULL;

		printf("\ncollector %s: %s\n", d->name, d->needs);
		if (!priv) {
			printf("  verdict: %s: unavailable: %s\n", d->name, why);
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
			if (try_open(d, variants[i].m, why, sizeof(why)) == 0) {
				printf("  %-8s ok (loaded and attached)\n", variants[i].name);
				if (!use)
					use = variants[i].name;
			} else {
				printf("  %-8s no: %s\n", variants[i].name, why);
			}
		}
		if (use) {
			printf("  verdict: %s: ok, will use %s\n", d->name, use);
			ok++;
		} else {
			printf("  verdict: %s: unavailable (see the reasons above)\n", d->name);
		}
	}
	printf("\nmemory budget of BPF maps at defaults: %.1f MiB on this host (%d CPUs), "
	       "%.1f MiB on a 64-CPU host, %.1f MiB on a 192-CPU host\n",
	       budget_all(0, ncpu) / 1048576.0, ncpu, budget_all(0, 64) / 1048576.0,
	       budget_all(0, 192) / 1048576.0);
	for (uint32_t k = 5000; k <= 20000; k += 15000)
		printf("  with --max-keys %u: %.1f MiB here, %.1f MiB on 64 CPUs, %.1f MiB on "
		       "192\n",
		       k, budget_all(k, ncpu) / 1048576.0, budget_all(k, 64) / 1048576.0,
		       budget_all(k, 192) / 1048576.0);
	printf("verdict: %d of %zu collectors can run\n", ok, coll_count);
	return ok ? 0 : 1;
}
