# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Services, not only pids: a cgroup named like a systemd unit is shown by
its unit name and can be selected by it.

Ground truth: the test creates system.slice/latscope-svc-PID.service in the
cgroup v2 hierarchy (on a hybrid host, the unified one; system.slice too
when missing), moves a workload into it and makes exactly N getppid calls
there."""
import os
import time

import lib

N = 4321


def test_unit_cgroup_is_shown_and_selected_by_its_name():
    name = "latscope-svc-%d.service" % os.getpid()
    with lib.CgroupDirs("system.slice", "system.slice/" + name) as u, \
            lib.Workload("phases") as w:
        u.move(w.pid, 1)
        # selected by the unit's name, not its path
        with lib.Agent("top", "--json", "--by", "cgroup", "--cgroup", name, "-i", "0.5",
                       "--view", "syscalls") as a, \
             lib.Agent("top", "--by", "cgroup", "--cgroup", name, "-i", "0.5",
                       "--view", "syscalls") as t:
            time.sleep(0.3)
            lib.phase(w, "getppid %d" % N)
            time.sleep(1.2)
            out = a.stop()
            text = t.stop()
        w.send("exit\n")
    assert out.rc == 0 and text.rc == 0, "%s / %s" % (out.describe(), text.describe())
    rows = [r for iv in lib.intervals(out.stdout) for r in iv["syscalls"]]
    services = {r["service"] for r in rows}
    assert services == {name}, "services shown with --cgroup %s: %s" % (name, services)
    rel = "/system.slice/" + name
    assert {r["cgroup"] for r in rows} == {rel}, {r["cgroup"] for r in rows}
    got = sum(r["count"] for r in rows if r["syscall"] == "getppid")
    assert got == N, "getppid in %s: %d, want exactly %d" % (name, got, N)
    lines = [l for l in text.stdout if "getppid" in l]
    assert lines and name in lines[0], "text rows lack the service name: %s" % text.stdout[:6]
    return "%s: getppid %d of %d, only that service shown" % (name, got, N)


def test_unknown_or_ambiguous_unit_name_is_a_clear_error():
    out = lib.run_agent("top", "--cgroup", "no-such-unit-%d.service" % os.getpid(), "-n", "1")
    assert out.rc == 2, out.describe()
    assert "--cgroup" in out.stderr and "no-such-unit" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
