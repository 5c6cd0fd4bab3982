#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Prove CO-RE across kernels: run the same build/latscope and workloads on
# this host's kernel directly, and on every kernel of scripts/kernels.txt
# inside qemu (TCG: KVM is not usable here), then print one row per
# kernel x check, the matrix, and "N passed, N failed".
#
# usage: scripts/kernel-matrix.sh [--no-host] [RELEASE...]
#   RELEASE   only these guest kernels (default: every linux-image-RELEASE-unsigned
#             of scripts/kernels.txt; e.g. 6.1.0-56-rt-amd64)
#   --no-host skip the run on this host's kernel
# `make test-kernels` installs the kernels (scripts/deps.sh --kernels) and
# builds latscope and the workloads first. Needs root (BPF on the host;
# reading the kernels' modules). Output under build/matrix/.
#
# How a guest runs (scripts/matrix/): the host root is shared read-only over
# virtio-9p; a static init in a tiny initramfs loads the guest kernel's
# virtio and 9p modules, switches to the share, runs checks.py (named by the
# lt_init= kernel parameter), and powers off; the rows come back on the
# serial console.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
OUT=$ROOT/build/matrix
QEMU=${QEMU:-qemu-system-x86_64}
QBOOT=/usr/share/qemu/qboot.rom
# one guest's limit; a hung guest becomes failed rows, not a hung matrix
GUEST_TIMEOUT=${LT_GUEST_TIMEOUT:-600}
# what the 9p root needs in Debian's 6.1 kernels, in load order
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p"

die() {
	echo "latscope: kernel-matrix: $*" >&2
	exit 1
}

run_host=1
releases=""
for arg in "$@"; do
	case "$arg" in
	--no-host) run_host=0 ;;
	-*) echo "latscope: kernel-matrix: unknown option '$arg'" >&2; exit 2 ;;
	*) releases="$releases $arg" ;;
	esac
done
if [ -z "$releases" ]; then
	releases=$(sed -n 's/^linux-image-\(.*\)-unsigned$/\1/p' scripts/kernels.txt)
fi

[ "$(id -u)" = 0 ] || die "needs root (BPF, and the kernels' modules); try: sudo $0"
for f in build/latscope build/tests/syscalls build/tests/sched; do
	[ -x "$f" ] || die "cannot find $f; run: make all $f (or make test-kernels)"
done
command -v "$QEMU" >/dev/null || die "cannot find $QEMU; run: scripts/deps.sh --kernels"
[ -r "$QBOOT" ] || die "cannot find $QBOOT; run: scripts/deps.sh --kernels"
for rel in $releases; do
	if [ ! -r "/boot/vmlinuz-$rel" ] || [ ! -d "/lib/modules/$rel" ]; then
		die "cannot find kernel $rel in /boot; run: scripts/deps.sh --kernels" \
			"(if apt cannot find linux-image-$rel-unsigned, Debian moved on to a new ABI:" \
			"update scripts/kernels.txt from" \
			"apt-cache search --names-only '^linux-image-6[.]1[.]0-.*-amd64-unsigned\$')"
	fi
done

mkdir -p "$OUT"
${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$OUT/init" scripts/matrix/init.c ||
	die "cannot build the static init (needs libc6-dev)"

# modules for the initramfs: found through the kernel's own index, built-in
# ones skipped, compressed ones unpacked (init loads plain .ko files)
initramfs() {
	rel=$1 dir=$OUT/$rel
	rm -rf "$dir/modules"
	mkdir -p "$dir/modules"
	files=""
	for m in $MODULES; do
		if grep -q "/$m\.ko\$" "/lib/modules/$rel/modules.builtin" 2>/dev/null; then
			continue
		fi
		src=$(modinfo -k "$rel" -n "$m" 2>/dev/null) || die "kernel $rel has no module $m"
		dst=$dir/modules/$m.ko
		case "$src" in
		*.ko) cp "$src" "$dst" ;;
		*.ko.xz) xz -dc "$src" >"$dst" ;;
		*.ko.zst) zstd -qdc "$src" >"$dst" ;;
		*.ko.gz) gzip -dc "$src" >"$dst" ;;
		*) die "kernel $rel: module $m has an unknown format: $src" ;;
		esac
		files="$files $dst"
	done
	# shellcheck disable=SC2086 # the module list is split on purpose
	python3 scripts/matrix/mkinitramfs.py "$dir/initramfs.cpio" "$OUT/init" $files
}

now() { date +%s; }
t_all=$(now)
logs=""

if [ "$run_host" = 1 ]; then
	rel=$(uname -r)
	mkdir -p "$OUT/host"
	echo "latscope: kernel-matrix: $rel (this host)" >&2
	t0=$(now)
	python3 scripts/matrix/checks.py >"$OUT/host/console.log" 2>&1 || true
	echo "latscope: kernel-matrix: $rel done in $(($(now) - t0)) s" >&2
	logs="$logs $rel(host)=$OUT/host/console.log"
fi

for rel in $releases; do
	initramfs "$rel"
	log=$OUT/$rel/console.log
	echo "latscope: kernel-matrix: $rel (qemu, TCG)" >&2
	t0=$(now)
	# thread=single: with one host thread per vCPU (qemu 7.2's default),
	# a vCPU can keep running a stale translation of kernel text that
	# another vCPU patched: attaching or detaching a tracepoint flips its
	# static key with text_poke_bp(), and the guest then spins forever on
	# the int3 that memory no longer holds (seen at __schedule and
	# syscall_trace_enter, 3 hangs in 8 boots of 6.1-rt; none in 8 with
	# thread=single). quiet console: only the rows and real kernel trouble;
	# panic=-1 with -no-reboot turns a panic into qemu exiting.
	timeout "$GUEST_TIMEOUT" "$QEMU" -accel tcg,thread=single -cpu max -bios "$QBOOT" \
		-m 2G -smp 2 -nic none -display none -monitor none -serial stdio -no-reboot \
		-kernel "/boot/vmlinuz-$rel" -initrd "$OUT/$rel/initramfs.cpio" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 lt_init=$ROOT/scripts/matrix/checks.py" \
		-fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap" \
		-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
		</dev/null >"$log" 2>&1 || echo "LT-TIMEOUT qemu exited with status $? (timeout after ${GUEST_TIMEOUT}s is 124)" >>"$log"
	echo "latscope: kernel-matrix: $rel done in $(($(now) - t0)) s" >&2
	logs="$logs $rel(qemu)=$log"
done

# shellcheck disable=SC2086 # one argument per kernel
python3 scripts/matrix/report.py "$(($(now) - t_all))" $logs
