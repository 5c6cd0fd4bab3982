#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The kernel-matrix checks, run on one kernel: directly on the host, or as
the test program of a qemu guest (scripts/matrix/init.c runs it, with the
host root shared read-only, so build/latscope is the very binary built on
the host).

Prints one line per check, "LT-ROW<TAB>check<TAB>PASS|FAIL|SKIP<TAB>detail",
and the evidence of a failure on the lines after it; scripts/kernel-matrix.sh
collects the rows from the serial console. `checks.py --list` prints the
check names only, so that the matrix knows what a guest that died owed.

Checks (each smoke test once per attach flavour, forced with
LATSCOPE_ATTACH, so the raw_tp fallback is proven where tp_btf works too):
  check               `latscope check` exits 0 and every collector is ok
  load FLAVOUR        check's output says every collector loads and attaches
                      as FLAVOUR, and a short `top` forced to FLAVOUR attaches
                      all of them and prints its intervals
  syscalls FLAVOUR    exact counts for build/tests/syscalls
  sched FLAVOUR       run-queue contention of two spinners on one CPU
  tcp FLAVOUR         refused loopback connects counted as connect errors
  tcp-accept FLAVOUR  connects to a loopback listener: the client's and the
                      server's rows carry the right endpoints and counts
                      (tcp checks SKIP when this build has no tcp collector)
  slow tp_btf         pipe reads blocked 50 ms by a writer on the other CPU:
                      one slow event each, blocked part and waker right
  slow raw_tp         refused with exit 1 and one line naming tp_btf
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import lib  # noqa: E402 - the e2e tests' helpers: Agent, Workload, NDJSON parsing

FLAVOURS = ("tp_btf", "raw_tp")
# generous: under TCG everything runs ~10x slower than on the host
ATTACH_TIMEOUT_S = 90
RESULT_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
INTERVAL = "0.5"
FLUSH_S = 1.5   # after the workload's result: the interval that saw its end is printed

# syscalls workload: N nanosleeps of SLEEP_US, M openat failing with ENOENT, K getppid
SYS_N, SYS_SLEEP_US, SYS_M, SYS_K = 5, 2000, 7, 100
# sched workload: SPIN_THREADS threads pinned to one CPU for SPIN_S seconds
SPIN_THREADS, SPIN_S, RUNQ_MIN_US = 2, 1.0, 100000
TCP_CONNECTS = 5


def check_names():
    names = ["check"] + ["load " + f for f in FLAVOURS]
    for what in ("syscalls", "sched", "tcp", "tcp-accept"):
        names += ["%s %s" % (what, f) for f in FLAVOURS]
    return names + ["slow tp_btf", "slow raw_tp"]


def emit(check, status, detail, evidence=""):
    detail = " ".join(str(detail).split())
    print("LT-ROW\t%s\t%s\t%s" % (check, status, detail), flush=True)
    emit_evidence(evidence)


def emit_evidence(text):
    for line in str(text).rstrip("\n").splitlines():
        print("    | " + line)
    sys.stdout.flush()


# --- latscope check -----------------------------------------------------

class CheckOutput:
    """`latscope check`, parsed: per collector, which flavours loaded and the verdict."""

    def __init__(self):
        self.res = lib.run_agent("check", timeout=RESULT_TIMEOUT_S)
        self.text = "\n".join(self.res.stdout)
        self.collectors = {}    # name -> {"tp_btf": "ok (...)" | "no: ...", "verdict": "..."}
        cur = None
        for line in self.res.stdout:
            m = re.match(r"collector (\w+):", line)
            if m:
                cur = self.collectors.setdefault(m.group(1), {})
                continue
            m = re.match(r"\s+(tp_btf|raw_tp)\s+(.*)", line)
            if m and cur is not None:
                cur[m.group(1)] = m.group(2).strip()
                continue
            m = re.match(r"\s+verdict: (\w+): (.*)", line)
            if m and cur is not None:
                cur["verdict"] = m.group(2).strip()
        m = re.search(r"^verdict: (\d+) of (\d+) collectors can run", self.text, re.M)
        self.can_run = (int(m.group(1)), int(m.group(2))) if m else None


# Collectors that need a newer kernel than some of the matrix, with the
# first release that has what they attach to: below it `check` must say no
# with a reason, and `top` must switch that one off with one line and run
# the rest. (requests: the sock:sock_recv_length/sock_send_length
# tracepoints of 6.5; its pre-6.5 fallback is not built yet.)
NEEDS_KERNEL = {"requests": (6, 5)}


