# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The interactive top in a real terminal: build/latscope inside tmux (a
private server, killed in a finally), driven with send-keys and read with
capture-pane -J (without -J a line wider than the pane is clipped and could
not be seen).

Ground truth: tests/workloads/phases.c processes renamed to comms of their
own (PR_SET_NAME), fed commands in a loop by a thread, so that each interval
has their rows: getppid calls (not idle), epoll_wait on an empty set (idle),
nanosleep (idle, milliseconds: coloured). The agent is started with -p on
them, so the screen holds those rows and nothing else of the host."""
import itertools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time

import lib

WAIT_S = 10
_SERVERS = itertools.count()
ARROW = "\u25bc"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


class Tui:
    """latscope top in a detached tmux session of its own server."""

    def __init__(self, *args, width=120, height=40, env=None):
        self.args = [str(a) for a in args]
        self.width, self.height = width, height
        self.env = {"LANG": "C.UTF-8"}
        self.env.update(env or {})
        # a server of its own per session: a killed one may still be going
        # away when the next test starts
        self.sock = "latscope-tui-%d-%d" % (os.getpid(), next(_SERVERS))
        self.dir = None
        self.last = ""

    def tmux(self, *args, check=True):
        p = subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args),
                           capture_output=True, text=True, timeout=10)
        if check:
            assert p.returncode == 0, "tmux %s: %s" % (" ".join(args), p.stderr)
        return p.stdout

    def __enter__(self):
        if not shutil.which("tmux"):
            raise lib.Skip("tmux is not installed (scripts/deps.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="latscope-tui-")
        self.exit_file = os.path.join(self.dir, "exit")
        env = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in self.env.items())
        # the exit status lands in a file; cat keeps the pane (and its
        # alternate-screen flag) alive after latscope is gone
        script = "unset NO_COLOR; env %s %s; echo EXIT=$? > %s; exec cat" % (
            env, " ".join(shlex.quote(a) for a in lib.latscope_cmd(*self.args)),
            shlex.quote(self.exit_file))
        try:
            self.tmux("new-session", "-d", "-s", "tui", "-x", str(self.width), "-y",
                      str(self.height), "sh", "-c", script)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        self.tmux("kill-server", check=False)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def screen(self, escapes=False):
        self.last = self.tmux("capture-pane", "-p", "-J", "-t", "tui", *(["-e"] if escapes else []))
        return self.last

    def lines(self):
        return self.screen().splitlines()

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "tui", *keys)

    def flag(self, name):
        return self.tmux("display-message", "-p", "-t", "tui", "#{%s}" % name).strip()

    def wait(self, pred, what, timeout=WAIT_S):
        """Poll the screen until pred(text) is true; fail showing the last one."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if pred(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError("%s: not on screen within %ds; last screen:\n%s%s" % (
                    what, timeout, text, self.exited_note()))
            time.sleep(0.2)

    def exited_note(self):
        status = self.exit_status(0)
        return "\n(latscope exited: %s)" % status if status else ""

    def exit_status(self, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.exit_file) as f:
                    text = f.read().strip()
                if text:
                    return text
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def pid(self):
        """The pid of latscope: the child of the pane's shell."""
        shell = int(self.flag("pane_pid"))
        with open("/proc/%d/task/%d/children" % (shell, shell)) as f:
            kids = [int(k) for k in f.read().split()]
        for k in kids:
            with open("/proc/%d/comm" % k) as f:
                if f.read().strip() == "latscope":
                    return k
        raise AssertionError("no latscope child of the pane's shell %d" % shell)


class Feeder:
    """Sends one phases.c command line again and again (every period s)."""

    def __init__(self, w, cmd, period=0.1):
        self.w, self.cmd, self.period = w, cmd, period
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            while not self.stop.is_set():
                lib.phase(self.w, self.cmd)
                self.stop.wait(self.period)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(40)
        return False


def comm_of(tag):
    return ("lt%s%d" % (tag, os.getpid()))[:15]


