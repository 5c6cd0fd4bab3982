#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""latscope benchmark: overhead and accuracy next to the floor and the peers,
side by side in one run (issue 5; targets in DESIGN.md section 7).

Run through scripts/bench.sh (`sudo make bench`), which builds the floor
first. Every comparison is interleaved: each repetition runs every
configuration once, in an order rotated by one per repetition; figures are
medians over repetitions with [min-max], and an "extra" cost is the median
of the per-repetition differences from the "nothing attached" run of the
same repetition. Every tool is started afresh for each measurement and the
workload starts only once the tool is attached:
  latscope      its "latscope: attached ... in N ms" line on stderr
  floor         its "latscope-floor: attached" line on stderr
  libbpf-tools  every BPF program fd the process holds has a BPF link fd
                next to it (checked in /proc/PID/fd; none of them prints
                anything after attaching when stdout is not a TTY)
  bpftrace      the line "attached" from its BEGIN probe (stdout on a pty:
                bpftrace buffers a pipe). BEGIN may fire before the other
                probes attach, but bpftrace reads its output buffer only in
                the event loop it enters once every probe is attached
then 0.3 s more for the tool to settle; once a tool has exited, the next
measurement also waits until the kernel has freed its BPF programs.

Prints a markdown summary at the end and writes the same as JSON to
build/bench.json. A benchmark, not a test: it exits 0 unless it could not
run at all. Knobs (environment): BENCH_REPS (default 5), BENCH_AGENT_S
(default 60), BENCH_QUICK=1 (a few seconds per section, to work on the
bench itself; the figures are then noise).
"""
import collections
import datetime
import json
import os
import pty
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
LATSCOPE = os.path.join(BUILD, "latscope")
FLOOR = os.path.join(BUILD, "bench", "floor")
MAPCOST = os.path.join(BUILD, "bench", "mapcost")
WL = os.path.join(BUILD, "tests")
OUT_JSON = os.path.join(BUILD, "bench.json")

QUICK = os.environ.get("BENCH_QUICK") == "1"
REPS = int(os.environ.get("BENCH_REPS", "2" if QUICK else "5"))
AGENT_S = float(os.environ.get("BENCH_AGENT_S", "5" if QUICK else "60"))
GETPPID_N = 500000 if QUICK else 2000000
GETPPID_RUNS = 3  # loops per measurement; their median is the measurement
PINGPONG_N = 100000 if QUICK else 400000
CONNECT_S = 0.5 if QUICK else 2.0
SLEEP_N = 1000 if QUICK else 4000
KEYS_NPROC, KEYS_NSYS, KEYS_PERIOD_MS = 100, 50, 100
ACC_INTERVAL_S = 30

ATTACH_TIMEOUT_S = 30
SETTLE_S = 0.3
STOP_TIMEOUT_S = 20
TRACEFS = "/sys/kernel/tracing"

BPFTRACE_PROG = (
    'BEGIN { printf("attached\\n") } '
    "tracepoint:raw_syscalls:sys_enter { @s[tid] = nsecs } "
    "tracepoint:raw_syscalls:sys_exit /@s[tid]/ "
    "{ @h[args->id] = hist(nsecs - @s[tid]); delete(@s[tid]) }"
)

ATTACHED_RE = re.compile(r"^latscope: attached (.*) in ([0-9.]+) ms")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class ToolError(Exception):
    """A tool (or workload) could not be started, attached or measured."""


def which(name):
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def workload(name):
    return os.path.join(WL, name)


def measure_cpu():
    """The CPU the single-threaded workloads are pinned to: the last one."""
    return max(os.sched_getaffinity(0))


# ---------------------------------------------------------------- processes

_live = set()  # every tool process we started and have not reaped yet


class _Pump:
    """Collects the lines written to an fd (pipe or pty master) in a thread."""

    def __init__(self, fd):
        self.fd = fd
        self.lines = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        rest = b""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the pty's other end is gone
                chunk = b""
            if not chunk:
                break
            rest += chunk
            *done, rest = rest.split(b"\n")
            if done:
                with self.cond:
                    self.lines += [d.decode("utf-8", "replace").rstrip("\r") for d in done]
                    self.cond.notify_all()
        with self.cond:
            if rest:
                self.lines.append(rest.decode("utf-8", "replace"))
            self.closed = True
            self.cond.notify_all()

    def find(self, regex):
        with self.cond:
            for line in self.lines:
                m = regex.search(line)
                if m:
                    return m
        return None

    def wait(self, regex, deadline):
        with self.cond:
            while True:
                for line in self.lines:
                    m = regex.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return None
                self.cond.wait(min(left, 0.05))

    def tail(self, n=3):
        with self.cond:
            return " | ".join(l for l in self.lines[-n:] if l.strip())

    def close(self):
        self.thread.join(timeout=5)
        try:
            os.close(self.fd)
        except OSError:
            pass


def fd_kinds(pid):
    kinds = collections.Counter()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                kinds[os.readlink("/proc/%d/fd/%s" % (pid, fd))] += 1
            except OSError:
                pass
    except OSError:
        pass
    return kinds


def prog_ids(pid):
    """IDs of the BPF programs process pid holds an fd of."""
    ids = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return ids
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:bpf-prog":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            pass
    return ids


TRACING_TYPES = {"tracing", "raw_tracepoint", "tracepoint", "kprobe", "perf_event"}


def tracing_progs():
    """id -> (name, type) of every loaded BPF program that traces."""
    try:
        p = subprocess.run([which("bpftool") or "bpftool", "prog", "show", "--json"],
                           capture_output=True, text=True, timeout=30)
        progs = json.loads(p.stdout or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
    return {x["id"]: (x.get("name", "?"), x.get("type")) for x in progs
            if x.get("type") in TRACING_TYPES}


# all waiting for a quiet host together may not push the run past 10 minutes
WAIT_BUDGET = {"left_s": 120.0}


def _wait_limit(limit_s):
    return max(0.0, min(limit_s, WAIT_BUDGET["left_s"]))


def _spent(t0):
    WAIT_BUDGET["left_s"] -= time.monotonic() - t0


FOREIGN = {"waits": 0, "waited_s": 0.0, "measured_with": 0, "names": set()}


def wait_no_foreign(own_ids=frozenset(), limit_s=30):
    """Wait until no tracing BPF program but the tool's own is loaded: another
    agent or test on the host would slow every configuration, "nothing"
    included. Returns False if some were still there after limit_s."""
    t0, waited, foreign = time.monotonic(), False, {}
    limit_s = _wait_limit(limit_s)
    while True:
        foreign = {i: v for i, v in tracing_progs().items() if i not in own_ids}
        if not foreign:
            break
        FOREIGN["names"] |= {n for n, _ in foreign.values()}
        if not waited:
            FOREIGN["waits"] += 1
            waited = True
        if time.monotonic() - t0 > limit_s:
            FOREIGN["measured_with"] += 1
            break
        time.sleep(0.5)
    if waited:
        FOREIGN["waited_s"] += time.monotonic() - t0
        _spent(t0)
    return not foreign


def busy_cpus(window_s=0.25):
    """CPUs' worth of non-idle time on the host over window_s."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4]  # all but idle and iowait

    a = sample()
    time.sleep(window_s)
    return (sample() - a) / os.sysconf("SC_CLK_TCK") / window_s


