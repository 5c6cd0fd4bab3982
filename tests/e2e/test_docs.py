# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What a new user reads: the man page renders cleanly and covers every
option --help lists, bash completion completes subcommands and values, and
make install puts all three in place."""
import os
import re
import subprocess
import tempfile

import lib

MAN = os.path.join(lib.ROOT, "scripts", "latscope.8")
COMPLETION = os.path.join(lib.ROOT, "scripts", "latscope.bash-completion")


def test_man_page_renders_without_warnings_and_documents_every_option():
    p = subprocess.run(["groff", "-ww", "-man", "-Tutf8", MAN], capture_output=True, text=True)
    assert p.returncode == 0 and not p.stderr.strip(), "groff: %s" % p.stderr
    text = re.sub(r".\x08", "", p.stdout)  # drop overstrike (bold/underline)
    helptext = "\n".join(lib.run_agent("--help").stdout)
    opts = sorted(set(re.findall(r"(--[a-z][a-z-]+)", helptext)))
    missing = [o for o in opts if o not in text.replace("\u2010", "-")]
    assert not missing, "options in --help but not in latscope(8): %s" % missing
    for cmd in ("top", "slow", "check"):
        assert re.search(r"\blatscope %s\b" % cmd, text), "latscope(8) lacks '%s'" % cmd
    return "%d options of --help all documented" % len(opts)


def _complete(*words):
    script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _latscope; '
              'printf "%%s\\n" "${COMPREPLY[@]}"') % (
        COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1)
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return [l for l in p.stdout.splitlines() if l]


def test_bash_completion_completes_subcommands_options_and_values():
    assert _complete("latscope", "t") == ["top"]
    assert _complete("latscope", "s") == ["slow", "serve"]
    assert _complete("latscope", "se") == ["serve"]
    assert "--listen" in _complete("latscope", "serve", "--li")
    assert "--listen" not in _complete("latscope", "top", "--")
    assert "--threshold" in _complete("latscope", "slow", "--th")
    assert "--max-rate" not in _complete("latscope", "top", "--")
    assert _complete("latscope", "--by", "c") == ["comm", "cgroup"]
    assert _complete("latscope", "--view", "s") == ["syscalls", "sched"]
    assert str(os.getpid()) in _complete("latscope", "-p", str(os.getpid()))


def test_make_install_puts_binary_man_page_and_completion_in_place():
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run(["make", "-s", "-C", lib.ROOT, "install", "DESTDIR=" + d,
                            "PREFIX=/usr"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        for rel in ("usr/sbin/latscope", "usr/share/man/man8/latscope.8",
                    "usr/share/bash-completion/completions/latscope",
                    "usr/lib/systemd/system/latscope.service"):
            assert os.path.isfile(os.path.join(d, rel)), "make install lacks %s" % rel
        out = subprocess.run([os.path.join(d, "usr/sbin/latscope"), "--version"],
                             capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.startswith("latscope "), out
