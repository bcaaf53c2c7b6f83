#!/usr/bin/env bash
# chainfleet: start a Komodo notary's iguana and drive it the way KomodoPlatform's notary
# scripts do (KomodoPlatform/dPoW: iguana/m_notary_main, m_notary_testnet, dpowassets,
# wp_7776 and iguana/coins/*_7776), with the daemons on other hosts reached by URL.
#
# Usage: iguana-run.sh HOME --rpc-port N --dpow-port N [--addnotary HOST]...
#          [--coin SYM=HOST:RPCPORT:P2PPORT:CONF]... [--assetchain SYM=HOST:RPCPORT:P2PPORT:CONF]...
#          -- IGUANA [ARG...]
#
# 1. Reads the notary's passphrase and pubkey from the secrets installed in HOME
#    (iguana/passphrase.txt `passphrase=<WIF>`, iguana/pubkey.txt `pubkey=<hex>`, the files
#    dPoW's scripts source) and every coin's rpcuser/rpcpassword (HOME/CONF).
# 2. Waits until every daemon answers `getinfo` at HOST:RPCPORT, and learns from it what
#    iguana's `addcoin` needs: the network magic and the genesis block.
# 3. Renders HOME/iguana/notaries.json (iguana's notary file: port, rpcport, minsigs, notaries)
#    with the ports into HOME/iguana/work/ and starts IGUANA there (it reads the file from its
#    working directory, as `iguana notary` / `iguana 3rd_party` do).
# 4. Over iguana's RPC port: `myipaddr`, `addnotary` per notary, `addcoin` per coin (with
#    `rpchost`, so the daemon may run on another host), `walletpassphrase`, then `dpow` per
#    assetchain with the pubkey. KMD is added as a coin when a KMD daemon runs, but gets no
#    `dpow`: KMD notarises to LTC/BTC, which a test network does not run.
# 5. Waits for iguana; exits with its status (the orchestrator restarts the node).
set -euo pipefail