def row_lines(text, comm):
    """Table lines of the comm (a column of its own)."""
    return [l for l in text.splitlines() if re.search(r"(^|\s)%s(\s|$)" % re.escape(comm), l)]


def column_header(text, first="PID"):
    for line in text.splitlines():
        if line.split()[:1] and line.split()[0].lstrip(ARROW) == first:
            return line
    return None


class Workloads:
    """Two phases.c workloads renamed to their own comms, each fed its loop."""

    def __init__(self, *specs):
        self.specs = specs  # (tag or raw comm, command line)
        self.ws, self.feeders, self.comms = [], [], []

    def __enter__(self):
        try:
            for comm, cmd in self.specs:
                w = lib.Workload("phases").__enter__()
                self.ws.append(w)
                lib.phase(w, "rename " + comm)
                self.comms.append(comm)
                self.feeders.append(Feeder(w, cmd).__enter__())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def pids(self):
        return ",".join(str(w.pid) for w in self.ws)

    def check(self):
        for f in self.feeders:
            assert f.error is None, "workload feeder: %s" % f.error

    def __exit__(self, *exc):
        for f in self.feeders:
            f.__exit__()
        for w in self.ws:
            w.__exit__(None, None, None)
        return False


def test_header_and_workload_row_shown_then_q_exits_0_and_restores_the_terminal():
    busy = comm_of("a")
    host, kernel = os.uname().nodename, os.uname().release
    with Workloads((busy, "getppid 300")) as wl, Tui("top", "-i", 0.5, "-p", wl.pids) as t:
        text = t.wait(lambda s: row_lines(s, busy) and "collectors:" in s,
                      "the header and the %s row" % busy)
        for item in ("host " + host, "kernel " + kernel, "up ", "interval 0.5s", "drops ",
                     "agent cpu ", "map fill ", "syscalls tp_btf"):
            assert item in text, "header lacks %r:\n%s" % (item, text)
        rows = row_lines(text, busy)
        assert any(re.search(r"\bgetppid\b", l) for l in rows), \
            "no getppid row for %s:\n%s" % (busy, text)
        assert t.flag("alternate_on") == "1", "not on the alternate screen while running"
        wl.check()
        t.keys("q")
        status = t.exit_status()
        assert status == "EXIT=0", "after q: %r, want EXIT=0%s" % (status, t.exited_note())
        assert t.flag("alternate_on") == "0", "alternate screen still on after q"
        assert t.flag("cursor_flag") == "1", "cursor left hidden after q"
        after = t.screen()
        assert "collectors:" not in after, "the TUI's screen is still shown after q:\n" + after
    return "header and row shown; q: %s, alternate screen left" % status


def test_sigterm_exits_0_and_restores_the_terminal():
    with Tui("top", "-i", 0.5) as t:
        t.wait(lambda s: "collectors:" in s, "the header")
        os.kill(t.pid(), 15)
        status = t.exit_status()
        assert status == "EXIT=0", "after SIGTERM: %r, want EXIT=0" % status
        assert t.flag("alternate_on") == "0", "alternate screen still on after SIGTERM"


def test_2_shows_the_sched_table_and_1_the_syscalls_again():
    busy = comm_of("a")
    with Workloads((busy, "getppid 300")) as wl, Tui("top", "-i", 0.5, "-p", wl.pids) as t:
        t.wait(lambda s: row_lines(s, busy), "the %s row" % busy)
        t.keys("2")
        text = t.wait(lambda s: (column_header(s) or "").split()[2:3] == ["RUNQ-P50"]
                      and row_lines(s, busy), "the sched table with the %s row" % busy)
        header = column_header(text)
        for col in ("RUNQ-P50", "RUNQ-P99", "RUNQ-TOT", "OFF-CPU"):
            assert col in header, "sched header lacks %s: %r" % (col, header)
        assert "SYSCALL" not in header, header
        assert "sort runq_p99" in text, "sched sorts by runq_p99 by default:\n" + text
        t.keys("1")
        t.wait(lambda s: "SYSCALL" in (column_header(s) or ""), "the syscalls table after 1")
    return "sched header: %s" % " ".join(header.split())


