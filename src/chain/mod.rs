//! Chain artifacts: from the resolved network and the seed, everything a chain family needs
//! before any node runs (genesis, per-node config files, key files, node IDs, addresses).
//!
//! Public files go to the committed tree; private files go to the secrets tree only, and
//! each node lists the secret files it must receive at run time (`SecretFile`).

pub mod cometbft;
pub mod cosmos;
pub mod generic;
pub mod komodo;
pub mod mina;
pub mod mina_ledger;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::Diagnostics;
use crate::emit::FileSet;
use crate::keys::Seed;
use crate::model::{Family, Network, Node};

/// Everything the chain layer produced for one network.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    /// Public files, relative to the network's output folder (e.g. `genesis.json`,
    /// `nodes/validator-0/config/config.toml`). Baked into the image, committed.
    pub public: FileSet,
    /// Private files, relative to the network's secrets folder (e.g.
    /// `nodes/validator-0/config/node_key.json`). Never committed.
    pub secrets: FileSet,
    /// Per-node facts, by node name.
    pub nodes: BTreeMap<String, NodeArtifacts>,
}

/// What the chain layer knows about one node.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeArtifacts {
    /// Peer identity other nodes dial (CometBFT node ID, libp2p peer ID).
    pub node_id: Option<String>,
    /// Public addresses and keys worth showing (account, valoper, valcons, ...), by kind.
    pub addresses: BTreeMap<String, String>,
    /// Secret files this node must receive at run time.
    pub secret_files: Vec<SecretFile>,
    /// Public files of this node, relative to its home (the keys of `Artifacts::public`
    /// under `nodes/<node>/`), so targets can bake or mount them.
    pub home_files: Vec<String>,
}

/// One private file a node receives at run time through its target's secret mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFile {
    /// Stable key name, `[a-z0-9_]`, e.g. `node_key`. Targets name secrets
    /// `<network>-<node>-<key>` and environment variables `CHAINFLEET_SECRET_<KEY>`.
    pub key: String,
    /// Where the node expects the file, relative to its home, e.g. `config/node_key.json`.
    pub home_path: String,
    /// Where the file is in the secrets tree, e.g. `nodes/validator-0/config/node_key.json`.
    pub source: String,
}

/// Build the artifacts of `net` from `seed`.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let mut artifacts = match net.chain.family {
        Family::Cosmos => cosmos::build(net, seed)?,
        Family::Cometbft => cometbft::build(net, seed)?,
        Family::Mina => mina::build(net, seed)?,
        Family::Komodo => komodo::build(net, seed)?,
        Family::Generic => generic::build(net, seed)?,
    };
    for node in &net.nodes {
        let prefix = format!("nodes/{}/", node.name);
        let entry = artifacts.nodes.entry(node.name.clone()).or_default();
        entry.home_files = artifacts
            .public
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
            .collect();
    }
    Ok(artifacts)
}

/// How `target` reaches `peer` over p2p: a host name or IP, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// A peer in the family's own syntax: `id@host:port` (CometBFT), a libp2p multiaddr (Mina),
/// `host:port` (Komodo, generic).
pub fn peer_address(family: Family, node_id: Option<&str>, ep: &Endpoint) -> String {
    match (family, node_id) {
        (Family::Cosmos | Family::Cometbft, Some(id)) => format!("{id}@{}:{}", ep.host, ep.port),
        (Family::Mina, Some(id)) => {
            let proto = if ep.host.parse::<std::net::Ipv4Addr>().is_ok() {
                "ip4"
            } else {
                "dns4"
            };
            format!("/{proto}/{}/tcp/{}/p2p/{id}", ep.host, ep.port)
        }
        _ => format!("{}:{}", ep.host, ep.port),
    }
}

