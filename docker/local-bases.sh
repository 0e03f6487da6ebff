#!/usr/bin/env bash
# Builds the base images that docker/Dockerfile and docker/compose.yaml name, from Debian's
# packages and npm alone, and tags them with exactly those names, so that a machine that cannot
# pull images still builds the real image and runs the stack, and nothing is pulled:
#   docker.io/library/node:20-slim      Node 20 (npm package node-linux-<arch>), npm, a `node` user
#   docker.io/library/redis:7-alpine    Debian's redis-server
#   docker.io/prom/prometheus:v2.53.0   Debian's prometheus
# each on localhost/asyncq-debian:bookworm, a `debootstrap --variant=minbase` of Debian bookworm.
# Grafana has no Debian package, so its image is not made here.
#
# Where images can be pulled none of this is needed: the official images are used unchanged. An
# image that already exists under one of these names and was not made here (a pulled official
# one) is kept. One made here is rebuilt only when what it is made from changed (its label
# asyncq.local-bases holds their hash: its files in local-bases/, the versions below, the base
# under it), or with --force. Quick when all are current.
#
# Usage: docker/local-bases.sh [--force]
#   as root (debootstrap needs it), with podman (ENGINE=docker uses docker the same way).
# Environment: ENGINE (podman); DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR (the first of each in
#   /etc/apt/sources.list*, else deb.debian.org); NODE_VERSION (20.20.2); NPM_VERSION (10.8.2,
#   the npm that Node 20 bundles).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bases=$here/local-bases
ENGINE=${ENGINE:-podman}
NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-10.8.2}
SUITE=bookworm

DEBIAN_IMAGE=localhost/asyncq-debian:$SUITE
NODE_IMAGE=docker.io/library/node:20-slim
REDIS_IMAGE=docker.io/library/redis:7-alpine
PROMETHEUS_IMAGE=docker.io/prom/prometheus:v2.53.0

force=false
case "${1:-}" in
  --force) force=true ;;
  '') ;;
  *) echo "local-bases: unknown argument $1 (usage: docker/local-bases.sh [--force])" >&2; exit 2 ;;
esac

say() { echo "local-bases: $*"; }
die() { echo "local-bases: $*" >&2; exit 1; }

command -v "$ENGINE" >/dev/null || die "$ENGINE is not installed (apt-get install podman runc)"

# The first Debian mirror the host's apt already uses for `path` (debian or debian-security).
host_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | sed -E 's/\[[^]]*\]//' | awk '$1 == "deb" || $1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' \
    | grep -E "^https?://.*/$1/?\$" | head -n 1 | sed 's:/$::' || true
}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(host_mirror debian)}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(host_mirror debian-security)}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# Node trusts only the CAs it was built with. Where the host trusts more (Debian keeps local CAs,
# such as a TLS-inspecting proxy's, in /usr/local/share/ca-certificates), the node base trusts
# them too, so that npm in a build reaches the registry the way it does on the host.
extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)

# What each image is made from; a change to any of it makes a new image.
digest() { sha256sum | cut -c1-16; }
debian_hash=$( (cat "$bases/debian-rootfs.sh"; echo "$SUITE") | digest)
node_hash=$( (cat "$bases/node.Containerfile"; echo "$debian_hash $NODE_VERSION $NPM_VERSION $extra_ca") | digest)
redis_hash=$( (cat "$bases/redis.Containerfile" "$bases/redis-entrypoint.sh"; echo "$debian_hash") | digest)
prometheus_hash=$( (cat "$bases/prometheus.Containerfile"; echo "$debian_hash") | digest)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Whether `image` is to be (re)built for `hash`: when missing, or made here from something else,
# or --force; never when it was not made here (a pulled official image, which has no such label).
needs_build() {
  local label
  label=$("$ENGINE" image inspect --format '{{ index .Config.Labels "asyncq.local-bases" }}' "$1" 2>/dev/null) || return 0
  [ -n "$label" ] && [ "$label" != '<no value>' ] && { $force || [ "$label" != "$2" ]; }
}
image_id() { "$ENGINE" image inspect --format '{{ .Id }}' "$1" 2>/dev/null || true; }
# The image a tag moved away from, unless something still uses it.
remove_old() { [ -z "$1" ] || [ "$1" = "$(image_id "$2")" ] || "$ENGINE" image rm "$1" >/dev/null 2>&1 || true; }

# podman keeps no intermediate images with --layers=false: the label is the cache here.
layers=()
[ "$ENGINE" != podman ] || layers=(--layers=false)

build() { # image, hash, Containerfile, context, more build arguments
  local old
  old=$(image_id "$1")
  say "building $1 from local-bases/$(basename "$3")"
  "$ENGINE" build --quiet "${layers[@]}" --label "asyncq.local-bases=$2" --tag "$1" --file "$3" "${@:5}" "$4" >"$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; die "building $1 failed (log above)"; }
  remove_old "$old" "$1"
}

if needs_build "$DEBIAN_IMAGE" "$debian_hash"; then
  [ "$(id -u)" = 0 ] || die "debootstrap needs root: run this as root, or pull the official images instead"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  old=$(image_id "$DEBIAN_IMAGE")
  say "building $DEBIAN_IMAGE with debootstrap from $DEBIAN_MIRROR"
  "$bases/debian-rootfs.sh" "$work/rootfs" "$SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR"
  tar -C "$work/rootfs" -c . | "$ENGINE" import --change 'CMD ["bash"]' --change "LABEL asyncq.local-bases=$debian_hash" - "$DEBIAN_IMAGE" >"$work/import.log" 2>&1 \
    || { cat "$work/import.log" >&2; die "importing $DEBIAN_IMAGE failed (log above)"; }
  rm -rf "$work/rootfs"
  remove_old "$old" "$DEBIAN_IMAGE"
  force=true # every image made here on the old base is stale now
fi

if needs_build "$NODE_IMAGE" "$node_hash"; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) die "no node-linux package for $(uname -m)" ;;
  esac
  ctx=$work/node
  mkdir -p "$ctx/npm"
  (cd "$work" && npm pack --silent "node-linux-$arch@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null) \
    || die "npm could not fetch node-linux-$arch@$NODE_VERSION and npm@$NPM_VERSION from its registry"
  tar -xzf "$work/node-linux-$arch-$NODE_VERSION.tgz" -C "$work" package/bin/node
  mv "$work/package/bin/node" "$ctx/node"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1
  printf '%s\n' "$extra_ca" >"$ctx/extra-ca.pem"
  ca_args=()
  if [ -n "$extra_ca" ]; then
    say "the node base trusts the host's CAs in /usr/local/share/ca-certificates"
    ca_args=(--build-arg NODE_EXTRA_CA_CERTS=/usr/local/share/node-extra-ca.pem)
  fi
  build "$NODE_IMAGE" "$node_hash" "$bases/node.Containerfile" "$ctx" "${ca_args[@]}"
fi
if needs_build "$REDIS_IMAGE" "$redis_hash"; then
  build "$REDIS_IMAGE" "$redis_hash" "$bases/redis.Containerfile" "$bases"
fi
if needs_build "$PROMETHEUS_IMAGE" "$prometheus_hash"; then
  build "$PROMETHEUS_IMAGE" "$prometheus_hash" "$bases/prometheus.Containerfile" "$bases"
fi
say "ready: $NODE_IMAGE, $REDIS_IMAGE, $PROMETHEUS_IMAGE"