def _kernel():
    rel = os.uname().release.split(".")
    return (int(rel[0]), int(re.match(r"\d+", rel[1]).group(0)))


def unavailable(chk):
    """Collectors this kernel is too old for (and which say no)."""
    return {n for n, need in NEEDS_KERNEL.items() if n in chk.collectors and _kernel() < need}


def run_check_command(found):
    chk = found["check"] = CheckOutput()
    assert chk.collectors, "no 'collector NAME:' sections in latscope check's output"
    old = unavailable(chk)
    bad = {n: c.get("verdict") for n, c in chk.collectors.items()
           if not (c.get("verdict") or "").startswith("ok") and n not in old}
    assert chk.res.rc == 0, "latscope check exited %d" % chk.res.rc
    assert not bad, "collectors not ok: %r" % bad
    for n in old:
        v = chk.collectors[n].get("verdict") or ""
        assert not v.startswith("ok") and len(v) > 3, \
            "%s on %d.%d (needs %d.%d): verdict %r, want no with a reason" % (
                (n,) + _kernel() + NEEDS_KERNEL[n] + (v,))
    n = len(chk.collectors)
    assert chk.can_run == (n - len(old), n), "final verdict %r, want %d of %d" % (
        chk.can_run, n - len(old), n)
    return "exit 0; %d of %d collectors ok (%s)%s" % (n - len(old), n, ", ".join(
        "%s: %s" % (name, c["verdict"].split(", ", 1)[-1]) for name, c in chk.collectors.items()
        if name not in old), "; %s off: kernel too old" % ", ".join(sorted(old)) if old else "")


def run_load(chk, flavour):
    old = unavailable(chk)
    not_ok = {n: c.get(flavour) for n, c in chk.collectors.items()
              if not (c.get(flavour) or "").startswith("ok") and n not in old}
    assert chk.collectors and not not_ok, "latscope check: %s not ok for %r" % (flavour, not_ok)
    env = dict(os.environ, LATSCOPE_ATTACH=flavour)
    cmd = lib.latscope_cmd("top", "--json", "-i", INTERVAL, "-n", 2)
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=ATTACH_TIMEOUT_S + 30)
    assert p.returncode == 0, "LATSCOPE_ATTACH=%s top -n 2 exited %d:\n%s" % (
        flavour, p.returncode, p.stderr)
    attached = [l for l in p.stderr.splitlines() if l.startswith(lib.ATTACHED_PREFIX)]
    assert attached, "no %r line on stderr:\n%s" % (lib.ATTACHED_PREFIX, p.stderr)
    missing = [n for n in chk.collectors
               if "%s (%s)" % (n, flavour) not in attached[0] and n not in old]
    assert not missing, "top did not attach %s as %s: %r" % (missing, flavour, attached[0])
    for n in old:  # switched off with exactly one line saying why
        off = [l for l in p.stderr.splitlines() if l.startswith("latscope: %s collector off:" % n)]
        assert len(off) == 1, "%s on an older kernel: want one 'collector off' line:\n%s" % (
            n, p.stderr)
    ivs = lib.intervals(p.stdout.splitlines())
    assert len(ivs) == 2, "top -n 2 printed %d interval objects" % len(ivs)
    ms = re.search(r" in (\d+) ms", attached[0])
    return "check: %s ok for %s; top attached them as %s%s, 2 intervals" % (
        flavour, "/".join(n for n in chk.collectors if n not in old), flavour,
        " in %s ms" % ms.group(1) if ms else "")


# --- smoke tests against workloads with known ground truth --------------

def run_under(flavour, cmd, workload_args, agent_args):
    """Run a workload under `latscope CMD --json -p PID` forced to flavour.

    Returns (pid, workload result, the agent's NDJSON objects)."""
    os.environ["LATSCOPE_ATTACH"] = flavour     # inherited by the agent only
    try:
        with lib.Workload(*workload_args) as w:
            with lib.Agent(cmd, "--json", "-p", w.pid, *agent_args,
                           wait_attached=False) as a:
                a.attached(timeout=ATTACH_TIMEOUT_S)
                time.sleep(0.3)
                w.go()
                res = w.result(timeout=RESULT_TIMEOUT_S)
                time.sleep(FLUSH_S)
                r = a.stop(signal.SIGINT, timeout=STOP_TIMEOUT_S)
    finally:
        del os.environ["LATSCOPE_ATTACH"]
    assert r.rc == 0, "agent: %s" % r.describe()
    return w.pid, res, lib.parse_ndjson(r.stdout)


