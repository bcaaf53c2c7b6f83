//! Komodo networks: per-assetchain configuration files with RPC credentials generated up
//! front, so iguana and komodod agree without sharing a volume.
//!
//! The model (one container runs one process):
//! - `<NAME>.conf` (rpcuser, rpcpassword, rpcport, server, txindex, rpcworkqueue,
//!   rpcallowip) is derived from the seed per assetchain and lives only in the secrets tree
//!   (`assetchains/<NAME>/<NAME>.conf`). Every node that runs the assetchain, and every
//!   notary, receives it as the secret `ac_<name>_conf` at `<home>/<NAME>/<NAME>.conf`, the
//!   path komodod and iguana read (`~/.komodo/<NAME>/<NAME>.conf` when the home is
//!   `~/.komodo`). Peers (`-addnode`) are target-specific, so they are launch arguments.
//! - A seed/full node runs komodod for each assetchain of its group:
//!   `komodod -ac_name=<NAME> -ac_supply=<N> [-ac_<k>=<v>…] -datadir=<home>/<NAME>
//!   -conf=<home>/<NAME>/<NAME>.conf -port -rpcport -bind -rpcbind -addnode=<peer>:<port>…`.
//!   With one assetchain that is the node's process; with several, the generated launcher
//!   `chainfleet/komodo-run.sh` (bash) starts one komodod per assetchain and exits when any
//!   of them does, so the orchestrator restarts the node. A group without assetchains runs
//!   the KMD chain itself on the node's own ports, with its own `komodo.conf` secret
//!   (`kmd/komodo.conf`, key `kmd_conf`).
//! - A notary runs iguana through `chainfleet/iguana-run.sh`: it renders the public
//!   assetchain list `iguana/assetchains.json` with the RPC address of every assetchain (the
//!   notary's first peer, as the target reaches it), checks that every credentials file was
//!   installed and execs `iguana` on the rendered file. Stock iguana only talks to
//!   assetchains on 127.0.0.1; remote RPC needs an iguana build with the Dragon Riders
//!   "talk to url" patch, and the image must contain `iguana`.
//! - Assetchain ports are the spec's. A target that moves a node's p2p port (local
//!   processes share 127.0.0.1) moves every assetchain port of that node by the same offset.

use serde::Serialize;

use super::family::{ChainFamily, Healthy, Launch, Probe};
use super::runtime::Runtime;
use super::text::Text;
use super::{Artifacts, NodeArtifacts, SecretFile};
use crate::diag::{Diagnostic, Diagnostics};
use crate::files::FileEntry;
use crate::keys::Seed;
use crate::model::{Assetchain, Network, Node, Role};
use crate::templates;

/// The launcher of nodes running several assetchains, relative to the home.
pub const RUN_SCRIPT: &str = "chainfleet/komodo-run.sh";
/// The notary launcher, relative to the home.
pub const IGUANA_SCRIPT: &str = "chainfleet/iguana-run.sh";
/// The public assetchain list of a notary, relative to the home.
pub const IGUANA_CONFIG: &str = "iguana/assetchains.json";
/// Where the notary launcher writes the rendered list, relative to the home.
pub const IGUANA_RUNTIME_CONFIG: &str = "iguana/assetchains.runtime.json";

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

#[derive(Serialize)]
struct IguanaChain<'a> {
    name: &'a str,
    supply: u64,
    params: &'a std::collections::BTreeMap<String, String>,
    p2p_port: u16,
    rpc_port: u16,
    /// `host:port`, filled in at start by the launcher.
    rpc: String,
    /// Credentials file, relative to the home (installed from the secrets tree).
    conf: String,
}