def attrs_at(line, pos):
    """The attributes (bold 1, underline 4, reverse 7) in force at pos of a
    line captured with -e, from every SGR sequence before it."""
    on = set()
    for m in SGR.finditer(line[:pos]):
        for p in (m.group(1) or "0").split(";"):
            if p in ("", "0"):
                on.clear()
            elif p in ("1", "4", "7"):
                on.add(p)
            elif p in ("22", "24", "27"):
                on.discard({"22": "1", "24": "4", "27": "7"}[p])
    return on


def _sorted_header(t):
    """(the column title under the arrow, the attributes it is drawn with)."""
    for line in t.screen(escapes=True).splitlines():
        if ARROW not in line or "PID" not in line:
            continue
        at = line.index(ARROW)
        title = re.match(r"[A-Z0-9%/-]+", line[at + 1:])
        return title.group(0) if title else None, attrs_at(line, at)
    return None, set()


def test_s_moves_the_highlighted_sort_column_and_reorders_rows():
    busy, calm = comm_of("a"), comm_of("b")
    with Workloads((busy, "getppid 400"), (calm, "getppid 3")) as wl, \
            Tui("top", "-i", 0.5, "-p", wl.pids) as t:
        t.wait(lambda s: row_lines(s, busy) and row_lines(s, calm), "both rows")
        title, attrs = _sorted_header(t)
        assert title == "P99", "sorted column at start: %r, want P99" % title
        assert "4" in attrs and "7" not in attrs, \
            "the sorted title is not highlighted (underlined, not reversed): %r" % attrs
        head = next(l for l in t.screen(escapes=True).splitlines() if ARROW in l)
        assert "7" in attrs_at(head, head.index("MAX")), "other titles are not in the bar"
        t.keys("s")
        t.wait(lambda s: "sort max" in s, "sort max after s")
        title, _ = _sorted_header(t)
        assert title == "MAX", "after s the arrow is on %r, want MAX" % title
        t.keys("S", "S")
        t.wait(lambda s: "sort p50" in s, "sort p50 after S S")
        assert _sorted_header(t)[0] == "P50", "after S S the arrow is not on P50"
        # count: the busy process's getppid row above the calm one's
        t.keys("s", "s", "s", "s")
        text = t.wait(lambda s: "sort count" in s and row_lines(s, busy) and row_lines(s, calm),
                      "sort count with both rows")
        assert _sorted_header(t)[0] == "COUNT", "arrow not on COUNT"
        lines = text.splitlines()
        ib = lines.index(row_lines(text, busy)[0])
        ic = lines.index(row_lines(text, calm)[0])
        assert ib < ic, "sorted by count, %s (400 calls) is below %s (3):\n%s" % (busy, calm, text)
        wl.check()
    return "arrow P99 -> MAX -> P50 -> COUNT; busy row first by count"


def test_slash_filters_rows_to_a_comm_and_empty_clears():
    a, b = comm_of("a"), comm_of("b")
    with Workloads((a, "getppid 100"), (b, "getppid 100")) as wl, \
            Tui("top", "-i", 0.5, "-p", wl.pids) as t:
        t.wait(lambda s: row_lines(s, a) and row_lines(s, b), "both rows")
        t.keys("/")
        t.wait(lambda s: "filter (comm or service" in s, "the filter line")
        t.keys("-l", a)
        t.keys("Enter")
        # two intervals later the other comm must still be gone
        t.wait(lambda s: "filter '%s'" % a in s and row_lines(s, a) and not row_lines(s, b),
               "only %s after the filter" % a)
        time.sleep(1.2)
        text = t.screen()
        assert row_lines(text, a) and not row_lines(text, b), \
            "filter %r: want %s's rows only:\n%s" % (a, a, text)
        # Esc cancels an edit: the filter stays
        t.keys("/", "x", "y", "z", "Escape")
        time.sleep(1.0)
        text = t.screen()
        assert "filter '%s'" % a in text and row_lines(text, a), "Esc changed the filter:\n" + text
        # an empty filter clears it
        t.keys("/", "C-u", "Enter")
        t.wait(lambda s: "filter '" not in s and row_lines(s, a) and row_lines(s, b),
               "both rows again after an empty filter")
        wl.check()
    return "filter %s: %s's rows gone; Esc keeps it; empty clears" % (a, b)


