# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""`latscope slow` against ground truth (tests/workloads/slowcalls.c): a pipe
read woken by a known writer after a measured delay, run-queue waits checked
against the kernel's own schedstat run_delay, on-CPU and preempted reads
against schedstat on-CPU time, a socket and files resolved against
getsockname/getpeername and the real paths, idle waits (epoll, futex), lock
waits naming the unlocker, an exact event count under a rate limit, the waker
of a timer wakeup, and the terminal-safe text output.

Every slow event of every test goes through _check_event: the schema, and
oncpu_us + runq_us + blocked_us within max(5% of lat_us, 20 us) of lat_us
(each part is measured on its own scheduler edges, so the sum can be wrong).
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import lib

FIELDS = ("type", "time", "pid", "tid", "comm", "cgroup", "service", "syscall", "ret",
          "lat_us", "oncpu_us", "runq_us", "preempted_us", "blocked_us", "blocked_disk_us",
          "switches", "start", "cpu", "waker", "fd")
DURATIONS = ("lat_us", "oncpu_us", "runq_us", "preempted_us", "blocked_us", "blocked_disk_us")
FD_TYPES = ("tcp", "udp", "unix", "file", "pipe", "eventfd", "timerfd", "epoll", "other")
SOCKET_FIELDS = ("laddr", "lport", "raddr", "rport")
IRQ_CONTEXTS = ("hardirq", "softirq")
TIMER_VECTORS = ("hrtimer", "TIMER")


def _desc(e):
    """An event in one line, for failure messages."""
    w = e.get("waker") or {}
    fd = e.get("fd") or {}
    return ("%s tid %s ret %s lat %.0fus = oncpu %.0f + runq %.0f (preempted %.0f) + blocked %.0f, "
            "waker %s, fd %s" % (e.get("syscall"), e.get("tid"), e.get("ret"), e.get("lat_us", -1),
                                 e.get("oncpu_us", -1), e.get("runq_us", -1),
                                 e.get("preempted_us", -1), e.get("blocked_us", -1),
                                 w or None, fd or None))


def _within(got, want, rel, what, absolute=0.0):
    """Assert |got - want| <= max(rel * want, absolute), saying expected vs reported."""
    tol = max(rel * abs(want), absolute)
    assert abs(got - want) <= tol, "%s: expected %.1f (+-%.1f), reported %.1f" % (
        what, want, tol, got)


def _check_event(e):
    """The contract every slow event must meet, including the accounting."""
    missing = [f for f in FIELDS if f not in e]
    assert not missing, "slow event lacks %s: %r" % (missing, e)
    assert isinstance(e["syscall"], str) and e["syscall"], e
    assert isinstance(e["ret"], int), e
    if e["ret"] < 0:
        assert isinstance(e.get("errno"), str) and e["errno"].startswith("E"), \
            "ret %d without a symbolic errno: %r" % (e["ret"], e)
    else:
        assert "errno" not in e, "errno present with ret %d: %r" % (e["ret"], e)
    for f in DURATIONS:
        assert isinstance(e[f], (int, float)) and e[f] >= 0, "%s is %r in %r" % (f, e[f], e)
    assert isinstance(e["switches"], int) and e["switches"] >= 0, e
    assert isinstance(e["partial"], bool), e
    assert isinstance(e["cpu"], int) and 0 <= e["cpu"] < os.cpu_count(), e
    lib.parse_rfc3339_utc(e["time"])
    start = lib.parse_rfc3339_utc(e["start"])
    assert start <= lib.parse_rfc3339_utc(e["time"]), "start %s after time %s" % (
        e["start"], e["time"])
    # the parts are measured on their own edges: their sum must meet the latency
    lat = e["lat_us"]
    parts = e["oncpu_us"] + e["runq_us"] + e["blocked_us"]
    tol = max(0.05 * lat, 20.0)
    assert abs(parts - lat) <= tol, \
        "accounting: oncpu+runq+blocked = %.1fus, lat_us %.1fus: off by %.1fus (> %.1fus): %s" % (
            parts, lat, parts - lat, tol, _desc(e))
    assert e["preempted_us"] <= e["runq_us"] + 1.0, "preempted_us > runq_us: %s" % _desc(e)
    assert e["blocked_disk_us"] <= e["blocked_us"] + 1.0, \
        "blocked_disk_us %.1f > blocked_us %.1f" % (e["blocked_disk_us"], e["blocked_us"])
    w = e["waker"]
    if w is not None:
        assert w.get("context") in ("task",) + IRQ_CONTEXTS, "waker %r" % (w,)
        if w["context"] == "task":
            assert {"pid", "tid", "comm"} <= set(w), "task waker %r" % (w,)
        else:
            assert isinstance(w.get("vector"), str) and w["vector"], "irq waker %r" % (w,)
            assert isinstance(w.get("over"), dict) and {"pid", "tid", "comm"} <= set(w["over"]), \
                "irq waker without the task it ran over: %r" % (w,)
    fd = e["fd"]
    if fd is not None:
        assert isinstance(fd.get("fd"), int) and fd["fd"] >= 0, "fd %r" % (fd,)
        assert fd.get("type") in FD_TYPES, "fd type %r" % (fd,)
        if fd["type"] in ("tcp", "udp"):
            assert all(f in fd for f in SOCKET_FIELDS), "socket fd without addresses %r" % (fd,)
        elif fd["type"] != "unix":
            assert not any(f in fd for f in SOCKET_FIELDS), "non-socket with addresses %r" % (fd,)
        if fd["type"] == "file":
            assert isinstance(fd.get("path"), str) and isinstance(fd.get("truncated"), bool), \
                "file fd without path/truncated %r" % (fd,)
        else:
            assert "path" not in fd and "truncated" not in fd, "path on a %s fd %r" % (
                fd["type"], fd)


