# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""make deb builds a package lintian accepts without errors or warnings; a
real dpkg -i installs a working binary, man page and completion, and dpkg
-r leaves nothing of it behind."""
import glob
import os
import subprocess

import lib

FILES = ("/usr/sbin/latscope", "/usr/share/man/man8/latscope.8.gz",
         "/usr/share/bash-completion/completions/latscope",
         "/usr/share/doc/latscope/copyright", "/usr/share/doc/latscope/changelog.gz",
         "/lib/systemd/system/latscope.service")


def _run(*cmd, **kw):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=300, **kw)
    assert p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-2000:],
                                                     p.stderr[-2000:])
    return p.stdout


def test_deb_passes_lintian_installs_runs_and_removes_cleanly():
    out = _run("make", "-s", "-C", lib.ROOT, "deb").strip().splitlines()
    deb = os.path.join(lib.ROOT, out[-1])
    assert os.path.isfile(deb) and deb.endswith(".deb"), out
    p = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True,
                       text=True, timeout=300)
    tags = [l for l in p.stdout.splitlines() if l[:2] in ("E:", "W:")]
    assert not tags, "lintian on %s:\n%s" % (os.path.basename(deb), "\n".join(tags))
    fields = _run("dpkg-deb", "-f", deb, "Package", "Version", "Depends")
    assert "libbpf" in fields and "libc6" in fields, "Depends lacks the linked libraries: %s" % fields
    st = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "latscope"], capture_output=True,
                        text=True).stdout
    if "ok installed" in st:
        raise lib.Skip("a latscope package is installed on this host: not replacing it")
    try:
        _run("dpkg", "-i", deb)
        for f in FILES:
            assert os.path.isfile(f), "dpkg -i did not install %s" % f
        ver = _run("/usr/sbin/latscope", "--version")
        assert ver.startswith("latscope "), ver
        page = _run("man", "-P", "cat", "latscope", env=dict(os.environ, MANWIDTH="80"))
        assert "latscope slow" in page and "IDLE WAITS" in page, page[:500]
    finally:
        subprocess.run(["dpkg", "-r", "latscope"], capture_output=True, timeout=120)
    left = [f for f in FILES if os.path.exists(f)] + glob.glob("/usr/share/doc/latscope*")
    assert not left, "dpkg -r left %s behind" % left
    # with maintainer scripts (the service) -r keeps the package known until
    # purged; purge forgets it, and the unit's enablement state with it
    _run("dpkg", "--purge", "latscope")
    st = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "latscope"], capture_output=True,
                        text=True).stdout
    assert "config-files" not in st and "installed" not in st, "after purge: %r" % st
    left = glob.glob("/var/lib/systemd/deb-systemd-helper-enabled/*latscope*")
    assert not left, "purge left %s behind" % left
    return "%s: lintian clean; installed, ran --version and man, removed cleanly" % (
        os.path.basename(deb))