def observe(flavour, workload_args, agent_args=()):
    """Run a workload under `top --json -p PID` forced to flavour.

    Returns (pid, workload result, interval objects)."""
    pid, res, objs = run_under(flavour, "top", workload_args, ("-i", INTERVAL) + tuple(agent_args))
    return pid, res, [o for o in objs if o.get("type") == "interval"]


def run_syscalls(flavour):
    # nanosleep is an idle wait: shown with --all
    pid, res, ivs = observe(flavour, ("syscalls", SYS_N, SYS_SLEEP_US, SYS_M, SYS_K), ("--all",))
    sc = lib.sum_syscalls(ivs, pid)
    got = {name: (sc.get(name, {}).get("count"), sc.get(name, {}).get("errors"))
           for name in ("nanosleep", "openat", "getppid")}
    want = {"nanosleep": (SYS_N, 0), "openat": (SYS_M, SYS_M), "getppid": (SYS_K, 0)}
    assert got == want, "(count, errors) %r, want %r" % (got, want)
    enoent = sc["openat"]["errnos"].get("ENOENT")
    assert enoent == SYS_M, "openat errnos %r, want ENOENT: %d" % (sc["openat"]["errnos"], SYS_M)
    p50 = [r["lat_us"]["p50"] for r in lib.syscall_rows(ivs, pid) if r["syscall"] == "nanosleep"]
    # a sleep never ends early; the log-linear bucket may read 12.5% low
    assert p50 and min(p50) >= SYS_SLEEP_US * 0.875, \
        "nanosleep p50 %r us below the %d us slept" % (p50, SYS_SLEEP_US)
    return "nanosleep %d, openat %d (ENOENT %d), getppid %d: exact; nanosleep p50 %.0fus" % (
        SYS_N, SYS_M, enoent, SYS_K, min(p50))


def run_sched(flavour):
    cpu = (os.cpu_count() or 1) - 1
    pid, res, ivs = observe(flavour, ("sched", "spin", SPIN_THREADS, SPIN_S, cpu))
    rows = [r for iv in ivs for r in iv["sched"] if r.get("pid") == pid]
    runq = sum(r["runq_total_us"] for r in rows)
    truth = sum(t["wait_ns"] for t in res["threads"]) / 1e3
    assert runq > RUNQ_MIN_US, "runq_total_us %.0f for pid %d, want > %d (schedstat: %.0fus)" % (
        runq, pid, RUNQ_MIN_US, truth)
    return "%d spinners on CPU %d: runq_total_us %.0f (schedstat run_delay %.0f, %+.1f%%)" % (
        SPIN_THREADS, cpu, runq, truth, 100.0 * (runq - truth) / truth if truth else 0.0)


SLOW_ROUNDS, SLOW_DELAY_MS = 3, 50


def run_slow(flavour):
    if flavour == "raw_tp":
        os.environ["LATSCOPE_ATTACH"] = flavour
        try:
            r = lib.run_agent("slow", "-n", "1", timeout=ATTACH_TIMEOUT_S)
        finally:
            del os.environ["LATSCOPE_ATTACH"]
        assert r.rc == 1 and "tp_btf" in r.stderr, "slow on raw_tp: exit %d, %r" % (
            r.rc, r.stderr)
        return "refused: %s" % r.stderr.strip().splitlines()[-1]
    _, res, objs = run_under(flavour, "slow", ("slowcalls", "pipe", SLOW_ROUNDS, SLOW_DELAY_MS),
                             ("--threshold", "20ms"))
    ev = [e for e in objs if e.get("type") == "slow" and e["tid"] == res["reader"]]
    assert len(ev) == SLOW_ROUNDS, "%d slow reads by the reader, want %d: %r" % (
        len(ev), SLOW_ROUNDS, ev)
    for e in ev:
        assert e["syscall"] == "read" and e["fd"] and e["fd"]["type"] == "pipe", e
        assert e["waker"] and e["waker"].get("tid") == res["writer"], e
        assert e["blocked_us"] >= 0.8 * SLOW_DELAY_MS * 1000, e
    return "%d reads: blocked %s ms, woken by the writer" % (
        SLOW_ROUNDS, "/".join("%.1f" % (e["blocked_us"] / 1e3) for e in ev))