def _parse(result, check=True):
    """(slow events, drops lines) of a `slow --json` run, every event checked
    (unless check is False: the caller checks the events it compares first)."""
    events, drops = [], []
    for o in lib.parse_ndjson(result.stdout):
        if o.get("type") == "slow":
            if check:
                _check_event(o)
            events.append(o)
        elif o.get("type") == "drops":
            assert isinstance(o.get("rate_limited"), int) and isinstance(o.get("lost"), int), o
            assert o["rate_limited"] >= 0 and o["lost"] >= 0, o
            lib.parse_rfc3339_utc(o["time"])
            drops.append(o)
        else:
            raise AssertionError("unexpected object in slow --json: %r" % (o,))
    return events, drops


def _result(w, timeout):
    """The workload's JSON result, failing with its stderr when it has none."""
    try:
        return w.result(timeout=timeout)
    except ValueError as e:
        raise AssertionError("workload %s printed no JSON result (%s); stderr: %s" % (
            " ".join(w.cmd), e, w.err.text()))


def _run(wargs, agent_args, json_out=True, settle=0.5, timeout=30, check=True):
    """Start the workload, attach `slow -p PID`, release it, collect.

    Returns (workload result, slow events, drops lines, agent result)."""
    with lib.Workload("slowcalls", *wargs) as w:
        args = (["--json"] if json_out else []) + ["-p", w.pid] + list(agent_args)
        with lib.Agent("slow", *args) as a:
            time.sleep(0.3)
            w.go()
            res = _result(w, timeout)
            time.sleep(settle)  # events are emitted at sys_exit; let the reader catch up
            r = a.stop()
    assert r.rc == 0, r.describe()
    if not json_out:
        return res, None, None, r
    events, drops = _parse(r, check)
    # the main thread's read of the "go" line on fd 0 is a real slow call when
    # the workload's set-up outlasted the attach: checked above, set aside here
    events = [e for e in events if not (e["tid"] == w.pid and e["syscall"] == "read"
                                        and e["fd"] is not None and e["fd"]["fd"] == 0)]
    return res, events, drops, r


def _by_start(events):
    return sorted(events, key=lambda e: lib.parse_rfc3339_utc(e["start"]))


# what a workload does to set itself up (threads, pinning): slow only when
# the machine is busy, and never what a test looks at
SETUP_CALLS = ("sched_setaffinity", "clone", "clone3", "mmap", "munmap", "mprotect",
               "set_robust_list", "rseq", "prctl", "exit")


def _only(events, pid, what):
    """Fail on events of pid other than those expected (what: a predicate)
    and the set-up calls."""
    extra = [e for e in events if e["pid"] == pid and not what(e)
             and e["syscall"] not in SETUP_CALLS]
    assert not extra, "unexpected slow events: %s" % "; ".join(_desc(e) for e in extra[:5])


# --- 1. blocked ------------------------------------------------------------

def test_pipe_read_is_blocked_for_the_writers_delay_and_names_the_writer():
    """Reader pinned on CPU0, writer on CPU1 writing 100 ms after the reader
    went in, 5 times, default threshold (10ms): each read is one event,
    blocked_us = the measured delay within 12.5%, runq small, woken by the
    writer's tid in task context, fd a pipe."""
    rounds, delay_ms = 5, 100
    res, events, _, _ = _run(["pipe", rounds, delay_ms], [])
    reads = _by_start([e for e in events if e["tid"] == res["reader"] and e["syscall"] == "read"])
    _only(events, res["pid"], lambda e: e["tid"] == res["reader"])
    assert len(reads) == rounds, "expected %d slow reads by reader %d, reported %d: %s" % (
        rounds, res["reader"], len(reads), "; ".join(_desc(e) for e in reads))
    figures = []
    for i, (e, truth) in enumerate(zip(reads, res["rounds"])):
        assert e["syscall"] == "read" and e["ret"] == truth["ret"] == 1, _desc(e)
        _within(e["blocked_us"], truth["blocked_us"], 0.125, "round %d blocked_us" % i)
        _within(e["lat_us"], truth["lat_us"], 0.125, "round %d lat_us" % i)
        # the wait for CPU0 lies between the writer's write and the read's
        # return, both measured. (Not schedstat here: after a blocking pipe
        # read this kernel's run_delay was seen to exceed the whole span from
        # sched_waking to switch-in, 308 us vs 186 us, under bpftrace.)
        woke_to_return = truth["lat_us"] - truth["blocked_us"]
        assert e["runq_us"] <= woke_to_return + 20, \
            "round %d: runq_us %.0f longer than write-to-return %.0f us: %s" % (
                i, e["runq_us"], woke_to_return, _desc(e))
        assert e["runq_us"] <= 0.10 * e["lat_us"], \
            "round %d: runq_us %.0f is not small next to lat_us %.0f: %s" % (
                i, e["runq_us"], e["lat_us"], _desc(e))
        w = e["waker"]
        assert w is not None and w["context"] == "task" and w["tid"] == res["writer"], \
            "round %d: expected waker task tid %d (the writer), reported %r" % (i, res["writer"], w)
        assert w["pid"] == res["pid"], w
        fd = e["fd"]
        assert fd is not None and fd["type"] == "pipe" and fd["fd"] == res["fd"], \
            "round %d: expected fd %d of type pipe, reported %r" % (i, res["fd"], fd)
        assert e["comm"] == "slowcalls", e["comm"]
        figures.append("%.1f/%.1f" % (e["blocked_us"] / 1e3, truth["blocked_us"] / 1e3))
    return ("blocked ms reported/measured: %s; runq us reported/write-to-return: %s; "
            "waker = writer %d" % (
                " ".join(figures),
                " ".join("%.0f/%.0f" % (e["runq_us"], t["lat_us"] - t["blocked_us"])
                         for e, t in zip(reads, res["rounds"])), res["writer"]))


