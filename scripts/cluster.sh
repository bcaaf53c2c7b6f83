#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the test suite, built from what is reachable
# offline (Go module proxy + Debian), cached outside the checkout.
#
#   scripts/cluster.sh build    install pinned Debian packages, build Kubernetes v1.30.14
#                               (one `go build`), CoreDNS, a static pause image (cached;
#                               a second run is a no-op)
#   scripts/cluster.sh up       start etcd, containerd, apiserver, controller-manager,
#                               scheduler, kubelet, kube-proxy, CoreDNS; wait for node Ready
#                               and DNS; print KUBECONFIG=..., CTR_ADDRESS=..., timings
#   scripts/cluster.sh down     tear everything down and leave the host as found
#   scripts/cluster.sh status   print what runs
#   scripts/cluster.sh import   read an image tarball (docker save) on stdin into containerd
#   scripts/cluster.sh env      print the KEY=VALUE lines `up` prints
#
# Everything lives in ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/k8s: bin/ (binaries),
# run/ (certificates, configs, etcd data, logs of this cluster run). Our containerd is a
# separate instance (own config, root, state and socket under /run/chainfleet-k8s) so it never
# interferes with a Docker engine's containerd on the same machine.
#
# Route and machine-specific fixes follow shared/reference/real-runs.md (Kubernetes section):
# the runc wrapper (this VM refuses a negative oom_score_adj), the CNI firewall plugin (FORWARD
# policy DROP once Docker ran), kubelet address types (hostname resolves to 127.0.0.1) and a
# static pause image (no registry).
set -euo pipefail

K8S_VERSION="v1.30.14"        # newest minor whose staging modules the Go proxy serves completely
K8S_STAGING_VERSION="v0.30.14"
COREDNS_VERSION="v1.14.7"
# Debian 12 packages, pinned.
APT_PKGS=(
  "etcd-server=3.4.23-4+b4"
  "containerd=1.6.20~ds1-1+deb12u3"
  "runc=1.1.5+ds1-1+deb12u1"
  "containernetworking-plugins=1.1.1+ds1-3+b5"
  "iptables=1.8.9-2"
  "conntrack=1:1.4.7-1+b2"
  "busybox-static=1:1.35.0-4+deb12u1+b1"
)

CACHE="${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/k8s"
BIN="$CACHE/bin"
RUN="$CACHE/run"
LOGS="$RUN/logs"
STATE=/run/chainfleet-k8s          # containerd socket/state, pids
CTR_SOCK="$STATE/containerd.sock"
CTR_ROOT=/var/lib/chainfleet-k8s/containerd
KUBELET_ROOT=/var/lib/chainfleet-k8s/kubelet
NODE_NAME=chainfleet-node
# The node address is an extra address on lo (this kernel has no dummy links): nothing binds
# the machine's real address.
NODE_IP=10.97.255.1
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
DNS_IP=10.96.0.10
POD_CIDR=10.244.0.0/16
CNI_BRIDGE=cfk8s0
CNI_NET=chainfleet-k8s
CNI_CONF_DIR="$RUN/cni"
CNI_BIN_DIR=/usr/lib/cni
APISERVER_PORT=16443
ETCD_PORT=12379
ETCD_PEER_PORT=12380
PAUSE_IMAGE=registry.k8s.io/pause:3.9
COREDNS_IMAGE=chainfleet.local/coredns:${COREDNS_VERSION}
BUSYBOX_IMAGE=chainfleet.local/busybox:static

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

export GOTOOLCHAIN=local

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (containerd, kubelet, iptables)"; }

# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------

