#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Write the kernel-matrix initramfs: an uncompressed newc cpio archive with
/init (the static init of scripts/matrix/init.c), empty mount points, and
/modules/NN-name.ko, numbered in the order init must load them.

usage: mkinitramfs.py OUT INIT MODULE.ko...

Written here rather than with cpio(1) so that the matrix needs no package
beyond qemu and the kernels, and needs no device nodes (init mounts
devtmpfs itself)."""
import os
import stat
import sys


def entry(out, ino, name, mode, data=b""):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
    out.write(hdr.encode() + name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out_path, init_path, modules = argv[0], argv[1], argv[2:]
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as out:
        ino = 1
        for d in ("dev", "proc", "sys", "root", "modules"):
            entry(out, ino, d, stat.S_IFDIR | 0o755)
            ino += 1
        with open(init_path, "rb") as f:
            entry(out, ino, "init", stat.S_IFREG | 0o755, f.read())
        ino += 1
        for i, path in enumerate(modules):
            with open(path, "rb") as f:
                name = "modules/%02d-%s" % (i, os.path.basename(path))
                entry(out, ino, name, stat.S_IFREG | 0o644, f.read())
            ino += 1
        entry(out, 0, "TRAILER!!!", 0)
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