# --- 2. run queue ----------------------------------------------------------

RUNQ_ROUNDS = 16


def test_runq_of_a_sleep_on_a_busy_cpu_matches_schedstat_run_delay():
    """A SCHED_BATCH sleeper on CPU1 with 2 hogs does clock_nanosleep(21ms)
    16 times (21, not 20: the wakeup phase against the 4 ms tick then moves
    from call to call, so some calls wait and some do not), reading its
    schedstat run_delay right before and after each call.

    Compared per call within 10%, with a 200 us floor (when the wakeup itself
    makes the hog reschedule, the kernel does not advance its rq clock and
    records run_delay 0 for a wait of tens of microseconds: 0 or 18 us seen
    for 20-73 us from sched_waking to switch-in); the schedstat delta
    may also hold a wait outside the call, at most the time the workload
    measured around it (outside_us), so that much more is allowed below it.
    And over the sum of the calls where that time is under 100 us, within
    10%."""
    res, events, _, _ = _run(["runq", RUNQ_ROUNDS, 21, 1, 2],
                             ["--syscall", "clock_nanosleep", "--threshold", "15ms"])
    _only(events, res["pid"], lambda e: e["syscall"] == "clock_nanosleep")
    evs = _by_start([e for e in events if e["tid"] == res["tid"]])
    assert len(evs) == RUNQ_ROUNDS, "expected %d clock_nanosleep events, reported %d: %s" % (
        RUNQ_ROUNDS, len(evs), "; ".join(_desc(e) for e in evs))
    for i, (e, t) in enumerate(zip(evs, res["rounds"])):
        _within(e["lat_us"], t["lat_us"], 0.125, "call %d lat_us" % i)
        tol = max(0.10 * t["run_delay_us"], 200)
        assert t["run_delay_us"] - tol - t["outside_us"] <= e["runq_us"] <= t["run_delay_us"] + tol, \
            "call %d: expected runq_us within [%.0f, %.0f] (schedstat run_delay %.0f us, %.0f us " \
            "spent around the call), reported %.1f: %s" % (
                i, t["run_delay_us"] - tol - t["outside_us"], t["run_delay_us"] + tol,
                t["run_delay_us"], t["outside_us"], e["runq_us"], _desc(e))
        assert e["preempted_us"] <= e["runq_us"], _desc(e)
    clean = [(e, t) for e, t in zip(evs, res["rounds"]) if t["outside_us"] < 100]
    assert len(clean) >= RUNQ_ROUNDS // 2, "only %d of %d calls without a stall around them: " \
        "%r" % (len(clean), RUNQ_ROUNDS, res["rounds"])
    want = sum(t["run_delay_us"] for _, t in clean)
    got = sum(e["runq_us"] for e, _ in clean)
    assert want >= 5000, "the sleeper barely waited (run_delay %.0f us over %d calls): no " \
        "contention on CPU1" % (want, len(clean))
    _within(got, want, 0.10, "sum of runq_us vs sum of schedstat run_delay (us)")
    return "runq per call reported/run_delay(outside) us: %s; sum %.0f/%.0f us over %d calls" % (
        " ".join("%.0f/%.0f(%.0f)" % (e["runq_us"], t["run_delay_us"], t["outside_us"])
                 for e, t in zip(evs, res["rounds"])), got, want, len(clean))


# --- 3. on-CPU -------------------------------------------------------------

def test_big_read_from_dev_zero_is_on_cpu():
    """One 128 MiB read() from /dev/zero into a prefaulted buffer never
    leaves the CPU on purpose: oncpu_us >= 90% of lat_us."""
    res, events, _, _ = _run(["oncpu", 128], ["--syscall", "read", "--threshold", "20ms"])
    evs = [e for e in events if e["tid"] == res["tid"] and e["fd"] and e["fd"]["fd"] == res["fd"]]
    assert len(evs) == 1, "expected 1 slow read of /dev/zero, reported %d: %s" % (
        len(evs), "; ".join(_desc(e) for e in evs))
    e = evs[0]
    assert e["syscall"] == "read" and e["ret"] == res["ret"] == 128 << 20, _desc(e)
    _within(e["lat_us"], res["lat_us"], 0.125, "lat_us of the read")
    assert e["oncpu_us"] >= 0.9 * e["lat_us"], \
        "expected oncpu_us >= 90%% of lat_us %.0f, reported %.0f (%.0f%%): %s" % (
            e["lat_us"], e["oncpu_us"], 100 * e["oncpu_us"] / e["lat_us"], _desc(e))
    assert e["waker"] is None or e["blocked_us"] > 0, "a waker for a call never blocked: %s" % (
        _desc(e))
    return "oncpu %.1f of %.1f ms (%.1f%%), measured %.1f ms" % (
        e["oncpu_us"] / 1e3, e["lat_us"] / 1e3, 100 * e["oncpu_us"] / e["lat_us"],
        res["lat_us"] / 1e3)


