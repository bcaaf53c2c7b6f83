#!/usr/bin/env bash
# The fast tier, for iteration (under 3 minutes warm): every unit test and the integration
# tests of the spec, model, writer and golden copy, with ShellCheck from
# scripts/install-tools.sh. Real runs (no Docker engine, cluster or chain binary is started
# here), the linter suites, the moto deploys, the kill/lock stress tests and the Mermaid
# renderer are left to scripts/test.sh, which CI runs.
#
#   scripts/fast-test.sh [CARGO TEST ARGS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Left out, with why (each runs in scripts/test.sh):
slow=(
  compose_real   # docker compose up of two networks
  helm_real      # helm install on a real cluster
  komodo_real    # the Komodo compose project on stand-ins
  hosts_real     # Ansible against systemd machines
  e2e_chain      # real CometBFT and simd networks from the local target
  docker_entrypoint  # the image entrypoint running real CometBFT
  chain_cosmos   # simd/cometbft reading our genesis and keys
  chain_families # Mina/Komodo launch scripts run for real
  mina_keys      # npm mina-signer and libsodium check the Mina keys
  cfn_target     # cfn-lint, checkov and moto deploys of every stack (minutes)
  compose_target # docker compose config, hadolint, checkov on every example
  helm_target    # helm lint/template, kubernetes-validate, checkov per values file
  hosts_target   # ansible-lint and syntax-check on every family's playbook
  writer_hardening # 1,000-validator generates killed and raced, 20 and 10 times
  hostile_strings  # 50 fields x 14 values through helm template, compose config, scripts
  mermaid        # Chromium renders every topology
)

bash scripts/install-tools.sh >/dev/null
# shellcheck disable=SC1091
source .tools/env
export CFN_LINT CHECKOV MOTO_SERVER AWS KUBERNETES_VALIDATE YAMLLINT HADOLINT COMPOSE SHELLCHECK HELM \
  ANSIBLE_PLAYBOOK ANSIBLE_LINT
export PATH="$(dirname "$HELM"):$PATH"
export CHAINFLEET_REQUIRE_TOOLS=1

args=(--lib --bins)
for t in tests/*.rs; do
  name=$(basename "$t" .rs)
  case " ${slow[*]} " in *" $name "*) continue ;; esac
  args+=(--test "$name")
done
start=$(date +%s)
cargo test --locked "${args[@]}" "$@"
echo "fast-test: $(($(date +%s) - start)) s (left out: ${slow[*]})" >&2
