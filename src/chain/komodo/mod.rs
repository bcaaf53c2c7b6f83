//! Komodo networks: assetchain daemons with RPC credentials generated up front, and notaries
//! whose iguana is started and driven the way KomodoPlatform's notary scripts do it.
//!
//! The model (one container runs one node):
//! - `<NAME>.conf` (rpcuser, rpcpassword, rpcport, server, txindex, rpcworkqueue,
//!   rpcallowip) is derived from the seed per assetchain and lives only in the secrets tree
//!   (`assetchains/<NAME>/<NAME>.conf`). Every node that runs the assetchain, and every
//!   notary, receives it as the secret `ac_<name>_conf` at `<home>/<NAME>/<NAME>.conf`, the
//!   path komodod and iguana read. Peers (`-addnode`) are target-specific: launch arguments.
//! - A seed/full node runs komodod for each assetchain of its group:
//!   `komodod -ac_name=<NAME> -ac_supply=<N> [-ac_<k>=<v>…] -datadir -conf -port -rpcport
//!   -bind -rpcbind -addnode=<peer>:<port>…` (flags as `komodo_args()` in
//!   src/komodo_utils.cpp of KomodoPlatform/komodo reads them). With several assetchains the
//!   launcher `chainfleet/komodo-run.sh` starts one komodod each and exits when any does. Its
//!   ports are exactly those (`model::ports::assetchain_ports`): no 7770/7771, since no KMD
//!   daemon runs there. A group that lists no assetchains runs the KMD chain itself
//!   (komodod without `-ac_name`, which joins KMD mainnet) on 7770/7771 with its own
//!   `komodo.conf` (`kmd/komodo.conf`, key `kmd_conf`).
//! - A notary runs iguana through `chainfleet/iguana-run.sh`, following iguana/m_notary_main,
//!   m_notary_testnet, dpowassets and wp_7776 of KomodoPlatform/dPoW: iguana is started on
//!   its notary file (`iguana/notaries.json`, the format `komodo_initjson()` reads in
//!   iguana/dpow/dpow_rpc.c: `port`, `rpcport`, `minsigs`, `notaries: [{name: pubkey}]`)
//!   and then driven over its RPC port: `myipaddr`, `addnotary` for every notary,
//!   `addcoin` per coin (reaching the daemon on another host by `rpchost`, which
//!   `iguana_chainparms()` in iguana/iguana_chains.c reads, with the credentials file),
//!   `walletpassphrase`, then `dpow` per assetchain with the notary's pubkey.
//! - A notary's key: 32 bytes derived from the seed, its passphrase the KMD WIF of that key
//!   (iguana takes a WIF passphrase as the private key itself: `SuperNET_setkeys()` in
//!   iguana/SuperNET_keys.c), its pubkey the compressed secp256k1 key. Both live in the
//!   secrets tree (`notaries/<node>/passphrase.txt`, `notaries/<node>/pubkey.txt`, in the
//!   `passphrase=`/`pubkey=` form of dPoW's pubkey.txt), so a new notary needs nothing but
//!   those files; the public notary file lists every notary's pubkey.

use std::collections::BTreeMap;

use k256::elliptic_curve::sec1::ToEncodedPoint;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::family::{ChainFamily, Healthy, Launch, Probe, RpcProbe};
use super::runtime::{PeerHost, Runtime};
use super::text::Text;
use super::{Artifacts, NodeArtifacts, SecretFile};
use crate::diag::{Diagnostic, Diagnostics};
use crate::files::FileEntry;
use crate::keys::Seed;
use crate::model::ports::assetchain_port_names;
use crate::model::{Assetchain, Network, Node, Role};
use crate::templates;

/// The launcher of nodes running several assetchains, relative to the home.
pub const RUN_SCRIPT: &str = "chainfleet/komodo-run.sh";
/// The notary launcher, relative to the home.
pub const IGUANA_SCRIPT: &str = "chainfleet/iguana-run.sh";
/// iguana's working directory, relative to the home (it reads its notary file from there).
pub const IGUANA_DIR: &str = "iguana";
/// The notary file template (public), relative to the home.
pub const NOTARY_FILE: &str = "iguana/notaries.json";
/// The notary's passphrase file (secret), relative to the home.
pub const PASSPHRASE_FILE: &str = "iguana/passphrase.txt";
/// The notary's pubkey file (secret), relative to the home.
pub const PUBKEY_FILE: &str = "iguana/pubkey.txt";
/// KMD's symbol, for the KMD chain's own daemon.
const KMD: &str = "KMD";

