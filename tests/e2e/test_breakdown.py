# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""top --breakdown and --threshold against workloads whose calls are known:
pipe reads blocked for a known delay, one large on-CPU read from /dev/zero.
The shares are aggregated in the kernel (syscall_waits), not from events."""
import time

import lib


def _rows(wargs, agent_args):
    """Run the workload under `top --json -p PID --view syscalls ...`; return
    (workload result, the workload's syscall rows of every interval)."""
    with lib.Workload("slowcalls", *wargs) as w:
        with lib.Agent("top", "--json", "-i", "0.5", "-p", w.pid, "--view", "syscalls",
                       *agent_args) as a:
            time.sleep(0.3)
            w.go()
            res = w.result(timeout=30)
            time.sleep(1.2)  # let the last interval cover the workload's end
            r = a.stop()
    assert r.rc == 0, r.describe()
    ivs = lib.intervals(r.stdout)
    return res, [row for iv in ivs for row in iv["syscalls"] if row["pid"] == res["pid"]]


def _weighted(rows, field):
    """A share over several intervals: weighted by each row's total."""
    total = sum(r["total_us"] for r in rows)
    assert total > 0, "no latency in %r" % rows
    return sum(r[field] * r["total_us"] for r in rows if r[field] is not None) / total


def test_blocked_pipe_reads_are_blocked_share_and_counted_over_threshold():
    rounds, delay_ms = 5, 100
    res, rows = _rows(["pipe", rounds, delay_ms],
                      ["--breakdown", "--threshold", "50ms", "--by", "thread"])
    reads = [r for r in rows if r["syscall"] == "read" and r["tid"] == res["reader"]]
    assert reads, "no read rows for reader %d: %r" % (res["reader"], rows)
    count = sum(r["count"] for r in reads)
    over = sum(r["over_threshold"] for r in reads)
    # every read the reader thread made took ~100 ms
    assert count == rounds, "expected %d reads, reported %d" % (rounds, count)
    assert over == rounds, "expected %d reads over 50ms, reported %d" % (rounds, over)
    blocked = _weighted(reads, "blocked_pct")
    oncpu = _weighted(reads, "oncpu_pct")
    runq = _weighted(reads, "runq_pct")
    assert blocked >= 95, "blocked share of 100 ms pipe reads: expected >= 95%%, reported %.1f%%" % blocked
    assert abs(blocked + oncpu + runq - 100) <= 2, \
        "shares add up to %.1f%% (cpu %.1f runq %.1f blocked %.1f)" % (blocked + oncpu + runq, oncpu, runq, blocked)
    # writes are fast: nothing over the threshold
    writes = [r for r in rows if r["syscall"] == "write" and r["tid"] == res["writer"]]
    assert writes, "no write rows for writer %d" % res["writer"]
    assert sum(r["over_threshold"] for r in writes) == 0, writes
    return "reads %d, over 50ms %d, shares cpu %.1f%% runq %.1f%% blocked %.1f%%" % (
        count, over, oncpu, runq, blocked)


def test_large_dev_zero_read_is_on_cpu_share():
    res, rows = _rows(["oncpu", 256], ["--breakdown"])
    reads = [r for r in rows if r["syscall"] == "read"]
    assert reads, "no read rows for pid %d" % res["pid"]
    oncpu = _weighted(reads, "oncpu_pct")
    assert oncpu >= 90, "on-CPU share of a 256 MiB /dev/zero read: expected >= 90%%, reported %.1f%%" % oncpu
    assert "over_threshold" not in reads[0], "OVER shown without --threshold: %r" % reads[0]
    return "on-CPU share %.1f%%" % oncpu


def test_breakdown_columns_only_when_asked():
    r = lib.run_agent("top", "-n", "1", "-i", "0.3", "--view", "syscalls")
    assert r.rc == 0, r.describe()
    out = "\n".join(r.stdout)
    assert "BLK%" not in out and "OVER" not in out, out[:400]
    r = lib.run_agent("top", "-n", "1", "-i", "0.3", "--view", "syscalls", "--breakdown",
                      "--threshold", "1ms")
    assert r.rc == 0, r.describe()
    out = "\n".join(r.stdout)
    head = [l for l in r.stdout if "SYSCALL" in l]
    assert head and all(c in head[0] for c in ("CPU%", "RUNQ%", "BLK%", "OVER")), out[:400]
    # the sched collector runs for the breakdown but its table is not shown
    assert "sched:" not in out and "sched (tp_btf)" in r.stderr, out[:400] + r.stderr
