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

use super::{Artifacts, Launch, NodeArtifacts, RuntimeSettings, SecretFile};
use crate::diag::{Diagnostic, Diagnostics};
use crate::files::FileEntry;
use crate::templates;
use crate::keys::Seed;
use crate::model::{Assetchain, Network, Node, Role};

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

/// A rendered `host:port` peer split, with the offset between the rendered port and the
/// peer's own p2p port (0 in containers; the local target's remapping otherwise).
fn peer_host_offset(net: &Network, peer_name: &str, rendered: &str) -> Option<(String, i32)> {
    let (host, port) = rendered.rsplit_once(':')?;
    let port: i32 = port.parse().ok()?;
    let own = net.node(peer_name)?.port("p2p")?.container as i32;
    Some((host.to_string(), port - own))
}

fn shifted(port: u16, offset: i32) -> String {
    (port as i32 + offset).to_string()
}

/// Peers of `node` as (host, offset), in plan order: seeds, then persistent peers.
fn peers(net: &Network, node: &Node, s: &RuntimeSettings) -> Vec<(String, i32)> {
    node.peers
        .seeds
        .iter()
        .zip(&s.peers.seeds)
        .chain(node.peers.persistent.iter().zip(&s.peers.persistent))
        .filter_map(|(name, rendered)| peer_host_offset(net, name, rendered))
        .collect()
}

/// komodod arguments for one assetchain on `node`.
fn assetchain_args(
    ac: &Assetchain,
    s: &RuntimeSettings,
    offset: i32,
    peers: &[(String, i32)],
) -> Vec<String> {
    let mut v = vec![
        format!("-ac_name={}", ac.name),
        format!("-ac_supply={}", ac.supply),
    ];
    for (k, val) in &ac.params {
        v.push(format!("-ac_{k}={val}"));
    }
    v.extend([
        format!("-datadir={}/{}", s.home, ac.name),
        format!("-conf={0}/{1}/{1}.conf", s.home, ac.name),
        format!("-port={}", shifted(ac.p2p_port, offset)),
        format!("-rpcport={}", shifted(ac.rpc_port, offset)),
        format!("-bind={}", s.bind_host),
        format!("-rpcbind={}", s.bind_host),
    ]);
    for (host, off) in peers {
        v.push(format!("-addnode={host}:{}", shifted(ac.p2p_port, *off)));
    }
    v
}

/// Launch command of a Komodo node (see the module doc for the model).
pub fn launch(net: &Network, node: &Node, s: &RuntimeSettings) -> Launch {
    let port = |name: &str| s.port(node, name);
    if node.role == Role::Custom {
        return Launch {
            args: net
                .group(&node.group)
                .map(|g| g.command.clone())
                .unwrap_or_default(),
            env: Default::default(),
        };
    }
    let offset = match (port("p2p"), node.port("p2p")) {
        (Some(p), Some(own)) => p as i32 - own.container as i32,
        _ => 0,
    };
    let peers = peers(net, node, s);
    let acs = node_assetchains(net, node);
    let binary = &net.chain.binary;
    if node.role == Role::Notary {
        let (host, peer_off) = peers
            .first()
            .cloned()
            .unwrap_or_else(|| ("127.0.0.1".into(), offset));
        let mut args = vec![
            format!("{}/{IGUANA_SCRIPT}", s.home),
            s.home.clone(),
            format!("{}/{IGUANA_CONFIG}", s.home),
            format!("{}/{IGUANA_RUNTIME_CONFIG}", s.home),
        ];
        for ac in &acs {
            args.push(format!(
                "{}={host}:{}",
                ac.name,
                shifted(ac.rpc_port, peer_off)
            ));
        }
        args.extend([
            "--".into(),
            "iguana".into(),
            format!("{}/{IGUANA_RUNTIME_CONFIG}", s.home),
        ]);
        return Launch {
            args,
            env: Default::default(),
        };
    }
    match acs.as_slice() {
        [] => {
            // The KMD chain itself, on the node's own ports.
            let mut args = vec![
                format!("-datadir={}", s.home),
                format!("-conf={}/komodo.conf", s.home),
            ];
            if let Some(p) = port("p2p") {
                args.push(format!("-port={p}"));
            }
            if let Some(p) = port("rpc") {
                args.push(format!("-rpcport={p}"));
            }
            args.extend([
                format!("-bind={}", s.bind_host),
                format!("-rpcbind={}", s.bind_host),
            ]);
            for r in s.peers.seeds.iter().chain(&s.peers.persistent) {
                args.push(format!("-addnode={r}"));
            }
            Launch {
                args,
                env: Default::default(),
            }
        }
        [ac] => Launch {
            args: assetchain_args(ac, s, offset, &peers),
            env: Default::default(),
        },
        many => {
            let mut args = vec![format!("{}/{RUN_SCRIPT}", s.home)];
            for (i, ac) in many.iter().enumerate() {
                if i > 0 {
                    args.push("--".into());
                }
                args.push(binary.clone());
                args.extend(assetchain_args(ac, s, offset, &peers));
            }
            Launch {
                args,
                env: Default::default(),
            }
        }
    }
}

/// The program a target runs for `node`: `bash` (a generated launcher, first argument) for
/// notaries and nodes with several assetchains, else the chain binary.
pub fn program(net: &Network, node: &Node) -> String {
    let launcher = node.role == Role::Notary
        || (node.role != Role::Custom && node_assetchains(net, node).len() > 1);
    if launcher {
        "bash".into()
    } else {
        net.chain.binary.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn settings(node: &Node) -> RuntimeSettings {
        RuntimeSettings {
            home: "/data".into(),
            bind_host: "0.0.0.0".into(),
            ports: node.container_ports(),
            peers: Default::default(),
            external_address: None,
        }
    }

    #[test]
    fn single_assetchain_and_kmd_nodes_run_komodod_directly() {
        let net = network();
        let a = build(&net, &Seed::from_bytes([3; 32])).unwrap();
        let kmd = net.node("kmd-0").unwrap();
        assert_eq!(program(&net, kmd), "komodod");
        let args = launch(&net, kmd, &settings(kmd)).args;
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

        let beer = net.node("beer-1").unwrap();
        assert_eq!(program(&net, beer), "komodod");
        let args = launch(&net, beer, &settings(beer)).args;
        assert_eq!(args[0], "-ac_name=BEER");
        assert!(!args.iter().any(|x| x.contains("PIZZA")));
        assert_eq!(a.nodes["beer-1"].secret_files.len(), 1);
        assert!(!a.public.keys().any(|k| k.starts_with("nodes/beer-1/")));

        // The notary still gets every assetchain's credentials.
        assert_eq!(a.nodes["notary-0"].secret_files.len(), 2);
        assert_eq!(program(&net, net.node("notary-0").unwrap()), "bash");
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
        assert_eq!(shifted(8922, 0), "8922");
        assert_eq!(shifted(8922, 10), "8932");
        assert_eq!(shifted(8922, -2), "8920");
    }
}
