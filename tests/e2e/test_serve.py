# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end: `latscope serve`, the Prometheus/OpenMetrics exporter
(DESIGN.md sections 4, 6 and 8; issue 11 and its corrections).

promtool check metrics (2.42) accepts decreasing buckets, a missing +Inf,
_count != +Inf, negative counters and duplicate series, so every scrape here
goes through the strict parser below (both exposition formats), and a real
Prometheus scrapes the agent and answers PromQL over a workload with known
ground truth (tests/workloads/syscalls.c).

Each test uses its own port (PORT_BASE + n, or a free one when that is
taken), stops every process it started, and asserts that the agent exits 0
on SIGINT/SIGTERM.
"""
import gzip
import http.client
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import lib

PORT_BASE = 19580
SCRAPE_TIMEOUT_S = 30           # a generous one: the machine is slow and shared
ACCEPT_OM = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" \
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"  # Prometheus 2.42
CT_TEXT = "text/plain; version=0.0.4"
CT_OM = "application/openmetrics-text; version=1.0.0"
RSS_LIMIT_KB = 64 * 1024        # DESIGN.md section 8 / the brief: RSS stays under 64 MiB
IDLE_CONNECTIONS = 1000         # DESIGN.md section 8
IDLE_SCRAPE_LIMIT_S = 2.0       # ... a scrape still succeeds within 2 s

# the default le set (DESIGN.md section 6, user/prom.c): 2^k and 1.5 * 2^k ns
# from 1.024 us (2^10 ns) to 17.18 s (2^34 ns), then +Inf
DEFAULT_LE_S = sorted([(1 << k) / 1e9 for k in range(10, 35)] +
                      [(3 << (k - 1)) / 1e9 for k in range(10, 34)])


# --- ports, processes, HTTP --------------------------------------------------

_COLLECTORS = []


def _collectors():
    """The collectors `latscope check` says this kernel can run (so a new
    collector is expected on /metrics without editing this file)."""
    if not _COLLECTORS:
        out = lib.run_agent("check", timeout=60)
        text = "\n".join(out.stdout)
        _COLLECTORS.extend(m.group(1) for m in re.finditer(
            r"^\s+verdict: (\w+): ok", text, re.M))
        assert _COLLECTORS, "no collector ok in latscope check:\n%s" % text
    return _COLLECTORS


def _port(offset):
    """PORT_BASE + offset if nothing holds it on loopback, else one the kernel picks."""
    for port in (PORT_BASE + offset, 0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free TCP port on 127.0.0.1")


class Serve(lib.Agent):
    """`latscope serve --listen 127.0.0.1:PORT ARGS` (host: [::1] too): on
    enter it also waits for the "serving http://ADDR/metrics" line and for
    the first interval's families on /metrics."""

    def __init__(self, port, *args, host="127.0.0.1"):
        self.port, self.host = port, host
        listen = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        super().__init__("serve", "--listen", listen, *args)
        self.listen = listen

    def __enter__(self):
        super().__enter__()
        want = "latscope: serving http://%s/metrics" % self.listen
        if self.err.wait_for(lambda s: s.startswith(want), lib.ATTACH_TIMEOUT_S) is None:
            text = self.err.text()
            self.__exit__(None, None, None)
            raise AssertionError("no %r line on stderr within %ds\n--- stderr:\n%s" % (
                want, lib.ATTACH_TIMEOUT_S, text))
        # the row families appear with the first interval's maps read: wait
        # for it, so that every scrape of a test has them
        try:
            wait_until(lambda: b"\n# TYPE latscope_syscall_duration_seconds histogram\n" in
                       scrape(self.port, host=self.host), lib.ATTACH_TIMEOUT_S,
                       lambda: "no latscope_syscall_duration_seconds family on /metrics")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def alive(self, what):
        assert self.proc.poll() is None, "agent exited (status %r) %s; stderr:\n%s" % (
            self.proc.poll(), what, self.err.text())

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc/%d/status" % self.pid)

    def stop_ok(self, sig=signal.SIGTERM):
        out = self.stop(sig)
        assert out.rc == 0, "after %s expected exit status 0; %s" % (
            signal.Signals(sig).name, out.describe())
        return out


def http_get(port, path="/metrics", headers=None, method="GET", host="127.0.0.1",
             timeout=SCRAPE_TIMEOUT_S, body=None):
    """(status, {lower-case header: value}, body bytes) of one request."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def scrape(port, om=False, gz=False, host="127.0.0.1"):
    """GET /metrics in one format; checks status, Content-Type and encoding;
    returns the body as bytes (decompressed)."""
    headers = {}
    if om:
        headers["Accept"] = ACCEPT_OM
    if gz:
        headers["Accept-Encoding"] = "gzip"
    what = "GET /metrics (%s%s)" % ("OpenMetrics" if om else "text 0.0.4", ", gzip" if gz else "")
    status, hdrs, data = http_get(port, headers=headers, host=host)
    assert status == 200, "%s: status %d: %r" % (what, status, data[:200])
    ct = hdrs.get("content-type", "")
    want = CT_OM if om else CT_TEXT
    assert ct.startswith(want), "%s: Content-Type %r, want %r..." % (what, ct, want)
    enc = hdrs.get("content-encoding", "")
    if gz:
        assert enc == "gzip", "%s: Content-Encoding %r, want gzip" % (what, enc)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise AssertionError("%s: body is not gzip (%s): %r" % (what, e, data[:40]))
    else:
        assert enc in ("", "identity"), "%s without Accept-Encoding: Content-Encoding %r" % (
            what, enc)
    return data


def raw_request(port, data, timeout=10):
    """Send bytes over a fresh TCP connection, read until the server closes.
    Returns (status or None, {lower-case header: value}, body, note) where
    note says how the exchange ended ("closed", "reset", "timeout")."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got, note = b"", "closed"
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            note = "reset while sending"
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                note = "reset"
                break
            except socket.timeout:
                note = "timeout"
                break
            if not b:
                break
            got += b
    finally:
        s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    if not m:
        return None, {}, got, note
    hdrs = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(m.group(1)), hdrs, body, note


