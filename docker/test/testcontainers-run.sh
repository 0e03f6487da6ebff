#!/usr/bin/env bash
# Runs integration tests as on a machine whose only Redis is a container engine: no REDIS_URL and
# no redis-server on the PATH, so test/global-setup.ts starts Redis in a container through
# testcontainers. The engine is podman's Docker-compatible API (`podman system service`) on a
# private socket that DOCKER_HOST names, and the Redis image is the one docker/local-bases.sh makes
# (nothing is pulled). Ryuk, testcontainers' reaper, is off: its image cannot be pulled here, and
# the global setup stops its container itself.
#
# Usage: docker/test/testcontainers-run.sh [*.test.ts files...] [vitest options...]
#   Without files, the subset below.
# Where podman cannot start it prints "skipped: no container runtime (why)" and exits 0.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF=$PWD/docker/test/containers.conf

files=() options=()
for a in "$@"; do
  case "$a" in *.test.ts) files+=("$a") ;; *) options+=("$a") ;; esac
done
# The default subset: tests that need nothing but the Redis the suite finds (none restarts or
# pauses it, or times throughput), and cover the scripts, BullMQ's layout, connections and workers.
[ ${#files[@]} -gt 0 ] || files=(packages/core/test/lua-edges.test.ts packages/core/test/bullmq-compat.test.ts
  packages/core/test/connection.test.ts packages/core/test/worker-registry.test.ts)

command -v podman >/dev/null || { echo "skipped: no container runtime (podman is not installed)"; exit 0; }
if ! why=$(podman info 2>&1 >/dev/null); then
  echo "skipped: no container runtime (podman info failed: ${why##*$'\n'})"
  exit 0
fi
docker/local-bases.sh || exit 1

dir=$(mktemp -d)
podman system service --time=0 "unix://$dir/podman.sock" >"$dir/service.log" 2>&1 &
service=$!
cleanup() {
  kill "$service" 2>/dev/null
  wait "$service" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
for _ in $(seq 100); do [ -S "$dir/podman.sock" ] && break; sleep 0.1; done
[ -S "$dir/podman.sock" ] || { cat "$dir/service.log" >&2; echo "podman system service did not start" >&2; exit 1; }

# The PATH without redis-server: a directory that holds one is replaced by a directory of links to
# everything else in it (node, npm and the rest stay where they were).
path=
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [ -e "$d/redis-server" ]; then
    shadow=$dir/path-${#path}
    mkdir -p "$shadow"
    ln -s "$d"/* "$shadow/"
    rm -f "$shadow"/redis-server "$shadow"/redis-sentinel
    d=$shadow
  fi
  path=${path:+$path:}$d
done
if PATH=$path command -v redis-server >/dev/null; then echo "redis-server is still on the PATH" >&2; exit 1; fi

echo "testcontainers: no REDIS_URL, no redis-server on the PATH, DOCKER_HOST=unix://$dir/podman.sock (podman $(podman version --format '{{.Client.Version}}'))"
env -u REDIS_URL PATH="$path" DOCKER_HOST="unix://$dir/podman.sock" TESTCONTAINERS_RYUK_DISABLED=true \
  node_modules/.bin/vitest run --project integration "${options[@]}" "${files[@]}"
