#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install what latscope needs to build and test on Debian 12, and nothing
# else. Idempotent and quiet: when everything is present it only checks.
# Usage: scripts/deps.sh [--bench]   (--bench adds the peers make bench runs)
set -eu

PKGS="make gcc libc6-dev pkg-config clang llvm libbpf-dev bpftool libelf-dev
zlib1g-dev linux-libc-dev python3 util-linux"
if [ "${1:-}" = "--bench" ]; then
	PKGS="$PKGS bpfcc-tools libbpf-tools bpftrace"
fi

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
