# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: the recorder's roll-up tiers and their retention.

The roll-up lengths and retentions are shortened through the test hook
LATSCOPE_TIERS (README, "Flight recorder"): "2,4" makes the 10 s and 1 min
tiers 2 s and 4 s long; "1,2,3,6" also keeps the interval tier 3 s and the
first roll-up tier 6 s. The syscalls workload (tests/workloads/syscalls.c)
makes exactly N nanosleeps of SLEEP_US each (spread over N * SLEEP_US), M
failing openat calls and K getppid calls.
"""
import datetime
import glob
import os
import shutil
import signal
import tempfile
import time

import lib

N, SLEEP_US, M, K = 60, 100000, 37, 5000
INTERVAL_S = 0.5
WANT = {"nanosleep": N, "openat": M, "getppid": K}

_memo = {}


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def _record(tiers, tail_s=1.5):
    """The workload under `record -i 0.5 -p PID` with LATSCOPE_TIERS=tiers."""
    key = tiers
    if key in _memo:
        if isinstance(_memo[key], Exception):
            raise _memo[key]
        return _memo[key]
    d = tempfile.mkdtemp(prefix="latscope-tiers-")
    old = os.environ.get("LATSCOPE_TIERS")
    os.environ["LATSCOPE_TIERS"] = tiers
    try:
        t0 = time.time()
        with lib.Workload("syscalls", N, SLEEP_US, M, K) as w:
            with lib.Agent("record", "--dir", d, "-i", INTERVAL_S, "-p", w.pid) as a:
                time.sleep(0.3)
                w.go()
                res = w.result()
                time.sleep(tail_s)
                assert a.proc.poll() is None, "recorder exited: %s" % a.err.text()
                out = a.stop(signal.SIGINT)
        assert out.rc == 0, out.describe()
        _memo[key] = (d, w.pid, res, t0, time.time())
    except Exception as e:  # noqa: BLE001 - every test of the run reports it
        _memo[key] = e
        shutil.rmtree(d, ignore_errors=True)
        raise
    finally:
        if old is None:
            del os.environ["LATSCOPE_TIERS"]
        else:
            os.environ["LATSCOPE_TIERS"] = old
    return _memo[key]


def _report(d, pid, t_from, t_to, *args):
    r = lib.run_agent("report", "--dir", d, "--from", rfc3339(t_from), "--to", rfc3339(t_to),
                      "--json", "--all", *args, timeout=30)
    assert r.rc == 0, r.describe()
    assert "skipped" not in r.stderr, "the reader skipped bytes: %s" % r.stderr
    objs = lib.parse_ndjson(r.stdout)
    assert len(objs) == 1 and objs[0]["type"] == "report", r.describe()
    rep = objs[0]
    counts = {}
    for x in rep["syscalls"]:
        if x.get("pid") == pid and x["syscall"] in WANT:
            counts[x["syscall"]] = counts.get(x["syscall"], 0) + x["count"]
    frames = {t["length_s"]: t["frames"] for t in rep["tiers"]}
    return counts, frames, rep


def test_record_tiers_give_the_same_window_counts_as_the_interval_frames():
    d, pid, _, t0, t1 = _record("2,4")
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(d, "*.lsr")))
    for prefix in ("SEG-", "R1-", "R2-"):
        assert any(n.startswith(prefix) for n in names), "no %s segment: %s" % (prefix, names)
    got = {}
    for res in ("0.5s", "2s", "4s", "auto"):
        counts, frames, _ = _report(d, pid, t0 - 1, t1 + 1, "--resolution", res)
        assert counts == WANT, "--resolution %s: %r, want %r" % (res, counts, WANT)
        got[res] = frames
    # each resolution read its own tier only; auto the coarsest
    assert got["0.5s"][0.5] > 0 and got["0.5s"][2] == got["0.5s"][4] == 0, got["0.5s"]
    assert got["2s"][2] > 0 and got["2s"][0.5] == got["2s"][4] == 0, got["2s"]
    assert got["4s"][4] > 0 and got["4s"][0.5] == got["4s"][2] == 0, got["4s"]
    assert got["auto"][4] > 0, got["auto"]
    return "counts %r at 0.5 s, 2 s, 4 s and auto; frames read %r" % (WANT, got)


def test_record_tiers_auto_report_of_an_unaligned_window_equals_the_interval_frames():
    """A window that starts and ends inside roll-up windows: auto reads the
    coarse frames inside it and the interval frames at its edges, so its
    counts are the interval tier's exactly (nanosleeps run throughout)."""
    d, pid, _, t0, t1 = _record("2,4")
    a, b = t0 + 1.3, t0 + 5.7
    fine, ff, rf = _report(d, pid, a, b, "--resolution", "0.5s")
    auto, fa, ra = _report(d, pid, a, b)
    assert 0 < fine.get("nanosleep", 0) < N, "the window should hold some sleeps: %r" % fine
    assert auto == fine, "auto %r vs interval frames %r (frames %r)" % (auto, fine, fa)
    assert ra["intervals"] == rf["intervals"], (ra["intervals"], rf["intervals"])
    assert fa[2] + fa[4] > 0 and fa[0.5] < ff[0.5], "auto read no roll-up: %r" % fa
    return "window counts %r both ways, %d intervals; auto read %r" % (
        auto, ra["intervals"], fa)


