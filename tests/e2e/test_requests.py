# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Requests collector against ground truth: a real redis-server on a
loopback port (one-request-at-a-time RESP, DEBUG SLEEP for known slow
answers, redis-cli --pipe for streaming pipelining) and build/tests/reqsrv,
a keep-alive HTTP/1.1-ish server that times every request itself.

Every run covers its whole workload in one interval (-i 10, ended by
SIGINT, which flushes the partial interval), so percentiles come from one
histogram and counts are summed over at most one object."""
import os
import socket
import subprocess
import time

import lib

REDIS = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
TOL = 0.125
LAST = {}  # the last agent run's AgentResult


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proc:
    """A process owned by a with block: killed on the way out."""

    def __init__(self, cmd, stdin=subprocess.DEVNULL):
        self.cmd = [str(c) for c in cmd]
        self.proc = subprocess.Popen(self.cmd, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = lib._Lines(self.proc.stdout)
        self.err = lib._Lines(self.proc.stderr)

    @property
    def pid(self):
        return self.proc.pid

    def wait(self, timeout=30):
        rc = self.proc.wait(timeout=timeout)
        self.out.join()
        assert rc == 0, "%s exited %d: %s" % (" ".join(self.cmd), rc, self.err.text())
        return self.out.lines

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib._kill(self.proc)
        return False


class Redis(Proc):
    def __init__(self):
        if not os.path.exists(REDIS) or not os.path.exists(REDIS_CLI):
            raise AssertionError("redis-server/redis-cli missing: run scripts/deps.sh")
        self.port = free_port()
        super().__init__([REDIS, "--port", self.port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--daemonize", "no",
                          "--enable-debug-command", "yes"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            p = subprocess.run([REDIS_CLI, "-p", str(self.port), "PING"], capture_output=True,
                               text=True, timeout=5)
            if p.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        lib._kill(self.proc)
        raise AssertionError("redis-server did not answer on port %d: %s" % (
            self.port, self.err.text()))

    def cli(self, *args, stdin=subprocess.DEVNULL):
        return Proc([REDIS_CLI, "-p", self.port] + [str(a) for a in args], stdin=stdin)


class ReqServer(Proc):
    def __init__(self):
        self.port = free_port()
        path = os.path.join(lib.WORKLOADS, "reqsrv")
        lib.require_file(path, "run make build/tests/reqsrv")
        super().__init__([path, "serve", self.port])
        line = self.out.next_line(5)
        assert line == "listening", "reqsrv did not start: %r %s" % (line, self.err.text())

    def client(self, *args):
        return Proc([os.path.join(lib.WORKLOADS, "reqsrv")] + [args[0], self.port] +
                    [str(a) for a in args[1:]])

    def timings_us(self):
        return [float(l.split()[1]) for l in self.out.lines if l.startswith("req ")]


def run_agent(port, body, *extra, env=None):
    """body() under `top --json --view requests -i 10 --port PORT`, stopped
    with SIGINT; returns (interval objects, what body returned)."""
    saved = dict(os.environ)
    if env:
        os.environ.update(env)
    try:
        with lib.Agent("top", "--json", "--view", "requests", "-i", 10, "--port", port,
                       *extra) as a:
            out = body()
            time.sleep(0.6)  # past the 0.5 s a partial interval needs
            r = a.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert r.rc == 0, r.describe()
    ivs = lib.intervals(r.stdout)
    assert ivs, "no interval object:\n%s" % r.describe()
    LAST["result"] = r
    return ivs, out


def rows(ivs, **match):
    return [r for iv in ivs for r in iv.get("requests", [])
            if all(r.get(k) == v for k, v in match.items())]


def total(rs, field):
    return sum(r[field] for r in rs)


def one_row(ivs, **match):
    rs = rows(ivs, **match)
    assert len(rs) == 1, "want one row matching %r, got %d: %r" % (match, len(rs), rs)
    return rs[0]


def within(got, want, what):
    assert abs(got - want) <= TOL * want, "%s: %.1f us reported, %.1f us true (> 12.5%% off)" % (
        what, got, want)


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(-(-q * len(xs) // 1)) - 1))]


def test_redis_ping_and_debug_sleep_exact_exchanges_and_50ms_p50():
    with Redis() as redis:
        def body():
            with redis.cli("-r", 200, "PING") as fast:
                fast.wait()
            with redis.cli("-r", 20, "DEBUG", "SLEEP", "0.05") as slow:
                slow.wait()
            return fast.pid, slow.pid

        ivs, (fast, slow) = run_agent(redis.port, body)
        assert len(ivs) == 1, "workload spread over %d intervals" % len(ivs)
        srv = one_row(ivs, direction="server", lport=redis.port)
        assert srv["pid"] == redis.pid and srv["comm"] == "redis-server", srv
        assert (srv["count"], srv["mixed"], srv["reset"], srv["unanswered"]) == (220, 0, 0, 0), \
            "server: %r, want 220 timed exchanges and nothing else" % srv
        cf = one_row(ivs, direction="client", pid=fast)
        cs = one_row(ivs, direction="client", pid=slow)
        assert cf["comm"] == "redis-cli" and cf["raddr"] == "127.0.0.1" and \
            cf["rport"] == redis.port, cf
        assert (cf["count"], cs["count"], cf["mixed"] + cs["mixed"]) == (200, 20, 0), (cf, cs)
        within(cs["lat_us"]["p50"], 50000, "DEBUG SLEEP 0.05 client p50")
        # 20 of 220 are slow: the server's p99 is one of them
        within(srv["lat_us"]["p99"], 50000, "server p99")
        assert srv["bytes_in"] > 0 and srv["bytes_out"] > 0 and srv["open"] == 0, srv
    return "server 220/220, clients 200+20; slow p50 %.0f us, server p99 %.0f us" % (
        cs["lat_us"]["p50"], srv["lat_us"]["p99"])


def test_keepalive_http_server_counts_and_p50_p99_match_its_own_timing():
    delays = [2] * 30 + [10] * 30 + [40] * 10
    # interleaved, deterministic
    delays = [delays[(i * 37) % len(delays)] for i in range(len(delays))]
    assert sorted(delays) == sorted([2] * 30 + [10] * 30 + [40] * 10)
    with ReqServer() as srv:
        def body():
            with srv.client("get", ",".join(map(str, delays))) as c:
                assert c.wait() == ["done 70"]
            return c.pid

        ivs, cpid = run_agent(srv.port, body)
        truth = srv.timings_us()
        assert len(truth) == 70, truth
        s = one_row(ivs, direction="server", lport=srv.port)
        c = one_row(ivs, direction="client", pid=cpid)
        assert (s["count"], c["count"]) == (70, 70), (s, c)
        assert s["mixed"] + c["mixed"] + s["reset"] + c["reset"] == 0, (s, c)
        within(s["lat_us"]["p50"], percentile(truth, 0.5), "server p50")
        within(s["lat_us"]["p99"], percentile(truth, 0.99), "server p99")
        within(c["lat_us"]["p50"], percentile(truth, 0.5), "client p50")
    return "70/70 exchanges; p50 %.0f vs %.0f us, p99 %.0f vs %.0f us" % (
        s["lat_us"]["p50"], percentile(truth, 0.5), s["lat_us"]["p99"],
        percentile(truth, 0.99))


def _resp_sets(n):
    out = []
    for i in range(n):
        k, v = "key:%d" % i, "value:%d" % i
        out.append("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    return "".join(out).encode()


def test_redis_pipe_marks_its_socket_mixed_while_a_plain_client_keeps_exact_counts():
    data = _resp_sets(20000)
    with Redis() as redis:
        def body():
            pipe = subprocess.Popen([REDIS_CLI, "-p", str(redis.port), "--pipe"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            try:
                with redis.cli("-r", 200, "PING") as plain:
                    out, err = pipe.communicate(data, timeout=60)
                    plain.wait()
            finally:
                lib._kill(pipe)
            assert pipe.returncode == 0 and b"replies: 20000" in out, (out, err)
            return plain.pid, pipe.pid

        ivs, (plain, piped) = run_agent(redis.port, body)
        p = one_row(ivs, direction="client", pid=plain)
        assert (p["count"], p["mixed"], p["reset"]) == (200, 0, 0), p
        srv = one_row(ivs, direction="server", lport=redis.port)
        # the plain client's 200, and at most a handful from the pipe before
        # its first tell-tale; the rest of the pipe's turns are mixed
        piped_timed = srv["count"] - 200
        assert 0 <= piped_timed <= 8, srv
        assert srv["mixed"] >= 3 * max(piped_timed, 5), \
            "the --pipe connection was not marked mixed early: %r" % srv
        pc = one_row(ivs, direction="client", pid=piped)
        assert pc["mixed"] > pc["count"], pc
    return "server: %d timed (200 plain), %d mixed; plain client 200 timed" % (
        srv["count"], srv["mixed"])


def test_half_closing_client_is_not_mixed():
    with ReqServer() as srv:
        def body():
            pids = []
            for _ in range(5):
                with srv.client("get", 20, "halfclose") as c:
                    assert c.wait() == ["done 1"]
                pids.append(c.pid)
            return pids

        ivs, pids = run_agent(srv.port, body)
        s = one_row(ivs, direction="server", lport=srv.port)
        assert (s["count"], s["mixed"], s["reset"]) == (5, 0, 0), \
            "the FIN waiting behind a request made the server socket mixed: %r" % s
        within(s["lat_us"]["p50"], percentile(srv.timings_us(), 0.5), "server p50")
        cl = [r for r in rows(ivs, direction="client") if r.get("pid") in pids]
        assert total(cl, "count") == 5 and total(cl, "mixed") == 0, cl


def test_unanswered_after_request_timeout_and_reset_before_it():
    with ReqServer() as srv:
        def body():
            with srv.client("hang", 1500) as late:  # past the 1 s timeout
                late.wait()
            with srv.client("hang", 200) as early:  # closed before it
                early.wait()
            return late.pid, early.pid

        ivs, (late, early) = run_agent(srv.port, body, "--request-timeout", "1s")
        s = one_row(ivs, direction="server", lport=srv.port)
        assert (s["count"], s["unanswered"], s["reset"]) == (0, 1, 1), s
        cl = one_row(ivs, direction="client", pid=late)
        ce = one_row(ivs, direction="client", pid=early)
        assert (cl["unanswered"], cl["reset"], ce["unanswered"], ce["reset"]) == (1, 0, 0, 1), \
            (cl, ce)


def test_raw_tp_flavour_counts_redis_exchanges_exactly():
    with Redis() as redis:
        def body():
            with redis.cli("-r", 50, "PING") as c:
                c.wait()
            return c.pid

        ivs, cpid = run_agent(redis.port, body, env={"LATSCOPE_ATTACH": "raw_tp"})
        assert "requests (raw_tp)" in LAST["result"].stderr, LAST["result"].stderr
        s = one_row(ivs, direction="server", lport=redis.port)
        c = one_row(ivs, direction="client", pid=cpid)
        assert (s["count"], c["count"]) == (50, 50), (s, c)


def test_no_requests_switches_the_collector_off():
    on = lib.run_agent("top", "--json", "-n", 1, "-i", 0.2, timeout=20)
    off = lib.run_agent("top", "--json", "-n", 1, "-i", 0.2, "--no-requests", timeout=20)
    assert on.rc == 0 and off.rc == 0, (on.describe(), off.describe())
    attached = [l for l in on.stderr_lines() if l.startswith(lib.ATTACHED_PREFIX)]
    assert attached and "requests (" in attached[0], on.stderr
    attached = [l for l in off.stderr_lines() if l.startswith(lib.ATTACHED_PREFIX)]
    assert attached and "requests" not in attached[0] and "tcp (" in attached[0], off.stderr


def test_serve_exports_request_families_with_direction_and_endpoint_labels():
    import urllib.request
    listen = free_port()
    with Redis() as redis:
        with lib.Agent("serve", "--listen", "127.0.0.1:%d" % listen, "-i", 0.5, "--port",
                       redis.port, "--no-syscalls", "--no-sched") as a:
            with redis.cli("-r", 30, "PING") as c:
                c.wait()
            time.sleep(1.2)
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % listen,
                                          timeout=5).read().decode()
            r = a.stop()
    assert r.rc == 0, r.describe()
    def sample(family, value, *parts):
        lines = [l for l in text.splitlines() if l.startswith(family + "{") and
                 all(x in l for x in parts)]
        assert len(lines) == 1 and lines[0].endswith(" %d" % value), \
            "want one %s sample with %s = %d, got %r" % (family, parts, value, lines)

    port = 'port="%d"' % redis.port
    sample("latscope_request_duration_seconds_count", 30, 'comm="redis-server"',
           'direction="server"', "l" + port)
    sample("latscope_request_duration_seconds_count", 30, 'comm="redis-cli"',
           'direction="client"', 'raddr="127.0.0.1"', "r" + port)
    sample("latscope_requests_mixed_total", 0, 'comm="redis-server"', "l" + port)
    for fam in ("requests_unanswered_total", "requests_reset_total"):
        assert "# TYPE latscope_%s counter" % fam in text, fam
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
