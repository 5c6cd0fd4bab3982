# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Filters follow the task: a comm change switches --comm on and off at once.

The BPF programs cache each CPU's last filter verdict and drop it when a
comm changes (task:task_rename), a task changes cgroup or exits. Ground
truth: a process makes 1000 getppid under its own name, renames itself to
the --comm name and makes 2000, renames back and makes 3000: exactly the
2000 are counted.
"""
import time

import lib


def test_comm_filter_follows_a_rename_exactly():
    name = "lsrenamed"
    with lib.Workload("phases") as w:
        with lib.Agent("top", "--json", "--comm", name, "-i", "0.5", "--view", "syscalls") as a:
            time.sleep(0.3)
            # back to back, so no other task runs on its CPU in between
            lib.phase(w, "getppid 1000; rename %s; getppid 2000; rename phases; getppid 3000" % name)
            time.sleep(1.0)
            out = a.stop()
        w.send("exit\n")
    assert out.rc == 0, out.describe()
    ivs = lib.intervals(out.stdout)
    got = lib.sum_syscalls(ivs, w.pid).get("getppid", {}).get("count", 0)
    # (a row's comm is the task's name when it is read, so it may say phases)
    others = {r["pid"] for r in lib.syscall_rows(ivs)} - {w.pid}
    assert got == 2000, "getppid counted under --comm %s: %d, want exactly 2000" % (name, got)
    assert not others, "rows of other processes: %s" % others
    return "getppid counted %d of 1000/2000/3000 (only the renamed phase)" % got