def test_resize_to_80x24_no_line_wider_and_rightmost_header_field_visible():
    busy = comm_of("a")
    with Workloads((busy, "getppid 300")) as wl, Tui("top", "-i", 0.5, "-p", wl.pids) as t:
        t.wait(lambda s: row_lines(s, busy), "the %s row" % busy)
        wide = column_header(t.screen())
        assert wide and wide.split()[-1] == "TOTAL", "at 120 columns: %r" % wide
        t.tmux("resize-window", "-t", "tui", "-x", "80", "-y", "24")
        text = t.wait(lambda s: len(s.splitlines()) <= 24 and column_header(s)
                      and max(len(l) for l in s.splitlines()) <= 80 and row_lines(s, busy),
                      "a screen redrawn for 80x24")
        for _ in range(4):  # a few intervals later, still within the pane
            time.sleep(0.3)
            text = t.screen()
            widest = max(text.splitlines(), key=len)
            assert len(widest) <= 80, "a line of %d columns at 80x24: %r" % (len(widest), widest)
        header = column_header(text)
        assert header.split()[-1] == "TOTAL", \
            "the rightmost column title at 80 columns is %r, want TOTAL:\n%s" % (
                header.split()[-1], text)
        for item in ("collectors:", "agent cpu", "map fill", "sort p99"):
            assert item in text, "header item %r gone at 80x24:\n%s" % (item, text)
        assert row_lines(text, busy), "the row is gone at 80x24"
        wl.check()
    return "80x24: %s" % " ".join(header.split())


EVIL = "\x1b[2Jevil"


def test_comm_with_escape_bytes_is_shown_escaped():
    with Workloads((EVIL, "getppid 100")) as wl, Tui("top", "-i", 0.5, "-p", wl.pids) as t:
        text = t.wait(lambda s: "evil" in s, "the renamed workload's row")
        line = next(l for l in text.splitlines() if "evil" in l)
        assert "\\x1b[2Jevil" in line, "comm not shown as \\x1b[2Jevil: %r" % line
        assert "^[" not in text and "\x1b" not in text, "raw or caret-escaped ESC on screen"
        # the details pane shows it escaped too
        t.keys("Enter")
        text = t.wait(lambda s: "details of the selected row" in s and "evil" in s, "details")
        line = next(l for l in text.splitlines() if "evil" in l)
        assert re.search(r"^comm\s+\\x1b\[2Jevil", line), "details comm line: %r" % line
        wl.check()
    return "row: %s" % " ".join(line.split())


def test_i_toggles_an_idle_epoll_wait_row_in_and_out():
    idler = comm_of("i")
    with Workloads((idler, "getppid 20; epoll 60")) as wl, \
            Tui("top", "-i", 0.5, "-p", wl.pids) as t:

        def has(s, sc):
            return any(re.search(r"\b%s\b" % sc, l) for l in row_lines(s, idler))

        text = t.wait(lambda s: has(s, "getppid") and re.search(r"idle rows hidden [1-9]", s),
                      "the getppid row and idle rows hidden")
        assert not has(text, "epoll_wait"), "epoll_wait shown by default:\n" + text
        t.keys("i")
        t.wait(lambda s: has(s, "epoll_wait") and "idle waits shown" in s,
               "the epoll_wait row after i")
        t.keys("i")
        t.wait(lambda s: not has(s, "epoll_wait") and re.search(r"idle rows hidden [1-9]", s),
               "epoll_wait hidden again after a second i")
        time.sleep(1.0)
        assert not has(t.screen(), "epoll_wait"), "epoll_wait back without i"
        wl.check()
    return "epoll_wait hidden, shown with i, hidden again"


