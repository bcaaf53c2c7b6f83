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
export CHAINFLEET_SEED=${CHAINFLEET_SEED:-c4a1f1ee7e5a0d1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899a}

# measure CMD...: run CMD, set $secs (wall, 3 decimals) and $mb (peak RSS, MiB).
measure() {
  local start end
  start=$(date +%s%N)
  if ! /usr/bin/time -f %M -o "$work/rss" "$@" >"$work/out" 2>&1; then
    echo "bench: $* failed:" >&2
    tail -n 20 "$work/out" >&2
    exit 1
  fi
  end=$(date +%s%N)
  secs=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
  mb=$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss")
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

declare -A ours
printf '%-44s %10s %10s\n' "what" "seconds" "peak MiB"
for n in $sizes; do
  f=$(spec "$n")
  "$chainfleet" generate "$f" --out "$work/warm" --secrets "$work/warm-secrets" >/dev/null 2>&1 || true
  rm -rf "$work/warm" "$work/warm-secrets"
  measure "$chainfleet" generate "$f" --out "$work/out-$n" --secrets "$work/secrets-$n"
  ours[$n]=$secs
  printf '%-44s %10s %10s\n' "chainfleet generate, cosmos, $n validators" "$secs" "$mb"
done
for n in $tool_sizes; do
  measure "$COMETBFT" testnet --v "$n" --o "$work/cometbft-$n"
  cmt=$secs
  printf '%-44s %10s %10s\n' "cometbft testnet --v $n" "$secs" "$mb"
  # shellcheck disable=SC2016 # expanded by the inner bash
  measure bash -c 'simd_flow "$0" "$1"' "$n" "$work/simd-$n"
  sim=$secs
  printf '%-44s %10s %10s\n' "simd init/gentx/collect-gentxs, $n validators" "$secs" "$mb"
  if [ -n "${ours[$n]:-}" ]; then
    awk -v o="${ours[$n]}" -v c="$cmt" -v s="$sim" -v n="$n" 'BEGIN {
      printf "  ratio at %d validators: chainfleet/cometbft-testnet = %.2f, chainfleet/simd-flow = %.4f\n",
        n, o / c, o / s }'
  fi
done
