#!/usr/bin/env bash
# chainfleet: start iguana on a notary node.
# Usage: iguana-run.sh HOME TEMPLATE OUT NAME=HOST:PORT... -- CMD [ARG...]
# Renders the public assetchain list TEMPLATE into OUT with the RPC address of every
# assetchain (known only to the target: `@RPC_<NAME>@` placeholders), checks that the
# credentials of every assetchain were installed as secrets (HOME/NAME/NAME.conf), then
# replaces itself with CMD.
set -euo pipefail

home=$1
template=$2
out=$3
shift 3

sed_args=()
while (($# > 0)) && [[ $1 != "--" ]]; do
  name=${1%%=*}
  addr=${1#*=}
  if [[ ! -s "$home/$name/$name.conf" ]]; then
    echo "iguana-run.sh: $home/$name/$name.conf is missing: the ${name} credentials secret was not installed" >&2
    exit 1
  fi
  sed_args+=(-e "s|@RPC_${name}@|${addr}|g")
  shift
done
if (($# == 0)); then
  echo "iguana-run.sh: missing -- CMD" >&2
  exit 2
fi
shift

mkdir -p "$(dirname "$out")"
if ((${#sed_args[@]} > 0)); then
  sed "${sed_args[@]}" "$template" >"$out"
else
  cp "$template" "$out"
fi
exec "$@"
