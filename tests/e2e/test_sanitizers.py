# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Fuzzing and sanitizers (issue 14, "Bad input" and "Sanitizers").

The libFuzzer targets of tests/fuzz/ (built by `make fuzz-build` with clang
-fsanitize=fuzzer,address,undefined) run FUZZ_SECONDS each on a copy of
their seed corpus: a crash, an invariant a target asserts, a sanitizer
report, a leak or a timeout fails the test with the reproducer's path and
the report. `make fuzz` runs them longer (FUZZ_SECONDS=60 by default).

The ASan + UBSan pass (`make asan-build`: the agent, the unit tests and the
workloads with -fsanitize=address,undefined -fno-sanitize-recover=all into
build/asan/) runs the unit tests and a short end-to-end smoke of the agent
(top, slow, serve scraped in both formats and gzipped, record then report
and top --replay of what it wrote, check): each must
exit 0 with no sanitizer report on stderr, leaks included (LeakSanitizer
works here as root, also after the agent drops its capabilities: every
thread drops them). RSS and start-time limits do not apply under ASan.

`python3 tests/e2e/test_sanitizers.py asan` (what `make asan` runs) runs
the ASan tests alone; `tests/run.py -k fuzz` the fuzz targets alone.
"""
import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lib  # noqa: E402

sys.path.insert(0, os.path.join(lib.ROOT, "tests", "fuzz"))
import fuzz  # noqa: E402

FUZZ_SECONDS = 20  # each; CORRECTIONS.md (issue 14): 20 s in make test
ASAN = os.path.join(lib.BUILD, "asan")
ASAN_LATSCOPE = os.path.join(ASAN, "latscope")
START_TIMEOUT_S = 30  # attaching is slower under ASan; not a start-time test

# halt on the first report; LeakSanitizer at every exit
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:abort_on_error=0:print_summary=1:"
                    "strict_string_checks=1:detect_stack_use_after_return=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "report_objects=1",
}
SAN_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                        r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|"
                        r"LeakSanitizer has encountered a fatal error")

_made = {}


def _make(target, timeout=900):
    """make TARGET once per run (it is cheap when up to date); fails with the
    end of its output."""
    if target not in _made:
        p = subprocess.run(["make", "-C", lib.ROOT, "--no-print-directory",
                            "-j%d" % (os.cpu_count() or 1), target],
                           capture_output=True, text=True, errors="replace", timeout=timeout)
        _made[target] = (p.returncode, (p.stdout + p.stderr)[-3000:])
    rc, out = _made[target]
    assert rc == 0, "make %s failed (status %d):\n%s" % (target, rc, out)


def _fuzz(target):
    _make("fuzz-build")
    r = fuzz.run(target, FUZZ_SECONDS)
    assert r.ok, r.failure()
    return r.summary()


def test_fuzz_cgroup_service_names_come_from_the_path_by_the_rules():
    return _fuzz("fuzz_cgroup")


def test_fuzz_escape_label_values_text_cells_and_json_strings_stay_valid():
    return _fuzz("fuzz_escape")


def test_fuzz_opts_every_argv_parses_or_fails_with_one_line_naming_the_culprit():
    return _fuzz("fuzz_opts")


def test_fuzz_parse_value_parsers_agree_with_reference_parsers_and_round_trip():
    return _fuzz("fuzz_parse")


def test_fuzz_prom_pages_parse_buckets_monotonic_counters_never_lost_or_backwards():
    return _fuzz("fuzz_prom")


# --- ASan + UBSan ------------------------------------------------------------

def _san_lines(text):
    return [l for l in text.splitlines() if SAN_REPORT.search(l)]


def _assert_clean(what, rc, stderr, want_rc=0):
    bad = _san_lines(stderr)
    assert not bad and rc == want_rc, "%s: exit status %r (want %d), %d sanitizer line(s)\n" \
        "--- stderr (end):\n%s" % (what, rc, want_rc, len(bad), stderr[-6000:])


class _Proc:
    """An ASan-built program with the sanitizer environment, as a context
    manager that kills it on the way out; its output is collected by lines."""

    def __init__(self, argv, stdin=subprocess.DEVNULL):
        self.argv = [str(a) for a in argv]
        self.stdin = stdin
        self.proc = None

    def __enter__(self):
        for path in (self.argv[0],):
            lib.require_file(path, "run make asan-build")
        self.proc = subprocess.Popen(self.argv, stdin=self.stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=dict(os.environ, **SAN_ENV))
        self.out = lib._Lines(self.proc.stdout)
        self.err = lib._Lines(self.proc.stderr)
        return self

    def wait_err(self, prefix, timeout=START_TIMEOUT_S):
        line = self.err.wait_for(lambda s: s.startswith(prefix), timeout)
        assert line, "%s: no %r line on stderr within %ds (%s)\n--- stderr:\n%s" % (
            " ".join(self.argv[1:]), prefix, timeout,
            "still running" if self.proc.poll() is None else "exit %d" % self.proc.poll(),
            self.err.text()[-6000:])
        return line

    def alive(self, what):
        """Fail, with its stderr, if it exited."""
        if self.proc.poll() is not None:
            self.err.join(10)
            raise AssertionError("%s exited with status %d %s\n--- stderr:\n%s" % (
                " ".join(self.argv[1:]), self.proc.returncode, what, self.err.text()[-6000:]))

    def finish(self, sig=None, timeout=30):
        """Signal (if sig), wait, return (status, stdout lines, stderr text)."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.out.join()
            self.err.join()
            raise AssertionError("%s did not exit within %ds\n--- stderr:\n%s" % (
                " ".join(self.argv[1:]), timeout, self.err.text()[-6000:]))
        self.out.join(10)
        self.err.join(10)
        return rc, list(self.out.lines), self.err.text()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return False


