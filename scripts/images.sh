#!/usr/bin/env bash
# Build (or reuse) the container images the real-run tests need, offline: no image registry
# is reachable, so every base comes from Debian's packages.
#
#   scripts/images.sh            build what changed, reuse the rest (a second run: seconds)
#
# Images (names are stable: other scripts and the Kubernetes tests import these same ones):
#   chainfleet/debian:bookworm        base: `debootstrap --variant=minbase bookworm` from the
#                                     Debian mirror apt uses, then `docker import`
#   cometbft/cometbft:v0.38.26        stand-in of the published CometBFT image
#   ghcr.io/cosmos/simapp:v0.50.15    stand-in of the published simapp image (simd)
#   prom/prometheus:v2.55.1           stand-in: Debian's prometheus 2.42 (and promtool)
#   prom/alertmanager:v0.27.0         stand-in: Debian's prometheus-alertmanager 0.25 (and amtool)
#   chainfleet/systemd-host:bookworm  a machine for the bare-metal target's tests: systemd as
#                                     PID 1, python3 for Ansible, nftables and the Prometheus
#                                     node exporter preinstalled (the playbook's `apt` tasks
#                                     then need no mirror); tests/hosts_real.rs runs it
#   chainfleet/komodo-dpow:0.8.1      stand-in of a Komodo notary image (komodod + iguana):
#                                     scripts/standins/komodo/{komodod,iguana}, NOT the real
#                                     daemons (they cannot be built here: see README, Komodo)
#   postgres:15-bookworm              stand-in: Debian's postgresql-15 (the same 15.x line)
#                                     behind scripts/standins/postgres/docker-entrypoint.sh
#   minaprotocol/mina-archive:3.0.3-bullseye-devnet
#                                     stand-in of the Mina archive image: a recording
#                                     `mina-archive` and a stand-in schema file, NOT Mina
#   minaprotocol/mina-daemon:3.0.3-bullseye-devnet
#                                     stand-in of the Mina daemon image: a recording `mina`
#                                     that answers GraphQL with a fixed reply,
#                                     NOT Mina (no Mina binary can be obtained: README, Mina)
#
# Each stand-in mirrors the upstream image's Dockerfile (user, ENV, VOLUME, WORKDIR,
# entrypoint, CMD) on the Debian base, so what breaks on the real image breaks here:
# - CometBFT: DOCKER/Dockerfile of github.com/cometbft/cometbft@v0.38.26 (Go module cache);
#   its docker-entrypoint.sh is copied from the module cache at build time. Differences:
#   Debian instead of golang:alpine, tmuser's UID is a Debian system UID (Alpine's is 100).
# - simapp: the root Dockerfile of github.com/cosmos/cosmos-sdk@v0.50.15: root, WORKDIR /root,
#   no entrypoint, CMD simd, curl/make/bash/jq/sed. Differences: Debian instead of alpine:3;
#   simd is the SDK v0.50 simapp of ibc-go v8 (see scripts/chain-binaries).
# - Prometheus, Alertmanager: Dockerfile of prometheus v2.55.1 / alertmanager v0.27.0 (user
#   nobody, WORKDIR, VOLUME, ENTRYPOINT /bin/<tool>, CMD). Differences: Debian's older
#   versions instead of busybox + upstream builds; Alertmanager 0.25 lacks Telegram's
#   bot_token_file and webhook url_file (0.26+).
# - postgres: the official image's Dockerfile (Debian variant: user postgres, ENV PGDATA
#   /var/lib/postgresql/data and PATH with /usr/lib/postgresql/15/bin, VOLUME, entrypoint
#   docker-entrypoint.sh, STOPSIGNAL SIGINT, EXPOSE 5432, CMD postgres; no main cluster
#   created at install). Differences: Debian's 15.x build, and an entrypoint of our own
#   implementing the documented POSTGRES_USER/POSTGRES_DB/POSTGRES_PASSWORD(_FILE) contract
#   (no /docker-entrypoint-initdb.d, no gosu: setpriv).
# - mina-daemon, mina-archive: dockerfiles/Dockerfile-mina-daemon and Dockerfile-mina-archive
#   of MinaProtocol/mina (Debian, root, WORKDIR /root, ENTRYPOINT dumb-init /entrypoint.sh;
#   the archive image carries psql and /etc/mina/archive/create_schema.sql from its package).
#   Differences: bookworm instead of bullseye, recording scripts instead of `mina` and
#   `mina-archive`, a one-table stand-in schema, only postgresql-client (upstream installs
#   the whole postgresql), no gcloud SDK or puppeteer files.
# - komodo-dpow: komodoofficial/komodo's image is built from Dockerfile.release of
#   KomodoPlatform/komodo (ubuntu:20.04, root, WORKDIR /komodo, komodod and komodo-cli in
#   /komodo linked into /usr/bin, CMD ./komodod; no VOLUME, no ENTRYPOINT). The stand-in keeps
#   that layout with Debian and python3 instead of Ubuntu, scripts instead of komodod, and adds
#   what a notary image needs besides: iguana on the PATH, bash and curl.
# The chain binaries come from scripts/chain-binaries (or COMETBFT / SIMD in the environment).
#
# Every image carries the label org.chainfleet.recipe: a SHA-256 over its Dockerfile, every
# file of its build context and its base's recipe. An image whose label matches is reused;
# the debootstrap root filesystem is kept as a tarball in the cache, so even a lost base
# image is re-imported in seconds.
# Cache: ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/images/
set -euo pipefail