def test_read_sharing_its_cpu_with_a_hog_matches_schedstat_and_is_preempted():
    """The same read (128 MiB from /dev/zero) pinned on CPU1 beside a hog:
    it never blocks, so its run-queue wait is all preemption. Against the
    thread's schedstat around the call: oncpu_us = on-CPU time and runq_us =
    run_delay, each within 10%; preempted_us >= 90% of runq_us; blocked ~0."""
    res, events, _, _ = _run(["oncpu", 128, 1, 1], ["--syscall", "read", "--threshold", "20ms"])
    evs = [e for e in events if e["tid"] == res["tid"] and e["fd"] and e["fd"]["fd"] == res["fd"]]
    assert len(evs) == 1, "expected 1 slow read of /dev/zero, reported %d: %s" % (
        len(evs), "; ".join(_desc(e) for e in evs))
    e = evs[0]
    assert e["ret"] == res["ret"] == 128 << 20, _desc(e)
    _within(e["lat_us"], res["lat_us"], 0.125, "lat_us of the read")
    assert res["run_delay_us"] >= 0.2 * res["lat_us"], "the hog did not contend: %r" % res
    _within(e["oncpu_us"], res["run_us"], 0.10, "oncpu_us vs schedstat on-CPU time (us)")
    _within(e["runq_us"], res["run_delay_us"], 0.10, "runq_us vs schedstat run_delay (us)")
    assert e["preempted_us"] >= 0.9 * e["runq_us"], \
        "expected preempted_us >= 90%% of runq_us %.0f (the read never blocks), reported " \
        "%.0f: %s" % (e["runq_us"], e["preempted_us"], _desc(e))
    assert e["blocked_us"] <= max(0.01 * e["lat_us"], 100), \
        "blocked_us %.0f for a read that never blocks: %s" % (e["blocked_us"], _desc(e))
    assert e["switches"] > 0, "no switches reported for a preempted call: %s" % _desc(e)
    return "oncpu %.1f/%.1f ms, runq %.1f/%.1f ms (reported/schedstat), preempted %.1f ms, " \
        "blocked %.0f us, %d switches" % (
            e["oncpu_us"] / 1e3, res["run_us"] / 1e3, e["runq_us"] / 1e3,
            res["run_delay_us"] / 1e3, e["preempted_us"] / 1e3, e["blocked_us"], e["switches"])


def test_read_preempted_long_after_its_last_switch_in_counts_only_its_own_cpu_time():
    """Pinned alone on CPU1, the thread spins 100 ms in user space, then reads
    128 MiB from /dev/zero; a hog on CPU1 wakes 150 ms after the spin began,
    in the middle of the read, and shares the CPU with it. The read's
    oncpu_us must match the thread's schedstat on-CPU time across the call
    within 10% (the 100 ms on CPU before the call are not the call's), and
    runq_us its run_delay within 10%."""
    res, events, _, _ = _run(["preempt", 128, 1, 100, 150],
                             ["--syscall", "read", "--threshold", "20ms"], check=False)
    evs = [e for e in events if e["tid"] == res["tid"] and e["fd"] and e["fd"]["fd"] == res["fd"]]
    assert len(evs) == 1, "expected 1 slow read of /dev/zero, reported %d: %s" % (
        len(evs), "; ".join(_desc(e) for e in evs))
    e = evs[0]
    assert e["ret"] == res["ret"] == 128 << 20, _desc(e)
    assert res["run_delay_us"] >= 0.2 * res["lat_us"], "the hog did not contend: %r" % res
    _within(e["lat_us"], res["lat_us"], 0.125, "lat_us of the read")
    _within(e["oncpu_us"], res["run_us"], 0.10,
            "oncpu_us vs schedstat on-CPU time across the call (us; %.0f us spun on CPU just "
            "before it)" % res["spin_us"])
    _within(e["runq_us"], res["run_delay_us"], 0.10, "runq_us vs schedstat run_delay (us)")
    for x in events:  # compared first for the clearer message; the contract still holds
        _check_event(x)
    return "oncpu %.1f/%.1f ms, runq %.1f/%.1f ms (reported/schedstat), lat %.1f ms" % (
        e["oncpu_us"] / 1e3, res["run_us"] / 1e3, e["runq_us"] / 1e3, res["run_delay_us"] / 1e3,
        e["lat_us"] / 1e3)


READS = 10