BUSY = {"limit": 0.25, "waits": 0, "waited_s": 0.0, "measured_busy": 0}


def wait_quiet(limit_s=20):
    """Wait until the host is near idle (other work on a 2-CPU host moves
    every figure). Returns False if it stayed busy for limit_s."""
    t0 = time.monotonic()
    limit_s = _wait_limit(limit_s)
    while busy_cpus() > BUSY["limit"]:
        if time.monotonic() - t0 > limit_s:
            BUSY["measured_busy"] += 1
            BUSY["waits"] += 1
            BUSY["waited_s"] += time.monotonic() - t0
            _spent(t0)
            return False
    if time.monotonic() - t0 > 0.3:
        BUSY["waits"] += 1
        BUSY["waited_s"] += time.monotonic() - t0
        _spent(t0)
    return True


class Tool:
    """How to start one tracer and know that it is attached.

    ready: ("stderr", regex) or ("stdout", regex) for a line the tool prints
    once attached, or ("links",) for "every BPF program fd has a link fd".
    """

    def __init__(self, key, label, argv, ready, stdout=None, pty_stdout=False):
        self.key, self.label, self.argv, self.ready = key, label, argv, ready
        self.stdout = stdout  # a path, or None for /dev/null
        self.pty_stdout = pty_stdout

    def available(self):
        return self.argv[0] and os.access(self.argv[0], os.X_OK)

    def ready_how(self):
        kind = self.ready[0]
        if kind == "links":
            return "BPF link fd per program fd"
        return "%s line /%s/" % (kind, self.ready[1].pattern)

    def start(self):
        if not self.available():
            raise ToolError("not installed (%s)" % (self.argv[0] or self.key))
        out_fd = pump_fd = None
        if self.pty_stdout:
            pump_fd, out_fd = pty.openpty()
        elif self.stdout:
            out_fd = os.open(self.stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        else:
            out_fd = os.open(os.devnull, os.O_WRONLY)
        err_r, err_w = os.pipe()
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out_fd,
                                    stderr=err_w, cwd=ROOT, start_new_session=True)
        except OSError as e:
            os.close(err_r)
            raise ToolError("cannot start: %s" % e)
        finally:
            os.close(err_w)
            os.close(out_fd)
        _live.add(proc)
        run = Running(self, proc, t0, _Pump(err_r), _Pump(pump_fd) if pump_fd is not None else None)
        try:
            run.wait_attached()
        except ToolError:
            run.stop()
            raise
        return run


class Running:
    def __init__(self, tool, proc, t0, err, out):
        self.tool, self.proc, self.t0, self.err, self.out = tool, proc, t0, err, out
        self.attach_wall_s = None  # Popen to attached, as seen from here
        self.attach_ms = None  # what latscope prints
        self.ids = set()  # its BPF programs, to see them gone after stop

    def wait_attached(self):
        deadline = time.monotonic() + ATTACH_TIMEOUT_S
        kind = self.tool.ready[0]
        if kind in ("stderr", "stdout"):
            pump = self.err if kind == "stderr" else self.out
            m = pump.wait(self.tool.ready[1], deadline)
            if not m:
                raise ToolError(self._why_not())
            self.attach_wall_s = time.monotonic() - self.t0
            if m.re is ATTACHED_RE:
                self.attach_ms = float(m.group(2))
        else:
            while True:
                kinds = fd_kinds(self.proc.pid)
                progs, links = kinds["anon_inode:bpf-prog"], kinds["anon_inode:bpf_link"]
                if progs and links >= progs:
                    break
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise ToolError(self._why_not("%d BPF programs, %d links" % (progs, links)))
                time.sleep(0.01)
            self.attach_wall_s = time.monotonic() - self.t0
        time.sleep(SETTLE_S)
        if self.proc.poll() is not None:
            raise ToolError(self._why_not())
        self.ids = prog_ids(self.proc.pid)

    def _why_not(self, state=""):
        rc = self.proc.poll()
        what = ("exited with status %d" % rc) if rc is not None else \
            ("not attached after %d s" % ATTACH_TIMEOUT_S)
        if state:
            what += " (%s)" % state
        time.sleep(0.1)
        tail = self.err.tail()
        return what + (": " + tail if tail else "")

    def alive(self):
        return self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            raise ToolError("exited during the measurement with status %d: %s"
                            % (self.proc.returncode, self.err.tail()))

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        _live.discard(self.proc)
        self.err.close()
        if self.out:
            self.out.close()
        # the next measurement must not pay for programs still being torn down
        deadline = time.monotonic() + 10
        while self.ids & set(tracing_progs()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.proc.returncode


def kill_leftovers():
    for proc in list(_live):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass


def run_workload(argv, cpu=None, timeout=120):
    """Run a workload to completion; returns its last stdout line as a float."""
    pre = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, preexec_fn=pre)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ToolError("workload %s: %s" % (os.path.basename(argv[0]), e))
    lines = p.stdout.strip().splitlines()
    if p.returncode or not lines:
        raise ToolError("workload %s failed (status %d): %s"
                        % (os.path.basename(argv[0]), p.returncode, p.stderr.strip()[-200:]))
    return float(lines[-1])


# ---------------------------------------------------------------- tools

def latscope_tool(key, label, *args, stdout=None, cmd="top"):
    return Tool(key, label, [LATSCOPE, cmd] + list(args), ("stderr", ATTACHED_RE), stdout=stdout)