def test_grouping_details_pause_and_colours():
    """g: comm rows (no PID column) then service rows (SERVICE column);
    Enter: every percentile and the errnos of the row; p: the interval on
    screen stays while intervals go by, counted; latency over 1 ms in
    colour (a 2 ms nanosleep, an idle wait shown with --all), none with
    --no-color."""
    sleeper = comm_of("s")
    with Workloads((sleeper, "getppid 10; sleep 5 2000")) as wl, \
            Tui("top", "-i", 0.5, "--all", "-p", wl.pids) as t:
        t.wait(lambda s: row_lines(s, sleeper) and "nanosleep" in s, "the nanosleep row")
        colored = [l for l in t.screen(escapes=True).splitlines() if "nanosleep" in l]
        assert colored and any("33" in m.split(";") for m in SGR.findall(colored[0])), \
            "a 2 ms p50 not graded yellow: %r" % colored[:1]
        t.keys("g")
        text = t.wait(lambda s: "group comm" in s and column_header(s, "COMM"), "comm rows")
        assert "PID" not in column_header(text, "COMM"), column_header(text, "COMM")
        t.keys("g")
        text = t.wait(lambda s: "group service" in s and column_header(s, "CGROUP"),
                      "service rows")
        assert "SERVICE" in column_header(text, "CGROUP"), column_header(text, "CGROUP")
        t.keys("g")
        t.wait(lambda s: "group process" in s and column_header(s), "process rows again")
        # details of the top row (the nanosleep one, by p99)
        t.keys("Home", "Enter")
        text = t.wait(lambda s: "details of the selected row" in s and "p999" in s, "details")
        for key in ("pid", "comm", "syscall", "count", "errnos", "lat_us", "idle"):
            assert re.search(r"(?m)^%s\s" % key, text), "details lack %r:\n%s" % (key, text)
        t.keys("Escape", "p")
        text = t.wait(lambda s: "PAUSED at" in s, "paused")
        at = re.search(r"\bat (\d\d:\d\d:\d\d)\b", text).group(1)
        t.wait(lambda s: re.search(r"PAUSED at \S+ (\d+) intervals", s)
               and int(re.search(r"PAUSED at \S+ (\d+) intervals", s).group(1)) >= 3,
               "three intervals counted while paused")
        assert re.search(r"\bat (\d\d:\d\d:\d\d)\b", t.screen()).group(1) == at, \
            "the interval on screen changed while paused"
        t.keys("p")
        t.wait(lambda s: "PAUSED" not in s, "resumed")
        wl.check()
    with Workloads((sleeper, "getppid 10; sleep 5 2000")) as wl, \
            Tui("top", "-i", 0.5, "--all", "-p", wl.pids, env={"NO_COLOR": "1"}) as t:
        t.wait(lambda s: "nanosleep" in s, "the nanosleep row (NO_COLOR)")
        colors = set(p for p in SGR.findall(t.screen(escapes=True))
                     for p in p.split(";") if re.fullmatch(r"3[0-7]|9[0-7]", p))
        assert not colors, "colours with NO_COLOR=1: SGR %s" % sorted(colors)
    return "comm and service grouping, details, pause, yellow 2ms, none with NO_COLOR"


def test_a_terminal_that_cannot_move_the_cursor_gets_the_plain_blocks():
    with Tui("top", "-i", 0.5, "-n", 1, "--rows", 2, env={"TERM": "dumb"}) as t:
        status = t.exit_status()
        assert status == "EXIT=0", "TERM=dumb -n 1: %r%s" % (status, t.screen())
        text = t.screen()
        assert re.search(r"^\d{4}-\d\d-\d\dT\S+Z\s+interval", text, re.M) and "syscalls: " in text, \
            "TERM=dumb: no plain text block:\n" + text
        assert "collectors:" not in text, "TERM=dumb got the full screen:\n" + text