def test_reads_under_load_from_other_processes_match_schedstat_per_call():
    """10 reads of 64 MiB from /dev/zero, unpinned, while three busy loops of
    other processes (not selected by -p) load both CPUs: each read's oncpu_us
    matches the thread's schedstat on-CPU time across the call and its
    runq_us the run_delay, within 10% (at least 8 ms for on-CPU time: a
    running thread's schedstat lags by up to a 4 ms tick at each end; the
    run_delay may also hold a wait just around the call, outside_us)."""
    load = []
    try:
        for _ in range(3):
            load.append(subprocess.Popen(["sh", "-c", "while :; do :; done"]))
        res, events, _, _ = _run(["reads", READS, 64], ["--syscall", "read", "--threshold", "20ms"],
                                 check=False, timeout=60)
    finally:
        for p in load:
            p.kill()
            p.wait()
    evs = _by_start([e for e in events if e["tid"] == res["tid"] and e["fd"]
                     and e["fd"]["fd"] == res["fd"]])
    assert len(evs) == READS, "expected %d slow reads, reported %d: %s" % (
        READS, len(evs), "; ".join(_desc(e) for e in evs))
    bad = []
    # a call during which a switch-in of the thread never reached the agent
    # (seen here under this load: ~27 host-wide in 8 s, counted in the drops
    # as switch_in_missing) is marked partial, its oncpu_us being what the
    # other parts leave of the latency; it is not compared with schedstat,
    # and at least half of the calls must be complete
    partial = [i for i, e in enumerate(evs) if e["partial"]]
    assert len(partial) <= READS // 2, "%d of %d reads partial: %s" % (
        len(partial), READS, "; ".join(_desc(evs[i]) for i in partial))
    for i, (e, t) in enumerate(zip(evs, res["rounds"])):
        if i in partial:
            continue
        tol_on = max(0.10 * t["run_us"], 8000)
        tol_rq = max(0.10 * t["run_delay_us"], 1000)
        if abs(e["oncpu_us"] - t["run_us"]) > tol_on:
            bad.append("read %d: expected oncpu_us %.0f (+-%.0f, schedstat), reported %.0f: %s" % (
                i, t["run_us"], tol_on, e["oncpu_us"], _desc(e)))
        if not t["run_delay_us"] - tol_rq - t["outside_us"] <= e["runq_us"] <= \
                t["run_delay_us"] + tol_rq:
            bad.append("read %d: expected runq_us %.0f (+-%.0f, schedstat), reported %.0f: %s" % (
                i, t["run_delay_us"], tol_rq, e["runq_us"], _desc(e)))
    assert not bad, "%d of %d reads off: %s" % (len(bad), READS, " | ".join(bad))
    assert sum(t["run_delay_us"] for t in res["rounds"]) >= 0.1 * sum(
        t["lat_us"] for t in res["rounds"]), "the load did not contend: %r" % res["rounds"]
    for x in events:  # compared first for the clearer message; the contract still holds
        _check_event(x)
    return "%d partial; oncpu/schedstat ms: %s; runq/run_delay ms: %s" % (len(partial),
        " ".join("%.0f/%.0f" % (e["oncpu_us"] / 1e3, t["run_us"] / 1e3)
                 for e, t in zip(evs, res["rounds"])),
        " ".join("%.0f/%.0f" % (e["runq_us"] / 1e3, t["run_delay_us"] / 1e3)
                 for e, t in zip(evs, res["rounds"])))


# --- 5. socket -------------------------------------------------------------

CLI_IP, SRV_IP, PORT = "10.231.0.1", "10.231.0.2", 7412


def _sh(*cmd):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, "%s failed (%d): %s" % (" ".join(map(str, cmd)), p.returncode,
                                                    p.stderr.strip())
    return p.stdout


