# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Services, not only pids: a cgroup named like a systemd unit is shown by
its unit name and can be selected by it.

Ground truth: the test creates system.slice/latscope-svc-PID.service in the
cgroup v2 hierarchy (on a hybrid host, the unified one), moves a workload
into it and makes exactly N getppid calls there."""
import os
import time

import lib

N = 4321


def _cgroup2_root():
    for line in open("/proc/mounts"):
        f = line.split()
        if f[2] == "cgroup2":
            return f[1]
    raise lib.Skip("no cgroup v2 hierarchy mounted")


class _Unit:
    """A transient-unit-like cgroup, removed on exit (with system.slice when
    the test made it)."""

    def __init__(self):
        self.root = _cgroup2_root()
        self.slice = os.path.join(self.root, "system.slice")
        self.name = "latscope-svc-%d.service" % os.getpid()
        self.path = os.path.join(self.slice, self.name)
        self.made_slice = False

    def __enter__(self):
        if not os.path.isdir(self.slice):
            os.mkdir(self.slice)
            self.made_slice = True
        os.mkdir(self.path)
        return self

    def move(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write("%d\n" % pid)

    def __exit__(self, *exc):
        for p in [self.path] + ([self.slice] if self.made_slice else []):
            for _ in range(50):
                try:
                    os.rmdir(p)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # the workload is still exiting
        return False


def _cmd(w, text):
    w.send(text + "\n")
    line = w.out.next_line(30)
    assert line and line.startswith("done"), "workload: %r; stderr: %s" % (line, w.err.text())


def test_unit_cgroup_is_shown_and_selected_by_its_name():
    with _Unit() as u, lib.Workload("phases") as w:
        u.move(w.pid)
        # selected by the unit's name, not its path
        with lib.Agent("top", "--json", "--by", "cgroup", "--cgroup", u.name, "-i", "0.5",
                       "--view", "syscalls") as a, \
             lib.Agent("top", "--by", "cgroup", "--cgroup", u.name, "-i", "0.5",
                       "--view", "syscalls") as t:
            time.sleep(0.3)
            _cmd(w, "getppid %d" % N)
            time.sleep(1.2)
            out = a.stop()
            text = t.stop()
        w.send("exit\n")
    assert out.rc == 0 and text.rc == 0, "%s / %s" % (out.describe(), text.describe())
    rows = [r for iv in lib.intervals(out.stdout) for r in iv["syscalls"]]
    services = {r["service"] for r in rows}
    assert services == {u.name}, "services shown with --cgroup %s: %s" % (u.name, services)
    rel = "/system.slice/" + u.name
    assert {r["cgroup"] for r in rows} == {rel}, {r["cgroup"] for r in rows}
    got = sum(r["count"] for r in rows if r["syscall"] == "getppid")
    assert got == N, "getppid in %s: %d, want exactly %d" % (u.name, got, N)
    lines = [l for l in text.stdout if "getppid" in l]
    assert lines and u.name in lines[0], "text rows lack the service name: %s" % text.stdout[:6]
    return "%s: getppid %d of %d, only that service shown" % (u.name, got, N)


def test_unknown_or_ambiguous_unit_name_is_a_clear_error():
    out = lib.run_agent("top", "--cgroup", "no-such-unit-%d.service" % os.getpid(), "-n", "1")
    assert out.rc == 2, out.describe()
    assert "--cgroup" in out.stderr and "no-such-unit" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
