#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make deb`: a Debian binary package of build/latscope with its man page and
# bash completion, in build/deb/. Depends are computed by dpkg-shlibdeps;
# the copyright file is machine-readable (DEP-5) and points at the licenses
# in /usr/share/common-licenses. Usage: scripts/mkdeb.sh VERSION
set -eu
cd "$(dirname "$0")/.."

ver=$1
# a release (1.2...) as it is; a git description (hash[-dirty]) after 0.2~git
case $ver in [0-9]*.[0-9]*) ;; *) ver="0.2~git$ver" ;; esac
ver=$(printf '%s' "$ver" | tr -c 'A-Za-z0-9.+~\n' '+')
arch=$(dpkg --print-architecture)
out=build/deb
root=$out/root
rm -rf "$out"
mkdir -p "$root/DEBIAN" "$root/usr/sbin" "$root/usr/share/man/man8" \
	"$root/usr/share/doc/latscope" "$root/usr/share/bash-completion/completions"

install -m 0755 build/latscope "$root/usr/sbin/latscope"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/sbin/latscope"
gzip -9n < scripts/latscope.8 > "$root/usr/share/man/man8/latscope.8.gz"
install -m 0644 scripts/latscope.bash-completion \
	"$root/usr/share/bash-completion/completions/latscope"
# the exporter as a service, enabled and started on install like
# prometheus-node-exporter (the snippets dh_installsystemd would write)
install -D -m 0644 scripts/latscope.service "$root/lib/systemd/system/latscope.service"
cat > "$root/DEBIAN/postinst" <<'EOT'
#!/bin/sh
set -e
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] ||
	[ "$1" = abort-remove ]; then
	if deb-systemd-helper --quiet was-enabled latscope.service; then
		deb-systemd-helper enable latscope.service >/dev/null || true
	else
		deb-systemd-helper update-state latscope.service >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		deb-systemd-invoke restart latscope.service >/dev/null || true
	fi
fi
EOT
cat > "$root/DEBIAN/prerm" <<'EOT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop latscope.service >/dev/null || true
fi
EOT
cat > "$root/DEBIAN/postrm" <<'EOT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null; then
	deb-systemd-helper purge latscope.service >/dev/null || true
	deb-systemd-helper unmask latscope.service >/dev/null || true
fi
EOT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

doc=$root/usr/share/doc/latscope
cat > "$doc/copyright" <<EOT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: latscope

Files: *
Copyright: 2026 the latscope authors
License: GPL-2.0-only or BSD-2-Clause
 The BPF programs (bpf/*.bpf.c, bpf/*.bpf.h), compiled into the binary,
 are GPL-2.0-only; everything else is GPL-2.0-only or BSD-2-Clause, at
 your option.

License: GPL-2.0-only
 The full text of the GNU General Public License version 2 is in
 /usr/share/common-licenses/GPL-2.

License: BSD-2-Clause
$(sed -n '/^Redistribution and use/,/POSSIBILITY OF SUCH DAMAGE/p' LICENSE | sed 's/^$/./; s/^/ /')
EOT
date=$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")
cat > "$out/changelog" <<EOT
latscope ($ver) unstable; urgency=medium

  * Built from the latscope source tree; see README.md, Changelog.

 -- latscope authors <latscope@example.org>  $date
EOT
gzip -9n < "$out/changelog" > "$doc/changelog.gz" # a native package

# Depends from the libraries the binary links
mkdir -p "$out/debian"
printf 'Source: latscope\n\nPackage: latscope\nArchitecture: any\n' > "$out/debian/control"
deps=$(cd "$out" && dpkg-shlibdeps -O -e"root/usr/sbin/latscope" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOT
Package: latscope
Version: $ver
Architecture: $arch
Maintainer: latscope authors <latscope@example.org>
Installed-Size: $size
Depends: $deps
Section: admin
Priority: optional
Description: live syscall, scheduler and TCP latency per process (eBPF)
 latscope attaches eBPF programs to kernel tracepoints and shows, per
 process, thread, command or service, syscall latency percentiles and
 errors, run-queue delay and on/off-CPU time with the tasks that held the
 CPU, and TCP trouble per remote endpoint. latscope slow explains each slow
 syscall: time on a CPU, waiting for one and blocked, who woke it, and on
 which socket or file.
EOT
(cd "$root" && find usr lib -type f -exec md5sum {} + | sort -k2) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +
deb=$out/latscope_${ver}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
