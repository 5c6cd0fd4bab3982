# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: the syscall collector against a workload with known ground truth.

The workload (tests/workloads/syscalls.c) makes N nanosleeps, M openat calls
that fail with ENOENT and K getppid calls in its own pid, and reports what it
measured. `latscope top --json -p PID` must report exactly that.

Most tests here assert on one shared run (see _run) so that the suite stays
fast; each test checks one property and says which in its name.
"""
import signal
import time

import lib

N, SLEEP_US, M, K = 20, 10000, 37, 5000
INTERVAL_S = 0.5
P50_TOLERANCE = 0.125           # DESIGN.md: percentiles within 12.5% of the truth
INFLIGHT_READ_LIMIT_US = 250000  # the stale read was in flight for >= 300 ms

_memo = {}


def drive(workload, agents, settle_s=0.3, flush_s=3 * INTERVAL_S):
    """Release the workload once all agents are attached and let every agent
    flush the intervals that saw it; returns the workload's result."""
    time.sleep(settle_s)        # the workload's first read is now stale
    workload.go()
    res = workload.result()
    time.sleep(flush_s)
    for a in agents:
        assert a.proc.poll() is None, "agent exited while the workload ran; stderr:\n%s" % (
            a.err.text())
    return res


def _run():
    """One workload under one `top --json -p PID` agent, stopped with SIGINT."""
    if "error" in _memo:
        raise _memo["error"]
    if "run" not in _memo:
        try:
            with lib.Workload("syscalls", N, SLEEP_US, M, K) as w:
                with lib.Agent("top", "--json", "--all", "-i", INTERVAL_S, "-p", w.pid) as a:
                    res = drive(w, [a])
                    out = a.stop(signal.SIGINT)
            _memo["run"] = (w.pid, res, out)
        except Exception as e:  # noqa: BLE001 - every test reports the same failure
            _memo["error"] = e
            raise
    return _memo["run"]


def _intervals():
    pid, res, out = _run()
    ivs = lib.intervals(out.stdout)
    assert ivs, "no interval objects on stdout; %s" % out.describe()
    return pid, res, ivs, out


def test_agent_exits_0_on_sigint():
    _, _, out = _run()
    assert out.rc == 0, "after SIGINT expected exit status 0; %s" % out.describe()


def test_interval_objects_follow_ndjson_contract():
    pid, _, ivs, out = _intervals()
    assert len(ivs) >= 3, "expected >= 3 intervals of %ss in %.1fs of running, got %d" % (
        INTERVAL_S, out.elapsed, len(ivs))
    prev = None
    for i, iv in enumerate(ivs):
        t = lib.parse_rfc3339_utc(iv.get("time"))
        assert prev is None or t >= prev, "interval times go backwards: %s" % [v["time"] for v in ivs]
        prev = t
        age = abs(time.time() - t.timestamp())
        assert age < 60, "interval time %s is %.0fs away from now" % (iv["time"], age)
        s = iv.get("interval_s")
        assert isinstance(s, (int, float)), "interval_s missing: %r" % iv
        # the last interval may be cut short by SIGINT
        lo = 0 if i == len(ivs) - 1 else 0.8 * INTERVAL_S
        assert lo <= s <= 1.3 * INTERVAL_S, \
            "interval %d: interval_s %r not within [%.2f, %.2f] for -i %s" % (
                i, s, lo, 1.3 * INTERVAL_S, INTERVAL_S)
        for key in ("syscalls", "sched", "tcp"):
            assert isinstance(iv.get(key), list), "interval %d: %r is not an array: %r" % (i, key, iv)
        assert isinstance(iv.get("drops"), dict), "interval %d: drops is not an object: %r" % (i, iv)
    rows = lib.syscall_rows(ivs)
    assert rows, "no syscall rows at all"
    for r in rows:
        for key, typ in (("pid", int), ("comm", str), ("cgroup", str), ("syscall", str),
                         ("count", int), ("errors", int), ("errnos", dict), ("lat_us", dict),
                         ("total_us", (int, float))):
            assert isinstance(r.get(key), typ), "row field %r missing or not %s: %r" % (
                key, typ, r)
        lat = r["lat_us"]
        for key in ("p50", "p90", "p99", "p999", "max", "mean"):
            assert isinstance(lat.get(key), (int, float)), "lat_us.%s missing: %r" % (key, r)
        assert r["count"] > 0, "row with count 0 (rows are per-interval deltas): %r" % r
        assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"], \
            "percentiles not ordered: %r" % r
        assert lat["p999"] <= lat["max"] * (1 + P50_TOLERANCE), \
            "p999 above max by more than 12.5%%: %r" % r
        assert abs(lat["mean"] * r["count"] - r["total_us"]) <= 0.01 * r["total_us"] + 1, \
            "mean * count != total_us (1%% + 1us tolerance): %r" % r
        assert 0 <= r["errors"] <= r["count"], "errors not in [0, count]: %r" % r
        assert sum(r["errnos"].values()) == r["errors"], "errnos do not sum to errors: %r" % r
        for name in r["errnos"]:
            assert name.startswith("E") and name.isupper(), "errno name %r not symbolic: %r" % (
                name, r)


