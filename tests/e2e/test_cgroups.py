# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Rows follow a process into another cgroup.

The BPF programs cache each thread's cgroup id (reading it costs ~55 ns per
event) and re-read it after any cgroup migration on the host. The ground
truth: a process makes a known number of syscalls and sleeps in cgroup A,
is moved to cgroup B, and makes another known number there; with
--by cgroup the counts must split exactly between A and B.
"""
import os
import time

import lib

NAME = "phases"


def test_counts_split_exactly_between_cgroups_when_a_process_moves():
    n_a, n_b, sleeps_b = 3000, 5000, 40
    tag = "latscope-test-%d" % os.getpid()
    with lib.CgroupDirs(tag + "-a", tag + "-b") as cg, lib.Workload(NAME) as w:
        cg.move(w.pid, 0)
        with lib.Agent("top", "--json", "--by", "cgroup", "--comm", NAME, "-i", "0.5",
                       "--view", "syscalls") as a, \
             lib.Agent("top", "--json", "--by", "cgroup", "--comm", NAME, "-i", "0.5",
                       "--view", "sched") as s:
            time.sleep(0.3)
            lib.phase(w, "getppid %d" % n_a)
            lib.phase(w, "sleep 10 1000")
            cg.move(w.pid, 1)
            lib.phase(w, "getppid %d" % n_b)
            lib.phase(w, "sleep %d 1000" % sleeps_b)
            time.sleep(1.2)
            out = a.stop()
            sout = s.stop()
        w.send("exit\n")
    assert out.rc == 0 and sout.rc == 0, "agents: %s / %s" % (out.describe(), sout.describe())
    ivs = lib.intervals(out.stdout)
    got = {}
    for iv in ivs:
        for r in iv["syscalls"]:
            if r["syscall"] == "getppid":
                got[r["cgroup"]] = got.get(r["cgroup"], 0) + r["count"]
    want = {cg.rel(0): n_a, cg.rel(1): n_b}
    assert got == want, "getppid per cgroup: got %s, want %s" % (got, want)
    drops = sum(sum(lib.map_drops(iv).values()) for iv in ivs)
    assert drops == 0, "drops: %d" % drops
    # sched rows follow the move too: the sleeps in B switch out there
    sw = {}
    for iv in lib.intervals(sout.stdout):
        for r in iv["sched"]:
            sw[r["cgroup"]] = sw.get(r["cgroup"], 0) + r["vol_switches"]
    assert sw.get(cg.rel(1), 0) >= sleeps_b, \
        "voluntary switches in B: %s, want >= %d (%s)" % (sw.get(cg.rel(1)), sleeps_b, sw)
    assert sw.get(cg.rel(0), 0) >= 10, "voluntary switches in A: %s (%s)" % (sw.get(cg.rel(0)), sw)
    return "getppid A %d/%d, B %d/%d exact; voluntary switches A %d, B %d" % (
        got.get(cg.rel(0), 0), n_a, got.get(cg.rel(1), 0), n_b, sw.get(cg.rel(0), 0),
        sw.get(cg.rel(1), 0))
