#!/usr/bin/env bash
# Regenerate generated/<network>/ for every example with the public example seed (see
# tests/common/mod.rs). Secrets land in .chainfleet/ (git-ignored).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
phrase="chainfleet public example seed: demonstration keys only"
CHAINFLEET_SEED=$(printf '%s' "$phrase" | sha256sum | cut -d' ' -f1)
export CHAINFLEET_SEED
cargo build --quiet
for spec in examples/*.yaml; do
  target/debug/chainfleet generate "$spec"
done
