# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: the command-line contract of DESIGN.md section 4."""
import os
import re
import shutil
import subprocess
import tempfile
import time

import lib

# (args, spellings of the option at fault, the bad value)
BAD_INPUT = [
    (["--interval", "abc"], ("--interval", "-i"), "abc"),
    (["-i", "0"], ("--interval", "-i"), "0"),
    (["-i", "-1"], ("--interval", "-i"), "-1"),
    (["-n", "abc"], ("--count", "-n"), "abc"),
    (["-p", "0"], ("--pid", "-p"), "0"),
    (["-p", "abc"], ("--pid", "-p"), "abc"),
    (["--sort", "bogus"], ("--sort",), "bogus"),
    (["--by", "bogus"], ("--by",), "bogus"),
    (["top", "--interval", "abc"], ("--interval", "-i"), "abc"),
    (["--frobnicate"], ("--frobnicate",), None),
    (["frobnicate"], ("frobnicate",), None),
]


def _one_stderr_line(out, what):
    lines = out.stderr_lines()
    assert len(lines) == 1, "%s: want exactly one line on stderr, got %d; %s" % (
        what, len(lines), out.describe())
    return lines[0]


def test_bad_input_exits_2_with_one_line_naming_option_and_value():
    failures = []
    for args, names, value in BAD_INPUT:
        what = "latscope " + " ".join(args)
        out = lib.run_agent(*args, timeout=5)
        lines = out.stderr_lines()
        if out.rc != 2:
            failures.append("%s: exit status %r, want 2; stderr: %r" % (what, out.rc, out.stderr))
        elif len(lines) != 1:
            failures.append("%s: %d lines on stderr, want 1: %r" % (what, len(lines), out.stderr))
        elif not any(n in lines[0] for n in names):
            failures.append("%s: stderr does not name the option (%s): %r" % (
                what, " or ".join(names), lines[0]))
        elif value is not None and not any(q % value in lines[0] for q in ("'%s'", '"%s"')):
            failures.append("%s: stderr does not name the value %r (quoted): %r" % (what, value, lines[0]))
        elif out.stdout:
            failures.append("%s: printed to stdout: %r" % (what, out.stdout[:3]))
    assert not failures, "\n".join(failures)


def test_count_2_exits_0_after_exactly_two_intervals():
    out = lib.run_agent("top", "--json", "-n", 2, "-i", 0.2, timeout=10)
    assert out.rc == 0, "-n 2 -i 0.2: %s" % out.describe()
    ivs = lib.intervals(out.stdout)
    assert len(ivs) == 2, "-n 2: want exactly 2 interval objects, got %d; %s" % (
        len(ivs), out.describe())
    for iv in ivs:
        assert 0.15 <= iv["interval_s"] <= 0.3, "-i 0.2: interval_s %r not in [0.15, 0.3]" % (
            iv["interval_s"],)
    assert out.elapsed >= 0.35, "-n 2 -i 0.2 exited after %.2fs, before two intervals" % out.elapsed


def test_default_subcommand_is_top():
    out = lib.run_agent("--json", "-n", 1, "-i", 0.2, timeout=10)
    assert out.rc == 0, "latscope --json -n 1 -i 0.2: %s" % out.describe()
    assert len(lib.intervals(out.stdout)) == 1, out.describe()


