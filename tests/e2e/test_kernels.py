# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""CO-RE across kernels: the same build/latscope on Debian's 6.1 kernels
(generic and PREEMPT_RT) under qemu, through scripts/kernel-matrix.sh. This
host's kernel is covered by every other test, so the matrix runs the guests
only here (make test-kernels runs all three)."""
import os
import subprocess

import lib


def test_kernel_matrix_debian_6_1_generic_and_rt_under_qemu():
    script = os.path.join(lib.ROOT, "scripts", "kernel-matrix.sh")
    p = subprocess.run([script, "--no-host"], capture_output=True, text=True, timeout=1800)
    out = p.stdout.splitlines()
    failed = [l.strip() for l in out if l.strip().startswith("FAIL")]
    summary = [l for l in out if l.endswith("failed")]
    assert p.returncode == 0 and not failed, "kernel matrix failed (exit %d):\n%s\n%s" % (
        p.returncode, "\n".join(failed or out[-30:]), p.stderr[-2000:])
    assert summary and summary[-1].endswith(" 0 failed"), "no summary line: %s" % out[-5:]
    return summary[-1]
