#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make bench`: latscope's overhead and accuracy next to the floor and the
# peers (libbpf-tools, bpftrace), in one interleaved run; see the docstring
# of scripts/bench/bench.py for the method. Builds the floor (do-nothing
# tp_btf programs, scripts/bench/floor*.c) into build/bench/, then runs the
# bench, which prints a markdown table and writes build/bench.json.
# `make bench` installs the peers and builds latscope and the workloads
# first; run directly, this script builds only what is missing.
# Exit status: 0 unless the bench could not run.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "latscope: bench: needs root to load BPF programs; try: sudo make bench" >&2
	exit 1
fi

CLANG=${CLANG:-clang}
CC=${CC:-cc}
BPFTOOL=${BPFTOOL:-$(command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
OUT=build/bench

missing=""
for t in build/latscope build/tests/getppid_loop build/tests/pingpong \
	build/tests/bench_connect build/tests/bench_keys build/tests/bench_sleep; do
	[ -x "$t" ] || missing="$missing $t"
done
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086 # one make target per word
	make --no-print-directory $missing
fi

mkdir -p "$OUT"
# The floor needs no vmlinux.h: a do-nothing program reads no kernel type.
# <asm/types.h> lives in the host's multiarch include directory.
"$CLANG" -g -O2 -target bpf -Wall -Werror -I"/usr/include/$("$CC" -dumpmachine)" \
	-c scripts/bench/floor.bpf.c -o "$OUT/floor.bpf.o"
"$BPFTOOL" gen skeleton "$OUT/floor.bpf.o" name floor_bpf > "$OUT/floor.skel.h"
# shellcheck disable=SC2046 # pkg-config output is a list of flags
"$CC" -O2 -g -Wall -Wextra -Werror -I"$OUT" scripts/bench/floor.c -o "$OUT/floor" \
	$("$PKG_CONFIG" --cflags --libs libbpf libelf zlib 2>/dev/null || echo -lbpf -lelf -lz)

"$CC" -O2 -g -Wall -Wextra -Werror scripts/bench/mapcost.c -o "$OUT/mapcost" \
	$("$PKG_CONFIG" --cflags --libs libbpf libelf zlib 2>/dev/null || echo -lbpf -lelf -lz)

exec python3 scripts/bench/bench.py "$@"
