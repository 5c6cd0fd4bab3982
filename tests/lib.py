# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Shared helpers for latscope's Python tests (see tests/run.py).

Every process a helper starts is owned by a context manager that kills it
on the way out, so a failing assertion never leaves an agent attached or a
workload running.
"""
import datetime
import json
import os
import queue
import signal
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
LATSCOPE = os.path.join(BUILD, "latscope")
WORKLOADS = os.path.join(BUILD, "tests")

ATTACH_TIMEOUT_S = 10
STOP_TIMEOUT_S = 5
ATTACHED_PREFIX = "latscope: attached"


class Skip(Exception):
    """Raised by a test that cannot run here; the runner counts it as skipped."""


def require_file(path, hint):
    """Fail (not skip) when a build product is missing: make test builds it."""
    assert os.path.exists(path), "%s missing (%s)" % (path, hint)


def latscope_cmd(*args):
    require_file(LATSCOPE, "run make all")
    return [LATSCOPE] + [str(a) for a in args]


class _Lines:
    """Collects the lines of a pipe in a thread; lines can be awaited."""

    def __init__(self, pipe):
        self.lines = []
        self._queue = queue.Queue()
        self._cond = threading.Condition()
        self.closed = False
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
            self._queue.put(line)
        pipe.close()
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._queue.put(None)

    def wait_for(self, pred, timeout):
        """Return the first line satisfying pred, or None on timeout/EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if pred(line):
                        return line
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return None
                self._cond.wait(left)

    def next_line(self, timeout):
        """Return the next unread line in order, or None on timeout/EOF."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def join(self, timeout=2):
        self._thread.join(timeout)

    def text(self):
        with self._cond:
            return "\n".join(self.lines)


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass


class AgentResult:
    def __init__(self, rc, stdout, stderr, elapsed):
        self.rc = rc
        self.stdout = stdout        # list of lines
        self.stderr = stderr        # whole text
        self.elapsed = elapsed      # seconds from start to exit

    def stderr_lines(self):
        return [line for line in self.stderr.splitlines() if line.strip()]

    def describe(self):
        return "exit status %r after %.1fs\n--- stderr:\n%s\n--- stdout (%d lines):\n%s" % (
            self.rc, self.elapsed, self.stderr, len(self.stdout), "\n".join(self.stdout[:20]))


class Agent:
    """build/latscope with args, as a context manager.

    On enter it waits (ATTACH_TIMEOUT_S) for the "latscope: attached" line
    on stderr. stop() sends a signal, waits and returns an AgentResult; leaving
    the block without stop() kills the agent.
    """

    def __init__(self, *args, wait_attached=True):
        self.cmd = latscope_cmd(*args)
        self.wait_attached = wait_attached
        self.proc = None
        self.result = None

    def __enter__(self):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)
        if self.wait_attached:
            try:
                self.attached()
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def attached(self, timeout=ATTACH_TIMEOUT_S):
        line = self.err.wait_for(lambda s: s.startswith(ATTACHED_PREFIX), timeout)
        if line is None:
            rc = self.proc.poll()
            raise AssertionError(
                "%s: no %r line on stderr within %ds (%s)\n--- stderr:\n%s" % (
                    " ".join(self.cmd[1:]), ATTACHED_PREFIX, timeout,
                    "still running" if rc is None else "exited with status %d" % rc,
                    self.err.text()))
        return line

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT_S):
        """Signal the agent, wait for it and collect its output."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout=STOP_TIMEOUT_S):
        """Wait for the agent to exit by itself; kill it and fail on timeout."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
            self.out.join()
            self.err.join()
            raise AssertionError("%s did not exit within %ss\n--- stderr:\n%s" % (
                " ".join(self.cmd[1:]), timeout, self.err.text()))
        self.out.join()
        self.err.join()
        self.result = AgentResult(rc, list(self.out.lines), self.err.text(),
                                  time.monotonic() - self.t0)
        return self.result

    def __exit__(self, *exc):
        if self.proc is not None:
            _kill(self.proc)
            self.out.join()
            self.err.join()
        return False


def run_agent(*args, timeout=10, user=None):
    """Run build/latscope to completion; fail if it takes longer than timeout.

    user: a uid to run as (through setpriv, all groups and capabilities
    dropped) instead of root.
    """
    cmd = latscope_cmd(*args)
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
               "--clear-groups", "--inh-caps=-all", "--"] + cmd
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s did not exit within %ss\n--- stderr:\n%s" % (
            " ".join(cmd), timeout, (e.stderr or b"").decode("utf-8", "replace")))
    return AgentResult(p.returncode, p.stdout.decode("utf-8", "replace").splitlines(),
                       p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


class Workload:
    """build/tests/<name> with args, as a context manager (see tests/workloads/).

    On enter it reads the "pid N" line. go() releases it; result() returns
    the JSON line with what it measured. Leaving the block tells it to exit
    and kills it if it does not.
    """

    def __init__(self, name, *args):
        self.path = os.path.join(WORKLOADS, name)
        require_file(self.path, "run make %s" % os.path.relpath(self.path, ROOT))
        self.cmd = [self.path] + [str(a) for a in args]
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)
        try:
            line = self.out.next_line(5)
            assert line and line.startswith("pid "), \
                "workload %s printed %r instead of 'pid N'; stderr: %s" % (
                    " ".join(self.cmd), line, self.err.text())
            self.pid = int(line.split()[1])
            assert self.pid == self.proc.pid
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def go(self):
        self.send("go\n")

    def result(self, timeout=10):
        line = self.out.next_line(timeout)
        assert line is not None, "workload %s printed no result within %ss; stderr: %s" % (
            " ".join(self.cmd), timeout, self.err.text())
        return json.loads(line)

    def __exit__(self, *exc):
        if self.proc is None:
            return False
        try:
            if self.proc.poll() is None:
                self.send("exit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        _kill(self.proc)
        self.out.join()
        self.err.join()
        return False


# --- NDJSON -------------------------------------------------------------

def parse_ndjson(lines):
    """Parse every non-empty stdout line as one JSON object; fail on any other."""
    objs = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise AssertionError("stdout line %d is not JSON (%s): %r" % (i + 1, e, line[:300]))
        assert isinstance(obj, dict), "stdout line %d is not a JSON object: %r" % (i + 1, line[:300])
        objs.append(obj)
    return objs


def intervals(lines):
    """The interval objects of a `top --json` run; fails on any other type."""
    objs = parse_ndjson(lines)
    for o in objs:
        assert o.get("type") == "interval", "unexpected object type in top --json: %r" % o
    return objs


def syscall_rows(ivs, pid=None):
    """All syscall rows of the intervals, optionally only those of pid."""
    return [r for iv in ivs for r in iv["syscalls"] if pid is None or r.get("pid") == pid]


def sum_syscalls(ivs, pid=None):
    """Sum interval rows per syscall name: {name: {count, errors, errnos, total_us, max_us}}."""
    out = {}
    for r in syscall_rows(ivs, pid):
        s = out.setdefault(r["syscall"], {"count": 0, "errors": 0, "errnos": {},
                                          "total_us": 0.0, "max_us": 0.0})
        s["count"] += r["count"]
        s["errors"] += r["errors"]
        for name, n in r["errnos"].items():
            s["errnos"][name] = s["errnos"].get(name, 0) + n
        s["total_us"] += r["total_us"]
        s["max_us"] = max(s["max_us"], r["lat_us"]["max"])
    return out


# drops that lose counts (a map full, no task storage); switch_in_missing is
# a tracepoint the kernel did not deliver, counted host-wide and apart
NOT_MAP_DROPS = ("switch_in_missing",)


def map_drops(iv):
    """The interval's drops that mean lost counts: {what: n}."""
    return {k: v for k, v in iv["drops"].items() if k not in NOT_MAP_DROPS}


