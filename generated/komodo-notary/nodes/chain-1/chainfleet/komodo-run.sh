#!/usr/bin/env bash
# chainfleet: run one komodod per assetchain in a single container.
# Usage: komodo-run.sh CMD [ARG...] [-- CMD [ARG...]]...
# Each command line (separated by `--`) starts in the background. When any daemon exits, the
# others are stopped and the script exits with its status, so the orchestrator restarts the
# node as a whole. SIGTERM/SIGINT are forwarded so komodod shuts down cleanly.
set -euo pipefail

pids=()
cmd=()

start() {
  if ((${#cmd[@]} > 0)); then
    "${cmd[@]}" &
    pids+=("$!")
    cmd=()
  fi
}

stop() {
  kill -TERM "${pids[@]}" 2>/dev/null || true
}

for arg in "$@"; do
  if [[ $arg == "--" ]]; then
    start
  else
    cmd+=("$arg")
  fi
done
start

if ((${#pids[@]} == 0)); then
  echo "komodo-run.sh: no command given" >&2
  exit 2
fi

trap 'stop' TERM INT
status=0
wait -n || status=$?
stop
wait || true
exit "$status"