apt_install() {
  local missing=() p name ver
  for p in "${APT_PKGS[@]}"; do
    name=${p%%=*}; ver=${p#*=}
    if [ "$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || true)" != "$ver" ]; then
      missing+=("$p")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if ! apt-cache policy "${missing[0]%%=*}" | grep -q Candidate; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
  fi
  # policy-rc.d may refuse to start the packaged services: we run our own instances.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2
}

build_kubernetes() {
  local stamp="$BIN/.stamp-kubernetes" recipe
  recipe="kubernetes $K8S_VERSION staging $K8S_STAGING_VERSION go $(go env GOVERSION) cgo0 trimpath"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] && [ -x "$BIN/kubelet" ]; then
    return 0
  fi
  local src="$CACHE/src/kubernetes-wrapper" t0
  t0=$(now)
  mkdir -p "$src" "$BIN"
  # The wrapper module: k8s.io/kubernetes cannot be `go install`ed directly (its go.mod
  # replaces the staging modules with ./staging paths). Repeat its replaces with the
  # published staging versions instead.
  local kmod
  kmod=$(curl -fsS "https://proxy.golang.org/k8s.io/kubernetes/@v/${K8S_VERSION}.mod") \
    || die "cannot fetch k8s.io/kubernetes ${K8S_VERSION}.mod from the Go module proxy"
  {
    echo "module chainfleet.local/kubernetes-wrapper"
    echo
    echo "go 1.22.0"
    echo
    echo "require k8s.io/kubernetes ${K8S_VERSION}"
    echo
    echo "replace ("
    printf '%s\n' "$kmod" | awk -v v="$K8S_STAGING_VERSION" \
      '/=> \.\/staging\/src\// { printf "\t%s => %s %s\n", $1, $1, v }'
    echo ")"
  } >"$src/go.mod"
  cat >"$src/tools.go" <<'EOF'
//go:build tools

// Package tools pins the Kubernetes commands this module builds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
EOF
  log "building Kubernetes $K8S_VERSION (one go build; cold about 9 min on 2 cores)"
  local ld="-s -w"
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=30 -X $v.gitTreeState=clean"
  done
  (cd "$src" && GOFLAGS=-mod=mod go mod download k8s.io/kubernetes >&2 \
    && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 go build -trimpath -ldflags "$ld" -o "$BIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
      k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl >&2) \
    || die "go build of Kubernetes failed"
  printf '%s' "$recipe" >"$stamp"
  log "Kubernetes built in $(since "$t0") s"
  echo "K8S_BUILD_SECONDS=$(since "$t0")" >"$BIN/.build-time-kubernetes"
}

build_coredns() {
  local stamp="$BIN/.stamp-coredns" recipe t0
  recipe="coredns $COREDNS_VERSION go $(go env GOVERSION) cgo0 trimpath"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] && [ -x "$BIN/coredns" ]; then
    return 0
  fi
  t0=$(now)
  log "building CoreDNS $COREDNS_VERSION"
  GOBIN="$BIN" CGO_ENABLED=0 nice -n 10 go install -trimpath -ldflags "-s -w" \
    "github.com/coredns/coredns@$COREDNS_VERSION" >&2 || die "go install of CoreDNS failed"
  printf '%s' "$recipe" >"$stamp"
  log "CoreDNS built in $(since "$t0") s"
  echo "COREDNS_BUILD_SECONDS=$(since "$t0")" >"$BIN/.build-time-coredns"
}

build_pause() {
  # The Kubernetes tree's own pause.c, linked statically: the sandbox image without a registry.
  [ -x "$BIN/pause" ] && return 0
  local pc
  pc="$(go env GOMODCACHE)/k8s.io/kubernetes@${K8S_VERSION}/build/pause/linux/pause.c"
  [ -f "$pc" ] || (cd "$CACHE/src/kubernetes-wrapper" && go mod download k8s.io/kubernetes >&2)
  gcc -Os -static -DVERSION="$K8S_VERSION" -o "$BIN/pause.tmp" "$pc" || die "cannot build pause"
  mv "$BIN/pause.tmp" "$BIN/pause"
}