/// RPC credentials of one assetchain.
#[derive(Clone, PartialEq, Eq)]
pub struct RpcCredentials {
    /// `rpcuser`: `user` and 8 hex characters.
    pub user: String,
    /// `rpcpassword`: 32 bytes as hex.
    pub password: String,
}

impl std::fmt::Debug for RpcCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RpcCredentials({}, <redacted>)", self.user)
    }
}

/// The credentials of assetchain `name` in `net`.
pub fn rpc_credentials(net: &Network, seed: &Seed, name: &str) -> RpcCredentials {
    let pass = seed.derive(&net.name, "komodo/rpc", name);
    let user = seed.derive(&net.name, "komodo/rpc-user", name);
    RpcCredentials {
        user: format!("user{}", hex::encode(&user[..4])),
        password: hex::encode(pass),
    }
}

/// Networks allowed to call assetchain RPC besides loopback: the compose subnet, the AWS
/// VPC, and, for Kubernetes (whose pod CIDR is cluster-specific), the private ranges.
pub fn rpc_allow(net: &Network) -> Vec<String> {
    let mut v = vec!["127.0.0.1".to_string()];
    if let Some(c) = &net.targets.compose {
        v.push(c.subnet.clone());
    }
    if let Some(cidr) = net.targets.aws.as_ref().and_then(|a| a.vpc_cidr.clone()) {
        v.push(cidr);
    }
    if net.targets.kubernetes.is_some() {
        v.extend(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map(String::from));
    }
    v.dedup();
    v
}

/// `<NAME>.conf` of one assetchain.
pub fn conf_file(net: &Network, seed: &Seed, ac: &Assetchain) -> String {
    let c = rpc_credentials(net, seed, &ac.name);
    let mut s = format!(
        "rpcuser={}\nrpcpassword={}\nrpcport={}\nserver=1\ntxindex=1\nrpcworkqueue=64\n",
        c.user, c.password, ac.rpc_port
    );
    for ip in rpc_allow(net) {
        s.push_str(&format!("rpcallowip={ip}\n"));
    }
    s
}

fn secret_key(ac: &str) -> String {
    let k: String = ac
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("ac_{k}_conf")
}

/// The assetchains `node` runs (notaries: every assetchain, for iguana).
pub fn node_assetchains<'a>(net: &'a Network, node: &Node) -> Vec<&'a Assetchain> {
    if node.role == Role::Notary {
        return net.chain.assetchains.iter().collect();
    }
    let names = net
        .group(&node.group)
        .map(|g| g.assetchains.clone())
        .unwrap_or_default();
    names
        .iter()
        .filter_map(|n| net.chain.assetchains.iter().find(|a| &a.name == n))
        .collect()
}

/// True when `node` runs the KMD chain itself (a seed/full node of a group without
/// assetchains).
pub fn runs_kmd(net: &Network, node: &Node) -> bool {
    matches!(node.role, Role::Seed | Role::Full) && node_assetchains(net, node).is_empty()
}

/// A notary's key: its iguana passphrase (a KMD WIF) and compressed public key, hex.
#[derive(Clone)]
pub struct NotaryKey {
    /// `walletpassphrase` argument: the WIF of the private key (prefix 188, compressed).
    pub passphrase: String,
    /// 33-byte compressed public key as hex (`-pubkey`, `dpow`'s `pubkey`).
    pub pubkey: String,
}

impl std::fmt::Debug for NotaryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NotaryKey(pubkey {}, <redacted>)", self.pubkey)
    }
}

/// The name of notary `node`'s operator-supplied passphrase in the seed's operator secrets.
pub fn operator_passphrase_name(node: &str) -> String {
    format!("komodo/notary/{node}")
}

/// The private key iguana makes of `passphrase` (`SuperNET_setkeys()` in
/// iguana/SuperNET_keys.c of KomodoPlatform/dPoW): a valid WIF is the key itself; any other
/// passphrase goes through `conv_NXTpassword()` (iguana/iguana_secp.c): its SHA-256 with
/// byte 0 `&= 248` and byte 31 `&= 127, |= 64`.
pub fn iguana_private_key(passphrase: &str) -> Option<k256::SecretKey> {
    if let Ok(raw) = bs58::decode(passphrase).into_vec() {
        if raw.len() == 38 && raw[33] == 1 {
            let (body, sum) = raw.split_at(34);
            if Sha256::digest(Sha256::digest(body))[..4] == *sum {
                return k256::SecretKey::from_slice(&raw[1..33]).ok();
            }
        }
    }
    let mut secret: [u8; 32] = Sha256::digest(passphrase.as_bytes()).into();
    secret[0] &= 248;
    secret[31] &= 127;
    secret[31] |= 64;
    k256::SecretKey::from_slice(&secret).ok()
}

