# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The compatibility promise: every later latscope reads every earlier
recording. tests/fixtures/record-v1/ holds a segment written by format
version 1 (`latscope record -i 0.5 -p PID` over `build/tests/syscalls 20
10000 37 5000`) and expected.json: what this version replayed from it.
`top --replay` and `report` of that directory must give the same intervals,
exact counts and the same percentiles (they come from the recorded bins),
with no byte skipped. Needs no root (replay loads no BPF).

A later format change bumps the version and keeps the old reader; a later
row layout must still decode these rows (see README "Recording format")."""
import json
import os

import lib

FIX = os.path.join(lib.ROOT, "tests", "fixtures", "record-v1")
WINDOW = ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")


def _expected():
    with open(os.path.join(FIX, "expected.json")) as f:
        return json.load(f)


def _close(a, b):
    return abs(a - b) <= 1e-3 * max(1.0, abs(b))


def _same_lat(got, want):
    return set(got) == set(want) and all(_close(got[k], want[k]) for k in want)


def test_record_fixture_v1_replays_its_intervals_and_counts():
    exp = _expected()
    r = lib.run_agent("top", "--replay", "--dir", FIX, "--at", WINDOW[0], "--until", WINDOW[1],
                      "--json", "--all")
    assert r.rc == 0 and not r.stderr.strip(), r.describe()
    ivs = [o for o in lib.parse_ndjson(r.stdout) if o["type"] == "interval"]
    got = [{"time": iv["time"], "interval_s": iv["interval_s"],
            "syscalls": {x["syscall"]: x["count"] for x in iv["syscalls"]}} for iv in ivs]
    assert got == exp["intervals"], "replayed %r\nwant %r" % (got, exp["intervals"])
    assert all(iv["replay"] is True for iv in ivs)
    s = lib.sum_syscalls(ivs, exp["pid"])
    w = exp["workload"]
    counts = {k: s[k]["count"] for k in ("nanosleep", "openat", "getppid")}
    assert counts == {k: w[k] for k in counts}, counts
    return "%d intervals, %r" % (len(ivs), counts)


def test_record_fixture_v1_report_gives_known_counts_and_percentiles():
    exp = _expected()["report"]
    w = _expected()["workload"]
    r = lib.run_agent("report", "--dir", FIX, "--from", WINDOW[0], "--to", WINDOW[1], "--json",
                      "--all")
    assert r.rc == 0 and not r.stderr.strip(), r.describe()
    objs = lib.parse_ndjson(r.stdout)
    assert len(objs) == 1 and objs[0]["type"] == "report", r.describe()
    rep = objs[0]
    assert (rep["key"], rep["intervals"]) == (exp["key"], exp["intervals"]), rep
    assert _close(rep["interval_s"], exp["interval_s"]), rep["interval_s"]
    rows = {x["syscall"]: x for x in rep["syscalls"]}
    assert set(rows) == set(exp["syscalls"]), sorted(rows)
    for name, want in exp["syscalls"].items():
        x = rows[name]
        for k in ("count", "errors", "errnos", "idle"):
            assert x[k] == want[k], "%s %s: %r, want %r" % (name, k, x[k], want[k])
        assert _same_lat(x["lat_us"], want["lat_us"]), "%s lat_us %r, want %r" % (
            name, x["lat_us"], want["lat_us"])
        assert _close(x["total_us"], want["total_us"]), name
    sched = {str(x["pid"]): x for x in rep["sched"]}
    for pid, want in exp["sched"].items():
        assert sched[pid]["runq_count"] == want["runq_count"], sched[pid]
        assert _same_lat(sched[pid]["runq_us"], want["runq_us"]), sched[pid]["runq_us"]
    # drop counters added after the recording read as 0; the recorded ones as recorded
    assert {k: rep["drops"].get(k) for k in exp["drops"]} == exp["drops"], rep["drops"]
    assert all(v == 0 for k, v in rep["drops"].items() if k not in exp["drops"]), rep["drops"]
    # and the recorded bins still tell the workload's own median (12.5%)
    p50 = rows["nanosleep"]["lat_us"]["p50"]
    truth = w["nanosleep_median_us"]
    assert abs(p50 - truth) <= 0.125 * truth, "p50 %.1f vs measured %.1f" % (p50, truth)
    return "getppid %d, openat ENOENT %d, nanosleep %d p50 %.1f us (measured %.1f) p99 %.1f us" % (
        rows["getppid"]["count"], rows["openat"]["errnos"]["ENOENT"], rows["nanosleep"]["count"],
        p50, truth, rows["nanosleep"]["lat_us"]["p99"])