def peer(key, label, name, *args, **kw):
    path = which(name)
    return Tool(key, label, [path] + list(args) if path else [None], **kw)


def floor_tool():
    return Tool("floor", "floor: do-nothing tp_btf sys_enter+sys_exit", [FLOOR],
                ("stderr", re.compile(r"^latscope-floor: attached")))


def timing_floor_tool():
    return Tool("timing", "timing floor: clock in task storage at enter, clock + per-CPU "
                "count/sum at exit", [FLOOR, "timing"],
                ("stderr", re.compile(r"^latscope-floor: attached")))


def syscount_tool():
    return peer("syscount", "libbpf-tools syscount -L", "syscount", "-L", ready=("links",))


def bpftrace_tool():
    return peer("bpftrace", "bpftrace latency-histogram one-liner", "bpftrace", "-e",
                BPFTRACE_PROG, ready=("stdout", re.compile(r"^attached")), pty_stdout=True)


def runqlat_tool():
    return peer("runqlat", "libbpf-tools runqlat", "runqlat", ready=("links",))


def offcputime_tool():
    return peer("offcputime", "libbpf-tools offcputime", "offcputime", ready=("links",))


def tcplife_tool():
    return peer("tcplife", "libbpf-tools tcplife", "tcplife", ready=("links",))


ATTACH_LOG = []  # every latscope start: (printed ms, wall s from Popen)


def note_attach(run):
    if run.tool.argv[0] == LATSCOPE and run.attach_ms is not None:
        ATTACH_LOG.append((run.attach_ms, run.attach_wall_s))


# ---------------------------------------------------------------- statistics

def summary(values):
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def fmt(s, nd=1, unit=""):
    if not s:
        return "–"
    f = "%%.%df" % nd
    return (f % s["median"]) + unit + " [" + (f % s["min"]) + "–" + (f % s["max"]) + "]"


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else "%.2f×" % r


# ---------------------------------------------------------------- interleaved series

def series(title, configs, measure, to_cost):
    """configs: [(key, label, Tool or None)]; measure() -> raw value;
    to_cost(raw) -> ns per operation. Returns the section's result dict."""
    res = collections.OrderedDict()
    for key, label, tool in configs:
        res[key] = {"label": label, "raw": {}, "cost": {}, "status": "ok", "foreign": [],
                    "busy": [], "ready": tool.ready_how() if tool else None}
    base_key = configs[0][0]
    n = len(configs)
    for r in range(REPS):
        order = configs[r % n:] + configs[:r % n]
        for key, label, tool in order:
            cur = res[key]
            if cur["status"] != "ok":
                continue
            run = None
            try:
                if tool:
                    run = tool.start()
                    note_attach(run)
                if not wait_no_foreign(run.ids if run else frozenset()):
                    cur["foreign"].append(r)
                if not wait_quiet():
                    cur["busy"].append(r)
                raw = measure()
                if run:
                    run.check_alive()
                cur["raw"][r] = raw
                cur["cost"][r] = to_cost(raw)
            except ToolError as e:
                cur["status"] = "failed: %s" % e
                log("%s: %s: %s" % (title, label, cur["status"]))
            finally:
                if run:
                    run.stop()
        log("%s: rep %d/%d: %s" % (title, r + 1, REPS, ", ".join(
            "%s %.1f" % (k, v["cost"][r]) for k, v in res.items() if r in v["cost"])))
    base = res[base_key]["cost"]
    for key, cur in res.items():
        cur["raw_s"] = summary(list(cur["raw"].values()))
        cur["cost_s"] = summary(list(cur["cost"].values()))
        extra = [cur["cost"][r] - base[r] for r in cur["cost"] if r in base]
        cur["extra_s"] = summary(extra) if key != base_key else None
        cur["raw"] = [cur["raw"].get(r) for r in range(REPS)]
        cur["cost"] = [cur["cost"].get(r) for r in range(REPS)]
    return res


def extra_of(res, key):
    s = res.get(key, {}).get("extra_s")
    return s["median"] if s else None


# ---------------------------------------------------------------- sections

def section_syscalls():
    cpu = measure_cpu()
    argv = [workload("getppid_loop"), str(GETPPID_N)]

    def measure():
        return statistics.median(run_workload(argv, cpu) for _ in range(GETPPID_RUNS))

    configs = [
        ("nothing", "nothing attached", None),
        ("floor", floor_tool().label, floor_tool()),
        ("timing", timing_floor_tool().label, timing_floor_tool()),
        ("latscope", "latscope top (all collectors, -i 1, text to /dev/null)",
         latscope_tool("latscope", "latscope", "-i", "1")),
        # the loop is not selected: what every other process on the host pays
        ("latscope_other", "latscope top -p 1 (loop not selected; all collectors)",
         latscope_tool("latscope_other", "latscope", "-i", "1", "-p", "1")),
        # slow with a threshold no getppid reaches: the check alone
        ("latscope_slow", "latscope slow --threshold 1s (no call slow; syscalls + sched)",
         latscope_tool("latscope_slow", "latscope slow", "--threshold", "1s", "-i", "1",
                       cmd="slow")),
        ("syscount", syscount_tool().label, syscount_tool()),
        ("bpftrace", bpftrace_tool().label, bpftrace_tool()),
    ]
    res = series("syscalls", configs, measure, lambda v: v)
    ratios = {
        "latscope/floor": ratio(extra_of(res, "latscope"), extra_of(res, "floor")),
        "latscope/timing": ratio(extra_of(res, "latscope"), extra_of(res, "timing")),
        "latscope_other/floor": ratio(extra_of(res, "latscope_other"), extra_of(res, "floor")),
        "latscope/syscount": ratio(extra_of(res, "latscope"), extra_of(res, "syscount")),
        "latscope/bpftrace": ratio(extra_of(res, "latscope"), extra_of(res, "bpftrace")),
        "latscope_slow/latscope": ratio(extra_of(res, "latscope_slow"), extra_of(res, "latscope")),
    }
    return {"workload": "getppid_loop %d, median of %d loops per measurement, pinned to CPU %d"
            % (GETPPID_N, GETPPID_RUNS, cpu),
            "unit": "ns/syscall", "configs": res, "ratios": ratios}


