#!/usr/bin/env bash
# Makes the root file system of localhost/asyncq-debian (see ../local-bases.sh) in <dir>:
# `debootstrap --variant=minbase` of <suite>, trimmed as Debian's own container images are.
# Usage: debian-rootfs.sh <dir> <suite> <mirror> <security-mirror>   (as root)
set -euo pipefail
root=$1 suite=$2 mirror=$3 security=$4

debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -n 20 "$root.log" >&2; echo "local-bases: debootstrap from $mirror failed (log above)" >&2; exit 1; }
rm -f "$root.log"

# The suite's updates and security fixes; no recommended packages, no cached .debs or package
# lists; no daemons started by package scripts (there is no init to stop them); no documentation
# but the copyright files.
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
cat >"$root/etc/apt/apt.conf.d/90local-base" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
EOF
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/tmp/*
find "$root/usr/share/doc" -type f ! -name copyright -delete
