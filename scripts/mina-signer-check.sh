#!/bin/sh
# Check Mina keys with o1js `mina-signer` and libsodium (scripts/mina-signer/check.mjs):
# reads the keys as JSON on stdin, prints a JSON report (public keys and booleans only).
#
# Installs the pinned packages of scripts/mina-signer/package-lock.json with `npm ci` into
# ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/node/mina-signer (outside the checkout); a
# second run reuses them. Needs node >= 18 and npm on PATH.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache="${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/node/mina-signer"

command -v node >/dev/null 2>&1 || { echo "mina-signer-check: node is not on PATH" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "mina-signer-check: npm is not on PATH" >&2; exit 2; }

mkdir -p "$cache"
# Reinstall only when the pinned lock file changed (or the install is incomplete).
if ! cmp -s "$here/mina-signer/package-lock.json" "$cache/.installed-lock" ||
  [ ! -d "$cache/node_modules/mina-signer" ]; then
  cp "$here/mina-signer/package.json" "$here/mina-signer/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$here/mina-signer/package-lock.json" "$cache/.installed-lock"
fi
cp "$here/mina-signer/check.mjs" "$cache/check.mjs"
exec node "$cache/check.mjs"
