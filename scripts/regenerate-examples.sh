#!/usr/bin/env bash
# Regenerate generated/<network>/ for every example with the public example seed (see
# tests/common/mod.rs). By default chainfleet writes beside the spec (examples/generated/);
# the committed golden copy lives at the repository root, so its paths are given here, and
# its secrets land in .chainfleet/secrets/<network> (git-ignored).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
phrase="chainfleet public example seed: demonstration keys only"
CHAINFLEET_SEED=$(printf '%s' "$phrase" | sha256sum | cut -d' ' -f1)
export CHAINFLEET_SEED
cargo build --quiet
for spec in examples/*.yaml; do
  name=$(sed -n 's/^name: *//p' "$spec" | head -n 1)
  target/debug/chainfleet generate "$spec" --out "generated/$name" --secrets ".chainfleet/secrets/$name" "$@"
done
