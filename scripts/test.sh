#!/usr/bin/env bash
# The whole test suite: installs every pinned tool the tests need (project-local, cached),
# builds or reuses the real chain binaries, then runs `cargo test`. Under CI=true a missing
# tool fails the run instead of being skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-tools.sh
# shellcheck disable=SC1091
source .tools/env
export CFN_LINT CHECKOV MOTO_SERVER AWS KUBERNETES_VALIDATE YAMLLINT HADOLINT COMPOSE SHELLCHECK HELM
export PATH="$(dirname "$HELM"):$PATH"

if [ -x scripts/chain-binaries ]; then
  while IFS='=' read -r name path; do
    case "$name" in COMETBFT|SIMD) export "$name=$path" ;; esac
  done < <(scripts/chain-binaries)
fi

export CHAINFLEET_REQUIRE_TOOLS=1
cargo test --locked "$@"
