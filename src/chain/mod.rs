//! Chain artifacts: from the resolved network and the seed, everything a chain family needs
//! before any node runs (genesis, per-node config files, key files, node IDs, addresses).
//!
//! Public files go to the committed tree; private files go to the secrets tree only, and
//! each node lists the secret files it must receive at run time (`SecretFile`).

pub mod cometbft;
pub mod cosmos;
pub mod family;
pub mod generic;
pub mod komodo;
pub mod mina;
pub mod runtime;
pub mod text;

pub use family::{family, ChainFamily, Healthy, Launch, Probe, RpcProbe};
pub use runtime::{process, NodeProcess, PeerHost, TargetRuntime};
pub use text::{Piece, Text};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::Diagnostics;
use crate::files::FileSet;
use crate::keys::Seed;
use crate::model::Network;

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
    let mut artifacts = family(net.chain.family).build(net, seed)?;
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
