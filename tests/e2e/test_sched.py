# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Scheduler collector against ground truth: the kernel's own schedstat
(/proc/PID/task/TID/schedstat: on-CPU ns, run-queue ns), wall-clock sleeps,
a known CPU hog, and a thread exit storm."""
import json
import os
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
    figures = []
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
        figures.append("tid %d runq %.0f/%.0f ms oncpu %.0f/%.0f ms" % (
            t["tid"], runq_us / 1e3, want_runq / 1e3, oncpu_us / 1e3, want_run / 1e3))
    return "latscope/schedstat: " + "; ".join(figures)


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
    return "off-CPU %.1f ms vs wall %.1f ms, run-queue %.0f us" % (off_us / 1e3, wall_us / 1e3, runq_us)


def test_cpu_hog_on_the_same_cpu_is_the_victims_top_culprit():
    return _culprit_is_the_hog([])


def test_culprit_named_right_with_by_thread():
    """Issue 14: with --by thread a culprit's comm must not be looked up
    under the wrong id (culprits are keyed by their process)."""
    return _culprit_is_the_hog(["--by", "thread"])


def _culprit_is_the_hog(extra):
    res, ivs, _ = _run(["culprit", 2.0, CPU], ["--no-syscalls"] + extra)
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
    return "ls-hog holds %.0f of %.0f ms run-queue wait (%.0f%%)" % (
        top[1] / 1e3, runq_us / 1e3, 100 * top[1] / runq_us)


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


def _map_entries(agent_pid, name):
    """Entries of the BPF map called name that the agent process holds
    (found through its fds, so other latscope instances do not count)."""
    ids = []
    fddir = "/proc/%d/fd" % agent_pid
    for fd in os.listdir(fddir):
        try:
            with open("/proc/%d/fdinfo/%s" % (agent_pid, fd)) as f:
                for line in f:
                    if line.startswith("map_id:"):
                        ids.append(int(line.split()[1]))
        except OSError:
            continue
    for map_id in ids:
        p = subprocess.run(["bpftool", "-j", "map", "show", "id", str(map_id)],
                           capture_output=True, text=True, timeout=10)
        if p.returncode == 0 and json.loads(p.stdout).get("name") == name:
            p = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, "bpftool map dump id %d: %s" % (map_id, p.stderr)
            return len(json.loads(p.stdout or "[]"))
    raise AssertionError("agent %d holds no map named %s" % (agent_pid, name))


def _storm(n):
    with lib.Workload("sched", "storm", n) as w:
        w.go()
        res = w.result(timeout=60)
    assert res["threads"] == n, res
    return w.pid


def test_thread_exit_storm_keeps_maps_bounded_and_frees_keys_of_dead_threads():
    cap = 2048  # sched_stats entries at the default --max-keys
    with lib.Agent("top", "--json", "-i", "0.5", "--comm", "sched", "--by", "thread") as a:
        time.sleep(0.3)
        _storm(3000)  # more threads than the map holds
        during = _map_entries(a.pid, "sched_stats")
        time.sleep(2.5)  # keys of exited threads go after 2 idle intervals
        after = _map_entries(a.pid, "sched_stats")
        after_sys = _map_entries(a.pid, "syscall_lat")
        t1 = time.time()
        pid2 = _storm(1000)  # fits again once the dead threads' keys are gone
        time.sleep(1.2)
        r = a.stop()
    assert r.rc == 0, r.describe()
    ivs = lib.intervals(r.stdout)
    assert during <= cap, "sched_stats holds %d keys, above its bound %d" % (during, cap)
    assert after <= 20, "sched_stats still holds %d keys (had %d) after the threads exited" % (
        after, during)
    assert after_sys <= 60, "syscall_lat still holds %d keys after the threads exited" % after_sys
    storm1 = sum(iv["drops"]["sched_stats"] for iv in ivs)
    # a thread makes a few switch events: drops cannot exceed a few per thread
    assert storm1 <= 3000 * 8, "sched_stats drops %d for a 3000-thread storm" % storm1
    late = [iv for iv in ivs if lib.parse_rfc3339_utc(iv["time"]).timestamp() > t1 + 0.6]
    # map-full drops (switch_in_missing: tracepoints the kernel did not deliver)
    drops2 = {k: sum(lib.map_drops(iv)[k] for iv in late) for k in lib.map_drops(ivs[0])}
    assert all(v == 0 for v in drops2.values()), "drops after the maps recovered: %r" % drops2
    tids2 = {row["tid"] for iv in ivs for row in iv["sched"] if row["pid"] == pid2}
    assert len(tids2) >= 900, "only %d of the second storm's 1000 threads were seen" % len(tids2)
    return ("3000-thread storm: sched_stats %d keys (bound %d), %d drops; %d keys 2.5 s later; "
            "second storm: %d tids seen (1000 threads + main), 0 drops" % (during, cap, storm1, after,
                                                                 len(tids2)))
