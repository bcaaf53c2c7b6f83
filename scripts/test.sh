#!/usr/bin/env bash
# The whole test suite: installs every pinned tool the tests need (project-local, cached),
# builds or reuses the real chain binaries, starts a Docker engine and builds or reuses the
# offline images, builds or reuses the Kubernetes binaries, runs `cargo test` for every
# target but tests/helm_real.rs, then brings up a single-node cluster for helm_real alone
# (engine and cluster stopped again on exit, also on failure). Under CI=true a missing tool
# fails the run instead of being skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-tools.sh
# The Mermaid renderer for tests/mermaid.rs (pinned mermaid-cli + Debian chromium, cached).
bash scripts/mermaid-render.sh --install
# shellcheck disable=SC1091
source .tools/env
export CFN_LINT CHECKOV MOTO_SERVER AWS KUBERNETES_VALIDATE YAMLLINT HADOLINT COMPOSE SHELLCHECK HELM \
  ANSIBLE_PLAYBOOK ANSIBLE_LINT
PATH="$(dirname "$HELM"):$PATH"
export PATH

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

# The cluster's control plane costs CPU the whole time it runs, so it runs only for the one
# test that needs it: first every other test target with no cluster, then
# tests/helm_real.rs against a real single-node Kubernetes (scripts/cluster.sh: binaries
# built once and cached, cold tens of minutes on 2 cores; torn down on exit before the
# engine stops, also on failure). Arguments (`scripts/test.sh --test NAME`, a filter) run
# one cargo test with the cluster up.
t0=$(date +%s)
nice -n 10 bash scripts/cluster.sh build
t1=$(date +%s)

cluster_up() {
  local cluster name value
  # A failed `up` tears down what it started itself; from here on the EXIT trap does.
  cluster=$(bash scripts/cluster.sh up)
  trap 'bash scripts/cluster.sh down || true; bash scripts/engine.sh stop' EXIT
  while IFS='=' read -r name value; do
    case "$name" in
      KUBECONFIG | KUBECTL | CTR_ADDRESS | CLUSTER_UP_SECONDS | K8S_BUILD_SECONDS | COREDNS_BUILD_SECONDS)
        export "$name=$value" ;;
    esac
  done <<<"$cluster"
  [ -n "${KUBECONFIG:-}" ] && [ -n "${KUBECTL:-}" ] && [ -n "${CTR_ADDRESS:-}" ] ||
    { echo "test.sh: scripts/cluster.sh up named no KUBECONFIG/KUBECTL/CTR_ADDRESS" >&2; exit 1; }
  export CLUSTER_TIMINGS="binaries: $((t1 - t0)) s this run (cold build measured: Kubernetes ${K8S_BUILD_SECONDS:-?} s, CoreDNS ${COREDNS_BUILD_SECONDS:-?} s); warm start ${CLUSTER_UP_SECONDS:-?} s"
  echo "test.sh: Kubernetes cluster: $CLUSTER_TIMINGS" >&2
}

if [ "$#" -gt 0 ]; then
  cluster_up
  cargo test --locked "$@"
  exit
fi

suite_start=$(date +%s)
targets=()
for f in tests/*.rs; do
  name=$(basename "$f" .rs)
  [ "$name" = helm_real ] || targets+=(--test "$name")
done
cargo test --locked --lib --bins "${targets[@]}"
cargo test --locked --doc
phase1=$(date +%s)
cluster_up
cargo test --locked --test helm_real
bash scripts/cluster.sh down
trap 'bash scripts/engine.sh stop' EXIT
end=$(date +%s)
echo "test.sh: tests without a cluster $((phase1 - suite_start)) s; cluster up, helm_real and down $((end - phase1)) s" >&2
