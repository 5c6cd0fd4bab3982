# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The sinks over fixed rows, byte for byte against golden files.

build/tests/render_rows renders tests/fixtures/rows.txt through the real
text and NDJSON sinks. Each case below names its options and its golden
file in tests/fixtures/golden/; a change of output must change the golden
file in the same commit, where the diff shows what changed.
Regenerate with: GOLDEN_UPDATE=1 tests/run.py --unit-only -k golden

Needs no root; run by tests/run.py.
"""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "tests", "render_rows")
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "rows.txt")
GOLDEN = os.path.join(ROOT, "tests", "fixtures", "golden")

CASES = {
    "process_p99.txt": [],
    "process_p99.json": ["--json"],
    "process_idle_hidden.txt": ["--hide-idle"],
    "process_idle_hidden.json": ["--hide-idle", "--json"],
    "process_all.json": ["--all", "--json"],
    "process_count.txt": ["--sort", "count"],
    "process_errors_rows2.txt": ["--sort", "errors", "--rows", "2"],
    "process_time.txt": ["--sort", "time"],
    "process_p50.txt": ["--sort", "p50"],
    "process_max.txt": ["--sort", "max"],
    "thread_p99.txt": ["--by", "thread"],
    "thread_p99.json": ["--by", "thread", "--json"],
    "cgroup_p99.txt": ["--by", "cgroup"],
    "cgroup_p99.json": ["--by", "cgroup", "--json"],
    # rows keyed by comm (in the kernel with --by comm) and process rows
    # merged by comm in user space (what the TUI's grouping will do)
    "comm_p99.txt": ["--by", "comm"],
    "comm_p99.json": ["--by", "comm", "--json"],
    "grouped_comm.txt": ["--group-comm"],
    "grouped_comm.json": ["--group-comm", "--json"],
}


def render(args):
    if not os.access(TOOL, os.X_OK):
        raise AssertionError("%s missing: run make build/tests/render_rows" % TOOL)
    p = subprocess.run([TOOL, FIXTURE] + args, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("render_rows %s exited %d: %s" % (args, p.returncode, p.stderr))
    return p.stdout


def check(name):
    out = render(CASES[name])
    path = os.path.join(GOLDEN, name)
    if os.environ.get("GOLDEN_UPDATE"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "wb") as f:
            f.write(out)
    with open(path, "rb") as f:
        want = f.read()
    if out != want:
        ol, wl = out.splitlines(), want.splitlines()
        for i, (a, b) in enumerate(zip(ol, wl)):
            if a != b:
                raise AssertionError("%s line %d:\n got  %r\n want %r" % (name, i + 1, a, b))
        raise AssertionError("%s: %d lines, want %d" % (name, len(ol), len(wl)))
    if name.endswith(".json"):
        obj = json.loads(out)
        assert obj["type"] == "interval", name
    return "%d bytes identical" % len(out)


def test_text_and_json_match_golden_files():
    return "; ".join("%s %s" % (n, check(n)) for n in sorted(CASES))