class _Workload(_Proc):
    """build/asan/tests/syscalls: sleeps, failed openat()s and getppid()s
    (tests/workloads/syscalls.c), released once the agent is attached."""

    def __init__(self):
        super().__init__([os.path.join(ASAN, "tests", "syscalls"), 300, 1000, 200, 2000],
                         stdin=subprocess.PIPE)

    def go(self):
        line = self.out.next_line(10)
        assert line and line.startswith("pid "), "workload printed %r; stderr: %s" % (
            line, self.err.text())
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def done(self):
        """Its result line, then exit; it must be clean under ASan too."""
        line = self.out.next_line(30)
        assert line and line.startswith("{"), "workload result %r; stderr: %s" % (
            line, self.err.text())
        self.proc.stdin.close()
        rc, _, err = self.finish()
        _assert_clean("workload syscalls", rc, err)
        return json.loads(line)


def test_asan_unit_tests_pass_without_a_sanitizer_report():
    _make("asan-build")
    with _Proc([os.path.join(ASAN, "unit_tests")]) as p:
        rc, out, err = p.finish(timeout=600)
    failed = [l for l in out if l.startswith("FAIL ")]
    passed = sum(l.startswith("PASS ") for l in out)
    assert not failed, "unit tests failed under ASan:\n%s" % "\n".join(failed)
    _assert_clean("unit_tests", rc, err)
    assert passed > 0, "no unit test ran under ASan"
    return "%d unit tests, no sanitizer report" % passed


def test_asan_top_json_three_intervals_exit_0_clean():
    _make("asan-build")
    with _Workload() as w, _Proc([ASAN_LATSCOPE, "top", "--json", "-n", 3, "-i", 0.3]) as a:
        a.wait_err(lib.ATTACHED_PREFIX)
        w.go()
        rc, out, err = a.finish(timeout=60)
        w.done()
    _assert_clean("top --json -n 3", rc, err)
    ivs = lib.intervals(out)
    assert len(ivs) == 3, "%d intervals, want 3" % len(ivs)
    rows = sum(len(iv.get(k, [])) for iv in ivs for k in ("syscalls", "sched", "tcp"))
    return "3 intervals, %d rows" % rows