def closed_loopback_port():
    """A loopback port nobody listens on: bound, never listened, closed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_tcp(flavour):
    port = closed_loopback_port()
    pid, res, ivs = observe(flavour, ("tcp", "connect", "127.0.0.1", port, TCP_CONNECTS, 0),
                            ("--no-sched",))
    assert res["refused"] == TCP_CONNECTS, "workload: %r" % res
    rows = [r for iv in ivs for r in iv["tcp"] if r.get("pid") == pid]
    errs = sum(r["connect_errors"] for r in rows)
    assert errs == TCP_CONNECTS, "connect_errors %d for pid %d, want %d; rows %r" % (
        errs, pid, TCP_CONNECTS, rows)
    return "%d refused connects to 127.0.0.1:%d: connect_errors %d" % (TCP_CONNECTS, port, errs)


def run_tcp_accept(flavour):
    port = closed_loopback_port()
    os.environ["LATSCOPE_ATTACH"] = flavour
    try:
        with lib.Workload("tcp", "serve", port, "sink") as srv:
            line = srv.out.next_line(RESULT_TIMEOUT_S)
            assert line == "listening", "server: %r %s" % (line, srv.err.text())
            with lib.Workload("tcp", "connect", "127.0.0.1", port, TCP_CONNECTS, 0) as cli:
                with lib.Agent("top", "--json", "-i", INTERVAL, "--no-sched", "-p",
                               "%d,%d" % (srv.pid, cli.pid), wait_attached=False) as a:
                    a.attached(timeout=ATTACH_TIMEOUT_S)
                    time.sleep(0.3)
                    cli.go()
                    res = cli.result(timeout=RESULT_TIMEOUT_S)
                    time.sleep(FLUSH_S)
                    r = a.stop(signal.SIGINT, timeout=STOP_TIMEOUT_S)
    finally:
        del os.environ["LATSCOPE_ATTACH"]
    assert r.rc == 0, "agent: %s" % r.describe()
    assert res["ok"] == TCP_CONNECTS, "workload: %r" % res
    ivs = lib.intervals(r.stdout)
    out = [x for iv in ivs for x in iv["tcp"] if x.get("pid") == cli.pid]
    inb = [x for iv in ivs for x in iv["tcp"] if x.get("pid") == srv.pid]
    n_out = sum(x["connects"] for x in out if x["raddr"] == "127.0.0.1" and x["rport"] == port)
    assert n_out == TCP_CONNECTS and not sum(x["connect_errors"] for x in out), \
        "client rows: %d connects to 127.0.0.1:%d, want %d: %r" % (n_out, port, TCP_CONNECTS, out)
    ends = sorted({(x["direction"], x["raddr"], x["lport"]) for x in inb})
    assert ends == [("in", "127.0.0.1", port)], \
        "server rows (direction, raddr, lport) %r, want [('in', '127.0.0.1', %d)]" % (ends, port)
    n_in = sum(x["connects"] for x in inb)
    assert n_in == TCP_CONNECTS, "server rows: %d accepted connects, want %d" % (
        n_in, TCP_CONNECTS)
    return "%d connects to 127.0.0.1:%d: client and server rows exact, server sees raddr %s" % (
        TCP_CONNECTS, port, ends[0][1])


def main(argv):
    if argv[1:] == ["--list"]:
        print("\n".join(check_names()))
        return 0
    if argv[1:]:
        sys.stderr.write(__doc__)
        return 2
    print("LT-KERNEL\t%s" % os.uname().release, flush=True)
    failed = 0

    def run(name, fn, *args):
        nonlocal failed
        t0 = time.monotonic()
        try:
            detail = fn(*args)
            emit(name, "PASS", "%s [%.1fs]" % (detail, time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001 - a check's failure is a row, not the end
            failed += 1
            msg = str(e) or type(e).__name__
            emit(name, "FAIL", msg.splitlines()[0][:300],
                 msg if isinstance(e, AssertionError) else traceback.format_exc())

    found = {}
    run("check", run_check_command, found)
    chk = found.get("check")
    if chk is None:
        for name in check_names()[1:]:
            emit(name, "FAIL", "latscope check did not run")
        return 1
    if chk.res.rc != 0 or not chk.collectors:
        emit_evidence("latscope check:\n" + chk.text + "\n" + chk.res.stderr)
    for f in FLAVOURS:
        run("load " + f, run_load, chk, f)
    for f in FLAVOURS:
        run("syscalls " + f, run_syscalls, f)
    for f in FLAVOURS:
        run("sched " + f, run_sched, f)
    for f in FLAVOURS:
        run("slow " + f, run_slow, f)
    for name, fn in (("tcp", run_tcp), ("tcp-accept", run_tcp_accept)):
        for f in FLAVOURS:
            if "tcp" in chk.collectors:
                run("%s %s" % (name, f), fn, f)
            else:
                emit("%s %s" % (name, f), "SKIP",
                     "not in this build (latscope check lists no tcp collector)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
