//! Chain artifacts: from the resolved network and the seed, everything a chain family needs
//! before any node runs (genesis, per-node config files, key files, node IDs, addresses).
//!
//! Public files go to the committed tree; private files go to the secrets tree only, and
//! each node lists the secret files it must receive at run time (`SecretFile`).

pub mod alerts;
pub mod cometbft;
pub mod cosmos;
pub mod family;
pub mod generic;
pub mod komodo;
pub mod mina;
pub mod runtime;
pub mod text;

pub use family::{family, ChainFamily, Companion, Healthy, Launch, Probe, RpcProbe};
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
        if net.group(&node.group).is_some_and(|g| g.image.is_some()) {
            // A test service runs its own image: no chain identity, keys or files.
            artifacts.public.retain(|p, _| !p.starts_with(&prefix));
            artifacts.secrets.retain(|p, _| !p.starts_with(&prefix));
            artifacts
                .nodes
                .insert(node.name.clone(), NodeArtifacts::default());
            continue;
        }
        let entry = artifacts.nodes.entry(node.name.clone()).or_default();
        entry.home_files = artifacts
            .public
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
            .collect();
    }
    Ok(artifacts)
}

/// One node's public identity, as `chainfleet keys` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRecord {
    /// Node name.
    pub node: String,
    /// Its group.
    pub group: String,
    /// Its role.
    pub role: String,
    /// Its region.
    pub region: String,
    /// Node ID, when the family has one.
    pub node_id: Option<String>,
    /// Public addresses and keys by kind (`account`, `valoper`, ...).
    pub addresses: BTreeMap<String, String>,
}

/// Every node's public identity, in node order.
pub fn key_records(net: &Network, artifacts: &Artifacts) -> Vec<KeyRecord> {
    net.nodes
        .iter()
        .map(|n| {
            let a = artifacts.nodes.get(&n.name).cloned().unwrap_or_default();
            KeyRecord {
                node: n.name.clone(),
                group: n.group.clone(),
                role: crate::spec::check::role_name(n.role),
                region: n.region.clone(),
                node_id: a.node_id,
                addresses: a.addresses,
            }
        })
        .collect()
}

/// A table of node, role, region and node ID, each node's addresses below it one per line
/// (`kind=value`), so no line is wider than its longest address.
pub fn key_table(net: &Network, artifacts: &Artifacts) -> String {
    let records = key_records(net, artifacts);
    let mut rows = vec![[
        "node".to_string(),
        "role".into(),
        "region".into(),
        "node id".into(),
    ]];
    for r in &records {
        rows.push([
            r.node.clone(),
            r.role.clone(),
            r.region.clone(),
            r.node_id.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let line = |r: &[String; 4]| -> String {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        format!("{}\n", cells.join("  ").trim_end())
    };
    let mut out = line(&rows[0]);
    for (r, row) in records.iter().zip(&rows[1..]) {
        out.push_str(&line(row));
        for (k, v) in &r.addresses {
            out.push_str(&format!("    {k}={v}\n"));
        }
    }
    out
}