def test_text_mode_on_a_pipe_prints_timestamped_table():
    with lib.Workload("syscalls", 0, 0, 37, 123) as w:
        with lib.Agent("top", "-n", 1, "-i", 0.5, "-p", w.pid) as a:
            w.go()
            w.result()
            out = a.wait(timeout=5)
    assert out.rc == 0, "text mode -n 1: %s" % out.describe()
    cols = ["PID", "COMM", "SYSCALL", "COUNT", "ERRORS", "ERR%", "P50", "P99", "MAX", "TOTAL"]
    hdr = [i for i, line in enumerate(out.stdout)
           if all(re.search(r"(^|\s)%s(\s|$)" % re.escape(c), line, re.I) for c in cols)]
    assert len(hdr) == 1, "want one header row with %s; %s" % (cols, out.describe())
    above = out.stdout[:hdr[0]]
    assert any(re.search(r"\d\d:\d\d:\d\d", line) for line in above), \
        "no timestamp line above the header row; %s" % out.describe()
    rows = [line.split() for line in out.stdout[hdr[0] + 1:]]
    dur = re.compile(r"^\d+(\.\d+)?(ns|us|\u00b5s|ms|s)$")
    for syscall, count, errors, pct in (("getppid", 123, ["0"], "0.0"),
                                        ("openat", 37, ["37", "ENOENT"], "100.0")):
        hits = [f for f in rows if f[2:3] == [syscall]]
        assert len(hits) == 1, "want one %s row; %s" % (syscall, out.describe())
        f = hits[0]
        assert f[:4] == [str(w.pid), "syscalls", syscall, str(count)], \
            "%s row: want PID %d COMM syscalls COUNT %d, got %s" % (syscall, w.pid, count, f)
        assert f[4:4 + len(errors)] == errors, "%s row: ERRORS want %s, got %s" % (
            syscall, " ".join(errors), f)
        assert f[4 + len(errors)] == pct, "%s row: ERR%% want %s, got %s" % (syscall, pct, f)
        lat = f[5 + len(errors):]
        assert len(lat) == 4 and all(dur.match(x) for x in lat), \
            "%s row: P50 P99 MAX TOTAL want auto-scaled durations, got %s" % (syscall, lat)


def _check_section(collector):
    """Run `latscope check`; return its output and the lines of one collector's section."""
    out = lib.run_agent("check", timeout=10)
    assert out.rc == 0, "check: %s" % out.describe()
    section, inside = [], False
    for line in out.stdout:
        if line.startswith("collector "):
            inside = line.startswith("collector %s:" % collector)
        elif not line.strip():
            inside = False
        if inside:
            section.append(line.strip())
    assert section, "check has no 'collector %s:' section:\n%s" % (collector, "\n".join(out.stdout))
    return out, section


def test_check_reports_syscalls_collector_verdict_ok():
    out, section = _check_section("syscalls")
    assert any(re.match(r"verdict: syscalls: ok\b", line) for line in section), \
        "no 'verdict: syscalls: ok' line in the syscalls section: %s" % section
    assert any(re.match(r"verdict: \d+ of \d+ collectors can run", line) for line in out.stdout), \
        "no overall verdict line:\n%s" % "\n".join(out.stdout)


def test_check_loads_and_attaches_both_tp_btf_and_raw_tp_variants():
    for collector in ("syscalls", "sched", "requests"):
        _, section = _check_section(collector)
        for variant in ("tp_btf", "raw_tp"):
            lines = [line for line in section if line.split()[:1] == [variant]]
            assert len(lines) == 1 and re.match(r"%s\s+ok\b" % variant, lines[0]), \
                "check does not report that the %s variant of %s loads ok: %s" % (
                    variant, collector, section)


def test_non_root_exits_1_with_one_clear_line():
    # run a copy from a world-readable directory: the checkout may sit
    # where uid 65534 cannot reach (e.g. under /root)
    tmp = tempfile.mkdtemp(prefix="latscope-nonroot-")
    try:
        os.chmod(tmp, 0o755)
        shutil.copy2(lib.LATSCOPE, os.path.join(tmp, "latscope"))
        os.chmod(os.path.join(tmp, "latscope"), 0o755)
        saved, lib.LATSCOPE = lib.LATSCOPE, os.path.join(tmp, "latscope")
        try:
            out = lib.run_agent("top", "-n", 1, timeout=10, user=65534)
        finally:
            lib.LATSCOPE = saved
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert out.rc == 1, "as uid 65534: want exit status 1; %s" % out.describe()
    line = _one_stderr_line(out, "as uid 65534")
    assert line.startswith("latscope:"), "message does not start with 'latscope:': %r" % line
    assert re.search(r"root|CAP_BPF|privilege|permission", line, re.I), \
        "message does not say root/CAP_BPF is needed: %r" % line
    assert not out.stdout, "printed to stdout: %r" % out.stdout[:3]