BASE_IMAGE="chainfleet/debian:bookworm"
COMETBFT_IMAGE="cometbft/cometbft:v0.38.26"
SIMAPP_IMAGE="ghcr.io/cosmos/simapp:v0.50.15"
PROMETHEUS_IMAGE="prom/prometheus:v2.55.1"
ALERTMANAGER_IMAGE="prom/alertmanager:v0.27.0"
KOMODO_IMAGE="chainfleet/komodo-dpow:0.8.1"
POSTGRES_IMAGE="postgres:15-bookworm"
MINA_ARCHIVE_IMAGE="minaprotocol/mina-archive:3.0.3-bullseye-devnet"
MINA_DAEMON_IMAGE="minaprotocol/mina-daemon:3.0.3-bullseye-devnet"

# Debian packages inside the images (bookworm, pinned).
BASE_INCLUDE="ca-certificates,curl,jq,make,wget"
PROMETHEUS_DEB="prometheus=2.42.0+ds-5+deb12u1"
ALERTMANAGER_DEB="prometheus-alertmanager=0.25.0-1+b4"
PYTHON_DEB="python3=3.11.2-1+b1"
HOST_IMAGE="chainfleet/systemd-host:bookworm"
HOST_DEBS="systemd=252.39-1~deb12u2 systemd-sysv=252.39-1~deb12u2 dbus=1.14.10-1~deb12u1 nftables=1.0.6-2+deb12u2 prometheus-node-exporter=1.5.0-1+b6 iproute2=6.1.0-3 procps=2:4.0.2-3"
POSTGRES_DEB="postgresql-15=15.18-0+deb12u1"
PSQL_DEB="postgresql-client-15=15.18-0+deb12u1"
DUMB_INIT_DEB="dumb-init=1.2.5-2"
COMETBFT_MODULE="github.com/cometbft/cometbft@v0.38.26"

root=$(cd "$(dirname "$0")/.." && pwd)
cache="${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/images"
docker="${DOCKER:-/usr/bin/docker}"
mkdir -p "$cache"