def section_ctxsw():
    cpu = measure_cpu()
    argv = [workload("pingpong"), str(PINGPONG_N), str(cpu)]
    configs = [
        ("nothing", "nothing attached", None),
        ("latscope_sched", "latscope top --view sched (-i 1, text to /dev/null)",
         latscope_tool("latscope_sched", "latscope", "-i", "1", "--view", "sched")),
        ("runqlat", runqlat_tool().label, runqlat_tool()),
        ("offcputime", offcputime_tool().label, offcputime_tool()),
        ("latscope_all", "latscope top, all collectors (-i 1, text to /dev/null)",
         latscope_tool("latscope_all", "latscope", "-i", "1")),
    ]
    res = series("ctxsw", configs, lambda: run_workload(argv), lambda v: 1e9 / v)
    ratios = {
        "latscope_sched/runqlat": ratio(extra_of(res, "latscope_sched"), extra_of(res, "runqlat")),
        "latscope_sched/offcputime": ratio(extra_of(res, "latscope_sched"),
                                           extra_of(res, "offcputime")),
        "latscope_all/runqlat": ratio(extra_of(res, "latscope_all"), extra_of(res, "runqlat")),
    }
    return {"workload": "pingpong %d round trips, both processes on CPU %d (2 switches per "
            "round trip)" % (PINGPONG_N, cpu),
            "unit": "round trips/s", "cost_unit": "ns/round trip", "configs": res,
            "ratios": ratios}


