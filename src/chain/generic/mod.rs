//! Generic chains: chainfleet places nodes, ports and peers; there is no key or genesis
//! format to prepare, so peers are plain `host:port` addresses.

use super::family::{ChainFamily, Healthy, Launch, Probe};
use super::runtime::Runtime;
use super::text::Text;
use super::{Artifacts, NodeArtifacts};
use crate::diag::Diagnostics;
use crate::keys::Seed;
use crate::model::{Network, Node};

/// Artifacts of a generic network: an entry per node, no files.
pub fn build(net: &Network, _seed: &Seed) -> Result<Artifacts, Diagnostics> {
    let mut a = Artifacts::default();
    for node in &net.nodes {
        a.nodes.insert(node.name.clone(), NodeArtifacts::default());
    }
    Ok(a)
}

/// The generic family: the group's image and `command`, plain `host:port` peers.
pub struct Generic;

impl ChainFamily for Generic {
    fn build(&self, net: &Network, seed: &Seed) -> Result<Artifacts, Diagnostics> {
        build(net, seed)
    }
    /// The binary with the group's `command` as arguments.
    fn launch(&self, net: &Network, node: &Node, rt: &Runtime<'_>) -> Launch {
        Launch {
            program: rt.binary.clone(),
            args: custom_command(net, node),
            env: Default::default(),
        }
    }
    /// A TCP connect on RPC, else p2p.
    fn probe(&self, _net: &Network, node: &Node, rt: &Runtime<'_>) -> Option<Probe> {
        ["rpc", "p2p"]
            .iter()
            .find_map(|n| rt.port(node, n))
            .map(|port| Probe {
                port,
                http_path: None,
                healthy: Healthy::Listening,
                rpc: None,
            })
    }
}

/// The group's `command` (custom roles of every family), as literal arguments.
pub fn custom_command(net: &Network, node: &Node) -> Vec<Text> {
    net.group(&node.group)
        .map(|g| g.command.iter().map(Text::from).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::runtime::{process, TestRuntime};

    fn network() -> Network {
        let yaml = r#"
name: gen-net
chain: { family: generic, chain_id: gen-1, binary: gethd, image: "example/gethd:1.0" }
groups:
  - { name: node, role: full, count: 2 }
  - { name: tool, role: custom, command: [run, --fast] }
targets:
  local: { base_port: 40000 }
"#;
        crate::test_network(yaml)
    }

    #[test]
    fn every_node_gets_an_entry_and_custom_nodes_their_command() {
        let net = network();
        let a = build(&net, &Seed::from_bytes([1; 32])).unwrap();
        assert_eq!(a.nodes.len(), net.nodes.len());
        assert!(a.public.is_empty() && a.secrets.is_empty());
        let rt = TestRuntime::containers();
        let args = |group: &str| {
            let node = net.nodes.iter().find(|n| n.group == group).unwrap();
            let p = process(&net, &a, node, &rt);
            assert_eq!(p.program.literal().as_deref(), Some("gethd"));
            p.args
                .iter()
                .map(|t| t.literal().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(args("tool"), ["run", "--fast"]);
        assert!(args("node").is_empty());
    }
}