/// The key of notary `node`: the operator's own passphrase when the spec names one
/// (`notary.passphrase_env`, checked against `notary.pubkey`), else derived from the seed.
pub fn notary_key(net: &Network, seed: &Seed, node: &str) -> Result<NotaryKey, String> {
    let group = net.node(node).and_then(|n| net.group(&n.group));
    if let Some(var) = group.and_then(|g| g.notary_passphrase_env.as_ref()) {
        let passphrase = seed
            .operator_secret(&operator_passphrase_name(node))
            .ok_or_else(|| format!("notary {node}: the passphrase variable `{var}` is not set"))?;
        let sk = iguana_private_key(passphrase).ok_or_else(|| {
            format!("notary {node}: the passphrase in `{var}` gives no valid key")
        })?;
        let pubkey = hex::encode(sk.public_key().to_encoded_point(true).as_bytes());
        if let Some(want) = group.and_then(|g| g.notary_pubkey.as_ref()) {
            if *want != pubkey {
                return Err(format!(
                    "notary {node}: the passphrase in `{var}` gives pubkey {pubkey}, not the spec's {want}"
                ));
            }
        }
        return Ok(NotaryKey {
            passphrase: passphrase.to_string(),
            pubkey,
        });
    }
    seed_notary_key(net, seed, node)
}

/// The key of notary `node`, derived from the seed.
fn seed_notary_key(net: &Network, seed: &Seed, node: &str) -> Result<NotaryKey, String> {
    // A derived 32-byte string is a valid scalar but for a 2^-128 chance; counter on.
    for round in 0u8..=255 {
        let bytes = seed.derive(&net.name, "komodo/notary", &format!("{node}/{round}"));
        let Ok(sk) = k256::SecretKey::from_slice(&bytes) else {
            continue;
        };
        let mut body = vec![188u8];
        body.extend_from_slice(&bytes);
        body.push(1); // compressed public key
        let sum = Sha256::digest(Sha256::digest(&body));
        body.extend_from_slice(&sum[..4]);
        let point = sk.public_key().to_encoded_point(true);
        return Ok(NotaryKey {
            passphrase: bs58::encode(body).into_string(),
            pubkey: hex::encode(point.as_bytes()),
        });
    }
    Err(format!("no valid secp256k1 key derives for notary {node}"))
}

/// The name of notary `node` in the notary set: the group's `notary.name` (with `_<ordinal>`
/// when the group has several nodes), else the node name with `_` for `-`.
pub fn notary_name(net: &Network, node: &Node) -> String {
    match net.group(&node.group).and_then(|g| g.notary_name.clone()) {
        Some(n) if net.group(&node.group).is_some_and(|g| g.count > 1) => {
            format!("{n}_{}", node.ordinal)
        }
        Some(n) => n,
        None => node.name.replace('-', "_"),
    }
}

/// The notaries of `net`, in node order.
fn notaries(net: &Network) -> impl Iterator<Item = &Node> {
    net.nodes.iter().filter(|n| n.role == Role::Notary)
}

/// dPoW signatures needed: half the notaries, at least one (the 2019 notary testnet's rule
/// in jl777/SuperNET's README: "minsigs value to #_of_pubkeys / 2").
pub fn minsigs(net: &Network) -> usize {
    (notaries(net).count() / 2).max(1)
}

