#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install what latscope needs to build and test on Debian 12, and nothing
# else. Idempotent and quiet: when everything is present it only checks.
# Usage: scripts/deps.sh [--bench] [--kernels]
#   --bench    adds the peers `make bench` compares against
#   --kernels  adds qemu and the Debian kernels `make test-kernels` boots
set -eu

# build, plus what the tests use: nftables/iproute2 for network namespaces,
# bpftool to inspect what is loaded, setpriv (util-linux) for the non-root test,
# groff-base (the man page check), bash (completion), and for make deb and
# its test: dpkg-dev (dpkg-shlibdeps), binutils (strip), lintian, man-db;
# libmicrohttpd (serve) and ncurses (the TUI), and for their tests a real
# prometheus (promtool and the server), curl, and tmux (a real terminal);
# libclang-rt-14-dev: the libFuzzer and ASan/UBSan runtimes of clang-14 for
# make fuzz and make asan (clang only recommends it: some machines lack it);
# redis-server and redis-tools (the requests tests: a real one-at-a-time
# protocol, redis-cli --pipe for pipelining)
PKGS="make gcc libc6-dev pkg-config clang llvm libbpf-dev bpftool libelf-dev
zlib1g-dev linux-libc-dev python3 util-linux iproute2 nftables groff-base bash
dpkg-dev binutils lintian man-db libmicrohttpd-dev libncurses-dev prometheus
curl tmux libclang-rt-14-dev redis-server redis-tools"
for arg in "$@"; do
	case "$arg" in
	--bench) PKGS="$PKGS libbpf-tools bpftrace" ;;
	--kernels) PKGS="$PKGS $(cat "$(dirname "$0")/kernels.txt" 2>/dev/null || true)" ;;
	*) echo "latscope: deps.sh: unknown option '$arg'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "latscope: cannot install missing packages:$missing: needs root; try: sudo $0" >&2
	exit 1
fi
echo "latscope: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