def wait_until(pred, timeout, what, step=0.25):
    """Poll pred() until it returns a true value (returned); fail on timeout
    with what() (a string describing the last state)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("after %ss: %s" % (timeout, what()))
        time.sleep(step)


# --- the strict exposition parser ----------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LNAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_LVAL = r'"(?:[^"\\\n]|\\.)*"'
_LABEL = _LNAME + "=" + _LVAL
_SAMPLE_RE = re.compile(r"(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)(?: (\S+))?" % (
    _NAME, _LABEL, _LABEL))
_PAIR_RE = re.compile(r'(%s)="((?:[^"\\\n]|\\.)*)"' % _LNAME)
_META_RE = re.compile(r"# (HELP|TYPE|UNIT) (%s)(?: (.*))?" % _NAME)
_ESC_RE = re.compile(r"\\(.)")
_REAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(r"%s|[+-]?Inf|NaN" % _REAL)
_OM_NUMBER_RE = re.compile(r"%s|[+-]?(?:inf|infinity)|nan" % _REAL, re.IGNORECASE)
_TEXT_TS_RE = re.compile(r"-?[0-9]+")
_OM_TS_RE = re.compile(_REAL)

TEXT_TYPES = {"counter": ("",), "gauge": ("",), "untyped": ("",),
              "histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}
OM_TYPES = {"counter": ("_total", "_created"), "gauge": ("",), "unknown": ("",),
            "stateset": ("",), "info": ("_info",),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
            "summary": ("", "_sum", "_count", "_created")}
_SUFFIXES = ("_total", "_created", "_bucket", "_sum", "_count", "_info", "_gsum", "_gcount")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class Family:
    def __init__(self, name, first_line):
        self.name, self.line = name, first_line
        self.type = self.help = self.unit = None
        self.samples = []       # (sample name, suffix, labels tuple as written, value)


class Exposition:
    """One parsed scrape: families in order and every sample by series key."""

    def __init__(self, fmt):
        self.fmt = fmt
        self.families = {}      # name -> Family, in the order seen
        self.series = {}        # (sample name, frozenset of non-empty label pairs) -> value

    def family(self, name):
        """A family by its text-format name (an OpenMetrics counter family is
        looked up without its _total, an info family without its _info)."""
        f = self.families.get(name)
        if f is None and self.fmt == "openmetrics":
            for suffix in ("_total", "_info"):
                if name.endswith(suffix):
                    f = self.families.get(name[:-len(suffix)])
                    if f is not None:
                        break
        return f

    def select(self, sample_name, **match):
        """[(labels dict, value)] of the samples named sample_name whose labels
        include every pair of match."""
        out = []
        for (name, labels), v in self.series.items():
            if name != sample_name:
                continue
            d = dict(labels)
            if all(d.get(k) == v2 for k, v2 in match.items()):
                out.append((d, v))
        return out

    def total(self, sample_name, **match):
        return sum(v for _, v in self.select(sample_name, **match))


def _unescape(raw, allowed, where):
    """raw with its backslash escapes resolved; fails on any escape not in allowed."""
    if "\\" not in raw:
        return raw
    bad = [m.group(0) for m in _ESC_RE.finditer(raw) if m.group(1) not in allowed]
    if (len(raw) - len(raw.rstrip("\\"))) % 2:
        bad.append("a lone backslash at the end")
    if bad:
        raise ValueError("%s has an invalid escape %r" % (where, bad[0]))
    return _ESC_RE.sub(lambda m: _ESCAPES[m.group(1)], raw)


def parse_exposition(data, om):
    """Parse a scrape body strictly: the text format 0.0.4 or OpenMetrics 1.0.

    Fails (AssertionError naming the format, line number and line) unless
    every line parses (names, labels with valid escapes, values), every family
    has exactly one HELP and one TYPE before its samples and its samples are
    contiguous (families never interleaved), every sample name fits its
    family's type, no series (name + labels, an empty value being no label)
    appears twice, counters are non-negative and not NaN, and every histogram
    label set has buckets in strictly increasing le order ending with +Inf,
    cumulative (non-decreasing) whole counts, +Inf equal to _count, and a
    _sum. OpenMetrics in addition: counter families are named without _total,
    an info family's samples end in _info with value 1, no sample names can
    clash between families, no comment or blank lines, and the body ends with
    the line "# EOF" with nothing after it.
    """
    fmt = "openmetrics" if om else "text"
    exp = Exposition(fmt)

    def fail(n, why, line):
        raise AssertionError("%s exposition, line %d: %s: %r" % (fmt, n, why, line[:300]))

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError("%s exposition is not valid UTF-8: %s" % (fmt, e))
    if "\r" in text:
        fail(text[:text.index("\r")].count("\n") + 1, "carriage return", "")
    if om:
        body = text[:-1] if text.endswith("\n") else text
        lines = body.split("\n")
        if lines[-1] != "# EOF":
            fail(len(lines), "the last line is not '# EOF' (or text follows it)", lines[-1])
        lines = lines[:-1]
    else:
        if text and not text.endswith("\n"):
            fail(text.count("\n") + 1, "the last line does not end with a line feed",
                 text[-100:])
        lines = text.split("\n")[:-1] if text else []
    types = OM_TYPES if om else TEXT_TYPES
    meta_escapes = ("\\", "n", '"') if om else ("\\", "n")
    label_escapes = ("\\", "n", '"')
    cur = None                  # the family whose lines are being read
    hist_seen = {}              # histogram family -> label sets already closed
    hist_cur = {}               # histogram family -> the label set being read

    for n, line in enumerate(lines, 1):
        if not line:
            if om:
                fail(n, "blank line (not allowed in OpenMetrics)", line)
            continue
        if line.startswith("#"):
            m = _META_RE.fullmatch(line)
            if not m:
                if om:
                    fail(n, "a '#' line that is not HELP, TYPE or UNIT (or an early '# EOF')",
                         line)
                continue  # a comment: allowed in the text format
            kind, name, rest = m.group(1), m.group(2), m.group(3)
            if cur is None or name != cur.name:
                if name in exp.families:
                    fail(n, "metadata of family %s again, after other families "
                            "(families must not be interleaved)" % name, line)
                cur = exp.families[name] = Family(name, n)
            if cur.samples:
                fail(n, "%s after samples of family %s" % (kind, name), line)
            if getattr(cur, kind.lower()) is not None:
                fail(n, "a second %s line for family %s" % (kind, name), line)
            if kind == "TYPE":
                if rest not in types:
                    fail(n, "type %r is not one of %s" % (rest, ", ".join(sorted(types))), line)
                if om and rest == "counter" and name.endswith("_total"):
                    fail(n, "OpenMetrics names a counter family without _total", line)
                cur.type = rest
            elif kind == "HELP":
                try:
                    cur.help = _unescape(rest or "", meta_escapes, "HELP text")
                except ValueError as e:
                    fail(n, str(e), line)
                if om and '"' in _ESC_RE.sub("", rest or ""):
                    fail(n, "unescaped double quote in OpenMetrics HELP text", line)
            else:
                if not om:
                    fail(n, "UNIT lines are OpenMetrics only", line)
                if rest and not name.endswith("_" + rest):
                    fail(n, "unit %r is not a suffix of the family name" % rest, line)
                cur.unit = rest or ""
            continue

        m = _SAMPLE_RE.fullmatch(line)
        if not m:
            fail(n, "not a sample line (name{label=\"value\",...} value [timestamp])", line)
        name, lraw, vraw, traw = m.groups()
        labels = []
        if lraw:
            seen = set()
            for lname, raw in _PAIR_RE.findall(lraw):
                if lname in seen:
                    fail(n, "label %r twice" % lname, line)
                seen.add(lname)
                if lname.startswith("__") or (om and lname.startswith("_")):
                    fail(n, "label name %r is reserved" % lname, line)
                try:
                    labels.append((lname, _unescape(raw, label_escapes, "label %s" % lname)))
                except ValueError as e:
                    fail(n, str(e), line)
        if not (_OM_NUMBER_RE if om else _NUMBER_RE).fullmatch(vraw):
            fail(n, "value %r is not a number" % vraw, line)
        value = float(vraw)
        if traw is not None and not (_OM_TS_RE if om else _TEXT_TS_RE).fullmatch(traw):
            fail(n, "timestamp %r is not valid" % traw, line)

        # which family: the one being read, if the name fits its type
        fam = suffix = None
        for cand in [name] + [name[:-len(s)] for s in _SUFFIXES if name.endswith(s)]:
            f = exp.families.get(cand)
            if f is not None and f.type is not None and name[len(cand):] in types[f.type]:
                fam, suffix = f, name[len(cand):]
                if f is cur:
                    break
        if fam is None:
            fail(n, "sample %s belongs to no family declared with a TYPE that allows "
                    "its name" % name, line)
        if fam is not cur:
            fail(n, "sample of family %s after the lines of family %s (a family's samples "
                    "must be contiguous, after its HELP and TYPE)" % (fam.name, cur.name), line)
        if fam.help is None:
            fail(n, "family %s has samples but no HELP line before them" % fam.name, line)

        key = (name, frozenset((k, v) for k, v in labels if v != ""))
        if key in exp.series:
            fail(n, "duplicate series %s%s" % (name, dict(sorted(key[1]))), line)
        exp.series[key] = value
        fam.samples.append((name, suffix, tuple(labels), value))

        if math.isnan(value) and fam.type in ("counter", "histogram"):
            fail(n, "NaN in a %s" % fam.type, line)
        if fam.type == "counter" and suffix != "_created" and value < 0:
            fail(n, "negative counter", line)
        if fam.type == "info" and value != 1:
            fail(n, "an info sample's value must be 1", line)
        if fam.type == "histogram":
            d = dict(labels)
            if suffix == "_bucket" and "le" not in d:
                fail(n, "bucket without an le label", line)
            if suffix != "_bucket" and "le" in d:
                fail(n, "le label on a %s sample" % suffix, line)
            if suffix in ("_bucket", "_count") and (value < 0 or not value.is_integer()):
                fail(n, "a bucket or _count must be a whole number >= 0", line)
            if suffix == "_sum" and value < 0:
                fail(n, "negative _sum", line)
            lset = frozenset((k, v) for k, v in labels if k != "le")
            if hist_cur.get(fam.name) != lset:
                if lset in hist_seen.setdefault(fam.name, set()):
                    fail(n, "the lines of histogram %s%s are not contiguous" % (
                        fam.name, dict(sorted(lset))), line)
                hist_seen[fam.name].add(lset)
                hist_cur[fam.name] = lset

    for f in exp.families.values():
        if f.type is None:
            raise AssertionError("%s exposition: family %s (line %d) has no TYPE line" % (
                fmt, f.name, f.line))
        if f.help is None:
            raise AssertionError("%s exposition: family %s (line %d) has no HELP line" % (
                fmt, f.name, f.line))
        if f.type == "histogram":
            _check_histogram(fmt, f)
    if om:
        produced = {}
        for f in exp.families.values():
            for s in OM_TYPES[f.type]:
                produced.setdefault(f.name + s, []).append(f.name)
        for sname, fams in produced.items():
            clash = set(fams) | ({sname} if sname in exp.families and
                                 sname not in fams else set())
            if len(clash) > 1:
                raise AssertionError("openmetrics exposition: sample name %s can come from "
                                     "families %s (names must not clash)" % (sname, sorted(clash)))
    return exp


def _le_value(v):
    if v == "+Inf":
        return math.inf
    if not _NUMBER_RE.fullmatch(v) or v in ("NaN", "-Inf", "Inf"):
        return None
    return float(v)


def _check_histogram(fmt, f):
    groups = {}
    for name, suffix, labels, value in f.samples:
        d = dict(labels)
        le = d.pop("le", None)
        g = groups.setdefault(tuple(sorted(d.items())), {"buckets": [], "sum": None,
                                                         "count": None})
        if suffix == "_bucket":
            g["buckets"].append((le, value))
        elif suffix in ("_sum", "_count"):
            g[suffix[1:]] = value
    for lset, g in groups.items():
        where = "%s exposition: histogram %s%s" % (fmt, f.name, dict(lset))
        assert g["buckets"], "%s: _sum/_count without buckets" % where
        prev_le, prev_v = -math.inf, 0
        for le, v in g["buckets"]:
            x = _le_value(le)
            assert x is not None, "%s: le=%r is not a number" % (where, le)
            assert x > prev_le, "%s: le=%r after le=%r (buckets must be in increasing le " \
                                "order, each le once)" % (where, le, prev_le)
            assert v >= prev_v, "%s: bucket le=%r is %r, below the previous bucket's %r " \
                                "(buckets are cumulative)" % (where, le, v, prev_v)
            prev_le, prev_v = x, v
        last_le, last_v = g["buckets"][-1]
        assert last_le == "+Inf", "%s: no le=\"+Inf\" bucket (last le is %r)" % (where, last_le)
        assert g["count"] is not None, "%s: no _count" % where
        assert g["sum"] is not None, "%s: no _sum" % where
        assert g["count"] == last_v, "%s: _count %r != +Inf bucket %r" % (
            where, g["count"], last_v)


def parse_checked(data, om):
    """parse_exposition plus the checks of the DESIGN.md section 6 contract
    that hold for any scrape of an agent with all collectors up."""
    exp = parse_exposition(data, om)
    check_contract(exp)
    return exp


_GOOD_TEXT = """# HELP a_total A counter.
# TYPE a_total counter
a_total{x="1"} 3
a_total{x="2\\\\ \\" \\n"} 0
# HELP h_seconds A histogram.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.5"} 1
h_seconds_bucket{le="1"} 2
h_seconds_bucket{le="+Inf"} 3
h_seconds_sum 2.5
h_seconds_count 3
# HELP g A gauge.
# TYPE g gauge
g -1.5e-3
"""
_GOOD_OM = (_GOOD_TEXT.replace("# TYPE a_total counter", "# TYPE a counter")
            .replace("# HELP a_total", "# HELP a")
            + '# HELP b An info.\n# TYPE b info\nb_info{v="1"} 1\n# EOF\n')

# (what, text-format body or None, OpenMetrics body or None): each must be rejected
_BROKEN = [
    ("decreasing bucket", _GOOD_TEXT.replace('{le="1"} 2', '{le="1"} 0'), None),
    ("no +Inf bucket", _GOOD_TEXT.replace('h_seconds_bucket{le="+Inf"} 3\n', ""), None),
    ("_count != +Inf", _GOOD_TEXT.replace("h_seconds_count 3", "h_seconds_count 4"), None),
    ("no _sum", _GOOD_TEXT.replace("h_seconds_sum 2.5\n", ""), None),
    ("le out of order", _GOOD_TEXT.replace('le="0.5"} 1\nh_seconds_bucket{le="1"} 2',
                                           'le="1"} 1\nh_seconds_bucket{le="0.5"} 1'), None),
    ("negative counter", _GOOD_TEXT.replace('a_total{x="1"} 3', 'a_total{x="1"} -3'), None),
    ("NaN counter", _GOOD_TEXT.replace('a_total{x="1"} 3', 'a_total{x="1"} NaN'), None),
    ("duplicate series", _GOOD_TEXT.replace("g -1.5e-3\n", "g -1.5e-3\ng 2\n"), None),
    ("same series, labels reordered", _GOOD_TEXT.replace(
        'a_total{x="1"} 3\n', 'a_total{x="1",y="2"} 3\na_total{y="2",x="1"} 3\n'), None),
    ("no HELP", _GOOD_TEXT.replace("# HELP g A gauge.\n", ""), None),
    ("no TYPE", _GOOD_TEXT.replace("# TYPE g gauge\n", ""), None),
    ("TYPE after samples", _GOOD_TEXT.replace("# TYPE g gauge\ng -1.5e-3",
                                              "g -1.5e-3\n# TYPE g gauge"), None),
    ("interleaved families", _GOOD_TEXT + 'a_total{x="3"} 1\n', None),
    ("invalid escape", _GOOD_TEXT.replace('{x="1"}', '{x="\\\\x\\q"}'), None),
    ("bad value", _GOOD_TEXT.replace("g -1.5e-3", "g 1_000"), None),
    ("no final line feed", _GOOD_TEXT[:-1], None),
    ("info type in text", _GOOD_TEXT.replace("# TYPE g gauge", "# TYPE g info"), None),
    ("counter family with _total", None, _GOOD_OM.replace("# TYPE a counter",
                                                          "# TYPE a_total counter")),
    ("counter sample without _total", None, _GOOD_OM.replace('a_total{x="1"}', 'a{x="1"}')),
    ("no # EOF", None, _GOOD_OM.replace("# EOF\n", "")),
    ("text after # EOF", None, _GOOD_OM + "g 1\n"),
    ("blank line", None, _GOOD_OM.replace("# HELP g", "\n# HELP g")),
    ("info value 2", None, _GOOD_OM.replace('b_info{v="1"} 1', 'b_info{v="1"} 2')),
    ("a comment", None, _GOOD_OM.replace("# HELP g", "# hello\n# HELP g")),
    ("raw quote in HELP", None, _GOOD_OM.replace("A gauge.", 'A "gauge".')),
    ("fractional bucket", None, _GOOD_OM.replace('{le="1"} 2', '{le="1"} 2.5')),
]


def test_strict_parser_rejects_what_promtool_lets_through():
    """The parser used on every scrape here accepts a valid exposition in
    each format and rejects each of a list of broken ones (decreasing
    buckets, no +Inf, _count != +Inf, negative counters, duplicate series,
    interleaved families, bad escapes, OpenMetrics framing...), so the
    scrape tests below can fail. No agent involved."""
    parse_exposition(_GOOD_TEXT.encode(), False)
    parse_exposition(_GOOD_OM.encode(), True)
    accepted = []
    for what, text, om in _BROKEN:
        for body, is_om in ((text, False), (om, True)):
            if body is None:
                continue
            try:
                parse_exposition(body.encode(), is_om)
            except AssertionError:
                continue
            accepted.append("%s (%s)" % (what, "OpenMetrics" if is_om else "text"))
    assert not accepted, "the strict parser accepted broken expositions: %s" % accepted
    return "%d broken expositions rejected" % len(_BROKEN)


# family (text-format name) -> type in the text format, and its own labels
CONTRACT = {
    "latscope_syscall_duration_seconds": ("histogram", {"comm", "cgroup", "syscall", "idle"}),
    "latscope_syscall_errors_total": ("counter", {"comm", "cgroup", "syscall", "idle", "errno"}),
    "latscope_runqueue_latency_seconds": ("histogram", {"comm", "cgroup"}),
    "latscope_oncpu_seconds_total": ("counter", {"comm", "cgroup"}),
    "latscope_offcpu_seconds_total": ("counter", {"comm", "cgroup"}),
    "latscope_context_switches_total": ("counter", {"comm", "cgroup", "kind"}),
    "latscope_tcp_connect_duration_seconds": ("histogram", None),
    "latscope_tcp_rtt_seconds": ("histogram", None),
    "latscope_tcp_connect_errors_total": ("counter", None),
    "latscope_tcp_retransmits_total": ("counter", None),
    "latscope_tcp_resets_total": ("counter", None),
    "latscope_dropped_total": ("counter", {"what"}),
    "latscope_build_info": ("gauge", {"version", "libbpf", "kernel"}),
    "latscope_collector_up": ("gauge", {"collector", "variant"}),
    "latscope_bpf_program_attached": ("gauge", None),
    "latscope_series": ("gauge", set()),
    "latscope_scrape_duration_seconds": ("gauge", set()),
    "process_cpu_seconds_total": ("counter", set()),
    "process_resident_memory_bytes": ("gauge", set()),
    "process_open_fds": ("gauge", set()),
    "process_max_fds": ("gauge", set()),
    "process_start_time_seconds": ("gauge", set()),
}
TCP_FAMILIES = [n for n in CONTRACT if n.startswith("latscope_tcp_")]
SYSCALL_FAMILIES = ["latscope_syscall_duration_seconds", "latscope_syscall_errors_total"]
SCHED_FAMILIES = ["latscope_runqueue_latency_seconds", "latscope_oncpu_seconds_total",
                  "latscope_offcpu_seconds_total", "latscope_context_switches_total"]
ERRNO_RE = re.compile(r"E[A-Z0-9_]+")


def check_contract(exp):
    om = exp.fmt == "openmetrics"
    problems = []
    for name, (typ, want_labels) in CONTRACT.items():
        f = exp.family(name)
        if om and name == "latscope_build_info":
            typ = "info"
        if f is None:
            problems.append("family %s missing" % name)
            continue
        if f.type != typ:
            problems.append("family %s has TYPE %s, want %s" % (f.name, f.type, typ))
        for sname, suffix, labels, value in f.samples:
            got = {k for k, _ in labels} - {"le"}
            if want_labels is not None and got != want_labels and suffix != "_created":
                problems.append("%s%s: labels %s, want %s" % (
                    sname, dict(labels), sorted(got), sorted(want_labels)))
    for f in exp.families.values():
        if not om and f.type == "counter" and not f.name.endswith("_total"):
            problems.append("counter %s is not named ..._total" % f.name)
        for sname, suffix, labels, value in f.samples:
            d = dict(labels)
            if "pid" in d:
                problems.append("%s has a pid label: %s" % (sname, d))
            if "idle" in d and d["idle"] not in ("true", "false"):
                problems.append("%s: idle=%r" % (sname, d["idle"]))
            if "errno" in d and not ERRNO_RE.fullmatch(d["errno"]):
                problems.append("%s: errno=%r is not a symbolic name" % (sname, d["errno"]))
            if f.name.startswith("latscope_tcp_"):
                # outgoing connections carry raddr and rport, accepted ones lport
                if ("rport" in d) == ("lport" in d) or ("rport" in d and "raddr" not in d):
                    problems.append("%s: want raddr+rport (outgoing) or lport (accepted): %s" % (
                        sname, d))
            # tcp resets: which way the RST went; requests: which side we are
            want_dir = ("server", "client") if f.name.startswith("latscope_request") else (
                "sent", "received")
            if "direction" in d and d["direction"] not in want_dir:
                problems.append("%s: direction=%r" % (sname, d["direction"]))
            if "kind" in d and d["kind"] not in ("voluntary", "involuntary"):
                problems.append("%s: kind=%r" % (sname, d["kind"]))
        if f.type == "histogram":
            les = {}
            for sname, suffix, labels, value in f.samples:
                if suffix == "_bucket":
                    d = dict(labels)
                    les.setdefault(tuple(sorted((k, v) for k, v in d.items() if k != "le")),
                                   []).append(d["le"])
            for lset, lv in les.items():
                got = [_le_value(x) for x in lv]
                if len(got) != len(DEFAULT_LE_S) + 1 or got[-1] != math.inf or any(
                        abs(a - b) > 1e-9 * b for a, b in zip(got, DEFAULT_LE_S)):
                    problems.append("%s%s: le bounds %s, want the default set %s... +Inf" % (
                        f.name, dict(lset), lv[:4], DEFAULT_LE_S[:4]))
                    break
    up = {d.get("collector"): v for d, v in exp.select("latscope_collector_up")}
    if set(up) != set(_collectors()) or any(v != 1 for v in up.values()):
        problems.append("latscope_collector_up: %s, want every collector (%s) at 1" % (
            up, ", ".join(_collectors())))
    progs = exp.select("latscope_bpf_program_attached")
    if not progs or any(v != 1 or not d.get("program") for d, v in progs):
        problems.append("latscope_bpf_program_attached: %s" % progs[:5])
    if not exp.select("latscope_dropped_total", what="series"):
        problems.append('no latscope_dropped_total{what="series"}')
    bi = exp.select("latscope_build_info")
    if len(bi) != 1 or bi[0][1] != 1 or not all(bi[0][0].get(k) for k in
                                                ("version", "libbpf", "kernel")):
        problems.append("latscope_build_info: %s" % bi)
    start = exp.total("process_start_time_seconds")
    if not time.time() - 3600 < start <= time.time() + 1:
        problems.append("process_start_time_seconds %r is not within the last hour" % start)
    fds, maxfds = exp.total("process_open_fds"), exp.total("process_max_fds")
    if not 0 < fds <= maxfds:
        problems.append("process_open_fds %r, process_max_fds %r" % (fds, maxfds))
    if exp.total("process_resident_memory_bytes") <= 0:
        problems.append("process_resident_memory_bytes is not positive")
    assert not problems, "%s scrape breaks the metrics contract:\n  %s" % (
        exp.fmt, "\n  ".join(problems[:30]))


# --- workloads ----------------------------------------------------------------------

def refused_port():
    """A loopback port bound but not listening: connects to it are refused
    (a RST). Returns (socket, port); close the socket when done."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def run_churn(names, nproc, calls, stop=None):
    """Run tests/workloads/churn.c once per name (a new comm each time), one
    after the other; returns the results. With stop (a threading.Event) it
    goes on cycling through the names until stop is set."""
    results = []
    i = 0
    while True:
        name = names[i % len(names)]
        with lib.Workload("churn", name, nproc, calls) as w:
            w.go()
            results.append(w.result(timeout=60))
        i += 1
        if stop is None and i == len(names):
            return results
        if stop is not None and stop.is_set():
            return results


# --- 1. both formats parse strictly on live scrapes; promtool ----------------------

def _promtool(text_body):
    p = subprocess.run(["promtool", "check", "metrics"], input=text_body, capture_output=True,
                       timeout=120)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace").strip()


def test_live_scrapes_parse_strictly_in_both_formats_and_promtool_is_clean():
    """Scrapes in the text format, OpenMetrics, and both gzip'd, taken while
    the syscalls, tcp and pingpong workloads run and after they are done,
    all pass the strict parser and the contract checks; promtool check metrics
    exits 0 and prints nothing on the text scrapes (it prints lint warnings,
    e.g. for a counter without _total: none of them is acceptable here). The
    rows the workloads made are there, with their exact counts."""
    assert shutil.which("promtool"), "promtool not installed (scripts/deps.sh installs prometheus)"
    port = _port(0)
    n_conn, n_refused, n_pingpong = 10, 3, 20000
    rs, rport = refused_port()
    bodies = []
    try:
        with Serve(port, "-i", 0.5, "--max-series", 100000) as a, \
                lib.Workload("syscalls", 20, 1000, 7, 100) as sysw, \
                lib.Workload("tcp", "connect", "127.0.0.1", port, n_conn, 0) as tcpw, \
                lib.Workload("tcp", "connect", "127.0.0.1", rport, n_refused, 0) as refw:
            ping = subprocess.Popen([os.path.join(lib.WORKLOADS, "pingpong"), str(n_pingpong)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                time.sleep(0.3)
                for w in (sysw, tcpw, refw):
                    w.go()
                for om, gz in ((False, False), (True, False), (False, True), (True, True)):
                    bodies.append(("while running", om, gz, scrape(port, om, gz)))
                sysw.result(30), tcpw.result(30)
                ref = refw.result(30)
                pout, perr = ping.communicate(timeout=120)
                assert ping.returncode == 0, "pingpong failed: %r" % perr
            finally:
                if ping.poll() is None:
                    ping.kill()
                    ping.wait()
            assert ref["refused"] == n_refused, "connects to a closed port: %r" % ref
            time.sleep(1.5)  # three intervals: the rows are in the series
            for om, gz in ((False, False), (True, False), (False, True), (True, True)):
                bodies.append(("after", om, gz, scrape(port, om, gz)))
            a.alive("while scraped")
            a.stop_ok(signal.SIGINT)
    finally:
        rs.close()
    figures = []
    for when, om, gz, body in bodies:
        what = "%s scrape %s%s" % ("OpenMetrics" if om else "text", when, " (gzip)" if gz else "")
        try:
            exp = parse_checked(body, om)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e))
        if not om:
            rc, out = _promtool(body)
            assert rc == 0 and not out, "promtool check metrics on the %s: exit %d, " \
                                        "output:\n%s" % (what, rc, out[:2000])
        figures.append("%s %d KB %d series" % (what, len(body) // 1024, len(exp.series)))
    exp = parse_checked(bodies[-4][3], False)
    om_exp = parse_checked(bodies[-3][3], True)
    for e in (exp, om_exp):
        got = {
            "connects": e.total("latscope_tcp_connect_duration_seconds_count", comm="tcp",
                                raddr="127.0.0.1", rport=str(port)),
            "accepted": e.total("latscope_tcp_connect_duration_seconds_count",
                                comm="latscope", lport=str(port)) >= n_conn,
            "refused": e.total("latscope_tcp_connect_errors_total", comm="tcp",
                               raddr="127.0.0.1", rport=str(rport)),
            "resets_received": e.total("latscope_tcp_resets_total", comm="tcp",
                                       rport=str(rport), direction="received"),
            # whole host: another run's "syscalls" workload may add to these
            # (the exact counts are test_syscall_counts_..., under -p)
            "openat_enoent": e.total("latscope_syscall_errors_total", comm="syscalls",
                                     syscall="openat", errno="ENOENT") >= 7,
            "nanosleep": e.total("latscope_syscall_duration_seconds_count", comm="syscalls",
                                 syscall="nanosleep", idle="true") >= 20,
            "pingpong_switches": e.total("latscope_context_switches_total",
                                         comm="pingpong") >= n_pingpong,
            "pingpong_runq": e.total("latscope_runqueue_latency_seconds_count",
                                     comm="pingpong") > 0,
        }
        want = {"connects": n_conn, "accepted": True, "refused": n_refused,
                "resets_received": n_refused, "openat_enoent": True, "nanosleep": True,
                "pingpong_switches": True, "pingpong_runq": True}
        assert got == want, "%s scrape after the workloads: %s, want %s" % (e.fmt, got, want)
    return "; ".join(figures[-4:])


# --- 2. ground truth ------------------------------------------------------------------

def test_syscall_counts_and_enoent_errors_equal_the_workload_exactly():
    """`serve -p PID` over the syscalls workload (N nanosleeps, M openat
    failing with ENOENT, K getppid): in both formats the nanosleep _count is
    N, latscope_syscall_errors_total{syscall="openat",errno="ENOENT"} is M
    (summed over the cgroup labels), getppid's _count is K, nanosleep is
    labelled idle="true" and openat idle="false", and the nanosleep _sum is
    the workload's measured total (-5%/+1%: the kernel span is inside the
    workload's clock reads)."""
    n, sleep_us, m, k = 20, 1000, 37, 250
    port = _port(1)
    with lib.Workload("syscalls", n, sleep_us, m, k) as w:
        with Serve(port, "-i", 0.5, "-p", w.pid) as a:
            time.sleep(0.3)
            w.go()
            res = w.result(30)

            def counts(om):
                e = parse_checked(scrape(port, om), om)
                return e, {
                    "nanosleep": e.total("latscope_syscall_duration_seconds_count",
                                         comm="syscalls", syscall="nanosleep"),
                    "nanosleep_idle": e.total("latscope_syscall_duration_seconds_count",
                                              comm="syscalls", syscall="nanosleep", idle="true"),
                    "openat_enoent": e.total("latscope_syscall_errors_total", comm="syscalls",
                                             syscall="openat", errno="ENOENT"),
                    "openat_errors": e.total("latscope_syscall_errors_total", comm="syscalls",
                                             syscall="openat"),
                    "openat_not_idle": e.total("latscope_syscall_errors_total",
                                               comm="syscalls", syscall="openat",
                                               errno="ENOENT", idle="false"),
                    "getppid": e.total("latscope_syscall_duration_seconds_count",
                                       comm="syscalls", syscall="getppid"),
                }
            last = {}

            def done():
                last["c"] = counts(False)[1]
                return last["c"]["nanosleep"] >= n and last["c"]["getppid"] >= k
            wait_until(done, 15, lambda: "counts %s, want nanosleep %d getppid %d" % (
                last.get("c"), n, k))
            time.sleep(1.2)  # two more intervals: nothing more may come
            want = {"nanosleep": n, "nanosleep_idle": n, "openat_enoent": m,
                    "openat_errors": m, "openat_not_idle": m, "getppid": k}
            for om in (False, True):
                e, got = counts(om)
                assert got == want, "%s scrape: %s, want %s (exact)" % (e.fmt, got, want)
                s = e.total("latscope_syscall_duration_seconds_sum", comm="syscalls",
                            syscall="nanosleep")
                truth = res["nanosleep_total_us"] / 1e6
                assert 0.95 * truth <= s <= 1.01 * truth, \
                    "%s: nanosleep _sum %.6fs, workload measured %.6fs (-5%%/+1%%)" % (
                        e.fmt, s, truth)
            a.stop_ok(signal.SIGINT)
    return "nanosleep %d, openat ENOENT %d, getppid %d; _sum %.4fs vs %.4fs measured" % (
        got["nanosleep"], got["openat_enoent"], got["getppid"], s, truth)


# --- 3. a real Prometheus ----------------------------------------------------------

class Prometheus:
    """/usr/bin/prometheus with a temporary config (one job "latscope", 1 s
    scrape interval) and data directory, on loopback; on enter it waits for
    /-/ready. Everything is removed on exit."""

    def __init__(self, port, target):
        self.port, self.target = port, target
        self.proc = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="latscope-prom-")
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: latscope\n"
                    "    static_configs:\n      - targets: ['%s']\n" % self.target)
        self.logpath = os.path.join(self.dir, "prometheus.log")
        self.log = open(self.logpath, "wb")
        try:
            self.proc = subprocess.Popen(
                ["/usr/bin/prometheus", "--config.file=" + cfg,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

            def ready():
                if self.proc.poll() is not None:
                    raise AssertionError("prometheus exited with %d:\n%s" % (
                        self.proc.returncode, self.log_tail()))
                try:
                    return http_get(self.port, "/-/ready", timeout=5)[0] == 200
                except OSError:
                    return False
            wait_until(ready, 90, lambda: "prometheus not ready:\n" + self.log_tail(), 0.5)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def log_tail(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def api(self, path, **params):
        status, _, body = http_get(self.port, "/api/v1/%s?%s" % (
            path, urllib.parse.urlencode(params)), timeout=30)
        obj = json.loads(body)
        assert status == 200 and obj.get("status") == "success", \
            "prometheus /api/v1/%s %s: %d %r" % (path, params, status, body[:500])
        return obj["data"]

    def query(self, q):
        """The instant vector of q now: [(labels, float value)]."""
        data = self.api("query", query=q)
        assert data["resultType"] == "vector", "%s: result type %s" % (q, data["resultType"])
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def scalar(self, q):
        """The value of a query that yields one sample (None when it yields none)."""
        v = self.query(q)
        assert len(v) <= 1, "%s: %d samples, want one: %s" % (q, len(v), v[:5])
        return v[0][1] if v else None

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def _bucket_of(x_s):
    """(prev_le, le] of the default bucket set that holds x seconds."""
    prev = 0.0
    for le in DEFAULT_LE_S + [math.inf]:
        if x_s <= le:
            return prev, le
        prev = le
    raise AssertionError("no bucket for %r" % x_s)


def test_real_prometheus_scrapes_openmetrics_and_answers_exact_counts_and_p99_bucket():
    """A real Prometheus 2.42 scrapes `serve -p W,M` every second; its query
    API then returns up{job="latscope"} == 1, the target healthy with no
    scrape error, metadata showing it negotiated OpenMetrics (the build-info
    family is typed "info", which only OpenMetrics has), exactly M ENOENT
    failures and exactly N + 1 nanosleeps, and

      histogram_quantile(0.99, sum by (le) (rate(
          latscope_syscall_duration_seconds_bucket{comm="syscalls",syscall="nanosleep"}[W])))

    lands in the same bucket as the main workload's own nearest-rank p99: the
    bound is prev_le < result <= le, where (prev_le, le] is the default le
    bucket that contains the measured p99.

    W (the warm-up workload, one nanosleep) makes the nanosleep series exist
    in Prometheus before the main workload runs, so rate() sees the main
    workload's increase (a series born with its whole count has no increase
    to show); the window covers both. SLEEP_US is 2300 so that the sleeps
    (2.3 ms and up) sit well inside the (2.097152, 3.145728] ms bucket rather
    than on a bound; N is 250 so that 0.99 * N is not a whole rank.
    """
    prom_bin = "/usr/bin/prometheus"
    assert os.path.exists(prom_bin), "%s missing (scripts/deps.sh installs prometheus)" % prom_bin
    n, sleep_us, m = 250, 2300, 41
    port, pport = _port(2), _port(3)
    sel = 'comm="syscalls",syscall="nanosleep"'
    with lib.Workload("syscalls", 1, sleep_us, 0, 0) as warm, \
            lib.Workload("syscalls", n, sleep_us, m, 0) as w, \
            Serve(port, "-i", 1, "-p", "%d,%d" % (warm.pid, w.pid)) as a, \
            Prometheus(pport, "127.0.0.1:%d" % port) as prom:
        wait_until(lambda: prom.scalar('up{job="latscope"}') == 1, 60,
                   lambda: "up{job=\"latscope\"} is %r; targets: %s; log:\n%s" % (
                       prom.scalar('up{job="latscope"}'),
                       json.dumps(prom.api("targets"))[:1500], prom.log_tail()))
        t_start = time.monotonic()
        warm.go()
        warm.result(30)
        count_q = "sum(latscope_syscall_duration_seconds_count{%s})" % sel
        wait_until(lambda: prom.scalar(count_q) == 1, 30,
                   lambda: "%s is %r after the warm-up's one nanosleep" % (
                       count_q, prom.scalar(count_q)))
        time.sleep(2)  # two more samples of the series before the main workload
        w.go()
        res = w.result(60)
        wait_until(lambda: (prom.scalar(count_q) or 0) >= n + 1, 30,
                   lambda: "%s is %r, want %d" % (count_q, prom.scalar(count_q), n + 1))
        time.sleep(2.5)  # an agent interval and a scrape after that: nothing more may come
        up = prom.scalar('up{job="latscope"}')
        count = prom.scalar(count_q)
        err_q = 'sum(latscope_syscall_errors_total{comm="syscalls",errno="ENOENT"})'
        errors = prom.scalar(err_q)
        window = int(time.monotonic() - t_start) + 10
        p99_q = "histogram_quantile(0.99, sum by (le) (rate(" \
                "latscope_syscall_duration_seconds_bucket{%s}[%ds])))" % (sel, window)
        p99 = prom.scalar(p99_q)
        samples = prom.scalar('scrape_samples_scraped{job="latscope"}')
        targets = [t for t in prom.api("targets")["activeTargets"]
                   if t["labels"].get("job") == "latscope"]
        meta = prom.api("targets/metadata", match_target='{job="latscope"}',
                        metric="latscope_build")
        a.alive("while Prometheus scraped it")
        a.stop_ok(signal.SIGTERM)
    assert up == 1, 'up{job="latscope"} = %r, want 1' % up
    assert len(targets) == 1 and targets[0]["health"] == "up" and not targets[0]["lastError"], \
        "latscope target: %s" % targets
    assert samples and samples > 0, "scrape_samples_scraped = %r" % samples
    assert [x.get("type") for x in meta] == ["info"], \
        "Prometheus has no info-typed latscope_build family (it did not negotiate " \
        "OpenMetrics, or the agent did not serve it): metadata %s" % meta
    assert errors == m, "%s = %r, want %d (exact)" % (err_q, errors, m)
    assert count == n + 1, "%s = %r, want %d (exact: %d + the warm-up's 1)" % (
        count_q, count, n + 1, n)
    truth_s = res["nanosleep_p99_us"] / 1e6
    lo, hi = _bucket_of(truth_s)
    assert p99 is not None and lo < p99 <= hi, \
        "%s = %r s, not in the bucket (%g, %g] s of the workload's measured p99 %.6f s " \
        "(median %.1f us, max %.1f us)" % (p99_q, p99, lo, hi, truth_s,
                                           res["nanosleep_median_us"], res["nanosleep_max_us"])
    return "up 1, ENOENT %d, nanosleep %d, p99 %.6fs in (%g, %g] with measured %.6fs" % (
        errors, count, p99, lo, hi, truth_s)


# --- 4. counters never decrease ------------------------------------------------------

def _monotonic_series(exp):
    """{series key: value} of the counter, bucket, _sum and _count samples."""
    out = {}
    for f in exp.families.values():
        if f.type not in ("counter", "histogram"):
            continue
        for name, suffix, labels, value in f.samples:
            if suffix == "_created":
                continue
            out[(name, frozenset((k, v) for k, v in labels if v != ""))] = value
    return out


def test_counters_never_decrease_across_20_scrapes_under_process_churn():
    """20 scrapes 0.25 s apart (text and OpenMetrics, plain and gzip in
    turn) of `serve -i 0.2 --series-ttl 30m` while short-lived processes with
    new comms start and exit (tests/workloads/churn.c): every counter, bucket,
    _sum and _count series present in one scrape is present in the next (no
    series is dropped before its TTL) with a value >= the earlier one;
    latscope_series never goes down. The test also asserts that the scrapes
    saw new series and increases, so that it cannot pass on a frozen page."""
    port = _port(4)
    names = ["lsmono-a", "lsmono-b", "lsmono-c", "lsmono-d", "lsmono-e", "lsmono-f"]
    stop = threading.Event()
    result = {}

    def churn():
        try:
            result["runs"] = run_churn(names, 300, 3, stop)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            result["error"] = e

    bodies = []
    with Serve(port, "-i", 0.2, "--series-ttl", "30m") as a:
        t = threading.Thread(target=churn, daemon=True)
        t.start()
        try:
            for i in range(20):
                om, gz = bool(i % 2), bool(i % 4 >= 2)
                bodies.append((om, gz, scrape(port, om, gz)))
                time.sleep(0.25)
        finally:
            stop.set()
            t.join(120)
        a.alive("during the scrapes")
        a.stop_ok(signal.SIGINT)
    assert "error" not in result, "churn workload failed: %r" % result.get("error")
    runs = result.get("runs") or []
    assert runs and all(r["failed"] == 0 for r in runs), "churn runs: %s" % runs
    prev = prev_series = None
    compared = increased = 0
    first_keys = None
    for i, (om, gz, body) in enumerate(bodies):
        what = "scrape %d (%s%s)" % (i + 1, "OpenMetrics" if om else "text", ", gzip" if gz else "")
        try:
            exp = parse_checked(body, om)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e))
        cur = _monotonic_series(exp)
        nseries = exp.total("latscope_series")
        if prev is not None:
            gone = [k for k in prev if k not in cur]
            assert not gone, "%s: %d series of the previous scrape are gone (TTL 30m), " \
                             "e.g. %s" % (what, len(gone), [(k[0], dict(k[1])) for k in gone[:3]])
            down = [(k[0], dict(k[1]), prev[k], cur[k]) for k in prev if cur[k] < prev[k]]
            assert not down, "%s: %d series went down, e.g. %s" % (what, len(down), down[:5])
            compared += len(prev)
            increased += sum(1 for k in prev if cur[k] > prev[k])
            assert nseries >= prev_series, "%s: latscope_series %r < %r before" % (
                what, nseries, prev_series)
        else:
            first_keys = set(cur)
        prev, prev_series = cur, nseries
    new = [k for k in prev if k not in first_keys]
    churn_comms = {dict(k[1]).get("comm") for k in prev} & set(names)
    assert increased > 0 and new and churn_comms, \
        "the scrapes saw no change (increases %d, new series %d, churn comms %s): the page " \
        "did not move" % (increased, len(new), sorted(churn_comms))
    return "%d series compared over %d scrapes, %d increases, %d new series, %d churn runs" % (
        compared, len(bodies), increased, len(new), len(runs))


# --- 5. bad traffic -----------------------------------------------------------------

def _raise_nofile(want):
    """Raise this process's RLIMIT_NOFILE to at least want; returns the old limits."""
    old = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = old
    if soft >= want:
        return old
    if hard != resource.RLIM_INFINITY and hard < want:
        hard = want  # root may raise the hard limit
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return old


def _open_by_peer(s):
    """True while the server has not closed (or reset) connection s."""
    s.setblocking(False)  # a socket with a timeout would wait for data first
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_bad_traffic_gets_proper_status_codes_and_1000_idle_connections_do_not_stall_a_scrape():
    """Malformed request line and a 100 KB header: a 4xx status (400, 413
    or 431) or a closed connection; POST, PUT and DELETE on /metrics: 405
    with an Allow header listing GET and HEAD; /../../etc/passwd,
    /metrics/../x and /metricsx: 404 (sent raw: clients normalise paths);
    HEAD /metrics and HEAD /: 200 without a body; GET /: 200 text/html with a
    link to /metrics. Then, with 1000 idle connections open (all still held
    by the agent) and 20 clients that asked for /metrics and read nothing, a
    scrape completes within 2 s. The agent is alive after all of it, its RSS
    stays under 64 MiB, and it exits 0 on SIGTERM."""
    port = _port(5)
    old_limit = _raise_nofile(IDLE_CONNECTIONS + 1024)
    idle, slow = [], []
    try:
        with Serve(port) as a:
            scrape(port)  # a first page rendered: the RSS below includes one
            for data, what in ((b"GARBAGE\r\n\r\n", "malformed request line"),
                               (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 +
                                b"\r\nConnection: close\r\n\r\n", "a 100 KB header"),
                               (b"GET\r\n\r\n", "a request line without a path"),
                               (b"\x00\xff\xfe garbage \x01\r\n\r\n", "binary garbage")):
                status, hdrs, body, note = raw_request(port, data)
                assert status is None or status in (400, 413, 431), \
                    "%s: status %r (want 400/413/431 or a closed connection): %r" % (
                        what, status, body[:200])
                a.alive("after %s" % what)
            for method in ("POST", "PUT", "DELETE"):
                status, hdrs, body = http_get(port, method=method, body=b"x=1",
                                              headers={"Content-Type": "text/plain"})
                allow = {x.strip() for x in hdrs.get("allow", "").split(",")}
                assert status == 405 and {"GET", "HEAD"} <= allow, \
                    "%s /metrics: status %d, Allow %r (want 405 with GET, HEAD)" % (
                        method, status, hdrs.get("allow"))
            for path in ("/../../etc/passwd", "/metrics/../x", "/metricsx", "/metrics/"):
                status, hdrs, body, note = raw_request(
                    port, b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" %
                    path.encode())
                assert status == 404 and b"root:" not in body, \
                    "GET %s: status %r, body %r (want 404)" % (path, status, body[:200])
            for path, ctype in (("/metrics", CT_TEXT), ("/", "text/html")):
                status, hdrs, body, note = raw_request(
                    port, b"HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" %
                    path.encode())
                assert status == 200 and hdrs.get("content-type", "").startswith(ctype) and \
                    body == b"", "HEAD %s: status %r, Content-Type %r, %d body bytes (want 200, " \
                                 "%s, none)" % (path, status, hdrs.get("content-type"), len(body),
                                                ctype)
            status, hdrs, body = http_get(port, "/")
            assert status == 200 and hdrs.get("content-type", "").startswith("text/html") and \
                b'href="/metrics"' in body, "GET /: status %d, Content-Type %r, body %r" % (
                    status, hdrs.get("content-type"), body[:300])
            a.alive("after the bad requests")

            t_open = time.monotonic()
            for i in range(IDLE_CONNECTIONS):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                idle.append(s)
            for i in range(20):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                slow.append(s)
            t0 = time.monotonic()
            status, hdrs, body = http_get(port, timeout=IDLE_SCRAPE_LIMIT_S + 5)
            took = time.monotonic() - t0
            held = sum(1 for s in idle if _open_by_peer(s))
            since_open = time.monotonic() - t_open
            agent_fds = len(os.listdir("/proc/%d/fd" % a.pid))
            assert status == 200 and body, "scrape with %d idle connections: status %d" % (
                IDLE_CONNECTIONS, status)
            parse_exposition(body, False)
            assert took <= IDLE_SCRAPE_LIMIT_S, \
                "scrape with %d idle connections open took %.2fs (limit %.1fs)" % (
                    IDLE_CONNECTIONS, took, IDLE_SCRAPE_LIMIT_S)
            # the agent's idle timeout is 10 s: before that it must hold them all
            if since_open < 9:
                assert held == IDLE_CONNECTIONS and agent_fds >= IDLE_CONNECTIONS, \
                    "%.1fs after opening %d idle connections the agent holds %d of them " \
                    "(%d fds)" % (since_open, IDLE_CONNECTIONS, held, agent_fds)
            rss = a.rss_kb()
            a.alive("with %d idle connections open" % IDLE_CONNECTIONS)
            for s in idle + slow:
                s.close()
            idle, slow = [], []
            time.sleep(1)
            status, _, _ = http_get(port)
            assert status == 200, "scrape after the idle connections closed: %d" % status
            rss = max(rss, a.rss_kb())
            assert rss < RSS_LIMIT_KB, "agent RSS %d KiB, limit %d KiB" % (rss, RSS_LIMIT_KB)
            a.stop_ok(signal.SIGTERM)
    finally:
        for s in idle + slow:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, old_limit)
    return "scrape in %.2fs with %d idle connections held (%d agent fds); RSS %d KiB" % (
        took, held, agent_fds, rss)


# --- 6. command line and signals -------------------------------------------------------

def _one_line(out, what):
    lines = out.stderr_lines()
    assert len(lines) == 1, "%s: want exactly one line on stderr, got %d; %s" % (
        what, len(lines), out.describe())
    return lines[0]


def test_bad_listen_and_port_in_use_exit_2_with_one_line_sighup_ignored_sigterm_exits_0():
    """--listen 127.0.0.1:99999, nonsense, localhost:9580 (a name, not an
    address) and 127.0.0.1:0: exit 2 with one stderr line naming --listen and
    the value; a port the test holds listening: exit 2 with one line naming
    the address. A running agent survives SIGHUP (still serving afterwards),
    serves on [::1] when asked, and exits 0 on SIGTERM."""
    failures = []
    for value in ("127.0.0.1:99999", "nonsense", "localhost:9580", "127.0.0.1:0",
                  "127.0.0.1", "[::1]9580"):
        what = "serve --listen %s" % value
        out = lib.run_agent("serve", "--listen", value, timeout=15)
        lines = out.stderr_lines()
        if out.rc != 2:
            failures.append("%s: exit status %r, want 2; %s" % (what, out.rc, out.describe()))
        elif len(lines) != 1:
            failures.append("%s: %d stderr lines, want 1: %r" % (what, len(lines), out.stderr))
        elif "--listen" not in lines[0] or value not in lines[0]:
            failures.append("%s: the line does not name --listen and %r: %r" % (
                what, value, lines[0]))
    assert not failures, "\n".join(failures)

    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", 0))
        held.listen(8)
        addr = "127.0.0.1:%d" % held.getsockname()[1]
        out = lib.run_agent("serve", "--listen", addr, timeout=15)
        line = _one_line(out, "serve --listen %s (port in use)" % addr)
        assert out.rc == 2 and addr in line, \
            "port in use: exit status %r (want 2), line %r (want it to name %s)" % (
                out.rc, line, addr)
    finally:
        held.close()

    port = _port(6)
    with Serve(port) as a:
        a.proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        a.alive("after SIGHUP")
        parse_exposition(scrape(port), False)
        a.stop_ok(signal.SIGTERM)
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        v6.bind(("::1", 0))
        have_v6 = True
    except OSError:
        have_v6 = False
    finally:
        v6.close()
    if have_v6:
        port6 = _port(7)
        with Serve(port6, host="::1") as a:
            parse_exposition(scrape(port6, host="::1"), False)
            a.stop_ok(signal.SIGINT)
    return "bad --listen values and a busy port exit 2; SIGHUP ignored; IPv6 %s" % (
        "served on [::1]" if have_v6 else "not available here")


# --- 7. the series cap ------------------------------------------------------------------

def test_max_series_folds_new_label_sets_into_other_without_losing_counts():
    """`serve --max-series 5`, whole host, while churn workloads run under
    three new comms: in each family at most 5 label sets (without le and the
    family's fixed labels errno/kind/direction) are not folded; the rest are
    comm="other" with every open-ended label (cgroup, raddr) "other" too;
    latscope_dropped_total{what="series"} > 0; and nothing is lost: the
    getppid calls counted under the churn comms plus comm="other" are at least
    the workloads' own count."""
    port = _port(8)
    names = ["lscap-a", "lscap-b", "lscap-c"]
    nproc, calls = 200, 3
    with Serve(port, "-i", 0.5, "--max-series", 5) as a:
        time.sleep(1.2)  # the host's own activity fills the cap first
        runs = run_churn(names, nproc, calls)
        refused, rport = refused_port()
        try:
            with lib.Workload("tcp", "connect", "127.0.0.1", rport, 3, 0) as w:
                w.go()
                w.result(30)
        finally:
            refused.close()
        time.sleep(1.5)
        exps = [parse_checked(scrape(port, om), om) for om in (False, True)]
        a.alive("with the cap reached")
        a.stop_ok(signal.SIGINT)
    assert all(r["failed"] == 0 and r["getppid"] == nproc * calls for r in runs), runs
    want_calls = sum(r["getppid"] for r in runs)
    fixed = {"le", "errno", "kind", "direction"}
    report = []
    for exp in exps:
        problems = []
        for fam in SYSCALL_FAMILIES + SCHED_FAMILIES + TCP_FAMILIES:
            f = exp.family(fam)
            sets = {tuple(sorted((k, v) for k, v in labels if k not in fixed))
                    for _, _, labels, _ in f.samples}
            kept = [dict(s) for s in sets if dict(s).get("comm") != "other"]
            folded = [dict(s) for s in sets if dict(s).get("comm") == "other"]
            if len(kept) > 5:
                problems.append("%s: %d label sets not folded (cap 5): %s" % (
                    fam, len(kept), kept[:8]))
            for d in folded:
                open_ended = {k: v for k, v in d.items() if k in ("cgroup", "raddr")}
                if any(v != "other" for v in open_ended.values()):
                    problems.append("%s: folded label set keeps an open-ended label: %s" % (
                        fam, d))
            if fam == "latscope_syscall_duration_seconds" and not folded:
                problems.append("%s: no comm=\"other\" label set with the cap at 5" % fam)
        folds = exp.total("latscope_dropped_total", what="series")
        if not folds > 0:
            problems.append('latscope_dropped_total{what="series"} is %r, want > 0' % folds)
        counted = sum(exp.total("latscope_syscall_duration_seconds_count", comm=c,
                                syscall="getppid") for c in names + ["other"])
        if counted < want_calls:
            problems.append("getppid under the churn comms and \"other\": %d, the workloads "
                            "made %d: folded counts were lost" % (counted, want_calls))
        assert not problems, "%s scrape:\n  %s" % (exp.fmt, "\n  ".join(problems))
        report.append("%s: %d folds, getppid %d >= %d" % (exp.fmt, folds, counted, want_calls))
    return "; ".join(report)


# --- 8. serve's own options -------------------------------------------------------------

def _bin_ceil_ns(ns):
    """The smallest internal histogram bin bound >= ns (bpf/hist.h: 8
    sub-buckets per power of two), which --buckets rounds each bound up to."""
    if ns < 8:
        return ns
    step = 1 << (ns.bit_length() - 1 - 3)
    return -(-ns // step) * step


def test_serve_options_take_contract_durations_and_reject_bad_values():
    """--series-ttl takes the DESIGN.md section 4 duration suffixes (10m,
    90s, 1h, 1d get the agent as far as binding its port); bad values of
    --series-ttl, --max-series, --max-connections and --buckets exit 2 with
    one line naming the option and the value."""
    failures = []
    # a port the test holds: an accepted option gets the agent as far as
    # binding it, which fails naming the address, not the option
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        addr = "127.0.0.1:%d" % held.getsockname()[1]
        for args in (("--series-ttl", "1h"), ("--series-ttl", "1d"), ("--series-ttl", "90s"),
                     ("--series-ttl", "10m")):
            out = lib.run_agent("serve", "--listen", addr, *args, timeout=15)
            lines = out.stderr_lines()
            if not (out.rc == 2 and len(lines) == 1 and addr in lines[0]):
                failures.append("serve %s: not accepted (exit %r): %s" % (
                    " ".join(args), out.rc, out.stderr.strip()))
    finally:
        held.close()
    for opt, value in (("--series-ttl", "0"), ("--series-ttl", "abc"), ("--series-ttl", "-5m"),
                       ("--max-series", "0"), ("--max-series", "x"),
                       ("--max-connections", "0"), ("--max-connections", "abc"),
                       ("--buckets", "2ms,1ms"), ("--buckets", "abc"), ("--buckets", "")):
        what = "serve %s %r" % (opt, value)
        out = lib.run_agent("serve", opt, value, timeout=15)
        lines = out.stderr_lines()
        if out.rc != 2 or len(lines) != 1 or opt not in lines[0]:
            failures.append("%s: exit %r, stderr %r (want 2 and one line naming %s)" % (
                what, out.rc, out.stderr.strip(), opt))
        elif value and value not in lines[0]:
            failures.append("%s: the line does not name the value: %r" % (what, lines[0]))
    assert not failures, "\n".join(failures)


def test_custom_buckets_are_raised_to_bin_bounds_in_every_histogram():
    """`serve --buckets 1ms,10ms,1s`: every histogram's le set is those
    bounds raised to internal bin bounds (1.048576 ms, 10.48576 ms,
    1.00663296 s), then +Inf, in both formats, with the parser's invariants
    intact."""
    port = _port(9)
    with Serve(port, "-i", 0.5, "--buckets", "1ms,10ms,1s") as a:
        time.sleep(0.6)
        exps = [parse_exposition(scrape(port, om), om) for om in (False, True)]
        a.stop_ok(signal.SIGINT)
    want = [_bin_ceil_ns(x) / 1e9 for x in (1000000, 10000000, 1000000000)] + [math.inf]
    for exp in exps:
        seen = 0
        for f in exp.families.values():
            if f.type != "histogram":
                continue
            les = {}
            for name, suffix, labels, value in f.samples:
                if suffix == "_bucket":
                    d = dict(labels)
                    les.setdefault(tuple(sorted(d.items() - {("le", d["le"])})),
                                   []).append(_le_value(d["le"]))
            for lset, got in les.items():
                seen += 1
                assert len(got) == len(want) and all(
                    g == w or abs(g - w) <= 1e-9 * w for g, w in zip(got, want)), \
                    "%s: --buckets 1ms,10ms,1s: %s%s has le %s, want %s" % (
                        exp.fmt, f.name, dict(lset), got, want)
        assert seen, "%s: no histogram series at all" % exp.fmt
    return "le %s" % want


def test_series_ttl_drops_idle_series_and_a_returning_one_starts_from_zero():
    """`serve --series-ttl 2s -i 0.5`: the series of short-lived processes
    under a new comm are dropped from the page no sooner than 1.8 s after the
    last one exited (the TTL, less the time the test takes to see the
    workload's end) and within 5 s (the TTL + 6 intervals); when the comm
    comes back its getppid _count starts from zero: it equals the second
    run's calls exactly, not the sum of both runs."""
    port = _port(10)
    name, nproc, calls = "lsttl-x", 50, 3
    mark = ('comm="%s"' % name).encode()

    def count():
        """(getppid _count under the comm, how many label sets it has): a
        plain search of the text page, fast enough to poll at 50 ms."""
        total, sets = 0, 0
        for line in scrape(port).split(b"\n"):
            if line.startswith(b"latscope_syscall_duration_seconds_count{") and mark in line:
                sets += 1
                if b'syscall="getppid"' in line:
                    total += float(line.rsplit(b" ", 1)[1])
        return total, sets

    with Serve(port, "-i", 0.5, "--series-ttl", "2s") as a:
        run_churn([name], nproc, calls)
        t_end = time.monotonic()
        first = wait_until(lambda: (lambda c: c[0] == nproc * calls and c)(count()), 10,
                           lambda: "getppid under %s: %r, want %d" % (name, count(),
                                                                       nproc * calls),
                           step=0.05)
        gone_after = wait_until(lambda: count()[1] == 0 and time.monotonic() - t_end, 15,
                                lambda: "%s series still there: %r" % (name, count()),
                                step=0.05)
        assert 1.8 <= gone_after <= 5.0, \
            "%s series gone %.2fs after its last process exited; want after the 2 s TTL " \
            "and within 5 s (TTL + 6 intervals)" % (name, gone_after)
        parse_checked(scrape(port), False)
        run_churn([name], nproc, calls)
        # taken as soon as it is back (it expires again 2 s later)
        again = wait_until(lambda: (lambda c: c[0] >= nproc * calls and c)(count()), 10,
                           lambda: "getppid under %s after it came back: %r" % (name, count()),
                           step=0.05)
        a.stop_ok(signal.SIGINT)
    assert again[0] == nproc * calls, \
        "getppid under %s after the series expired and came back: %r, want %d (from zero, " \
        "not on top of the first run's %d)" % (name, again[0], nproc * calls, first[0])
    return "first run %d, expired %.2fs after it, second run counted %d from zero" % (
        first[0], gone_after, again[0])


def test_slow_readers_across_intervals_do_not_grow_rss_past_64_mib():
    """DESIGN.md section 8: serve survives slow clients, and its memory stays
    bounded. With a page of ~10 MB (80 short-lived comms of our own on top
    of the host's, --max-series high enough to keep them all), 30 clients
    each ask for /metrics in a different interval (-i 0.5, one every 0.55 s)
    and read nothing: the agent's RSS stays under 64 MiB throughout and after
    they go, a scrape meanwhile completes within 2 s, and the agent is alive
    and exits 0 on SIGTERM. (A page pinned for every slow response, or one
    copy per request, makes RSS grow by a page per client.)"""
    port = _port(11)
    clients, gap_s = 30, 0.55
    slow = []
    try:
        with Serve(port, "-i", 0.5, "--max-series", 100000) as a:
            # ~25 series per run (the parent's and the child's syscalls),
            # ~50 lines each: a page of ~10 MB whatever else the host does
            run_churn(["lsslow-%02d" % i for i in range(80)], 1, 1)
            time.sleep(1.2)
            page = len(scrape(port))
            rss0 = peak = a.rss_kb()
            for i in range(clients):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                slow.append(s)
                time.sleep(gap_s)
                peak = max(peak, a.rss_kb())
            t0 = time.monotonic()
            status, _, body = http_get(port, timeout=IDLE_SCRAPE_LIMIT_S + 5)
            took = time.monotonic() - t0
            a.alive("with %d slow readers" % clients)
            peak = max(peak, a.rss_kb())
            for s in slow:
                s.close()
            slow = []
            time.sleep(1.5)
            after = a.rss_kb()
            a.stop_ok(signal.SIGTERM)
    finally:
        for s in slow:
            s.close()
    assert status == 200 and body, "scrape with %d slow readers: status %d" % (clients, status)
    assert took <= IDLE_SCRAPE_LIMIT_S, "scrape with %d slow readers took %.2fs (limit %.1fs)" % (
        clients, took, IDLE_SCRAPE_LIMIT_S)
    assert peak < RSS_LIMIT_KB and after < RSS_LIMIT_KB, \
        "agent RSS %d KiB before, peak %d KiB with %d clients reading nothing of a %d KB " \
        "page (one asking per interval), %d KiB after they closed; limit %d KiB" % (
            rss0, peak, clients, page // 1024, after, RSS_LIMIT_KB)
    return "page %d KB; RSS %d KiB before, peak %d KiB, %d KiB after; scrape %.2fs" % (
        page // 1024, rss0, peak, after, took)


class PyWorkload(lib.Workload):
    """A Python script run as a workload (the same protocol: "pid N", a line
    to go, one JSON line, a line to exit)."""

    def __init__(self, script, *args):
        self.path = sys.executable
        self.cmd = [sys.executable, "-c", script] + [str(a) for a in args]
        self.proc = None


# renames itself to the bytes given in hex, then makes 100 getppid calls on "go"
_RENAMED_CHILD = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(15, ctypes.c_char_p(bytes.fromhex(sys.argv[1])), 0, 0, 0):
    sys.exit("prctl(PR_SET_NAME) failed: errno %d" % ctypes.get_errno())
print("pid %d" % os.getpid(), flush=True)
sys.stdin.readline()
for _ in range(100):
    os.getppid()
print("{}", flush=True)
sys.stdin.readline()
"""


def test_comm_with_quote_backslash_newline_and_invalid_utf8_is_escaped_in_both_formats():
    """A process renames itself (prctl PR_SET_NAME) to the bytes
    l s " q \\ b LF 0xff 0x01 z and makes 100 getppid calls under `serve -p PID`.
    Both formats stay valid (strict parser), and the comm label, unescaped,
    is the name with the quote, backslash and newline as they are and the
    invalid UTF-8 byte and the control byte as the four characters \\xNN
    (user/prom.h prom_escape), carrying exactly the 100 calls."""
    name = b'ls"q\\b\n\xff\x01z'
    want = 'ls"q\\b\n\\xff\\x01z'
    port = _port(12)
    with PyWorkload(_RENAMED_CHILD, name.hex()) as w:
        with Serve(port, "-i", 0.5, "-p", w.pid) as a:
            time.sleep(0.3)
            w.go()
            w.result(30)
            last = {}

            def seen():
                last["e"] = [parse_exposition(scrape(port, om), om) for om in (False, True)]
                return all(e.total("latscope_syscall_duration_seconds_count",
                                   syscall="getppid") >= 100 for e in last["e"])
            wait_until(seen, 15, lambda: "getppid counts %s" % [
                e.select("latscope_syscall_duration_seconds_count", syscall="getppid")
                for e in last.get("e", [])])
            a.stop_ok(signal.SIGINT)
    for e in last["e"]:
        rows = e.select("latscope_syscall_duration_seconds_count", syscall="getppid")
        comms = {d.get("comm"): v for d, v in rows}
        assert comms == {want: 100}, "%s: getppid _count by comm %r, want {%r: 100}" % (
            e.fmt, comms, want)
    return "comm label %r" % want


def test_scrapes_keep_the_connection_alive():
    """Prometheus reuses its connection between scrapes: a GET answered with
    Connection: close would cost a TCP handshake per scrape."""
    port = _port(40)
    with Serve(port, "--no-sched", "--no-tcp") as a:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            socks = []
            for path in ("/metrics", "/", "/metrics"):
                conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
                r = conn.getresponse()
                r.read()
                assert r.status == 200, "%s: %d" % (path, r.status)
                assert (r.getheader("Connection") or "").lower() != "close", \
                    "%s answered with Connection: close" % path
                socks.append(conn.sock)
            assert socks[0] is not None and all(s is socks[0] for s in socks), \
                "the client had to reconnect between requests"
        finally:
            conn.close()
        a.stop_ok()
    return "3 requests on one connection"