class _Net:
    """Two namespaces joined by a veth pair, deleted on exit (also on failure)."""

    def __init__(self):
        tag = str(os.getpid())
        self.cli, self.srv = "lsslc" + tag, "lssls" + tag

    def __enter__(self):
        try:
            _sh("ip", "netns", "add", self.cli)
            _sh("ip", "netns", "add", self.srv)
            _sh("ip", "link", "add", "lssl-c", "netns", self.cli, "type", "veth",
                "peer", "name", "lssl-s", "netns", self.srv)
            for ns, dev, ip in ((self.cli, "lssl-c", CLI_IP), (self.srv, "lssl-s", SRV_IP)):
                _sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", dev)
                _sh("ip", "-n", ns, "link", "set", dev, "up")
                _sh("ip", "-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for ns in (self.cli, self.srv):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        return False


class _NsWorkload(lib.Workload):
    """build/tests/slowcalls in a network namespace (ip netns exec keeps the pid)."""

    def __init__(self, ns, *args):
        super().__init__("slowcalls", *args)
        self.cmd = ["ip", "netns", "exec", ns] + self.cmd


def test_socket_read_names_the_tcp_connection_across_namespaces():
    """A client in one namespace blocks in read() until a server in another
    (over veth) answers 50 ms later: the event's fd is tcp with the client's
    getsockname/getpeername addresses."""
    with _Net() as net:
        with _NsWorkload(net.srv, "tcpserve", PORT, 50) as srv:
            line = srv.out.next_line(5)
            assert line == "listening", "server did not start: %r %s" % (line, srv.err.text())
            with _NsWorkload(net.cli, "tcpclient", SRV_IP, PORT) as cli:
                with lib.Agent("slow", "--json", "-p", cli.pid, "--threshold", "20ms") as a:
                    time.sleep(0.3)
                    cli.go()
                    res = _result(cli, 10)
                    time.sleep(0.5)
                    r = a.stop()
    assert r.rc == 0, r.describe()
    events, _ = _parse(r)
    evs = [e for e in events if e["tid"] == res["tid"]]
    _only(events, res["pid"], lambda e: e["tid"] == res["tid"] and e["syscall"] == "read")
    assert len(evs) == 1, "expected 1 slow read on the socket, reported %d: %s" % (
        len(evs), "; ".join(_desc(e) for e in evs))
    e = evs[0]
    assert e["syscall"] == "read" and e["ret"] == res["ret"] == 5, _desc(e)
    _within(e["lat_us"], res["lat_us"], 0.125, "lat_us of the socket read")
    fd = e["fd"]
    want = {"fd": res["fd"], "type": "tcp", "laddr": res["laddr"], "lport": res["lport"],
            "raddr": res["raddr"], "rport": res["rport"]}
    assert fd is not None and all(fd.get(k) == v for k, v in want.items()), \
        "expected fd %r, reported %r" % (want, fd)
    assert res["laddr"] == CLI_IP and res["raddr"] == SRV_IP and res["rport"] == PORT, res
    return "fd %s %s:%d -> %s:%d (getsockname/getpeername agree), lat %.1f/%.1f ms, waker %r" % (
        fd["type"], fd["laddr"], fd["lport"], fd["raddr"], fd["rport"], e["lat_us"] / 1e3,
        res["lat_us"] / 1e3, e["waker"])


# --- 6. files --------------------------------------------------------------

def _mount_point(path):
    p = os.path.realpath(path)
    while not os.path.ismount(p):
        p = os.path.dirname(p)
    return p


def _expected_path(path):
    """(path, truncated) per the contract: the last <= 8 components relative
    to the file's mount, prefixed by the mount point."""
    real = os.path.realpath(path)
    mnt = _mount_point(real)
    comps = os.path.relpath(real, mnt).split("/")
    return os.path.join(mnt, *comps[-8:]), len(comps) > 8, mnt


def _path_matches(got, want, truncated, mnt):
    """A whole path must be exact. A cut one is the mount point, then
    optionally one ellipsis marking the cut ("/.../" or "/\u2026/"), then the
    last 8 components, exactly."""
    if not truncated:
        return got == want
    prefix = mnt.rstrip("/")
    tail = want[len(prefix):]
    return got in (prefix + tail, prefix + "/..." + tail, prefix + "/\u2026" + tail)


def test_file_reads_carry_the_path_truncated_to_eight_components():
    """--threshold 0 --syscall read,openat: every read and open is reported.
    A file 15 components below its mount is cut to its last 8 (truncated),
    one at 8 exactly and one at 3 are whole (not truncated); each openat
    event resolves the fd it returned, to the same path."""
    tree = tempfile.mkdtemp(prefix="latscope-slow-test-", dir="/tmp")
    deep = os.path.join(tree, *["d%d" % i for i in range(1, 13)], "file")
    shallow = os.path.join(tree, "shallow")
    files = [deep, shallow]
    # one file exactly 8 components below its mount, whatever /tmp is on
    base = len(os.path.relpath(os.path.realpath(tree), _mount_point(tree)).split("/"))
    if base <= 6:
        files.append(os.path.join(tree, *["e%d" % i for i in range(1, 8 - base)], "file"))
        assert len(os.path.relpath(files[-1], _mount_point(tree)).split("/")) == 8
    expected = {p: _expected_path(p) for p in files}
    try:
        for p in files:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write("latscope\n")
        res, events, _, _ = _run(["files"] + files,
                                 ["--threshold", "0", "--syscall", "read,openat"])
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    _only(events, res["pid"], lambda e: e["syscall"] in ("read", "openat"))
    figures = []
    for f in res["files"]:
        want_path, want_trunc, mnt = expected[f["path"]]
        for call, ret in (("openat", f["fd"]), ("read", f["ret"])):
            evs = [e for e in events if e["tid"] == res["tid"] and e["syscall"] == call
                   and e["fd"] and e["fd"]["fd"] == f["fd"]]
            assert len(evs) == 1, "expected 1 %s event on fd %d (%s), reported %d: %s" % (
                call, f["fd"], f["path"], len(evs),
                "; ".join(_desc(e) for e in events if e["syscall"] == call))
            e = evs[0]
            assert e["ret"] == ret, "%s: expected ret %d, reported %s" % (call, ret, _desc(e))
            fd = e["fd"]
            assert fd["type"] == "file", "%s: expected type file for %s, reported %r" % (
                call, f["path"], fd)
            assert fd["truncated"] is want_trunc and \
                _path_matches(fd["path"], want_path, want_trunc, mnt), \
                "%s: expected path %r truncated %r, reported %r truncated %r" % (
                    call, want_path, want_trunc, fd["path"], fd["truncated"])
        assert f["ret"] == 9, f
        figures.append("%s%s" % (fd["path"], " (truncated)" if fd["truncated"] else ""))
    assert [p for p in files if expected[p][1]] == [deep], "bad tree: %r" % expected
    return "; ".join(figures)


# --- 7. idle ---------------------------------------------------------------

def test_epoll_wait_is_left_out_by_default_and_reported_once_with_all():
    """epoll_wait(2000ms) on an empty set: no event at --threshold 100ms,
    exactly one with --all (with the epoll fd)."""
    res, events, _, _ = _run(["epoll", 2000], ["--threshold", "100ms"])
    mine = [e for e in events if e["pid"] == res["pid"]]
    assert not mine, "expected no event for an idle epoll_wait by default, reported: %s" % (
        "; ".join(_desc(e) for e in mine))
    res, events, _, _ = _run(["epoll", 2000], ["--threshold", "100ms", "--all"])
    mine = [e for e in events if e["pid"] == res["pid"]]
    assert len(mine) == 1, "expected exactly 1 event with --all, reported %d: %s" % (
        len(mine), "; ".join(_desc(e) for e in mine))
    e = mine[0]
    assert e["syscall"] == "epoll_wait" and e["tid"] == res["tid"] and e["ret"] == 0, _desc(e)
    _within(e["lat_us"], res["lat_us"], 0.125, "lat_us of epoll_wait")
    assert e["blocked_us"] >= 0.9 * e["lat_us"], _desc(e)
    fd = e["fd"]
    assert fd is not None and fd["type"] == "epoll" and fd["fd"] == res["fd"], \
        "expected fd %d of type epoll, reported %r" % (res["fd"], fd)
    return "default: 0 events; --all: 1 epoll_wait of %.0f ms (measured %.0f ms)" % (
        e["lat_us"] / 1e3, res["lat_us"] / 1e3)


def test_lock_waits_are_futex_wait_idle_by_default_and_name_the_unlocker():
    """An owner (CPU1) holds a mutex 150 ms; the waiter (CPU0) first times
    out after 30 ms (pthread_mutex_clocklock), then blocks until the unlock.
    By default (futex WAIT ops are idle) nothing is reported; with --syscall
    futex_wait both waits are, named futex_wait: the first ret -110 ETIMEDOUT
    woken by the timer interrupt, the second woken by the owner's tid,
    blocked for the measured time until the unlock within 12.5%."""
    res, events, _, _ = _run(["futex", 150, 30], ["--threshold", "20ms"])
    mine = [e for e in events if e["pid"] == res["pid"]]
    assert not mine, "expected no event for lock waits by default, reported: %s" % (
        "; ".join(_desc(e) for e in mine))
    res, events, _, _ = _run(["futex", 150, 30], ["--threshold", "20ms", "--syscall", "futex_wait"])
    assert res["timed_ret"] == 110, res
    evs = _by_start([e for e in events if e["tid"] == res["waiter"]])
    assert len(evs) == 2 and all(e["syscall"] == "futex_wait" for e in evs), \
        "expected 2 futex_wait events by the waiter %d, reported %s" % (
            res["waiter"], "; ".join(_desc(e) for e in evs))
    timed, woken = evs
    assert timed["ret"] == -110 and timed.get("errno") == "ETIMEDOUT", \
        "expected ret -110 ETIMEDOUT, reported %r %r" % (timed["ret"], timed.get("errno"))
    _within(timed["lat_us"], res["timed_us"], 0.125, "lat_us of the timed-out wait")
    w = timed["waker"]
    assert w is not None and w["context"] in IRQ_CONTEXTS, \
        "expected a timer interrupt waking the timed-out wait, reported %r" % (w,)
    assert woken["ret"] == 0, _desc(woken)
    _within(woken["lat_us"], res["wait_us"], 0.125, "lat_us of the lock wait")
    _within(woken["blocked_us"], res["blocked_us"], 0.125, "blocked_us of the lock wait")
    w = woken["waker"]
    assert w is not None and w["context"] == "task" and w["tid"] == res["owner"], \
        "expected waker task tid %d (the unlocker), reported %r" % (res["owner"], w)
    return "default: 0 events; timed out %s %s after %.1f/%.1f ms woken by %s %s; lock wait " \
        "blocked %.1f/%.1f ms woken by owner %d" % (
            timed["ret"], timed["errno"], timed["lat_us"] / 1e3, res["timed_us"] / 1e3,
            timed["waker"]["context"], timed["waker"].get("vector"), woken["blocked_us"] / 1e3,
            res["blocked_us"] / 1e3, w["tid"])


# --- 8. flood --------------------------------------------------------------

FLOOD = 200000


def test_flood_of_fast_calls_is_counted_exactly_under_the_rate_limit():
    """--threshold 0 --syscall getppid --max-rate 1000 over exactly 200000
    getppid calls: events + rate_limited + lost == 200000, rate_limited > 0,
    and the agent ends by itself after -n intervals with status 0."""
    with lib.Workload("slowcalls", "flood", FLOOD) as w:
        with lib.Agent("slow", "--json", "-p", w.pid, "--threshold", "0", "--syscall", "getppid",
                       "--max-rate", 1000, "-i", "0.5", "-n", 6) as a:
            time.sleep(0.3)
            w.go()
            res = _result(w, 30)
            r = a.wait(timeout=6)
    assert r.rc == 0, r.describe()
    events, drops = _parse(r)
    mine = [e for e in events if e["pid"] == res["pid"]]
    _only(events, res["pid"], lambda e: e["syscall"] == "getppid")
    assert len(mine) == len(events), "events of other processes under -p"
    limited = sum(d["rate_limited"] for d in drops)
    lost = sum(d["lost"] for d in drops)
    total = len(mine) + limited + lost
    assert total == FLOOD, \
        "expected %d calls, reported %d events + %d rate_limited + %d lost = %d" % (
            FLOOD, len(mine), limited, lost, total)
    assert limited > 0, "nothing rate-limited at --max-rate 1000 for %d calls" % FLOOD
    cap = 1000 * (res["seconds"] + 2)
    assert len(mine) <= cap, "%d events emitted in %.2f s at --max-rate 1000 (> %.0f)" % (
        len(mine), res["seconds"], cap)
    assert r.elapsed <= 6.0, "agent -i 0.5 -n 6 ran %.1f s" % r.elapsed
    return "%d events + %d rate_limited + %d lost = %d of %d calls in %.2f s; exit after %.1f s" % (
        len(mine), limited, lost, total, FLOOD, res["seconds"], r.elapsed)


def test_sigint_during_a_flood_exits_zero_promptly():
    """SIGINT while a getppid flood fills the rate limiter: exit 0 within
    2 s, drops reported, never more events + drops than calls."""
    with lib.Workload("slowcalls", "floodfor", 3) as w:
        with lib.Agent("slow", "--json", "-p", w.pid, "--threshold", "0", "--syscall", "getppid",
                       "--max-rate", 1000) as a:
            time.sleep(0.3)
            w.go()
            time.sleep(1.5)
            t0 = time.monotonic()
            r = a.stop(signal.SIGINT, timeout=5)
            took = time.monotonic() - t0
        res = _result(w, 10)
    assert r.rc == 0, r.describe()
    assert took <= 2.0, "agent took %.2f s to exit on SIGINT" % took
    events, drops = _parse(r)
    limited = sum(d["rate_limited"] for d in drops)
    lost = sum(d["lost"] for d in drops)
    assert limited > 0, "no rate_limited drops reported: %r" % drops
    assert len(events) + limited + lost <= res["calls"], \
        "%d events + %d drops > %d calls made" % (len(events), limited + lost, res["calls"])
    return "exit 0 in %.2f s; %d events + %d rate_limited + %d lost of %d calls" % (
        took, len(events), limited, lost, res["calls"])


# --- 9. waker context ------------------------------------------------------

def test_timerfd_read_over_a_hog_is_woken_by_the_timer_interrupt_not_the_hog():
    """A reader and a busy hog pinned on CPU1; the reader reads a timerfd
    armed for 50 ms, 5 times: the wakeup comes from the hrtimer interrupt
    (hardirq/softirq context, vector hrtimer or TIMER), never the hog as a
    task waker."""
    rounds = 5
    res, events, _, _ = _run(["timerfd", rounds, 50, 1], ["--threshold", "20ms"])
    hog = res["hogs"][0]
    evs = _by_start([e for e in events if e["tid"] == res["reader"] and e["syscall"] == "read"])
    _only(events, res["pid"], lambda e: e["tid"] == res["reader"])
    assert len(evs) == rounds, "expected %d slow timerfd reads, reported %d: %s" % (
        rounds, len(evs), "; ".join(_desc(e) for e in evs))
    overs = []
    for i, (e, t) in enumerate(zip(evs, res["rounds"])):
        assert e["syscall"] == "read" and e["ret"] == t["ret"] == 8, _desc(e)
        _within(e["lat_us"], t["lat_us"], 0.125, "round %d lat_us" % i)
        w = e["waker"]
        assert w is not None, "round %d: no waker for a timerfd read: %s" % (i, _desc(e))
        assert not (w["context"] == "task" and w.get("tid") == hog), \
            "round %d: the hog %d reported as the task waker: %r" % (i, hog, w)
        assert w["context"] in IRQ_CONTEXTS and w.get("vector") in TIMER_VECTORS, \
            "round %d: expected waker context hardirq/softirq with vector hrtimer/TIMER, " \
            "reported %r" % (i, w)
        fd = e["fd"]
        assert fd is not None and fd["type"] == "timerfd" and fd["fd"] == res["fd"], \
            "round %d: expected fd %d of type timerfd, reported %r" % (i, res["fd"], fd)
        overs.append("%s %s over %s/%s" % (w["context"], w["vector"], w["over"]["comm"],
                                           w["over"]["tid"]))
    return "wakers: %s (hog tid %d)" % ("; ".join(overs), hog)


# --- 10. text mode ---------------------------------------------------------

EVIL_COMM = "\x1b]0;pwn\x07"
DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)(?![a-zA-Z])")
UNIT_US = {"ns": 1e-3, "us": 1.0, "µs": 1.0, "ms": 1e3, "s": 1e6}