def latscope_has_tcp():
    """True when this build accepts --view tcp and attaches the tcp collector."""
    try:
        p = subprocess.run([LATSCOPE, "top", "--view", "tcp", "--json", "-i", "0.1", "-n", "1"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False, "did not run"
    m = ATTACHED_RE.search(p.stderr)
    if p.returncode == 0 and m and "tcp" in m.group(1):
        return True, m.group(1)
    return False, (p.stderr.strip().splitlines() or ["status %d" % p.returncode])[-1]


def section_tcp():
    cpu = measure_cpu()
    argv = [workload("bench_connect"), str(CONNECT_S)]
    has_tcp, why = latscope_has_tcp()
    configs = [("nothing", "nothing attached", None)]
    if has_tcp:
        configs.append(("latscope_tcp", "latscope top --view tcp (-i 1, text to /dev/null)",
                        latscope_tool("latscope_tcp", "latscope", "-i", "1", "--view", "tcp")))
    configs.append(("tcplife", tcplife_tool().label, tcplife_tool()))
    res = series("tcp", configs, lambda: run_workload(argv, cpu), lambda v: 1e9 / v)
    if not has_tcp:
        res["latscope_tcp"] = {"label": "latscope tcp collector", "status":
                               "not in this build (%s)" % why, "raw_s": None, "cost_s": None,
                               "extra_s": None, "ready": None}
    ratios = {"latscope_tcp/tcplife": ratio(extra_of(res, "latscope_tcp"),
                                            extra_of(res, "tcplife"))}
    return {"workload": "bench_connect %.1f s: loopback connect/accept/close, both threads "
            "on CPU %d" % (CONNECT_S, cpu),
            "unit": "connections/s", "cost_unit": "ns/connection", "configs": res,
            "ratios": ratios}


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return None


def section_agent():
    out = {"workload": "bench_keys %d %d %d: %d processes x %d distinct syscalls "
           "(%d cheap ones + nanosleep %d ms), %d keys"
           % (KEYS_NPROC, KEYS_NSYS, KEYS_PERIOD_MS, KEYS_NPROC, KEYS_NSYS, KEYS_NSYS - 1,
              KEYS_PERIOD_MS, KEYS_NPROC * KEYS_NSYS),
           "agent": "latscope top --json -i 1, all collectors, NDJSON to a file",
           "seconds": AGENT_S, "status": "ok"}
    ndjson = os.path.join(BUILD, "bench", "agent.ndjson")
    keys = subprocess.Popen([workload("bench_keys"), str(KEYS_NPROC), str(KEYS_NSYS),
                             str(KEYS_PERIOD_MS)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    run = None
    try:
        line = keys.stdout.readline()
        if not line.startswith("ready"):
            raise ToolError("bench_keys did not start")
        time.sleep(1)  # every key has been hit at least once
        tool = latscope_tool("agent", "latscope", "--json", "--all", "-i", "1", stdout=ndjson)
        run = tool.start()
        note_attach(run)
        pid = run.proc.pid
        cpu0, t0 = proc_cpu_s(pid), time.monotonic()
        time.sleep(AGENT_S)
        run.check_alive()
        cpu1, t1 = proc_cpu_s(pid), time.monotonic()
        out["startup_cpu_s"] = cpu0
        out["cpu_s"] = cpu1 - cpu0
        out["cpu_pct"] = 100 * (cpu1 - cpu0) / (t1 - t0)
        out["vmhwm_kib"] = proc_status_kib(pid, "VmHWM")
        out["vmrss_kib"] = proc_status_kib(pid, "VmRSS")
    except ToolError as e:
        out["status"] = "failed: %s" % e
    finally:
        if run:
            run.stop()
        try:
            keys.stdin.write("exit\n")
            keys.stdin.close()
        except OSError:
            pass
        try:
            keys.wait(timeout=20)
        except subprocess.TimeoutExpired:
            keys.kill()
            keys.wait()
    if out["status"] != "ok":
        return out
    rows, wrows, wpids, drops = [], [], [], collections.Counter()
    intervals = 0
    with open(ndjson) as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("type") != "interval" or o.get("interval_s", 0) < 0.9:
                continue  # the partial interval printed on SIGINT
            intervals += 1
            sys_rows = o.get("syscalls", [])
            mine = [x for x in sys_rows if x.get("comm") == "bench_keys"]
            rows.append(len(sys_rows))
            wrows.append(len(mine))
            wpids.append(len({x.get("pid") for x in mine}))
            for k, v in (o.get("drops") or {}).items():
                drops[k] += v
    os.unlink(ndjson)
    out["intervals"] = intervals
    out["syscall_rows"] = summary(rows)
    out["workload_rows"] = summary(wrows)
    out["workload_pids"] = summary(wpids)
    out["drops_total"] = dict(drops)
    out["drops_per_interval"] = {k: v / max(intervals, 1) for k, v in drops.items() if v}
    return out


def section_scale(agent):
    """The agent on big hosts, on paper: its CPU at -i 1 derived from this run's
    agent figure and per-entry costs measured here (scripts/bench/mapcost.c:
    the kernel's batch read per entry and per byte copied, user space's fold
    of a per-CPU value timed at 64 and 192 CPUs); map memory from `latscope
    check`'s budget. Each key is one syscall_lat entry with an 80-byte
    per-CPU value, copied once per possible CPU."""
    out = {"how": " ".join(section_scale.__doc__.split()), "rows": []}
    try:
        m = json.loads(subprocess.run([MAPCOST], capture_output=True, text=True,
                                      check=True, timeout=120).stdout)
        chk = subprocess.run([LATSCOPE, "check"], capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        out["status"] = "failed: %s" % e
        return out
    out["mapcost"] = m
    budget = {}
    for k, here, c64, c192 in re.findall(
            r"with --max-keys (\d+): ([\d.]+) MiB here, ([\d.]+) MiB on 64 CPUs, "
            r"([\d.]+) MiB on 192", chk):
        budget[int(k)] = {64: float(c64), 192: float(c192)}
    base = agent.get("cpu_pct")
    ncpu = os.cpu_count()
    for cpus in (64, 192):
        fold = m["fold_ns_per_entry_%dcpu" % cpus]
        # the read of one entry's per-CPU value, beyond what this host copies
        extra_ns = m["copy_ns_per_byte"] * 80 * (cpus - ncpu) + fold
        for keys in (5000, 20000):
            cpu = (base * keys / 5000 + 100 * keys * extra_ns / 1e9) if base is not None \
                else None
            out["rows"].append({"cpus": cpus, "keys": keys, "agent_cpu_pct": cpu,
                                "extra_ns_per_key": extra_ns,
                                "map_mib": budget.get(keys, {}).get(cpus)})
    out["status"] = "ok"
    return out


def section_accuracy():
    out = {"workload": "bench_sleep %d: nanosleep from a fixed mix (40%% 60us, 30%% 250us, "
           "20%% 800us, 9.5%% 3ms, 0.5%% 10ms), timed by the workload itself" % SLEEP_N,
           "agent": "latscope top --json --view syscalls -p PID -i %d: the whole run in "
           "one interval, closed by SIGINT" % ACC_INTERVAL_S,
           "log2": "computed by the workload from its own samples: log2 buckets of ns "
           "[2^k, 2^(k+1)) as bpftrace hist(), read at the bucket midpoint 1.5*2^k",
           "status": "ok"}
    wl = subprocess.Popen([workload("bench_sleep"), str(SLEEP_N)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    run = None
    ndjson = os.path.join(BUILD, "bench", "accuracy.ndjson")
    try:
        line = wl.stdout.readline()
        if not line.startswith("pid "):
            raise ToolError("bench_sleep did not start")
        pid = int(line.split()[1])
        tool = latscope_tool("accuracy", "latscope", "--json", "--all", "--view", "syscalls", "-p",
                             str(pid), "-i", str(ACC_INTERVAL_S), stdout=ndjson)
        run = tool.start()
        note_attach(run)
        t0 = time.monotonic()
        wl.stdin.write("go\n")
        wl.stdin.flush()
        truth = json.loads(wl.stdout.readline())
        if time.monotonic() - t0 > ACC_INTERVAL_S * 0.9:
            raise ToolError("the workload outlasted latscope's interval")
        # latscope prints a partial interval on SIGINT only once 1/20 of it has passed
        time.sleep(max(0.2, ACC_INTERVAL_S / 20 + 0.3 - (time.monotonic() - t0)))
        run.check_alive()
    except (ToolError, ValueError) as e:
        out["status"] = "failed: %s" % e
        truth = None
    finally:
        if run:
            run.stop()
        try:
            wl.stdin.write("exit\n")
            wl.stdin.close()
        except OSError:
            pass
        wl.wait(timeout=20)
    if not truth:
        return out
    row, drops = None, collections.Counter()
    with open(ndjson) as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            for k, v in (o.get("drops") or {}).items():
                drops[k] += v
            for x in o.get("syscalls", []):
                if x.get("pid") == pid and x.get("syscall") == "nanosleep":
                    if row:  # the run straddled two intervals: should not happen
                        out["status"] = "failed: nanosleep split over two intervals"
                    row = x
    os.unlink(ndjson)
    out["truth"] = truth
    out["drops"] = {k: v for k, v in drops.items() if v}
    if not row:
        out["status"] = "failed: no nanosleep row for pid %d" % pid
        return out
    out["latscope"] = {"count": row["count"], "p50_us": row["lat_us"]["p50"],
                       "p99_us": row["lat_us"]["p99"]}
    for p in ("p50", "p99"):
        t = truth[p + "_us"]
        out[p + "_err"] = row["lat_us"][p] / t - 1
        out[p + "_log2_err"] = truth["log2_" + p + "_us"] / t - 1
    out["count_exact"] = row["count"] == truth["count"]
    return out


def bpftool_progs():
    bpftool = which("bpftool")
    p = subprocess.run([bpftool, "prog", "show", "--json"], capture_output=True, text=True,
                       timeout=30)
    return {x["id"]: x for x in json.loads(p.stdout or "[]")}


def section_progstats():
    """Per-program cost from the kernel's own accounting. Separate runs: the
    accounting adds two clock reads to every program run."""
    out = {"how": "kernel.bpf_stats_enabled=1; bpftool prog show run_time_ns/run_cnt, "
           "difference over one workload run; programs owned by the tool's pid",
           "runs": [], "status": "ok"}
    cpu = measure_cpu()
    # (name, run it, operations it made given what it printed)
    getppid = ("getppid_loop %d" % GETPPID_N, "syscall",
               lambda: run_workload([workload("getppid_loop"), str(GETPPID_N)], cpu),
               lambda raw: GETPPID_N)
    pingpong = ("pingpong %d" % PINGPONG_N, "round trip",
                lambda: run_workload([workload("pingpong"), str(PINGPONG_N), str(cpu)]),
                lambda raw: PINGPONG_N)
    connect = ("bench_connect %.1f" % CONNECT_S, "connection",
               lambda: run_workload([workload("bench_connect"), str(CONNECT_S)], cpu),
               lambda raw: raw * CONNECT_S)
    plan = [
        (latscope_tool("latscope", "latscope top (all collectors)", "-i", "1"), getppid),
        (floor_tool(), getppid),
        (timing_floor_tool(), getppid),
        (latscope_tool("latscope_sys", "latscope top --view syscalls", "-i", "1", "--view",
                       "syscalls"), getppid),
        (latscope_tool("latscope_slow", "latscope slow --threshold 1s", "--threshold", "1s",
                       "-i", "1", cmd="slow"), getppid),
        (syscount_tool(), getppid),
        (bpftrace_tool(), getppid),
        (latscope_tool("latscope", "latscope top (all collectors)", "-i", "1"), pingpong),
        (latscope_tool("latscope_slow", "latscope slow --threshold 1s", "--threshold", "1s",
                       "-i", "1", cmd="slow"), pingpong),
        (latscope_tool("latscope_sched", "latscope top --view sched", "-i", "1", "--view",
                       "sched"), pingpong),
        (runqlat_tool(), pingpong),
        (timing_floor_tool(), pingpong),
        (offcputime_tool(), pingpong),
        (latscope_tool("latscope", "latscope top (all collectors)", "-i", "1"), connect),
        (tcplife_tool(), connect),
    ]
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    try:
        with open(path, "w") as f:
            f.write("1\n")
        for tool, (wname, op, measure, ops_of) in plan:
            entry = {"tool": tool.label, "workload": wname, "programs": [], "op": op}
            out["runs"].append(entry)
            run = None
            try:
                run = tool.start()
                ids = prog_ids(run.proc.pid)
                before = bpftool_progs()
                raw = measure()
                after = bpftool_progs()
                run.check_alive()
                for i in sorted(ids):
                    a, b = after.get(i, {}), before.get(i, {})
                    dn = a.get("run_cnt", 0) - b.get("run_cnt", 0)
                    dt = a.get("run_time_ns", 0) - b.get("run_time_ns", 0)
                    entry["programs"].append({
                        "name": a.get("name", "?"), "id": i, "run_cnt": dn, "run_time_ns": dt,
                        "ns_per_run": dt / dn if dn else None})
                entry["ops"] = ops_of(raw)
                entry["bpf_ns_per_op"] = sum(
                    p["run_time_ns"] for p in entry["programs"]) / entry["ops"]
            except ToolError as e:
                entry["status"] = "failed: %s" % e
            finally:
                if run:
                    run.stop()
    finally:
        with open(path, "w") as f:
            f.write(old + "\n")
    return out


# ---------------------------------------------------------------- report

def targets(R):
    """DESIGN.md section 7, each as (target, measured, verdict)."""
    rows = []

    def add(name, value, limit, shown, lower_is_better=True):
        if value is None:
            rows.append((name, "not measured", "–"))
            return
        ok = value <= limit if lower_is_better else value >= limit
        verdict = "met" if ok else "MISSED (%.2f× the limit)" % (value / limit)
        rows.append((name, shown, verdict))

    s = R["syscalls"]["ratios"]
    add("syscall path: extra ≤ 1.0× the timing floor's", s.get("latscope/timing"), 1.0,
        fmt_ratio(s.get("latscope/timing")))
    add("syscall path: extra ≤ 0.6× syscount -L's", s["latscope/syscount"], 0.6,
        fmt_ratio(s["latscope/syscount"]))
    add("slow running (no call slow): extra ≤ 1.05× top's", s.get("latscope_slow/latscope"),
        1.05, fmt_ratio(s.get("latscope_slow/latscope")))
    add("unselected processes (-p other): extra ≤ 1.15× the floor's",
        s.get("latscope_other/floor"), 1.15, fmt_ratio(s.get("latscope_other/floor")))
    c = R["ctxsw"]["ratios"]
    add("context switches: extra ≤ 0.8× runqlat's (sched collector, with off-CPU)",
        c["latscope_sched/runqlat"], 0.8, fmt_ratio(c["latscope_sched/runqlat"]))
    add("context switches: extra ≤ 1.5× runqlat's (all collectors)",
        c.get("latscope_all/runqlat"), 1.5, fmt_ratio(c.get("latscope_all/runqlat")))
    a = R["agent"]
    add("agent CPU ≤ 1% of one CPU (-i 1, ~5,000 keys)", a.get("cpu_pct"), 1.0,
        "%.2f%%" % a["cpu_pct"] if "cpu_pct" in a else "")
    add("agent RSS ≤ 32 MiB", a["vmhwm_kib"] / 1024 if a.get("vmhwm_kib") else None, 32,
        "%.1f MiB" % (a["vmhwm_kib"] / 1024) if a.get("vmhwm_kib") else "")
    att, wall = R["attach"].get("printed_ms"), R["attach"].get("wall_ms")
    add("exec to attached ≤ 0.5 s (wall, Popen to the line, median of all starts)",
        wall["median"] / 1000 if wall else None, 0.5,
        ("wall median %.0f ms, max %.0f ms; printed median %.0f ms, max %.0f ms"
         % (wall["median"], wall["max"], att["median"], att["max"])) if att else "")
    acc = R["accuracy"]
    for p in ("p50", "p99"):
        e = acc.get(p + "_err")
        add("accuracy: %s within 12.5%%" % p, abs(e) if e is not None else None, 0.125,
            "%+.1f%%" % (100 * e) if e is not None else "")
    if "count_exact" in acc:
        rows.append(("accuracy: counts exact when nothing dropped",
                     "%d of %d" % (acc["latscope"]["count"], acc["truth"]["count"]),
                     "met" if acc["count_exact"] else
                     ("MISSED" if not acc["drops"] else "drops: %s" % acc["drops"])))
    return rows


def render(R):
    L = []
    m = R["meta"]
    L.append("# latscope bench: %s, %s, Linux %s, %d CPUs, load average %s at the start, "
             "%s at the end" % (m["commit"], m["date"], m["kernel"], m["cpus"],
                                 "/".join(m["loadavg_start"]), "/".join(m["loadavg_end"])))
    L.append("")
    L.append("%d repetitions, interleaved (order rotated each repetition); figures are median "
             "[min–max] over repetitions; *extra* is the median [min–max] of the per-repetition "
             "difference from *nothing* in the same repetition. Each tool is started afresh for "
             "every measurement and the workload runs once it is attached (latscope and floor: "
             "their attached line; libbpf-tools: a BPF link fd for every program fd; bpftrace: "
             "its BEGIN probe's line), plus %.1f s." % (m["reps"], SETTLE_S))
    if m.get("notes"):
        L.append("")
        for n in m["notes"]:
            L.append("- " + n)

    def status_cell(cur, text):
        if cur["status"] != "ok":
            return cur["status"]
        if cur.get("foreign"):
            text += " (%d reps with other tracers loaded)" % len(cur["foreign"])
        if cur.get("busy"):
            text += " (%d reps on a busy host)" % len(cur["busy"])
        return text

    S = R["syscalls"]
    L += ["", "## 1. Syscall path — %s" % S["workload"], "",
          "| config | ns/syscall | extra ns/syscall |", "|---|---|---|"]
    for key, cur in S["configs"].items():
        L.append("| %s | %s | %s |" % (cur["label"], status_cell(cur, fmt(cur["cost_s"])),
                                        fmt(cur["extra_s"]) if cur["status"] == "ok" else ""))
    L.append("")
    L.append("Ratios of extra cost: latscope/timing floor **%s** (target ≤ 1.0×), "
             "latscope/syscount **%s** (target ≤ 0.6×), unselected/floor **%s** (target ≤ "
             "1.15×), slow/top **%s** (target ≤ 1.05×), latscope/floor %s, latscope/bpftrace "
             "%s." % tuple(
                 fmt_ratio(S["ratios"].get(k)) for k in
                 ("latscope/timing", "latscope/syscount", "latscope_other/floor",
                  "latscope_slow/latscope", "latscope/floor", "latscope/bpftrace")))

    for sec, title in (("ctxsw", "2. Context switches"), ("tcp", "3. TCP")):
        X = R[sec]
        L += ["", "## %s — %s" % (title, X["workload"]), "",
              "| config | %s | %s | extra %s |" % (X["unit"], X["cost_unit"], X["cost_unit"]),
              "|---|---|---|---|"]
        for key, cur in X["configs"].items():
            if cur["status"] != "ok":
                L.append("| %s | %s | | |" % (cur["label"], cur["status"]))
                continue
            L.append("| %s | %s | %s | %s |" % (
                cur["label"], status_cell(cur, fmt(cur["raw_s"], 0)), fmt(cur["cost_s"]),
                fmt(cur["extra_s"])))
        L.append("")
        L.append("Ratios of extra cost: " + ", ".join(
            "%s **%s**" % (k, fmt_ratio(v)) for k, v in X["ratios"].items()) +
            (" (target: latscope_sched/runqlat ≤ 1.0×)." if sec == "ctxsw" else "."))
        if sec == "tcp" and R["tcp"]["configs"]["latscope_tcp"]["status"].startswith("not in"):
            L.append("")
            L.append("latscope tcp collector: not in this build")

    A = R["agent"]
    L += ["", "## 4. Agent cost — %s; %s, %.0f s" % (A["workload"], A["agent"], A["seconds"]),
          ""]
    if A["status"] != "ok":
        L.append(A["status"])
    else:
        L += ["| figure | value |", "|---|---|",
              "| CPU (utime+stime from /proc/PID/stat, after attach) | %.2f%% of one CPU "
              "(%.2f s over %.0f s) |" % (A["cpu_pct"], A["cpu_s"], A["seconds"]),
              "| CPU to start and attach | %.2f s |" % A["startup_cpu_s"],
              "| peak RSS (VmHWM) | %.1f MiB (VmRSS at the end %.1f MiB) |"
              % (A["vmhwm_kib"] / 1024, A["vmrss_kib"] / 1024),
              "| syscall rows per interval (all processes) | %s |" % fmt(A["syscall_rows"], 0),
              "| rows of bench_keys per interval (of %d keys live) | %s, from %s processes |"
              % (KEYS_NPROC * KEYS_NSYS, fmt(A["workload_rows"], 0), fmt(A["workload_pids"], 0)),
              "| drops per interval (mean over %d intervals) | %s |"
              % (A["intervals"], ", ".join("%s %.0f" % kv for kv in
                                           A["drops_per_interval"].items()) or "none")]
    T = R["attach"]
    L += ["", "Exec to attached, over all %d latscope starts in this run: printed by latscope "
          "%s ms; wall time from Popen to the line %s ms." % (
              T.get("starts", 0), fmt(T.get("printed_ms"), 0), fmt(T.get("wall_ms"), 0))]

    C = R["accuracy"]
    L += ["", "## 5. Accuracy — %s; %s" % (C["workload"], C["agent"]), ""]
    if C["status"] != "ok" and "truth" not in C:
        L.append(C["status"])
    else:
        t, l = C["truth"], C.get("latscope", {})
        L += ["| | exact (workload) | latscope | error | log2 hist midpoint | error |",
              "|---|---|---|---|---|---|"]
        for p in ("p50", "p99"):
            L.append("| %s | %.1f us | %s | %s | %.1f us | %+.1f%% |" % (
                p, t[p + "_us"], ("%.1f us" % l[p + "_us"]) if l else "–",
                ("%+.1f%%" % (100 * C[p + "_err"])) if l else "–",
                t["log2_" + p + "_us"], 100 * C[p + "_log2_err"]))
        L.append("| count | %d | %s | %s | | |" % (
            t["count"], l.get("count", "–"),
            "exact" if C.get("count_exact") else "differs"))
        L += ["", "log2 column: %s." % C["log2"]]
        if C["status"] != "ok":
            L.append(C["status"])

    P = R["progstats"]
    L += ["", "## 6. BPF program cost — %s" % P["how"], "",
          "| tool | workload | program | runs | ns/run |", "|---|---|---|---|---|"]
    for e in P["runs"]:
        if e.get("status"):
            L.append("| %s | %s | %s | | |" % (e["tool"], e["workload"], e["status"]))
            continue
        for p in e["programs"]:
            if not p["run_cnt"]:
                continue  # in the JSON; a table row would say nothing
            L.append("| %s | %s | %s | %d | %s |" % (
                e["tool"], e["workload"], p["name"], p["run_cnt"],
                "%.1f" % p["ns_per_run"] if p["ns_per_run"] is not None else "–"))

    L += ["", "BPF time per workload operation (all of the tool's programs, run_time_ns summed "
          "over the run / operations; includes the accounting's own clock reads, which the "
          "floor's do-nothing programs show):", "",
          "| tool | workload | BPF ns per operation |", "|---|---|---|"]
    for e in P["runs"]:
        if "bpf_ns_per_op" in e:
            L.append("| %s | %s | %.1f per %s |" % (e["tool"], e["workload"],
                                                   e["bpf_ns_per_op"], e["op"]))
    X = R.get("scale", {})
    L += ["", "## 7. Scale, on paper — %s" % X.get("how", ""), ""]
    if X.get("status") != "ok":
        L.append(X.get("status", "not run"))
    else:
        mc = X["mapcost"]
        L += ["Measured here: batch read %.1f ns per entry (80-byte value), %.4f ns per byte "
              "copied; fold of one entry %.0f ns at 64 CPUs, %.0f ns at 192." % (
                  mc["read_ns_per_entry_80B"], mc["copy_ns_per_byte"],
                  mc["fold_ns_per_entry_64cpu"], mc["fold_ns_per_entry_192cpu"]), "",
              "| CPUs | keys | agent CPU (-i 1) | extra ns per key | map budget (--max-keys) |",
              "|---|---|---|---|---|"]
        for r in X["rows"]:
            L.append("| %d | %d | %s | %.0f | %s |" % (
                r["cpus"], r["keys"],
                "%.2f%%" % r["agent_cpu_pct"] if r["agent_cpu_pct"] is not None else "–",
                r["extra_ns_per_key"],
                "%.1f MiB" % r["map_mib"] if r["map_mib"] is not None else "–"))
    L += ["", "## Targets (DESIGN.md section 7)", "", "| target | measured | verdict |",
          "|---|---|---|"]
    for name, shown, verdict in R["targets"]:
        L.append("| %s | %s | %s |" % (name, shown, verdict))
    return "\n".join(L)


# ---------------------------------------------------------------- main

def ensure_tracefs(notes):
    """libbpf-tools and bpftrace attach tracepoints through tracefs;
    latscope does not need it. Mount it for the run if it is missing."""
    if os.path.isdir(os.path.join(TRACEFS, "events")):
        return False
    r = subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], capture_output=True,
                       text=True)
    if r.returncode:
        notes.append("tracefs is not mounted and could not be (%s): peers that attach "
                     "tracepoints will fail" % r.stderr.strip())
        return False
    notes.append("tracefs was not mounted: mounted at %s for the peers for the run, "
                 "unmounted at the end (latscope does not need it)" % TRACEFS)
    return True


def main():
    if os.geteuid() != 0:
        print("latscope: bench: needs root to load BPF programs; try: sudo make bench",
              file=sys.stderr)
        return 1
    need = [LATSCOPE, FLOOR] + [workload(w) for w in (
        "getppid_loop", "pingpong", "bench_connect", "bench_keys", "bench_sleep")]
    missing = [p for p in need if not os.access(p, os.X_OK)]
    if missing:
        print("latscope: bench: cannot run: missing %s; try: make bench" % ", ".join(missing),
              file=sys.stderr)
        return 1
    t_start = time.monotonic()
    notes = []
    mounted = ensure_tracefs(notes)
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        stats_on = f.read().strip() != "0"
    if stats_on:
        notes.append("kernel.bpf_stats_enabled was already 1 (set by someone else; left "
                     "alone): in sections 1-3 every BPF program run also pays two clock "
                     "reads, so the tools' extra costs are inflated")
    for name in ("syscount", "runqlat", "offcputime", "tcplife", "bpftrace", "bpftool"):
        if not which(name):
            notes.append("%s is not installed (scripts/deps.sh --bench installs it)" % name)
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    version = subprocess.run([LATSCOPE, "--version"], capture_output=True,
                             text=True).stdout.strip()
    R = collections.OrderedDict()
    R["meta"] = {"commit": commit, "latscope_version": version,
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                     "%Y-%m-%dT%H:%M:%SZ"),
                 "kernel": os.uname().release, "cpus": os.cpu_count(), "reps": REPS,
                 "quick": QUICK, "notes": notes, "bpf_stats_enabled_at_start": stats_on,
                 "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    if QUICK:
        notes.append("BENCH_QUICK=1: short runs, the figures are noise")
    try:
        log("1/6 syscall path")
        R["syscalls"] = section_syscalls()
        log("2/6 context switches")
        R["ctxsw"] = section_ctxsw()
        log("3/6 tcp")
        R["tcp"] = section_tcp()
        log("4/6 agent cost (%.0f s)" % AGENT_S)
        R["agent"] = section_agent()
        log("5/6 accuracy")
        R["accuracy"] = section_accuracy()
        log("6/6 BPF program cost (bpf_stats_enabled)")
        R["progstats"] = section_progstats()
        R["scale"] = section_scale(R["agent"])
    finally:
        kill_leftovers()
        if mounted:
            subprocess.run(["umount", TRACEFS])
    if FOREIGN["waits"]:
        notes.append("other tracing BPF programs were loaded on the host (%s): measurements "
                     "waited %.0f s in all for them to go; %d ran with them present"
                     % (", ".join(sorted(FOREIGN["names"])), FOREIGN["waited_s"],
                        FOREIGN["measured_with"]))
    if BUSY["waits"]:
        notes.append("the host was busy (> %.2f CPUs non-idle over 0.25 s) before %d "
                     "measurements: they waited %.0f s in all; %d ran busy after 20 s"
                     % (BUSY["limit"], BUSY["waits"], BUSY["waited_s"], BUSY["measured_busy"]))
    R["meta"]["busy_host"] = BUSY
    R["meta"]["foreign_bpf"] = dict(FOREIGN, names=sorted(FOREIGN["names"]))
    R["meta"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    R["attach"] = {"starts": len(ATTACH_LOG),
                   "printed_ms": summary([a for a, _ in ATTACH_LOG]),
                   "wall_ms": summary([1000 * w for _, w in ATTACH_LOG])}
    R["targets"] = targets(R)
    R["meta"]["duration_s"] = round(time.monotonic() - t_start, 1)
    text = render(R)
    print(text)
    print("\n(bench took %.0f s; JSON in %s)" % (R["meta"]["duration_s"],
                                                 os.path.relpath(OUT_JSON, ROOT)))
    with open(OUT_JSON, "w") as f:
        json.dump(R, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        kill_leftovers()
        sys.exit(130)
