#!/usr/bin/env bash
# Benchmark: wall time and peak memory (max RSS) of `chainfleet generate` for Cosmos SDK
# networks of 4, 100 and 1000 validators (every node key, validator key, account key,
# signed gentx, genesis, config.toml, app.toml and the local launcher), next to the chain
# tools' own way of laying out N validators on the same machine:
#   - `cometbft testnet --v N`
#   - simd: the simd we build (ibc-go v8 testing/simapp, see scripts/chain-binaries) has no
#     `testnet init-files`, so the equivalent CLI flow is timed: per validator `init` and
#     `keys add`, one `genesis bulk-add-genesis-account`, per validator `genesis gentx`, then
#     `genesis collect-gentxs`.
#
#   scripts/bench.sh              (COMETBFT / SIMD from the environment or scripts/chain-binaries)
#   BENCH_SIZES="4 100" BENCH_TOOL_SIZES="4" scripts/bench.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${BENCH_SIZES:-4 100 1000}
tool_sizes=${BENCH_TOOL_SIZES:-4 100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x /usr/bin/time ] || { echo "bench: GNU time (/usr/bin/time) is required" >&2; exit 1; }
if [ -z "${COMETBFT:-}" ] || [ -z "${SIMD:-}" ]; then
  eval "$("$root/scripts/chain-binaries" 2>/dev/null)"
fi
(cd "$root" && cargo build --release --quiet)
chainfleet=${CHAINFLEET_BIN:-$root/target/release/chainfleet}
# A throwaway seed for benchmark networks, derived from a public phrase.
export CHAINFLEET_SEED=${CHAINFLEET_SEED:-$(printf %s "chainfleet benchmark" | sha256sum | cut -d" " -f1)}

# measure CMD...: run CMD, set $secs (wall, 3 decimals), $cpu (user + system seconds) and
# $mb (peak RSS, MiB). On a shared machine CPU time is the steadier figure.
measure() {
  local start end
  start=$(date +%s%N)
  if ! /usr/bin/time -f '%M %U %S' -o "$work/rss" "$@" >"$work/out" 2>&1; then
    echo "bench: $* failed:" >&2
    tail -n 20 "$work/out" >&2
    exit 1
  fi
  end=$(date +%s%N)
  secs=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
  mb=$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss")
  cpu=$(awk '{ printf "%.2f", $2 + $3 }' "$work/rss")
}

spec() { # N -> spec path
  local n=$1 f=$work/bench-$1.yaml
  cat >"$f" <<SPEC
name: bench-$n
chain:
  family: cosmos
  chain_id: bench-1
  binary: simd
  image: ghcr.io/cosmos/simapp:v0.50.15
  home: /home/simd/.simapp
  sdk: "0.50"
  denom: stake
  bech32_prefix: cosmos
  genesis_time: 2026-01-01T00:00:00Z
  accounts:
    - { name: faucet, coins: ["1000000000000stake"] }
keys:
  seed: { env: CHAINFLEET_SEED }
groups:
  - { name: validator, role: validator, count: $n, stake: 100000000stake }
targets:
  local: { base_port: 10000 }
SPEC
  echo "$f"
}

# The simd CLI flow for N validators, in one shell so GNU time sees every process.
simd_flow() { # N DIR
  local n=$1 d=$2 i
  mkdir -p "$d"
  for ((i = 0; i < n; i++)); do
    "$SIMD" init "node$i" --chain-id bench-1 --default-denom stake --home "$d/node$i" >/dev/null 2>&1
    "$SIMD" keys add "val$i" --keyring-backend test --home "$d/node$i" --output json >/dev/null 2>&1
    echo "$("$SIMD" keys show "val$i" -a --keyring-backend test --home "$d/node$i") 1000000000stake"
  done >"$d/accounts.txt"
  "$SIMD" genesis bulk-add-genesis-account "$d/accounts.txt" --home "$d/node0" >/dev/null 2>&1 ||
    while read -r addr coins; do
      "$SIMD" genesis add-genesis-account "$addr" "$coins" --home "$d/node0" >/dev/null 2>&1
    done <"$d/accounts.txt"
  mkdir -p "$d/gentxs"
  for ((i = 0; i < n; i++)); do
    cp "$d/node0/config/genesis.json" "$d/node$i/config/genesis.json"
    "$SIMD" genesis gentx "val$i" 100000000stake --chain-id bench-1 --keyring-backend test \
      --home "$d/node$i" --output-document "$d/gentxs/val$i.json" >/dev/null 2>&1
  done
  "$SIMD" genesis collect-gentxs --gentx-dir "$d/gentxs" --home "$d/node0" >/dev/null 2>&1
}
export -f simd_flow
export SIMD

declare -A ours ours_cpu
row() { printf '%-50s %9s %9s %9s\n' "$1" "$2" "$3" "$4"; }
row "what" "wall s" "cpu s" "peak MiB"
for n in $sizes; do
  f=$(spec "$n")
  measure "$chainfleet" generate "$f" --out "$work/out-$n" --secrets "$work/secrets-$n"
  ours[$n]=$secs
  ours_cpu[$n]=$cpu
  row "chainfleet generate, cosmos, $n validators" "$secs" "$cpu" "$mb"
  # Same computation, no writing: --check regenerates everything and compares with the tree.
  measure "$chainfleet" generate "$f" --out "$work/out-$n" --secrets "$work/secrets-$n" --check
  row "  same, --check (compute + compare, no write)" "$secs" "$cpu" "$mb"
  rm -rf "$work/out-$n" "$work/secrets-$n"
done
for n in $tool_sizes; do
  measure "$COMETBFT" testnet --v "$n" --o "$work/cometbft-$n"
  cmt=$secs cmt_cpu=$cpu
  row "cometbft testnet --v $n" "$secs" "$cpu" "$mb"
  # shellcheck disable=SC2016 # expanded by the inner bash
  measure bash -c 'simd_flow "$0" "$1"' "$n" "$work/simd-$n"
  sim=$secs sim_cpu=$cpu
  row "simd init/keys/gentx/collect-gentxs, $n validators" "$secs" "$cpu" "$mb"
  rm -rf "$work/cometbft-$n" "$work/simd-$n"
  if [ -n "${ours[$n]:-}" ]; then
    awk -v o="${ours[$n]}" -v oc="${ours_cpu[$n]}" -v c="$cmt" -v cc="$cmt_cpu" \
      -v s="$sim" -v sc="$sim_cpu" -v n="$n" 'BEGIN {
      printf "  %d validators, chainfleet time / theirs: cometbft testnet %.2fx wall (%.2fx cpu), simd flow %.3fx wall (%.3fx cpu)\n",
        n, o / c, (cc > 0 ? oc / cc : 0), o / s, (sc > 0 ? oc / sc : 0) }'
  fi
done
