# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Scheduler collector against ground truth: the kernel's own schedstat
(/proc/PID/task/TID/schedstat: on-CPU ns, run-queue ns), wall-clock sleeps,
a known CPU hog, and a thread exit storm."""
import json
import subprocess
import time

import lib

CPU = 1  # the contention CPU; this machine has 2


def _run(workload_args, agent_args, settle=1.2, interval="0.5"):
    """Start the workload, attach the agent, release the workload, collect.

    Returns (workload result, interval objects, agent result)."""
    with lib.Workload("sched", *workload_args) as w:
        with lib.Agent("top", "--json", "-i", interval, "-p", w.pid, *agent_args) as a:
            time.sleep(0.3)
            w.go()
            res = w.result(timeout=30)
            time.sleep(settle)  # let the last interval cover the workload's end
            r = a.stop()
    assert r.rc == 0, r.describe()
    return res, lib.intervals(r.stdout), r


def _sched_rows(ivs, pid):
    return [row for iv in ivs for row in iv["sched"] if row.get("pid") == pid]


def _sum(rows, field):
    return sum(row[field] for row in rows)


def test_runqueue_and_oncpu_per_thread_match_schedstat_within_10_percent():
    res, ivs, _ = _run(["spin", 3, 2.0, CPU], ["--by", "thread", "--no-syscalls"])
    for t in res["threads"]:
        rows = [row for row in _sched_rows(ivs, res["pid"]) if row["tid"] == t["tid"]]
        assert rows, "no sched rows for thread %d" % t["tid"]
        runq_us = _sum(rows, "runq_total_us")
        oncpu_us = _sum(rows, "oncpu_us")
        want_runq, want_run = t["wait_ns"] / 1e3, t["run_ns"] / 1e3
        assert want_runq > 500000, "the workload did not contend: %r" % t
        assert abs(runq_us - want_runq) <= 0.10 * want_runq, \
            "tid %d run-queue total %.0fus vs schedstat run_delay %.0fus: off by more than 10%%" % (
                t["tid"], runq_us, want_runq)
        assert abs(oncpu_us - want_run) <= 0.10 * want_run, \
            "tid %d on-CPU %.0fus vs schedstat exec time %.0fus: off by more than 10%%" % (
                t["tid"], oncpu_us, want_run)
        waits = sum(row["runq_count"] for row in rows)
        assert waits > 0 and all(row["tid"] == t["tid"] for row in rows)


def test_idle_sleeper_is_off_cpu_for_its_wall_time_with_no_runqueue_wait():
    res, ivs, _ = _run(["sleep", 10, 100], ["--by", "thread", "--no-syscalls"])
    rows = [row for row in _sched_rows(ivs, res["pid"]) if row["tid"] == res["tid"]]
    wall_us = res["wall_ns"] / 1e3
    off_us = _sum(rows, "offcpu_us")
    sleep_us = _sum(rows, "offcpu_sleep_us")
    runq_us = _sum(rows, "runq_total_us")
    # each of the 10 sleeps is a full off-CPU period inside the window
    assert abs(off_us - wall_us) <= 0.10 * wall_us, \
        "off-CPU %.0fus vs wall time of the sleeps %.0fus: off by more than 10%%" % (off_us, wall_us)
    assert sleep_us >= 0.9 * off_us, "sleeping share %.0fus of off-CPU %.0fus" % (sleep_us, off_us)
    assert runq_us <= 0.02 * wall_us, "run-queue wait %.0fus is not near zero" % runq_us
    assert _sum(rows, "oncpu_us") <= 0.05 * wall_us


def test_cpu_hog_on_the_same_cpu_is_the_victims_top_culprit():
    res, ivs, _ = _run(["culprit", 2.0, CPU], ["--no-syscalls"])
    rows = _sched_rows(ivs, res["pid"])
    runq_us = _sum(rows, "runq_total_us")
    assert runq_us > 500000, "victim barely waited (%.0fus): no contention" % runq_us
    by_culprit = {}
    for row in rows:
        for c in row["culprits"]:
            key = (c["pid"], c["comm"])
            by_culprit[key] = by_culprit.get(key, 0) + c["runq_us"]
    top = max(by_culprit.items(), key=lambda kv: kv[1])
    assert top[0] == (res["hog"], "ls-hog"), "top culprit %r, want the hog %d: %r" % (
        top, res["hog"], by_culprit)
    assert top[1] >= 0.8 * runq_us, \
        "hog accounts for %.0fus of the victim's %.0fus run-queue wait (< 80%%)" % (top[1], runq_us)
    for row in rows:  # the victim's own rows carry a cgroup path and JSON-shaped culprits
        for c in row["culprits"]:
            assert set(c) >= {"pid", "comm", "cgroup", "runq_us"}, c


def test_pid_filter_keeps_other_processes_out_of_sched_rows():
    res, ivs, _ = _run(["spin", 2, 1.0, CPU], [])
    pids = {row.get("pid") for iv in ivs for row in iv["sched"]}
    assert pids == {res["pid"]}, "sched rows for other pids: %r" % (pids - {res["pid"]})
    for iv in ivs:
        for row in iv["sched"]:
            for f in ("runq_count", "runq_us", "runq_total_us", "oncpu_us", "offcpu_us",
                      "offcpu_sleep_us", "offcpu_disk_us", "preempted_us", "culprits", "comm",
                      "cgroup"):
                assert f in row, "sched row lacks %r: %r" % (f, row)


def _map_entries(name):
    p = subprocess.run(["bpftool", "-j", "map", "dump", "name", name], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, "bpftool map dump name %s: %s" % (name, p.stderr)
    return len(json.loads(p.stdout or "[]"))


def test_thread_exit_storm_keeps_maps_bounded_and_frees_keys_of_dead_threads():
    assert not lib.other_latscopes(), "another latscope is running: map counts would mix"
    with lib.Workload("sched", "storm", 3000) as w:
        with lib.Agent("top", "--json", "-i", "0.5", "-p", w.pid, "--by", "thread") as a:
            time.sleep(0.3)
            w.go()
            res = w.result(timeout=60)
            time.sleep(1.0)
            during = _map_entries("sched_stats")
            time.sleep(2.5)  # keys of exited threads go after 2 idle intervals
            after = _map_entries("sched_stats")
            after_sys = _map_entries("syscall_lat")
            r = a.stop()
    assert r.rc == 0, r.describe()
    assert res["threads"] == 3000
    ivs = lib.intervals(r.stdout)
    tids = {row["tid"] for iv in ivs for row in iv["sched"]}
    assert len(tids) >= 2000, "only %d of 3000 threads were seen" % len(tids)
    drops = {k: sum(iv["drops"][k] for iv in ivs) for k in ivs[0]["drops"]}
    assert all(v == 0 for v in drops.values()), "drops during a 3000-thread storm: %r" % drops
    assert after <= 20, "sched_stats still holds %d keys (had %d) after the threads exited" % (
        after, during)
    assert after_sys <= 60, "syscall_lat still holds %d keys after the threads exited" % after_sys