#[derive(Serialize)]
struct IguanaConfig<'a> {
    network: &'a str,
    iguana_rpc_port: u16,
    assetchains: Vec<IguanaChain<'a>>,
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
    for node in &net.nodes {
        let acs = if node.role == Role::Custom {
            Vec::new()
        } else {
            node_assetchains(net, node)
        };
        let mut na = NodeArtifacts::default();
        if acs.is_empty() && !matches!(node.role, Role::Custom | Role::Notary) {
            // A node of the KMD chain itself: its own credentials, same shape.
            let source = "kmd/komodo.conf".to_string();
            if !a.secrets.contains_key(&source) {
                let kmd = Assetchain {
                    name: "KMD".into(),
                    supply: 0,
                    p2p_port: node.port("p2p").map_or(7770, |p| p.container),
                    rpc_port: node.port("rpc").map_or(7771, |p| p.container),
                    params: Default::default(),
                };
                a.secrets
                    .insert(source.clone(), FileEntry::text(conf_file(net, seed, &kmd)));
            }
            na.secret_files.push(SecretFile {
                key: "kmd_conf".into(),
                home_path: "komodo.conf".into(),
                source,
            });
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
        let prefix = format!("nodes/{}/", node.name);
        if node.role == Role::Notary {
            a.public.insert(
                format!("{prefix}{IGUANA_SCRIPT}"),
                FileEntry::script(templates::raw("komodo/iguana-run.sh").map_err(err)?),
            );
            let cfg = IguanaConfig {
                network: &net.name,
                iguana_rpc_port: node.port("iguana").map_or(7776, |p| p.container),
                assetchains: acs
                    .iter()
                    .map(|ac| IguanaChain {
                        name: &ac.name,
                        supply: ac.supply,
                        params: &ac.params,
                        p2p_port: ac.p2p_port,
                        rpc_port: ac.rpc_port,
                        rpc: format!("@RPC_{}@", ac.name),
                        conf: format!("{0}/{0}.conf", ac.name),
                    })
                    .collect(),
            };
            let json = serde_json::to_string_pretty(&cfg).expect("serialisable") + "\n";
            a.public
                .insert(format!("{prefix}{IGUANA_CONFIG}"), FileEntry::text(json));
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
    /// A TCP connect on a port the node's own process opens: iguana's RPC on notaries, the
    /// first assetchain's RPC on assetchain nodes, komodod's RPC on KMD nodes.
    fn probe(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Probe> {
        let port = match node.role {
            Role::Notary => rt.port(node, "iguana"),
            Role::Custom => None,
            _ => match node_assetchains(net, node).first() {
                Some(ac) => Some(shifted(ac.rpc_port, offset(node, rt))),
                None => rt.port(node, "rpc"),
            },
        }?;
        Some(Probe {
            port,
            http_path: None,
            healthy: Healthy::Listening,
        })
    }
}

/// How far a target moved `node`'s ports from the spec's (0 in containers; the local
/// target's remapping otherwise). Assetchain ports move by the same amount.
fn offset(node: &Node, rt: &Runtime<'_>) -> i32 {
    match (rt.port(node, "p2p"), node.port("p2p")) {
        (Some(p), Some(own)) => p as i32 - own.container as i32,
        _ => 0,
    }
}

fn shifted(port: u16, offset: i32) -> u16 {
    u16::try_from(port as i32 + offset).unwrap_or(port)
}

/// Peers of `node` as (host, offset), in plan order: seeds, then persistent peers.
fn peers(net: &Network, rt: &Runtime<'_>) -> Vec<(Text, i32)> {
    rt.peers
        .seeds
        .iter()
        .chain(&rt.peers.persistent)
        .filter_map(|d| {
            let own = net.node(&d.node)?.port("p2p")?.container as i32;
            Some((d.host.clone(), d.port as i32 - own))
        })
        .collect()
}

/// `<flag><home>/<rest>`.
fn in_home(flag: &str, rt: &Runtime<'_>, rest: &str) -> Text {
    Text::lit(flag).then(rt.home.clone()).then(rest)
}

/// komodod arguments for one assetchain on `node`.
fn assetchain_args(
    ac: &Assetchain,
    rt: &Runtime<'_>,
    offset: i32,
    peers: &[(Text, i32)],
) -> Vec<Text> {
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
        format!("-port={}", shifted(ac.p2p_port, offset)).into(),
        format!("-rpcport={}", shifted(ac.rpc_port, offset)).into(),
        format!("-bind={}", rt.bind_host).into(),
        format!("-rpcbind={}", rt.bind_host).into(),
    ]);
    for (host, off) in peers {
        v.push(
            Text::lit("-addnode=")
                .then(host.clone())
                .then(format!(":{}", shifted(ac.p2p_port, *off))),
        );
    }
    v
}

/// Launch command of a Komodo node (see the module doc for the model).
pub fn launch(net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
    let port = |name: &str| rt.port(node, name);
    let binary = rt.binary.clone();
    if node.role == Role::Custom {
        // The group's own image and command, as any generic node.
        return super::generic::Generic.launch(net, node, rt);
    }
    let offset = offset(node, rt);
    let peers = peers(net, rt);
    let acs = node_assetchains(net, node);
    let launcher = |args: Vec<Text>| Launch {
        program: "bash".into(),
        args,
        env: Default::default(),
    };
    if node.role == Role::Notary {
        let (host, peer_off) = peers
            .first()
            .cloned()
            .unwrap_or_else(|| (Text::lit("127.0.0.1"), offset));
        let mut args = vec![
            in_home("", rt, &format!("/{IGUANA_SCRIPT}")),
            rt.home.clone(),
            in_home("", rt, &format!("/{IGUANA_CONFIG}")),
            in_home("", rt, &format!("/{IGUANA_RUNTIME_CONFIG}")),
        ];
        for ac in &acs {
            args.push(
                Text::lit(format!("{}=", ac.name))
                    .then(host.clone())
                    .then(format!(":{}", shifted(ac.rpc_port, peer_off))),
            );
        }
        args.extend([
            "--".into(),
            "iguana".into(),
            in_home("", rt, &format!("/{IGUANA_RUNTIME_CONFIG}")),
        ]);
        return launcher(args);
    }
    match acs.as_slice() {
        [] => {
            // The KMD chain itself, on the node's own ports.
            let mut args = vec![
                in_home("-datadir=", rt, ""),
                in_home("-conf=", rt, "/komodo.conf"),
            ];
            if let Some(p) = port("p2p") {
                args.push(format!("-port={p}").into());
            }
            if let Some(p) = port("rpc") {
                args.push(format!("-rpcport={p}").into());
            }
            args.extend([
                format!("-bind={}", rt.bind_host).into(),
                format!("-rpcbind={}", rt.bind_host).into(),
            ]);
            for d in rt.peers.seeds.iter().chain(&rt.peers.persistent) {
                args.push(Text::lit("-addnode=").then(d.address.clone()));
            }
            Launch {
                program: binary,
                args,
                env: Default::default(),
            }
        }
        [ac] => Launch {
            program: binary,
            args: assetchain_args(ac, rt, offset, &peers),
            env: Default::default(),
        },
        many => {
            let mut args = vec![in_home("", rt, &format!("/{RUN_SCRIPT}"))];
            for (i, ac) in many.iter().enumerate() {
                if i > 0 {
                    args.push("--".into());
                }
                args.push(binary.clone());
                args.extend(assetchain_args(ac, rt, offset, &peers));
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
  - { name: notary, role: notary }
targets:
  local: { base_port: 41000 }
"#;
        crate::validate("kmd.yaml", yaml.as_bytes(), std::path::Path::new("."))
            .expect("valid spec")
            .network
    }

    fn run(net: &Network, a: &Artifacts, name: &str) -> (String, Vec<String>, u16) {
        let node = net.node(name).unwrap();
        let p = process(net, a, node, &TestRuntime::containers());
        let args = p.args.iter().map(|t| t.literal().unwrap()).collect();
        let probe = p.probe.map_or(0, |p| p.port);
        (p.program.literal().unwrap(), args, probe)
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
        assert!(!args.iter().any(|x| x.contains("PIZZA")));
        assert_eq!(a.nodes["beer-1"].secret_files.len(), 1);
        assert!(!a.public.keys().any(|k| k.starts_with("nodes/beer-1/")));

        // The notary still gets every assetchain's credentials.
        assert_eq!(a.nodes["notary-0"].secret_files.len(), 2);
        let (program, _, probe) = run(&net, &a, "notary-0");
        assert_eq!(
            (program.as_str(), probe),
            ("bash", 7776),
            "notaries run iguana"
        );
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

    #[test]
    fn offsets_follow_the_rendered_port() {
        assert_eq!(shifted(8922, 0), 8922);
        assert_eq!(shifted(8922, 10), 8932);
        assert_eq!(shifted(8922, -2), 8920);
    }
}
