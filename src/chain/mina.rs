//! Mina networks: libp2p keys and peer IDs, seed peer lists, block producer and SNARK
//! coordinator/worker settings.

use super::Artifacts;
use crate::diag::Diagnostics;
use crate::keys::Seed;
use crate::model::Network;

/// Build the artifacts of a Mina network.
pub fn build(net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
    super::generic::build(net, seed)
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