def test_counts_equal_workload_calls_exactly():
    pid, _, ivs, out = _intervals()
    sums = lib.sum_syscalls(ivs, pid)
    got = {name: sums.get(name, {}).get("count") for name in ("nanosleep", "openat", "getppid")}
    want = {"nanosleep": N, "openat": M, "getppid": K}
    assert got == want, "counts summed over %d intervals: got %s, want %s (exact)" % (
        len(ivs), got, want)


def test_openat_enoent_errors_counted_by_errno_name():
    pid, _, ivs, _ = _intervals()
    s = lib.sum_syscalls(ivs, pid).get("openat")
    assert s, "no openat row for pid %d" % pid
    assert s["errors"] == M, "openat errors %d, want %d" % (s["errors"], M)
    assert s["errnos"] == {"ENOENT": M}, "openat errnos %r, want {'ENOENT': %d}" % (s["errnos"], M)
    for name in ("nanosleep", "getppid"):
        t = lib.sum_syscalls(ivs, pid).get(name, {})
        assert t.get("errors") == 0 and not any(t.get("errnos", {}).values()), \
            "%s succeeded every time but has errors: %r" % (name, t)


def test_nanosleep_p50_within_12_5_percent_of_measured_median():
    pid, res, ivs, _ = _intervals()
    truth = res["nanosleep_median_us"]
    seen = 0
    p50s = []
    for iv in ivs:
        for r in iv["syscalls"]:
            if r["pid"] == pid and r["syscall"] == "nanosleep":
                seen += r["count"]
                p50 = r["lat_us"]["p50"]
                p50s.append("%.1f" % p50)
                assert abs(p50 - truth) <= P50_TOLERANCE * truth, \
                    "nanosleep p50 %.1fus (interval %s, %d calls) not within 12.5%% of the " \
                    "workload's median %.1fus (min %.1f, max %.1f)" % (
                        p50, iv["time"], r["count"], truth, res["nanosleep_min_us"],
                        res["nanosleep_max_us"])
    assert seen == N, "nanosleep rows cover %d calls, want %d" % (seen, N)
    return "nanosleep p50 %s us vs workload median %.1f us" % ("/".join(p50s), truth)


def test_nanosleep_total_and_max_match_measured_times():
    pid, res, ivs, _ = _intervals()
    s = lib.sum_syscalls(ivs, pid)["nanosleep"]
    want = res["nanosleep_total_us"]
    # the kernel-side span is inside the workload's clock_gettime pair
    assert 0.95 * want <= s["total_us"] <= 1.01 * want, \
        "nanosleep total_us %.1f, workload measured %.1f (want within -5%%/+1%%)" % (
            s["total_us"], want)
    assert 0.95 * res["nanosleep_max_us"] <= s["max_us"] <= 1.01 * res["nanosleep_max_us"], \
        "nanosleep max %.1fus, workload measured max %.1fus (want within -5%%/+1%%)" % (
            s["max_us"], res["nanosleep_max_us"])


def test_pid_filter_reports_only_workload_pid():
    pid, _, ivs, _ = _intervals()
    others = sorted({(r["pid"], r["comm"]) for r in lib.syscall_rows(ivs) if r["pid"] != pid})
    assert not others, "-p %d reported rows for other processes: %s" % (pid, others)


def test_rows_carry_workload_comm():
    pid, _, ivs, _ = _intervals()
    comms = {r["comm"] for r in lib.syscall_rows(ivs, pid)}
    assert comms == {"syscalls"}, "comm of pid %d rows: %s, want {'syscalls'}" % (pid, comms)


