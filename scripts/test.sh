#!/usr/bin/env bash
# The whole test suite: installs every pinned tool the tests need (project-local, cached),
# builds or reuses the real chain binaries, starts a Docker engine (stopped again on exit,
# also on failure) and builds or reuses the offline images, then runs `cargo test`. Under
# CI=true a missing tool fails the run instead of being skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-tools.sh
# The Mermaid renderer for tests/mermaid.rs (pinned mermaid-cli + Debian chromium, cached).
bash scripts/mermaid-render.sh --install
# shellcheck disable=SC1091
source .tools/env
export CFN_LINT CHECKOV MOTO_SERVER AWS KUBERNETES_VALIDATE YAMLLINT HADOLINT COMPOSE SHELLCHECK HELM
export PATH="$(dirname "$HELM"):$PATH"

if [ -x scripts/chain-binaries ]; then
  while IFS='=' read -r name path; do
    case "$name" in COMETBFT|SIMD) export "$name=$path" ;; esac
  done < <(scripts/chain-binaries)
fi

# The engine for the compose real-run tests (tests/compose_real.rs), stopped on exit (a
# dockerd that scripts/engine.sh did not start is reused and left running); then the base
# and stand-in images (a no-op when unchanged).
trap 'bash scripts/engine.sh stop' EXIT
engine=$(bash scripts/engine.sh start)
DOCKER=$(printf '%s\n' "$engine" | sed -n 's/^DOCKER=//p')
[ -n "$DOCKER" ] || { echo "test.sh: scripts/engine.sh start named no DOCKER" >&2; exit 1; }
export DOCKER
bash scripts/images.sh

export CHAINFLEET_REQUIRE_TOOLS=1
cargo test --locked "$@"
