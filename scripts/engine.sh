#!/usr/bin/env bash
# A Docker engine for the real-run tests, on a Debian 12 machine where no service manager
# starts it (the package's own start is refused by policy-rc.d).
#
#   scripts/engine.sh start    install pinned packages, link Compose v2, start dockerd, wait
#   scripts/engine.sh status   exit 0 when the daemon answers
#   scripts/engine.sh stop     stop dockerd, only when this script started it
#
# stdout of start/status: one line DOCKER=/path/to/docker (the CLI the tests should use).
# State lives outside the checkout: ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/engine/
# (dockerd.log, dockerd.pid). A daemon that already answers and was not started here is
# reused and never stopped. Every step is idempotent: a second `start` is a no-op.
#
# dockerd runs with its own managed containerd (no --containerd flag; its socket is
# /var/run/docker/containerd/containerd.sock). Another containerd instance (e.g. a
# Kubernetes test cluster) must use its own socket: dockerd 20.10 silently adopts any
# containerd listening on /run/containerd/containerd.sock, so start refuses when that
# socket exists.
set -euo pipefail

# Pinned Debian 12 (bookworm) packages; containerd and runc come in as docker.io's
# dependencies from the same release.
PACKAGES=(
  "docker.io=20.10.24+dfsg1-1+deb12u1+b6"
  "debootstrap=1.0.128+nmu2+deb12u2"
  "iptables=1.8.9-2"
)
DOCKER_CLI=/usr/bin/docker   # Debian's CLI, matching the daemon (a newer one may be on PATH)

root=$(cd "$(dirname "$0")/.." && pwd)
cache="${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}"
state="$cache/engine"
log_file="$state/dockerd.log"
pid_file="$state/dockerd.pid"

log() { printf 'engine: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

answers() { "$DOCKER_CLI" version >/dev/null 2>&1; }

# PID from our pid file when that process is a live dockerd, else nothing.
our_pid() {
  [ -f "$pid_file" ] || return 0
  local pid
  pid=$(cat "$pid_file")
  if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = dockerd ]; then
    printf '%s\n' "$pid"
  fi
}

install_packages() {
  local missing=() p name version
  for p in "${PACKAGES[@]}"; do
    name=${p%%=*}
    version=${p#*=}
    if [ "$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null)" != "install ok installed $version" ]; then
      missing+=("$p")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root"
  log "installing ${missing[*]}"
  if ! apt-cache policy "${missing[0]%%=*}" | grep -q Candidate; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" >&2; }
}

# Compose v2 from the pinned tools (.tools/env COMPOSE) as the docker CLI plugin.
link_compose() {
  local compose="${COMPOSE:-}"
  if [ -z "$compose" ] && [ -f "$root/.tools/env" ]; then
    # shellcheck disable=SC1091
    compose=$(. "$root/.tools/env" && printf '%s' "${COMPOSE:-}")
  fi
  [ -n "$compose" ] && [ -x "$compose" ] ||
    die "Compose v2 not found (COMPOSE unset); run scripts/install-tools.sh first"
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugins"
  if [ "$(readlink "$plugins/docker-compose" 2>/dev/null)" != "$compose" ]; then
    ln -sfn "$compose" "$plugins/docker-compose"
    log "linked $plugins/docker-compose -> $compose"
  fi
}

start() {
  install_packages
  link_compose
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock 9
  if answers; then
    if [ -n "$(our_pid)" ]; then
      log "dockerd already running (pid $(our_pid), started here)"
    else
      log "a Docker engine already answers and was not started here: reusing it, never stopping it"
    fi
    echo "DOCKER=$DOCKER_CLI"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "dockerd must run as root"
  if [ -S /run/containerd/containerd.sock ]; then
    die "/run/containerd/containerd.sock exists: dockerd would adopt that containerd instead of its own; give the other containerd its own socket"
  fi
  local t0 pid waited=0
  t0=$(date +%s.%N)
  log "starting dockerd (log: $log_file)"
  # setsid: the daemon outlives this script and is not in the caller's process group.
  setsid dockerd --pidfile /var/run/docker.pid >>"$log_file" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"
  until answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log_file" >&2
      rm -f "$pid_file"
      die "dockerd exited; see $log_file"
    fi
    [ "$waited" -lt 600 ] || die "dockerd did not answer within 60 s; see $log_file"
    sleep 0.1
    waited=$((waited + 1))
  done
  log "dockerd pid $pid answers after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  echo "DOCKER=$DOCKER_CLI"
}

stop() {
  local pid
  pid=$(our_pid)
  if [ -z "$pid" ]; then
    rm -f "$pid_file"
    log "no dockerd started here is running; nothing to stop"
    return 0
  fi
  log "stopping dockerd pid $pid"
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd did not stop within 30 s: SIGKILL"
    kill -KILL "$pid"
  fi
  rm -f "$pid_file"
  log "dockerd stopped"
}

status() {
  if answers; then
    if [ -n "$(our_pid)" ]; then
      log "running (pid $(our_pid), started here)"
    else
      log "running (not started here)"
    fi
    echo "DOCKER=$DOCKER_CLI"
  else
    log "not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
