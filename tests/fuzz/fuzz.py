#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Run latscope's libFuzzer targets (tests/fuzz/fuzz_*.c, built by
`make fuzz-build` into build/fuzz/).

Each target runs for a fixed time on a fresh copy of its seed corpus
(tests/fuzz/corpus/<target>/, copied to build/fuzz/run/<target>/corpus, so
the committed seeds never change), with its dictionary if it has one. A
crash, an invariant violation (abort), a sanitizer report, a leak or a
timeout is a failure: the reproducer is kept in build/fuzz/run/<target>/
and the report is printed with the command that replays it.

Usage: tests/fuzz/fuzz.py [--seconds N] [TARGET...]   (default: all, 60 s)
Used by `make fuzz` and by tests/e2e/test_sanitizers.py.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "tests", "fuzz")
BUILD = os.path.join(ROOT, "build", "fuzz")

# abort_on_error: a report ends in abort(), which libFuzzer turns into a
# saved crash input; UBSan findings abort too (-fno-sanitize-recover). A
# quarantine of 64 MB (not 256) keeps a target near 100 MB of RSS on this
# shared machine and still outlives anything an input frees.
SAN_ENV = {
    "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1:symbolize=1:quarantine_size_mb=64",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}

# where a sanitizer or libFuzzer report starts and ends in the output
REPORT_START = re.compile(r"(INVARIANT VIOLATED|==\d+==\s*ERROR:|runtime error:|"
                          r"ERROR: libFuzzer|ALARM: working on the last Unit)")


def targets():
    return sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(SRC, "fuzz_*.c")))


class Result:
    def __init__(self, target):
        self.target = target
        self.ok = False
        self.runs = 0
        self.exec_s = 0
        self.cov = self.ft = self.corpus = 0
        self.rss_mb = 0
        self.seconds = 0
        self.reproducer = None
        self.report = ""
        self.rc = None

    def summary(self):
        return "%s: %d runs in %d s (%d/s), cov %d ft %d, corpus %d, peak RSS %d MB" % (
            self.target, self.runs, self.seconds, self.exec_s, self.cov, self.ft, self.corpus,
            self.rss_mb)

    def failure(self):
        cmd = "%s %s" % (os.path.relpath(os.path.join(BUILD, self.target), ROOT),
                         os.path.relpath(self.reproducer, ROOT) if self.reproducer else "")
        return "%s failed (exit status %s)\n  reproducer: %s\n  replay: %s\n%s" % (
            self.target, self.rc, self.reproducer or "(none written)", cmd, self.report)


def _report(out):
    """The report part of libFuzzer's output: from the first report line on,
    without the stack frames of libFuzzer itself."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if REPORT_START.search(line):
            keep = [l for l in lines[max(0, i - 2):] if "fuzzer::" not in l]
            return "\n".join(keep[:80])
    return "\n".join(lines[-40:])


def run(target, seconds, extra_env=None):
    """Fuzz one target for seconds; returns a Result."""
    r = Result(target)
    binary = os.path.join(BUILD, target)
    if not os.access(binary, os.X_OK):
        r.report = "%s missing: run make fuzz-build" % binary
        return r
    work = os.path.join(BUILD, "run", target)
    shutil.rmtree(work, ignore_errors=True)
    corpus = os.path.join(work, "corpus")
    shutil.copytree(os.path.join(SRC, "corpus", target), corpus)
    args = [binary, "-max_total_time=%d" % seconds, "-print_final_stats=1",
            "-artifact_prefix=%s/" % work, "-timeout=10", "-rss_limit_mb=2048",
            "-max_len=4096", "-close_fd_mask=1"]
    dic = os.path.join(SRC, target + ".dict")
    if os.path.exists(dic):
        args.append("-dict=" + dic)
    args.append(corpus)
    env = dict(os.environ, **SAN_ENV, **(extra_env or {}))
    try:
        p = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True,
                           errors="replace", timeout=seconds + 120)
        out, r.rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
        r.rc = "timeout"
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)", out, re.M))
    r.runs = int(stats.get("number_of_executed_units", 0))
    r.exec_s = int(stats.get("average_exec_per_sec", 0))
    r.rss_mb = int(stats.get("peak_rss_mb", 0))
    m = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", out)
    if m:
        r.cov, r.ft, r.corpus = (int(x) for x in m[-1])
    m = re.search(r"Done (\d+) runs in (\d+) second", out)
    r.seconds = int(m.group(2)) if m else seconds
    found = sorted(glob.glob(os.path.join(work, "crash-*")) + glob.glob(os.path.join(work, "leak-*")) +
                   glob.glob(os.path.join(work, "timeout-*")) + glob.glob(os.path.join(work, "oom-*")))
    r.reproducer = found[0] if found else None
    r.ok = r.rc == 0 and not found and r.runs > 0
    if not r.ok:
        r.report = _report(out)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("targets", nargs="*")
    a = ap.parse_args()
    names = a.targets or targets()
    failed = 0
    for t in names:
        r = run(t, a.seconds)
        print(r.summary() if r.ok else r.failure(), flush=True)
        failed += not r.ok
    print("%d targets, %d failed" % (len(names), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
