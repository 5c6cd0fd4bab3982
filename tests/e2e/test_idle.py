# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Idle waits in top (DESIGN.md section 4): waiting for work is not latency.

Ground truth from tests/workloads/phases.c: exactly N futex WAIT calls that
time out, M futex WAKE calls and one epoll_wait on an empty set. futex is
keyed in the kernel by its op: the waits are futex_wait, an idle wait,
hidden from the default view with epoll_wait; the wakes stay futex."""
import time

import lib

WAITS, WAKES = 7, 11


def _run(*agent_args):
    with lib.Workload("phases") as w:
        with lib.Agent("top", "--json", "-p", w.pid, "-i", "0.5", "--view", "syscalls",
                       *agent_args) as a:
            time.sleep(0.3)
            w.send("futexwait %d 2000; futexwake %d; epoll 300\n" % (WAITS, WAKES))
            line = w.out.next_line(30)
            assert line and line.startswith("done"), "workload: %r" % line
            time.sleep(1.0)
            r = a.stop()
        w.send("exit\n")
    assert r.rc == 0, r.describe()
    ivs = lib.intervals(r.stdout)
    return w.pid, ivs, lib.sum_syscalls(ivs, w.pid)


def test_idle_waits_hidden_by_default_and_counted_in_the_interval():
    pid, ivs, sc = _run()
    assert "futex_wait" not in sc and "epoll_wait" not in sc, \
        "idle waits shown by default: %s" % sorted(sc)
    assert sc.get("futex", {}).get("count") == WAKES, \
        "futex (wakes) count %r, want exactly %d" % (sc.get("futex"), WAKES)
    hidden = sum(iv["idle_rows"] for iv in ivs)
    assert hidden >= 2, "idle_rows over the run: %d, want >= 2 (futex_wait, epoll_wait)" % hidden
    assert all("idle" not in row for iv in ivs for row in iv["syscalls"]), \
        "rows carry 'idle' without --all"
    return "futex %d shown; futex_wait and epoll_wait hidden (idle_rows %d)" % (WAKES, hidden)


def test_all_shows_idle_waits_keyed_by_futex_op():
    pid, ivs, sc = _run("--all")
    assert sc.get("futex_wait", {}).get("count") == WAITS, \
        "futex_wait count %r, want exactly %d" % (sc.get("futex_wait"), WAITS)
    assert sc["futex_wait"]["errnos"].get("ETIMEDOUT") == WAITS, sc["futex_wait"]["errnos"]
    assert sc.get("futex", {}).get("count") == WAKES, sc.get("futex")
    assert sc.get("epoll_wait", {}).get("count") == 1, sc.get("epoll_wait")
    rows = lib.syscall_rows(ivs, pid)
    idle = {row["syscall"]: row["idle"] for row in rows}
    assert idle.get("futex_wait") is True and idle.get("epoll_wait") is True, idle
    assert idle.get("futex") is False, idle
    assert all(iv["idle_rows"] == 0 for iv in ivs), "rows hidden with --all"
    # a 2 ms futex wait is in the 2 ms octave's buckets
    p50 = max(row["lat_us"]["p50"] for row in rows if row["syscall"] == "futex_wait")
    assert p50 >= 2000 * 0.875, "futex_wait p50 %.0f us below the 2000 us waited" % p50
    return "--all: futex_wait %d (ETIMEDOUT %d, idle), futex %d, epoll_wait 1 (idle)" % (
        WAITS, WAITS, WAKES)