log() { printf 'iguana-run.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

(($# > 0)) || die "usage: iguana-run.sh HOME --rpc-port N --dpow-port N ... -- IGUANA [ARG...]"
home=$1
shift
rpc_port=7776
dpow_port=7775
notaries=()
coins=()
assetchains=()
while (($# > 0)) && [[ $1 != "--" ]]; do
  (($# >= 2)) || die "$1 needs a value"
  case "$1" in
    --rpc-port) rpc_port=$2 ;;
    --dpow-port) dpow_port=$2 ;;
    --addnotary) notaries+=("$2") ;;
    --coin) coins+=("$2") ;;
    --assetchain) assetchains+=("$2") ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done
(($# > 1)) || die "missing -- IGUANA [ARG...]"
shift

wait_seconds=${CHAINFLEET_IGUANA_WAIT_SECONDS:-600}
command -v curl >/dev/null || die "curl is missing from the image: the notary procedure drives iguana over HTTP"

# `key=value` from a file (the last one wins), without sourcing it.
value_of() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

passphrase_file="$home/iguana/passphrase.txt"
pubkey_file="$home/iguana/pubkey.txt"
[[ -s $passphrase_file ]] || die "$passphrase_file is missing: the notary_passphrase secret was not installed"
[[ -s $pubkey_file ]] || die "$pubkey_file is missing: the notary_pubkey secret was not installed"
passphrase=$(value_of passphrase "$passphrase_file")
pubkey=$(value_of pubkey "$pubkey_file")
[[ -n $passphrase ]] || die "$passphrase_file has no passphrase= line"
[[ $pubkey =~ ^0[23][0-9a-f]{64}$ ]] || die "$pubkey_file has no pubkey=<33-byte hex> line"

# JSON-RPC 1.0 call to a daemon: daemon HOST:PORT CONF METHOD PARAMS. Credentials go to curl
# on stdin, never on its command line.
daemon() {
  local addr=$1 conf=$2 method=$3 params=$4 user pass
  user=$(value_of rpcuser "$conf")
  pass=$(value_of rpcpassword "$conf")
  printf 'user = "%s:%s"\n' "$user" "$pass" |
    curl -sS --fail --max-time 30 -K - -H 'content-type: text/plain;' \
      --data-binary "{\"jsonrpc\":\"1.0\",\"id\":\"chainfleet\",\"method\":\"$method\",\"params\":$params}" \
      "http://$addr/"
}

# Network magic (komodod's getinfo `magic`, a signed int32) as iguana's `netmagic`: the
# message-start bytes in wire order (little-endian), e.g. KMD's f9eee48d.
netmagic() {
  local m=$(($1 & 0xffffffff))
  printf '%02x%02x%02x%02x' $((m & 255)) $((m >> 8 & 255)) $((m >> 16 & 255)) $((m >> 24 & 255))
}

declare -A coin_json=()
order=()
prepare() {
  local kind=$1 spec=$2 sym rest host rpc p2p conf addr info magic hash block waited=0
  sym=${spec%%=*}
  rest=${spec#*=}
  conf=${rest##*:}
  rest=${rest%:*}
  p2p=${rest##*:}
  rest=${rest%:*}
  rpc=${rest##*:}
  host=${rest%:*}
  addr="$host:$rpc"
  [[ -s "$home/$conf" ]] || die "$home/$conf is missing: the $sym credentials secret was not installed"
  until info=$(daemon "$addr" "$home/$conf" getinfo '[]' 2>/dev/null) && [[ $info == *'"magic"'* ]]; do
    ((waited < wait_seconds)) || die "$sym at $addr did not answer getinfo within ${wait_seconds}s"
    sleep 2
    waited=$((waited + 2))
  done
  magic=$(sed -n 's/.*"magic"[[:space:]]*:[[:space:]]*\(-\{0,1\}[0-9][0-9]*\).*/\1/p' <<<"$info")
  hash=$(daemon "$addr" "$home/$conf" getblockhash '[0]' |
    sed -n 's/.*"result"[[:space:]]*:[[:space:]]*"\([0-9a-f]*\)".*/\1/p')
  block=$(daemon "$addr" "$home/$conf" getblock "[\"$hash\",0]" |
    sed -n 's/.*"result"[[:space:]]*:[[:space:]]*"\([0-9a-f]*\)".*/\1/p')
  [[ -n $magic && -n $hash && -n $block ]] || die "$sym at $addr: no magic or genesis block in its answers"
  local name=$sym
  [[ $sym == KMD ]] && name=Komodo
  # The fields of dPoW's iguana/coins/<coin>_7776 files; `path` as they write it (the daemon
  # folder without its leading /, where iguana reads `conf` for rpcuser/rpcpassword), and
  # `rpchost`, which iguana prefers to 127.0.0.1:<rpc> (iguana_chainparms()).
  coin_json[$sym]="{\"conf\":\"${conf##*/}\",\"path\":\"$(dirname "${home#/}/$conf")\",\"unitval\":\"20\",\"zcash\":1,\"RELAY\":-1,\"VALIDATE\":0,\"prefetchlag\":-1,\"poll\":100,\"active\":1,\"agent\":\"iguana\",\"method\":\"addcoin\",\"startpend\":4,\"endpend\":4,\"services\":129,\"maxpeers\":8,\"newcoin\":\"$sym\",\"name\":\"$name\",\"hasheaders\":1,\"useaddmultisig\":0,\"netmagic\":\"$(netmagic "$magic")\",\"p2p\":$p2p,\"rpc\":$rpc,\"rpchost\":\"$addr\",\"pubval\":60,\"p2shval\":85,\"wifval\":188,\"txfee_satoshis\":\"10000\",\"isPoS\":0,\"minoutput\":10000,\"minconfirms\":2,\"genesishash\":\"$hash\",\"protover\":170002,\"genesisblock\":\"$block\",\"debug\":0}"
  order+=("$kind:$sym")
  log "$sym: daemon at $addr answers (magic $magic)"
}
for c in ${coins[@]+"${coins[@]}"}; do prepare coin "$c"; done
for c in ${assetchains[@]+"${assetchains[@]}"}; do prepare assetchain "$c"; done

work="$home/iguana/work"
mkdir -p "$work"
template="$home/iguana/notaries.json"
[[ -s $template ]] || die "$template is missing from the image"
sed -e "s/@DPOW_PORT@/$dpow_port/g" -e "s/@RPC_PORT@/$rpc_port/g" "$template" >"$work/notaries.json"

cd "$work"
"$@" &
iguana=$!
trap 'kill -TERM "$iguana" 2>/dev/null || true' TERM INT
log "started $1 (pid $iguana) on its notary file; RPC port $rpc_port, dPoW port $dpow_port"

# iguana's RPC, as the upstream scripts call it (curl --url ... --data ...).
iguana_rpc() { curl -sS --max-time 60 --url "http://127.0.0.1:$rpc_port" --data "$1"; }

waited=0
until iguana_rpc '{"agent":"SuperNET","method":"help"}' >/dev/null 2>&1; do
  kill -0 "$iguana" 2>/dev/null || {
    wait "$iguana" || exit $?
    die "iguana exited before its RPC answered"
  }
  ((waited < 120)) || die "iguana's RPC on port $rpc_port did not answer within 120s"
  sleep 1
  waited=$((waited + 1))
done

call() {
  local what=$1 body=$2 answer
  answer=$(iguana_rpc "$body") || die "$what: iguana's RPC failed"
  log "$what: ${answer:0:200}"
}

# An address iguana can dial: its IPv4 when the name resolves, else the name.
ip_of() { getent ahostsv4 "$1" 2>/dev/null | awk '{ print $1; exit }' || true; }

myip=$(hostname -i 2>/dev/null | awk '{ print $1 }' || true)
if [[ -n $myip ]]; then
  call "myipaddr $myip" "{\"agent\":\"SuperNET\",\"method\":\"myipaddr\",\"ipaddr\":\"$myip\"}"
fi
for h in ${notaries[@]+"${notaries[@]}"}; do
  ip=$(ip_of "$h")
  call "addnotary $h" "{\"agent\":\"iguana\",\"method\":\"addnotary\",\"ipaddr\":\"${ip:-$h}\"}"
done
for entry in ${order[@]+"${order[@]}"}; do
  sym=${entry#*:}
  call "addcoin $sym" "${coin_json[$sym]}"
done
# The passphrase is never logged, nor iguana's answer to it.
iguana_rpc "{\"method\":\"walletpassphrase\",\"params\":[\"$passphrase\", 9999999]}" >/dev/null ||
  die "walletpassphrase: iguana's RPC failed"
log "walletpassphrase: wallet unlocked"
for entry in ${order[@]+"${order[@]}"}; do
  [[ ${entry%%:*} == assetchain ]] || continue
  sym=${entry#*:}
  call "dpow $sym" "{\"agent\":\"iguana\",\"method\":\"dpow\",\"symbol\":\"$sym\",\"pubkey\":\"$pubkey\"}"
done
log "notary procedure done; waiting for iguana"

status=0
wait "$iguana" || status=$?
exit "$status"
