#!/bin/sh
# The local redis image's entrypoint (redis.Containerfile). The official image builds Redis with
# protected mode off, so that a server without a password still answers clients from other
# containers and through published ports; Debian's build has it on, so it is turned off here,
# before the caller's arguments so that an explicit --protected-mode in them still wins.
set -e
case "$1" in
  -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
  shift
  case "$1" in
    *.conf) conf=$1; shift; set -- redis-server "$conf" --protected-mode no "$@" ;;
    *) set -- redis-server --protected-mode no "$@" ;;
  esac
fi
exec "$@"
