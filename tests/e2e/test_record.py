# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: the flight recorder (`record`, `top --replay`, `report`).

The syscalls workload (tests/workloads/syscalls.c) makes exactly N
nanosleeps, M failing openat calls and K getppid calls while `latscope
record` writes its intervals to a fresh directory; replaying the window
must give those exact counts and the workload's own median, and `report`
must equal the sum of the replayed intervals.
"""
import datetime
import errno
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

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


# --- serve --record, a full disk, the size bound ------------------------------------

class BenchKeys:
    """build/tests/bench_keys NPROC NSYS PERIOD_MS: NPROC x NSYS live keys every
    interval (the volume for the size tests); killed on the way out."""

    def __init__(self, nproc=100, nsys=50, period_ms=100):
        path = os.path.join(lib.WORKLOADS, "bench_keys")
        lib.require_file(path, "run make build/tests/bench_keys")
        self.cmd = [path, str(nproc), str(nsys), str(period_ms)]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("ready "), "bench_keys printed %r" % line
        return self

    def __exit__(self, *exc):
        try:
            self.proc.stdin.write(b"exit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        return False


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _metric_sum(text, name, **labels):
    """The sum of every sample of name whose labels include labels."""
    total, found = 0.0, False
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        lab, _, val = line[len(name) + 1:].rpartition("} ")
        if all('%s="%s"' % kv in lab for kv in labels.items()):
            total += float(val.split()[0])
            found = True
    return total if found else None


def _scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def _report(d, t_from, t_to, *args):
    r = lib.run_agent("report", "--dir", d, "--from", rfc3339(t_from), "--to", rfc3339(t_to),
                      "--json", "--all", *args, timeout=30)
    assert r.rc == 0, r.describe()
    assert "skipped" not in r.stderr, "the reader skipped bytes: %s" % r.stderr
    objs = lib.parse_ndjson(r.stdout)
    assert len(objs) == 1 and objs[0]["type"] == "report", r.describe()
    return objs[0], r


def _dir_bytes(d):
    sizes = {}
    for name in os.listdir(d):
        try:
            sizes[name] = os.stat(os.path.join(d, name)).st_size
        except FileNotFoundError:
            pass
    return sizes


def test_record_serve_record_scraped_while_recording_replays_exact_counts():
    """`serve --record -p W` over the syscalls workload: /metrics, scraped
    while the agent records, has the workload's exact getppid and openat
    counts and latscope_dropped_total{what="record"} 0; replaying the
    window from the directory gives the same exact counts."""
    d = tempfile.mkdtemp(prefix="latscope-rec-")
    port = _free_port()
    try:
        t0 = time.time()
        with lib.Workload("syscalls", N, SLEEP_US, M, K) as w:
            with lib.Agent("serve", "--listen", "127.0.0.1:%d" % port, "--record", "--dir", d,
                           "-i", INTERVAL_S, "-p", w.pid) as a:
                time.sleep(0.3)
                w.go()
                w.result(30)
                deadline, text, got = time.time() + 15, "", None
                while time.time() < deadline:
                    text = _scrape(port)
                    got = _metric_sum(text, "latscope_syscall_duration_seconds_count",
                                      comm="syscalls", syscall="getppid")
                    if got is not None and got >= K:
                        break
                    time.sleep(0.2)
                time.sleep(3 * INTERVAL_S)  # nothing more may come
                text = _scrape(port)
                scraped = {
                    "getppid": _metric_sum(text, "latscope_syscall_duration_seconds_count",
                                           comm="syscalls", syscall="getppid"),
                    "openat": _metric_sum(text, "latscope_syscall_errors_total",
                                          comm="syscalls", syscall="openat", errno="ENOENT"),
                    "nanosleep": _metric_sum(text, "latscope_syscall_duration_seconds_count",
                                             comm="syscalls", syscall="nanosleep"),
                }
                assert scraped == {"getppid": K, "openat": M, "nanosleep": N}, \
                    "scraped while recording: %r" % scraped
                dropped = _metric_sum(text, "latscope_dropped_total", what="record")
                assert dropped == 0, "latscope_dropped_total{what=\"record\"} = %r" % dropped
                out = a.stop(signal.SIGTERM)
                assert out.rc == 0, out.describe()
        t1 = time.time()
        segs = glob.glob(os.path.join(d, "SEG-*.lsr"))
        assert len(segs) == 1, "serve --record wrote %s" % segs
        r = lib.run_agent("top", "--replay", "--dir", d, "--at", rfc3339(t0 - 1), "--until",
                          rfc3339(t1 + 1), "--json", "--all")
        assert r.rc == 0 and "skipped" not in r.stderr, r.describe()
        ivs = [o for o in lib.parse_ndjson(r.stdout) if o["type"] == "interval"]
        s = lib.sum_syscalls(ivs, w.pid)
        replayed = {k: s.get(k, {}).get("count") for k in ("getppid", "openat", "nanosleep")}
        assert replayed == {"getppid": K, "openat": M, "nanosleep": N}, \
            "replayed %r over %d intervals" % (replayed, len(ivs))
        return "scraped %r, replayed %r over %d intervals" % (scraped, replayed, len(ivs))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _fill(path, stop):
    """Take every byte the tmpfs frees (the recorder's removals too) until
    stop is set: the disk stays full however much the recorder removes."""
    with open(path, "wb", buffering=0) as f:
        while not stop.is_set():
            try:
                f.write(b"\0" * 4096)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                time.sleep(0.002)


def test_record_enospc_drops_oldest_then_pauses_counts_and_resumes():
    """A 2 MiB tmpfs, `record --max-size 1M -i 0.2` over 5,000 live keys
    (bench_keys). A filler takes every byte that is or becomes free (the
    space the recorder frees too): at each ENOSPC the recorder removes its
    oldest segment and retries; when the retry fails too it pauses with exactly one log line and
    removes nothing more (history is kept while paused). After the
    filler is removed it resumes in a new segment with one line; the first
    frame after the pause carries the lost intervals in drops.record; the
    reader finds no torn or corrupt frame (a partial frame is cut off) and
    the pause is a gap."""
    base = tempfile.mkdtemp(prefix="latscope-enospc-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", base], check=True)
    filler = os.path.join(base, "filler")
    stop = threading.Event()
    try:
        d = os.path.join(base, "rec")
        with BenchKeys(100, 50, 100):
            with lib.Agent("record", "-v", "--dir", d, "-i", "0.2", "--max-size", "1M",
                           "--no-tcp", "--no-sched") as a:
                # at least 3 segments before the fill (how fast depends on load)
                deadline = time.time() + 15
                while time.time() < deadline and len(_dir_bytes(d)) < 3:
                    time.sleep(0.2)
                before = sorted(_dir_bytes(d))
                assert len(before) >= 3, "segments before the fill: %s" % before
                nerr = len(a.err.lines)
                fill = threading.Thread(target=_fill, args=(filler, stop), daemon=True)
                fill.start()
                paused = a.err.wait_for(lambda s: "paused" in s, 20)
                assert paused, "no pause within 20 s:\n%s" % a.err.text()
                assert "No space left" in paused, paused
                left = sorted(_dir_bytes(d))
                removed = [ln.split("removed ")[1].split()[0] for ln in a.err.lines[nerr:]
                           if "removed SEG-" in ln]
                assert removed and removed == sorted(removed), "removed %s" % removed
                assert removed[0] == before[0], "first removed %s, oldest %s" % (
                    removed[0], before[0])
                assert left and len(left) < len(before) + 10, "paused with %s left" % left
                nremoved = sum("removed SEG-" in ln for ln in a.err.lines)
                time.sleep(1.5)  # paused: intervals lost
                assert a.proc.poll() is None, a.err.text()
                assert sum("removed SEG-" in ln for ln in a.err.lines) == nremoved, \
                    "segments removed while paused:\n%s" % a.err.text()
                stop.set()
                fill.join(5)
                os.unlink(filler)
                resumed = a.err.wait_for(lambda s: "resumed" in s, 5)
                assert resumed, "no resume within 5 s:\n%s" % a.err.text()
                lost = int(resumed.split(" after ")[1].split()[0])
                time.sleep(0.6)
                out = a.stop()
                assert out.rc == 0, out.describe()
        lines = [ln for ln in out.stderr.splitlines() if "paused" in ln or "resumed" in ln]
        assert len(lines) == 2, "want one pause and one resume line: %s" % lines
        rep, r = _report(d, time.time() - 600, time.time() + 60, "--view", "sched")
        assert rep["drops"]["record"] == lost and lost >= 5, \
            "drops.record %r, %d intervals lost (log)" % (rep["drops"]["record"], lost)
        ivs, gaps = _count(d, "--view", "sched")
        first = lib.parse_rfc3339_utc(ivs[0]["time"]).timestamp()
        inner = [lib.parse_rfc3339_utc(g["to"]).timestamp() -
                 lib.parse_rfc3339_utc(g["from"]).timestamp() for g in gaps
                 if lib.parse_rfc3339_utc(g["from"]).timestamp() >= first]
        assert len(inner) == 1 and abs(inner[0] - lost * 0.2) <= 0.3, \
            "gaps after the first frame: %r, %d intervals of 0.2 s lost" % (inner, lost)
        return "removed %d segments oldest first, paused, %d intervals lost = drops.record, " \
            "resumed; a %.1f s gap" % (len(removed), lost, inner[0])
    finally:
        # the filler's file (and a just-killed recorder's) may hold the
        # tmpfs for a moment: retry, then detach it lazily; never hide the
        # test's own error behind the clean-up's
        stop.set()
        for _ in range(20):
            if subprocess.run(["umount", base], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", base], capture_output=True)
        try:
            os.rmdir(base)
        except OSError:
            pass


def test_record_size_bound_with_churn_keeps_window_counts_exact():
    """`record --max-size 1M -i 0.25` over 5,000 live keys (bench_keys) and
    process churn, until a segment has been removed (at most 30 s) and then
    for the workloads: sampled every 50 ms the directory never holds
    more than --max-size plus one segment, old segments are removed, and the
    syscalls and churn workloads run at the end replay to exact counts."""
    d = tempfile.mkdtemp(prefix="latscope-rec-")
    max_size = 1 << 20
    try:
        peak, biggest, seen = 0, 0, set()
        with BenchKeys(100, 50, 100):
            with lib.Agent("record", "--dir", d, "-i", "0.25", "--max-size", "1M",
                           "--no-tcp") as a:
                def sample(until):
                    nonlocal peak, biggest
                    while time.time() < until:
                        sizes = _dir_bytes(d)
                        seen.update(sizes)
                        peak = max(peak, sum(sizes.values()))
                        biggest = max([biggest] + list(sizes.values()))
                        time.sleep(0.05)
                # until the bound has made the recorder remove a segment (how
                # fast the directory fills depends on the host's load)
                deadline = time.time() + 30
                while time.time() < deadline and not set(seen) - set(_dir_bytes(d)):
                    sample(time.time() + 1)
                with lib.Workload("churn", "rchurn", 50, 100) as c, \
                        lib.Workload("syscalls", N, 1000, M, K) as w:
                    t0 = time.time()
                    c.go()
                    w.go()
                    cres = c.result(20)
                    w.result(20)
                    t1 = time.time()
                    sample(time.time() + 1.2)
                out = a.stop()
                assert out.rc == 0, out.describe()
        assert peak <= max_size + biggest, "directory peaked at %d bytes > %d + one segment " \
            "(%d)" % (peak, max_size, biggest)
        # a segment seen is gone (counting files would not do: the stop
        # writes the unfinished roll-ups as new segments)
        assert set(seen) - set(_dir_bytes(d)), "no segment was removed: %s" % sorted(seen)
        rep, _ = _report(d, t0 - 0.5, t1 + 0.5, "--view", "syscalls")
        rows = {x["syscall"]: x for x in rep["syscalls"] if x.get("pid") == w.pid}
        # recorded host-wide: the exec's own openat calls (ld.so) succeed
        mine = {k: rows[k]["count"] for k in ("getppid", "nanosleep") if k in rows}
        mine["openat"] = rows.get("openat", {}).get("errnos", {}).get("ENOENT")
        churn = sum(x["count"] for x in rep["syscalls"]
                    if x["comm"] == "rchurn" and x["syscall"] == "getppid")
        assert mine == {"getppid": K, "openat": M, "nanosleep": N}, "window counts %r" % mine
        assert cres["failed"] == 0 and churn == cres["getppid"] == 50 * 100, \
            "churn getppid %d, workload %r" % (churn, cres)
        return "peak %d bytes (max-size %d, biggest segment %d), %d segments seen, window " \
            "exact: getppid %d, churn getppid %d" % (peak, max_size, biggest, len(seen),
                                                     mine["getppid"], churn)
    finally:
        shutil.rmtree(d, ignore_errors=True)
