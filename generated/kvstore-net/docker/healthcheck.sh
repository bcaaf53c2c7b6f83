#!/bin/sh
# chainfleet health check (generated). Usage: chainfleet-healthcheck [PORT [HTTP_PATH]],
# defaults from CHAINFLEET_HEALTH_PORT / CHAINFLEET_HEALTH_PATH.
# With a path, a 2xx answer from http://127.0.0.1:PORT/PATH (curl or wget) is healthy. Without
# a path, or when the image has neither client, a socket listening on PORT is healthy; that
# reads /proc/net/tcp{,6} with the shell alone, so it works in any image that has /bin/sh.
set -eu

port="${1:-${CHAINFLEET_HEALTH_PORT:-}}"
path="${2:-${CHAINFLEET_HEALTH_PATH:-}}"
if [ -z "$port" ]; then
  echo "usage: chainfleet-healthcheck PORT [HTTP_PATH]" >&2
  exit 2
fi

if [ -n "$path" ]; then
  url="http://127.0.0.1:$port$path"
  if command -v curl >/dev/null 2>&1; then
    exec curl -fsS -o /dev/null --max-time 4 "$url"
  fi
  if command -v wget >/dev/null 2>&1; then
    exec wget -q -T 4 -O /dev/null "$url"
  fi
fi

hex=$(printf '%04X' "$port")
for table in /proc/net/tcp /proc/net/tcp6; do
  [ -r "$table" ] || continue
  # Columns: sl local_address rem_address st ...; state 0A is LISTEN.
  while read -r _ local _ state _; do
    if [ "$state" = 0A ] && [ "${local##*:}" = "$hex" ]; then
      exit 0
    fi
  done <"$table"
done
echo "nothing listens on port $port" >&2
exit 1
