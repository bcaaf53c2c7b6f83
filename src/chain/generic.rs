//! Generic chains: chainfleet places nodes, ports and peers; there is no key or genesis
//! format to prepare, so peers are plain `host:port` addresses.

use super::{Artifacts, NodeArtifacts};
use crate::diag::Diagnostics;
use crate::keys::Seed;
use crate::model::Network;

/// Artifacts of a generic network: an entry per node, no files.
pub fn build(net: &Network, _seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let mut a = Artifacts::default();
    for node in &net.nodes {
        a.nodes.insert(node.name.clone(), NodeArtifacts::default());
    }
    Ok(a)
}

/// Launch command: the group's `command` for custom nodes, else none beyond the binary.
pub fn launch(
    net: &Network,
    node: &crate::model::Node,
    _s: &super::RuntimeSettings,
) -> super::Launch {
    let args = net
        .group(&node.group)
        .map(|g| g.command.clone())
        .unwrap_or_default();
    super::Launch {
        args,
        env: Default::default(),
    }
}
