# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: the command-line contract of DESIGN.md section 4."""
import re

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
        elif value is not None and value not in lines[0]:
            failures.append("%s: stderr does not name the value %r: %r" % (what, value, lines[0]))
        elif out.stdout:
            failures.append("%s: printed to stdout: %r" % (what, out.stdout[:3]))
    assert not failures, "\n".join(failures)


def test_slow_bad_threshold_exits_2_naming_option_and_value():
    out = lib.run_agent("slow", "--threshold", "10xs", timeout=5)
    if "threshold" not in out.stderr and "slow" in out.stderr:
        raise lib.Skip("slow is not implemented: %s" % out.stderr.strip())
    line = _one_stderr_line(out, "slow --threshold 10xs")
    assert out.rc == 2, "slow --threshold 10xs: exit %r, want 2; %s" % (out.rc, out.describe())
    assert "--threshold" in line and "10xs" in line, \
        "stderr does not name --threshold and 10xs: %r" % line


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
    cols = ["PID", "COMM", "SYSCALL", "COUNT", "ERRORS", "P50", "P99", "MAX", "TOTAL"]
    hdr = [i for i, line in enumerate(out.stdout)
           if all(re.search(r"\b%s\b" % c, line, re.I) for c in cols)]
    assert len(hdr) == 1, "want one header row with %s; %s" % (cols, out.describe())
    above = out.stdout[:hdr[0]]
    assert any(re.search(r"\d\d:\d\d:\d\d", line) for line in above), \
        "no timestamp line above the header row; %s" % out.describe()
    rows = out.stdout[hdr[0] + 1:]
    for syscall, count in (("getppid", 123), ("openat", 37)):
        hits = [r for r in rows if re.search(r"\b%s\b" % syscall, r)]
        assert len(hits) == 1, "want one %s row; %s" % (syscall, out.describe())
        fields = hits[0].split()
        assert str(w.pid) in fields and "syscalls" in fields and str(count) in fields, \
            "%s row lacks pid %d, comm syscalls or count %d: %r" % (syscall, w.pid, count, hits[0])
    openat = [r for r in rows if re.search(r"\bopenat\b", r)][0]
    assert "ENOENT" in openat, "openat row does not show its top errno ENOENT: %r" % openat


def test_check_reports_syscalls_collector_verdict():
    out = lib.run_agent("check", timeout=10)
    assert out.rc == 0, "check: %s" % out.describe()
    text = "\n".join(out.stdout)
    verdict = [line for line in out.stdout
               if re.search(r"\bsyscalls\b", line, re.I)
               and re.search(r"\b(ok|yes|available|supported)\b", line, re.I)]
    assert verdict, "check printed no verdict line for the syscalls collector:\n%s" % text


def test_check_loads_both_tp_btf_and_raw_tp_variants():
    out = lib.run_agent("check", timeout=10)
    assert out.rc == 0, "check: %s" % out.describe()
    text = "\n".join(out.stdout)
    for variant in ("tp_btf", "raw_tp"):
        lines = [line for line in out.stdout if variant in line]
        assert lines, "check does not mention %s:\n%s" % (variant, text)
        assert any(re.search(r"\b(ok|yes|loads?|loaded)\b", line, re.I) for line in lines), \
            "check does not report that %s loads: %s" % (variant, lines)


def test_non_root_exits_1_with_one_clear_line():
    out = lib.run_agent("top", "-n", 1, timeout=10, user=65534)
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
