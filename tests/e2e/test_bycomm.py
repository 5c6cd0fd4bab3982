# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: `top --by comm` makes one row of many processes with one comm.

The workload (tests/workloads/churn.c) starts NPROC short-lived processes,
a few at a time, each renamed NAME and making exactly CALLS getppid calls;
its parent runs as NAME-p, so `--comm NAME` sees only the children. Under
`--by comm` rows are keyed in the kernel by (comm, syscall): 5000 processes
make one getppid row per interval, with no pid or tid, whose counts sum to
NPROC * CALLS exactly. Under the default `--by process` the same workload
makes one row per child, which shows that the test tells the two apart.
"""
import collections
import signal
import time

import lib

NAME = "lschurn"                # the children's comm; the parent is NAME-p
CALLS = 3                       # getppid calls per child
NPROC_BY_COMM = 5000
NPROC_BY_PROCESS = 500
INTERVAL_S = 1
SETTLE_S = 0.3                  # after the attached line, as the other e2e tests do
WORKLOAD_TIMEOUT_S = 30         # 5000 children take about 0.3 s on 2 CPUs
MIN_ROWS_BY_PROCESS = 100
P_TOLERANCE = 0.125             # DESIGN.md: percentiles within 12.5% of the truth
LAT_KEYS = ("p50", "p90", "p99", "p999", "max", "mean")


def _run(by, nproc):
    """The churn workload under `top --by BY --json --view syscalls --comm NAME
    -i 1`, released once the agent is attached; the agent is stopped with
    SIGINT (on a pipe it prints the partial last interval) after one more
    interval. Returns (workload pid, workload result, intervals, agent result)."""
    with lib.Agent("top", "--by", by, "--json", "--view", "syscalls", "--comm", NAME,
                   "-i", INTERVAL_S) as a:
        with lib.Workload("churn", NAME, nproc, CALLS) as w:
            time.sleep(SETTLE_S)
            w.go()
            res = w.result(timeout=WORKLOAD_TIMEOUT_S)
            time.sleep(1.2 * INTERVAL_S)  # an interval boundary after the last child
            assert a.proc.poll() is None, \
                "--by %s: agent exited while the workload ran; stderr:\n%s" % (by, a.err.text())
            out = a.stop(signal.SIGINT)
    assert out.rc == 0, "--by %s: after SIGINT expected exit status 0; %s" % (by, out.describe())
    want = {"nproc": nproc, "calls": CALLS, "getppid": nproc * CALLS, "ok": nproc, "failed": 0}
    got = {k: res.get(k) for k in want}
    assert got == want, "workload %s %d %d: ground truth %s, want %s; stderr: %s" % (
        NAME, nproc, CALLS, got, want, w.err.text())
    ivs = lib.intervals(out.stdout)
    assert ivs, "--by %s: no interval objects on stdout; %s" % (by, out.describe())
    _assert_no_drops(by, ivs)
    return w.pid, res, ivs, out


def _assert_no_drops(by, ivs):
    bad = []
    for iv in ivs:
        drops = iv.get("drops")
        if not isinstance(drops, dict):
            bad.append((iv.get("time"), drops))
        elif any(v != 0 for v in lib.map_drops(iv).values()):
            bad.append((iv.get("time"), {k: v for k, v in lib.map_drops(iv).items() if v}))
    assert not bad, "--by %s: drops missing or not all 0 (time, drops): %s" % (by, bad)


def _assert_comm_row_fields(r):
    """A syscall row under --by comm: no pid, no tid, the DESIGN.md §5 fields."""
    assert "pid" not in r and "tid" not in r, \
        "--by comm row carries a pid or tid (rows are per comm, not per process): %r" % r
    for key, typ in (("comm", str), ("syscall", str), ("count", int), ("errors", int),
                     ("errnos", dict), ("lat_us", dict), ("total_us", (int, float))):
        assert isinstance(r.get(key), typ), "--by comm row field %r missing or not %s: %r" % (
            key, typ, r)
    assert r["comm"] == NAME, "--comm %s reported a row of comm %r: %r" % (NAME, r["comm"], r)
    lat = r["lat_us"]
    for key in LAT_KEYS:
        assert isinstance(lat.get(key), (int, float)), "lat_us.%s missing: %r" % (key, r)
    assert r["count"] > 0, "row with count 0 (rows are per-interval deltas): %r" % r
    assert 0 <= r["errors"] <= r["count"], "errors not in [0, count]: %r" % r
    assert sum(r["errnos"].values()) == r["errors"], "errnos do not sum to errors: %r" % r
    # percentiles come from histogram bins merged over all the comm's processes
    assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"], \
        "merged percentiles not ordered: %r" % r
    assert lat["p999"] <= lat["max"] * (1 + P_TOLERANCE), \
        "merged p999 above max by more than 12.5%%: %r" % r
    assert abs(lat["mean"] * r["count"] - r["total_us"]) <= 0.01 * r["total_us"] + 1, \
        "merged mean * count != total_us (1%% + 1us tolerance): %r" % r


def test_by_comm_one_getppid_row_per_interval_without_pid_counts_exact():
    nproc = NPROC_BY_COMM
    _, res, ivs, out = _run("comm", nproc)
    per_interval = []
    others = collections.Counter()
    for iv in ivs:
        rows = iv.get("syscalls")
        assert isinstance(rows, list), "interval syscalls is not an array: %r" % iv
        for r in rows:
            _assert_comm_row_fields(r)
            if r["syscall"] != "getppid":
                others[r["syscall"]] += r["count"]
        keys = collections.Counter((r["comm"], r["syscall"]) for r in rows)
        dup = {k: n for k, n in keys.items() if n > 1}
        assert not dup, "--by comm interval %s: (comm, syscall) in more than one row: %s" % (
            iv.get("time"), dup)
        getppid = [r for r in rows if r["syscall"] == "getppid"]
        assert len(getppid) <= 1, "--by comm interval %s: %d getppid rows, want at most 1: %s" % (
            iv.get("time"), len(getppid), getppid[:3])
        per_interval.append(getppid[0]["count"] if getppid else 0)
    total = sum(per_interval)
    rows_getppid = [r for r in lib.syscall_rows(ivs) if r["syscall"] == "getppid"]
    assert total == nproc * CALLS, \
        "--by comm getppid count summed over %d intervals (%s): %d, want %d x %d = %d (exact)" % (
            len(ivs), "+".join(str(c) for c in per_interval), total, nproc, CALLS, nproc * CALLS)
    errs = sum(r["errors"] for r in rows_getppid)
    assert errs == 0, "getppid never fails but has %d errors: %s" % (errs, rows_getppid)
    return ("%d processes x %d getppid in %.2fs: %d getppid row(s) over %d intervals, "
            "counts %s = %d exact, no pid/tid; other syscalls under %s: %s; 0 drops" % (
                nproc, CALLS, res["elapsed_s"], len(rows_getppid), len(ivs),
                "+".join(str(c) for c in per_interval if c), total, NAME,
                dict(others) or "none"))


def test_by_process_same_workload_gives_one_row_per_process():
    nproc = NPROC_BY_PROCESS
    parent, res, ivs, out = _run("process", nproc)
    per_pid = collections.Counter()
    rows_per_interval = []
    for iv in ivs:
        rows = [r for r in iv["syscalls"] if r.get("syscall") == "getppid"]
        rows_per_interval.append(len(rows))
        for r in rows:
            assert isinstance(r.get("pid"), int), "--by process row without an integer pid: %r" % r
            assert r.get("comm") == NAME, "--comm %s reported a row of comm %r: %r" % (
                NAME, r.get("comm"), r)
            per_pid[r["pid"]] += r["count"]
    assert parent not in per_pid, "the parent (pid %d, comm %s-p) has getppid rows under " \
        "--comm %s: %d calls" % (parent, NAME, NAME, per_pid[parent])
    assert len(per_pid) > MIN_ROWS_BY_PROCESS, \
        "--by process: getppid rows of %d distinct pids for %d processes, want > %d " \
        "(rows per interval: %s)" % (len(per_pid), nproc, MIN_ROWS_BY_PROCESS, rows_per_interval)
    total = sum(per_pid.values())
    assert total == nproc * CALLS, \
        "--by process getppid count summed over %d pids: %d, want %d x %d = %d (exact)" % (
            len(per_pid), total, nproc, CALLS, nproc * CALLS)
    wrong = {p: n for p, n in per_pid.items() if n != CALLS}
    assert not wrong, "--by process: pids whose getppid count is not %d: %s" % (
        CALLS, dict(list(wrong.items())[:10]))
    return ("%d processes x %d getppid in %.2fs: %d pid rows (at most %d in one interval), "
            "count %d exact, %d per pid; 0 drops" % (
                nproc, CALLS, res["elapsed_s"], len(per_pid), max(rows_per_interval), total,
                CALLS))
