//! Bare CometBFT networks (e.g. the built-in kvstore app): node keys, validator keys, the
//! genesis validator list and per-node `config.toml`. Shared CometBFT pieces live here too.

use base64::Engine;

use super::{Artifacts, NodeArtifacts, SecretFile};
use crate::diag::Diagnostics;
use crate::keys::{Ed25519, Seed};
use crate::model::{Network, Node};

/// The p2p identity key of `node`.
pub fn node_key(net: &Network, seed: &Seed, node: &Node) -> Ed25519 {
    Ed25519::from_seed(seed.derive(&net.name, "cometbft/node_key", &node.name))
}

/// `node_key.json` as CometBFT writes it.
pub fn node_key_json(key: &Ed25519) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.keypair_bytes());
    format!("{{\"priv_key\":{{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"{b64}\"}}}}\n")
}

/// Node keys and IDs for every node.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let mut a = Artifacts::default();
    for node in &net.nodes {
        let key = node_key(net, seed, node);
        let source = format!("nodes/{}/config/node_key.json", node.name);
        a.secrets.insert(
            source.clone(),
            crate::emit::FileEntry::text(node_key_json(&key)),
        );
        a.nodes.insert(
            node.name.clone(),
            NodeArtifacts {
                node_id: Some(key.node_id()),
                secret_files: vec![SecretFile {
                    key: "node_key".into(),
                    home_path: "config/node_key.json".into(),
                    source,
                }],
                ..NodeArtifacts::default()
            },
        );
    }
    Ok(a)
}

/// The environment prefix CometBFT-based binaries read overrides from: `CMT` for cometbft
/// itself, the upper-cased binary name for Cosmos SDK apps (the SDK's `SetEnvPrefix`).
pub fn env_prefix(net: &Network) -> String {
    if net.chain.family == crate::model::Family::Cometbft {
        "CMT".into()
    } else {
        net.chain.binary.to_uppercase().replace(['-', '.'], "_")
    }
}

/// `start` with listeners, peers and external address for this target. Flags carry what
/// CometBFT v0.38 honours as flags; the external address goes through the environment
/// because v0.38 ignores `--p2p.external-address` (cometbft#3460).
pub fn launch(net: &Network, node: &Node, s: &super::RuntimeSettings) -> super::Launch {
    let port = |name: &str| {
        s.ports
            .get(name)
            .copied()
            .or_else(|| node.port(name).map(|p| p.container))
    };
    let mut args = vec!["start".to_string(), "--home".into(), s.home.clone()];
    if net.chain.family == crate::model::Family::Cometbft {
        args.extend(["--proxy_app".into(), "kvstore".into()]);
    }
    if let Some(p) = port("p2p") {
        args.extend(["--p2p.laddr".into(), format!("tcp://{}:{p}", s.bind_host)]);
    }
    if let Some(p) = port("rpc") {
        args.extend(["--rpc.laddr".into(), format!("tcp://{}:{p}", s.bind_host)]);
    }
    args.extend([
        "--p2p.persistent_peers".into(),
        s.peers.persistent.join(","),
    ]);
    args.extend(["--p2p.seeds".into(), s.peers.seeds.join(",")]);
    let mut env = std::collections::BTreeMap::new();
    if let Some(ext) = &s.external_address {
        env.insert(
            format!("{}_P2P_EXTERNAL_ADDRESS", env_prefix(net)),
            ext.clone(),
        );
    }
    super::Launch { args, env }
}