def test_text_output_one_line_per_event_with_breakdown_and_escaped_comm():
    """Without --json: one line per slow read with the syscall, its latency
    and the cpu/runq/blocked parts; a comm holding ESC and BEL (set with
    PR_SET_NAME) is printed escaped, never raw. With --json the same comm
    round-trips exactly."""
    rounds = 3
    res, _, _, r = _run(["pipe", rounds, 50, EVIL_COMM], [], json_out=False)
    out = "\n".join(r.stdout)
    assert "\x1b" not in out and "\x07" not in out, \
        "raw ESC/BEL from the comm in text output: %r" % [l for l in r.stdout if "\x1b" in l][:3]
    lines = [l for l in r.stdout if re.search(r"\bread\b", l) and "runq" in l]
    assert len(lines) == rounds, "expected %d event lines naming read, got %d:\n%s" % (
        rounds, len(lines), out)
    for line, t in zip(lines, res["rounds"]):
        for part in ("cpu", "runq", "blocked"):
            assert part in line, "no %r part in %r" % (part, line)
        assert "]0;pwn" in line, "the comm is not in the line (escaped): %r" % line
        durs = [float(v) * UNIT_US[u] for v, u in DURATION_RE.findall(line)]
        assert any(abs(d - t["lat_us"]) <= 0.125 * t["lat_us"] for d in durs), \
            "no latency within 12.5%% of %.1f ms in %r" % (t["lat_us"] / 1e3, line)
    res, events, _, _ = _run(["pipe", 1, 50, EVIL_COMM], [])
    evs = [e for e in events if e["tid"] == res["reader"] and e["syscall"] == "read"]
    assert len(evs) == 1 and evs[0]["comm"] == EVIL_COMM, \
        "expected one read with comm %r in JSON, reported %s" % (
            EVIL_COMM, "; ".join("%r: %s" % (e["comm"], _desc(e)) for e in events))
    return "text line: %s" % lines[0]