def test_no_drops_reported():
    _, _, ivs, _ = _intervals()
    nonzero = [(iv["time"], iv["drops"]) for iv in ivs if any(lib.map_drops(iv).values())]
    assert not nonzero, "drops reported: %s" % nonzero


def test_syscall_in_flight_at_attach_not_reported():
    pid, _, ivs, _ = _intervals()
    stale = [r for r in lib.syscall_rows(ivs, pid)
             if r["syscall"] == "read" and r["lat_us"]["max"] >= INFLIGHT_READ_LIMIT_US]
    assert not stale, "the read in flight at attach (>= 300 ms) was reported: %s" % stale


def test_by_thread_rows_carry_tid():
    with lib.Workload("syscalls", 0, 0, 3, 100) as w:
        with lib.Agent("top", "--json", "--all", "--by", "thread", "-i", INTERVAL_S, "-p", w.pid) as a:
            drive(w, [a], settle_s=0.1)
            out = a.stop()
    assert out.rc == 0, out.describe()
    rows = lib.syscall_rows(lib.intervals(out.stdout))
    assert rows, "--by thread: no rows; %s" % out.describe()
    missing = [r for r in rows if not isinstance(r.get("tid"), int)]
    assert not missing, "--by thread rows without an integer tid: %s" % missing[:3]
    # the workload is single-threaded: its only thread id is its pid
    tids = {r["tid"] for r in rows if r["pid"] == w.pid}
    assert tids == {w.pid}, "tids of pid %d: %s, want {%d}" % (w.pid, tids, w.pid)
    sums = lib.sum_syscalls(lib.intervals(out.stdout), w.pid)
    assert sums.get("getppid", {}).get("count") == 100, "--by thread getppid: %r" % sums.get("getppid")


def test_two_instances_side_by_side_both_count_exactly():
    with lib.Workload("syscalls", 2, 1000, M, 1000) as w:
        with lib.Agent("top", "--json", "--all", "-i", INTERVAL_S, "-p", w.pid) as a, \
                lib.Agent("top", "--json", "--all", "-i", INTERVAL_S, "-p", w.pid) as b:
            drive(w, [a, b])
            outs = [a.stop(), b.stop()]
    want = {"nanosleep": 2, "openat": M, "getppid": 1000}
    for name, out in zip("AB", outs):
        assert out.rc == 0, "instance %s: %s" % (name, out.describe())
        sums = lib.sum_syscalls(lib.intervals(out.stdout), w.pid)
        got = {k: sums.get(k, {}).get("count") for k in want}
        assert got == want, "instance %s of two: counts %s, want %s" % (name, got, want)


def test_sigterm_exits_0_and_leaves_no_programs_or_links_loaded():
    pinned_before = lib.pinned_objects()
    alone = not lib.other_latscopes()
    with lib.Workload("syscalls", 0, 0, 1, 10) as w:
        with lib.Agent("top", "--json", "--all", "-i", INTERVAL_S, "-p", w.pid) as a:
            progs, links = lib.bpf_fds_of(a.pid)
            loaded = lib.loaded_bpf("prog")
            names = {i: loaded[i].get("name", "") for i in progs if i in loaded}
            assert progs and links, "attached agent holds no BPF program/link fds: %s %s" % (
                progs, links)
            assert all(n.startswith(lib.PROG_PREFIX) for n in names.values()), \
                "agent's BPF programs not all named ls_*: %s" % names
            out = a.stop(signal.SIGTERM)
    assert out.rc == 0, "after SIGTERM expected exit status 0; %s" % out.describe()
    # ids are released when the last reference goes; allow the kernel a moment
    deadline = time.monotonic() + 2
    while True:
        left_progs = progs & set(lib.loaded_bpf("prog"))
        left_links = links & set(lib.loaded_bpf("link"))
        if not (left_progs or left_links) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left_progs and not left_links, \
        "2s after the agent exited, still loaded: programs %s, links %s (agent had %s)" % (
            sorted(left_progs), sorted(left_links), names)
    pinned = lib.pinned_objects() - pinned_before
    assert not pinned, "agent left pinned BPF objects: %s" % sorted(pinned)
    if alone and not lib.other_latscopes():
        stray = lib.our_progs()
        assert not stray, "ls_* programs loaded with no latscope running: %s" % stray