cmd_build() {
  need_root
  command -v go >/dev/null || die "go not found"
  mkdir -p "$BIN"
  local t0; t0=$(now)
  apt_install
  build_kubernetes
  build_coredns
  build_pause
  log "build done in $(since "$t0") s (cached in $BIN)"
  cat "$BIN"/.build-time-* 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# images (no registry): docker-archive tarballs written here, imported into our containerd
# ---------------------------------------------------------------------------------------------

# make_image NAME:TAG ROOTFS_DIR ENTRYPOINT_JSON -> docker-archive tar on stdout
make_image() {
  local ref="$1" rootfs="$2" entry="$3" tmp layer_sha config config_sha
  tmp=$(mktemp -d)
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$rootfs" -cf "$tmp/layer.tar" .
  layer_sha=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
  mkdir "$tmp/$layer_sha"
  mv "$tmp/layer.tar" "$tmp/$layer_sha/layer.tar"
  config=$(printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$entry" "$layer_sha")
  config_sha=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" >"$tmp/$config_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$config_sha" "$ref" "$layer_sha" >"$tmp/manifest.json"
  tar -C "$tmp" -cf - manifest.json "$config_sha.json" "$layer_sha"
  rm -rf "$tmp"
}

ctr_() { ctr --address "$CTR_SOCK" -n k8s.io "$@"; }

import_base_images() {
  local r
  r=$(mktemp -d)
  mkdir -p "$r/pause" "$r/coredns/etc/coredns" "$r/busybox/bin" "$r/busybox/tmp"
  cp "$BIN/pause" "$r/pause/pause"
  cp "$BIN/coredns" "$r/coredns/coredns"
  cp /bin/busybox "$r/busybox/bin/busybox"
  for a in sh nc sleep cat ls echo wget nslookup id mkdir; do ln -s busybox "$r/busybox/bin/$a"; done
  chmod 1777 "$r/busybox/tmp"
  make_image "$PAUSE_IMAGE" "$r/pause" '["/pause"]' | ctr_ images import - >/dev/null
  make_image "$COREDNS_IMAGE" "$r/coredns" '["/coredns"]' | ctr_ images import - >/dev/null
  make_image "$BUSYBOX_IMAGE" "$r/busybox" '["/bin/sh"]' | ctr_ images import - >/dev/null
  rm -rf "$r"
}

cmd_import() {
  [ -S "$CTR_SOCK" ] || die "cluster is not up"
  ctr_ images import - >&2
}

# ---------------------------------------------------------------------------------------------
# up
# ---------------------------------------------------------------------------------------------

pki() {
  local d="$RUN/pki"
  mkdir -p "$d"
  (
    cd "$d"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
    # cert NAME SUBJECT [SAN] [EXTENDED_KEY_USAGE]
    cert() {
      key "$1"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=${4:-clientAuth}"
        if [ -n "${3:-}" ]; then echo "subjectAltName=$3"; fi
      } >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    key ca
    openssl req -x509 -new -key ca.key -subj "/CN=chainfleet-k8s-ca" -days 3 -out ca.crt 2>/dev/null
    cert apiserver "/CN=kube-apiserver" \
      "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$SERVICE_IP,IP:$NODE_IP" \
      serverAuth
    cert kubelet-serving "/CN=$NODE_NAME" "DNS:$NODE_NAME,IP:$NODE_IP,IP:127.0.0.1" serverAuth
    cert admin "/O=system:masters/CN=chainfleet-admin"
    cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    cert controller-manager "/CN=system:kube-controller-manager"
    cert scheduler "/CN=system:kube-scheduler"
    cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
    cert kube-proxy "/CN=system:kube-proxy"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  local n
  for n in admin controller-manager scheduler kubelet kube-proxy; do
    kubeconfig "$n" >"$RUN/$n.kubeconfig"
  done
}

kubeconfig() {
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chainfleet
  cluster:
    server: https://$NODE_IP:$APISERVER_PORT
    certificate-authority: $RUN/pki/ca.crt
users:
- name: $1
  user:
    client-certificate: $RUN/pki/$1.crt
    client-key: $RUN/pki/$1.key
contexts:
- name: chainfleet
  context: {cluster: chainfleet, user: $1}
current-context: chainfleet
EOF
}

# start NAME CMD... : a daemon in its own session, log under $LOGS, pid under $STATE/pids
start() {
  local name="$1"; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name"
}

alive() { [ -f "$STATE/pids/$1" ] && kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null; }

# wait_for SECONDS WHAT CMD... : poll CMD every 0.2 s
wait_for() {
  local deadline what="$2"
  deadline=$(( $(date +%s) + $1 )); shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}

kc() { "$BIN/kubectl" --kubeconfig "$RUN/admin.kubeconfig" "$@"; }

record_host() {
  # What was here before, so `down` removes only what the cluster added.
  local f="$STATE/host-before" t s p c
  : >"$f"
  for t in filter nat mangle raw; do
    iptables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1=="-N"{print "chain4", t, $2}' >>"$f"
    ip6tables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1=="-N"{print "chain6", t, $2}' >>"$f"
  done
  for s in vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
    kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet \
    net.netfilter.nf_conntrack_max net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables; do
    if [ -e "/proc/sys/${s//.//}" ]; then echo "sysctl $s $(sysctl -n "$s")" >>"$f"; fi
  done
  for p in /var/log/pods /var/log/containers /var/lib/cni /tmp/hostpath_pv /etc/cni/net.d /opt/cni; do
    if [ -e "$p" ]; then echo "existed $p" >>"$f"; fi
  done
  for c in /sys/fs/cgroup/*/kubepods; do
    if [ -d "$c" ]; then echo "existed $c" >>"$f"; fi
  done
}

write_configs() {
  mkdir -p "$CNI_CONF_DIR"
  # firewall: once Docker ran, the FORWARD policy is DROP; the plugin admits pod traffic.
  cat >"$CNI_CONF_DIR/10-chainfleet.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni-ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"}
  ]
}
EOF
  # This VM refuses a negative oom_score_adj even to root, and kubelet asks for -998 on the
  # pause container and on guaranteed pods: clamp it to 0 in the bundle before runc runs.
  cat >"$RUN/runc-wrapper" <<'EOF'
#!/bin/sh
bundle=
prev=
for a in "$@"; do
  if [ "$prev" = "--bundle" ] || [ "$prev" = "-b" ]; then bundle=$a; fi
  prev=$a
done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
  sed -i -E 's/"oomScoreAdj":-[0-9]+/"oomScoreAdj":0/' "$bundle/config.json"
fi
exec /usr/sbin/runc "$@"
EOF
  chmod 755 "$RUN/runc-wrapper"
  cat >"$RUN/containerd.toml" <<EOF
version = 2
root = "$CTR_ROOT"
state = "$STATE/containerd"
oom_score = 0
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTR_ROOT/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$RUN/runc-wrapper"
        Root = "$STATE/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
EOF
  cat >"$RUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $RUN/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $RUN/pki/kubelet-serving.crt
tlsPrivateKeyFile: $RUN/pki/kubelet-serving.key
cgroupDriver: cgroupfs
failSwapOn: false
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
containerRuntimeEndpoint: unix://$CTR_SOCK
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 10s
protectKernelDefaults: false
EOF
  cat >"$RUN/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $RUN/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0}
iptables: {masqueradeAll: true}
EOF
}

cluster_objects() {
  cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  # No forward: names resolve inside the cluster only (no upstream is reachable anyway).
  Corefile: |
    .:53 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 2
        }
        cache 2
        loop
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
          periodSeconds: 1
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
EOF
}

# The hostpath provisioner makes each volume directory root-owned 0750 and hostPath volumes
# ignore fsGroup, so a non-root node could not write its volume. Open each new directory the
# way kind's local-path-provisioner does (0777) before a pod can mount it.
volume_opener() {
  while :; do
    for d in /tmp/hostpath_pv/*/; do
      if [ -d "$d" ] && [ "$(stat -c %a "$d")" != 777 ]; then chmod 0777 "$d"; fi
    done
    sleep 0.2
  done
}

ready_status() {
  # ready_status ARGS... : every object's Ready condition is True
  local s
  s=$(kc get "$@" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null) || return 1
  [ -n "$s" ] && ! printf '%s\n' "$s" | grep -qvx True
}

cmd_up() {
  need_root
  [ -x "$BIN/kubelet" ] && [ -x "$BIN/coredns" ] && [ -x "$BIN/pause" ] \
    || die "cluster binaries missing: run scripts/cluster.sh build"
  if [ -f "$STATE/pids/kube-apiserver" ]; then die "a cluster is already up (scripts/cluster.sh down)"; fi
  local t0 t secs
  t0=$(now)
  rm -rf "$RUN"
  mkdir -p "$RUN" "$LOGS" "$STATE/pids" "$CTR_ROOT" "$KUBELET_ROOT"
  record_host
  # An EXIT trap, not ERR: set -e leaves from inside nested functions (a failed image import,
  # openssl) without running an ERR trap, and die exits directly; either way tear down.
  UP_DONE=0
  trap '[ "$UP_DONE" = 1 ] || { log "up failed; logs in $LOGS"; cmd_down; exit 1; }' EXIT
  ip addr add "$NODE_IP/32" dev lo
  pki
  write_configs
  start etcd etcd --name chainfleet --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "chainfleet=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync
  start containerd containerd --config "$RUN/containerd.toml"
  start kube-apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$RUN/pki/ca.crt" \
    --tls-cert-file "$RUN/pki/apiserver.crt" --tls-private-key-file "$RUN/pki/apiserver.key" \
    --kubelet-client-certificate "$RUN/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$RUN/pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$RUN/pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$RUN/pki/sa.pub" \
    --service-account-signing-key-file "$RUN/pki/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --profiling=false --v=1
  wait_for 60 "containerd" test -S "$CTR_SOCK"
  t=$(now); import_base_images; log "base images imported in $(since "$t") s"
  wait_for 90 "kube-apiserver /readyz" kc get --raw /readyz
  log "apiserver ready at $(since "$t0") s"
  # Only after /readyz: the controller-manager exits when RBAC is not served yet.
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$RUN/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$RUN/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$RUN/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false \
    --service-account-private-key-file "$RUN/pki/sa.key" --root-ca-file "$RUN/pki/ca.crt" \
    --use-service-account-credentials=true --service-cluster-ip-range "$SERVICE_CIDR" \
    --enable-hostpath-provisioner=true --controllers '*,-nodeipam,-cloud-node-lifecycle' \
    --profiling=false --v=1
  start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$RUN/scheduler.kubeconfig" \
    --authentication-kubeconfig "$RUN/scheduler.kubeconfig" \
    --authorization-kubeconfig "$RUN/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1
  start kubelet "$BIN/kubelet" --config "$RUN/kubelet.yaml" --kubeconfig "$RUN/kubelet.kubeconfig" \
    --root-dir "$KUBELET_ROOT" --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --v=1
  start kube-proxy "$BIN/kube-proxy" --config "$RUN/kube-proxy.yaml" --v=1
  start volume-opener bash -c "$(declare -f volume_opener); volume_opener"
  cluster_objects | kc apply -f - >/dev/null
  wait_for 90 "node Ready" ready_status nodes
  log "node Ready at $(since "$t0") s"
  wait_for 120 "CoreDNS Ready" ready_status pods -n kube-system -l k8s-app=kube-dns
  UP_DONE=1
  trap - EXIT
  secs=$(since "$t0")
  log "cluster up in $secs s (warm start)"
  echo "CLUSTER_UP_SECONDS=$secs" >"$RUN/up-time"
  cmd_env
}

cmd_env() {
  echo "KUBECONFIG=$RUN/admin.kubeconfig"
  echo "KUBECTL=$BIN/kubectl"
  echo "CTR_ADDRESS=$CTR_SOCK"
  echo "CLUSTER_SH=$(cd "$(dirname "$0")" && pwd)/cluster.sh"
  echo "BUSYBOX_IMAGE=$BUSYBOX_IMAGE"
  cat "$RUN/up-time" 2>/dev/null || true
  cat "$BIN"/.build-time-* 2>/dev/null || true
}

cmd_status() {
  local n
  for n in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy volume-opener; do
    if alive "$n"; then echo "$n running (pid $(cat "$STATE/pids/$n"))"; else echo "$n stopped"; fi
  done
  if alive kube-apiserver; then kc get nodes,pods -A -o wide 2>&1 || true; fi
}

# ---------------------------------------------------------------------------------------------
# down: workloads before kubelet, then iptables chains, the bridge, netns, mounts, cgroups
# ---------------------------------------------------------------------------------------------

# stop NAME [SECONDS]: SIGTERM to its session, SIGKILL after SECONDS (the apiserver's graceful
# stop can take over a minute).
stop() {
  local name="$1" secs="${2:-10}" pid i
  [ -f "$STATE/pids/$name" ] || return 0
  pid=$(cat "$STATE/pids/$name")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/pids/$name"
}

# remove_chains IPTABLES FAMILY: chains named KUBE-* or CNI-* that were not there before:
# drop the jumps to them, flush, delete.
remove_chains() {
  local cmd="$1" fam="$2" t c rule
  for t in filter nat mangle raw; do
    local added=()
    while read -r c; do
      grep -qx "$fam $t $c" "$STATE/host-before" 2>/dev/null || added+=("$c")
    done < <("$cmd" -t "$t" -S 2>/dev/null | awk '$1=="-N" && ($2 ~ /^KUBE-/ || $2 ~ /^CNI-/) {print $2}')
    [ "${#added[@]}" -eq 0 ] && continue
    for c in "${added[@]}"; do
      while read -r rule; do
        eval "$cmd -t $t ${rule/-A /-D }" 2>/dev/null || true
      done < <("$cmd" -t "$t" -S 2>/dev/null | grep -E -- "^-A .* -j $c( |\$)" || true)
    done
    for c in "${added[@]}"; do "$cmd" -t "$t" -F "$c" 2>/dev/null || true; done
    for c in "${added[@]}"; do "$cmd" -t "$t" -X "$c" 2>/dev/null || true; done
  done
}

unmount_under() {
  local p m
  for p in "$@"; do
    # Deepest first.
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
      awk -v p="$p" 'index($2, p) == 1 {print $2}' /proc/self/mounts | sort -r)
  done
}

# containerd-shim-runc-v2 processes started by our containerd: their command line names our
# socket, so only ours match.
kill_our_shims() {
  local pid
  for pid in $(pgrep -f -- "-address $CTR_SOCK" 2>/dev/null || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

cmd_down() {
  need_root
  local t0 id ns c d k s v
  t0=$(now)
  if alive kube-apiserver && alive kubelet; then
    # No controller may recreate what we delete; then kubelet stops every pod (its CNI DEL
    # removes the pod's address, veth and netns).
    stop kube-controller-manager 5
    stop kube-scheduler 5
    kc delete pods --all --all-namespaces --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
    wait_for 60 "pods to stop" sh -c "[ -z \"\$(ctr --address '$CTR_SOCK' -n k8s.io tasks ls -q 2>/dev/null)\" ]" || true
  fi
  stop volume-opener 2
  stop kube-controller-manager 5
  stop kube-scheduler 5
  stop kubelet 10
  stop kube-proxy 5
  if [ -x "$BIN/kube-proxy" ]; then "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  stop kube-apiserver 15
  stop etcd 10
  # Anything kubelet did not stop.
  if [ -S "$CTR_SOCK" ]; then
    for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
    sleep 0.5
    for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true; done
  fi
  stop containerd 10
  kill_our_shims
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do ip netns delete "$ns" 2>/dev/null || true; done
  unmount_under "$KUBELET_ROOT" "$CTR_ROOT" "$STATE/" /run/netns/cni-
  ip link del "$CNI_BRIDGE" 2>/dev/null || true
  ip addr del "$NODE_IP/32" dev lo 2>/dev/null || true
  remove_chains iptables chain4
  remove_chains ip6tables chain6
  for c in /sys/fs/cgroup/*/kubepods; do
    [ -d "$c" ] || continue
    grep -qx "existed $c" "$STATE/host-before" 2>/dev/null && continue
    find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  if [ -f "$STATE/host-before" ]; then
    while read -r k s v; do
      if [ "$k" = sysctl ] && [ "$(sysctl -n "$s" 2>/dev/null)" != "$v" ]; then sysctl -qw "$s=$v" || true; fi
    done <"$STATE/host-before"
    for d in /var/log/pods /var/log/containers /var/lib/cni /tmp/hostpath_pv /etc/cni/net.d /opt/cni; do
      grep -qx "existed $d" "$STATE/host-before" || rm -rf "$d"
    done
  fi
  rm -rf /var/lib/chainfleet-k8s "$STATE"
  log "down in $(since "$t0") s (logs kept in $LOGS)"
}

# ---------------------------------------------------------------------------------------------
main() {
  case "${1:-}" in
    build) cmd_build ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    import) cmd_import ;;
    env) cmd_env ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}
main "$@"