def test_version_and_help_exit_0():
    out = lib.run_agent("--version", timeout=5)
    assert out.rc == 0 and out.stdout and "latscope" in out.stdout[0], \
        "--version: %s" % out.describe()
    out = lib.run_agent("--help", timeout=5)
    assert out.rc == 0, "--help: %s" % out.describe()
    text = "\n".join(out.stdout)
    for word in ("top", "check", "--interval", "--json"):
        assert word in text, "--help does not mention %s:\n%s" % (word, text)


def _cap_eff(pid, nnp=True):
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.split(":", 1) for line in f if ":" in line)
    if nnp:
        assert st["NoNewPrivs"].strip() == "1", "NoNewPrivs %r" % st["NoNewPrivs"]
    return int(st["CapEff"], 16)


def _kernel_at_least(major, minor):
    rel = os.uname().release.split(".")
    return (int(rel[0]), int(rel[1].split("-")[0])) >= (major, minor)


def test_capabilities_dropped_after_attach_unless_kept():
    """DESIGN.md section 8: from 6.5 on, reads, deletes, ring-buffer
    consumption and program info work at CapEff 0, so nothing is kept (the
    agent probes this in a child rather than comparing versions); older
    kernels may need CAP_BPF kept."""
    cap_bpf = 1 << 39
    want = (0,) if _kernel_at_least(6, 5) else (0, cap_bpf)
    with lib.Workload("syscalls", 0, 0, 3, 50) as w:
        with lib.Agent("top", "--json", "-i", 0.3, "-p", w.pid) as a:
            eff = _cap_eff(a.pid)
            w.go()
            w.result()
            time.sleep(0.8)
            r = a.stop()
    assert eff in want, "CapEff after attach %#x, want %s" % (eff, " or ".join(map(hex, want)))
    assert r.rc == 0, r.describe()
    # the maps are still readable without the capabilities
    assert lib.sum_syscalls(lib.intervals(r.stdout), w.pid)["getppid"]["count"] == 50
    # and slow's ring buffer still delivers
    with lib.Workload("syscalls", 0, 0, 0, 40) as w:
        with lib.Agent("slow", "--json", "--threshold", "0", "--syscall", "getppid",
                       "-p", w.pid) as a:
            slow_eff = _cap_eff(a.pid)
            w.go()
            w.result()
            time.sleep(0.8)
            r = a.stop()
    events = [l for l in lib.parse_ndjson(r.stdout) if l.get("type") == "slow"]
    assert slow_eff in want, "slow: CapEff %#x" % slow_eff
    assert len(events) == 40, "slow at CapEff %#x: %d getppid events, want 40" % (
        slow_eff, len(events))
    with lib.Agent("top", "--json", "-i", 0.3, "--keep-privileges") as a:
        kept = _cap_eff(a.pid, nnp=False)
        a.stop()
    assert kept & (1 << 21), "--keep-privileges lost CAP_SYS_ADMIN: CapEff %#x" % kept
    return "CapEff %#x after attach (slow %#x), %#x with --keep-privileges" % (
        eff, slow_eff, kept)


def test_write_error_exits_1_but_a_closed_pipe_is_a_normal_end():
    """Only EPIPE ends a run normally; /dev/full (ENOSPC) is an error."""
    for cmd in (["top", "-i", "0.2", "-n", "2"], ["slow", "--threshold", "0", "-i", "0.3",
                                                  "-n", "2"]):
        with open("/dev/full", "w") as full:
            p = subprocess.run(lib.latscope_cmd(*cmd), stdout=full, stderr=subprocess.PIPE,
                               text=True, timeout=20)
        assert p.returncode == 1, "%s > /dev/full: exit %d, want 1" % (cmd[0], p.returncode)
        errs = [l for l in p.stderr.splitlines() if "cannot write" in l]
        assert errs and "No space left" in errs[0], p.stderr
        sh = "%s | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}" % " ".join(lib.latscope_cmd(*cmd))
        p = subprocess.run(["bash", "-c", sh], capture_output=True, text=True, timeout=20)
        assert p.returncode == 0, "%s | head: exit %d, want 0: %s" % (cmd[0], p.returncode,
                                                                      p.stderr)
