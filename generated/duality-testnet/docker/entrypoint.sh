#!/bin/sh
# chainfleet entrypoint of network `duality-testnet` (generated; edit the spec, not this file).
#
# 1. Select this container's node: CHAINFLEET_NODE, else the host name (a StatefulSet pod
#    name such as `validator-0`).
# 2. Install the public files baked into the image (genesis, per-node config) into the node
#    home. Files under data/ are chain state: installed only when absent, never overwritten.
# 3. Install the node's private files from mounted secret files ($CHAINFLEET_SECRETS_DIR/<key>)
#    or from environment variables (CHAINFLEET_SECRET_<KEY>, as ECS injects Secrets Manager
#    values), mode 0600. With CHAINFLEET_KEYS_DIR set (ECS: a tmpfs of the container's own,
#    because the home is on a shared file system) each key is written there and the home
#    holds only a symlink to it, so no key byte ever reaches the home's volume.
# 4. Wait until every host in CHAINFLEET_WAIT_HOSTS resolves: CometBFT drops a peer whose
#    name did not resolve at start.
# 5. Export the chain's home variables (CMTHOME, <APP>_HOME) as this node's home, since
#    the binary reads them before --home.
# 6. exec the node binary and its arguments ("$@"), so signals reach it.
#
# Every path is overridable by the environment, so the script also runs outside a container.
set -eu
# No globbing: file lists below are split on spaces only.
set -f

root="${CHAINFLEET_ROOT:-/chainfleet}"
home="${CHAINFLEET_HOME:-/root/.duality}"
secrets_dir="${CHAINFLEET_SECRETS_DIR:-/run/secrets}"
wait_seconds="${CHAINFLEET_WAIT_SECONDS:-300}"
wait_hosts="${CHAINFLEET_WAIT_HOSTS:-}"
keys_dir="${CHAINFLEET_KEYS_DIR:-}"

log() { printf 'chainfleet-entrypoint: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

node="${CHAINFLEET_NODE:-}"
if [ -z "$node" ]; then
  # Docker and Kubernetes set HOSTNAME (the pod name); POSIX sh does not, hence uname.
  host=$(printenv HOSTNAME 2>/dev/null || uname -n)
  node="${host%%.*}"
fi

# Per node: public files relative to the home, and private files as key:home_path.
case "$node" in
  validator-0)
    files='config/app.toml config/config.toml data/priv_validator_state.json'
    secrets='node_key:config/node_key.json priv_validator_key:config/priv_validator_key.json'
    ;;
  validator-1)
    files='config/app.toml config/config.toml data/priv_validator_state.json'
    secrets='node_key:config/node_key.json priv_validator_key:config/priv_validator_key.json'
    ;;
  validator-2)
    files='config/app.toml config/config.toml data/priv_validator_state.json'
    secrets='node_key:config/node_key.json priv_validator_key:config/priv_validator_key.json'
    ;;
  validator-3)
    files='config/app.toml config/config.toml data/priv_validator_state.json'
    secrets='node_key:config/node_key.json priv_validator_key:config/priv_validator_key.json'
    ;;
  sentry-0)
    files='config/app.toml config/config.toml'
    secrets='node_key:config/node_key.json'
    ;;
  sentry-1)
    files='config/app.toml config/config.toml'
    secrets='node_key:config/node_key.json'
    ;;
  sentry-2)
    files='config/app.toml config/config.toml'
    secrets='node_key:config/node_key.json'
    ;;
  rpc-0)
    files='config/app.toml config/config.toml'
    secrets='node_key:config/node_key.json'
    ;;
  rpc-1)
    files='config/app.toml config/config.toml'
    secrets='node_key:config/node_key.json'
    ;;
  *) die "unknown node '$node'; set CHAINFLEET_NODE to one of: validator-0 validator-1 validator-2 validator-3 sentry-0 sentry-1 sentry-2 rpc-0 rpc-1" ;;
esac

[ -d "$root" ] || die "image root $root is missing (set CHAINFLEET_ROOT)"
mkdir -p "$home"

# Copy $1 to $home/$2 through a temporary file, so a crash never leaves half a file.
install_file() {
  dest="$home/$2"
  mkdir -p "$(dirname "$dest")"
  cp "$1" "$dest.chainfleet-tmp"
  mv "$dest.chainfleet-tmp" "$dest"
}

install_file "$root/genesis.json" "config/genesis.json"
for f in $files; do
  case "$f" in
    data/*)
      if [ -e "$home/$f" ]; then
        continue
      fi
      ;;
  esac
  install_file "$root/nodes/$node/$f" "$f"
done

umask 077
if [ -n "$keys_dir" ]; then
  mkdir -p "$keys_dir" || die "cannot create CHAINFLEET_KEYS_DIR $keys_dir"
  chmod 700 "$keys_dir"
fi
for entry in $secrets; do
  key="${entry%%:*}"
  dest="$home/${entry#*:}"
  var="CHAINFLEET_SECRET_$(printf '%s' "$key" | tr '[:lower:]' '[:upper:]')"
  mkdir -p "$(dirname "$dest")"
  # Where the key's bytes go: the home, or the node's own keys folder (then the home gets
  # a symlink, replacing any key file an older deploy left on the shared volume).
  file="$dest"
  if [ -n "$keys_dir" ]; then
    file="$keys_dir/$key"
  fi
  if [ -f "$secrets_dir/$key" ]; then
    cp "$secrets_dir/$key" "$file.chainfleet-tmp"
  elif eval "[ -n \"\${$var+set}\" ]"; then
    eval "printf '%s' \"\$$var\"" >"$file.chainfleet-tmp"
  else
    die "secret '$key' of node $node: neither $secrets_dir/$key nor \$$var is set"
  fi
  chmod 600 "$file.chainfleet-tmp"
  mv "$file.chainfleet-tmp" "$file"
  if [ -n "$keys_dir" ]; then
    rm -f "$dest.chainfleet-tmp"
    ln -s "$file" "$dest.chainfleet-tmp"
    mv "$dest.chainfleet-tmp" "$dest"
  fi
  # The node has its file now; keep the key out of the node process' environment.
  unset "$var"
done
log "node $node: installed public and private files into $home"

# The chain reads its home from these before --home (the upstream CometBFT image sets
# CMTHOME=/cometbft): point them at this node's home.
CMTHOME="$home"
export CMTHOME
DUALITYD_HOME="$home"
export DUALITYD_HOME

# A target that learns the external address only at run time passes it here.
if [ -n "${CHAINFLEET_EXTERNAL_ADDRESS:-}" ]; then
  DUALITYD_P2P_EXTERNAL_ADDRESS="$CHAINFLEET_EXTERNAL_ADDRESS"
  export DUALITYD_P2P_EXTERNAL_ADDRESS
fi

resolves() {
  if command -v getent >/dev/null 2>&1; then
    getent hosts "$1" >/dev/null 2>&1
  elif command -v nslookup >/dev/null 2>&1; then
    nslookup "$1" >/dev/null 2>&1
  else
    die "neither getent nor nslookup is available to resolve $1"
  fi
}

waited=0
for h in $wait_hosts; do
  until resolves "$h"; do
    if [ "$waited" -ge "$wait_seconds" ]; then
      die "host $h did not resolve within ${wait_seconds}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
done

[ "$#" -gt 0 ] || die "no command given: pass the node binary and its arguments"
log "node $node: exec $1"
exec "$@"