/// The notary file iguana starts on. `port`/`rpcport` are placeholders the launcher fills in
/// with the target's numbers.
fn notary_file(net: &Network, keys: &BTreeMap<String, NotaryKey>) -> String {
    #[derive(Serialize)]
    struct File {
        port: &'static str,
        rpcport: &'static str,
        #[serde(rename = "BTCminsigs")]
        btc_minsigs: usize,
        minsigs: usize,
        seeds: Vec<String>,
        notaries: Vec<BTreeMap<String, String>>,
    }
    let f = File {
        port: "@DPOW_PORT@",
        rpcport: "@RPC_PORT@",
        btc_minsigs: minsigs(net),
        minsigs: minsigs(net),
        seeds: Vec::new(),
        notaries: notaries(net)
            .filter_map(|n| {
                let k = keys.get(&n.name)?;
                Some(BTreeMap::from([(notary_name(net, n), k.pubkey.clone())]))
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&f).expect("serialisable") + "\n";
    // Numbers, once filled in.
    json.replace("\"@DPOW_PORT@\"", "@DPOW_PORT@")
        .replace("\"@RPC_PORT@\"", "@RPC_PORT@")
}

/// Build the artifacts of a Komodo network.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let mut a = Artifacts::default();
    let err =
        |e: anyhow::Error| Diagnostics(vec![Diagnostic::error(&net.name, None, e.to_string())]);
    for ac in &net.chain.assetchains {
        a.secrets.insert(
            format!("assetchains/{0}/{0}.conf", ac.name),
            FileEntry::text(conf_file(net, seed, ac)),
        );
    }
    let mut keys = BTreeMap::new();
    for n in notaries(net) {
        let k = notary_key(net, seed, &n.name)
            .map_err(|e| Diagnostics(vec![Diagnostic::error(&net.name, None, e)]))?;
        keys.insert(n.name.clone(), k);
    }
    let kmd_runs = net.nodes.iter().any(|n| runs_kmd(net, n));
    if kmd_runs {
        let p2p = net.nodes.iter().find_map(|n| n.port("p2p"));
        let rpc = net.nodes.iter().find_map(|n| n.port("rpc"));
        let kmd = Assetchain {
            name: KMD.into(),
            supply: 0,
            p2p_port: p2p.map_or(7770, |p| p.container),
            rpc_port: rpc.map_or(7771, |p| p.container),
            params: Default::default(),
        };
        a.secrets.insert(
            "kmd/komodo.conf".into(),
            FileEntry::text(conf_file(net, seed, &kmd)),
        );
    }
    let kmd_secret = || SecretFile {
        key: "kmd_conf".into(),
        home_path: "komodo.conf".into(),
        source: "kmd/komodo.conf".into(),
    };
    for node in &net.nodes {
        let mut na = NodeArtifacts::default();
        let prefix = format!("nodes/{}/", node.name);
        if node.role == Role::Custom {
            a.nodes.insert(node.name.clone(), na);
            continue;
        }
        let acs = node_assetchains(net, node);
        if runs_kmd(net, node) || (node.role == Role::Notary && kmd_runs) {
            na.secret_files.push(kmd_secret());
        }
        for ac in &acs {
            na.secret_files.push(SecretFile {
                key: secret_key(&ac.name),
                home_path: format!("{0}/{0}.conf", ac.name),
                source: format!("assetchains/{0}/{0}.conf", ac.name),
            });
            na.addresses.insert(
                format!("{}_ports", ac.name),
                format!("p2p {} rpc {}", ac.p2p_port, ac.rpc_port),
            );
        }
        if node.role == Role::Notary {
            let k = &keys[&node.name];
            let dir = format!("notaries/{}", node.name);
            a.secrets.insert(
                format!("{dir}/passphrase.txt"),
                FileEntry::text(format!("passphrase={}\n", k.passphrase)),
            );
            a.secrets.insert(
                format!("{dir}/pubkey.txt"),
                FileEntry::text(format!("pubkey={}\n", k.pubkey)),
            );
            na.secret_files.push(SecretFile {
                key: "notary_passphrase".into(),
                home_path: PASSPHRASE_FILE.into(),
                source: format!("{dir}/passphrase.txt"),
            });
            na.secret_files.push(SecretFile {
                key: "notary_pubkey".into(),
                home_path: PUBKEY_FILE.into(),
                source: format!("{dir}/pubkey.txt"),
            });
            na.addresses.insert("notary".into(), notary_name(net, node));
            na.addresses.insert("pubkey".into(), k.pubkey.clone());
            a.public.insert(
                format!("{prefix}{IGUANA_SCRIPT}"),
                FileEntry::script(templates::raw("komodo/iguana-run.sh").map_err(err)?),
            );
            a.public.insert(
                format!("{prefix}{NOTARY_FILE}"),
                FileEntry::text(notary_file(net, &keys)),
            );
        } else if acs.len() > 1 {
            a.public.insert(
                format!("{prefix}{RUN_SCRIPT}"),
                FileEntry::script(templates::raw("komodo/komodo-run.sh").map_err(err)?),
            );
        }
        a.nodes.insert(node.name.clone(), na);
    }
    Ok(a)
}

/// The Komodo family: komodod per assetchain, iguana on notaries.
pub struct Komodo;

impl ChainFamily for Komodo {
    fn build(&self, net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
        build(net, seed)
    }
    fn launch(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
        launch(net, node, rt)
    }
    /// A call on a port the node's own process opens: iguana's RPC on notaries; `getinfo`
    /// with the chain's credentials on the first assetchain's RPC (or komodod's on KMD
    /// nodes).
    fn probe(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Probe> {
        if node.role == Role::Custom {
            return super::generic::Generic.probe(net, node, rt);
        }
        if node.role == Role::Notary {
            return rt.port(node, "iguana").map(|port| Probe {
                port,
                http_path: None,
                healthy: Healthy::RpcAnswers,
                // iguana's own API; answers once its RPC loop runs.
                rpc: Some(RpcProbe {
                    body: r#"{"agent":"SuperNET","method":"help"}"#.into(),
                    credentials: None,
                }),
            });
        }
        let (port, conf) = match node_assetchains(net, node).first() {
            Some(ac) => (
                rt.port(node, &assetchain_port_names(&ac.name).1)?,
                format!("{0}/{0}.conf", ac.name),
            ),
            None => (rt.port(node, "rpc")?, "komodo.conf".to_string()),
        };
        Some(Probe {
            port,
            http_path: None,
            healthy: Healthy::RpcAnswers,
            rpc: Some(RpcProbe {
                body: r#"{"jsonrpc":"1.0","id":"health","method":"getinfo","params":[]}"#.into(),
                credentials: Some(conf),
            }),
        })
    }
}

/// `<flag><home>/<rest>`.
fn in_home(flag: &str, rt: &Runtime<'_>, rest: &str) -> Text {
    Text::lit(flag).then(rt.home.clone()).then(rest)
}

/// How `from` reaches `to` on this target: the host of its dial when `to` is a peer, else
/// the target's answer.
fn host_of(net: &Network, from: &Node, to: &Node, rt: &Runtime<'_>) -> Option<Text> {
    let dials = rt.peers.seeds.iter().chain(&rt.peers.persistent);
    if let Some(d) = dials.into_iter().find(|d| d.node == to.name) {
        return Some(match &d.condition {
            Some(c) => Text::when(c.clone(), d.host.clone()),
            None => d.host.clone(),
        });
    }
    match rt.target.peer_host(net, from, to) {
        PeerHost::At(h) => Some(h),
        PeerHost::When { condition, host } => Some(Text::when(condition, host)),
        PeerHost::Unreachable => None,
    }
}

/// The number port `name` of `peer` has on this target.
fn peer_port(rt: &Runtime<'_>, peer: &Node, name: &str) -> Option<u16> {
    peer.port(name).map(|p| rt.target.port(peer, p))
}

/// komodod arguments for one assetchain on `node`: `-addnode` for every peer that runs it.
fn assetchain_args(net: &Network, node: &Node, ac: &Assetchain, rt: &Runtime<'_>) -> Vec<Text> {
    let (p2p, rpc) = assetchain_port_names(&ac.name);
    let mut v: Vec<Text> = vec![
        format!("-ac_name={}", ac.name).into(),
        format!("-ac_supply={}", ac.supply).into(),
    ];
    for (k, val) in &ac.params {
        v.push(format!("-ac_{k}={val}").into());
    }
    v.extend([
        in_home("-datadir=", rt, &format!("/{}", ac.name)),
        in_home("-conf=", rt, &format!("/{0}/{0}.conf", ac.name)),
        format!("-port={}", rt.port(node, &p2p).unwrap_or(ac.p2p_port)).into(),
        format!("-rpcport={}", rt.port(node, &rpc).unwrap_or(ac.rpc_port)).into(),
        format!("-bind={}", rt.bind_host).into(),
        format!("-rpcbind={}", rt.bind_host).into(),
    ]);
    for d in rt.peers.seeds.iter().chain(&rt.peers.persistent) {
        let Some(peer) = net.node(&d.node) else {
            continue;
        };
        let Some(port) = peer_port(rt, peer, &p2p) else {
            continue; // the peer does not run this assetchain
        };
        let addr = d.host.clone().then(format!(":{port}"));
        let addr = match &d.condition {
            Some(c) => Text::when(c.clone(), addr),
            None => addr,
        };
        v.push(Text::lit("-addnode=").then(addr));
    }
    v
}

/// The node a notary's iguana calls for coin `symbol`: the first of its peers that runs
/// it, else the first node of the network that does.
fn coin_server<'a>(
    net: &'a Network,
    rt: &Runtime<'_>,
    runs: impl Fn(&Node) -> bool,
) -> Option<&'a Node> {
    let peers = rt.peers.seeds.iter().chain(&rt.peers.persistent);
    peers
        .filter_map(|d| net.node(&d.node))
        .find(|n| runs(n))
        .or_else(|| net.nodes.iter().find(|n| runs(n)))
}