def test_asan_slow_threshold_0_until_sigint_exit_0_clean():
    _make("asan-build")
    with _Workload() as w, _Proc([ASAN_LATSCOPE, "slow", "--threshold", 0, "--json"]) as a:
        a.wait_err(lib.ATTACHED_PREFIX)
        w.go()
        w.done()
        time.sleep(1)
        rc, out, err = a.finish(signal.SIGINT)
    _assert_clean("slow --threshold 0 (SIGINT)", rc, err)
    events = lib.parse_ndjson(out)
    assert events, "no slow event with --threshold 0"
    return "%d events" % len(events)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _get(port, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/metrics", headers=headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_asan_serve_scraped_text_openmetrics_gzip_then_sigterm_exit_0_clean():
    _make("asan-build")
    port = _free_port()
    om = "application/openmetrics-text;version=1.0.0"
    scrapes = 0
    with _Workload() as w, _Proc([ASAN_LATSCOPE, "serve", "--listen", "127.0.0.1:%d" % port,
                                  "-i", 0.3]) as a:
        a.wait_err("latscope: serving http://")
        w.go()
        deadline = time.monotonic() + START_TIMEOUT_S
        body = b""
        while True:  # the row families come with the first interval
            a.alive("before the first scrape")
            try:
                status, _, body = _get(port, {})
                if status == 200 and b"latscope_syscall_duration_seconds_count{" in body:
                    break
            except OSError as e:
                body = str(e).encode()
            assert time.monotonic() < deadline, "no syscall series on /metrics:\n%s" % (
                body[:2000].decode(errors="replace"))
            time.sleep(0.3)
        for _ in range(3):
            for headers in ({}, {"Accept": om}, {"Accept-Encoding": "gzip"},
                            {"Accept": om, "Accept-Encoding": "gzip"}):
                a.alive("while scraped")
                status, hdrs, body = _get(port, headers)
                assert status == 200, "%r: status %d" % (headers, status)
                if "gzip" in headers.get("Accept-Encoding", ""):
                    assert hdrs.get("content-encoding") == "gzip", "%r: %r" % (headers, hdrs)
                    body = gzip.decompress(body)
                text = body.decode("utf-8")
                if "Accept" in headers:
                    assert text.endswith("\n# EOF\n"), "OpenMetrics page ends with %r" % (
                        text[-40:])
                assert "latscope_syscall_duration_seconds_bucket{" in text
                scrapes += 1
            time.sleep(0.4)
        w.done()
        rc, _, err = a.finish(signal.SIGTERM)
    _assert_clean("serve (SIGTERM)", rc, err)
    return "%d scrapes" % scrapes


def test_asan_record_then_report_and_replay_exit_0_clean():
    _make("asan-build")
    with tempfile.TemporaryDirectory(prefix="latscope-asan-") as rec:
        with _Workload() as w, _Proc([ASAN_LATSCOPE, "record", "--dir", rec, "-i", 0.3]) as a:
            a.wait_err(lib.ATTACHED_PREFIX)
            w.go()
            w.done()
            time.sleep(1.2)  # a few intervals on disk
            rc, _, err = a.finish(signal.SIGINT)
        _assert_clean("record (SIGINT)", rc, err)
        with _Proc([ASAN_LATSCOPE, "report", "--from", "-5m", "--dir", rec, "--json"]) as a:
            rc, out, err = a.finish(timeout=60)
        _assert_clean("report --from -5m", rc, err)
        report = lib.parse_ndjson(out)
        assert report, "report printed nothing"
        with _Proc([ASAN_LATSCOPE, "top", "--replay", "--at", "-5m", "--dir", rec,
                    "--json"]) as a:
            rc, out, err = a.finish(timeout=60)
        _assert_clean("top --replay --at -5m", rc, err)
        replayed = lib.parse_ndjson(out)
        assert replayed, "top --replay printed nothing"
    return "report %d object(s), replay %d interval(s)" % (len(report), len(replayed))


def test_asan_check_exit_0_clean():
    _make("asan-build")
    with _Proc([ASAN_LATSCOPE, "check"]) as a:
        rc, out, err = a.finish(timeout=120)
    _assert_clean("check", rc, err)
    assert out, "check printed nothing"
    return "%d lines" % len(out)


def main(argv):
    """`asan`: the ASan tests of this file, with run.py's PASS/FAIL lines."""
    if argv != ["asan"]:
        print("usage: %s asan" % argv[0] if argv else "usage: test_sanitizers.py asan")
        return 2
    os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    failed = 0
    tests = sorted(n for n in globals() if n.startswith("test_asan_"))
    for name in tests:
        t0 = time.monotonic()
        try:
            detail = globals()[name]()
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print("FAIL %s (%.1fs): %s" % (name, time.monotonic() - t0, e), flush=True)
            continue
        print("PASS %s (%.1fs)%s" % (name, time.monotonic() - t0,
                                     ": " + detail if isinstance(detail, str) else ""), flush=True)
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