def test_record_tiers_resolution_finer_than_recorded_exits_2():
    d, _, _, t0, t1 = _record("2,4")
    r = lib.run_agent("report", "--dir", d, "--from", rfc3339(t0), "--to", rfc3339(t1),
                      "--resolution", "100ms")
    assert r.rc == 2 and "--resolution" in r.stderr, r.describe()
    r = lib.run_agent("top", "--replay", "--dir", d, "--at", rfc3339(t0), "--resolution", "1s")
    assert r.rc == 2, r.describe()


def test_record_tiers_retention_prunes_the_interval_tier_first_and_counts_stay_exact():
    """Interval tier kept 2 s, the 1 s roll-ups 4 s, 2 s roll-ups for the rest:
    after ~8 s the oldest data is only in the coarsest tier, the interval
    frames hold only the last seconds, and top --replay plays the finest
    tier available: 2 s frames, then 1 s frames, then 0.5 s intervals, in
    order, with the workload's exact counts over the whole run."""
    d, pid, _, t0, t1 = _record("1,2,2,4", tail_s=2.0)
    segs = {}
    for p in glob.glob(os.path.join(d, "*.lsr")):
        n = os.path.basename(p)
        segs.setdefault(n.split("-")[0], []).append(int(n.split("-")[1]) / 1e9)
    assert segs.get("R2"), "no coarsest tier: %r" % segs
    oldest = {k: min(v) for k, v in segs.items()}
    assert oldest["SEG"] > oldest["R2"] + 3, "interval tier not pruned first: %r" % oldest
    assert oldest["SEG"] >= t1 - 2 - 1.5, "interval segments older than 2 s (+ rotation and prune " \
        "period) kept: oldest %.1f s before the end" % (t1 - oldest["SEG"])
    r = lib.run_agent("top", "--replay", "--dir", d, "--at", rfc3339(t0 - 1), "--until",
                      rfc3339(t1 + 1), "--json", "--all")
    assert r.rc == 0, r.describe()
    ivs = [o for o in lib.parse_ndjson(r.stdout) if o["type"] == "interval"]
    lens = [iv.get("rollup_s", 0) for iv in ivs]
    times = [iv["time"] for iv in ivs]
    assert times == sorted(times), "replay out of order: %r" % times
    assert lens[0] == 2 and lens[-1] == 0 and 1 in lens, "finest available: %r" % lens
    assert lens == sorted(lens, reverse=True), "tiers mixed: %r" % lens
    live = lib.sum_syscalls(ivs, pid)
    assert {k: live[k]["count"] for k in WANT} == WANT, live
    counts, frames, _ = _report(d, pid, t0 - 1, t1 + 1)
    assert counts == WANT, "report after pruning: %r (frames %r)" % (counts, frames)
    return "oldest segment per tier (s before end): %s; replay lengths %s; counts exact" % (
        {k: round(t1 - v, 1) for k, v in oldest.items()}, lens)


def test_record_tiers_kill9_loses_only_the_unfinished_rollup():
    """kill -9: every interval frame stays; a roll-up tier lacks at most its
    window that was being built, and auto report still counts exactly
    (the interval frames fill what the roll-ups lack)."""
    d = tempfile.mkdtemp(prefix="latscope-tiers-k9-")
    old = os.environ.get("LATSCOPE_TIERS")
    os.environ["LATSCOPE_TIERS"] = "2,4"
    try:
        t0 = time.time()
        with lib.Workload("syscalls", 30, SLEEP_US, M, K) as w:
            with lib.Agent("record", "--dir", d, "-i", INTERVAL_S, "-p", w.pid) as a:
                time.sleep(0.3)
                w.go()
                w.result()
                time.sleep(1.2)
                a.proc.kill()
                a.proc.wait()
        t1 = time.time()
    finally:
        if old is None:
            del os.environ["LATSCOPE_TIERS"]
        else:
            os.environ["LATSCOPE_TIERS"] = old
    want = {"nanosleep": 30, "openat": M, "getppid": K}
    try:
        fine, ff, rf = _report(d, w.pid, t0 - 1, t1 + 1, "--resolution", "0.5s")
        coarse, fc, rc = _report(d, w.pid, t0 - 1, t1 + 1, "--resolution", "4s")
        auto, fa, ra = _report(d, w.pid, t0 - 1, t1 + 1)
        assert fine == want, "interval frames after kill -9: %r" % fine
        assert auto == want, "auto after kill -9: %r (frames %r)" % (auto, fa)
        lost = rf["intervals"] - rc["intervals"]
        assert 0 < lost <= 4 / INTERVAL_S + 1, "the 4 s tier lacks %d intervals" % lost
        return "interval tier %d intervals, 4 s tier %d (unfinished window lost), auto %r" % (
            rf["intervals"], rc["intervals"], auto)
    finally:
        shutil.rmtree(d, ignore_errors=True)
