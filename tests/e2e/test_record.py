# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: the flight recorder (`record`, `top --replay`, `report`).

The syscalls workload (tests/workloads/syscalls.c) makes exactly N
nanosleeps, M failing openat calls and K getppid calls while `latscope
record` writes its intervals to a fresh directory; replaying the window
must give those exact counts and the workload's own median, and `report`
must equal the sum of the replayed intervals.
"""
import datetime
import glob
import os
import shutil
import signal
import tempfile
import time

import lib

N, SLEEP_US, M, K = 20, 10000, 37, 5000
INTERVAL_S = 0.5
P50_TOLERANCE = 0.125

_memo = {}


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def _run():
    """One workload under one recorder, stopped with SIGINT."""
    if "error" in _memo:
        raise _memo["error"]
    if "run" not in _memo:
        d = tempfile.mkdtemp(prefix="latscope-rec-")
        try:
            t0 = time.time()
            with lib.Workload("syscalls", N, SLEEP_US, M, K) as w:
                with lib.Agent("record", "--dir", d, "-i", INTERVAL_S, "-p", w.pid) as a:
                    time.sleep(0.3)
                    w.go()
                    res = w.result()
                    time.sleep(3 * INTERVAL_S)
                    assert a.proc.poll() is None, "recorder exited: %s" % a.err.text()
                    out = a.stop(signal.SIGINT)
            t1 = time.time()
            _memo["run"] = (d, w.pid, res, out, t0, t1)
        except Exception as e:  # noqa: BLE001 - every test reports the same failure
            _memo["error"] = e
            shutil.rmtree(d, ignore_errors=True)
            raise
    return _memo["run"]


def _replay(*args):
    d, pid, res, out, t0, t1 = _run()
    r = lib.run_agent("top", "--replay", "--dir", d, "--at", rfc3339(t0 - 1),
                      "--until", rfc3339(t1 + 1), "--json", *args)
    assert r.rc == 0, "replay failed; %s" % r.describe()
    objs = lib.parse_ndjson(r.stdout)
    ivs = [o for o in objs if o["type"] == "interval"]
    assert ivs, "replay printed no intervals; %s" % r.describe()
    return pid, res, ivs, objs


def test_record_exits_0_on_sigint_and_writes_one_private_segment():
    d, _, _, out, _, _ = _run()
    assert out.rc == 0, "record after SIGINT: %s" % out.describe()
    segs = glob.glob(os.path.join(d, "SEG-*.lsr"))
    assert len(segs) == 1, "one run, one segment; got %s" % segs
    assert os.stat(segs[0]).st_mode & 0o077 == 0, "segment readable by others: %o" % (
        os.stat(segs[0]).st_mode)


def test_record_creates_its_directory_0700():
    base = tempfile.mkdtemp(prefix="latscope-rec-")
    try:
        d = os.path.join(base, "rec")
        r = lib.run_agent("record", "--dir", d, "-i", "0.2", "-n", "1", "--no-tcp")
        assert r.rc == 0, r.describe()
        assert os.stat(d).st_mode & 0o777 == 0o700, "mode %o, want 700" % os.stat(d).st_mode
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_record_replay_counts_are_exact():
    pid, res, ivs, _ = _replay("--all")
    s = lib.sum_syscalls(ivs, pid)
    got = {k: s.get(k, {}).get("count") for k in ("nanosleep", "openat", "getppid")}
    assert got == {"nanosleep": N, "openat": M, "getppid": K}, "replayed counts %r" % got
    assert s["openat"]["errnos"] == {"ENOENT": M}, s["openat"]
    return "replayed %r over %d intervals" % (got, len(ivs))


def test_record_replay_marks_intervals_replayed_with_recorded_times():
    d, pid, res, out, t0, t1 = _run()
    _, _, ivs, objs = _replay()
    prev = None
    for iv in ivs:
        assert iv.get("replay") is True, "interval without \"replay\": true: %r" % iv["time"]
        t = lib.parse_rfc3339_utc(iv["time"]).timestamp()
        assert t0 - 1 <= t <= t1 + 1, "recorded time %s outside the run" % iv["time"]
        assert prev is None or t > prev, "times not increasing"
        prev = t
    # between the first and the last interval there is no gap (the window's
    # ends, before the recorder attached and after it stopped, may have one)
    first = lib.parse_rfc3339_utc(ivs[0]["time"]).timestamp()
    last = lib.parse_rfc3339_utc(ivs[-1]["time"]).timestamp()
    inner = [o for o in objs if o["type"] == "gap" and
             lib.parse_rfc3339_utc(o["from"]).timestamp() >= first and
             lib.parse_rfc3339_utc(o["to"]).timestamp() <= last]
    assert not inner, "gaps inside a continuous recording: %r" % inner


def test_record_replay_p50_within_12_5_percent_of_measured_median():
    pid, res, ivs, _ = _replay("--all")
    truth = res["nanosleep_median_us"]
    p50s = []
    for iv in ivs:
        for r in iv["syscalls"]:
            if r["pid"] == pid and r["syscall"] == "nanosleep":
                p50s.append(r["lat_us"]["p50"])
                assert abs(r["lat_us"]["p50"] - truth) <= P50_TOLERANCE * truth, \
                    "replayed p50 %.1fus vs median %.1fus" % (r["lat_us"]["p50"], truth)
    assert p50s, "no nanosleep rows replayed"
    return "replayed nanosleep p50 %s us vs workload median %.1f us" % (
        "/".join("%.1f" % p for p in p50s), truth)


def test_record_report_equals_sum_of_replayed_intervals():
    d, pid, res, out, t0, t1 = _run()
    _, _, ivs, _ = _replay("--all")
    r = lib.run_agent("report", "--dir", d, "--from", rfc3339(t0 - 1), "--to",
                      rfc3339(t1 + 1), "--json", "--all")
    assert r.rc == 0, r.describe()
    objs = lib.parse_ndjson(r.stdout)
    assert len(objs) == 1 and objs[0]["type"] == "report", "want one report object: %r" % [
        o.get("type") for o in objs]
    rep = objs[0]
    assert rep["key"] == "process" and rep["intervals"] == len(ivs), (rep["key"], rep["intervals"])
    live = lib.sum_syscalls(ivs, pid)
    rows = {x["syscall"]: x for x in rep["syscalls"] if x.get("pid") == pid}
    for name in ("nanosleep", "openat", "getppid"):
        assert rows[name]["count"] == live[name]["count"], (name, rows[name], live[name])
        assert rows[name]["errors"] == live[name]["errors"], name
    assert rows["openat"]["count"] == M and rows["getppid"]["count"] == K
    truth = res["nanosleep_median_us"]
    p50 = rows["nanosleep"]["lat_us"]["p50"]
    assert abs(p50 - truth) <= P50_TOLERANCE * truth, "report p50 %.1f vs %.1f" % (p50, truth)
    # the text report too: one header line and the workload's rows
    t = lib.run_agent("report", "--dir", d, "--from", rfc3339(t0 - 1), "--to", rfc3339(t1 + 1),
                      "--all", "--view", "syscalls")
    assert t.rc == 0 and t.stdout[0].startswith("report "), t.describe()
    assert any(" getppid " in line and str(K) in line for line in t.stdout), t.describe()
    return "report: %d intervals, getppid %d, nanosleep p50 %.1fus" % (
        rep["intervals"], rows["getppid"]["count"], p50)


def test_record_replay_by_comm_from_process_keys():
    pid, res, ivs, _ = _replay("--all", "--by", "comm")
    rows = [r for iv in ivs for r in iv["syscalls"] if r["comm"] == "syscalls"]
    assert rows and all("pid" not in r for r in rows), "--by comm rows carry a pid"
    total = sum(r["count"] for r in rows if r["syscall"] == "getppid")
    assert total == K, "getppid by comm %d, want %d" % (total, K)


def test_record_replay_finer_than_recorded_exits_2():
    d, _, _, _, t0, t1 = _run()
    r = lib.run_agent("top", "--replay", "--dir", d, "--at", rfc3339(t0), "--by", "thread")
    assert r.rc == 2, "--by thread of a process recording: %s" % r.describe()
    assert len(r.stderr_lines()) == 1 and "thread" in r.stderr, r.stderr


def test_record_bad_time_exits_2_with_one_line():
    for args in (["top", "--replay", "--at", "25:99"], ["top", "--replay", "--at", "yesterday"],
                 ["top", "--replay"], ["report", "--from", "-1h", "--to", "-2h"],
                 ["top", "--at", "-1m"], ["record", "--max-size", "12Q"]):
        r = lib.run_agent(*args)
        assert r.rc == 2, "%s: %s" % (args, r.describe())
        assert len(r.stderr_lines()) == 1, "%s: %r" % (args, r.stderr)


def _count(d, *args):
    r = lib.run_agent("top", "--replay", "--dir", d, "--at", "-10m",
                      "--until", rfc3339(time.time() + 60),
                      "--json", "--all", *args)
    assert r.rc == 0, r.describe()
    objs = lib.parse_ndjson(r.stdout)
    return [o for o in objs if o["type"] == "interval"], [o for o in objs if o["type"] == "gap"]


def test_record_second_recorder_exits_2_and_replay_works_while_recording():
    d = tempfile.mkdtemp(prefix="latscope-rec-")
    try:
        with lib.Agent("record", "--dir", d, "-i", "0.2", "--no-tcp") as a:
            r = lib.run_agent("record", "--dir", d, "-i", "0.2", "--no-tcp")
            assert r.rc == 2, "a second recorder on the same directory: %s" % r.describe()
            assert "lock" in r.stderr and len(r.stderr_lines()) == 1, r.stderr
            time.sleep(1.2)
            ivs, _ = _count(d)
            assert len(ivs) >= 3, "replay while recording: %d intervals" % len(ivs)
            time.sleep(0.6)
            ivs2, _ = _count(d)
            assert len(ivs2) > len(ivs), "replay does not follow the recorder"
            assert a.stop().rc == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_record_kill9_keeps_every_interval_and_next_run_appends_a_segment():
    d = tempfile.mkdtemp(prefix="latscope-rec-")
    try:
        seen = 0
        for run in range(3):
            with lib.Agent("record", "--dir", d, "-i", "0.2", "--no-tcp") as a:
                time.sleep(0.9 + 0.13 * run)
                before, _ = _count(d)
                a.proc.send_signal(signal.SIGKILL)
                a.wait()
            after, gaps = _count(d)
            segs = sorted(glob.glob(os.path.join(d, "SEG-*.lsr")))
            assert len(segs) == run + 1, "run %d: segments %s" % (run, segs)
            # every interval written before the kill is still there
            times = {iv["time"] for iv in after}
            lost = [iv["time"] for iv in before if iv["time"] not in times]
            assert not lost, "run %d: intervals lost after kill -9: %s" % (run, lost)
            assert len(after) > seen, "run %d added no interval" % run
            seen = len(after)
            # the span between runs is a gap, not zeros
            assert len(gaps) >= run, "run %d: gaps %r" % (run, gaps)
        return "3 kill -9 runs: %d intervals kept, 3 segments" % seen
    finally:
        shutil.rmtree(d, ignore_errors=True)