/// The notary's launcher arguments (see templates/komodo/iguana-run.sh for each option).
fn notary_args(net: &Network, node: &Node, rt: &Runtime<'_>) -> Vec<Text> {
    let mut args = vec![
        in_home("", rt, &format!("/{IGUANA_SCRIPT}")),
        rt.home.clone(),
    ];
    args.extend([
        "--rpc-port".into(),
        rt.port(node, "iguana").unwrap_or(7776).to_string().into(),
        "--dpow-port".into(),
        rt.port(node, "dpow").unwrap_or(7775).to_string().into(),
    ]);
    for other in notaries(net) {
        if let Some(h) = host_of(net, node, other, rt) {
            args.push("--addnotary".into());
            args.push(h);
        }
    }
    let kmd = coin_server(net, rt, |n| runs_kmd(net, n)).and_then(|server| {
        let host = host_of(net, node, server, rt)?;
        let rpc = peer_port(rt, server, "rpc")?;
        let p2p = peer_port(rt, server, "p2p")?;
        Some((KMD.to_string(), host, rpc, p2p, "komodo.conf".to_string()))
    });
    let acs = node_assetchains(net, node).into_iter().filter_map(|ac| {
        let (p2p_name, rpc_name) = assetchain_port_names(&ac.name);
        let server = coin_server(net, rt, |n| {
            n.role != Role::Notary && n.role != Role::Custom && n.port(&rpc_name).is_some()
        })?;
        let host = host_of(net, node, server, rt)?;
        Some((
            ac.name.clone(),
            host,
            peer_port(rt, server, &rpc_name)?,
            peer_port(rt, server, &p2p_name)?,
            format!("{0}/{0}.conf", ac.name),
        ))
    });
    for (symbol, host, rpc, p2p, conf) in kmd.into_iter().chain(acs) {
        args.push(if symbol == KMD {
            "--coin".into()
        } else {
            "--assetchain".into()
        });
        args.push(
            Text::lit(format!("{symbol}="))
                .then(host)
                .then(format!(":{rpc}:{p2p}:{conf}")),
        );
    }
    args.extend(["--".into(), "iguana".into(), "notaries.json".into()]);
    args
}

