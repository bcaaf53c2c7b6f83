#!/bin/sh
# chainfleet health check (generated). Usage:
#   chainfleet-healthcheck [PORT [HTTP_PATH]]
#   chainfleet-healthcheck PORT --rpc BODY [CREDENTIALS]
# defaults from CHAINFLEET_HEALTH_PORT / CHAINFLEET_HEALTH_PATH.
# With a path, a 2xx answer from http://127.0.0.1:PORT/PATH (curl or wget) is healthy. With
# --rpc, BODY (JSON) is POSTed to http://127.0.0.1:PORT/ with HTTP basic auth from the
# rpcuser=/rpcpassword= lines of CREDENTIALS (relative to $CHAINFLEET_HOME), and a 2xx answer
# without an error is healthy (curl or wget required). Without either, or when the image has
# neither client, a socket listening on PORT is healthy; that reads /proc/net/tcp{,6} with the
# shell alone, so it works in any image that has /bin/sh.
set -eu

port="${1:-${CHAINFLEET_HEALTH_PORT:-}}"
path="${2:-${CHAINFLEET_HEALTH_PATH:-}}"
if [ -z "$port" ]; then
  echo "usage: chainfleet-healthcheck PORT [HTTP_PATH | --rpc BODY [CREDENTIALS]]" >&2
  exit 2
fi

if [ "$path" = "--rpc" ]; then
  body="${3:?--rpc needs a request body}"
  user=""
  pass=""
  if [ -n "${4:-}" ]; then
    conf="${CHAINFLEET_HOME:-.}/$4"
    [ -r "$conf" ] || {
      echo "cannot read the RPC credentials $conf" >&2
      exit 1
    }
    user=$(sed -n 's/^rpcuser=//p' "$conf" | tail -n 1)
    pass=$(sed -n 's/^rpcpassword=//p' "$conf" | tail -n 1)
  fi
  url="http://127.0.0.1:$port/"
  if command -v curl >/dev/null 2>&1; then
    if [ -n "$user" ]; then
      # The password goes through a config on stdin, never on the command line.
      answer=$(printf 'user = "%s:%s"\n' "$user" "$pass" |
        curl -fsS --max-time 4 -K - -H 'content-type: text/plain;' --data-binary "$body" "$url")
    else
      answer=$(curl -fsS --max-time 4 -H 'content-type: text/plain;' --data-binary "$body" "$url")
    fi
  elif command -v wget >/dev/null 2>&1; then
    auth=""
    if [ -n "$user" ]; then
      auth="Authorization: Basic $(printf '%s:%s' "$user" "$pass" | base64 | tr -d '\n')"
    fi
    answer=$(wget -q -T 4 -O - --header "${auth:-X-Chainfleet: health}" --post-data "$body" "$url")
  else
    echo "neither curl nor wget is available for the RPC health check" >&2
    exit 1
  fi
  case "$answer" in
    *'"error":null'* | *'"error": null'*) exit 0 ;;
    *'"error"'*)
      echo "RPC on port $port answered an error: $answer" >&2
      exit 1
      ;;
  esac
  exit 0
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