log() { printf 'images: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

"$docker" version >/dev/null 2>&1 || die "no Docker engine answers; run scripts/engine.sh start"

exec 9>"$cache/.lock"
flock 9

t_all=$(now)

label_of() {
  "$docker" image inspect -f '{{ index .Config.Labels "org.chainfleet.recipe" }}' "$1" 2>/dev/null || true
}

# The Debian mirror apt uses (deb822 or one-line sources), unless CHAINFLEET_DEBIAN_MIRROR.
mirror() {
  if [ -n "${CHAINFLEET_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$CHAINFLEET_DEBIAN_MIRROR"
    return
  fi
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $0 ~ / bookworm / && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
      /etc/apt/sources.list)
  fi
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# --- base image -------------------------------------------------------------------------
base_recipe=$(printf 'debootstrap %s\nvariant minbase\nsuite bookworm\ninclude %s\nmirror %s\n' \
  "$(dpkg-query -W -f='${Version}' debootstrap)" "$BASE_INCLUDE" "$(mirror)" | sha256sum | cut -c1-64)
t=$(now)
if [ "$(label_of "$BASE_IMAGE")" = "$base_recipe" ]; then
  log "reused $BASE_IMAGE ($(since "$t") s)"
else
  tarball="$cache/rootfs-bookworm-${base_recipe:0:16}.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || die "debootstrap missing; run scripts/engine.sh start"
    dir="$cache/rootfs.tmp"
    rm -rf "$dir"
    log "debootstrap bookworm from $(mirror) (about 90 s)"
    debootstrap --variant=minbase --include="$BASE_INCLUDE" bookworm "$dir" "$(mirror)" \
      >"$cache/debootstrap.log" 2>&1 || {
      tail -n 20 "$cache/debootstrap.log" >&2
      die "debootstrap failed; see $cache/debootstrap.log"
    }
    # Nothing host-specific in an image: no apt lists, caches or logs.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
      "$dir"/var/log/*.log
    : >"$dir/etc/machine-id"
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  "$docker" import \
    --change "LABEL org.chainfleet.recipe=$base_recipe" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    "$tarball" "$BASE_IMAGE" >/dev/null
  log "built $BASE_IMAGE from $tarball ($(since "$t") s)"
fi

# --- stand-ins --------------------------------------------------------------------------
# build NAME CONTEXT_DIR: the context holds a Dockerfile and its files.
build() {
  local name=$1 ctx=$2 t recipe
  t=$(now)
  recipe=$( (
    printf 'base %s\n' "$base_recipe"
    cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -c1-64)
  if [ "$(label_of "$name")" = "$recipe" ]; then
    log "reused $name ($(since "$t") s)"
    return
  fi
  DOCKER_BUILDKIT=1 "$docker" build -q --label "org.chainfleet.recipe=$recipe" \
    --build-arg "BASE=$BASE_IMAGE" -t "$name" "$ctx" >"$cache/build.log" 2>&1 || {
    tail -n 30 "$cache/build.log" >&2
    die "building $name failed"
  }
  log "built $name ($(since "$t") s)"
}

# A fresh context dir; big files are hard-linked (same filesystem) or copied.
context() {
  local dir="$cache/ctx/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}
put() { ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"; }

if [ -z "${COMETBFT:-}" ] || [ -z "${SIMD:-}" ]; then
  while IFS='=' read -r k v; do
    case "$k" in COMETBFT | SIMD) printf -v "$k" '%s' "$v" ;; esac
  done < <("$root/scripts/chain-binaries")
fi
[ -x "${COMETBFT:-}" ] || die "cometbft binary missing (COMETBFT=${COMETBFT:-})"
[ -x "${SIMD:-}" ] || die "simd binary missing (SIMD=${SIMD:-})"

# CometBFT v0.38: mirrors DOCKER/Dockerfile of the module (see the header).
gomodcache=$(go env GOMODCACHE 2>/dev/null || printf '%s' "$HOME/go/pkg/mod")
upstream_entry="$gomodcache/$COMETBFT_MODULE/DOCKER/docker-entrypoint.sh"
[ -f "$upstream_entry" ] || die "$upstream_entry missing: scripts/chain-binaries downloads the module"
ctx=$(context cometbft)
put "$COMETBFT" "$ctx/cometbft"
install -m 0755 "$upstream_entry" "$ctx/docker-entrypoint.sh"
cat >"$ctx/Dockerfile" <<'EOF'
# Stand-in for cometbft/cometbft:v0.38.26 (generated by chainfleet scripts/images.sh): the
# upstream DOCKER/Dockerfile's runtime stage on a Debian base, with the real binary.
ARG BASE
FROM ${BASE}
ENV CMTHOME /cometbft
RUN groupadd tmuser && useradd --system -g tmuser -d "$CMTHOME" -m tmuser
USER tmuser
WORKDIR $CMTHOME
EXPOSE 26656 26657 26660
STOPSIGNAL SIGTERM
COPY cometbft /usr/bin/cometbft
ENV PROXY_APP=kvstore MONIKER=dockernode CHAIN_ID=dockerchain
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
VOLUME [ "$CMTHOME" ]
EOF
build "$COMETBFT_IMAGE" "$ctx"

# simapp v0.50: mirrors the cosmos-sdk root Dockerfile's runtime stage.
ctx=$(context simapp)
put "$SIMD" "$ctx/simd"
cat >"$ctx/Dockerfile" <<'EOF'
# Stand-in for ghcr.io/cosmos/simapp:v0.50.15 (generated by chainfleet scripts/images.sh):
# the cosmos-sdk v0.50 root Dockerfile's runtime stage on a Debian base, with the real simd.
ARG BASE
FROM ${BASE}
EXPOSE 26656 26657 1317 9090
CMD ["simd"]
STOPSIGNAL SIGTERM
WORKDIR /root
COPY simd /usr/bin/simd
EOF
build "$SIMAPP_IMAGE" "$ctx"

# Prometheus: mirrors prometheus v2.55.1's Dockerfile with Debian's package.
ctx=$(context prometheus)
cat >"$ctx/Dockerfile" <<EOF
# Stand-in for $PROMETHEUS_IMAGE (generated by chainfleet scripts/images.sh): Debian's
# prometheus and promtool laid out as the upstream image.
ARG BASE
FROM \${BASE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PROMETHEUS_DEB \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /prometheus \\
 && chown -R nobody:nogroup /etc/prometheus /prometheus
WORKDIR /prometheus
USER       nobody
EXPOSE     9090
VOLUME     [ "/prometheus" ]
ENTRYPOINT [ "/bin/prometheus" ]
CMD        [ "--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus" ]
EOF
build "$PROMETHEUS_IMAGE" "$ctx"

# Alertmanager: mirrors alertmanager v0.27.0's Dockerfile with Debian's package.
ctx=$(context alertmanager)
cat >"$ctx/Dockerfile" <<EOF
# Stand-in for $ALERTMANAGER_IMAGE (generated by chainfleet scripts/images.sh): Debian's
# alertmanager and amtool laid out as the upstream image.
ARG BASE
FROM \${BASE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $ALERTMANAGER_DEB \\
 && rm -rf /var/lib/apt/lists/* \\
 && ln -sfn /usr/bin/prometheus-alertmanager /bin/alertmanager \\
 && mkdir -p /alertmanager /etc/alertmanager \\
 && chown -R nobody:nogroup /etc/alertmanager /alertmanager
USER       nobody
EXPOSE     9093
VOLUME     [ "/alertmanager" ]
WORKDIR    /alertmanager
ENTRYPOINT [ "/bin/alertmanager" ]
CMD        [ "--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager" ]
EOF
build "$ALERTMANAGER_IMAGE" "$ctx"

# Komodo notary image stand-in: Dockerfile.release's layout (see the header).
ctx=$(context komodo)
install -m 0755 "$root/scripts/standins/komodo/komodod" "$ctx/komodod"
install -m 0755 "$root/scripts/standins/komodo/iguana" "$ctx/iguana"
cat >"$ctx/Dockerfile" <<EOF
# Stand-in for $KOMODO_IMAGE (generated by chainfleet scripts/images.sh): the layout of
# komodoofficial/komodo (Dockerfile.release of KomodoPlatform/komodo) plus iguana, with
# recording stand-ins for komodod and iguana (scripts/standins/komodo). Not Komodo.
ARG BASE
FROM \${BASE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PYTHON_DEB \\
 && rm -rf /var/lib/apt/lists/*
RUN mkdir /komodo
WORKDIR /komodo
COPY komodod ./
COPY iguana /usr/local/bin/iguana
RUN ln -sf /komodo/komodod /usr/bin/komodod
CMD ./komodod
EOF
build "$KOMODO_IMAGE" "$ctx"

# A systemd machine for the bare-metal target (not a stand-in: a plain Debian host).
ctx=$(context systemd-host)
cat >"$ctx/Dockerfile" <<EOF
# A Debian bookworm machine with systemd as PID 1 (generated by chainfleet scripts/images.sh)
# for the bare-metal target's tests. No SSH: tests reach it with Ansible's docker connection.
ARG BASE
FROM \${BASE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      $PYTHON_DEB $HOST_DEBS \\
 && rm -rf /var/lib/apt/lists/* \\
 && : >/etc/machine-id \\
 && systemctl mask systemd-udevd.service systemd-udevd-control.socket \\
      systemd-udevd-kernel.socket getty@tty1.service console-getty.service
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
EOF
build "$HOST_IMAGE" "$ctx"
# PostgreSQL: the official image's layout with Debian's postgresql-15 (see the header).
ctx=$(context postgres)
install -m 0755 "$root/scripts/standins/postgres/docker-entrypoint.sh" "$ctx/docker-entrypoint.sh"
cat >"$ctx/Dockerfile" <<EOF
# Stand-in for $POSTGRES_IMAGE (generated by chainfleet scripts/images.sh): Debian's
# postgresql-15 laid out as the official image, with an entrypoint of our own.
ARG BASE
FROM \${BASE}
RUN mkdir -p /etc/postgresql-common/createcluster.d \\
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/chainfleet.conf \\
 && apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $POSTGRES_DEB \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /var/run/postgresql /var/lib/postgresql/data \\
 && chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql \\
 && chmod 3777 /var/run/postgresql
ENV PATH \$PATH:/usr/lib/postgresql/15/bin
ENV PGDATA /var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
EOF
build "$POSTGRES_IMAGE" "$ctx"

# Mina daemon and archive: the layout of Mina's own images, recording scripts inside.
ctx=$(context mina-daemon)
install -m 0755 "$root/scripts/standins/mina/mina" "$ctx/mina"
install -m 0755 "$root/scripts/standins/mina/entrypoint.sh" "$ctx/entrypoint.sh"
cat >"$ctx/Dockerfile" <<EOF
# Stand-in for $MINA_DAEMON_IMAGE (generated by chainfleet scripts/images.sh): the layout
# of dockerfiles/Dockerfile-mina-daemon (MinaProtocol/mina) with a recording mina that
# answers GraphQL with a fixed reply. Not Mina.
ARG BASE
FROM \${BASE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $DUMB_INIT_DEB $PYTHON_DEB \\
 && rm -rf /var/lib/apt/lists/*
COPY mina /usr/local/bin/mina
COPY entrypoint.sh /entrypoint.sh
WORKDIR /root/
ENV MINA_TIME_OFFSET 0
ENTRYPOINT ["/usr/bin/dumb-init", "/entrypoint.sh"]
EOF
build "$MINA_DAEMON_IMAGE" "$ctx"

ctx=$(context mina-archive)
install -m 0755 "$root/scripts/standins/mina/mina-archive" "$ctx/mina-archive"
install -m 0755 "$root/scripts/standins/mina/entrypoint.sh" "$ctx/entrypoint.sh"
install -m 0644 "$root/scripts/standins/mina/create_schema.sql" "$ctx/create_schema.sql"
cat >"$ctx/Dockerfile" <<EOF
# Stand-in for $MINA_ARCHIVE_IMAGE (generated by chainfleet scripts/images.sh): the layout
# of dockerfiles/Dockerfile-mina-archive (MinaProtocol/mina) with a recording mina-archive
# and a stand-in schema. Not Mina.
ARG BASE
FROM \${BASE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $DUMB_INIT_DEB $PYTHON_DEB $PSQL_DEB \\
 && rm -rf /var/lib/apt/lists/*
COPY mina-archive /usr/local/bin/mina-archive
COPY create_schema.sql /etc/mina/archive/create_schema.sql
COPY entrypoint.sh /entrypoint.sh
ENTRYPOINT ["/usr/bin/dumb-init", "/entrypoint.sh"]
EOF
build "$MINA_ARCHIVE_IMAGE" "$ctx"

log "done in $(since "$t_all") s"
