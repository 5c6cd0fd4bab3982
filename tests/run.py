#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""latscope test runner.

Runs the unit tests (build/unit_tests, no root needed) and every test_*
function of tests/e2e/test_*.py (root and real BPF). Prints one line per
test and ends with "N passed, N failed, N skipped".

End-to-end tests need root. Without root they are skipped on a developer
machine, but under CI (CI=true) that is a failure: CI must prove BPF loads.

Usage: tests/run.py [-k SUBSTRING] [--unit-only]
"""
import importlib.util
import os
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import lib  # noqa: E402


def main():
    # bpftool, nft, ip live in sbin; CI's PATH may not have it
    os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    args = sys.argv[1:]
    pattern = None
    unit_only = "--unit-only" in args
    if "-k" in args:
        pattern = args[args.index("-k") + 1]
    passed = failed = skipped = 0

    unit = os.path.join(ROOT, "build", "unit_tests")
    if not os.path.exists(unit):
        print("FAIL unit_tests: build/unit_tests missing (run make test)")
        failed += 1
    else:
        p = subprocess.run([unit] + ([pattern] if pattern else []),
                           capture_output=True, text=True)
        seen = 0
        for line in p.stdout.splitlines():
            if line.startswith("PASS "):
                passed += 1
                seen += 1
                print("PASS unit/" + line[5:])
            elif line.startswith("FAIL "):
                failed += 1
                seen += 1
                print("FAIL unit/" + line[5:])
        if p.returncode not in (0, 1) or (p.returncode == 1 and not seen):
            failed += 1
            print("FAIL unit_tests: exited with status %d\n%s" % (p.returncode, p.stderr))

    is_root = os.geteuid() == 0
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    suites = [("unit", False)] + ([] if unit_only else [("e2e", True)])
    for suite, needs_root in suites:
        sdir = os.path.join(ROOT, "tests", suite)
        for fname in sorted(os.listdir(sdir)):
            if not (fname.startswith("test_") and fname.endswith(".py")):
                continue
            spec = importlib.util.spec_from_file_location(fname[:-3], os.path.join(sdir, fname))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            for name in sorted(n for n in dir(mod) if n.startswith("test_")):
                full = "%s/%s/%s" % (suite, fname[:-3], name)
                if pattern and pattern not in full:
                    continue
                if needs_root and not is_root:
                    if in_ci:
                        failed += 1
                        print("FAIL %s: end-to-end tests need root and CI=true forbids skipping" % full)
                    else:
                        skipped += 1
                        print("SKIP %s: needs root" % full)
                    continue
                t0 = time.monotonic()
                try:
                    detail = getattr(mod, name)()
                except lib.Skip as e:
                    skipped += 1
                    print("SKIP %s: %s" % (full, e))
                    continue
                except Exception as e:  # noqa: BLE001 - report every failure
                    failed += 1
                    detail = "".join(traceback.format_exception_only(type(e), e)).strip()
                    print("FAIL %s (%.1fs): %s" % (full, time.monotonic() - t0, detail))
                    if os.environ.get("V"):
                        traceback.print_exc()
                    continue
                passed += 1
                # a test may return what it measured: the figures go in the log
                print("PASS %s (%.1fs)%s" % (full, time.monotonic() - t0,
                                             ": " + detail if isinstance(detail, str) else ""))
            sys.stdout.flush()

    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