/// The peer lists of `node` for one target, rendered in the family's syntax, with
/// `endpoint` telling how this target reaches each peer.
pub fn peer_lists(
    net: &Network,
    artifacts: &Artifacts,
    node: &Node,
    endpoint: &dyn Fn(&Node) -> Endpoint,
) -> PeerLists {
    let render = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter_map(|n| net.node(n))
            .map(|peer| {
                let id = artifacts
                    .nodes
                    .get(&peer.name)
                    .and_then(|a| a.node_id.as_deref());
                peer_address(net.chain.family, id, &endpoint(peer))
            })
            .collect()
    };
    PeerLists {
        persistent: render(&node.peers.persistent),
        seeds: render(&node.peers.seeds),
    }
}

/// Rendered peer lists of one node for one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerLists {
    /// Persistent peers.
    pub persistent: Vec<String>,
    /// Seeds.
    pub seeds: Vec<String>,
}

/// A plain-text table of every node's public identity (for `chainfleet keys`).
pub fn key_table(net: &Network, artifacts: &Artifacts) -> String {
    let mut rows = vec![vec![
        "node".to_string(),
        "role".into(),
        "region".into(),
        "node id".into(),
        "addresses".into(),
    ]];
    for n in &net.nodes {
        let a = artifacts.nodes.get(&n.name).cloned().unwrap_or_default();
        let addrs: Vec<String> = a
            .addresses
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push(vec![
            n.name.clone(),
            crate::spec::check::role_name(n.role),
            n.region.clone(),
            a.node_id.unwrap_or_else(|| "-".into()),
            if addrs.is_empty() {
                "-".into()
            } else {
                addrs.join(" ")
            },
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 4 {
                    c.clone()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// What a target knows at deploy time and passes to `launch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSettings {
    /// The node's home directory where the process runs (inside the image: `chain.home`;
    /// locally: the node's own folder).
    pub home: String,
    /// Host every listener binds to: `0.0.0.0` in containers, `127.0.0.1` locally.
    pub bind_host: String,
    /// The port each named port listens on (container ports, or local ports).
    pub ports: BTreeMap<String, u16>,
    /// Peer lists rendered for this target (`peer_lists`).
    pub peers: PeerLists,
    /// The address other nodes reach this one at, when the target knows it up front
    /// (`host:port`); a placeholder such as `$(EXTERNAL_ADDRESS)` is allowed when the
    /// target substitutes it at run time.
    pub external_address: Option<String>,
}

impl RuntimeSettings {
    /// The port `name` listens on under these settings, or else the node's container port.
    pub fn port(&self, node: &Node, name: &str) -> Option<u16> {
        self.ports
            .get(name)
            .copied()
            .or_else(|| node.port(name).map(|p| p.container))
    }
}

/// How to start a node's binary: arguments after the binary name, and environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Launch {
    /// Arguments, e.g. `["start", "--home", "/var/lib/chainfleet", ...]`.
    pub args: Vec<String>,
    /// Environment variables, e.g. `SIMD_P2P_EXTERNAL_ADDRESS`.
    pub env: BTreeMap<String, String>,
}

/// The launch command of `node` under `settings`, in the family's conventions. Every target
/// (compose, Helm, CloudFormation, local) starts nodes with this, so they agree.
pub fn launch(net: &Network, node: &Node, settings: &RuntimeSettings) -> Launch {
    match net.chain.family {
        Family::Cosmos | Family::Cometbft => cometbft::launch(net, node, settings),
        Family::Mina => mina::launch(net, node, settings),
        Family::Komodo => komodo::launch(net, node, settings),
        Family::Generic => generic::launch(net, node, settings),
    }
}

/// The executable a target starts for `node`: the chain binary, unless the family needs a
/// shell or a generated launcher for this node (Mina's SNARK coordinator reads its reward
/// key from the environment; Komodo nodes run one komodod per assetchain, notaries iguana).
/// Targets run `program <launch.args>` with `launch.env`.
pub fn program(net: &Network, node: &Node) -> String {
    match net.chain.family {
        Family::Mina => mina::program(net, node),
        Family::Komodo => komodo::program(net, node),
        _ => net.chain.binary.clone(),
    }
}
