#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Collect the kernel matrix's results and print them.

usage: report.py SECONDS LABEL=LOG...

Each LOG is the output of scripts/matrix/checks.py on one kernel (for a
guest, its serial console). A check a kernel owes but never reported (the
guest died, hung or did not boot) is a failure. Prints one row per kernel x
check, the matrix as a table, and "N passed, N failed[, N skipped]" last;
exits 1 when anything failed.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def expected_checks():
    out = subprocess.run([sys.executable, os.path.join(HERE, "checks.py"), "--list"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def why_silent(text):
    """A log without all its rows: say what is known about why."""
    for pat in (r"LT-TIMEOUT[^\r\n]*", r"Kernel panic[^\r\n]*", r"lt-init: [^\r\n]*"):
        m = re.findall(pat, text)
        if m:
            return m[-1].strip()
    return "no result on the console"


def parse(log):
    rows, kernel = {}, None
    try:
        with open(log, errors="replace") as f:
            text = f.read()
    except OSError as e:
        return None, {}, "cannot read %s: %s" % (log, e)
    for m in re.finditer(r"LT-KERNEL\t([^\r\n]*)", text):
        kernel = m.group(1).strip()
    # search, not match: a kernel message may share the line on a console
    for m in re.finditer(r"LT-ROW\t([^\t\r\n]+)\t(PASS|FAIL|SKIP)\t([^\r\n]*)", text):
        rows[m.group(1)] = (m.group(2), m.group(3).strip())
    return kernel, rows, why_silent(text)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    seconds = float(argv[0])
    checks = expected_checks()
    columns = []        # (label, {check: (status, detail)})
    failed_logs = []
    for arg in argv[1:]:
        label, _, log = arg.partition("=")
        kernel, rows, why = parse(log)
        if kernel and kernel not in label:
            label = "%s [booted %s!]" % (label, kernel)
        for c in checks:
            if c not in rows:
                rows[c] = ("FAIL", "no result: %s" % why)
        if any(st == "FAIL" for st, _ in rows.values()):
            failed_logs.append((label, log))
        columns.append((label, rows))

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    first = max(len("check"), *(len(c) for c in checks))
    lw = max(len(label) for label, _ in columns)
    print("results, one row per kernel x check:")
    for label, rows in columns:
        for c in checks:
            status, detail = rows[c]
            counts[status] += 1
            print("  %-4s  %-*s  %-*s  %s" % (status, lw, label, first, c, detail))
    for label, log in failed_logs:
        print("  evidence of the failures on %s: %s" % (label, log))
    print()

    widths = [max(len(label), 4) for label, _ in columns]
    line = "  %-*s  " % (first, "check") + "  ".join(
        "%-*s" % (w, label) for w, (label, _) in zip(widths, columns))
    print("kernel matrix (%d kernels x %d checks, %dm%02ds):" % (
        len(columns), len(checks), seconds // 60, seconds % 60))
    print(line)
    print("  " + "-" * (len(line) - 2))
    for c in checks:
        print("  %-*s  " % (first, c) + "  ".join(
            "%-*s" % (w, rows[c][0].lower() if rows[c][0] != "FAIL" else "FAIL")
            for w, (_, rows) in zip(widths, columns)))
    print()
    tail = ", %d skipped" % counts["SKIP"] if counts["SKIP"] else ""
    print("%d passed, %d failed%s" % (counts["PASS"], counts["FAIL"], tail))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