def parse_rfc3339_utc(s):
    """Parse an RFC 3339 UTC timestamp ("...Z"); fails with a clear message."""
    assert isinstance(s, str) and s.endswith("Z"), "time %r is not RFC 3339 UTC (no trailing Z)" % (s,)
    assert len(s) >= 20 and s[4] == "-" and s[7] == "-" and s[10] == "T", \
        "time %r is not RFC 3339 (YYYY-MM-DDTHH:MM:SS...Z)" % s
    try:
        t = datetime.datetime.fromisoformat(s[:-1] + "+00:00")
    except ValueError as e:
        raise AssertionError("time %r is not RFC 3339: %s" % (s, e))
    return t


# --- BPF state ----------------------------------------------------------

PROG_PREFIX = "ls_"


def loaded_bpf(kind):
    """{id: entry} of every loaded BPF object of kind "prog" or "link" (bpftool -j)."""
    p = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0, "bpftool -j %s show failed: %s" % (kind, p.stderr)
    return {o["id"]: o for o in json.loads(p.stdout or "[]")}


def our_progs():
    """{id: name} of the loaded BPF programs whose name starts with ls_."""
    return {i: o.get("name", "") for i, o in loaded_bpf("prog").items()
            if o.get("name", "").startswith(PROG_PREFIX)}


def bpf_fds_of(pid):
    """(prog ids, link ids) that process pid holds through its file descriptors,
    read from /proc/PID/fdinfo (a link fd names its program too)."""
    progs, links = set(), set()
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, val = line.partition(":")
            if key == "prog_id":
                progs.add(int(val))
            elif key == "link_id":
                links.add(int(val))
    return progs, links


def pinned_objects(root="/sys/fs/bpf"):
    """Every path under the BPF filesystem (empty when it is not mounted)."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        found.update(os.path.join(dirpath, n) for n in dirnames + filenames)
    return found


def other_latscopes():
    """Pids of running latscope processes (by comm)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm == "latscope":
            pids.append(int(d))
    return pids


# --- cgroups and phased workloads ------------------------------------------

def cgroup2_root():
    """The cgroup v2 mount (on hybrid hosts /sys/fs/cgroup/unified); Skip if none."""
    for line in open("/proc/mounts"):
        f = line.split()
        if f[2] == "cgroup2":
            return f[1]
    raise Skip("no cgroup v2 hierarchy mounted")


class CgroupDirs:
    """Fresh cgroup v2 directories (paths under cgroup2_root()), made on
    enter and removed on exit, deepest first, even when a test failed."""

    def __init__(self, *rel):
        self.root = cgroup2_root()
        self.paths = [os.path.join(self.root, r.lstrip("/")) for r in rel]
        self.made = []

    def __enter__(self):
        for p in self.paths:
            if not os.path.isdir(p):
                os.mkdir(p)
                self.made.append(p)
        return self

    def move(self, pid, i):
        with open(os.path.join(self.paths[i], "cgroup.procs"), "w") as f:
            f.write("%d\n" % pid)

    def rel(self, i):
        return self.paths[i][len(self.root):]

    def __exit__(self, *exc):
        for p in reversed(self.made):
            for _ in range(50):
                try:
                    os.rmdir(p)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # a workload is still exiting
        return False


def phase(w, text):
    """Send commands to a tests/workloads/phases.c workload; wait for 'done'."""
    w.send(text + "\n")
    line = w.out.next_line(30)
    assert line and line.startswith("done"), "workload: %r; stderr: %s" % (line, w.err.text())