/// Launch command of a Komodo node (see the module doc for the model).
pub fn launch(net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
    let binary = rt.binary.clone();
    if node.role == Role::Custom {
        // The group's own image and command, as any generic node.
        return super::generic::Generic.launch(net, node, rt);
    }
    let launcher = |args: Vec<Text>| Launch {
        program: "bash".into(),
        args,
        env: Default::default(),
    };
    if node.role == Role::Notary {
        return launcher(notary_args(net, node, rt));
    }
    let acs = node_assetchains(net, node);
    match acs.as_slice() {
        [] => {
            // The KMD chain itself, on the node's own ports.
            let mut args = vec![
                in_home("-datadir=", rt, ""),
                in_home("-conf=", rt, "/komodo.conf"),
            ];
            if let Some(p) = rt.port(node, "p2p") {
                args.push(format!("-port={p}").into());
            }
            if let Some(p) = rt.port(node, "rpc") {
                args.push(format!("-rpcport={p}").into());
            }
            args.extend([
                format!("-bind={}", rt.bind_host).into(),
                format!("-rpcbind={}", rt.bind_host).into(),
            ]);
            for d in rt.peers.seeds.iter().chain(&rt.peers.persistent) {
                if net.node(&d.node).is_some_and(|p| runs_kmd(net, p)) {
                    args.push(Text::lit("-addnode=").then(d.address.clone()));
                }
            }
            Launch {
                program: binary,
                args,
                env: Default::default(),
            }
        }
        [ac] => Launch {
            program: binary,
            args: assetchain_args(net, node, ac, rt),
            env: Default::default(),
        },
        many => {
            let mut args = vec![in_home("", rt, &format!("/{RUN_SCRIPT}"))];
            for (i, ac) in many.iter().enumerate() {
                if i > 0 {
                    args.push("--".into());
                }
                args.push(binary.clone());
                args.extend(assetchain_args(net, node, ac, rt));
            }
            launcher(args)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::runtime::{process, TestRuntime};

    fn network() -> Network {
        let yaml = r#"
name: kmd-mix
chain:
  family: komodo
  chain_id: kmd
  binary: komodod
  image: "example/komodo:1"
  home: /data
  assetchains:
    - { name: BEER, supply: 100, p2p_port: 8922, rpc_port: 8923 }
    - { name: PIZZA, supply: 100, p2p_port: 11607, rpc_port: 11608 }
groups:
  - { name: kmd, role: full, assetchains: [] }
  - { name: beer, role: full, count: 2, assetchains: [BEER] }
  - { name: notary, role: notary, notary: { name: alice } }
targets:
  local: { base_port: 41000 }
"#;
        crate::test_network(yaml)
    }

    fn run(net: &Network, a: &Artifacts, name: &str) -> (String, Vec<String>, u16) {
        let node = net.node(name).unwrap();
        let p = process(net, a, node, &TestRuntime::containers());
        let args = p.args.iter().map(|t| t.literal().unwrap()).collect();
        let probe = p.probe.map_or(0, |p| p.port);
        (p.program.literal().unwrap(), args, probe)
    }

    #[test]
    fn nodes_listen_on_what_their_processes_open() {
        let net = network();
        let names = |n: &str| -> Vec<String> {
            net.node(n)
                .unwrap()
                .ports
                .iter()
                .map(|p| format!("{}:{}", p.name, p.container))
                .collect()
        };
        assert_eq!(names("kmd-0"), ["p2p:7770", "rpc:7771"]);
        assert_eq!(names("beer-0"), ["beer-p2p:8922", "beer-rpc:8923"]);
        assert_eq!(names("notary-0"), ["iguana:7776", "dpow:7775"]);
    }

    #[test]
    fn single_assetchain_and_kmd_nodes_run_komodod_directly() {
        let net = network();
        let a = build(&net, &Seed::from_bytes([3; 32])).unwrap();
        let (program, args, probe) = run(&net, &a, "kmd-0");
        assert_eq!(program, "komodod");
        assert_eq!(probe, 7771, "KMD nodes are probed on komodod's RPC");
        assert!(
            args.contains(&"-conf=/data/komodo.conf".to_string()),
            "{args:?}"
        );
        assert!(args.contains(&"-rpcport=7771".to_string()));
        let files = &a.nodes["kmd-0"].secret_files;
        assert_eq!(files.len(), 1);
        assert_eq!(
            (files[0].key.as_str(), files[0].home_path.as_str()),
            ("kmd_conf", "komodo.conf")
        );
        assert!(a.secrets.contains_key("kmd/komodo.conf"));

        let (program, args, probe) = run(&net, &a, "beer-1");
        assert_eq!(program, "komodod");
        assert_eq!(
            probe, 8923,
            "assetchain nodes are probed on their assetchain's RPC"
        );
        assert_eq!(args[0], "-ac_name=BEER");
        assert!(
            args.contains(&"-addnode=beer-0:8922".to_string()),
            "{args:?}"
        );
        assert!(!args.iter().any(|x| x.contains("7770")), "{args:?}");
        assert!(!args.iter().any(|x| x.contains("PIZZA")));
        assert_eq!(a.nodes["beer-1"].secret_files.len(), 1);
        assert!(!a.public.keys().any(|k| k.starts_with("nodes/beer-1/")));
    }

    #[test]
    fn notaries_drive_iguana_with_their_key_from_the_secrets_tree() {
        let net = network();
        let a = build(&net, &Seed::from_bytes([3; 32])).unwrap();
        // Every assetchain's and KMD's credentials, and the notary's passphrase and pubkey.
        let keys: Vec<&str> = a.nodes["notary-0"]
            .secret_files
            .iter()
            .map(|s| s.key.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "kmd_conf",
                "ac_beer_conf",
                "ac_pizza_conf",
                "notary_passphrase",
                "notary_pubkey"
            ]
        );
        let (program, args, probe) = run(&net, &a, "notary-0");
        assert_eq!((program.as_str(), probe), ("bash", 7776));
        let joined = args.join(" ");
        assert!(
            joined.contains("--coin KMD=kmd-0:7771:7770:komodo.conf"),
            "{joined}"
        );
        assert!(
            joined.contains("--assetchain BEER=beer-0:8923:8922:BEER/BEER.conf"),
            "{joined}"
        );
        // PIZZA runs nowhere: iguana gets no daemon for it.
        assert!(!joined.contains("PIZZA="), "{joined}");
        assert!(joined.ends_with("-- iguana notaries.json"), "{joined}");

        let pubkey = &a.nodes["notary-0"].addresses["pubkey"];
        let file = String::from_utf8(
            a.public["nodes/notary-0/iguana/notaries.json"]
                .bytes
                .clone(),
        )
        .unwrap();
        assert!(file.contains(&format!("\"alice\": \"{pubkey}\"")), "{file}");
        let pk =
            String::from_utf8(a.secrets["notaries/notary-0/pubkey.txt"].bytes.clone()).unwrap();
        assert_eq!(pk, format!("pubkey={pubkey}\n"));
        let pass =
            String::from_utf8(a.secrets["notaries/notary-0/passphrase.txt"].bytes.clone()).unwrap();
        assert!(!file.contains(pass.trim_start_matches("passphrase=").trim()));
    }

    #[test]
    fn notary_wif_is_a_compressed_kmd_key() {
        let net = network();
        let k = notary_key(&net, &Seed::from_bytes([3; 32]), "notary-0").unwrap();
        let raw = bs58::decode(&k.passphrase).into_vec().unwrap();
        assert_eq!((raw.len(), raw[0], raw[33]), (38, 188, 1));
        let sum = Sha256::digest(Sha256::digest(&raw[..34]));
        assert_eq!(&raw[34..], &sum[..4]);
        assert_eq!(k.pubkey.len(), 66);
        assert!(k.pubkey.starts_with("02") || k.pubkey.starts_with("03"));
        assert!(!format!("{k:?}").contains(&k.passphrase));
    }

    #[test]
    fn an_operator_passphrase_gives_the_key_iguana_makes_of_it() {
        let yaml = "name: kmd-op\nchain: { family: komodo, chain_id: kmd, binary: komodod, image: \"example/komodo:1\", assetchains: [{ name: BEER, supply: 100, p2p_port: 8922, rpc_port: 8923 }] }\ngroups:\n  - { name: kmd, role: full, assetchains: [] }\n  - { name: notary, role: notary, notary: { name: alice, passphrase_env: ALICE_PASS } }\ntargets:\n  local: { base_port: 41000 }\n";
        let net = crate::test_network(yaml);
        let seed = Seed::from_bytes([3; 32]);
        // Unset: refused, naming the variable.
        let e = notary_key(&net, &seed, "notary-0").unwrap_err();
        assert!(e.contains("ALICE_PASS"), "{e}");
        // A text passphrase: SHA-256, clamped, is the private key.
        let pass = "my notary wallet passphrase";
        let k = notary_key(
            &net,
            &seed
                .clone()
                .with_operator_secret(operator_passphrase_name("notary-0"), pass),
            "notary-0",
        )
        .unwrap();
        let mut secret: [u8; 32] = Sha256::digest(pass.as_bytes()).into();
        secret[0] &= 248;
        secret[31] = (secret[31] & 127) | 64;
        let want = k256::SecretKey::from_slice(&secret).unwrap();
        assert_eq!(
            k.pubkey,
            hex::encode(want.public_key().to_encoded_point(true).as_bytes())
        );
        assert_eq!(k.passphrase, pass);
        // A WIF is the key itself: the seed-derived notary's WIF gives its pubkey.
        let derived = seed_notary_key(&network(), &seed, "notary-0").unwrap();
        let from_wif = iguana_private_key(&derived.passphrase).unwrap();
        assert_eq!(
            hex::encode(from_wif.public_key().to_encoded_point(true).as_bytes()),
            derived.pubkey
        );
        // A pubkey the passphrase does not give is refused.
        let pinned = yaml.replace(
            "passphrase_env: ALICE_PASS }",
            &format!("passphrase_env: ALICE_PASS, pubkey: {} }}", derived.pubkey),
        );
        let net = crate::test_network(&pinned);
        let e = notary_key(
            &net,
            &seed.with_operator_secret(operator_passphrase_name("notary-0"), pass),
            "notary-0",
        )
        .unwrap_err();
        assert!(e.contains("not the spec's"), "{e}");
    }

    #[test]
    fn secret_keys_are_safe_names() {
        assert_eq!(secret_key("BEER"), "ac_beer_conf");
        assert_eq!(secret_key("MY-COIN"), "ac_my_coin_conf");
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = RpcCredentials {
            user: "user0011aabb".into(),
            password: "deadbeef".into(),
        };
        assert!(!format!("{c:?}").contains("deadbeef"));
    }
}
